/* CASPR rank order lists in the browser (issue 12: M1, M3, M7), an ES module on top of app.js (its helpers
 * h, api, session, notice, problemNotice, when, listOf, needSignIn, DEFAULT_TZ and its ROUTES are globals).
 * View: #/rank-list — the applicant's list of the Match (and of MPII when it takes part: a round switch):
 * add tracks found in the season's directory, reorder by drag and drop or by keyboard (Alt+ArrowUp /
 * Alt+ArrowDown on a focused row, or its buttons; the new position is announced), remove, save, certify.
 * The page says whether the list is certified and when it locks (in the applicant's time zone), that any
 * edit uncertifies it, and once locked shows it read-only.
 * The program's page (#/program-lists) is web/rol-program.js; it uses the pieces exported here. */

import { serverNow } from "/interviews.js";

export const ROUND_LABEL = { match: "Match", mpii: "MPII" };

export function roundPath(season, rnd) {
  return `/match/seasons/${encodeURIComponent(season)}${rnd === "mpii" ? "/mpii" : ""}`;
}

/** A refusal of the match API in plain words, with its problem (title, detail, rule) underneath. */
export function rolRefusal(err) {
  const b = (err && err.body) || {};
  const detail = String(b.detail || "");
  let words = "That did not work.";
  if ((b.rule === "M1" || b.rule === "M7") && /locked/.test(detail)) {
    words = "Too late: the lists of this round are locked, so this list can no longer be changed or certified.";
  } else if ((b.rule === "M1" || b.rule === "M7") && /\bopen at\b/.test(detail)) {
    words = "Too early: rank order lists of this round are not open yet.";
  } else if (b.rule === "M7" && /applicant applied to in MPII/.test(detail)) {
    words = "In MPII you may rank only tracks of programs you sent an MPII application to. The list was not saved.";
  } else if (b.rule === "M7" && /who applied to program/.test(detail)) {
    words = "In MPII a program may rank only applicants who sent it an MPII application. The list was not saved.";
  } else if (b.rule === "M7") {
    words = "MPII lists may rank only MPII participants (applicants unmatched in the Match, tracks with unfilled " +
      "positions). The list was not saved.";
  } else if (b.rule === "M3") {
    words = "Withdrawn from the Match: this list can no longer be changed.";
  } else if (b.rule === "M1" && /empty/.test(detail)) {
    words = "An empty list cannot be certified: add at least one entry and save it first.";
  } else if (err && err.status === 409) {
    words = "The list changed elsewhere since this page read it: reload the page, check it and try again.";
  } else if (err && err.status === 404) {
    words = "Not found: the Match does not know it (yet).";
  } else if (err && err.status === 403) {
    words = "You are not allowed to do this.";
  } else if (err && err.status === 422) {
    words = "Some entries were refused; nothing was saved.";
  }
  return h("div", { class: "refusal", "data-testid": "refusal" },
    h("p", { class: "plain", "data-testid": "refusal-words" }, words), problemNotice(err));
}

/** Before another list replaces the one shown: false when it has unsaved changes the user wants to keep. */
export function mayLeave(holder) {
  const card = holder.querySelector("[data-testid=rol-card][data-dirty=yes]");
  return !card || window.confirm("This list has changes that are not saved. Leave it and lose them?");
}

/** Whether a list can be changed now: [editable, reason shown when not]. */
export function listWindow(rol, now, tz) {
  const opens = rol.opens_at ? new Date(rol.opens_at).getTime() : null;
  const locks = rol.locks_at ? new Date(rol.locks_at).getTime() : null;
  if (rol.locked || (locks !== null && now >= locks)) {
    return [false, "locked", `This list is locked since ${when(rol.locks_at, tz)}: it can no longer be changed or ` +
      `certified. ${rol.certified ? "It is certified, so it counts in the run." : "It was not certified, so it does " +
        "not count in the run."}`];
  }
  if (opens !== null && now < opens) {
    return [false, "not-open", `Rank order lists of this round open on ${when(rol.opens_at, tz)}; until then this ` +
      "list can be prepared only from that date."];
  }
  if (rol.withdrawn) return [false, "withdrawn", "You are withdrawn from the Match: your list can no longer change."];
  return [true, "open", ""];
}

/**
 * The editable list: rows in rank order, reordered by drag and drop or by keyboard.
 * items: [{key, title, sub, withdrawn}]; returns {el, items(), add(item), has(key), setEditable(bool)}.
 * onChange() is called after every change made here.
 */
