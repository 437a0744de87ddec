/* The local outbox: GET /_local/outbox -> {messages: [{id, to, from, subject, body}]}.
 * Bodies are shown as text (never parsed as HTML) with their links made clickable. */
"use strict";

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** Text with its http(s) links as anchors; everything else stays text. */
function linkified(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const m of String(text || "").matchAll(URL_RE)) {
    out.append(text.slice(last, m.index));
    out.append(el("a", { href: m[0], "data-testid": "mail-link" }, m[0]));
    last = m.index + m[0].length;
  }
  out.append(String(text || "").slice(last));
  return out;
}

function card(m) {
  return el("article", { class: "card mail", "data-testid": "mail", "data-id": m.id },
    el("dl", { class: "meta" },
      el("dt", {}, "Subject"), el("dd", { "data-testid": "mail-subject" }, el("strong", {}, m.subject || "(none)")),
      el("dt", {}, "To"), el("dd", { "data-testid": "mail-to" }, (m.to || []).join(", ")),
      el("dt", {}, "From"), el("dd", {}, m.from || "")),
    el("pre", { "data-testid": "mail-body" }, linkified(m.body)));
}

async function load() {
  const form = document.getElementById("outbox-form");
  const to = form.elements.to.value.trim();
  const subject = form.elements.subject.value.trim().toLowerCase();
  const status = document.getElementById("status");
  const list = document.getElementById("messages");
  const params = new URLSearchParams();
  if (to) params.set("to", to);
  let data;
  try {
    const res = await fetch(`/_local/outbox${[...params].length ? `?${params}` : ""}`);
    data = await res.json();
    if (!res.ok) throw new Error(data.detail || `HTTP ${res.status}`);
  } catch (exc) {
    status.replaceChildren(el("div", { class: "notice error", role: "alert" },
      el("strong", {}, "The outbox could not be read. "), exc.message));
    return;
  }
  const messages = (data.messages || []).filter((m) => !subject || (m.subject || "").toLowerCase().includes(subject));
  messages.reverse(); // newest first
  status.replaceChildren(el("p", { class: "muted", "data-testid": "mail-count" },
    `${messages.length} email${messages.length === 1 ? "" : "s"}${to ? ` to ${to}` : ""}`));
  list.replaceChildren(...messages.map(card));
}

const query = new URLSearchParams(location.search);
const form = document.getElementById("outbox-form");
form.elements.to.value = query.get("to") || "";
form.elements.subject.value = query.get("subject") || "";
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams();
  if (form.elements.to.value.trim()) q.set("to", form.elements.to.value.trim());
  if (form.elements.subject.value.trim()) q.set("subject", form.elements.subject.value.trim());
  history.replaceState(null, "", `${location.pathname}${[...q].length ? `?${q}` : ""}`);
  load();
});
let timer = null;
document.getElementById("auto").addEventListener("change", (ev) => {
  clearInterval(timer);
  if (ev.target.checked) timer = setInterval(load, 3000);
});
load();
