/* CASPR results (issue 12: M5, M6, M8; "A Match anyone can check"), an ES module on top of app.js (its
 * helpers h, api, session, notice, problemNotice, fact, when, listOf, needSignIn, DEFAULT_TZ and its
 * ROUTES / PAGE_ROLES are globals of the page).
 * Views:
 *   #/results          the applicant: the result at its instant as the API releases it (nothing before
 *                      Match Status Day; matched or not on that day; program and track on Match Day), the
 *                      personal explanation lines (Match Day), MPII, and the season's seal (audit hashes)
 *   #/program-results  a program: per track its unfilled positions (status day), matched applicants and
 *                      the explanation lines (Match Day)
 *   #/post-match       the Post-Match list (M8): positions still open after MPII, from Match Day
 * Every view takes ?season=... in the hash; without it the latest season of the signed-in account. */

/** ?key=value of the hash route. */
export function hashParam(key) {
  const q = location.hash.split("?")[1] || "";
  return new URLSearchParams(q).get(key);
}

export async function quietly(promise) {
  try { return await promise; } catch { return null; }
}

export const matchBase = (season) => `/match/seasons/${encodeURIComponent(season)}`;

/** The season's calendar (null when not published), for the dates the pages name. */
export async function calendarOf(season) {
  const s = await quietly(api("GET", `/registration/seasons/${encodeURIComponent(season)}`));
  return (s && s.calendar) || {};
}

/** A refusal in plain words (M6: not released yet; M8: not published yet), with the API's words folded away. */
function notYet(err, title) {
  const b = (err && err.body) || {};
  if (err && (err.status === 403 || err.status === 409) && b.rule) {
    return h("div", { "data-testid": "not-yet" }, notice("warn", title, b.detail || ""));
  }
  return problemNotice(err);
}

// ------------------------------------------------------------------ the seal (audit hashes)
export const VERIFY_HOW = "How to verify: the SHA-256 of a round's snapshot was fixed when the rank order lists " +
  "locked, before the run; the result's when it was stored. An auditor given the two files (administrators " +
  "download them) checks that their bytes hash to these values and that the result is the one stable matching " +
  "the snapshot gives, with `caspr-match verify SNAPSHOT.json RESULT.json --snapshot-sha256 <seal> " +
  "--result-sha256 <hash>`: it re-runs the Match, compares byte for byte and prints OK or what differs.";

export function sealTable(audit, tz) {
  return h("table", { "data-testid": "seal" },
    h("thead", {}, h("tr", {}, ["Round", "Snapshot SHA-256 (sealed)", "Result SHA-256 (stored)"].map((x) => h("th", {}, x)))),
    h("tbody", {}, audit.rounds.map((r) => h("tr", { "data-round": r.round },
      h("td", {}, r.round === "mpii" ? "MPII" : "Match"),
      h("td", {}, r.snapshot_sha256 ? [h("code", { "data-testid": "snapshot-sha256" }, r.snapshot_sha256),
        h("div", { class: "muted" }, `sealed ${when(r.sealed_at, tz)}`)] : h("span", { class: "muted" }, "not sealed yet")),
      h("td", {}, r.result_sha256 ? [h("code", { "data-testid": "result-sha256" }, r.result_sha256),
        h("div", { class: "muted" }, `stored ${when(r.published_at, tz)}`)] : h("span", { class: "muted" }, "not stored yet"))))));
}

async function sealCard(season, tz) {
  const card = h("section", { class: "card", "data-testid": "seal-card" }, h("h2", {}, "The seal of the Match"));
  try {
    card.append(sealTable(await api("GET", `${matchBase(season)}/audit`), tz),
      h("p", { class: "muted", "data-testid": "verify-how" }, VERIFY_HOW));
  } catch (err) {
    card.append(problemNotice(err));
  }
  return card;
}

// ------------------------------------------------------------------ applicant: #/results
const trackLabel = (x) => `${x.program_name || `Program ${x.program_code}`} — track ${x.track_code}` +
  (x.track_name ? ` (${x.track_name})` : "");

function outcome(label, r, released) {
  if (!r || !r.status) return null;
  const matched = r.status === "matched";
  return h("div", { class: "fact", "data-testid": `${label.toLowerCase()}-result` },
    h("div", { class: "label" }, label),
    h("div", { class: "value", "data-testid": "status" }, matched ? "Matched" : "Not matched"),
    matched && r.track_code ? h("div", { "data-testid": "track" }, trackLabel(r))
      : matched && released === "status" ? h("div", { class: "muted" }, "Where: on Match Day.") : null);
}

