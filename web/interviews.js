/* CASPR interview pages (issue 11), an ES module on top of app.js (its helpers h, api, session,
 * row, input, onSubmit, notice, problemNotice, fact, listOf, when, needSignIn and its ROUTES are
 * globals of the page).
 * View: #/interviews (the applicant: invitations with the program's message and I9's rule, the open
 * events of each invited type in the applicant's time zone (I6) and the program's, book, rebook and
 * cancel until the lockout (I5), the calendar: calendar.ics and a private subscription address).
 * The program's scheduling page is web/interviews-program.js (#/scheduling); it uses the helpers
 * exported here. The booking page of the email link is served by the API (/interviews/book). */

export const PLACES = { crip: "CRIP (Frisco, TX)", onsite: "On site", virtual: "Virtual" };

const I4_WORDS = {
  capacity: "That interview is full: every seat is booked.",
  one_booking_per_type: "You already have a booking for this interview type: move it (Rebook) instead of booking again.",
  overlap_or_buffer: "This time overlaps another of your interviews, or comes within 15 minutes of one.",
  not_invited: "The invitation does not include this interview type.",
};

/** A refusal in plain words, with the API's problem (title, detail, rule) underneath. */
export function refusal(err) {
  const b = (err && err.body) || {};
  let words = "That did not work.";
  if (b.rule === "I4") words = I4_WORDS[b.i4] || "Refused by the booking rules (I4).";
  else if (b.rule === "I5") words = "Too late to change: this interview's lockout has passed (I5).";
  else if (b.rule === "I3") words = "This program does not schedule interviews through CASPR (I3): it schedules directly.";
  else if (b.rule === "I2") words = "Not allowed yet or not for this applicant (I2): invitations open on the season's " +
    "date, and only applicants whose application was delivered to the program can be invited.";
  else if (b.rule === "I7") words = "This date is outside the allowed interview window (I7).";
  else if (b.retry) words = "Many people are booking right now: please try again.";
  else if (err && err.status === 404) words = "Not found: it may have been removed meanwhile.";
  else if (err && err.status === 403) words = "You are not allowed to do this.";
  else if (err && err.status === 422) words = "Please check the form.";
  else if (err && err.status === 409) words = "Refused: it conflicts with the current state.";
  const el = h("div", { class: "refusal", "data-testid": "refusal" },
    h("p", { class: "plain", "data-testid": "refusal-words" }, words), problemNotice(err));
  if (b.booking_id) el.append(h("p", { class: "muted" }, `Your booking it met: ${b.booking_id}`));
  return el;
}

/** onSubmit of app.js, a refusal shown in plain words above the API's problem (and its fields marked). */
export function submitting(form, out, action) {
  return onSubmit(form, out, async (d, submitter) => {
    try {
      await action(d, submitter);
    } catch (err) {
      markFields(form, err);
      out.replaceChildren(refusal(err));
    }
  });
}

/** The server's "now": the local stack's movable clock when there is one, else this computer's. */
export async function serverNow() {
  try { // plain fetch: no token sent, and a refusal here never signs anyone out
    const res = await fetch("/_local/clock", { headers: { Accept: "application/json" } });
    if (res.ok) {
      const t = new Date((await res.json()).now).getTime();
      if (!Number.isNaN(t)) return t;
    }
  } catch { /* not the local stack */ }
  return Date.now();
}

export function timeRange(start, end, tz) {
  return h("span", { "data-tz": tz }, `${when(start, tz)} – ${when(end, tz)}`);
}

function badge(text, yes) { return h("span", { class: `badge ${yes ? "yes" : ""}` }, text); }