export function rankEditor(initial, { editable, onChange, noun = "entry" }) {
  let items = initial.slice();
  let canEdit = editable;
  let dragFrom = null;
  const live = h("div", { class: "sr-only", "aria-live": "assertive", "data-testid": "rol-announce" });
  const list = h("ol", { class: "rol-list", "data-testid": "rol-list" });
  const empty = h("p", { class: "muted", "data-testid": "rol-empty" }, `No ${noun} on the list yet.`);
  const howto = h("p", { class: "muted", "data-testid": "rol-howto" }, "Drag a row to move it, or focus a row and " +
    "press Alt+Arrow Up / Alt+Arrow Down (or its ▲ ▼ buttons).");
  const el = h("div", { class: "rol-editor" }, howto, list, empty, live);

  function announce(text) { live.textContent = text; }
  function changed() { render(); if (onChange) onChange(); }
  function move(from, to, focus) {
    if (to < 0 || to >= items.length || from === to) return;
    const [it] = items.splice(from, 1);
    items.splice(to, 0, it);
    changed();
    announce(`${it.title} moved to position ${to + 1} of ${items.length}.`);
    if (focus) list.children[to].focus();
  }
  function remove(i) {
    const [it] = items.splice(i, 1);
    changed();
    announce(`${it.title} removed; ${items.length} left.`);
    const next = list.children[Math.min(i, items.length - 1)];
    if (next) next.focus();
  }

  function render() {
    empty.classList.toggle("hidden", items.length > 0);
    howto.classList.toggle("hidden", !canEdit);
    list.replaceChildren(...items.map((it, i) => {
      const li = h("li", { class: `rol-row${it.withdrawn ? " withdrawn" : ""}`, "data-testid": "rol-row",
        "data-key": it.key, tabindex: 0, draggable: canEdit ? "true" : "false",
        "aria-label": `${i + 1}. ${it.title}` },
        h("span", { class: "rol-rank", "data-testid": "rol-rank" }, String(i + 1)),
        h("span", { class: "rol-what" }, h("strong", {}, it.title), it.sub ? h("span", { class: "muted" }, ` ${it.sub}`) : null,
          it.withdrawn ? h("span", { class: "badge withdrawn" }, "withdrawn (skipped by the run, M3)") : null),
        canEdit ? h("span", { class: "rol-actions" },
          h("button", { type: "button", class: "secondary", "data-testid": "move-up", "aria-label": `Move ${it.title} up`,
            disabled: i === 0 || undefined, onclick: () => move(i, i - 1, true) }, "▲"),
          h("button", { type: "button", class: "secondary", "data-testid": "move-down",
            "aria-label": `Move ${it.title} down`, disabled: i === items.length - 1 || undefined,
            onclick: () => move(i, i + 1, true) }, "▼"),
          h("button", { type: "button", class: "secondary", "data-testid": "remove", "aria-label": `Remove ${it.title}`,
            onclick: () => remove(i) }, "Remove")) : null);
      if (canEdit) {
        li.addEventListener("keydown", (ev) => {
          if (ev.target !== li || !ev.altKey) return;
          if (ev.key === "ArrowUp") { ev.preventDefault(); move(i, i - 1, true); }
          if (ev.key === "ArrowDown") { ev.preventDefault(); move(i, i + 1, true); }
        });
        li.addEventListener("dragstart", (ev) => {
          dragFrom = i;
          ev.dataTransfer.effectAllowed = "move";
          ev.dataTransfer.setData("text/plain", it.key);
          li.classList.add("dragging");
        });
        li.addEventListener("dragend", () => { dragFrom = null; li.classList.remove("dragging"); });
        li.addEventListener("dragover", (ev) => { if (dragFrom !== null) { ev.preventDefault(); li.classList.add("drop"); } });
        li.addEventListener("dragleave", () => li.classList.remove("drop"));
        li.addEventListener("drop", (ev) => {
          ev.preventDefault();
          li.classList.remove("drop");
          const from = dragFrom;
          dragFrom = null;
          if (from !== null) move(from, i, false);
        });
      }
      return li;
    }));
  }
  render();
  return {
    el,
    items: () => items.slice(),
    has: (key) => items.some((it) => it.key === key),
    add(item) {
      if (items.some((it) => it.key === item.key)) return false;
      items.push(item);
      changed();
      announce(`${item.title} added at position ${items.length}.`);
      return true;
    },
    setEditable(v) { canEdit = v; render(); },
    setItems(next) { items = next.slice(); render(); },
  };
}

