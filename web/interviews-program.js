/* CASPR interview scheduling for programs (issue 11), an ES module on top of app.js (its helpers h,
 * api, session, row, input, onSubmit, notice, when, needSignIn, TIME_ZONES and its ROUTES are
 * globals of the page) and web/interviews.js (refusals in plain words, places).
 * View: #/scheduling (a program: interview types, events with start/end in the program's time zone,
 * capacity, place, location, lockout (I1, I7); capacity change and delete; invitations of delivered
 * applicants (I2, I9); the schedule with each event's bookings and force-scheduling (I5)). */

import { PLACES, refusal, submitting } from "./interviews.js";

const I9_HINT = "Do not ask for or hint at rank intentions or positions (I9): the applicant is shown that rule with " +
  "your message.";

function programCode() {
  const g = session.groups.find((x) => x.startsWith("program-"));
  return g ? g.slice("program-".length) : "";
}

/** The UTC offset (ms) of a time zone at an instant. */
function offsetMs(date, tz) {
  const m = {};
  for (const p of new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(date)) m[p.type] = p.value;
  const asUtc = Date.UTC(+m.year, +m.month - 1, +m.day, +m.hour % 24, +m.minute, +m.second);
  return asUtc - Math.floor(date.getTime() / 1000) * 1000;
}

/** A wall-clock time ("2024-01-20T09:00", as a datetime-local input gives it) in a time zone -> ISO 8601 UTC. */
export function wallToInstant(local, tz) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || "");
  if (!match) return null;
  const [, y, mo, d, hh, mm] = match.map(Number);
  const guess = Date.UTC(y, mo - 1, d, hh, mm);
  let t = guess - offsetMs(new Date(guess), tz);
  t = guess - offsetMs(new Date(t), tz); // across a DST change the second look is right
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function zoneSelect(name, value) {
  const zones = TIME_ZONES.includes(value) ? TIME_ZONES : [value, ...TIME_ZONES];
  return h("select", { name, id: `f-${name}-${Math.random().toString(36).slice(2, 7)}` },
    zones.map((z) => h("option", { value: z, selected: z === value || undefined }, z)));
}

