/* CASPR applications pages (issue 10), an ES module on top of app.js (its helpers h, api, session,
 * row, input, onSubmit, notice, problemNotice, fact, listOf, when and its ROUTES are globals of the page).
 * Views: #/application (the applicant: uploads, letter requests and their statuses, submission,
 * designations with credits left and each program's deadline), #/review (a program's review desk:
 * list with filters, one application, review fields, CSV, packet) and #/college (a college's
 * students and their records). The letter writer's page is served by the API itself
 * (/applications/letters/respond?token=... from the email link). */

const KINDS = { personal_statement: "Personal statement", cv: "CV", supplemental: "Supplemental",
  transcript: "Transcript", deans_letter: "Dean's letter" };
const REVIEW_STATUSES = ["new", "reviewing", "invite", "hold", "declined"];

/** Uploads a PDF the way the API asks: a presigned POST straight to S3, then the completion check. */
async function uploadPdf(offerPath, file, kind) {
  if (!file) throw new Problem(422, { title: "Choose a file", detail: "a PDF file is required" });
  const offer = await api("POST", offerPath, { body: { kind, filename: file.name, size: file.size } });
  const form = new FormData();
  for (const [k, v] of Object.entries(offer.upload.fields || {})) form.append(k, v);
  form.append("file", file);
  try {
    // the answer of the file store is not needed (and may not be readable cross-origin): the
    // completion check below looks at the stored object itself and says what is wrong
    await fetch(offer.upload.url, { method: offer.upload.method || "POST", body: form, mode: "no-cors" });
  } catch (exc) {
    throw new Problem(0, { title: "Upload failed", detail: `the file store did not answer (${exc.message})` });
  }
  return api("POST", `${offerPath}/${encodeURIComponent(offer.document_id)}/completion`);
}

function badge(text, yes) { return h("span", { class: `badge ${yes ? "yes" : ""}` }, text); }

