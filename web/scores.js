/* CASPR scores pages (issue 9), an ES module on top of app.js (its helpers h, api, session,
 * row, input, onSubmit, notice, problemNotice, fact, flash and its ROUTES are globals of the page).
 * Views: #/scores (the applicant: APMLE score release form, results, eligibility) and
 * #/scores-admin (administrators: the NBPME CSV upload, the CSPE table, self-reported results). */

const ATT_FORM = "Nine digits beginning with 00, e.g. 007885050 (on your ATT letter; it is not on the score report).";
const CMS_FORM = "Three letters, a dash, nine letters or digits, e.g. PRO-2T8P48F5H; N/A if you have none.";
const NAME_REASON = "Stored with your release but never shown back: this field is blank every time you open the " +
  "form, on purpose (S1). Type it again only if you change your release.";
const EXAMS = { part1: "APMLE Part I", part2_written: "Part II Written", cspe: "Part II CSPE" };

/** The raw-body POST (text/csv) the JSON helper of app.js does not make; errors as its Problem. */
async function postText(path, text, contentType) {
  const headers = { Accept: "application/json, application/problem+json", "Content-Type": contentType };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let res;
  try {
    res = await fetch(path, { method: "POST", headers, body: text });
  } catch (exc) {
    throw new Problem(0, { title: "No answer", detail: `the server did not answer (${exc.message}); try again` });
  }
  const body = await res.text();
  let data = null;
  try { data = body ? JSON.parse(body) : null; } catch { data = { detail: body.slice(0, 300) }; }
  if (!res.ok) throw new Problem(res.status, data || { title: res.statusText });
  return data;
}

function checkbox(name, label, testid) {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  return h("div", { class: "row check" }, h("input", { type: "checkbox", name, id, "data-testid": testid }),
    h("label", { for: id }, label));
}