/** Certified or not, when it locks, what any edit does: the head of a list's card. */
export function statusLine(rol, tz, locked) {
  return h("div", { class: "rol-status", "data-testid": "rol-status" },
    rol.certified
      ? h("span", { class: "badge yes", "data-testid": "certified-badge" }, "Certified: this list counts")
      : h("span", { class: "badge", "data-testid": "uncertified-badge" },
        rol.version ? "Not certified: this list does not count until you certify it" : "Not saved yet"),
    " ",
    h("span", { "data-testid": "rol-locks" }, rol.locks_at ? `${locked ? "Locked" : "Locks"} ${when(rol.locks_at, tz)}`
      : "Lock date not set yet"),
    h("span", { class: "muted" }, ` (dates in ${tz}).`),
    locked ? null : h("p", { class: "muted" }, "Only a certified list counts (M1). Any change you save uncertifies " +
      "the list: certify it again after your last change."));
}

/**
 * A whole list card: status, editor, Save and Certify, refusals. load() -> the API's list; save(entries, version),
 * certify(version) -> the API's list; toItems(rol) -> editor items; keyOf(item) -> what the API takes.
 * extraControls(editor) -> nodes shown above the list while editable (e.g. a search to add entries).
 */
export async function listCard({ title, tz, load, save, certify, toItems, toEntries, extraControls, noun }) {
  const out = h("div", { "data-testid": "rol-out" });
  const body = h("div");
  const card = h("section", { class: "card", "data-testid": "rol-card" }, h("h2", {}, title), out, body);
  let rol;
  let dirty = false;
  try {
    rol = await load();
  } catch (err) {
    body.replaceChildren(rolRefusal(err));
    return card;
  }
  const now = await serverNow();
  const [editable, state, why] = listWindow(rol, now, tz);
  card.dataset.state = state;
  card.dataset.version = String(rol.version);
  const saveBtn = h("button", { type: "button", "data-testid": "rol-save" }, "Save list");
  const certifyBtn = h("button", { type: "button", class: "secondary", "data-testid": "rol-certify" }, "Certify list");
  const dirtyNote = h("span", { class: "muted hidden", "data-testid": "rol-dirty" },
    "Unsaved changes: save the list, then certify it.");
  const editor = rankEditor(toItems(rol), { editable, noun, onChange: () => { dirty = true; refreshButtons(); } });
  function refreshButtons() {
    dirtyNote.classList.toggle("hidden", !dirty);
    certifyBtn.disabled = dirty || !rol.version || rol.certified || !editor.items().length;
    card.dataset.dirty = dirty ? "yes" : "no";
  }
  async function act(fn, done) {
    out.replaceChildren();
    saveBtn.disabled = true; certifyBtn.disabled = true;
    try {
      const wasCertified = rol.certified;
      rol = await fn();
      dirty = false;
      card.dataset.version = String(rol.version);
      editor.setItems(toItems(rol)); // what the Match now holds, with its names
      status.replaceWith(status = statusLine(rol, tz));
      out.replaceChildren(done(wasCertified));
    } catch (err) {
      out.replaceChildren(rolRefusal(err));
    } finally {
      saveBtn.disabled = false;
      refreshButtons();
    }
  }
  saveBtn.addEventListener("click", () => act(() => save(toEntries(editor.items()), rol.version), (was) =>
    notice(was ? "warn" : "ok", `Saved (version ${rol.version}).`, was
      ? "Your list is no longer certified: any edit uncertifies it (M1). Certify it again so that it counts."
      : "It is not certified yet: certify it so that it counts.")));
  certifyBtn.addEventListener("click", () => act(() => certify(rol.version), () =>
    notice("ok", "Certified.", `This list counts in the run as it is now (version ${rol.version}). ` +
      "Any later change uncertifies it.")));
  let status = statusLine(rol, tz, state === "locked");
  body.replaceChildren(...[status,
    editable ? null : notice("warn", state === "locked" ? "Locked." : "Not open.", why),
    editable && extraControls ? extraControls(editor) : null,
    editor.el,
    editable ? h("div", { class: "inline rol-buttons" }, saveBtn, certifyBtn, dirtyNote) : null].filter(Boolean));
  refreshButtons();
  return card;
}

// ------------------------------------------------------------------ the applicant
function trackItem(t) {
  return { key: t.track_code, title: `${t.program_name || `Program ${t.program_code}`} — ${t.track_name || "track"}`,
    sub: `(track ${t.track_code}${t.city ? `, ${t.city}` : ""})`, withdrawn: !!t.withdrawn };
}