// ------------------------------------------------------------------ the applicant
function applicationCard(reg) {
  const id = reg.applicant_id;
  const base = `/applications/applicants/${encodeURIComponent(id)}`;
  const out = h("div");
  const body = h("div", {}, h("p", { class: "muted" }, "Loading your application…"));
  const card = h("section", { class: "card", "data-testid": "application-card", "data-applicant-id": id },
    h("h2", {}, `Application, season ${reg.season}`), out, body);

  async function act(fn, done) {
    out.replaceChildren();
    try { await fn(); if (done) out.replaceChildren(notice("ok", done)); await load(); }
    catch (err) { out.replaceChildren(problemNotice(err)); }
  }

  async function load() {
    const a = await api("GET", base);
    let programs = [];
    try { programs = listOf(await api("GET", "/registration/programs", { query: { season: a.season } }), "programs"); }
    catch { programs = []; }
    const submitted = a.status === "submitted";
    const docs = h("table", { "data-testid": "documents" },
      h("thead", {}, h("tr", {}, ["Document", "File", "Status", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, a.documents.map((d) => h("tr", { "data-testid": "document" },
        h("td", {}, KINDS[d.kind] || d.kind), h("td", {}, d.filename), h("td", {}, badge(d.status, d.status === "present")),
        h("td", {}, d.locked ? badge("locked (A7)") : h("button", { type: "button", class: "secondary",
          onclick: () => act(() => api("DELETE", `${base}/documents/${encodeURIComponent(d.document_id)}`), "Removed.") },
          "Remove"))))));
    const file = h("input", { type: "file", accept: "application/pdf", "data-testid": "document-file" });
    const kind = h("select", { "data-testid": "document-kind" },
      ["personal_statement", "cv", "supplemental"].map((k) => h("option", { value: k }, KINDS[k])));
    const uploadForm = h("form", { "data-testid": "upload-form", class: "inline" }, kind, file,
      h("button", { type: "submit" }, "Upload PDF"));
    uploadForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(() => uploadPdf(`${base}/documents`, file.files[0], kind.value), "Document uploaded.");
    });
    const letters = h("table", { "data-testid": "letters" },
      h("thead", {}, h("tr", {}, ["Writer", "Label", "Waived", "Status", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, a.letters.map((x) => h("tr", { "data-testid": "letter" },
        h("td", {}, `${x.writer_name} <${x.writer_email}>`), h("td", {}, x.label), h("td", {}, x.waived ? "yes" : "no"),
        h("td", { "data-testid": "letter-status" }, badge(x.status, x.status === "received")),
        h("td", {},
          x.status === "requested" ? h("button", { type: "button", class: "secondary", onclick: () =>
            act(() => api("DELETE", `${base}/letters/${encodeURIComponent(x.letter_id)}`), "Request deleted.") }, "Delete") : null,
          ["requested", "accepted"].includes(x.status) ? h("button", { type: "button", class: "secondary", onclick: () =>
            act(() => api("POST", `${base}/letters/${encodeURIComponent(x.letter_id)}/reminder`), "Reminder sent.") }, "Remind") : null)))));
    const letterForm = h("form", { "data-testid": "letter-form" },
      h("div", { class: "inline" },
        row("Writer's name", input("writer_name", { required: true })),
        row("Writer's email", input("writer_email", { required: true, type: "email" })),
        row("Label", input("label", { placeholder: "e.g. Surgery rotation" }))),
      h("div", { class: "row check" }, h("input", { type: "checkbox", name: "waived", id: `f-waived-${id}` }),
        h("label", { for: `f-waived-${id}` }, "I waive my right to see this letter")),
      h("button", { type: "submit" }, "Request the letter"));
    onSubmit(letterForm, out, async (d) => {
      await api("POST", `${base}/letters`, { body: d });
      out.replaceChildren(notice("ok", "Letter requested.", `${d.writer_email} was emailed a link.`));
      await load();
    });
    const pick = h("select", { name: "program_code", "data-testid": "program-pick" },
      programs.map((p) => h("option", { value: p.program_code },
        `${p.program_code} ${p.name} — deadline ${when(p.effective_application_deadline || p.application_deadline)}`)));
    const designate = h("form", { "data-testid": "designate-form", class: "inline" }, pick,
      h("button", { type: "submit", disabled: !submitted || undefined }, "Send my application"));
    onSubmit(designate, out, async (d) => {
      const r = await api("POST", `${base}/designations`, { body: d });
      out.replaceChildren(notice("ok", "Application sent.", `Program ${r.program_code}; ${r.credits_left} credits left.`));
      await load();
    });
    const designations = h("table", { "data-testid": "designations" },
      h("thead", {}, h("tr", {}, ["Program", "Deadline", "Sent", "Delivered"].map((t) => h("th", {}, t)))),
      h("tbody", {}, a.designations.map((x) => h("tr", { "data-testid": "designation" },
        h("td", {}, x.program_code + (x.round === "mpii" ? " (MPII)" : "")), h("td", {}, when(x.deadline)),
        h("td", {}, when(x.designated_at)), h("td", {}, x.delivered_at ? when(x.delivered_at) : "on applications_delivered")))));
    body.replaceChildren(
      h("div", { class: "facts" },
        fact("Status", h("span", { "data-testid": "application-status" }, a.status)),
        fact("Credits left", h("span", { "data-testid": "credits-left" }, a.credits_left)),
        fact("Part I passed (A3)", badge(a.may_apply ? "yes" : "no", a.may_apply)),
        fact("Complete", badge(a.complete ? "yes" : "no", a.complete))),
      a.missing.length ? h("p", { class: "muted", "data-testid": "missing" }, `Missing: ${a.missing.join("; ")}`) : null,
      h("h3", {}, "Documents"), docs, uploadForm,
      h("h3", {}, "Letters of reference (3 to 6)"), letters, submitted && a.letters.length >= 6 ? null : letterForm,
      h("h3", {}, "Submission"),
      submitted ? h("p", { "data-testid": "submitted" }, `Submitted ${when(a.submitted_at)}: the personal statement and CV are locked (A7).`)
        : h("button", { type: "button", "data-testid": "submit-application", onclick: () =>
          act(() => api("POST", `${base}/submission`), "Application submitted.") }, "Submit my application"),
      h("h3", {}, "Programs"), designations, designate,
      h("p", { class: "muted" }, "Each program uses one credit (buy more in My registration, R4)."));
  }
  load().catch((err) => body.replaceChildren(problemNotice(err)));
  return card;
}

async function viewApplication() {
  if (!session.token) return needSignIn();
  const root = h("div", {}, h("h1", {}, "My application"));
  const regs = listOf(await api("GET", "/registration/applicants"), "applicants")
    .filter((a) => a.status === "registered" || a.status === "withdrawn");
  if (!regs.length) root.append(notice("warn", "No completed registration.", "Your application opens once the registration fee is paid."));
  for (const r of regs) root.append(applicationCard(r));
  return root;
}

// ------------------------------------------------------------------ the program's review desk
function programCode() {
  const g = session.groups.find((x) => x.startsWith("program-"));
  return g ? g.slice("program-".length) : "";
}

async function viewReview() {
  if (!session.token) return needSignIn();
  const code = programCode();
  const out = h("div");
  const list = h("div", { "data-testid": "review-list" });
  const detail = h("div", { "data-testid": "review-detail" });
  const filters = h("form", { "data-testid": "review-filters", class: "inline" },
    row("Program", input("code", { value: code, required: true, pattern: "[0-9]{3}" })),
    row("Season", input("season", { inputmode: "numeric", placeholder: "latest" })),
    row("Review status", h("select", { name: "review_status" }, h("option", { value: "" }, "any"),
      REVIEW_STATUSES.map((s) => h("option", { value: s }, s)))),
    row("Tag", input("tag")), row("Rating at least", input("rating_min", { type: "number", min: 1, max: 5 })),
    row("Search", input("q")), h("button", { type: "submit" }, "Show"));
  const query = (d) => ({ season: d.season, review_status: d.review_status, tag: d.tag, rating_min: d.rating_min, q: d.q });
  let shown = 0; // only the latest request draws the list
  async function show(d) {
    const mine = ++shown;
    const r = await api("GET", `/applications/programs/${encodeURIComponent(d.code)}/applications`, { query: query(d) });
    if (mine !== shown) return;
    const csv = h("button", { type: "button", class: "secondary", "data-testid": "csv", onclick: async () => {
      const q = new URLSearchParams(Object.entries({ ...query(d), season: r.season }).filter(([, v]) => v));
      const res = await fetch(`/applications/programs/${encodeURIComponent(d.code)}/applications.csv?${q}`,
        { headers: { Authorization: `Bearer ${session.token}` } });
      const blob = new Blob([await res.text()], { type: "text/csv" });
      const a = h("a", { href: URL.createObjectURL(blob), download: `applications-${d.code}-${r.season}.csv` });
      document.body.append(a); a.click(); a.remove();
    } }, "Export CSV");
    list.replaceChildren(h("p", {}, `${r.applications.length} application(s) delivered to ${r.program_code}, season ${r.season}. `, csv),
      h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Code", "College", "GPA", "Part I", "Letters", "Status", "Rating", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, r.applications.map((x) => h("tr", { "data-testid": "review-row" },
          h("td", {}, `${x.last_name}, ${x.first_name}`), h("td", {}, x.code_number || ""), h("td", {}, x.college),
          h("td", {}, x.gpa ?? "–"), h("td", {}, x.results.filter((t) => t.exam === "part1").map((t) => t.result).join(", ") || "–"),
          h("td", {}, x.letters_received), h("td", {}, x.review_status), h("td", {}, x.rating ?? "–"),
          h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => open(d.code, r.season, x.applicant_id) }, "Open")))))));
  }
  async function open(pcode, season, applicantId) {
    const path = `/applications/programs/${encodeURIComponent(pcode)}/applications/${encodeURIComponent(applicantId)}`;
    const x = await api("GET", path, { query: { season } });
    const form = h("form", { "data-testid": "review-form" },
      h("div", { class: "inline" },
        row("Review status", h("select", { name: "review_status" }, REVIEW_STATUSES.map((s) =>
          h("option", { value: s, selected: s === x.review_status || undefined }, s)))),
        row("Rating (1-5)", input("rating", { type: "number", min: 1, max: 5, value: x.rating ?? "" })),
        row("Tags (comma separated)", input("tags", { value: x.tags.join(", ") }))),
      row("Notes (private to your program)", h("textarea", { name: "notes" }, x.notes)),
      h("button", { type: "submit" }, "Save review"));
    const saved = h("div");
    onSubmit(form, saved, async (d) => {
      const body = { review_status: d.review_status, rating: d.rating, notes: d.notes,
        tags: d.tags.split(",").map((t) => t.trim()).filter(Boolean) };
      await api("PATCH", path, { body, query: { season } });
      saved.replaceChildren(notice("ok", "Review saved."));
    });
    const packet = h("button", { type: "button", class: "secondary", "data-testid": "packet", onclick: async () => {
      try {
        const r = await api("GET", `${path}/packet.pdf`, { query: { season, redirect: "false" } });
        window.open(r.url, "_blank");
      } catch (err) { saved.replaceChildren(problemNotice(err)); }
    } }, "Packet (PDF)");
    detail.replaceChildren(h("section", { class: "card" },
      h("h2", {}, `${x.first_name} ${x.last_name} (${x.code_number || "–"})`),
      h("div", { class: "facts" }, fact("College", x.college), fact("Email", x.email), fact("GPA", x.gpa ?? "–"),
        fact("Class rank", x.class_rank ? `${x.class_rank} of ${x.class_size ?? "?"}` : "–")),
      h("h3", {}, "Exam results"), h("ul", {}, x.results.map((t) => h("li", {}, `${t.exam} ${t.exam_date}: ${t.result}`))),
      x.release_explanation ? h("p", {}, `Explanation: ${x.release_explanation}`) : null,
      h("h3", {}, "Documents"), h("ul", {}, x.documents.map((d) => h("li", {}, h("a", { href: d.download_url, target: "_blank" }, `${KINDS[d.kind] || d.kind}: ${d.filename}`)))),
      h("h3", {}, "Letters"), h("ul", { "data-testid": "review-letters" }, x.letters.map((l) => h("li", {},
        h("a", { href: l.download_url, target: "_blank" }, `${l.writer_name} (${l.label})`), l.waived ? " — right to see waived" : " — not waived"))),
      packet, saved, form));
  }
  onSubmit(filters, out, show);
  // a program lands here: its latest season's applications, without pressing "Show"
  if (code) show({ code, season: "" }).catch((err) => out.replaceChildren(problemNotice(err)));
  return h("div", {}, h("h1", {}, "Applications desk"), h("section", { class: "card" }, filters, out), list, detail);
}

