/* CASPR rank order lists of a program (issue 12: M1, M3, M7), an ES module on top of app.js (its helpers h,
 * api, session, notice, problemNotice, listOf, needSignIn, DEFAULT_TZ and its ROUTES are globals) and
 * web/rol.js (the list editor, the card with Save and Certify, refusals in plain words).
 * View: #/program-lists — one list per track of the program (a track picker), of the Match or of MPII (a
 * round switch when one of its tracks takes part in MPII). Candidates: the applicants whose applications
 * were delivered to the program (the applications desk); "Add everyone we interviewed" adds, in interview-date
 * order, the applicants booked in the program's interview schedule. The API limits MPII lists (M7); its
 * refusal is shown in plain words. */

import { ROUND_LABEL, listCard, mayLeave, roundPath, rolRefusal } from "./rol.js";

function programCode() {
  const g = session.groups.find((x) => x.startsWith("program-"));
  return g ? g.slice("program-".length) : "";
}

function person(a) {
  const name = a.name || [a.first_name, a.last_name].filter(Boolean).join(" ");
  return { key: a.applicant_id || a.code_number, title: name || `Applicant ${a.applicant_id || a.code_number}`,
    sub: `(${a.code_number ? `code ${a.code_number}` : `id ${a.applicant_id}`})`, withdrawn: !!a.withdrawn,
    code: a.code_number };
}

/** The applicants booked in the program's schedule, first interview first (each once). */
async function interviewed(code) {
  const r = await api("GET", `/interviews/programs/${encodeURIComponent(code)}/schedule`);
  const events = (r.events || []).slice().sort((a, b) => String(a.start).localeCompare(String(b.start)));
  const seen = new Set();
  const out = [];
  for (const e of events) {
    for (const b of e.bookings || []) {
      if (b.status !== "booked" || seen.has(b.applicant_id)) continue;
      seen.add(b.applicant_id);
      out.push({ applicant_id: b.applicant_id, start: e.start });
    }
  }
  return out;
}

function candidatesPanel(code, candidates, editor, out) {
  const results = h("ul", { class: "rol-results", "data-testid": "candidate-results" });
  const box = h("input", { type: "search", placeholder: "name or code number", "data-testid": "candidate-search",
    "aria-label": "Find an applicant to add", oninput: () => show() });
  const known = new Map(candidates.map((c) => [c.applicant_id, c]));
  const listed = (c) => editor.has(c.applicant_id) || editor.items().some((it) => c.code_number && it.code === c.code_number);
  function show() {
    const q = box.value.trim().toLowerCase();
    const hits = candidates.filter((c) => !listed(c) && (!q || [c.first_name, c.last_name, c.code_number,
      c.applicant_id].some((v) => v && String(v).toLowerCase().includes(q))));
    results.replaceChildren(...(hits.length ? hits.map((c) => h("li", { "data-testid": "candidate",
      "data-applicant-id": c.applicant_id }, person(c).title, h("span", { class: "muted" }, ` ${person(c).sub} `),
    h("button", { type: "button", class: "secondary", "data-testid": "add-candidate",
      onclick: () => { editor.add(person(c)); show(); } }, "Add"))) : [h("li", { class: "muted" },
      candidates.length ? (q ? "Nobody matches." : "Every delivered applicant is on the list.")
        : "No application delivered to your program in this round.")]));
  }
  const addAll = h("button", { type: "button", "data-testid": "add-interviewed", onclick: async () => {
    addAll.disabled = true;
    out.replaceChildren();
    try {
      const booked = await interviewed(code);
      let added = 0;
      for (const b of booked) {
        const c = known.get(b.applicant_id) || { applicant_id: b.applicant_id };
        if (!listed(c) && editor.add(person(c))) added += 1;
      }
      out.replaceChildren(!booked.length
        ? notice("warn", "Nobody to add.", "No applicant has a booking in your interview schedule.")
        : !added ? notice("ok", "Everyone you interviewed is already on the list.")
          : notice("ok", `Added ${added} applicant(s) you interviewed, in interview-date order.`,
            (added < booked.length ? `${booked.length - added} were already on the list. ` : "") +
            "Save the list to keep it."));
      show();
    } catch (err) {
      out.replaceChildren(rolRefusal(err));
    } finally { addAll.disabled = false; }
  } }, "Add everyone we interviewed");
  show();
  return h("div", { class: "rol-search" }, h("p", {}, addAll,
    h("span", { class: "muted" }, " adds the applicants booked in your interview schedule, earliest interview first.")),
  h("label", {}, h("strong", {}, "Add an applicant whose application was delivered to you "), box), results);
}