// ------------------------------------------------------------------ the applicant
function interviewsCard(reg) {
  const id = reg.applicant_id;
  const base = `/interviews/applicants/${encodeURIComponent(id)}`;
  const out = h("div", { "data-testid": "interviews-out" });
  const body = h("div", {}, h("p", { class: "muted" }, "Loading your interviews…"));
  const card = h("section", { class: "card", "data-testid": "interviews-card", "data-applicant-id": id },
    h("h2", {}, `Interviews, season ${reg.season}`), out, body);

  async function act(fn, done) {
    out.replaceChildren();
    try {
      const r = await fn();
      await load();
      if (done) out.replaceChildren(notice("ok", typeof done === "function" ? done(r) : done));
    } catch (err) {
      out.replaceChildren(refusal(err));
    }
  }

  async function load() {
    let data;
    try {
      data = await api("GET", `${base}/invitations`);
    } catch (err) {
      if (err.status === 404) {
        body.replaceChildren(h("p", { class: "muted", "data-testid": "no-invitations" },
          "No interview invitation yet. Programs invite applicants whose application was delivered to them."));
        return;
      }
      throw err;
    }
    const now = await serverNow();
    const tz = data.timezone;
    const events = new Map();
    const types = new Map();
    for (const inv of data.invitations) {
      for (const e of inv.events) events.set(e.event_id, { ...e, invitation: inv });
      for (const t of inv.types) types.set(t.type_id, t);
    }
    const active = data.bookings.filter((b) => b.status === "booked");
    const bookedByType = new Map(active.map((b) => [b.type_id, b]));
    const locked = (e) => e && new Date(e.lockout_at).getTime() <= now;

    const invitations = data.invitations.map((inv) => h("article", { class: "invitation", "data-testid": "invitation",
      "data-invitation-id": inv.invitation_id },
      h("h3", {}, `${inv.program_name || "Program"} (${inv.program_code}) invites you`),
      h("p", { class: "muted" }, `Invited ${when(inv.created_at, tz)}`),
      inv.message ? h("blockquote", { "data-testid": "invitation-message" }, inv.message) : null,
      h("p", { class: "muted", "data-testid": "communication-rule" }, inv.communication_rule),
      inv.types.map((t) => {
        const mine = bookedByType.get(t.type_id);
        const rows = inv.events.filter((e) => e.type_id === t.type_id).map((e) => {
          let action;
          if (mine && mine.event_id === e.event_id) action = badge("your booking", true);
          else if (locked(e)) action = h("span", { class: "muted" }, "locked (I5)");
          else if (e.seats_left <= 0) action = h("span", { class: "muted" }, "full");
          else if (mine) {
            action = h("button", { type: "button", class: "secondary", "data-testid": "move-here", "data-event": e.event_id,
              onclick: () => act(() => api("PUT", `/interviews/bookings/${encodeURIComponent(mine.booking_id)}`,
                { body: { event_id: e.event_id } }), (b) => `Moved: ${when(b.start, tz)} (your time).`) }, "Move here");
          } else {
            action = h("button", { type: "button", "data-testid": "book", "data-event": e.event_id,
              onclick: () => act(() => api("POST", `/interviews/invitations/${encodeURIComponent(inv.invitation_id)}/bookings`,
                { body: { type_id: t.type_id, event_id: e.event_id }, key: newKey() }),
              (b) => `Booked: ${when(b.start, tz)} (your time).`) }, "Book");
          }
          return h("tr", { "data-testid": "open-event", "data-event-id": e.event_id, "data-start-applicant": e.start_applicant,
            "data-start-program": e.start_program },
            h("td", { "data-testid": "your-time" }, timeRange(e.start, e.end, tz)),
            h("td", { "data-testid": "program-time" }, timeRange(e.start, e.end, e.program_timezone),
              h("div", { class: "muted" }, e.program_timezone)),
            h("td", {}, PLACES[e.place] || e.place, e.location ? h("div", { class: "muted" }, e.location) : null),
            h("td", { "data-testid": "seats-left" }, String(e.seats_left)),
            h("td", {}, when(e.lockout_at, tz)), h("td", {}, action));
        });
        return h("div", { class: "interview-type", "data-testid": "invited-type", "data-type-id": t.type_id },
          h("h4", {}, t.name), t.description ? h("p", {}, t.description) : null,
          rows.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Your time", "Program's time", "Place", "Seats left",
            "Changes until", ""].map((x) => h("th", {}, x)))), h("tbody", {}, rows))
            : h("p", { class: "muted" }, "No event of this type yet: the program has not published dates."));
      })));

    const bookingRows = data.bookings.map((b) => {
      const e = events.get(b.event_id);
      const t = types.get(b.type_id);
      const isLocked = locked(e);
      const cells = [
        h("td", {}, `${(e && e.invitation.program_name) || ""} (${b.program_code})`, h("div", { class: "muted" }, t ? t.name : b.type_id)),
        h("td", { "data-testid": "booking-your-time" }, timeRange(b.start, b.end, tz)),
        h("td", {}, e ? timeRange(b.start, b.end, e.program_timezone) : "–"),
        h("td", { "data-testid": "booking-status" }, badge(b.status, b.status === "booked"),
          b.forced ? h("div", { class: "muted" }, "scheduled by the program") : null),
      ];
      let actions = null;
      if (b.status === "booked") {
        const others = [...events.values()].filter((x) => x.type_id === b.type_id && x.event_id !== b.event_id &&
          x.seats_left > 0 && !locked(x));
        const pick = h("select", { "data-testid": "rebook-pick", disabled: isLocked || !others.length || undefined },
          others.map((x) => h("option", { value: x.event_id }, `${when(x.start, tz)} (${x.seats_left} left)`)));
        const rebook = h("button", { type: "button", class: "secondary", "data-testid": "rebook",
          disabled: isLocked || !others.length || undefined,
          onclick: () => act(() => api("PUT", `/interviews/bookings/${encodeURIComponent(b.booking_id)}`,
            { body: { event_id: pick.value } }), (r) => `Moved: ${when(r.start, tz)} (your time).`) }, "Rebook");
        const cancel = h("button", { type: "button", class: "secondary", "data-testid": "cancel", disabled: isLocked || undefined,
          onclick: () => act(() => api("DELETE", `/interviews/bookings/${encodeURIComponent(b.booking_id)}`),
            "Booking cancelled.") }, "Cancel");
        actions = h("div", { class: "inline" }, pick, rebook, cancel,
          isLocked ? h("div", { class: "muted", "data-testid": "locked" },
            `No change since the lockout, ${when(e.lockout_at, tz)} (I5).`)
            : e ? h("div", { class: "muted" }, `Changes until ${when(e.lockout_at, tz)}.`) : null,
          !isLocked && !others.length ? h("div", { class: "muted" }, "No other open event of this type to move to.") : null);
      }
      return h("tr", { "data-testid": "booking", "data-booking-id": b.booking_id, "data-status": b.status,
        "data-event-id": b.event_id }, cells, h("td", {}, actions));
    });

    const icsPath = `${base}/calendar.ics`;
    const ics = h("a", { href: icsPath, download: "caspr-interviews.ics", "data-testid": "calendar-link",
      onclick: async (ev) => {
        ev.preventDefault();
        try {
          const res = await fetch(icsPath, { headers: { Authorization: `Bearer ${session.token}` } });
          const text = await res.text();
          if (!res.ok) {
            let problem = {};
            try { problem = JSON.parse(text); } catch { problem = { detail: text.slice(0, 300) }; }
            throw new Problem(res.status, problem);
          }
          const a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/calendar" })),
            download: "caspr-interviews.ics" });
          document.body.append(a); a.click(); a.remove();
        } catch (err) { out.replaceChildren(refusal(err)); }
      } }, "Download my interviews (calendar.ics)");
    const address = h("input", { readonly: true, class: "hidden", "data-testid": "calendar-address", size: 60,
      onfocus: (ev) => ev.target.select() });
    const subscribe = h("button", { type: "button", class: "secondary", "data-testid": "calendar-subscribe",
      onclick: async () => {
        subscribe.disabled = true;
        try {
          const r = await api("POST", `${base}/calendar-address`);
          address.value = r.url;
          address.classList.remove("hidden");
          address.focus();
          out.replaceChildren(notice("ok", "Your private calendar address is ready.",
            "Copy it into your calendar app. Keep it secret; a new address revokes the old one."));
        } catch (err) { out.replaceChildren(refusal(err)); } finally { subscribe.disabled = false; }
      } }, "Create a private subscription address");

    body.replaceChildren(
      h("p", { class: "muted", "data-testid": "timezone-note" }, `Times in your time zone, ${tz} (I6; change it in `,
        h("a", { href: "#/applicant" }, "My registration"), "), and the program's."),
      data.invitations.length ? h("div", { "data-testid": "invitations" }, invitations) : h("p", { class: "muted", "data-testid": "no-invitations" },
        "No interview invitation yet."),
      h("h3", {}, "My bookings"),
      bookingRows.length ? h("table", { "data-testid": "bookings" }, h("thead", {}, h("tr", {},
        ["Program", "Your time", "Program's time", "Status", ""].map((x) => h("th", {}, x)))), h("tbody", {}, bookingRows))
        : h("p", { class: "muted", "data-testid": "no-bookings" }, "No booking yet."),
      h("h3", {}, "Calendar"),
      h("p", {}, ics),
      h("div", { class: "inline" }, subscribe, address),
      h("p", { class: "muted" }, "A subscription address lets a calendar app follow your bookings without signing in."));
  }
  load().catch((err) => body.replaceChildren(refusal(err)));
  return card;
}

async function viewInterviews() {
  if (!session.token) return needSignIn();
  const root = h("div", {}, h("h1", {}, "My interviews"));
  const regs = listOf(await api("GET", "/registration/applicants"), "applicants")
    .filter((a) => a.status === "registered");
  if (!regs.length) {
    root.append(notice("warn", "No completed registration.",
      "Interview scheduling opens once your registration fee is paid (R2)."));
  }
  for (const r of regs) root.append(interviewsCard(r));
  return root;
}

ROUTES.interviews = viewInterviews;
if (location.hash.replace(/^#\/?/, "").split("?")[0] === "interviews") route();
