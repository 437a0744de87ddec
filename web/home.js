/* CASPR: the applicant's home (issue 12), an ES module on top of app.js (its helpers h, api, session,
 * notice, problemNotice, when, money, listOf, DEFAULT_TZ and its ROUTES / PAGE_ROLES are globals of the page).
 * View: #/home — the season in order (registration, score release, application and letters,
 * designations, interviews, rank order list, results), each step with its state and what is due
 * next and by when, from the season's calendar, in the applicant's time zone. A step links to its
 * page only when that page exists (a module registered its route), never to a placeholder. */

import { serverNow } from "/interviews.js";

/** [calendar key, what happens, "by" for a deadline or "on" for an opening] per step, in order. */
const STEPS = [
  { id: "registration", title: "Registration", route: "applicant", instants: [
    ["registration_recommended_by", "Register and pay the fee (recommended)", "by"],
    ["registration_final", "Last day to register and pay", "by"]] },
  { id: "scores", title: "Score release", route: "scores", instants: [
    ["score_release_deadline", "Sign the APMLE score release", "by"],
    ["part1_pass_by", "Pass APMLE Part I, to send applications (A3)", "by"]] },
  { id: "application", title: "Application and letters", route: "application", instants: [
    ["application_deadline_default", "Submit your application with 3 to 6 letters", "by"]] },
  { id: "designations", title: "Designations", route: "application", instants: [
    ["application_deadline_default", "Send your application to programs (a program's own deadline may differ)", "by"],
    ["applications_delivered", "Applications are delivered to programs", "on"]] },
  { id: "interviews", title: "Interviews", route: "interviews", instants: [
    ["invitations_open", "Programs start inviting", "on"],
    ["crip_start", "CRIP interviews start", "on"],
    ["crip_end", "CRIP interviews end", "on"],
    ["non_crip_interviews_from", "Interviews at programs outside CRIP, from", "on"]] },
  { id: "rol", title: "Rank order list", route: "rank-list", instants: [
    ["rol_opens", "Rank order lists open", "on"],
    ["rol_deadline", "Certify your rank order list", "by"]] },
  { id: "results", title: "Results", route: "results", instants: [
    ["match_status_day", "Match Status Day: whether you matched", "on"],
    ["match_day", "Match Day: where you matched", "on"]] },
];

async function quietly(promise) {
  try { return await promise; } catch { return null; }
}

/** What the applicant has done so far, per step: [done?, one line]. */
function stepStatus(id, s) {
  const reg = s.reg;
  if (id === "registration") {
    if (!reg) return [false, "You have not registered for this season yet."];
    if (reg.status === "registered") return [true, `Registered; your code number is ${reg.code_number || "–"}.`];
    if (reg.status === "pending_payment") return [false, `Registered; the fee (${money(reg.amount_due_cents)}) is still to pay.`];
    return [false, `Registration ${reg.status}.`];
  }
  if (!reg || reg.status !== "registered") return [false, "Opens once your registration fee is paid."];
  if (id === "scores") {
    return s.release ? [true, `Score release signed ${when(s.release.released_at, s.tz)}.`]
      : [false, "Not signed yet."];
  }
  if (id === "application") {
    const a = s.application;
    if (!a) return [false, "Not started."];
    const received = (a.letters || []).filter((x) => x.status === "received").length;
    if (a.status === "submitted") return [true, `Submitted ${when(a.submitted_at, s.tz)}; ${received} letter(s) received.`];
    return [false, `Not submitted; ${received} of ${(a.letters || []).length} requested letter(s) received.` +
      ((a.missing || []).length ? ` Missing: ${a.missing.join("; ")}.` : "")];
  }
  if (id === "designations") {
    const d = (s.application && s.application.designations) || [];
    if (!d.length) return [false, "No program chosen yet."];
    const delivered = d.filter((x) => x.delivered_at).length;
    return [true, `Sent to ${d.length} program(s)` + (delivered ? `, ${delivered} delivered.` : ".")];
  }
  if (id === "interviews") {
    const i = s.interviews;
    if (!i) return [false, "No invitation yet."];
    const booked = (i.bookings || []).filter((b) => b.status === "booked").length;
    const invited = (i.invitations || []).length;
    if (!invited) return [false, "No invitation yet."];
    return [booked > 0, `${invited} invitation(s), ${booked} interview(s) booked.`];
  }
  if (id === "rol") {
    const r = s.rol;
    if (!r || !r.version) return [false, "No rank order list saved yet."];
    const n = (r.tracks || []).length;
    return r.certified ? [true, `Certified, ${n} track(s) ranked.`]
      : [false, `Saved with ${n} track(s), not certified: it does not count until you certify it.`];
  }
  return [false, ""];
}