/** The directory search: the season's tracks (of the round) filtered by program name, code, city or track. */
function trackSearch(tracks, editor) {
  const results = h("ul", { class: "rol-results", "data-testid": "track-results" });
  const box = h("input", { type: "search", placeholder: "program name, code or city", "data-testid": "track-search",
    "aria-label": "Find a track to add", oninput: () => show() });
  function show() {
    const q = box.value.trim().toLowerCase();
    const hits = tracks.filter((t) => !editor.has(t.track_code) && (!q || [t.program_name, t.program_code, t.city,
      t.track_code, t.track_name].some((v) => v && String(v).toLowerCase().includes(q)))).slice(0, 25);
    results.replaceChildren(...(hits.length ? hits.map((t) => h("li", { "data-testid": "track-result",
      "data-track": t.track_code }, trackItem(t).title, h("span", { class: "muted" }, ` ${trackItem(t).sub} `),
    h("button", { type: "button", class: "secondary", "data-testid": "add-track",
      onclick: () => { editor.add(trackItem(t)); show(); } }, "Add"))) : [h("li", { class: "muted" },
      q ? "No track matches." : "Every track is on your list.")]));
  }
  show();
  return h("div", { class: "rol-search" }, h("label", {}, h("strong", {}, "Add a track "), box), results);
}

async function applicantRound(reg, rnd) {
  const season = reg.season;
  const tz = reg.timezone || DEFAULT_TZ;
  const base = `${roundPath(season, rnd)}/applicants/me/rol`;
  const [tracksData, directory] = await Promise.all([
    api("GET", `/match/seasons/${encodeURIComponent(season)}/tracks`),
    api("GET", "/registration/programs", { query: { season } }).catch(() => null),
  ]);
  const cities = new Map(listOf(directory, "programs").map((p) => [p.program_code, p.city]));
  const tracks = tracksData.tracks.filter((t) => !t.withdrawn && (rnd !== "mpii" || t.in_mpii))
    .map((t) => ({ ...t, city: cities.get(t.program_code) }));
  return listCard({
    title: `${ROUND_LABEL[rnd]} rank order list, season ${season}`, tz, noun: "track",
    load: () => api("GET", base),
    save: (tracksList, version) => api("PUT", base, { body: { tracks: tracksList, version } }),
    certify: (version) => api("POST", `${base}/certification`, { query: { version } }),
    toItems: (rol) => rol.tracks.map((t) => trackItem({ ...t, city: cities.get(t.program_code) })),
    toEntries: (items) => items.map((it) => it.key),
    extraControls: (editor) => trackSearch(tracks, editor),
  });
}

async function viewRankList() {
  if (!session.token) return needSignIn();
  const root = h("div", { "data-testid": "rank-list-page" }, h("h1", {}, "My rank order list"));
  const regs = listOf(await api("GET", "/registration/applicants"), "applicants")
    .filter((a) => a.status === "registered").sort((x, y) => String(y.season).localeCompare(String(x.season)));
  if (!regs.length) {
    root.append(notice("warn", "No completed registration.", "Rank order lists are for registered applicants " +
      "whose fee is paid."), h("p", {}, h("a", { href: "#/applicant" }, "My registration")));
    return root;
  }
  const reg = regs[0];
  const holder = h("div", {}, h("p", { class: "muted" }, "Loading your list…"));
  const mpii = await api("GET", `/match/seasons/${encodeURIComponent(reg.season)}/mpii`).catch(() => null);
  const rounds = mpii && mpii.participant ? ["match", "mpii"] : ["match"];
  async function show(rnd) {
    if (!mayLeave(holder)) return;
    switcher.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.round === rnd)));
    holder.replaceChildren(await applicantRound(reg, rnd).catch((err) => rolRefusal(err)));
  }
  const switcher = h("div", { class: `inline rol-rounds${rounds.length > 1 ? "" : " hidden"}`, role: "group",
    "aria-label": "Round", "data-testid": "round-switch" },
  rounds.map((r) => h("button", { type: "button", class: "secondary", "data-round": r, "data-testid": `round-${r}`,
    onclick: () => show(r) }, ROUND_LABEL[r])));
  root.append(h("p", { class: "muted" }, `Season ${reg.season}. Rank the tracks where you would like to train, ` +
    "most wanted first. Only a certified list counts."), switcher, holder);
  await show(rounds.length > 1 ? "mpii" : "match");
  return root;
}

ROUTES["rank-list"] = viewRankList;
if (location.hash.replace(/^#\/?/, "").split("?")[0] === "rank-list") route();