// ------------------------------------------------------------------ the college
function collegeCode() {
  const g = session.groups.find((x) => x.startsWith("college-"));
  return g ? g.slice("college-".length) : "";
}

async function viewCollege() {
  if (!session.token) return needSignIn();
  const out = h("div");
  const list = h("div", { "data-testid": "students" });
  const form = h("form", { "data-testid": "students-form", class: "inline" },
    row("College", input("college", { value: collegeCode(), required: true })),
    row("Season", input("season", { required: true, inputmode: "numeric", placeholder: "2024" })),
    h("button", { type: "submit" }, "Show students"));
  let shown = 0; // only the latest request draws the list
  async function show(d) {
    const mine = ++shown;
    const r = await api("GET", `/applications/colleges/${encodeURIComponent(d.college)}/students`, { query: { season: d.season } });
    if (mine !== shown) return;
    list.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, ["Student", "Score release", "Documents", "Letters", "Submitted", "Programs", "Record"].map((t) => h("th", {}, t)))),
      h("tbody", {}, r.students.map((s) => {
        const base = `/applications/colleges/${encodeURIComponent(d.college)}/students/${encodeURIComponent(s.applicant_id)}`;
        const rec = s.college_record || {};
        const recordForm = h("form", { "data-testid": "record-form" },
          h("div", { class: "inline" },
            row("GPA", input("gpa", { type: "number", step: "0.01", min: 0, max: 4, required: true, value: rec.gpa ?? "" })),
            row("Class rank", input("class_rank", { type: "number", min: 1, value: rec.class_rank ?? "" })),
            row("Class size", input("class_size", { type: "number", min: 1, value: rec.class_size ?? "" }))),
          h("button", { type: "submit" }, "Save record"));
        onSubmit(recordForm, out, async (v) => {
          await api("PUT", `${base}/record`, { body: { ...v, clinicals: rec.clinicals || [] } });
          out.replaceChildren(notice("ok", "Record saved.", s.applicant_id));
        });
        const file = h("input", { type: "file", accept: "application/pdf", "data-testid": "college-file" });
        const kind = h("select", {}, ["transcript", "deans_letter"].map((k) => h("option", { value: k }, KINDS[k])));
        const up = h("form", { class: "inline", "data-testid": "college-upload" }, kind, file, h("button", { type: "submit" }, "Upload PDF"));
        up.addEventListener("submit", async (ev) => {
          ev.preventDefault();
          try { await uploadPdf(`${base}/documents`, file.files[0], kind.value); out.replaceChildren(notice("ok", "Uploaded.")); }
          catch (err) { out.replaceChildren(problemNotice(err)); }
        });
        return h("tr", { "data-testid": "student" },
          h("td", {}, `${s.last_name}, ${s.first_name} (${s.code_number || s.applicant_id})`),
          h("td", {}, s.score_release_done ? "done" : "not yet"), h("td", {}, s.documents.join(", ") || "–"),
          h("td", {}, `${s.letters_received} of ${s.letters_requested}`), h("td", {}, s.submitted ? "yes" : "no"),
          h("td", {}, s.programs_designated.join(", ") || "–"),
          h("td", {}, recordForm, up, (rec.documents || []).map((x) => KINDS[x.kind]).join(", ")));
      }))));
  }
  onSubmit(form, out, show);
  // a college lands here: its students in the latest season, without pressing "Show students"
  if (collegeCode()) {
    (async () => {
      const latest = (await api("GET", "/registration/programs")).season;
      if (!latest || form.elements.season.value) return;
      form.elements.season.value = latest;
      await show({ college: collegeCode(), season: latest });
    })().catch((err) => out.replaceChildren(problemNotice(err)));
  }
  return h("div", {}, h("h1", {}, "My students"), h("section", { class: "card" }, form, out), list);
}

ROUTES.application = viewApplication;
ROUTES.review = viewReview;
ROUTES.college = viewCollege;
const currentView = location.hash.replace(/^#\/?/, "").split("?")[0];
if (["application", "review", "college"].includes(currentView)) route();
