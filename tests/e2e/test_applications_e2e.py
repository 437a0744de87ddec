"""Applications on the running local stack (issue 10): a whole application from upload to
delivery with the movable clock — PDFs uploaded to the emulator's S3 through presigned POSTs,
letters through the writer's email link, A3/A4 refusals, delivery at applications_delivered,
and the program's review desk."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests

from shared.clock import parse_instant

from .problem_checks import CHECKS
from .test_scores_e2e import HEADER, applicant, mails, release, upload, wait_for

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LETTER_LINK = re.compile(r"https?://\S+/applications/letters/respond\?token=(\S+)")


def program(season: str, code: str, **kw) -> dict:
    return {"season": season, "program_code": code, "name": f"Program {code}", "city": "Chicago", "state": "IL",
            "coth": True, "crip": False, "contact": {"name": "Director"},
            "tracks": [{"track_code": f"{code}1", "name": "PMSR/RRA", "positions": 2}], **kw}


def post_form(upload_form: dict, body: bytes) -> requests.Response:
    """What the browser does with a presigned POST."""
    return requests.post(upload_form["url"], data=upload_form["fields"],
                         files={"file": ("file.pdf", body, "application/pdf")}, timeout=30)


def test_a_whole_application_from_upload_to_delivery_and_the_programs_desk(stack):
    season, cal = stack.new_season()
    base = f"{stack.url}/applications"
    for code in ("101", "102"):
        r = stack.admin.post(f"{stack.url}/registration/programs", json=program(season, code), timeout=30)
        assert r.status_code == 201, r.text
    p101, _ = stack.new_account("program", program_code="101")
    p102, _ = stack.new_account("program", program_code="102")
    a = applicant(stack, season)
    s, aid = a["session"], a["id"]
    wait_for(lambda: s.get(f"{base}/applicants/{aid}", timeout=30).status_code == 200,
             "the applications service to learn of the registration")
    other = applicant(stack, season)
    assert other["session"].get(f"{base}/applicants/{aid}", timeout=30).status_code == 403

    # A1: documents to S3 through presigned POSTs, checked on completion
    for kind in ("personal_statement", "cv"):
        r = s.post(f"{base}/applicants/{aid}/documents", json={"kind": kind, "filename": f"{kind}.pdf",
                                                               "size": len(PDF)}, timeout=30)
        assert r.status_code == 201, r.text
        assert post_form(r.json()["upload"], PDF).status_code in (200, 201, 204)
        done = s.post(f"{base}/applicants/{aid}/documents/{r.json()['document_id']}/completion", timeout=30)
        assert done.status_code == 200 and done.json()["status"] == "present", done.text
    r = s.post(f"{base}/applicants/{aid}/documents", json={"kind": "supplemental", "filename": "x.pdf",
                                                           "size": 10}, timeout=30)
    assert post_form(r.json()["upload"], b"not a pdf").status_code in (200, 201, 204)
    bad = s.post(f"{base}/applicants/{aid}/documents/{r.json()['document_id']}/completion", timeout=30)
    assert bad.status_code == 422 and "not a PDF" in bad.json()["detail"]

    # A1: three letters; the first writer answers through the email link
    writers = [f"writer{i}-{aid}@test.caspr" for i in range(3)]
    letters = []
    for i, email in enumerate(writers):
        r = s.post(f"{base}/applicants/{aid}/letters", json={"writer_name": f"Dr {i}", "writer_email": email,
                                                             "label": "clinical", "waived": True}, timeout=30)
        assert r.status_code == 201, r.text
        letters.append(r.json()["letter_id"])
    token = wait_for(lambda: next((m.group(1) for msg in mails(stack, writers[0])
                                   for m in [LETTER_LINK.search(msg["body"])] if m), None), "the writer's email")
    page = requests.get(f"{base}/letters/respond", params={"token": token}, timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    q = {"token": token}
    assert requests.post(f"{base}/letters/{letters[1]}/response", params=q, json={"accept": True},
                         timeout=30).status_code == 403  # the link is for another letter
    r = requests.post(f"{base}/letters/{letters[0]}/response", params=q, json={"accept": True}, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    form = requests.post(f"{base}/letters/{letters[0]}/upload", params=q, timeout=30).json()["upload"]
    assert post_form(form, PDF).status_code in (200, 201, 204)
    r = requests.post(f"{base}/letters/{letters[0]}/completion", params=q, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "received", r.text
    seen = s.get(f"{base}/applicants/{aid}", timeout=30).json()
    assert [x["status"] for x in seen["letters"]] == ["received", "requested", "requested"]

    # submission (A1, A7), then A3: no Part I pass yet
    r = s.post(f"{base}/applicants/{aid}/submission", timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.text
    r = s.post(f"{base}/applicants/{aid}/designations", json={"program_code": "101"}, timeout=30)
    assert r.status_code == 422 and r.json()["rule"] == "A3", r.text

    # the Part I pass (scores) -> may apply -> designate 101: one credit, delivered later
    assert release(stack, a, "001000001").status_code == 200
    upload(stack, season, HEADER + "001000001,{},part1,2023-07-18,pass\n".format(a["cms"]))
    wait_for(lambda: s.get(f"{base}/applicants/{aid}", timeout=30).json()["may_apply"], "the Part I pass")
    r = s.post(f"{base}/applicants/{aid}/designations", json={"program_code": "101"}, timeout=30)
    assert r.status_code == 201, r.text
    assert r.json()["credits_left"] == 11 and r.json()["delivered_at"] is None
    assert s.post(f"{base}/applicants/{aid}/designations", json={"program_code": "101"},
                  timeout=30).status_code == 409
    assert p101.get(f"{base}/programs/101/applications/{aid}", params={"season": season},
                    timeout=30).status_code == 404  # nothing before delivery

    # A4: after the default deadline, 102 is refused
    stack.at(cal, "application_deadline_default")
    r = s.post(f"{base}/applicants/{aid}/designations", json={"program_code": "102"}, timeout=30)
    assert r.status_code == 422 and r.json()["rule"] == "A4", r.text

    # A5: delivered at applications_delivered
    stack.at(cal, "applications_delivered")
    delivered = wait_for(lambda: s.get(f"{base}/applicants/{aid}/designations", timeout=30).json()
                         ["designations"][0]["delivered_at"], "the delivery")
    assert parse_instant(delivered) == parse_instant(cal["applications_delivered"])

    # A6: the program's desk
    rows = p101.get(f"{base}/programs/101/applications", params={"season": season}, timeout=30).json()
    assert [x["applicant_id"] for x in rows["applications"]] == [aid]
    assert rows["applications"][0]["letters_received"] == 1
    assert p102.get(f"{base}/programs/102/applications", params={"season": season},
                    timeout=30).json()["applications"] == []
    assert p102.get(f"{base}/programs/101/applications", params={"season": season}, timeout=30).status_code == 403
    one = p101.get(f"{base}/programs/101/applications/{aid}", params={"season": season}, timeout=30).json()
    [letter] = one["letters"]
    assert letter["waived"] is True
    assert requests.get(letter["download_url"], timeout=30).content.startswith(b"%PDF-")
    r = p101.patch(f"{base}/programs/101/applications/{aid}", params={"season": season},
                   json={"rating": 4, "review_status": "invite", "tags": ["strong"]}, timeout=30)
    assert r.status_code == 200 and r.json()["review_status"] == "invite"
    csv = p101.get(f"{base}/programs/101/applications.csv", params={"season": season, "tag": "strong"}, timeout=30)
    assert csv.status_code == 200 and aid in csv.text
    packet = p101.get(f"{base}/programs/101/applications/{aid}/packet.pdf", params={"season": season},
                      allow_redirects=False, timeout=60)
    assert packet.status_code == 303, packet.text
    pdf = requests.get(packet.headers["Location"], timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert p102.get(f"{base}/programs/101/applications/{aid}/packet.pdf", params={"season": season},
                    allow_redirects=False, timeout=60).status_code == 403

    # after delivery a designation is delivered at once (program 101's own later deadline)
    later = parse_instant(cal["applications_delivered"]) + timedelta(days=1)
    r = stack.admin.patch(f"{stack.url}/registration/programs/102", params={"season": season},
                          json={"application_deadline": (later + timedelta(days=5)).isoformat()}, timeout=30)
    assert r.status_code == 200, r.text
    wait_for(lambda: s.post(f"{base}/applicants/{aid}/designations", json={"program_code": "102"},
                            timeout=30).status_code == 201, "program 102's new deadline")
    got = s.get(f"{base}/applicants/{aid}/designations", timeout=30).json()
    assert got["credits_left"] == 10 and all(d["delivered_at"] for d in got["designations"])


def test_a5_twelve_credits_fifteen_simultaneous_designations_over_http_exactly_twelve(stack):
    """The credit race on the local stack (its emulator serializes writes, as DynamoDB does)."""
    from concurrent.futures import ThreadPoolExecutor

    season, cal = stack.new_season()
    base = f"{stack.url}/applications"
    codes = [f"{300 + i}" for i in range(15)]
    for code in codes:
        r = stack.admin.post(f"{stack.url}/registration/programs", json=program(season, code), timeout=30)
        assert r.status_code == 201, r.text
    a = applicant(stack, season)
    s, aid = a["session"], a["id"]
    wait_for(lambda: s.get(f"{base}/applicants/{aid}", timeout=30).status_code == 200, "the registration")
    for kind in ("personal_statement", "cv"):
        r = s.post(f"{base}/applicants/{aid}/documents", json={"kind": kind, "filename": "x.pdf", "size": len(PDF)},
                   timeout=30)
        post_form(r.json()["upload"], PDF)
        assert s.post(f"{base}/applicants/{aid}/documents/{r.json()['document_id']}/completion",
                      timeout=30).status_code == 200
    for i in range(3):
        assert s.post(f"{base}/applicants/{aid}/letters", json={"writer_name": "W", "writer_email":
                      f"race{i}-{aid}@test.caspr", "label": "", "waived": False}, timeout=30).status_code == 201
    assert s.post(f"{base}/applicants/{aid}/submission", timeout=30).status_code == 200
    assert release(stack, a, "001000002").status_code == 200
    upload(stack, season, HEADER + "001000002,{},part1,2023-07-18,pass\n".format(a["cms"]))
    wait_for(lambda: s.get(f"{base}/applicants/{aid}", timeout=30).json()["may_apply"], "the Part I pass")
    wait_for(lambda: s.get(f"{stack.url}/registration/programs/{codes[-1]}", params={"season": season},
                           timeout=30).status_code == 200, "the programs")

    def one(code):
        session = requests.Session()
        session.headers.update(s.headers)
        return session.post(f"{base}/applicants/{aid}/designations", json={"program_code": code}, timeout=120)

    with ThreadPoolExecutor(15) as pool:
        answers = list(pool.map(one, codes))
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) == 12, [(r.status_code, r.text[:200]) for r in answers]
    refused = [r.json() for r in answers if r.status_code != 201]
    assert len(refused) == 3 and all(p["rule"] == "A5" for p in refused), refused
    got = s.get(f"{base}/applicants/{aid}/designations", timeout=30).json()
    assert got["credits_left"] == 0 and len(got["designations"]) == 12

    # R4/A5: credits_left agrees in /registration once application.designated.v1 has settled
    from shared.contracts.subscriptions import SUBSCRIPTIONS

    if "application.designated.v1" in SUBSCRIPTIONS["registration"]:
        wait_for(lambda: s.get(f"{stack.url}/registration/applicants/{aid}", timeout=30).json()["credits_left"] == 0,
                 "registration to count the credits used")


# ----------------------------------------------------------------------------- schemathesis

import schemathesis  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

OPERATIONS = r"^/applications/"




@pytest.fixture(scope="module")
def applications_schema(stack):
    loaded = schemathesis.openapi.from_url(f"{stack.url}/openapi.json", timeout=30)
    loaded.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "patch"}
    return loaded


@pytest.fixture(scope="module")
def role_headers(stack):
    applicant_session, _ = stack.new_account("applicant")
    program_session, _ = stack.new_account("program", program_code="101")
    college_session, _ = stack.new_account("college", college="TUSPM")
    return {"admin": {"Authorization": stack.admin.headers["Authorization"]},
            "applicant": {"Authorization": applicant_session.headers["Authorization"]},
            "program": {"Authorization": program_session.headers["Authorization"]},
            "college": {"Authorization": college_session.headers["Authorization"]}}


applications_operations = schemathesis.pytest.from_fixture("applications_schema").include(path_regex=OPERATIONS)


@applications_operations.parametrize()
@settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_applications_no_5xx_and_problem_json(case, role_headers):
    for headers in role_headers.values():
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)


# ----------------------------------------------------------------------------- pages (headless Chromium)
def test_pages_an_applicant_builds_an_application_a_writer_uploads_and_a_program_reviews(stack, tmp_path):
    from tests.e2e.test_pages_e2e import CHROMIUM_ARGS, _chromium

    path = _chromium()
    if path is None:
        pytest.skip("Debian's chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    season, cal = stack.new_season()
    stack.admin.post(f"{stack.url}/registration/programs", json=program(season, "101"), timeout=30)
    _p101, p101_account = stack.new_account("program", program_code="101")
    _college, college_account = stack.new_account("college", college="TUSPM")
    a = applicant(stack, season)
    aid = a["id"]
    wait_for(lambda: a["session"].get(f"{stack.url}/applications/applicants/{aid}", timeout=30).status_code == 200,
             "the registration")
    pdf_file = tmp_path / "statement.pdf"
    pdf_file.write_bytes(PDF)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            def tab():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                return page

            def sign_in(page, email, password):
                page.goto(f"{stack.url}/#/signin")
                page.locator("#signin-form [name=email]").fill(email)
                page.locator("#signin-form [name=password]").fill(password)
                page.locator("#signin-form button[type=submit]").click()
                page.wait_for_function("document.getElementById('who').textContent.includes('(')")

            # the applicant: two uploads, three letter requests, submission
            page = tab()
            sign_in(page, a["email"], a["password"])
            page.goto(f"{stack.url}/#/application")
            card = page.locator("[data-testid=application-card]")
            card.locator("[data-testid=application-status]").wait_for()
            for n, kind in enumerate(("personal_statement", "cv"), start=1):
                card.locator("[data-testid=document-kind]").select_option(kind)
                card.locator("[data-testid=document-file]").set_input_files(str(pdf_file))
                card.locator("[data-testid=upload-form] button").click()
                page.wait_for_function(f"document.querySelectorAll('[data-testid=document]').length === {n}")
            assert card.locator("[data-testid=document]").all_text_contents()[1].count("present") == 1
            for i in range(3):
                form = card.locator("[data-testid=letter-form]")
                form.locator("[name=writer_name]").fill(f"Dr {i}")
                form.locator("[name=writer_email]").fill(f"page{i}-{aid}@test.caspr")
                form.locator("button[type=submit]").click()
                page.wait_for_function(f"document.querySelectorAll('[data-testid=letter]').length === {i + 1}")
            card.locator("[data-testid=submit-application]").click()
            page.wait_for_selector("[data-testid=submitted]")
            assert card.locator("[data-testid=application-status]").text_content() == "submitted"
            page.screenshot(path="/tmp/caspr-pages-application.png", full_page=True)

            # the writer: the email link, accept, upload
            token = wait_for(lambda: next((m.group(1) for msg in mails(stack, f"page0-{aid}@test.caspr")
                                           for m in [LETTER_LINK.search(msg["body"])] if m), None), "the email")
            writer = tab()
            writer.goto(f"{stack.url}/applications/letters/respond?token={token}")
            writer.locator("#accept").click()
            writer.locator("#upload").wait_for(state="visible")
            writer.locator("#file").set_input_files(str(pdf_file))
            writer.locator("#upload button").click()
            writer.wait_for_selector("#done", state="visible")
            page.reload()
            page.wait_for_function("[...document.querySelectorAll('[data-testid=letter-status]')]"
                                   ".some((e) => e.textContent === 'received')")

            # sent (the Part I pass and the designation through the API), delivered, reviewed on the desk
            assert release(stack, a, "001000003").status_code == 200
            upload(stack, season, HEADER + "001000003,{},part1,2023-07-18,pass\n".format(a["cms"]))
            wait_for(lambda: a["session"].get(f"{stack.url}/applications/applicants/{aid}", timeout=30)
                     .json()["may_apply"], "the Part I pass")
            page.reload()
            card.locator("[data-testid=program-pick]").select_option("101")
            card.locator("[data-testid=designate-form] button").click()
            page.wait_for_selector("text=Application sent.")
            stack.at(cal, "applications_delivered")
            wait_for(lambda: a["session"].get(f"{stack.url}/applications/applicants/{aid}/designations",
                                              timeout=30).json()["designations"][0]["delivered_at"], "the delivery")
            desk = tab()
            sign_in(desk, p101_account["email"], p101_account["password"])
            desk.goto(f"{stack.url}/#/review")
            filters = desk.locator("[data-testid=review-filters]")
            filters.locator("[name=season]").fill(season)
            filters.locator("button[type=submit]").click()
            desk.locator("[data-testid=review-row]").first.wait_for()
            assert desk.locator("[data-testid=review-row]").count() == 1
            desk.locator("[data-testid=review-row] button").click()
            form = desk.locator("[data-testid=review-form]")
            form.locator("[name=rating]").fill("5")
            form.locator("[name=review_status]").select_option("invite")
            form.locator("button[type=submit]").click()
            desk.wait_for_selector("text=Review saved.")
            assert desk.locator("[data-testid=review-letters] li").count() == 1
            with desk.context.expect_page() as popup:
                desk.locator("[data-testid=packet]").click()
            assert "/packets/101/" in popup.value.url

            # the college: its students' progress, a record and a transcript
            college = tab()
            sign_in(college, college_account["email"], college_account["password"])
            college.goto(f"{stack.url}/#/college")
            form = college.locator("[data-testid=students-form]")
            form.locator("[name=season]").fill(season)
            form.locator("button[type=submit]").click()
            student = college.locator("[data-testid=student]").filter(has_text="Lovelace")
            student.first.wait_for()
            assert "101" in student.first.text_content()
            record = student.first.locator("[data-testid=record-form]")
            record.locator("[name=gpa]").fill("3.6")
            record.locator("button[type=submit]").click()
            college.wait_for_selector("text=Record saved.")
            student.first.locator("[data-testid=college-file]").set_input_files(str(pdf_file))
            student.first.locator("[data-testid=college-upload] button").click()
            college.wait_for_selector("text=Uploaded.")
            got = a["session"].get(f"{stack.url}/applications/applicants/{aid}", timeout=30).json()["college_record"]
            assert got["gpa"] == 3.6 and [d["kind"] for d in got["documents"]] == ["transcript"]
            desk.screenshot(path="/tmp/caspr-pages-review.png", full_page=True)
        finally:
            browser.close()
    assert not errors, errors


def test_schemathesis_covers_the_applications_operations(applications_schema):
    labels = {op.ok().label for op in applications_schema.include(path_regex=OPERATIONS).get_all_operations()}
    for expected in ("POST /applications/applicants/{applicant_id}/designations",
                     "POST /applications/applicants/{applicant_id}/documents",
                     "POST /applications/letters/{letter_id}/response",
                     "PUT /applications/colleges/{college}/students/{applicant_id}/record",
                     "PATCH /applications/programs/{code}/applications/{applicant_id}",
                     "GET /applications/programs/{code}/applications/{applicant_id}/packet.pdf"):
        assert expected in labels, (expected, sorted(labels))