function stepItem(step, s, now, current) {
  const cal = s.calendar || {};
  const [done, line] = stepStatus(step.id, s);
  // what is still ahead: a done step owes no deadline ("by"), its openings ("on") still come
  const upcoming = step.instants.filter(([k, , by]) => cal[k] && new Date(cal[k]).getTime() > now &&
    !(done && by === "by"));
  const state = done ? "done" : step.id === current ? "now" : upcoming.length ? "upcoming" : "closed";
  const next = upcoming[0];
  const page = ROUTES[step.route]
    ? h("a", { href: `#/${step.route}`, "data-testid": "step-link" }, `Open ${step.title.toLowerCase()}`) : null;
  return h("li", { class: `step ${state}`, "data-testid": "step", "data-step": step.id, "data-state": state },
    h("h3", {}, step.title, " ", h("span", { class: `badge ${done ? "yes" : ""}` },
      { done: "done", now: "now", upcoming: "later", closed: "closed" }[state])),
    line ? h("p", { "data-testid": "step-status" }, line) : null,
    h("p", { "data-testid": "step-next" }, next
      ? [h("strong", {}, "Next: "), `${next[1]} — ${next[2]} `, h("time", { datetime: cal[next[0]] }, when(cal[next[0]], s.tz))]
      : h("span", { class: "muted" }, "Nothing more is due in this step.")),
    step.instants.length > 1 ? h("ul", { class: "muted" }, step.instants.filter(([k]) => cal[k]).map(([k, what, by]) =>
      h("li", {}, `${what} — ${by} ${when(cal[k], s.tz)}`))) : null,
    page);
}

async function seasonCard(season, reg) {
  const tz = (reg && reg.timezone) || DEFAULT_TZ;
  const id = reg && reg.applicant_id;
  const paid = reg && reg.status === "registered";
  const [seasonData, release, application, interviews, rol, now] = await Promise.all([
    quietly(api("GET", `/registration/seasons/${encodeURIComponent(season)}`)),
    paid ? quietly(api("GET", `/scores/applicants/${encodeURIComponent(id)}/release`)) : null,
    paid ? quietly(api("GET", `/applications/applicants/${encodeURIComponent(id)}`)) : null,
    paid ? quietly(api("GET", `/interviews/applicants/${encodeURIComponent(id)}/invitations`)) : null,
    paid ? quietly(api("GET", `/match/seasons/${encodeURIComponent(season)}/applicants/me/rol`)) : null,
    serverNow(),
  ]);
  const s = { reg, tz, calendar: seasonData && seasonData.calendar, release, application, interviews, rol };
  const card = h("section", { class: "card", "data-testid": "season-home", "data-season": season },
    h("h2", {}, `Season ${season}`),
    h("p", { class: "muted", "data-testid": "home-timezone" }, `Dates in your time zone, ${tz}` +
      (reg ? " (change it in My registration)." : ".") + ` It is now ${when(new Date(now).toISOString(), tz)}.`));
  if (!s.calendar) {
    card.append(notice("warn", "The season's calendar is not published yet.", "Its dates will show here."));
    return card;
  }
  // the current step: the first not done whose next instant is still ahead
  const current = (STEPS.find((st) => !stepStatus(st.id, s)[0] &&
    st.instants.some(([k]) => s.calendar[k] && new Date(s.calendar[k]).getTime() > now)) || {}).id;
  card.append(h("ol", { class: "season-steps", "data-testid": "season-steps" },
    STEPS.map((st) => stepItem(st, s, now, current))));
  return card;
}

async function viewHome() {
  if (!session.token) return needSignIn();
  const root = h("div", { "data-testid": "applicant-home" }, h("h1", {}, "My season"));
  const regs = listOf(await api("GET", "/registration/applicants"), "applicants")
    .sort((x, y) => String(y.season).localeCompare(String(x.season)));
  if (!regs.length) {
    const latest = (await quietly(api("GET", "/registration/programs")) || {}).season;
    root.append(notice("warn", "You have not registered for a season yet.", "Register in My registration: the steps below follow."),
      h("p", {}, h("a", { href: "#/applicant" }, "Register for a season")));
    if (latest) root.append(await seasonCard(latest, null));
    return root;
  }
  for (const card of await Promise.all(regs.map((r) => seasonCard(r.season, r)))) root.append(card);
  return root;
}

ROUTES.home = viewHome;
if (location.hash.replace(/^#\/?/, "").split("?")[0] === "home") route();
