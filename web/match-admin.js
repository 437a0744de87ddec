/* CASPR: the administrator's Match page (issue 12: "Match run", statistics, audit), an ES module on top of
 * app.js (its helpers h, api, session, notice, problemNotice, fact, when, needSignIn, DEFAULT_TZ and its
 * ROUTES are globals of the page) and web/results.js.
 * View: #/match-admin?season=... (default: the latest season)
 *   - the run (M4): start it (POST runs; a second start returns the same run), each step of the state
 *     machine with its status, attempts and times as GET runs/{id} reports them, polled every 3 seconds
 *     until the run ends (or the page is left);
 *   - the statistics (M5, M6, M8) per round: figures, the choice distribution and the fill per track as
 *     inline SVG bar charts, the per-track table, the two CSV downloads;
 *   - the audit (issue 12): snapshot and result SHA-256 per round, with the files to download (a file too
 *     big for one response comes from a presigned S3 URL the API redirects to). */

import { VERIFY_HOW, hashParam, matchBase, quietly, sealTable } from "./results.js";

const POLL_MS = 3000;
const ENDED = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];
const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** A horizontal bar chart: bars [{label, value, max?, note}] scaled to `max` (default: the largest value). */
function barChart(title, bars, { testid, max } = {}) {
  const rowH = 26;
  const labelW = 150;
  const width = 560;
  const top = Math.max(1, max ?? Math.max(0, ...bars.map((b) => b.max ?? b.value)));
  const height = bars.length * rowH + 8;
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": title,
    "data-testid": testid || "chart", style: `max-width:${width}px` },
  svg("title", {}, title),
  bars.map((b, i) => {
    const y = i * rowH + 4;
    const full = b.max !== undefined ? (b.max / top) * (width - labelW - 70) : 0;
    const w = (b.value / top) * (width - labelW - 70);
    return svg("g", { "data-label": b.label, "data-value": b.value },
      svg("text", { x: labelW - 6, y: y + 15, "text-anchor": "end", "font-size": 12 }, b.label),
      b.max !== undefined ? svg("rect", { x: labelW, y, width: full, height: rowH - 8, fill: "#e7edf3" }) : null,
      svg("rect", { x: labelW, y, width: Math.max(w, 0), height: rowH - 8, fill: "#1f5f8b" }),
      svg("text", { x: labelW + Math.max(w, full) + 6, y: y + 15, "font-size": 12 }, b.note ?? String(b.value)));
  }));
}

const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;

