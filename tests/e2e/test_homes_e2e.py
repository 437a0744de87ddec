"""Every role has a home (issue 12), in headless Chromium against the local stack: after sign-in
the applicant, a program, a college and the administrator each land on their own page, and the
navigation shows only the pages of that role; a page of another role says whom it is for; the
applicant's home is the season in order with what is due next and by when in its time zone;
the administrator's calendar shows the season's stored values without pressing "Load"; a
signed-out visit (or a token the API refuses) asks to sign in, the API's words only as detail."""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import time
import uuid
from zoneinfo import ZoneInfo

import pytest

from shared.clock import parse_instant

from .test_pages_e2e import browser, sign_in, tabs, wait_for_notice  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e

NAV = {
    "applicant": ["home", "applicant", "scores", "application", "interviews", "rank-list", "results", "post-match",
                  "directory"],
    "program": ["review", "scheduling", "program-lists", "program-results", "post-match", "directory"],
    "college": ["college", "post-match", "directory"],
    "admin": ["admin", "scores-admin", "match-admin", "post-match", "directory"],
    None: ["directory"],
}
STEPS = ["registration", "scores", "application", "designations", "interviews", "rol", "results"]
VISIBLE_NAV = "[...document.querySelectorAll('nav [data-nav]')].filter((a) => a.offsetParent !== null)" \
              ".map((a) => a.dataset.nav)"


def visible_nav(page) -> list[str]:
    return page.evaluate(VISIBLE_NAV)


def lands_on(page, hash_: str) -> None:
    page.wait_for_function(f"location.hash === {json.dumps(hash_)}")