function explanationList(rounds) {
  if (!rounds.length) return h("p", { class: "muted" }, "You took part in no round.");
  return rounds.map((r) => h("div", { "data-testid": "explanation", "data-round": r.round },
    h("h3", {}, r.round === "mpii" ? "MPII" : "Match"),
    r.lines.length ? h("ul", {}, r.lines.map((l) => h("li", { "data-testid": "explanation-line" },
      h("strong", {}, trackLabel(l)), `: ${l.text}.`)))
      : h("p", { class: "muted" }, r.matched_track_code ? "You matched your first choice: nothing to explain."
        : "You ranked no track in this round.")));
}

async function applicantSeason(season, tz) {
  const base = matchBase(season);
  const cal = await calendarOf(season);
  const card = h("section", { class: "card", "data-testid": "results-card", "data-season": season },
    h("h2", {}, `Season ${season}`),
    h("p", { class: "muted" }, `Match Status Day: ${when(cal.match_status_day, tz)} (whether you matched). ` +
      `Match Day: ${when(cal.match_day, tz)} (where).`));
  let mine;
  try {
    mine = (await api("GET", `${base}/results/me`)).applicant;
  } catch (err) {
    card.append(notYet(err, "Your result is not released yet."));
    return [card, await sealCard(season, tz)];
  }
  card.dataset.released = mine.released;
  card.append(h("div", { class: "facts" }, outcome("Match", mine.match, mine.released),
    mine.mpii && mine.mpii.participant ? (outcome("MPII", mine.mpii, mine.released) ||
      h("div", { class: "fact", "data-testid": "mpii-result" }, h("div", { class: "label" }, "MPII"),
        h("div", { class: "value" }, "Taking part"), h("div", { class: "muted" }, "The MPII result comes on Match Day.")))
      : null));
  if (mine.released === "status" && mine.match.status === "unmatched") {
    card.append(notice("warn", "You did not match.", "If you are registered and not withdrawn you take part in MPII " +
      "(M7) with no new registration: apply to MPII programs and rank them on your rank order list."));
  }
  const explain = h("div", { "data-testid": "explanations" }, h("h3", {}, "Why not the tracks you ranked higher"));
  try {
    explain.append(...[explanationList((await api("GET", `${base}/applicants/me/explanation`)).rounds)].flat());
  } catch (err) {
    explain.append(notYet(err, "Explanations come on Match Day."));
  }
  card.append(explain);
  return [card, await sealCard(season, tz)];
}

async function viewResults() {
  if (!session.token) return needSignIn();
  const root = h("div", { "data-testid": "results-page" }, h("h1", {}, "My Match result"));
  const regs = listOf(await api("GET", "/registration/applicants"), "applicants")
    .sort((x, y) => String(y.season).localeCompare(String(x.season)));
  const wanted = hashParam("season");
  const reg = regs.find((r) => r.season === wanted) || regs[0];
  if (!reg) {
    root.append(notice("warn", "You have not registered for a season.", "Results are for registered applicants."));
    return root;
  }
  root.append(...await applicantSeason(reg.season, reg.timezone || DEFAULT_TZ));
  return root;
}

// ------------------------------------------------------------------ program: #/program-results
function programCode() {
  const g = session.groups.find((x) => x.startsWith("program-"));
  return g ? g.slice("program-".length) : "";
}

/** The season of a program page: ?season=, else the program's latest (registration). */
async function programSeason(code) {
  const wanted = hashParam("season");
  if (wanted) return wanted;
  const p = code ? await quietly(api("GET", `/registration/programs/${encodeURIComponent(code)}`)) : null;
  if (p && p.season) return p.season;
  return ((await quietly(api("GET", "/registration/programs"))) || {}).season || null;
}

function matchedList(t) {
  if (!t.matched) return h("span", { class: "muted" }, "Names on Match Day.");
  if (!t.matched.length) return h("span", { class: "muted" }, "none");
  return h("ul", {}, t.matched.map((m) => h("li", { "data-testid": "matched-applicant" },
    `${m.name || "–"} (code ${m.code_number})`, m.email ? ` · ${m.email}` : "",
    m.round === "mpii" ? h("span", { class: "badge" }, " MPII") : null)));
}

async function trackExplanation(season, code) {
  try {
    const e = await api("GET", `${matchBase(season)}/tracks/${encodeURIComponent(code)}/explanation`);
    if (!e.rounds.length) return h("span", { class: "muted" }, "–");
    return e.rounds.map((r) => h("div", { "data-testid": "track-explanation", "data-round": r.round },
      h("strong", {}, `${r.round === "mpii" ? "MPII" : "Match"}: ${r.filled} of ${r.positions} filled.`),
      r.lines.length ? h("ul", {}, Object.entries(r.counts).map(([reason, n]) => h("li", { "data-testid": "explanation-line" },
        `${n} applicant(s) you ranked above one you matched: ${(r.lines.find((l) => l.reason === reason) || {}).text}.`)))
        : h("div", { class: "muted" }, "No applicant you ranked higher went elsewhere.")));
  } catch (err) {
    return err.status === 409 ? h("span", { class: "muted" }, "On Match Day.") : problemNotice(err);
  }
}

