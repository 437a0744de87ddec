"""Scores on the running local stack (issue 9): the release form, NBPME uploads, eligibility,
and the S2 / S5 notices fired by the calendar on the movable clock. The season is its own."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from datetime import timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from shared.clock import parse_instant

from .problem_checks import CHECKS

pytestmark = pytest.mark.e2e
CARD = "4242424242424242"
HEADER = "att_number,cms_id,exam,exam_date,result\n"


def wait_for(fn, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def mails(stack, to: str) -> list[dict]:
    return requests.get(f"{stack.url}/_local/outbox", params={"to": to}, timeout=30).json()["messages"]


def applicant(stack, season: str) -> dict:
    session, account = stack.new_account()
    cms = f"EEE-{uuid.uuid4().hex[:9].upper()}"
    body = {"season": season, "first_name": "Ada", "last_name": "Lovelace", "email": account["email"],
            "cms_id": cms, "college": "TUSPM", "graduation_year": 2024}
    r = session.post(f"{stack.url}/registration/applicants", json=body, timeout=30)
    assert r.status_code == 201, r.text
    applicant_id = r.json()["applicant_id"]
    r = session.post(f"{stack.url}/registration/applicants/{applicant_id}/payments",
                     json={"amount_cents": 55_000, "card_number": CARD},
                     headers={"Idempotency-Key": f"scores-e2e-{applicant_id}"}, timeout=60)
    assert r.status_code == 201, r.text
    # the scores service learns of the registration from applicant.registered.v1 (bus -> queue)
    wait_for(lambda: session.get(f"{stack.url}/scores/applicants/{applicant_id}/release", timeout=30).status_code
             != 404 or _known(stack, applicant_id), f"scores to know {applicant_id}")
    return {"session": session, "id": applicant_id, "email": account["email"], "cms": cms,
            "password": account["password"]}


def _known(stack, applicant_id: str) -> bool:
    r = stack.admin.get(f"{stack.url}/scores/applicants/{applicant_id}/results", timeout=30)
    return r.status_code == 200


def release(stack, a: dict, att: str, **extra) -> requests.Response:
    body = {"att_number": att, "cms_id": a["cms"].lower(), "name_at_exam": "Ada Byron", "explanation": "",
            "authorize_part1": True, "authorize_part2": True, **extra}
    return a["session"].put(f"{stack.url}/scores/applicants/{a['id']}/release", json=body, timeout=30)


def attempts(stack, a: dict) -> list[tuple]:
    r = a["session"].get(f"{stack.url}/scores/applicants/{a['id']}/results", timeout=30)
    assert r.status_code == 200, r.text
    return [(x["exam"], x["exam_date"], x["result"], x["official"]) for x in r.json()["attempts"]]


def upload(stack, season: str, text: str) -> dict:
    r = stack.admin.post(f"{stack.url}/scores/seasons/{season}/results", data=text.encode(),
                         headers={"Content-Type": "text/csv"}, timeout=300)
    assert r.status_code == 200, r.text
    return r.json()


def test_scores_release_upload_eligibility_and_withdrawals_on_the_local_stack(stack):
    season, cal = stack.new_season()
    a, b, c = (applicant(stack, season) for _ in range(3))
    url = f"{stack.url}/scores"

    # S1: the release; the name at the exam never comes back; forms named in refusals
    r = release(stack, a, "001000001")
    assert r.status_code == 200, r.text
    assert r.json()["name_at_exam"] == "" and r.json()["cms_id"] == a["cms"] and r.json()["on_time"] is True
    assert a["session"].get(f"{url}/applicants/{a['id']}/release", timeout=30).json()["name_at_exam"] == ""
    bad = release(stack, a, "1000001")
    assert bad.status_code == 422 and "007885050" in bad.text
    assert release(stack, a, "001000001", authorize_part2=False).json()["errors"][0]["field"] == "authorize_part2"
    # an applicant touches only their own
    assert b["session"].get(f"{url}/applicants/{a['id']}/release", timeout=30).status_code == 403
    assert b["session"].get(f"{url}/applicants/{a['id']}/results", timeout=30).status_code == 403
    assert release(stack, {**b, "id": a["id"]}, "001000009").status_code == 403

    # S2: the reminder, 7 days before the release deadline, to those without a release
    deadline = parse_instant(cal["score_release_deadline"])
    stack.move_clock(deadline - timedelta(days=7) + timedelta(minutes=1))
    wait_for(lambda: any("release your APMLE scores" in m["subject"] for m in mails(stack, b["email"])),
             "the S2 reminder")
    assert not any("release your APMLE" in m["subject"] for m in mails(stack, a["email"]))

    # S3: the NBPME upload
    summary = upload(stack, season, HEADER
                     + "001000001,{},part1,2023-04-18,fail\n".format(a["cms"])
                     + "001000001,{},part1,2023-07-18,pass\n".format(a["cms"])
                     + "001000001,{},part1,2023-07-18,pass\n".format(a["cms"].lower())  # the same row twice
                     + "001000002,N/A,part1,2023-07-18,pass\n"  # b has not released yet: kept unmatched
                     + "001000001,XYZ-000000000,cspe,2023-07-19,pass\n"  # CMS ID differs: never guessed
                     + "001000003,N/A,part1,2023-07-18,passed\n")  # bad row
    assert (summary["rows"], summary["recorded"], summary["duplicates"]) == (6, 2, 1), summary
    assert [u["row"] for u in summary["unmatched"]] == [5, 6] and summary["invalid"][0]["field"] == "result"
    assert attempts(stack, a) == [("part1", "2023-04-18", "fail", True), ("part1", "2023-07-18", "pass", True)]
    refused = stack.admin.post(f"{url}/seasons/{season}/results", data=b"att,cms\n1,2\n",
                               headers={"Content-Type": "text/csv"}, timeout=30)
    assert refused.status_code == 422 and refused.json()["rule"] == "S3"

    # S2 at the deadline: c (no release) is told; b releases late and the kept row is recorded (S3)
    stack.at(cal, "score_release_deadline")
    wait_for(lambda: any("score release is missing" in m["subject"] for m in mails(stack, c["email"])),
             "the S2 missing-release email")
    r = release(stack, b, "001000002", cms_id="N/A")
    assert r.status_code == 200 and r.json()["on_time"] is False
    assert attempts(stack, b) == [("part1", "2023-07-18", "pass", True)]

    # A3 / S4: eligibility
    e = a["session"].get(f"{url}/applicants/{a['id']}/eligibility", timeout=30).json()
    assert e["may_apply"] and e["part1_passed"] and not e["match_eligible"]
    assert c["session"].get(f"{url}/applicants/{c['id']}/eligibility", timeout=30).json()["may_apply"] is False
    table = {"rules": [{"class_from": 2017, "class_to": 2020, "cspe": "required"},
                       {"class_from": 2016, "class_to": 2016, "cspe": "exempt"}]}
    assert stack.admin.put(f"{url}/seasons/{season}/cspe-rules", json=table, timeout=30).status_code == 200
    overlap = {"rules": [*table["rules"], {"class_from": 2020, "class_to": 2030, "cspe": "exempt"}]}
    assert stack.admin.put(f"{url}/seasons/{season}/cspe-rules", json=overlap, timeout=30).status_code == 422

    # S5 at part1_pass_by: c (no Part I pass) is withdrawn from CASPR and told
    stack.at(cal, "part1_pass_by")
    wait_for(lambda: any("withdrawn from the CASPR process" in m["subject"] for m in mails(stack, c["email"])),
             "the S5 withdrawal email at part1_pass_by")
    assert not any("withdrawn" in m["subject"] for m in mails(stack, b["email"]))

    # S5 at part2_pass_by: a passed Part II Written (recorded before the instant), b did not
    upload(stack, season, HEADER + "001000001,{},part2_written,2024-01-10,pass\n".format(a["cms"]))
    stack.at(cal, "part2_pass_by")
    wait_for(lambda: any("withdrawn from the CASPR Match" in m["subject"] for m in mails(stack, b["email"])),
             "the S5 withdrawal email at part2_pass_by")
    assert not any("withdrawn" in m["subject"] for m in mails(stack, a["email"]))
    e = a["session"].get(f"{url}/applicants/{a['id']}/eligibility", timeout=30).json()
    assert e["match_eligible"] and e["part2_written_passed"]


# ----------------------------------------------------------------------------- schemathesis over /scores
MAX_EXAMPLES = 8
OPERATIONS = r"^/scores/"




@pytest.fixture(scope="module")
def scores_schema(stack):
    loaded = schemathesis.openapi.from_url(f"{stack.url}/openapi.json", timeout=30)
    loaded.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "options", "patch"}
    return loaded


@pytest.fixture(scope="module")
def scores_headers(stack):
    program, _ = stack.new_account("program", program_code="919")
    applicant_session, _ = stack.new_account("applicant")
    return {role: {"Authorization": s.headers["Authorization"]}
            for role, s in (("admin", stack.admin), ("program", program), ("applicant", applicant_session))}


schema = schemathesis.pytest.from_fixture("scores_schema").include(path_regex=OPERATIONS)
bounded = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@bounded
def test_scores_schemathesis_no_5xx_and_problem_json(case, scores_headers):
    for headers in scores_headers.values():
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)


def test_scores_schemathesis_covers_the_scores_api(scores_schema):
    labels = {op.ok().label for op in scores_schema.include(path_regex=OPERATIONS).get_all_operations()}
    for expected in ("PUT /scores/applicants/{applicant_id}/release", "POST /scores/seasons/{season}/results",
                     "GET /scores/applicants/{applicant_id}/results", "PUT /scores/seasons/{season}/cspe-rules",
                     "GET /scores/applicants/{applicant_id}/eligibility"):
        assert expected in labels, (expected, sorted(labels))


# ----------------------------------------------------------------------------- the pages (headless Chromium)
CHROMIUM = os.environ.get("CASPR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if path is None:
        reason = "Debian's chromium is not installed: run `make browser` to run the page tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Tab:
    """A browser context of its own (its own sessionStorage); any JavaScript error fails the test."""

    def __init__(self, browser, base: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.base = base
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def sign_in(self, email: str, password: str) -> None:
        self.page.goto(self.base + "/#/signin")
        form = self.page.locator("#signin-form")
        form.locator("[name=email]").fill(email)
        form.locator("[name=password]").fill(password)
        form.locator("button[type=submit]").click()
        self.page.wait_for_function("document.getElementById('who').textContent.includes('(')")

    def close(self) -> None:
        assert not self.errors, f"JavaScript errors on the page: {self.errors}"
        self.context.close()


def test_scores_pages_release_form_and_admin_upload(stack, browser):
    season, _cal = stack.new_season()
    a = applicant(stack, season)
    me, admin = Tab(browser, stack.url), Tab(browser, stack.url)
    try:
        # ---- the applicant's release form: forms shown, the name-at-exam blank on purpose (S1)
        me.sign_in(a["email"], a["password"])
        page = me.page
        page.goto(f"{stack.url}/#/scores")
        form = page.locator("[data-testid=release-form]")
        form.wait_for()
        assert "007885050" in form.text_content() and "PRO-2T8P48F5H" in form.text_content()
        assert "on purpose" in page.locator("[data-testid=name-reason]").text_content()
        form.locator("[name=att_number]").fill("7885050")
        form.locator("[name=name_at_exam]").fill("Ada Byron")
        form.locator("[name=explanation]").fill("Part I taken late: military service.")
        form.locator("[name=authorize_part1]").check()
        form.locator("[name=authorize_part2]").check()
        form.locator("button[type=submit]").click()
        problem = page.locator("[data-testid=problem]")
        problem.wait_for()
        assert "nine digits beginning with 00" in problem.text_content() and "rule S1" in problem.text_content()
        form.locator("[name=att_number]").fill("004000001")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("text=Scores released.")
        page.reload()
        page.locator("[data-testid=released-att]").wait_for()
        assert page.locator("[data-testid=released-att]").text_content() == "004000001"
        assert page.locator("[data-testid=name-at-exam]").input_value() == ""  # never shown back
        assert page.locator("[data-testid=explanation]").input_value() == "Part I taken late: military service."
        page.locator("[data-testid=no-attempts]").wait_for()

        # ---- the administrator's upload page: recorded / duplicates / unmatched / invalid (S3)
        admin.sign_in(stack.admin_email, stack.admin_password)
        apage = admin.page
        apage.goto(f"{stack.url}/#/scores-admin")
        upload_form = apage.locator("[data-testid=upload-form]")
        upload_form.locator("[name=season]").fill(season)
        csv = (HEADER + f"004000001,{a['cms']},part1,2023-07-18,pass\n" + f"004000001,{a['cms']},part1,2023-07-18,pass\n"
               + "004000002,N/A,part1,2023-07-18,pass\n" + "4000003,N/A,part1,2023-07-18,pass\n")
        upload_form.locator("[name=file]").set_input_files(
            files=[{"name": "nbpme.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
        upload_form.locator("button[type=submit]").click()
        apage.wait_for_selector("text=Upload done.")
        assert apage.locator("[data-testid=recorded]").text_content() == "1"
        assert apage.locator("[data-testid=duplicates]").text_content() == "1"
        assert "no score release" in apage.locator("[data-testid=unmatched]").text_content()
        assert "att_number" in apage.locator("[data-testid=invalid]").text_content()
        cspe = apage.locator("[data-testid=cspe-form]")
        cspe.locator("[name=season]").fill(season)
        cspe.locator("[name=rules]").fill("2017-2020 required\n2016 exempt\n1900-2015 not_eligible")
        cspe.locator("button[type=submit]").click()
        apage.wait_for_selector("text=CSPE table saved.")

        # ---- the applicant sees the attempt and may now apply (A3)
        page.reload()
        page.locator("[data-testid=attempt]").wait_for()
        assert "pass" in page.locator("[data-testid=attempts]").text_content()
        assert "yes" in page.locator("[data-testid=eligibility]").text_content()
        page.screenshot(path="/tmp/caspr-pages-scores-applicant.png", full_page=True)
        apage.screenshot(path="/tmp/caspr-pages-scores-admin.png", full_page=True)
    finally:
        me.close()
        admin.close()