async function trackList(code, season, track, rnd, candidates) {
  const base = `${roundPath(season, rnd)}/tracks/${encodeURIComponent(track.track_code)}/rol`;
  const out = h("div", { "data-testid": "candidates-out" });
  const tz = DEFAULT_TZ;
  const card = await listCard({
    title: `${ROUND_LABEL[rnd]} list of track ${track.track_code} (${track.track_name || "track"}), season ${season}`,
    tz, noun: "applicant",
    load: () => api("GET", base),
    save: (applicants, version) => api("PUT", base, { body: { applicants, version } }),
    certify: (version) => api("POST", `${base}/certification`, { query: { version } }),
    toItems: (rol) => rol.applicants.map(person),
    toEntries: (items) => items.map((it) => it.key),
    extraControls: (editor) => h("div", {}, out, candidatesPanel(code, candidates.filter((c) => c.round === rnd),
      editor, out)),
  });
  card.dataset.track = track.track_code;
  return card;
}

async function viewProgramLists() {
  if (!session.token) return needSignIn();
  const code = programCode();
  const root = h("div", { "data-testid": "program-lists", "data-program-code": code },
    h("h1", {}, "Rank order lists"));
  if (!code) {
    root.append(notice("warn", "This account is not tied to a program.", "Program accounts rank applicants."));
    return root;
  }
  const desk = await api("GET", `/applications/programs/${encodeURIComponent(code)}/applications`).catch(() => null);
  const season = (desk && desk.season) ||
    (await api("GET", "/registration/programs").catch(() => ({}))).season;
  if (!season) {
    root.append(notice("warn", "No season yet.", "Your program's season is not known yet."));
    return root;
  }
  const candidates = listOf(desk, "applications");
  const tracks = (await api("GET", `/match/seasons/${encodeURIComponent(season)}/tracks`)).tracks
    .filter((t) => t.program_code === code);
  if (!tracks.length) {
    root.append(notice("warn", "No track to rank.", `The Match does not know a track of program ${code} in ` +
      `season ${season} yet.`));
    return root;
  }
  const inMpii = tracks.some((t) => t.in_mpii);
  const holder = h("div");
  let shownTrack = tracks[0].track_code;
  const pick = h("select", { "data-testid": "track-pick", "aria-label": "Track", onchange: () => {
    if (mayLeave(holder)) show(); else pick.value = shownTrack;
  } },
    tracks.map((t) => h("option", { value: t.track_code }, `${t.track_code} — ${t.track_name || "track"}` +
      `${t.withdrawn ? " (withdrawn)" : ""}`)));
  let rnd = inMpii ? "mpii" : "match";
  const switcher = h("div", { class: `inline rol-rounds${inMpii ? "" : " hidden"}`, role: "group", "aria-label": "Round",
    "data-testid": "round-switch" }, ["match", "mpii"].map((r) => h("button", { type: "button", class: "secondary",
    "data-round": r, "data-testid": `round-${r}`, onclick: () => { if (mayLeave(holder)) { rnd = r; show(); } } },
    ROUND_LABEL[r])));
  async function show() {
    switcher.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.round === rnd)));
    const track = tracks.find((t) => t.track_code === pick.value);
    shownTrack = track.track_code;
    holder.replaceChildren(h("p", { class: "muted" }, "Loading the list…"));
    holder.replaceChildren(await trackList(code, season, track, rnd, candidates).catch((err) => rolRefusal(err)));
  }
  root.append(h("p", { class: "muted" }, `Program ${code}, season ${season}: one list per track, most wanted ` +
    "applicant first. Only a certified list counts (M1)."),
  h("div", { class: "inline" }, h("label", {}, h("strong", {}, "Track "), pick), switcher), holder);
  await show();
  return root;
}

ROUTES["program-lists"] = viewProgramLists;
if (location.hash.replace(/^#\/?/, "").split("?")[0] === "program-lists") route();
