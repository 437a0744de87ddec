"""Rank order lists in the browser (issue 12: M1, M3): web/rol.js (#/rank-list) and web/rol-program.js
(#/program-lists) in a real headless Chromium against the running local stack.

(a) an applicant (time zone America/Denver) finds 3 tracks in the season's directory (by city and by
    code), reorders them by drag and drop and by keyboard (Alt+ArrowUp, the new position announced),
    saves, certifies (the API has that order, certified); edits again and saves: the certified badge
    goes, the page says the edit uncertified it, and the API agrees; once the clock passes rol_deadline
    the page shows the list read-only in plain words and the API refuses a save.
(b) a program's candidates are the three applications delivered to it (designated, delivered at
    applications_delivered); it builds its track's list with "Add everyone we interviewed" (the two
    applicants booked in its schedule, earliest interview first, each once), adds the third from the
    candidates, reorders by drag and drop and by keyboard, saves and certifies; the API has that order,
    certified.
Screenshots land in /tmp/caspr-pages-rol-*.png."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.clock import iso, parse_instant

from .test_homes_e2e import registered_applicant
from .test_interviews_e2e import invite_all, make_type_and_event, wait_for
from .test_interviews_pages_e2e import program_account, shown
from .test_match_e2e import Season
from .test_pages_e2e import browser, sign_in, tabs, wait_for_notice  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e
_codes = iter(range(400, 500))  # program codes of this file (others use 101-103, 201-301, 555, 600-999)
DENVER = ZoneInfo("America/Denver")


def order(page) -> list[str]:
    return page.eval_on_selector_all("[data-testid=rol-row]", "rows => rows.map((r) => r.dataset.key)")


def open_as(tabs, name: str, account: dict, path: str, ready: str):  # noqa: F811
    """A tab signed in as `account` on `path`, once `ready` (a selector) shows."""
    tab = tabs(name)
    sign_in(tab, account["email"], account["password"])
    page = tab.goto(path)
    shown(page, page.locator(ready))
    return tab, page


def session_of(stack, account: dict):
    return stack.session(stack.token(account["email"], account["password"]))


def add_program(stack, season: str, code: str, name: str, city: str, tracks: list[str], positions: int = 1
                ) -> None:
    body = {"season": season, "program_code": code, "name": name, "city": city, "state": "CO", "coth": True,
            "crip": False, "contact": {"name": "Director"},
            "tracks": [{"track_code": t, "name": f"PMSR/RRA {t}", "positions": positions} for t in tracks]}
    r = stack.admin.post(f"{stack.url}/registration/programs", json=body, timeout=60)
    assert r.status_code == 201, r.text


def test_pages_applicant_ranks_reorders_saves_certifies_edit_uncertifies_and_the_list_locks(stack, tabs):  # noqa: F811
    season, cal = stack.new_season()
    # S5's instants after Match Day: nobody is withdrawn for want of an exam pass (no score upload needed)
    after = iso(parse_instant(cal["match_day"]) + timedelta(days=2))
    cal = {**cal, "part1_pass_by": after, "part2_pass_by": after}
    assert stack.admin.put(f"{stack.url}/registration/seasons/{season}", json=cal, timeout=30).status_code == 200
    p1, p2 = next(_codes), next(_codes)
    add_program(stack, season, f"{p1}", "Mile High Podiatry", "Denver", [f"{p1}1", f"{p1}2"])
    add_program(stack, season, f"{p2}", "Lakeshore Foot and Ankle", "Milwaukee", [f"{p2}1"])
    t1, t2, t3 = f"{p1}1", f"{p1}2", f"{p2}1"
    account = registered_applicant(stack, season, "America/Denver")
    me = session_of(stack, account)
    base = f"{stack.url}/match/seasons/{season}"
    wait_for(lambda: len(me.get(f"{base}/tracks", timeout=30).json()["tracks"]) == 3, "the match service's tracks")
    wait_for(lambda: me.get(f"{base}/applicants/me/rol", timeout=30).status_code == 200,
             "the match service to know the applicant")
    stack.at(cal, "rol_opens")

    tab, page = open_as(tabs, "rol-applicant", account, "/#/rank-list", "[data-testid=rol-card] [data-testid=rol-save]")
    card = page.locator("[data-testid=rol-card]")
    locks = parse_instant(cal["rol_deadline"]).astimezone(DENVER)
    text = card.locator("[data-testid=rol-locks]").inner_text()
    assert locks.tzname() in text and f"{locks.day}, {locks.year}" in text and locks.strftime("%-I:%M") in text, text
    assert "America/Denver" in card.locator("[data-testid=rol-status]").inner_text()
    assert card.locator("[data-testid=uncertified-badge]").inner_text() == "Not saved yet"
    assert page.locator("[data-testid=round-switch]").is_hidden()  # not in MPII

    # the directory: by city, then by code
    search = card.locator("[data-testid=track-search]")
    search.fill("denver")
    assert sorted(page.eval_on_selector_all("[data-testid=track-result]", "r => r.map((x) => x.dataset.track)")) == [
        t1, t2]
    card.locator(f"[data-testid=track-result][data-track='{t1}'] [data-testid=add-track]").click()
    card.locator(f"[data-testid=track-result][data-track='{t2}'] [data-testid=add-track]").click()
    search.fill(f"{p2}")
    card.locator(f"[data-testid=track-result][data-track='{t3}'] [data-testid=add-track]").click()
    assert order(page) == [t1, t2, t3]
    assert card.locator("[data-testid=rol-certify]").is_disabled()  # unsaved changes first

    # drag and drop: the third onto the first
    rows = card.locator("[data-testid=rol-row]")
    rows.nth(2).drag_to(rows.nth(0))
    assert order(page) == [t3, t1, t2]
    # keyboard: the last row, focused, Alt+ArrowUp
    rows.nth(2).focus()
    page.keyboard.press("Alt+ArrowUp")
    assert order(page) == [t3, t2, t1]
    assert "moved to position 2 of 3" in card.locator("[data-testid=rol-announce]").inner_text()
    assert page.evaluate("document.activeElement.dataset.key") == t2  # the focus follows the row

    card.locator("[data-testid=rol-save]").click()
    wait_for_notice(page, "Saved (version 1).")
    rol = me.get(f"{base}/applicants/me/rol", timeout=30).json()
    assert [t["track_code"] for t in rol["tracks"]] == [t3, t2, t1] and rol["certified"] is False
    card.locator("[data-testid=rol-certify]").click()
    wait_for_notice(page, "Certified.")
    assert card.locator("[data-testid=certified-badge]").is_visible()
    rol = me.get(f"{base}/applicants/me/rol", timeout=30).json()
    assert rol["certified"] is True and rol["counts"] is True and rol["version"] == 1
    tab.shot("certified")

    # an edit (the ▼ button this time) uncertifies: the badge goes and the page says so
    card.locator(f"[data-testid=rol-row][data-key='{t3}'] [data-testid=move-down]").click()
    assert order(page) == [t2, t3, t1]
    card.locator("[data-testid=rol-save]").click()
    wait_for_notice(page, "Your list is no longer certified")
    assert card.locator("[data-testid=certified-badge]").count() == 0
    assert card.locator("[data-testid=uncertified-badge]").is_visible()
    rol = me.get(f"{base}/applicants/me/rol", timeout=30).json()
    assert [t["track_code"] for t in rol["tracks"]] == [t2, t3, t1]
    assert rol["certified"] is False and rol["counts"] is False and rol["version"] == 2

    # the applicant's home says so too, and links its rank order list step here
    page = tab.goto("/#/home")
    step = page.locator("[data-testid=season-home] [data-step=rol]")
    shown(page, step.locator("[data-testid=step-status]"))
    assert step.locator("[data-testid=step-status]").inner_text() == (
        "Saved with 3 track(s), not certified: it does not count until you certify it.")
    assert step.locator("[data-testid=step-link]").get_attribute("href") == "#/rank-list"

    # past rol_deadline: read-only, in plain words; the API refuses
    stack.at(cal, "rol_deadline")
    page = tab.goto("/#/rank-list")
    card = page.locator("[data-testid=rol-card][data-state=locked]")
    shown(page, card)
    assert "can no longer be changed" in card.inner_text() and "not certified" in card.inner_text()
    assert card.locator("[data-testid=rol-save]").count() == 0 and card.locator("[data-testid=move-up]").count() == 0
    assert card.locator("[data-testid=track-search]").count() == 0
    assert card.locator("[data-testid=rol-row][draggable=true]").count() == 0
    assert card.locator("[data-testid=rol-howto]").is_hidden()
    assert card.locator("[data-testid=rol-locks]").inner_text().startswith("Locked ")
    assert order(page) == [t2, t3, t1]
    r = me.put(f"{base}/applicants/me/rol", json={"tracks": [t1]}, timeout=30)
    assert r.status_code == 422 and r.json()["rule"] == "M1" and "locked" in r.json()["detail"], r.text
    tab.shot("locked")


def test_pages_program_adds_everyone_it_interviewed_reorders_and_certifies(stack, tabs):  # noqa: F811
    s = Season(stack)
    cal, code = s.cal, f"{next(_codes)}"
    track = f"{code}1"
    add_program(stack, s.season, code, "Front Range Foot Surgery", "Boulder", [track])
    p = program_account(stack, code)
    for n in range(3):
        s.add_applicant()
        s.release_scores(n)
        s.submit_application(n)
    s.pass_exams([0, 1, 2])  # Part I (A3: may apply) and Part II Written (S5 withdraws nobody)
    a, b, c = ({"id": x["applicant_id"], **x} for x in s.applicants)
    for x in (a, b, c):  # A5: the designations, delivered at applications_delivered
        r = x["session"].post(f"{stack.url}/applications/applicants/{x['id']}/designations",
                              json={"program_code": code}, timeout=30)
        assert r.status_code == 201, r.text
    stack.at(cal, "applications_delivered")
    prog = session_of(stack, p)
    wait_for(lambda: len(prog.get(f"{stack.url}/applications/programs/{code}/applications", timeout=30
                                  ).json()["applications"]) == 3, "the three deliveries")
    stack.at(cal, "invitations_open")
    day = parse_instant(cal["non_crip_interviews_from"]) + timedelta(days=1)
    type_id, late = make_type_and_event(stack, code, day + timedelta(hours=3), capacity=2)
    r = stack.admin.post(f"{stack.url}/interviews/programs/{code}/events", json={
        "type_id": type_id, "start": iso(day), "end": iso(day + timedelta(minutes=30)), "capacity": 2,
        "place": "virtual", "location": "video call", "timezone": "America/Chicago"}, timeout=60)
    assert r.status_code == 201, r.text
    early = r.json()["event_id"]
    invitations = invite_all(stack, code, type_id, [a["id"], b["id"], c["id"]])
    for who, event in ((a, late), (b, early)):  # c is invited but never booked
        r = stack.admin.post(f"{stack.url}/interviews/invitations/{invitations[who['id']]}/bookings",
                             json={"type_id": type_id, "event_id": event}, timeout=60)
        assert r.status_code == 201, r.text
    base = f"{s.base}/tracks/{track}/rol"
    stack.at(cal, "rol_opens")

    tab, page = open_as(tabs, "rol-program", p, "/#/program-lists", "[data-testid=add-interviewed]")
    card = page.locator(f"[data-testid=rol-card][data-track='{track}']")
    assert page.locator("[data-testid=track-pick]").input_value() == track
    # the candidates: the three delivered applications
    assert sorted(page.eval_on_selector_all("[data-testid=candidate]", "r => r.map((x) => x.dataset.applicantId)")
                  ) == sorted([a["id"], b["id"], c["id"]])
    card.locator("[data-testid=add-interviewed]").click()
    wait_for_notice(page, "Added 2 applicant(s) you interviewed, in interview-date order.")
    assert order(page) == [b["id"], a["id"]]  # b's interview is the earlier one; c has no booking
    assert c["code"] not in card.locator("[data-testid=rol-list]").inner_text()
    assert b["code"] in card.locator("[data-testid=rol-row]").first.inner_text()  # the desk's name and code
    card.locator("[data-testid=add-interviewed]").click()  # nobody twice
    wait_for_notice(page, "Everyone you interviewed is already on the list.")
    assert order(page) == [b["id"], a["id"]]
    card.locator("[data-testid=candidate-search]").fill(c["code"])
    card.locator(f"[data-testid=candidate][data-applicant-id='{c['id']}'] [data-testid=add-candidate]").click()
    assert order(page) == [b["id"], a["id"], c["id"]]

    rows = card.locator("[data-testid=rol-row]")
    rows.nth(1).drag_to(rows.nth(0))
    assert order(page) == [a["id"], b["id"], c["id"]]
    rows.nth(2).focus()
    page.keyboard.press("Alt+ArrowUp")
    assert order(page) == [a["id"], c["id"], b["id"]]
    page.keyboard.press("Alt+ArrowUp")  # the focus moved with the row: up again
    assert order(page) == [c["id"], a["id"], b["id"]]
    assert "moved to position 1 of 3" in card.locator("[data-testid=rol-announce]").inner_text()

    card.locator("[data-testid=rol-save]").click()
    wait_for_notice(page, "Saved (version 1).")
    card.locator("[data-testid=rol-certify]").click()
    wait_for_notice(page, "Certified.")
    assert card.locator("[data-testid=certified-badge]").is_visible()
    rol = prog.get(base, timeout=30).json()
    assert [e["applicant_id"] for e in rol["applicants"]] == [c["id"], a["id"], b["id"]]
    assert [e["code_number"] for e in rol["applicants"]] == [c["code"], a["code"], b["code"]]
    assert rol["certified"] is True and rol["counts"] is True
    tab.shot("program-certified")


def test_pages_mpii_round_switch_and_the_apis_refusal_in_plain_words(stack, tabs):  # noqa: F811
    """MPII (M7) on the same pages: an unmatched applicant switches between its locked Match list and its MPII
    list; ranking a track without an MPII application is refused, in plain words with the API's problem. The
    program with an unfilled track sees the round switch too."""
    s = Season(stack)
    after = iso(parse_instant(s.cal["match_day"]) + timedelta(days=2))  # S5 withdraws nobody (no score upload)
    s.cal = cal = {**s.cal, "part1_pass_by": after, "part2_pass_by": after}
    assert stack.admin.put(f"{stack.url}/registration/seasons/{s.season}", json=cal, timeout=30).status_code == 200
    code = f"{next(_codes)}"
    track = f"{code}1"
    add_program(stack, s.season, code, "Second Chance Podiatry", "Tulsa", [track], positions=2)
    p = program_account(stack, code)
    prog = session_of(stack, p)
    matched, unmatched = (registered_applicant(stack, s.season, "America/Chicago") for _ in range(2))
    m = session_of(stack, matched)
    wait_for(lambda: m.get(f"{s.base}/applicants/me/rol", timeout=30).status_code == 200, "the match service")
    stack.at(cal, "rol_opens")
    r = m.put(f"{s.base}/applicants/me/rol", json={"tracks": [track]}, timeout=30)
    assert r.status_code == 200, r.text
    assert m.post(f"{s.base}/applicants/me/rol/certification", timeout=30).status_code == 200
    r = prog.put(f"{s.base}/tracks/{track}/rol", json={"applicants": [r.json()["code_number"]]}, timeout=30)
    assert r.status_code == 200, r.text
    assert prog.post(f"{s.base}/tracks/{track}/rol/certification", timeout=30).status_code == 200
    stack.at(cal, "rol_deadline")  # the run starts by itself (M4); 1 of 2 positions filled
    wait_for(lambda: s.step("await:match_status_day") == "waiting", "the Match round to be stored")
    stack.at(cal, "match_status_day")
    wait_for(lambda: prog.get(f"{s.base}/mpii", timeout=30).status_code == 200, "MPII to open")
    stack.at(cal, "mpii_rol_opens")

    tab, page = open_as(tabs, "rol-mpii", unmatched, "/#/rank-list", "[data-testid=rol-card] [data-testid=rol-save]")
    card = page.locator("[data-testid=rol-card]")
    assert page.locator("[data-testid=round-mpii]").get_attribute("aria-pressed") == "true"
    assert card.locator("h2").inner_text().startswith("MPII rank order list")
    card.locator("[data-testid=track-search]").fill("tulsa")
    card.locator(f"[data-testid=track-result][data-track='{track}'] [data-testid=add-track]").click()
    card.locator("[data-testid=rol-save]").click()
    card.locator("[data-testid=refusal]").wait_for()
    assert "only tracks of programs you sent an MPII application to" in card.locator("[data-testid=refusal-words]").inner_text()
    assert "M7" in card.locator("[data-testid=refusal] [data-testid=problem]").inner_text()
    tab.shot("mpii-refused")
    page.once("dialog", lambda d: d.dismiss())  # the unsaved (refused) list: stay
    page.locator("[data-testid=round-match]").click()
    assert order(page) == [track] and "MPII" in card.locator("h2").inner_text()
    page.once("dialog", lambda d: d.accept())  # leave it
    page.locator("[data-testid=round-match]").click()
    shown(page, page.locator("[data-testid=rol-card][data-state=locked]"))
    assert "Match rank order list" in page.locator("[data-testid=rol-card] h2").inner_text()

    _, page = open_as(tabs, "rol-mpii-program", p, "/#/program-lists",
                      f"[data-testid=rol-card][data-track='{track}'] [data-testid=rol-save]")
    assert page.locator("[data-testid=round-mpii]").get_attribute("aria-pressed") == "true"
    page.locator("[data-testid=round-match]").click()
    shown(page, page.locator("[data-testid=rol-card][data-state=locked]"))
    assert "It is certified, so it counts" in page.locator("[data-testid=rol-card]").inner_text()