function scheduling(code) {
  const out = h("div", { "data-testid": "scheduling-out" });
  const typesBox = h("div", { "data-testid": "types" });
  const eventsBox = h("div", { "data-testid": "events" });
  const scheduleBox = h("div", { "data-testid": "schedule" });
  const inviteTypes = h("div", { class: "inline", "data-testid": "invite-types" });
  const eventType = h("select", { name: "type_id", required: true, "data-testid": "event-type" });
  const pcode = encodeURIComponent(code);
  let types = [];

  function ok(title, detail) { out.replaceChildren(notice("ok", title, detail)); }
  async function act(fn) {
    out.replaceChildren();
    try { await fn(); } catch (err) { out.replaceChildren(refusal(err)); }
  }
  const typeName = (id) => (types.find((t) => t.type_id === id) || {}).name || id;

  async function loadTypes() {
    types = (await api("GET", `/interviews/programs/${pcode}/types`)).types;
    typesBox.replaceChildren(types.length
      ? h("ul", {}, types.map((t) => h("li", { "data-testid": "type", "data-type-id": t.type_id },
        h("strong", {}, t.name), t.description ? ` — ${t.description}` : "", h("span", { class: "muted" }, ` (${t.type_id})`))))
      : h("p", { class: "muted" }, "No interview type yet: create one below."));
    eventType.replaceChildren(...types.map((t) => h("option", { value: t.type_id }, t.name)));
    inviteTypes.replaceChildren(...types.map((t) => {
      const id = `f-invite-${t.type_id}`;
      return h("div", { class: "row check" }, h("input", { type: "checkbox", id, value: t.type_id, "data-testid": "invite-type" }),
        h("label", { for: id }, t.name, h("span", { class: "muted" }, ` (${t.type_id})`)));
    }));
  }

  async function loadEvents() {
    const events = (await api("GET", `/interviews/programs/${pcode}/events`)).events
      .sort((a, b) => String(a.start).localeCompare(String(b.start)));
    eventsBox.replaceChildren(events.length ? h("table", {}, h("thead", {}, h("tr", {},
      ["Type", "When (program's time)", "Place", "Booked / capacity", "Lockout", "Capacity", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, events.map((e) => {
        const cap = h("input", { type: "number", min: Math.max(1, e.booked), max: 10000, value: e.capacity, size: 5,
          "data-testid": "capacity-input" });
        const save = h("button", { type: "button", class: "secondary", "data-testid": "capacity-save",
          onclick: () => act(async () => {
            await api("PATCH", `/interviews/programs/${pcode}/events/${encodeURIComponent(e.event_id)}`,
              { body: { capacity: Number(cap.value) } });
            await refresh();
            ok("Capacity saved.", `${cap.value} seat(s).`);
          }) }, "Save");
        const really = h("button", { type: "button", class: "hidden", "data-testid": "delete-confirm",
          onclick: () => act(async () => {
            const r = await api("DELETE", `/interviews/programs/${pcode}/events/${encodeURIComponent(e.event_id)}`);
            await refresh();
            ok("Event deleted.", `${r.bookings_cancelled} booking(s) cancelled; each applicant was emailed.`);
          }) }, e.booked ? `Really delete: cancels ${e.booked} booking(s)` : "Really delete");
        const del = h("button", { type: "button", class: "secondary", "data-testid": "delete",
          onclick: () => { really.classList.remove("hidden"); del.classList.add("hidden"); } }, "Delete");
        return h("tr", { "data-testid": "event", "data-event-id": e.event_id },
          h("td", {}, typeName(e.type_id)),
          h("td", {}, `${when(e.start, e.timezone)} – ${when(e.end, e.timezone)}`, h("div", { class: "muted" }, e.timezone)),
          h("td", {}, PLACES[e.place] || e.place, e.location ? h("div", { class: "muted" }, e.location) : null),
          h("td", { "data-testid": "event-booked" }, `${e.booked} / ${e.capacity}`),
          h("td", {}, when(e.lockout_at, e.timezone)),
          h("td", {}, h("div", { class: "inline" }, cap, save)), h("td", {}, del, really));
      }))) : h("p", { class: "muted" }, "No event yet."));
  }

  const scheduleForm = h("form", { class: "inline", "data-testid": "schedule-form" },
    row("From (date)", input("from", { type: "date" })), row("To (date)", input("to", { type: "date" })),
    row("Days in", zoneSelect("zone", "America/Chicago")),
    h("div", { class: "row action" }, h("button", { type: "submit" }, "Show schedule")));
  let scheduleQuery = {};
  async function loadSchedule() {
    const r = await api("GET", `/interviews/programs/${pcode}/schedule`, { query: scheduleQuery });
    scheduleBox.replaceChildren(...(r.events.length ? r.events.map((e) => {
      const who = input("applicant_id", { required: true, placeholder: "applicant id", "data-testid": "force-applicant" });
      const force = h("form", { class: "inline", "data-testid": "force-form" }, who,
        h("button", { type: "submit", class: "secondary" }, "Force-schedule into this event"));
      force.addEventListener("submit", (ev) => {
        ev.preventDefault();
        act(async () => {
          const b = await api("POST", `/interviews/programs/${pcode}/events/${encodeURIComponent(e.event_id)}/bookings`,
            { body: { applicant_id: who.value.trim(), type_id: e.type_id } });
          await refresh();
          ok("Scheduled.", `Applicant ${b.applicant_id} is booked (no email is sent, I5).`);
        });
      });
      return h("article", { class: "schedule-event", "data-testid": "schedule-event", "data-event-id": e.event_id },
        h("h4", {}, `${typeName(e.type_id)}: ${when(e.start, e.timezone)} – ${when(e.end, e.timezone)}`),
        h("p", { class: "muted" }, `${PLACES[e.place] || e.place}${e.location ? `, ${e.location}` : ""} · ` +
          `${e.booked} of ${e.capacity} booked · changes until ${when(e.lockout_at, e.timezone)}`),
        e.bookings.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Applicant", "Status", "How", "Changes"]
          .map((x) => h("th", {}, x)))), h("tbody", {}, e.bookings.map((b) => h("tr", { "data-testid": "scheduled-booking",
          "data-applicant-id": b.applicant_id, "data-booking-id": b.booking_id },
          h("td", {}, b.applicant_id), h("td", {}, b.status), h("td", {}, b.forced ? "force-scheduled" : "booked by the applicant"),
          h("td", {}, String(Math.max(0, b.sequence - 1)))))))
          : h("p", { class: "muted" }, "No booking yet."),
        force);
    }) : [h("p", { class: "muted" }, "No event in this period.")]));
  }

  async function refresh() { await loadTypes(); await Promise.all([loadEvents(), loadSchedule()]); }

  submitting(scheduleForm, out, async (d) => {
    scheduleQuery = { from: d.from ? wallToInstant(`${d.from}T00:00`, d.zone) : undefined,
      to: d.to ? wallToInstant(`${d.to}T23:59`, d.zone) : undefined };
    await loadSchedule();
  });

  const typeForm = h("form", { "data-testid": "type-form" },
    h("div", { class: "inline" }, row("Name", input("name", { required: true, maxlength: 200, placeholder: "Faculty interview" })),
      row("Description", input("description", { maxlength: 4000 })),
      h("div", { class: "row action" }, h("button", { type: "submit" }, "Create type"))));
  submitting(typeForm, out, async (d) => {
    const t = await api("POST", `/interviews/programs/${pcode}/types`, { body: d });
    typeForm.reset();
    await loadTypes();
    ok("Interview type created.", t.name);
  });

  const eventForm = h("form", { "data-testid": "event-form" },
    h("div", { class: "inline" }, row("Type", eventType),
      row("Start (program's time)", input("start", { type: "datetime-local", required: true })),
      row("End (program's time)", input("end", { type: "datetime-local", required: true })),
      row("Program's time zone", zoneSelect("timezone", "America/Chicago"))),
    h("div", { class: "inline" },
      row("Capacity", input("capacity", { type: "number", min: 1, max: 10000, value: 1, required: true })),
      row("Place", h("select", { name: "place" }, Object.entries(PLACES).map(([v, l]) =>
        h("option", { value: v, selected: v === "onsite" || undefined }, l)))),
      row("Location", input("location", { maxlength: 500, placeholder: "room, address or video link" })),
      row("Lockout (optional)", input("lockout_at", { type: "datetime-local" }),
        "No booking change on or after it (I5); default: the start.")),
    h("button", { type: "submit" }, "Create event"));
  submitting(eventForm, out, async (d) => {
    const body = { type_id: d.type_id, start: wallToInstant(d.start, d.timezone), end: wallToInstant(d.end, d.timezone),
      capacity: d.capacity, place: d.place, location: d.location, timezone: d.timezone };
    if (d.lockout_at) body.lockout_at = wallToInstant(d.lockout_at, d.timezone);
    const e = await api("POST", `/interviews/programs/${pcode}/events`, { body });
    await refresh();
    ok("Event created.", `${when(e.start, e.timezone)}, ${e.capacity} seat(s).`);
  });

  const inviteForm = h("form", { "data-testid": "invite-form" },
    h("div", { class: "inline" }, row("Applicant id", input("applicant_id", { required: true,
      placeholder: "from the review desk" }))),
    h("div", { class: "row" }, h("label", {}, "Interview types"), inviteTypes),
    row("Message", h("textarea", { name: "message", maxlength: 4000 }), I9_HINT),
    h("button", { type: "submit" }, "Send the invitation"));
  submitting(inviteForm, out, async (d) => {
    const typeIds = [...inviteTypes.querySelectorAll("input:checked")].map((x) => x.value);
    const inv = await api("POST", `/interviews/programs/${pcode}/invitations`,
      { body: { applicant_id: d.applicant_id, type_ids: typeIds, message: d.message } });
    inviteForm.reset();
    out.replaceChildren(notice("ok", "Invitation sent.", `Applicant ${inv.applicant_id} was emailed a booking link ` +
      `for ${inv.type_ids.map(typeName).join(", ")}.`), h("p", { class: "muted" }, inv.communication_rule));
  });

  const root = h("div", { "data-testid": "scheduling", "data-program-code": code },
    h("section", { class: "card" }, h("h2", {}, `Program ${code}`), out),
    h("section", { class: "card" }, h("h2", {}, "Interview types"), typesBox, typeForm),
    h("section", { class: "card" }, h("h2", {}, "Events"), eventsBox, h("h3", {}, "New event"), eventForm),
    h("section", { class: "card" }, h("h2", {}, "Invite an applicant"),
      h("p", { class: "muted" }, "Only applicants whose application was delivered to your program, from the season's " +
        "invitations_open (I2). The applicant is emailed a booking link and sees the invitation in the portal."),
      inviteForm),
    h("section", { class: "card" }, h("h2", {}, "Schedule"), scheduleForm, scheduleBox));
  refresh().catch((err) => out.replaceChildren(refusal(err)));
  return root;
}

async function viewScheduling() {
  if (!session.token) return needSignIn();
  const holder = h("div", {});
  const form = h("form", { class: "inline", "data-testid": "scheduling-program" },
    row("Program code", input("code", { value: programCode(), required: true, pattern: "[0-9]{3}" })),
    h("div", { class: "row action" }, h("button", { type: "submit", class: "secondary" }, "Open")));
  const out = h("div");
  submitting(form, out, async (d) => { holder.replaceChildren(scheduling(d.code)); });
  if (programCode()) holder.append(scheduling(programCode()));
  return h("div", {}, h("h1", {}, "Interview scheduling"),
    h("p", { class: "muted" }, "Only COTH programs schedule interviews through CASPR (I3)."),
    session.role === "program" ? null : h("section", { class: "card" }, form, out), holder);
}

ROUTES.scheduling = viewScheduling;
if (location.hash.replace(/^#\/?/, "").split("?")[0] === "scheduling") route();
