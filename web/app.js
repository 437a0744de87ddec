/* CASPR local pages: vanilla JS, no build step, no CDN.
 * Views (hash routes): #/signin, #/applicant, #/directory, #/admin; the ES modules add theirs to ROUTES
 * (and to PAGE_ROLES, who may use them: the router says in plain words when a page is not theirs).
 * After sign-in each role lands on its home (HOMES); the header shows only the role's pages (data-roles).
 * The access token lives in sessionStorage (gone when the tab closes).
 * Every refusal of the API is RFC 9457 problem+json: its detail and field errors are shown. */
"use strict";

// ------------------------------------------------------------------ constants
const CALENDAR_KEYS = [
  "registration_opens", "registration_recommended_by", "score_release_deadline", "scores_uploaded",
  "application_deadline_default", "part1_pass_by", "applications_delivered", "invitations_open",
  "crip_start", "crip_end", "non_crip_interviews_from", "rol_opens", "registration_final",
  "match_application_last", "rol_deadline", "part2_pass_by", "part2_uploaded", "match_status_day",
  "mpii_applications_open", "mpii_application_deadline", "mpii_rol_opens", "mpii_rol_deadline", "match_day",
];
// days after the season start, in the calendar's order (a season playable in minutes locally)
const CALENDAR_OFFSETS_DAYS = {
  registration_opens: 0, registration_recommended_by: 10, score_release_deadline: 20, scores_uploaded: 21,
  application_deadline_default: 25, part1_pass_by: 26, applications_delivered: 27, invitations_open: 30,
  crip_start: 40, crip_end: 45, non_crip_interviews_from: 46, rol_opens: 47, registration_final: 50,
  match_application_last: 51, rol_deadline: 52, part2_pass_by: 53, part2_uploaded: 54, match_status_day: 55,
  mpii_applications_open: 55.01, mpii_application_deadline: 56, mpii_rol_opens: 56.01, mpii_rol_deadline: 57,
  match_day: 58,
};
const TIME_ZONES = [
  "America/Chicago", "America/New_York", "America/Denver", "America/Phoenix", "America/Los_Angeles",
  "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico", "UTC",
];
const DEFAULT_TZ = "America/Chicago"; // I6: Central unless the applicant changes it
const TEST_CARDS = [
  ["4242424242424242", "succeeds"],
  ["4000000000000002", "declined (402)"],
  ["4000000000000119", "bank unavailable, retry (503)"],
];
const FEE_CENTS = 55000;
const CREDIT_CENTS = 1500;

