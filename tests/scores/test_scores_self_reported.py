"""S7: previous graduates' self-reported Part II results, unofficial until verified."""

from __future__ import annotations

import boto3
import pytest
from scores_support import REPORTS_BUCKET, register

from shared.contracts import ScoresResultRecorded

pytestmark = pytest.mark.integration
REPORT = {"exam": "part2_written", "exam_date": "2023-02-14", "result": "pass"}


def put_pdf(key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=REPORTS_BUCKET, Key=key, Body=body, ContentType="application/pdf")


def test_s7_a_self_reported_result_is_unofficial_until_an_administrator_verifies_it(api, scores, season):
    a = register(scores, owner="u1", graduation_year=2020)
    r = api.call("POST", f"/applicants/{a}/self-reported", "applicant:u1", REPORT)
    assert r.status_code == 201, r.data
    report = r.data
    assert (report["official"], report["status"]) == (False, "pending")
    assert report["upload"]["method"] == "POST" and "key" in report["upload"]["fields"]
    key = report["upload"]["fields"]["key"]
    got = api.call("GET", f"/applicants/{a}/results", "applicant:u1").data["attempts"]
    assert got == [{"exam": "part2_written", "exam_date": "2023-02-14", "result": "pass", "official": False}]
    assert not api.call("GET", f"/applicants/{a}/eligibility", "applicant:u1").data["part2_written_passed"]
    assert scores.publisher.of(ScoresResultRecorded) == []  # nothing unverified reaches programs
    listed = api.call("GET", "/self-reported", "admin:root").data["self_reported"]
    assert [x["self_reported_id"] for x in listed] == [report["self_reported_id"]]

    verify = f"/self-reported/{report['self_reported_id']}/verification"
    assert api.call("POST", verify, "applicant:u1", {"verified": True}).status_code == 403
    r = api.call("POST", verify, "admin:root", {"verified": True})
    assert r.status_code == 422 and r.data["rule"] == "S7" and "no PDF" in r.data["detail"]
    put_pdf(key, b"GIF89a not a pdf")
    r = api.call("POST", verify, "admin:root", {"verified": True})
    assert r.status_code == 422 and "not a PDF" in r.data["detail"]
    put_pdf(key, b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024))
    r = api.call("POST", verify, "admin:root", {"verified": True})
    assert r.status_code == 422 and "5 MB" in r.data["detail"]
    put_pdf(key, b"%PDF-1.7\n score report")
    r = api.call("POST", verify, "admin:root", {"verified": True})
    assert r.status_code == 200 and (r.data["official"], r.data["status"]) == (True, "verified")
    got = api.call("GET", f"/applicants/{a}/results", "applicant:u1").data["attempts"]
    assert got == [{"exam": "part2_written", "exam_date": "2023-02-14", "result": "pass", "official": True}]
    assert api.call("GET", f"/applicants/{a}/eligibility", "applicant:u1").data["part2_written_passed"]
    event = scores.publisher.of(ScoresResultRecorded)[-1]
    assert (event.official, event.source, event.exam) == (True, "self_reported", "part2_written")
    assert api.call("POST", verify, "admin:root", {"verified": False}).status_code == 409
    assert api.call("GET", "/self-reported", "admin:root").data["self_reported"] == []


def test_s7_a_rejected_result_is_removed(api, scores, season):
    a = register(scores, owner="u1", graduation_year=2019)
    report = api.call("POST", f"/applicants/{a}/self-reported", "applicant:u1", {**REPORT, "exam": "cspe"}).data
    r = api.call("POST", f"/self-reported/{report['self_reported_id']}/verification", "admin:root",
                 {"verified": False})
    assert r.status_code == 200 and r.data["status"] == "rejected" and r.data["official"] is False
    assert api.call("GET", f"/applicants/{a}/results", "applicant:u1").data["attempts"] == []


def test_s7_only_previous_graduates_and_only_part2(api, scores, season):
    current = register(scores, owner="u1", graduation_year=2024)
    r = api.call("POST", f"/applicants/{current}/self-reported", "applicant:u1", REPORT)
    assert r.status_code == 422 and r.data["rule"] == "S7"
    old = register(scores, owner="u2", graduation_year=2018)
    r = api.call("POST", f"/applicants/{old}/self-reported", "applicant:u2", {**REPORT, "exam": "part1"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "exam"
    r = api.call("POST", f"/applicants/{old}/self-reported", "applicant:u2", {**REPORT, "exam_date": "2031-01-01"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "exam_date"
    assert api.call("POST", f"/applicants/{old}/self-reported", "applicant:u1", REPORT).status_code == 403
    assert api.call("POST", "/self-reported/nope/verification", "admin:root", {"verified": True}).status_code == 404