async function viewProgramResults() {
  if (!session.token) return needSignIn();
  const code = programCode();
  const season = await programSeason(code);
  const root = h("div", { "data-testid": "program-results-page" }, h("h1", {}, "Match results"),
    h("p", {}, h("a", { href: `#/post-match?season=${encodeURIComponent(season || "")}` }, "The Post-Match list")));
  if (!season) {
    root.append(notice("warn", "No season yet.", "Your program is not registered in a season."));
    return root;
  }
  const cal = await calendarOf(season);
  const tz = DEFAULT_TZ;
  root.append(h("p", { class: "muted" }, `Season ${season}. Match Status Day ${when(cal.match_status_day, tz)}: ` +
    `your unfilled positions. Match Day ${when(cal.match_day, tz)}: your matched applicants.`));
  let data;
  try {
    data = (await api("GET", `${matchBase(season)}/results/me`)).program;
  } catch (err) {
    root.append(notYet(err, "Your results are not released yet."));
    root.append(await sealCard(season, tz));
    return root;
  }
  const rows = await Promise.all(data.tracks.map(async (t) => h("tr", { "data-track": t.track_code },
    h("td", {}, h("strong", {}, t.track_code), t.track_name ? h("div", { class: "muted" }, t.track_name) : null),
    h("td", { "data-testid": "positions" }, String(t.positions)),
    h("td", { "data-testid": "unfilled" }, String(t.unfilled),
      t.unfilled_after_mpii !== undefined && t.unfilled_after_mpii !== null
        ? h("div", { class: "muted" }, `after MPII: ${t.unfilled_after_mpii}`) : null,
      t.in_mpii ? h("div", { class: "muted" }, "in MPII") : null),
    h("td", {}, matchedList(t)),
    h("td", {}, data.released === "results" ? await trackExplanation(season, t.track_code) : h("span", { class: "muted" }, "On Match Day.")))));
  root.append(h("section", { class: "card", "data-testid": "program-results", "data-released": data.released },
    h("h2", {}, `Program ${data.program_code}`),
    h("table", {}, h("thead", {}, h("tr", {}, ["Track", "Positions", "Unfilled", "Matched applicants", "Why not the ones ranked higher"]
      .map((x) => h("th", {}, x)))), h("tbody", {}, rows))), await sealCard(season, tz));
  return root;
}

// ------------------------------------------------------------------ #/post-match
async function viewPostMatch() {
  if (!session.token) return needSignIn();
  let season = hashParam("season");
  if (!season) {
    if (session.role === "applicant") {
      const regs = listOf(await quietly(api("GET", "/registration/applicants")) || [], "applicants");
      season = regs.map((r) => r.season).sort().pop() || null;
    } else {
      season = await programSeason(session.role === "program" ? programCode() : "");
    }
  }
  const root = h("div", { "data-testid": "post-match-page" }, h("h1", {}, "Post-Match list"),
    h("p", { class: "muted" }, "Positions still open after MPII (M8), published with the results on Match Day."));
  if (!season) return root;
  try {
    const p = await api("GET", `${matchBase(season)}/post-match`);
    root.append(h("section", { class: "card", "data-testid": "post-match", "data-season": season },
      h("h2", {}, `Season ${season}: ${p.open_positions} open position(s)`),
      h("p", { class: "muted" }, `Published ${when(p.published_at, DEFAULT_TZ)}.`),
      p.positions.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Program", "Track", "Open positions"].map((x) => h("th", {}, x)))),
        h("tbody", {}, p.positions.map((x) => h("tr", { "data-testid": "open-track", "data-track": x.track_code },
          h("td", {}, x.program_name || x.program_code, h("span", { class: "muted" }, ` (${x.program_code})`)),
          h("td", {}, x.track_code, x.track_name ? h("span", { class: "muted" }, ` ${x.track_name}`) : null),
          h("td", { "data-testid": "open-positions" }, String(x.open_positions))))))
        : h("p", {}, "Every position is filled.")));
  } catch (err) {
    root.append(notYet(err, "The Post-Match list is not published yet."));
  }
  return root;
}

ROUTES.results = viewResults;
ROUTES["program-results"] = viewProgramResults;
ROUTES["post-match"] = viewPostMatch;
if (["results", "program-results", "post-match"].includes(location.hash.replace(/^#\/?/, "").split("?")[0])) route();