function attemptsTable(attempts) {
  if (!attempts.length) return h("p", { class: "muted", "data-testid": "no-attempts" }, "No result recorded yet.");
  return h("table", { "data-testid": "attempts" },
    h("thead", {}, h("tr", {}, ["Exam", "Date", "Result", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, attempts.map((a) => h("tr", { "data-testid": "attempt" },
      h("td", {}, EXAMS[a.exam] || a.exam), h("td", {}, a.exam_date),
      h("td", {}, h("span", { class: `badge ${a.result === "pass" ? "yes" : ""}` }, a.result)),
      h("td", {}, a.official ? "" : h("span", { class: "badge", title: "unofficial until verified (S7)" }, "unofficial"))))));
}

function eligibilityFacts(e) {
  const yes = (v) => h("span", { class: `badge ${v ? "yes" : ""}` }, v ? "yes" : "no");
  return h("div", {},
    h("div", { class: "facts", "data-testid": "eligibility" },
      fact("Part I passed", yes(e.part1_passed)), fact("May send applications (A3)", yes(e.may_apply)),
      fact("Part II Written passed", yes(e.part2_written_passed)), fact("CSPE (S4)", `${e.cspe}`),
      fact("CSPE passed", yes(e.cspe_passed)), fact("Eligible for the Match", yes(e.match_eligible))),
    (e.reasons || []).length ? h("ul", { class: "muted" }, e.reasons.map((r) => h("li", {}, r))) : null);
}

function releaseCard(a) {
  const base = `/scores/applicants/${encodeURIComponent(a.applicant_id)}`;
  const out = h("div");
  const status = h("div", { "data-testid": "release-status" }, h("p", { class: "muted" }, "Loading your release…"));
  const results = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const explanation = h("textarea", { name: "explanation", id: `f-expl-${a.applicant_id}`, maxlength: 2000,
    "data-testid": "explanation" });
  const count = h("span", { class: "muted" }, "0 / 2000");
  explanation.addEventListener("input", () => { count.textContent = `${explanation.value.length} / 2000`; });
  const form = h("form", { "data-testid": "release-form" },
    h("h3", {}, "APMLE score release"),
    h("p", { class: "muted" }, "Release your Part I and Part II (Written and Clinical/CSPE) results by the score " +
      "release deadline (S2): without it your application may not be marked complete."),
    h("div", { class: "inline" },
      row("Prometric CMS ID", input("cms_id", { required: true, placeholder: "PRO-2T8P48F5H", "data-testid": "cms-id" }),
        CMS_FORM),
      row("ATT number", input("att_number", { required: true, placeholder: "007885050", inputmode: "numeric",
        "data-testid": "att-number" }), ATT_FORM)),
    row("Name at time of exam", input("name_at_exam", { required: true, autocomplete: "off",
      "data-testid": "name-at-exam" }), h("span", { "data-testid": "name-reason" }, NAME_REASON)),
    row("Explanation for programs (optional)", explanation,
      h("span", {}, "Shown to programs with your results, e.g. why you did not take Part I when first offered. ", count)),
    checkbox("authorize_part1", "I release my APMLE Part I results to CASPR and my designated programs.", "authorize-part1"),
    checkbox("authorize_part2", "I release my APMLE Part II results (Written and Clinical/CSPE).", "authorize-part2"),
    h("button", { type: "submit" }, "Sign the release"));

  function showRelease(r) {
    status.replaceChildren(h("div", { class: "facts" },
      fact("ATT number", h("span", { "data-testid": "released-att" }, r.att_number)),
      fact("CMS ID", r.cms_id),
      fact("Released", when(r.released_at, a.timezone)),
      fact("On time (S2)", h("span", { class: `badge ${r.on_time ? "yes" : ""}`, "data-testid": "on-time" },
        r.on_time ? "yes" : "late"))));
    form.elements.att_number.value = r.att_number;
    form.elements.cms_id.value = r.cms_id;
    form.elements.explanation.value = r.explanation || "";
    form.elements.name_at_exam.value = r.name_at_exam || ""; // always "" (S1)
    form.elements.authorize_part1.checked = !!r.authorize_part1;
    form.elements.authorize_part2.checked = !!r.authorize_part2;
    count.textContent = `${explanation.value.length} / 2000`;
  }
  async function load() {
    try {
      showRelease(await api("GET", `${base}/release`));
    } catch (err) {
      if (err.status === 404) {
        status.replaceChildren(notice("warn", "Not released yet.", "Complete the form below."));
        if (!form.elements.cms_id.value) form.elements.cms_id.value = a.cms_id || "";
      } else status.replaceChildren(problemNotice(err));
    }
    try {
      const [res, elig] = await Promise.all([api("GET", `${base}/results`), api("GET", `${base}/eligibility`)]);
      results.replaceChildren(h("h3", {}, "Results"), attemptsTable(res.attempts || []),
        h("h3", {}, "Eligibility"), eligibilityFacts(elig));
    } catch (err) {
      results.replaceChildren(problemNotice(err));
    }
  }
  onSubmit(form, out, async (d) => {
    const r = await api("PUT", `${base}/release`, { body: d });
    showRelease(r);
    out.replaceChildren(notice(r.on_time ? "ok" : "warn", "Scores released.",
      r.on_time ? "Thank you." : "After the deadline: we will request your results from the NBPME as soon as we can."));
    await load();
  });
  load();
  return h("section", { class: "card", "data-testid": "scores-card", "data-applicant-id": a.applicant_id },
    h("h2", {}, `Season ${a.season}`), status, out, form, results);
}

async function viewScores() {
  if (!session.token) return needSignIn();
  const root = h("div", {}, h("h1", {}, "My APMLE scores"));
  let registrations = [];
  try {
    registrations = listOf(await api("GET", "/registration/applicants"), "applicants");
  } catch (err) {
    root.append(problemNotice(err));
    return root;
  }
  const registered = registrations.filter((a) => a.status === "registered" || a.status === "withdrawn");
  if (!registered.length) {
    root.append(notice("warn", "No completed registration.",
      "The score release opens once your registration fee is paid (My registration)."));
  }
  for (const a of registered) root.append(releaseCard(a));
  return root;
}

// ------------------------------------------------------------------ administrators
function uploadCard() {
  const out = h("div");
  const summary = h("div", { "data-testid": "upload-summary" });
  const form = h("form", { "data-testid": "upload-form" },
    h("div", { class: "inline" },
      row("Season", input("season", { required: true, inputmode: "numeric", placeholder: "2024" })),
      row("NBPME results (CSV)", h("input", { type: "file", name: "file", id: "f-results-file", accept: ".csv,text/csv",
        required: true, "data-testid": "results-file" }))),
    h("p", { class: "muted" }, "Header: att_number,cms_id,exam,exam_date,result — exam part1, part2_written or cspe; " +
      "exam_date YYYY-MM-DD; result pass or fail. Rows are matched by ATT number and CMS ID (S3)."),
    h("button", { type: "submit" }, "Upload results"));
  onSubmit(form, out, async (d) => {
    const file = form.elements.file.files[0];
    if (!file) throw new Problem(422, { title: "Choose a file", detail: "a CSV file is required" });
    const text = await file.text();
    const r = await postText(`/scores/seasons/${encodeURIComponent(d.season)}/results`, text, "text/csv");
    const table = (rows, cols) => h("table", {}, h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.map((x) => h("tr", {}, cols.map((c) => h("td", {}, String(x[c])))))));
    summary.replaceChildren(
      h("div", { class: "facts" },
        fact("Rows", h("span", { "data-testid": "rows" }, r.rows)),
        fact("Recorded", h("span", { "data-testid": "recorded" }, r.recorded)),
        fact("Duplicates", h("span", { "data-testid": "duplicates" }, r.duplicates)),
        fact("Unmatched", h("span", { "data-testid": "unmatched-count" }, r.unmatched.length)),
        fact("Invalid", h("span", { "data-testid": "invalid-count" }, r.invalid.length))),
      h("div", {}, r.unmatched.length ? [h("h3", {}, "Unmatched rows (kept: recorded when a matching release arrives)"),
        h("div", { "data-testid": "unmatched" }, table(r.unmatched, ["row", "att_number", "cms_id", "reason"]))] : null),
      h("div", {}, r.invalid.length ? [h("h3", {}, "Invalid rows (not recorded)"),
        h("div", { "data-testid": "invalid" }, table(r.invalid, ["row", "field", "message"]))] : null));
    out.replaceChildren(notice("ok", "Upload done.", `Upload ${r.upload_id}.`));
  });
  return h("section", { class: "card", "data-testid": "upload-card" }, h("h2", {}, "NBPME results"), out, form, summary);
}

function cspeCard() {
  const out = h("div");
  const rules = h("textarea", { name: "rules", id: "f-cspe-rules", placeholder: "2017-2020 required\n2016 exempt",
    "data-testid": "cspe-rules" });
  const form = h("form", { "data-testid": "cspe-form" },
    h("div", { class: "inline" }, row("Season", input("season", { required: true, inputmode: "numeric" })),
      h("div", { class: "row action" }, h("button", { type: "button", class: "secondary", onclick: () => load() }, "Load"))),
    row("CSPE by graduating class", rules, "One range per line: 2017-2020 required · 2016 exempt · 1900-2014 not_eligible (S4)."),
    h("button", { type: "submit" }, "Save CSPE table"));
  const text = (list) => list.map((r) => `${r.class_from === r.class_to ? r.class_from : `${r.class_from}-${r.class_to}`} ${r.cspe}`).join("\n");
  async function load() {
    out.replaceChildren();
    try {
      const r = await api("GET", `/scores/seasons/${encodeURIComponent(form.elements.season.value.trim())}/cspe-rules`);
      rules.value = text(r.rules);
    } catch (err) { out.replaceChildren(problemNotice(err)); }
  }
  onSubmit(form, out, async (d) => {
    const parsed = d.rules.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const m = l.match(/^(\d{4})(?:\s*-\s*(\d{4}))?\s+(\S+)$/);
      if (!m) throw new Problem(422, { title: "Invalid line", detail: `"${l}": expected e.g. 2017-2020 required` });
      return { class_from: Number(m[1]), class_to: Number(m[2] || m[1]), cspe: m[3] };
    });
    const r = await api("PUT", `/scores/seasons/${encodeURIComponent(d.season)}/cspe-rules`, { body: { rules: parsed } });
    rules.value = text(r.rules);
    out.replaceChildren(notice("ok", "CSPE table saved.", `Version ${r.version}.`));
  });
  return h("section", { class: "card", "data-testid": "cspe-card" }, h("h2", {}, "CSPE requirement"), out, form);
}

