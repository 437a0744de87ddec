"""The booking page of the invitation email's link (I2): plain HTML and a small script that
reads the link's token, lists the invitation's open events in the applicant's time zone (I6)
and the program's, and books, rebooks or cancels with that token. No sign-in."""

from __future__ import annotations

BOOKING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>CASPR: book your interview</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
li{margin:.4rem 0}.err{color:#a00}.ok{color:#060}small{color:#555}</style></head>
<body><h1>Book your interview</h1>
<p id="status">Loading your invitation…</p>
<div id="invitations"></div>
<h2>Your bookings</h2><ul id="bookings"></ul>
<script>
(function () {
  const token = new URLSearchParams(location.search).get("token") || "";
  const base = location.pathname.replace(/\\/book$/, "");
  const status = document.getElementById("status");
  function say(text, cls) { status.textContent = text; status.className = cls || ""; }
  function el(tag, text) { const e = document.createElement(tag); if (text) e.textContent = text; return e; }
  let applicant = "";
  try {
    const body = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    applicant = JSON.parse(atob(body + "===".slice((body.length + 3) % 4))).a;
  } catch (e) { say("This link is not valid.", "err"); return; }
  const q = "?token=" + encodeURIComponent(token);
  async function call(method, path, body) {
    const r = await fetch(base + path + q, {method, headers: {"Content-Type": "application/json"},
                                            body: body ? JSON.stringify(body) : undefined});
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.detail || ("HTTP " + r.status));
    return data;
  }
  async function load() {
    const data = await call("GET", "/applicants/" + encodeURIComponent(applicant) + "/invitations");
    say("Times are shown in your time zone (" + data.timezone + ") and the program's.");
    const box = document.getElementById("invitations"); box.replaceChildren();
    const booked = {};
    for (const b of data.bookings) if (b.status === "booked") booked[b.type_id] = b;
    for (const inv of data.invitations) {
      box.append(el("h2", (inv.program_name || inv.program_code) + " invites you"));
      if (inv.message) box.append(el("p", inv.message));
      box.append(el("p", inv.communication_rule));
      for (const t of inv.types) {
        box.append(el("h3", t.name)); if (t.description) box.append(el("p", t.description));
        const ul = el("ul");
        for (const ev of inv.events.filter(e => e.type_id === t.type_id)) {
          const li = el("li", ev.start_applicant + " – " + ev.end_applicant + " (your time); " + ev.start_program +
                        " " + ev.program_timezone + "; " + ev.place + " " + ev.location + "; seats left: " +
                        ev.seats_left + " ");
          const mine = booked[t.type_id];
          if (mine && mine.event_id === ev.event_id) { li.append(el("strong", "booked")); }
          else if (ev.seats_left > 0) {
            const btn = el("button", mine ? "Move here" : "Book");
            btn.dataset.event = ev.event_id;
            btn.onclick = async () => {
              try {
                const b = mine ? await call("PUT", "/bookings/" + mine.booking_id, {event_id: ev.event_id})
                               : await call("POST", "/invitations/" + inv.invitation_id + "/bookings",
                                            {type_id: t.type_id, event_id: ev.event_id});
                await load(); say("Booked: " + b.start_applicant + " (your time zone)", "ok");
              } catch (e) { say(e.message, "err"); }
            };
            li.append(btn);
          }
          ul.append(li);
        }
        box.append(ul);
      }
    }
    const list = document.getElementById("bookings"); list.replaceChildren();
    for (const b of data.bookings.filter(b => b.status === "booked")) {
      const li = el("li", b.start_applicant + " — " + b.program_code + " ");
      const btn = el("button", "Cancel");
      btn.onclick = async () => { try { await call("DELETE", "/bookings/" + b.booking_id); await load();
                                        say("Cancelled.", "ok"); } catch (e) { say(e.message, "err"); } };
      li.append(btn); list.append(li);
    }
  }
  load().catch(e => say(e.message, "err"));
})();
</script></body></html>
"""


def booking_page() -> str:
    return BOOKING_PAGE