/** Downloads an API file with the session's token (a plain link would carry none). */
async function download(path, filename) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` } });
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    throw new Problem(res.status, body || { title: res.statusText });
  }
  const url = URL.createObjectURL(await res.blob());
  const a = h("a", { href: url, download: filename, class: "hidden" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function downloadButton(label, path, filename, out, testid) {
  return h("button", { type: "button", class: "secondary", "data-testid": testid, onclick: async (ev) => {
    ev.target.disabled = true;
    out.replaceChildren();
    try { await download(path, filename); } catch (err) { out.replaceChildren(problemNotice(err)); }
    finally { ev.target.disabled = false; }
  } }, label);
}

// ------------------------------------------------------------------ the run
function stepsTable(run, tz) {
  return h("table", { "data-testid": "run-steps" },
    h("thead", {}, h("tr", {}, ["Step", "Status", "Attempts", "Started", "Finished", "Detail"].map((x) => h("th", {}, x)))),
    h("tbody", {}, run.steps.map((s) => h("tr", { "data-testid": "run-step", "data-step": s.step, "data-status": s.status },
      h("td", {}, h("code", {}, s.step)),
      h("td", {}, h("span", { class: `badge ${s.status === "succeeded" ? "yes" : s.status === "failed" ? "withdrawn" : ""}` }, s.status)),
      h("td", {}, String(s.attempts ?? "")), h("td", {}, when(s.started_at, tz)), h("td", {}, when(s.finished_at, tz)),
      h("td", { class: "muted" }, s.detail ? String(s.detail).slice(0, 160) : "")))));
}

function runCard(season, tz, onChange) {
  const base = matchBase(season);
  const out = h("div");
  const body = h("div", { "data-testid": "run" }, h("p", { class: "muted" }, "Loading…"));
  const start = h("button", { type: "button", "data-testid": "start-run" }, "Start the Match run");
  const card = h("section", { class: "card", "data-testid": "run-card" }, h("h2", {}, "Match run"),
    h("p", { class: "muted" }, "The state machine locks the lists, takes the snapshot, runs and verifies the Match, " +
      "stores the result and publishes it at its release instant (M4). It starts by itself when the lists lock; " +
      "starting it again returns the same run."), out, body, start);
  let timer = null;
  let seen = null; // the progress last shown

  function show(run) {
    if (!run) {
      body.replaceChildren(h("p", { "data-testid": "no-run" }, "No run yet."));
      return;
    }
    body.replaceChildren(
      h("div", { class: "facts" },
        fact("Run", h("code", { "data-testid": "run-id" }, run.run_id)),
        fact("Status", h("span", { "data-testid": "run-status" }, run.status)),
        fact("Steps done", h("span", { "data-testid": "run-progress" }, `${run.completed_steps} of ${run.planned_steps}`)),
        fact("Current step", run.current_step || "–")),
      h("p", { class: "muted" }, `Started ${when(run.started_at, tz)} by ${run.started_by}` +
        (run.stopped_at ? `; ended ${when(run.stopped_at, tz)}.` : ".")),
      run.error ? notice("error", `${run.error}.`, run.cause || "") : null,
      stepsTable(run, tz));
  }

  async function poll(runId, first = false) {
    clearTimeout(timer);
    if (!first && !card.isConnected) return; // the page was left: no more polling
    try {
      const run = runId ? await api("GET", `${base}/runs/${encodeURIComponent(runId)}`)
        : (await api("GET", `${base}/runs`)).runs.slice(-1)[0];
      show(run);
      const done = run ? `${run.completed_steps}/${run.status}` : null;
      if (seen !== null && done !== seen) onChange(); // a step ended: statistics or seal may be new
      seen = done;
      if (run && ENDED.includes(run.status)) return;
      if (run) timer = setTimeout(() => poll(run.run_id), POLL_MS);
    } catch (err) {
      out.replaceChildren(problemNotice(err));
    }
  }

  start.addEventListener("click", async () => {
    start.disabled = true;
    out.replaceChildren();
    try {
      const run = await api("POST", `${base}/runs`);
      out.replaceChildren(notice("ok", run.created ? "The Match run started." : "The run was already started.",
        `Run ${run.run_id}.`));
      show(run);
      poll(run.run_id, true);
    } catch (err) {
      out.replaceChildren(problemNotice(err));
    } finally {
      start.disabled = false;
    }
  });
  poll(null, true);
  return card;
}

// ------------------------------------------------------------------ statistics
function roundStatistics(r) {
  const label = r.round === "mpii" ? "MPII" : "Match";
  return h("div", { "data-testid": "round-statistics", "data-round": r.round },
    h("h3", {}, label),
    h("div", { class: "facts" },
      fact("Positions offered", h("span", { "data-testid": "positions-offered" }, String(r.positions_offered))),
      fact("Filled", h("span", { "data-testid": "positions-filled" }, String(r.positions_filled))),
      fact("Fill rate", h("span", { "data-testid": "fill-rate" }, pct(r.fill_rate))),
      fact("Applicants who ranked", h("span", { "data-testid": "applicants-ranked" }, String(r.applicants_ranked))),
      fact("Matched", h("span", { "data-testid": "applicants-matched" }, String(r.applicants_matched))),
      fact("Match rate", h("span", { "data-testid": "match-rate" }, pct(r.match_rate)))),
    h("div", { class: "grid" },
      h("div", {}, h("h3", {}, "Matched to their … choice"),
        barChart(`${label}: matched applicants by choice`, Object.entries(r.choices).map(([c, n]) => ({
          label: `${{ 1: "1st", 2: "2nd", 3: "3rd", "4+": "4th or later" }[c] || c} choice`, value: n,
          note: `${n} (${pct(r.choice_shares[c])})` })), { testid: "choice-chart" })),
      h("div", {}, h("h3", {}, "Fill per track"),
        barChart(`${label}: filled of positions per track`, r.tracks.map((t) => ({ label: t.track_code, value: t.filled,
          max: t.positions, note: `${t.filled} of ${t.positions}${t.withdrawn ? " (withdrawn)" : ""}` })), { testid: "fill-chart" }))),
    h("table", { "data-testid": "track-statistics" },
      h("thead", {}, h("tr", {}, ["Track", "Program", "Positions", "Filled", "Unfilled", "Applicants ranking it"].map((x) => h("th", {}, x)))),
      h("tbody", {}, r.tracks.map((t) => h("tr", { "data-track": t.track_code },
        h("td", {}, t.track_code, t.track_name ? h("div", { class: "muted" }, t.track_name) : null,
          t.withdrawn ? h("span", { class: "badge withdrawn" }, "withdrawn") : null),
        h("td", {}, t.program_name || t.program_code, h("span", { class: "muted" }, ` (${t.program_code})`)),
        h("td", { "data-testid": "positions" }, String(t.positions)), h("td", { "data-testid": "filled" }, String(t.filled)),
        h("td", { "data-testid": "unfilled" }, String(t.unfilled)),
        h("td", { "data-testid": "ranking" }, String(t.applicants_ranking)))))));
}

async function statisticsCard(season) {
  const base = matchBase(season);
  const out = h("div");
  const card = h("section", { class: "card", "data-testid": "statistics-card" }, h("h2", {}, "Statistics"), out);
  try {
    const stats = await api("GET", `${base}/statistics`);
    card.append(h("div", { class: "inline" },
      downloadButton("Download CSV (tracks)", `${base}/statistics.csv`, `caspr-${season}-statistics-tracks.csv`, out,
        "download-statistics-csv"), " ",
      downloadButton("Download CSV (summary)", `${base}/statistics-summary.csv`, `caspr-${season}-statistics-summary.csv`,
        out, "download-summary-csv")),
    ...stats.rounds.map(roundStatistics));
  } catch (err) {
    card.append(err.status === 409 ? notice("warn", "No statistics yet.", err.body.detail || "") : problemNotice(err));
  }
  return card;
}

// ------------------------------------------------------------------ audit
async function auditCard(season, tz) {
  const base = matchBase(season);
  const out = h("div");
  const card = h("section", { class: "card", "data-testid": "audit-card" }, h("h2", {}, "Audit"), out);
  try {
    const audit = await api("GET", `${base}/audit`);
    const files = h("ul", {}, audit.rounds.flatMap((r) => ["snapshot", "result"]
      .filter((what) => r[`${what}_sha256`])
      .map((what) => h("li", {}, downloadButton(`${r.round === "mpii" ? "MPII" : "Match"} ${what} file`,
        `${base}/audit/${r.round}/${what}`, `caspr-${season}-${r.round}-${what}.json`, out, `download-${r.round}-${what}`)))));
    card.append(sealTable(audit, tz), files, h("p", { class: "muted" }, VERIFY_HOW));
  } catch (err) {
    card.append(problemNotice(err));
  }
  return card;
}

// ------------------------------------------------------------------ the page
async function viewMatchAdmin() {
  if (!session.token) return needSignIn();
  const season = hashParam("season") || ((await quietly(api("GET", "/registration/programs"))) || {}).season || "";
  const tz = DEFAULT_TZ;
  const form = h("form", { class: "inline", "data-testid": "season-form" },
    h("div", { class: "row" }, h("label", { for: "f-match-season" }, "Season"),
      h("input", { id: "f-match-season", name: "season", value: season, required: true })),
    h("div", { class: "row action" }, h("button", { type: "submit" }, "Show")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go(`#/match-admin?season=${encodeURIComponent(form.elements.season.value.trim())}`);
  });
  const root = h("div", { "data-testid": "match-admin" }, h("h1", {}, "Match run"), form);
  if (!season) return root;
  const stats = h("div");
  const audit = h("div");
  async function refresh() {
    stats.replaceChildren(await statisticsCard(season));
    audit.replaceChildren(await auditCard(season, tz));
  }
  root.append(runCard(season, tz, refresh), stats, audit,
    h("p", {}, h("a", { href: `#/post-match?season=${encodeURIComponent(season)}` }, "The Post-Match list")));
  await refresh();
  return root;
}

ROUTES["match-admin"] = viewMatchAdmin;
if (location.hash.replace(/^#\/?/, "").split("?")[0] === "match-admin") route();