// ------------------------------------------------------------------ small helpers
/** h("div", {class: "x", onclick: fn}, child, "text") -> element; text is never parsed as HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function money(cents) {
  if (cents === undefined || cents === null) return "–";
  return (cents / 100).toLocaleString("en-US", { style: "currency", currency: "USD" });
}

function validZone(tz) {
  try { new Intl.DateTimeFormat("en-US", { timeZone: tz }); return true; } catch { return false; }
}

function when(instant, tz) {
  if (!instant) return "–";
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return String(instant);
  return new Intl.DateTimeFormat("en-US", {
    year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short",
    timeZone: validZone(tz) ? tz : DEFAULT_TZ,
  }).format(d);
}

function isoUtc(d) { return d.toISOString().replace(/\.\d{3}Z$/, "Z"); }

function newKey() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16)); // not a secure context: same randomness, by hand
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function listOf(data, ...keys) {
  if (Array.isArray(data)) return data;
  for (const k of ["items", ...keys]) if (data && Array.isArray(data[k])) return data[k];
  return [];
}

function formData(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else if (el.type === "number") out[el.name] = el.value === "" ? null : Number(el.value);
    else out[el.name] = el.value.trim();
  }
  return out;
}

function row(label, input, hint) {
  return h("div", { class: "row" }, h("label", { for: input.id || undefined }, label), input,
    hint ? h("div", { class: "muted" }, hint) : null);
}

function input(name, attrs = {}) {
  return h("input", { name, id: attrs.id || `f-${name}-${Math.random().toString(36).slice(2, 7)}`, ...attrs });
}

// ------------------------------------------------------------------ session
const session = {
  get token() { return sessionStorage.getItem("caspr.token"); },
  get email() { return sessionStorage.getItem("caspr.email"); },
  claims() {
    const t = this.token;
    if (!t) return null;
    try {
      const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part.padEnd(part.length + (4 - part.length % 4) % 4, "=")))));
    } catch { return null; }
  },
  get groups() { return (this.claims() || {})["cognito:groups"] || []; },
  get role() {
    const g = this.groups;
    for (const r of ["admin", "program", "college"]) if (g.includes(r)) return r;
    return this.token ? "applicant" : null;
  },
  get expired() {
    const c = this.claims();
    return !c || (c.exp && c.exp * 1000 < Date.now());
  },
  save(tokens, email) {
    sessionStorage.setItem("caspr.token", tokens.access_token);
    sessionStorage.setItem("caspr.email", email);
  },
  clear() {
    sessionStorage.removeItem("caspr.token");
    sessionStorage.removeItem("caspr.email");
  },
  rememberApplicant(id) {
    const ids = new Set(JSON.parse(sessionStorage.getItem("caspr.applicants") || "[]"));
    ids.add(id);
    sessionStorage.setItem("caspr.applicants", JSON.stringify([...ids]));
  },
  get applicantIds() { return JSON.parse(sessionStorage.getItem("caspr.applicants") || "[]"); },
};

// ------------------------------------------------------------------ the API
class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, { body, key, query } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (key) headers["Idempotency-Key"] = key;
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    if ([...q].length) url += `?${q}`;
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (exc) {
    throw new Problem(0, { title: "No answer", detail: `the server did not answer (${exc.message}); try again` });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text.slice(0, 300) }; }
  }
  if (!res.ok) {
    if (res.status === 401 && session.token) {
      session.clear();
      renderWho();
    }
    throw new Problem(res.status, data || { title: res.statusText });
  }
  return data;
}

// ------------------------------------------------------------------ notices and form errors
function notice(kind, title, detail, items) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
    h("strong", {}, title), detail ? h("span", {}, ` ${detail}`) : null,
    items && items.length ? h("ul", {}, items.map((i) => h("li", {}, i))) : null);
}

function problemNotice(err) {
  if (!(err instanceof Problem)) return notice("error", "Something went wrong.", String(err && err.message || err));
  const b = err.body;
  const title = b.title || (err.status ? `Error ${err.status}` : "Error");
  const items = (b.errors || []).map((e) => `${e.field}: ${e.message}`);
  const el = notice("error", `${title}.`, b.detail || "", items);
  el.dataset.testid = "problem";
  if (b.rule) el.firstChild.append(h("span", { class: "rule" }, `rule ${b.rule}`));
  if (err.status === 401) el.append(h("div", {}, h("a", { href: "#/signin" }, "Sign in again")));
  return el;
}

function clearFieldErrors(form) {
  form.querySelectorAll(".field-error").forEach((e) => e.remove());
  form.querySelectorAll(".field-invalid").forEach((e) => e.classList.remove("field-invalid"));
}

/** Marks the inputs a problem's field errors name (`tracks.0.positions` falls back to `tracks`). */
function markFields(form, err) {
  if (!(err instanceof Problem)) return;
  for (const e of err.body.errors || []) {
    const parts = String(e.field).split(".");
    let el = null;
    while (parts.length && !el) {
      el = form.querySelector(`[name="${CSS.escape(parts.join("."))}"]`);
      parts.pop();
    }
    if (!el) continue;
    const holder = el.closest(".row") || el.parentElement;
    holder.classList.add("field-invalid");
    holder.append(h("div", { class: "field-error" }, e.message));
  }
}

/** Wires a form: disables its button while `action` runs, shows problems in `out`. */
function onSubmit(form, out, action) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    out.replaceChildren();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await action(formData(form), ev.submitter);
    } catch (err) {
      out.replaceChildren(problemNotice(err));
      markFields(form, err);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return form;
}

function flash(kind, title, detail) {
  const el = document.getElementById("flash");
  el.replaceChildren(notice(kind, title, detail));
}

