"""The letter writer's page (A1): opened from the email link, no account. It reads the token
from its own URL and talks to the /applications/letters/{letter_id}/... routes."""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>CASPR letter of reference</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
button{margin-right:.5rem}.status{font-weight:bold}#error{color:#a00}</style></head>
<body><h1>CASPR letter of reference</h1>
<div id="request">Loading…</div>
<div id="actions" hidden>
  <p><button id="accept">Accept</button><button id="decline">Decline</button></p>
</div>
<form id="upload" hidden><p><label>Your letter (PDF, at most 5 MB)
  <input type="file" id="file" accept="application/pdf" required></label>
  <button type="submit">Upload letter</button></p></form>
<p id="done" hidden>Thank you: your letter was received.</p>
<p id="error" role="alert"></p>
<script type="module">
const token = new URLSearchParams(location.search).get("token") || "";
const payload = JSON.parse(atob((token.split(".")[0] || "").replace(/-/g, "+").replace(/_/g, "/") || "e30="));
const base = `/applications/letters/${encodeURIComponent(payload.letter_id || "-")}`;
const q = `?token=${encodeURIComponent(token)}`;
const $ = (id) => document.getElementById(id);
async function call(method, path, body) {
  const r = await fetch(base + path + q, {method, headers: {"Content-Type": "application/json"},
                                          body: body === undefined ? undefined : JSON.stringify(body)});
  const data = r.status === 204 ? null : await r.json();
  if (!r.ok) throw new Error(data && data.detail || r.statusText);
  return data;
}
function show(l) {
  const text = document.createElement("p");
  text.textContent = `${l.applicant_name} asks you for a letter of reference (${l.label || "no label"}). ` +
    (l.waived ? "The applicant has waived the right to see it." : "The applicant has not waived the right to see it.");
  const status = document.createElement("p");
  status.innerHTML = 'Status: <span class="status"></span>';
  status.querySelector(".status").textContent = l.status;
  $("request").replaceChildren(text, status);
  $("actions").hidden = l.status !== "requested";
  $("upload").hidden = !(l.status === "accepted" || (l.status === "received" && l.replaceable));
  $("done").hidden = l.status !== "received";
}
async function run(fn) { $("error").textContent = ""; try { show(await fn()); } catch (e) { $("error").textContent = e.message; } }
$("accept").onclick = () => run(() => call("POST", "/response", {accept: true}));
$("decline").onclick = () => run(() => call("POST", "/response", {accept: false}));
$("upload").onsubmit = (ev) => { ev.preventDefault(); run(async () => {
  const {upload} = await call("POST", "/upload");
  const form = new FormData();
  for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
  form.append("file", $("file").files[0]);
  // the store's answer may not be readable cross-origin: the completion check says what is wrong
  await fetch(upload.url, {method: "POST", body: form, mode: "no-cors"});
  return call("POST", "/completion");
}); };
run(() => call("GET", "/response"));
</script></body></html>
"""


def letter_writer_page() -> str:
    return PAGE