function selfReportedCard() {
  const out = h("div");
  const list = h("div", { "data-testid": "self-reported" });
  async function load() {
    const r = await api("GET", "/scores/self-reported");
    const items = r.self_reported || [];
    list.replaceChildren(items.length ? h("table", {},
      h("thead", {}, h("tr", {}, ["Applicant", "Exam", "Date", "Result", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, items.map((x) => h("tr", {},
        h("td", {}, x.applicant_id), h("td", {}, EXAMS[x.exam] || x.exam), h("td", {}, x.exam_date), h("td", {}, x.result),
        h("td", {}, [true, false].map((v) => h("button", { type: "button", class: v ? "" : "secondary", onclick: async () => {
          try {
            await api("POST", `/scores/self-reported/${encodeURIComponent(x.self_reported_id)}/verification`, { body: { verified: v } });
            out.replaceChildren(notice("ok", v ? "Verified." : "Rejected."));
            await load();
          } catch (err) { out.replaceChildren(problemNotice(err)); }
        } }, v ? "Verify" : "Reject"))))))) : h("p", { class: "muted" }, "Nothing awaits verification."));
  }
  load().catch((err) => list.replaceChildren(problemNotice(err)));
  return h("section", { class: "card" }, h("h2", {}, "Self-reported Part II results (S7)"), out, list);
}

async function viewScoresAdmin() {
  if (!session.token) return needSignIn();
  if (session.role !== "admin") return notice("warn", "Administrators only.", `You are signed in as ${session.role}.`);
  return h("div", {}, h("h1", {}, "Scores administration"), uploadCard(), cspeCard(), selfReportedCard());
}

ROUTES.scores = viewScores;
ROUTES["scores-admin"] = viewScoresAdmin;
const current = location.hash.replace(/^#\/?/, "").split("?")[0];
if (current === "scores" || current === "scores-admin") route();