/** Navigates, and shows the notice on the page arrived at. */
let pendingFlash = null;
function go(hash, ...flashArgs) {
  pendingFlash = flashArgs.length ? flashArgs : null;
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ------------------------------------------------------------------ header
function renderWho() {
  const who = document.getElementById("who");
  const out = document.getElementById("sign-out");
  // the navigation shows only what the role may use (links without data-roles: everyone)
  document.querySelectorAll("nav [data-roles]").forEach((a) => {
    a.classList.toggle("hidden", !a.dataset.roles.split(" ").includes(session.role));
  });
  if (session.token) {
    who.textContent = `${session.email || "signed in"} (${session.role})`;
    out.classList.remove("hidden");
  } else {
    who.replaceChildren(h("a", { href: "#/signin", style: "color:inherit" }, "Sign in"));
    out.classList.add("hidden");
  }
}

// ------------------------------------------------------------------ view: sign in / sign up
const HOMES = { applicant: "#/home", program: "#/review", college: "#/college", admin: "#/admin" };
function homeFor(role) {
  return HOMES[role] || "#/directory";
}

/** Who may use each signed-in page (a module adding a page adds its entry; absent: everyone). */
const PAGE_ROLES = {
  home: ["applicant"], applicant: ["applicant"], scores: ["applicant"], application: ["applicant"],
  interviews: ["applicant"], review: ["program", "admin"], scheduling: ["program", "admin"],
  college: ["college", "admin"], admin: ["admin"], "scores-admin": ["admin"],
  "rank-list": ["applicant"], "program-lists": ["program"],
  results: ["applicant"], "program-results": ["program"], "post-match": ["applicant", "program", "college", "admin"],
  "match-admin": ["admin"],
};
const ROLE_NAMES = { applicant: "applicants", program: "programs", college: "colleges", admin: "administrators" };
const A_ROLE = { applicant: "an applicant", program: "a program", college: "a college", admin: "an administrator" };

/** The API's own words, folded away: shown only when asked for. */
function problemDetail(err) {
  if (!(err instanceof Problem)) return null;
  const b = err.body || {};
  const text = [b.title, b.detail].filter(Boolean).join(": ") || `HTTP ${err.status}`;
  return h("details", { class: "muted", "data-testid": "problem-detail" }, h("summary", {}, "Details"),
    `${err.status ? `${err.status} ` : ""}${text}`);
}

/** A page of another role, in plain words: whom it is for and where to go instead. */
function forbidden(roles, err) {
  const names = roles.map((r) => ROLE_NAMES[r] || r);
  const forWhom = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}` : names[0];
  return h("div", { "data-testid": "forbidden" },
    notice("warn", `This page is for ${forWhom}.`,
      `You are signed in as ${A_ROLE[session.role] || session.role}: your pages are in the menu above.`),
    h("p", {}, h("a", { href: homeFor(session.role) }, "Go to my home page")), problemDetail(err));
}

async function signIn(email, password) {
  const tokens = await api("POST", "/auth/token", { body: { email, password } });
  session.save(tokens, email);
  renderWho();
}

function viewSignIn() {
  const out1 = h("div");
  const signin = h("form", { id: "signin-form", "data-testid": "signin-form" },
    row("Email", input("email", { type: "email", autocomplete: "username", required: true })),
    row("Password", input("password", { type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Sign in"));
  onSubmit(signin, out1, async (d) => {
    await signIn(d.email, d.password);
    go(homeFor(session.role));
  });

  const out2 = h("div");
  const signup = h("form", { id: "signup-form", "data-testid": "signup-form" },
    row("Email", input("email", { type: "email", autocomplete: "email", required: true })),
    row("Password", input("password", { type: "password", autocomplete: "new-password", required: true }),
      "At least 8 characters, with a digit."),
    h("button", { type: "submit" }, "Create applicant account"));
  onSubmit(signup, out2, async (d) => {
    await api("POST", "/auth/accounts", { body: { email: d.email, password: d.password } });
    await signIn(d.email, d.password);
    go("#/applicant", "ok", "Account created.",
      "We emailed you a link to confirm your address: open it, then register for a season below.");
  });

  return h("div", {},
    h("h1", {}, "Welcome to CASPR"),
    h("p", { class: "muted" }, "The podiatric residency application, interview scheduling and Match service."),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Sign in"), out1, signin),
      h("section", { class: "card" }, h("h2", {}, "New applicant? Create an account"), out2, signup,
        h("p", { class: "muted" }, "Program, college and administrator accounts are created by an administrator."))));
}

// ------------------------------------------------------------------ view: applicant
async function loadRegistrations() {
  const found = new Map();
  let listError = null;
  try {
    const data = await api("GET", "/registration/applicants");
    for (const a of listOf(data, "applicants")) found.set(a.applicant_id, a);
  } catch (err) {
    listError = err;
  }
  for (const id of session.applicantIds) {
    if (found.has(id)) continue;
    try { found.set(id, await api("GET", `/registration/applicants/${encodeURIComponent(id)}`)); } catch { /* gone */ }
  }
  return { registrations: [...found.values()], listError };
}

function testCardHint() {
  return h("div", { class: "test-cards" }, "Test cards: ",
    TEST_CARDS.map(([n, what], i) => [i ? "; " : "", h("code", {}, n), ` ${what}`]));
}

function cardInput() {
  return input("card_number", { inputmode: "numeric", autocomplete: "off", value: "4242424242424242",
    required: true, "data-testid": "card-number" });
}

function registrationCard(a, refresh) {
  const tz = a.timezone || DEFAULT_TZ;
  const out = h("div");
  const facts = h("div", { class: "facts" },
    fact("Status", h("span", { class: `badge ${a.status}`, "data-testid": "status" }, a.status)),
    fact("Code number", h("span", { class: "code-number", "data-testid": "code-number" }, a.code_number || "–")),
    fact("Credits", h("span", { "data-testid": "credits" },
      `${a.credits_total ?? 0} total · ${a.credits_used ?? 0} used`)),
    fact("Amount due", money(a.amount_due_cents)),
    fact("Time zone", h("span", { "data-testid": "timezone" }, tz)));

  const parts = [
    h("h2", {}, `Season ${a.season}`,
      h("span", { class: "muted" }, ` · ${a.first_name || ""} ${a.last_name || ""} · ${a.cms_id || ""}`)),
    facts, out,
  ];
  for (const w of a.warnings || []) parts.push(notice("warn", "Note:", w));
  if (a.registered_at) parts.push(h("p", { class: "muted" }, `Registered ${when(a.registered_at, tz)}.`));

  if (a.status === "pending_payment") {
    // one key per payment intent: reused when the bank was unavailable (retry is safe), new after an answer
    let key = newKey();
    const due = a.amount_due_cents ?? FEE_CENTS;
    const pay = h("form", { "data-testid": "pay-form" },
      h("h3", {}, `Pay the registration fee: ${money(due)}`),
      h("p", { class: "muted" }, "$300 applicant fee (12 application credits, the Match and MPII) + " +
        "$250 interview scheduling fee, refunded if you schedule no interview through CASPR (R2)."),
      h("div", { class: "inline" }, row("Card number", cardInput()),
        h("div", { class: "row action" }, h("button", { type: "submit" }, `Pay ${money(due)}`))),
      testCardHint());
    onSubmit(pay, out, async (d) => {
      try {
        const r = await api("POST", `/registration/applicants/${encodeURIComponent(a.applicant_id)}/payments`,
          { body: { amount_cents: due, card_number: d.card_number }, key });
        key = newKey();
        flash("ok", "Payment received.", `Your code number is ${r.code_number}; a confirmation email is on its way.`);
        await refresh();
      } catch (err) {
        if (err.status !== 503 && err.status !== 0) key = newKey();
        throw err;
      }
    });
    parts.push(pay);
  }

  if (a.status === "registered") {
    let key = newKey();
    const qty = input("quantity", { type: "number", min: 1, max: 100, value: 1, required: true });
    const price = h("span", { class: "muted" }, ` = ${money(CREDIT_CENTS)}`);
    qty.addEventListener("input", () => { price.textContent = ` = ${money(CREDIT_CENTS * (Number(qty.value) || 0))}`; });
    const buy = h("form", { "data-testid": "credits-form" },
      h("h3", {}, "Buy more application credits ($15 each, non-refundable, R4)"),
      h("div", { class: "inline" }, row("Quantity", qty), row("Card number", cardInput()),
        h("div", { class: "row action" }, h("button", { type: "submit" }, "Buy credits"))),
      price, testCardHint());
    onSubmit(buy, out, async (d) => {
      try {
        const r = await api("POST", `/registration/applicants/${encodeURIComponent(a.applicant_id)}/credits`,
          { body: { quantity: d.quantity, card_number: d.card_number }, key });
        key = newKey();
        flash("ok", "Credits bought.", `${money(r.charged_cents)} charged; you now have ${r.credits_total} credits.`);
        await refresh();
      } catch (err) {
        if (err.status !== 503 && err.status !== 0) key = newKey();
        throw err;
      }
    });
    parts.push(buy);
  }

  const zones = h("datalist", { id: `zones-${a.applicant_id}` },
    (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : TIME_ZONES).map((z) => h("option", { value: z })));
  const tzForm = h("form", { "data-testid": "timezone-form" },
    h("h3", {}, "Time zone"),
    h("p", { class: "muted" }, "Interview times are shown in this time zone (I6)."),
    h("div", { class: "inline" },
      row("Time zone", input("timezone", { list: zones.id, value: tz, required: true })),
      h("div", { class: "row action" }, h("button", { type: "submit", class: "secondary" }, "Save time zone"))),
    zones);
  onSubmit(tzForm, out, async (d) => {
    await api("PATCH", `/registration/applicants/${encodeURIComponent(a.applicant_id)}`, { body: { timezone: d.timezone } });
    flash("ok", "Time zone saved.", d.timezone);
    await refresh();
  });
  parts.push(tzForm);

  return h("section", { class: "card registration", "data-testid": "registration",
    "data-applicant-id": a.applicant_id, "data-season": a.season }, parts);
}

function fact(label, value) {
  return h("div", { class: "fact" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

async function viewApplicant() {
  if (!session.token) return needSignIn();
  const root = h("div", {}, h("h1", {}, "My registration"));
  const list = h("div", { id: "registrations" }, h("p", { class: "muted" }, "Loading your registrations…"));

  const out = h("div");
  const email = input("email", { type: "email", value: session.email || "", required: true });
  const form = h("form", { id: "register-form", "data-testid": "register-form" },
    h("h2", {}, "Register for a season"),
    h("p", { class: "muted" }, "One registration per person per season (R5). Fee $550 (R2)."),
    h("div", { class: "inline" },
      row("Season", input("season", { required: true, pattern: "\\d{4}", placeholder: "2024", inputmode: "numeric" })),
      row("First name", input("first_name", { required: true, autocomplete: "given-name" })),
      row("Last name", input("last_name", { required: true, autocomplete: "family-name" }))),
    h("div", { class: "inline" },
      row("Email", email),
      row("Prometric CMS ID", input("cms_id", { required: true, placeholder: "PRO-2T8P48F5H" }),
        "Three letters, a dash, nine letters or digits (R1).")),
    h("div", { class: "inline" },
      row("College", input("college", { required: true, placeholder: "TUSPM" })),
      row("Graduation year", input("graduation_year", { type: "number", min: 1950, max: 2100, required: true }))),
    h("button", { type: "submit" }, "Register"));
  onSubmit(form, out, async (d) => {
    const r = await api("POST", "/registration/applicants", { body: d });
    session.rememberApplicant(r.applicant_id);
    form.reset();
    email.value = session.email || "";
    flash((r.warnings || []).length ? "warn" : "ok", "Registered.",
      `Pay ${money(r.amount_due_cents)} to complete your registration.` +
      ((r.warnings || []).length ? ` ${r.warnings.join(" ")}` : ""));
    await refresh();
  });

  async function refresh() {
    const { registrations, listError } = await loadRegistrations();
    const cards = registrations
      .sort((x, y) => String(y.season).localeCompare(String(x.season)))
      .map((a) => registrationCard(a, refresh));
    list.replaceChildren(...cards);
    if (!cards.length) {
      list.append(listError ? problemNotice(listError) : h("p", { class: "muted", "data-testid": "no-registrations" },
        "You have not registered for a season yet."));
    }
  }

  // the sign-up's confirmation link expired or went astray: a new one, to the account's own address
  const resend = h("button", { type: "button", class: "secondary", "data-testid": "resend-confirmation" },
    "Email me a new confirmation link");
  resend.addEventListener("click", async () => {
    resend.disabled = true;
    try {
      const r = await api("POST", "/auth/verification/resend");
      out.replaceChildren(notice("ok", "A new confirmation link is on its way.", `Sent to ${r.email}: open it, then register.`));
    } catch (err) {
      out.replaceChildren(problemNotice(err));
    } finally {
      resend.disabled = false;
    }
  });
  const confirmHelp = h("p", { class: "muted" }, "Registering needs a confirmed email address (R1). ", resend);

  root.append(list, h("section", { class: "card" }, out, form, confirmHelp));
  refresh();
  return root;
}

function needSignIn(err) {
  return h("div", { "data-testid": "need-sign-in" },
    notice("warn", "Please sign in.", "This page needs an account: sign in, then come back to it."),
    h("p", {}, h("a", { href: "#/signin" }, "Sign in or create an applicant account")), problemDetail(err));
}

// ------------------------------------------------------------------ view: program directory
function yesNo(v) { return h("span", { class: `badge ${v ? "yes" : ""}` }, v ? "yes" : "no"); }

function programRow(p, extra) {
  const deadline = p.effective_application_deadline || p.application_deadline;
  return h("tr", { "data-testid": "program-row", "data-program-code": p.program_code },
    h("td", { class: "code-number" }, p.program_code),
    h("td", {}, h("strong", {}, p.name), p.requirements ? h("div", { class: "muted" }, p.requirements) : null),
    h("td", {}, `${p.city || ""}, ${p.state || ""}`),
    h("td", {}, yesNo(p.coth)),
    h("td", {}, yesNo(p.crip), p.crip && p.crip_section ? ` §${p.crip_section}` : ""),
    h("td", {}, deadline ? when(deadline, DEFAULT_TZ) : "season default"),
    h("td", {}, (p.tracks || []).map((t) => h("div", { "data-testid": "track", "data-track-code": t.track_code },
      h("span", { class: "code-number" }, t.track_code),
      ` ${t.name} · ${t.positions} position${t.positions === 1 ? "" : "s"}`,
      t.withdrawn ? h("span", { class: "badge", "data-testid": "track-withdrawn",
                                title: t.withdrawal_reason || "withdrawn (M3)" }, " withdrawn") : null))),
    extra ? h("td", {}, extra) : null);
}

function programTable(programs, extraFor) {
  return h("table", { "data-testid": "programs" },
    h("thead", {}, h("tr", {}, ["Code", "Program", "City", "COTH", "CRIP", "Application deadline", "Tracks"]
      .concat(extraFor ? [""] : []).map((t) => h("th", {}, t)))),
    h("tbody", {}, programs.map((p) => programRow(p, extraFor && extraFor(p)))));
}

function triSelect(name, label) {
  return row(label, h("select", { name, id: `f-${name}` },
    h("option", { value: "" }, "any"), h("option", { value: "true" }, "yes"), h("option", { value: "false" }, "no")));
}

function viewDirectory() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const out = h("div");
  const results = h("div", { id: "directory-results" });
  const form = h("form", { id: "directory-form", "data-testid": "directory-form" },
    h("div", { class: "inline" },
      row("Search", input("q", { placeholder: "name, city or code", value: params.get("q") || "" })),
      row("Season", input("season", { placeholder: "latest", inputmode: "numeric", value: params.get("season") || "" })),
      row("State", input("state", { placeholder: "e.g. TX", maxlength: 50, value: params.get("state") || "" })),
      triSelect("coth", "COTH member"), triSelect("crip", "At CRIP"),
      h("div", { class: "row action" }, h("button", { type: "submit" }, "Search"))));
  for (const k of ["coth", "crip"]) if (params.get(k)) form.elements[k].value = params.get(k);

  async function search(d) {
    const data = await api("GET", "/registration/programs", { query: d });
    const programs = listOf(data, "programs");
    results.replaceChildren(
      h("p", { class: "muted", "data-testid": "program-count" },
        `${programs.length} program${programs.length === 1 ? "" : "s"}` + (data && data.season ? ` · season ${data.season}` : "")),
      programs.length ? programTable(programs) : h("p", {}, "No program matches these filters."));
  }
  onSubmit(form, out, search);
  search(formData(form)).catch((err) => out.replaceChildren(problemNotice(err)));
  return h("div", {}, h("h1", {}, "Program directory"),
    h("p", { class: "muted" }, "Participating programs, their tracks, requirements and deadlines (R8)."),
    h("section", { class: "card" }, out, form), h("section", { class: "card" }, results));
}

// ------------------------------------------------------------------ view: administration
async function viewAdmin() {
  if (!session.token) return needSignIn();
  if (session.role !== "admin") {
    return notice("warn", "Administrators only.", `You are signed in as ${session.role}.`);
  }
  return h("div", {}, h("h1", {}, "Administration"), clockCard(), calendarCard(), programsCard(), accountsCard());
}

function clockCard() {
  const out = h("div");
  const now = h("span", { class: "value", "data-testid": "clock-now" }, "…");
  const nowEt = h("div", { class: "muted" });
  let current = null;
  async function load() {
    const c = await api("GET", "/_local/clock");
    current = new Date(c.now);
    now.textContent = c.now;
    nowEt.textContent = `${when(c.now, "America/New_York")} · ${when(c.now, "America/Chicago")}`;
    return c;
  }
  const target = input("now", { placeholder: "2023-09-14T00:00:00-04:00", "data-testid": "clock-input" });
  const form = h("form", { "data-testid": "clock-form" },
    h("div", { class: "inline" },
      row("Move the clock to", target, "ISO 8601 with an offset. The clock only moves forward; due schedules fire."),
      h("div", { class: "row action" }, h("button", { type: "submit", name: "go", value: "set" }, "Set"))),
    h("div", { class: "inline" },
      [["+1 hour", 3600e3], ["+1 day", 86400e3], ["+7 days", 7 * 86400e3]].map(([label, ms]) =>
        h("button", { type: "submit", class: "secondary", name: "go", value: String(ms) }, label))));
  onSubmit(form, out, async (d, submitter) => {
    let value = d.now;
    if (submitter && submitter.value !== "set") {
      if (!current) await load();
      value = isoUtc(new Date(current.getTime() + Number(submitter.value)));
    }
    const r = await api("POST", "/_local/clock", { body: { now: value } });
    const fired = r.fired;
    out.replaceChildren(notice("ok", "Clock moved.",
      `It is now ${r.now}.` + (Array.isArray(fired) ? ` ${fired.length} scheduled instant(s) fired.` :
        fired !== undefined ? ` Fired: ${fired}.` : "")));
    await load();
  });
  load().catch((err) => out.replaceChildren(problemNotice(err)));
  return h("section", { class: "card", "data-testid": "clock-card" }, h("h2", {}, "Local clock"),
    h("div", { class: "fact" }, h("div", { class: "label" }, "Now (UTC)"), now, nowEt), h("p"), out, form,
    h("p", { class: "muted" }, "Local stack only: on AWS the calendar's schedules fire at real time."));
}

function calendarCard() {
  const out = h("div");
  const season = input("season", { placeholder: "2024", inputmode: "numeric", required: true,
    "data-testid": "calendar-season" });
  const grid = h("div", { class: "calendar-grid" },
    CALENDAR_KEYS.map((k) => row(k, input(k, { "data-key": k }))));
  const form = h("form", { "data-testid": "calendar-form" },
    h("div", { class: "inline" }, row("Season", season),
      h("div", { class: "row action" }, h("button", { type: "button", class: "secondary", onclick: () => loadSeason() }, "Load")),
      h("div", { class: "row action" }, h("button", { type: "button", class: "secondary", onclick: () => fillFromClock() },
        "Fill: opens now, a day per key"))),
    grid, h("button", { type: "submit" }, "Save calendar"));

  async function loadSeason(quiet) {
    out.replaceChildren();
    clearFieldErrors(form);
    try {
      const data = await api("GET", `/registration/seasons/${encodeURIComponent(season.value.trim())}`);
      const cal = (data && data.calendar) || data || {};
      for (const k of CALENDAR_KEYS) form.elements[k].value = cal[k] || "";
      form.dataset.loaded = season.value.trim();
      out.replaceChildren(notice("ok", `Season ${season.value.trim()} ${quiet ? "(the latest) is shown" : "loaded"}.`));
    } catch (err) {
      out.replaceChildren(problemNotice(err));
    }
  }
  // on opening: the latest season's calendar as stored (the directory's default season)
  (async () => {
    let latest = null;
    try { latest = (await api("GET", "/registration/programs")).season; } catch { latest = null; }
    if (!latest || season.value.trim()) {
      if (!latest) out.replaceChildren(notice("warn", "No season yet.", "Type a season and its calendar, then save it."));
      return;
    }
    season.value = latest;
    await loadSeason(true);
  })();
  async function fillFromClock() {
    const c = await api("GET", "/_local/clock");
    const start = new Date(c.now).getTime() - 60e3;
    for (const k of CALENDAR_KEYS) {
      form.elements[k].value = isoUtc(new Date(start + CALENDAR_OFFSETS_DAYS[k] * 86400e3));
    }
  }
  onSubmit(form, out, async (d) => {
    const body = {};
    for (const k of CALENDAR_KEYS) body[k] = d[k];
    const r = await api("PUT", `/registration/seasons/${encodeURIComponent(d.season)}`, { body });
    const n = r && Array.isArray(r.schedules) ? ` ${r.schedules.length} schedule(s) set.` : "";
    out.replaceChildren(notice("ok", `Season ${d.season} saved.`, `Every instant fires on schedule.${n}`));
  });
  return h("section", { class: "card", "data-testid": "calendar-card" }, h("h2", {}, "Season calendar"),
    h("p", { class: "muted" }, "Every instant is data, stored in UTC: ISO 8601 with an offset, " +
      "e.g. 2024-02-15T23:59:00-05:00."), out, form);
}

function parseTracks(text) {
  // one track per line: "1011, PMSR/RRA, 3"
  return text.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
    const parts = line.split(",").map((p) => p.trim());
    const positions = Number(parts[parts.length - 1]);
    return { track_code: parts[0], name: parts.slice(1, -1).join(", ") || "PMSR/RRA",
      positions: Number.isFinite(positions) ? positions : parts[parts.length - 1] };
  });
}

function programsCard() {
  const out = h("div");
  const list = h("div");
  let editing = null;
  const title = h("h3", {}, "Register a program");
  const submit = h("button", { type: "submit" }, "Register program");
  const form = h("form", { "data-testid": "program-form" },
    h("div", { class: "inline" },
      row("Season", input("season", { required: true, inputmode: "numeric", placeholder: "2024" })),
      row("Program code", input("program_code", { required: true, placeholder: "101", inputmode: "numeric" })),
      row("Name", input("name", { required: true }))),
    h("div", { class: "inline" },
      row("City", input("city", { required: true })), row("State", input("state", { required: true, placeholder: "IL" })),
      row("Own application deadline", input("application_deadline", { placeholder: "optional, ISO 8601" }))),
    h("div", { class: "inline" },
      h("div", { class: "row check" }, input("coth", { type: "checkbox" }), h("label", {}, "COTH member")),
      h("div", { class: "row check" }, input("crip", { type: "checkbox" }), h("label", {}, "At CRIP")),
      row("CRIP section", input("crip_section", { placeholder: "A" })),
      row("Contact email", input("contact_email", { type: "email" }))),
    row("Requirements", h("textarea", { name: "requirements", id: "f-requirements" })),
    row("Tracks", h("textarea", { name: "tracks", id: "f-tracks", placeholder: "1011, PMSR/RRA, 3" }),
      "One per line: track code (program code + a digit), name, positions."),
    h("div", { class: "inline" }, submit,
      h("button", { type: "button", class: "secondary", onclick: () => startNew() }, "New program")));

  function startNew() {
    editing = null;
    form.reset();
    form.elements.season.disabled = false;
    form.elements.program_code.disabled = false;
    title.textContent = "Register a program";
    submit.textContent = "Register program";
  }
  function startEdit(p) {
    editing = p;
    for (const k of ["season", "program_code", "name", "city", "state", "crip_section", "requirements",
      "application_deadline"]) form.elements[k].value = p[k] || "";
    form.elements.coth.checked = !!p.coth;
    form.elements.crip.checked = !!p.crip;
    form.elements.contact_email.value = (p.contact && p.contact.email) || "";
    form.elements.tracks.value = (p.tracks || []).map((t) => `${t.track_code}, ${t.name}, ${t.positions}`).join("\n");
    form.elements.season.disabled = true;
    form.elements.program_code.disabled = true;
    title.textContent = `Edit program ${p.program_code} (season ${p.season})`;
    submit.textContent = "Save changes";
    form.scrollIntoView({ behavior: "smooth" });
  }
  async function refresh(season) {
    const data = await api("GET", "/registration/programs", { query: { season } });
    const programs = listOf(data, "programs");
    list.replaceChildren(h("p", { class: "muted" }, `${programs.length} program(s)` +
      (data && data.season ? ` in season ${data.season}` : "")),
      programTable(programs, (p) => h("button", { type: "button", class: "secondary", onclick: () => startEdit(p) }, "Edit")));
  }
  onSubmit(form, out, async (d) => {
    const body = {
      name: d.name, city: d.city, state: d.state, coth: d.coth, crip: d.crip,
      crip_section: d.crip_section || null, requirements: d.requirements || null,
      application_deadline: d.application_deadline || null,
      contact: d.contact_email ? { email: d.contact_email } : {},
      tracks: parseTracks(d.tracks || ""),
    };
    let p;
    if (editing) {
      p = await api("PATCH", `/registration/programs/${encodeURIComponent(editing.program_code)}`,
        { body, query: { season: editing.season } });
      out.replaceChildren(notice("ok", `Program ${editing.program_code} saved.`));
    } else {
      p = await api("POST", "/registration/programs", { body: { season: d.season, program_code: d.program_code, ...body } });
      out.replaceChildren(notice("ok", `Program ${d.program_code} registered.`));
    }
    const season = (p && p.season) || d.season || (editing && editing.season);
    startNew();  // reset now: what is typed while the list refreshes belongs to the next program
    await refresh(season);
  });
  refresh().catch((err) => list.replaceChildren(problemNotice(err)));
  return h("section", { class: "card", "data-testid": "programs-card" }, h("h2", {}, "Programs"),
    list, title, out, form);
}

function accountsCard() {
  const out = h("div");
  const form = h("form", { "data-testid": "account-form" },
    h("div", { class: "inline" },
      row("Email", input("email", { type: "email", required: true })),
      row("Password", input("password", { required: true, autocomplete: "off" })),
      row("Role", h("select", { name: "role", id: "f-role" },
        ["program", "college", "admin", "applicant"].map((r) => h("option", { value: r }, r)))),
      row("Program code", input("program_code", { placeholder: "with role program" })),
      row("College", input("college", { placeholder: "with role college" }))),
    h("button", { type: "submit" }, "Create account"));
  onSubmit(form, out, async (d) => {
    const body = { email: d.email, password: d.password, role: d.role };
    if (d.program_code) body.program_code = d.program_code;
    if (d.college) body.college = d.college;
    const r = await api("POST", "/auth/accounts", { body });
    out.replaceChildren(notice("ok", "Account created.", `${r.email} (${r.role}).`));
    form.reset();
  });
  return h("section", { class: "card" }, h("h2", {}, "Accounts"),
    h("p", { class: "muted" }, "Program, college and administrator accounts."), out, form);
}

// ------------------------------------------------------------------ router
const ROUTES = {
  "": () => (session.token ? (go(homeFor(session.role)), null) : viewSignIn()),
  signin: viewSignIn,
  applicant: viewApplicant,
  directory: viewDirectory,
  admin: viewAdmin,
};

let routed = 0; // a view still loading when the user moved on never replaces the newer one
async function route() {
  const mine = ++routed;
  const flashEl = document.getElementById("flash");
  if (pendingFlash) flash(...pendingFlash);
  else flashEl.replaceChildren();
  pendingFlash = null;
  if (session.token && session.expired) {
    session.clear();
    flash("warn", "Your session has expired.", "Please sign in again.");
  }
  renderWho();
  const name = location.hash.replace(/^#\/?/, "").split("?")[0];
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === name));
  const view = document.getElementById("view");
  const roles = PAGE_ROLES[name];
  let render = ROUTES[name] || (() => notice("warn", "Not found.", `There is no page ${location.hash}.`));
  if (roles && ROUTES[name] && !session.token) render = () => needSignIn();
  else if (roles && ROUTES[name] && !roles.includes(session.role)) render = () => forbidden(roles);
  try {
    const el = await render();
    if (el && mine === routed) view.replaceChildren(el);
  } catch (err) {
    if (mine !== routed) return;
    if (err instanceof Problem && err.status === 401) view.replaceChildren(needSignIn(err));
    else if (err instanceof Problem && err.status === 403 && roles) view.replaceChildren(forbidden(roles, err));
    else view.replaceChildren(problemNotice(err));
  }
}

document.getElementById("sign-out").addEventListener("click", () => {
  session.clear();
  sessionStorage.removeItem("caspr.applicants");
  go("#/signin", "ok", "Signed out.");
});
window.addEventListener("hashchange", route);
route();