def registered_applicant(stack, season: str, tz: str) -> dict:
    s, account = stack.new_account()
    cms = "PRO-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
    r = s.post(f"{stack.url}/registration/applicants", timeout=30, json={
        "season": season, "first_name": "Home", "last_name": f"Page{uuid.uuid4().hex[:4]}", "email": account["email"],
        "cms_id": cms, "college": "TUSPM", "graduation_year": 2030})
    assert r.status_code == 201, r.text
    reg = r.json()
    r = s.post(f"{stack.url}/registration/applicants/{reg['applicant_id']}/payments", timeout=30,
               json={"amount_cents": reg["amount_due_cents"], "card_number": "4242424242424242"},
               headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code in (200, 201), r.text
    r = s.patch(f"{stack.url}/registration/applicants/{reg['applicant_id']}", json={"timezone": tz}, timeout=30)
    assert r.status_code == 200, r.text
    return account


def test_homes_each_role_lands_on_its_own_page_with_only_its_navigation(stack, tabs):  # noqa: F811
    started = time.monotonic()
    season, calendar = stack.new_season()
    code = f"{secrets.randbelow(900) + 100}"
    r = stack.admin.post(f"{stack.url}/registration/programs", timeout=30, json={
        "season": season, "program_code": code, "name": f"Home Page Hospital {code}", "city": "Boise", "state": "ID",
        "coth": True, "crip": False, "tracks": [{"track_code": f"{code}1", "name": "PMSR/RRA", "positions": 2}]})
    assert r.status_code == 201, r.text
    tz = "America/Los_Angeles"
    applicant = registered_applicant(stack, season, tz)
    _, program = stack.new_account("program", program_code=code)
    _, college = stack.new_account("college", college="TUSPM")

    # ---- the applicant: the season in order, each step with what is due next, in its zone --------
    tab = tabs("home-applicant")
    sign_in(tab, applicant["email"], applicant["password"])
    page = tab.page
    lands_on(page, "#/home")
    card = page.locator(f"[data-testid=season-home][data-season='{season}']")
    card.locator("[data-testid=step]").first.wait_for()
    assert visible_nav(page) == NAV["applicant"]
    steps = card.locator("[data-testid=step]")
    assert [steps.nth(i).get_attribute("data-step") for i in range(steps.count())] == STEPS
    registration = card.locator("[data-step=registration]")
    assert registration.get_attribute("data-state") == "done"
    assert "code number" in registration.text_content()
    scores = card.locator("[data-step=scores]")
    assert scores.get_attribute("data-state") == "now"  # the first step not done whose instant is ahead
    nxt = scores.locator("[data-testid=step-next]")
    assert "Sign the APMLE score release" in nxt.text_content()
    deadline = parse_instant(calendar["score_release_deadline"])
    assert parse_instant(nxt.locator("time").get_attribute("datetime")) == deadline
    local = deadline.astimezone(ZoneInfo(tz))
    shown = nxt.locator("time").text_content()
    assert local.tzname() in shown and f"{local.day}, {local.year}" in shown, shown  # e.g. "PST"
    assert tz in card.locator("[data-testid=home-timezone]").text_content()
    assert registration.locator("[data-testid=step-link]").get_attribute("href") == "#/applicant"
    assert card.locator("[data-step=rol] [data-testid=step-link]").get_attribute("href") == "#/rank-list"
    assert card.locator("[data-step=results] [data-testid=step-link]").get_attribute("href") == "#/results"
    # no link to a page that does not exist
    for step in ("rol", "results"):
        links = card.locator(f"[data-step={step}] [data-testid=step-link]")
        for i in range(links.count()):
            route = links.nth(i).get_attribute("href").removeprefix("#/")
            assert page.evaluate(f"typeof ROUTES[{json.dumps(route)}] === 'function'"), route
    assert "Certify your rank order list" in card.locator("[data-step=rol]").text_content()
    # a program's page, in plain words
    page.goto(f"{stack.url}/#/review")
    wait_for_notice(page, "This page is for programs and administrators.")
    assert page.locator("[data-testid=forbidden] a").get_attribute("href") == "#/home"
    tab.shot("applicant-home")

    # ---- a program: its applications desk, shown without pressing anything -------------------
    tab = tabs("home-program")
    sign_in(tab, program["email"], program["password"])
    page = tab.page
    lands_on(page, "#/review")
    page.wait_for_selector("h1:has-text('Applications desk')")
    page.wait_for_selector(f"[data-testid=review-list] >> text=delivered to {code}")
    assert visible_nav(page) == NAV["program"]
    page.goto(f"{stack.url}/#/home")
    wait_for_notice(page, "This page is for applicants.")
    assert "signed in as a program" in page.locator("[data-testid=forbidden]").text_content()

    # ---- a college: its students' progress ----------------------------------------------------
    tab = tabs("home-college")
    sign_in(tab, college["email"], college["password"])
    page = tab.page
    lands_on(page, "#/college")
    page.wait_for_selector("h1:has-text('My students')")
    page.wait_for_function("document.querySelector('[data-testid=students-form] [name=season]').value !== ''")
    page.locator("[data-testid=students] table").wait_for()
    assert visible_nav(page) == NAV["college"]

    # ---- the administrator: the calendar as stored, without pressing "Load" --------------------
    tab = tabs("home-admin")
    sign_in(tab, stack.admin_email, stack.admin_password)
    page = tab.page
    lands_on(page, "#/admin")
    form = page.locator("[data-testid=calendar-form]")
    page.wait_for_function("document.querySelector('[data-testid=calendar-form]').dataset.loaded")
    shown_season = form.locator("[name=season]").input_value()
    stored = stack.admin.get(f"{stack.url}/registration/seasons/{shown_season}", timeout=30).json()["calendar"]
    values = {k: form.locator(f"[name={k}]").input_value() for k in stored}
    assert all(values.values()), values
    assert {k: parse_instant(v) for k, v in values.items()} == {k: parse_instant(v) for k, v in stored.items()}
    assert form.locator("input[data-key][placeholder]").count() == 0  # no misleading placeholder
    assert visible_nav(page) == NAV["admin"]
    tab.shot("admin-home")
    assert time.monotonic() - started < 60


def _forged_token() -> str:
    """A well-formed JWT the API refuses (bad signature): the page sees a 401 of the API."""
    def part(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    return ".".join([part({"alg": "RS256", "kid": "x"}),
                     part({"sub": "x", "exp": int(time.time()) + 3600, "token_use": "access"}), "c2ln"])


def test_homes_signed_out_pages_say_what_to_do_with_the_api_text_only_as_detail(stack, tabs):  # noqa: F811
    tab = tabs("home-signed-out")
    page = tab.goto("/#/review")
    wait_for_notice(page, "Please sign in.")
    assert "sign in" in page.locator("[data-testid=need-sign-in]").text_content().lower()
    assert visible_nav(page) == NAV[None]
    page.goto(f"{stack.url}/#/home")
    wait_for_notice(page, "Please sign in.")
    # a token the API refuses: plain words first, the problem's own text folded under "Details"
    page.evaluate(f"sessionStorage.setItem('caspr.token', {json.dumps(_forged_token())});"
                  "sessionStorage.setItem('caspr.email', 'someone@test.caspr')")
    page.goto(f"{stack.url}/#/interviews")  # a hash change: the loaded page routes with the token
    detail = page.locator("[data-testid=need-sign-in] [data-testid=problem-detail]")
    detail.wait_for(state="attached")
    assert page.locator("[data-testid=problem-detail][open]").count() == 0  # folded
    assert re.search(r"401", detail.text_content()), detail.text_content()
    assert page.locator("[data-testid=need-sign-in] .notice strong").first.text_content() == "Please sign in."
    assert page.evaluate("sessionStorage.getItem('caspr.token')") is None
