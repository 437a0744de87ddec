"""The scores service over HTTP on the embedded emulator (chalice test client + moto)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from scores_support import CALENDAR, SEASON, register

from shared.contracts import (
    ScoresMayApply,
    ScoresReleased,
    ScoresReleaseMissing,
    ScoresResultRecorded,
    ScoresWithdrawalDue,
    SeasonDeadlineReached,
)

pytestmark = pytest.mark.integration
HEADER = "att_number,cms_id,exam,exam_date,result\n"


def form(att="007885050", cms="PRO-2T8P48F5H", **extra):
    return {"att_number": att, "cms_id": cms, "name_at_exam": "Ada Lovelace", "explanation": "first try in July",
            "authorize_part1": True, "authorize_part2": True, **extra}


def release(api, applicant_id, token, **kw):
    return api.call("PUT", f"/applicants/{applicant_id}/release", token, form(**kw))


# ----------------------------------------------------------------------------- S1, S2
def test_s1_release_put_and_get_never_show_the_name_at_exam(api, scores, season):
    a = register(scores, owner="u1")
    r = release(api, a, "applicant:u1", cms="pro-2t8p48f5h")
    assert r.status_code == 200, r.data
    assert r.data["name_at_exam"] == "" and r.data["cms_id"] == "PRO-2T8P48F5H" and r.data["on_time"] is True
    assert r.data["att_number"] == "007885050" and r.data["authorize_part1"] and r.data["authorize_part2"]
    assert scores.store.release(a).name_at_exam == "Ada Lovelace"  # stored
    got = api.call("GET", f"/applicants/{a}/release", "applicant:u1")
    assert got.status_code == 200 and got.data == r.data
    event = scores.publisher.of(ScoresReleased)[-1]
    assert event.applicant_id == a and "name_at_exam" not in event.model_dump()


def test_s1_refusals_name_the_field_and_the_expected_form(api, scores, season):
    a = register(scores, owner="u1")
    r = release(api, a, "applicant:u1", att="7885050")
    assert r.status_code == 422 and r.data["rule"] == "S1" and r.data["type"].endswith("/S1")
    assert "nine digits beginning with 00" in r.data["errors"][0]["message"]
    r = release(api, a, "applicant:u1", cms="PRO2T8")
    assert r.status_code == 422 and "PRO-2T8P48F5H" in r.data["errors"][0]["message"]
    r = release(api, a, "applicant:u1", authorize_part2=False)
    assert r.status_code == 422 and r.data["errors"] == [
        {"field": "authorize_part2", "message": "must be true: the release is signed for this part"}]
    r = release(api, a, "applicant:u1", explanation="x" * 2001)
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "explanation"
    assert r.headers["Content-Type"] == "application/problem+json"
    assert api.call("GET", f"/applicants/{a}/release", "applicant:u1").status_code == 404


def test_s1_an_applicant_touches_only_their_own_release(api, scores, season):
    a, b = register(scores, owner="u1"), register(scores, owner="u2")
    assert release(api, a, "applicant:u1").status_code == 200
    assert api.call("GET", f"/applicants/{a}/release", "applicant:u2").status_code == 403
    assert release(api, a, "applicant:u2").status_code == 403
    assert api.call("GET", f"/applicants/{a}/release", "program:p1").status_code == 403
    assert api.call("GET", f"/applicants/{a}/release").status_code == 401
    assert api.call("GET", f"/applicants/{a}/release", "admin:root").status_code == 200
    assert api.call("GET", "/applicants/nobody/release", "admin:root").status_code == 404
    # one ATT number a season (S1): b cannot take a's
    r = release(api, b, "applicant:u2")
    assert r.status_code == 409 and r.data["errors"][0]["field"] == "att_number"
    assert release(api, b, "admin:root", att="001111111", cms="N/A").status_code == 200


def test_s1_changing_the_release_keeps_the_first_instant_and_moves_the_att_number(api, scores, season, clock):
    a, b = register(scores, owner="u1"), register(scores, owner="u2")
    first = release(api, a, "applicant:u1").data
    clock.set(clock.now() + timedelta(days=1))
    again = release(api, a, "applicant:u1", att="002222222", explanation="")
    assert again.status_code == 200 and again.data["released_at"] == first["released_at"]
    assert again.data["explanation"] == ""
    assert release(api, b, "applicant:u2").status_code == 200  # the old ATT number is free again
    assert scores.publisher.of(ScoresReleased)[-2].version == 2


def test_s2_a_release_after_the_deadline_is_not_on_time(api, scores, season, clock):
    a = register(scores, owner="u1")
    clock.set(CALENDAR["score_release_deadline"] + timedelta(minutes=1))
    r = release(api, a, "applicant:u1")
    assert r.status_code == 200 and r.data["on_time"] is False


def test_s2_at_the_deadline_the_applicants_without_a_release_are_told(api, scores, season, clock):
    from scores_support import deliver_outbox

    from scores import handlers

    released, missing = register(scores, owner="u1"), register(scores, owner="u2")
    assert release(api, released, "applicant:u1").status_code == 200
    at = CALENDAR["score_release_deadline"]
    clock.set(at)
    event = SeasonDeadlineReached(season=SEASON, key="score_release_deadline", at=at)
    handlers.record_deadline(scores, event)
    handlers.record_deadline(scores, event)  # redelivered: told once
    deliver_outbox()
    assert [e.applicant_id for e in scores.publisher.of(ScoresReleaseMissing)] == [missing]
    assert [m.to for m in scores.mailer.sent] == [f"{missing}@test.caspr"]
    assert "may not be marked complete" in scores.mailer.sent[0].body


def test_s2_a_reminder_seven_days_before_the_deadline(api, scores, season, clock):
    from scores_support import deliver_outbox

    from scores import handlers

    released, missing = register(scores, owner="u1"), register(scores, owner="u2")
    assert release(api, released, "applicant:u1").status_code == 200
    clock.set(CALENDAR["score_release_deadline"] - timedelta(days=7, minutes=1))
    assert handlers.send_reminders(scores) == 0  # not yet
    clock.set(CALENDAR["score_release_deadline"] - timedelta(days=7))
    assert handlers.send_reminders(scores) == 1
    assert handlers.send_reminders(scores) == 0  # once
    deliver_outbox()
    assert [m.to for m in scores.mailer.sent] == [f"{missing}@test.caspr"]
    assert "release" in scores.mailer.sent[0].subject


# ----------------------------------------------------------------------------- S3, S6
def test_s3_upload_records_matches_reports_and_keeps_every_attempt(api, scores, season):
    a, b = register(scores, owner="u1"), register(scores, owner="u2")
    assert release(api, a, "applicant:u1").status_code == 200
    assert release(api, b, "applicant:u2", att="001111111", cms="N/A").status_code == 200
    csv = (HEADER
           + "007885050,PRO-2T8P48F5H,part1,2023-04-18,fail\n"     # a: first attempt
           + "007885050,pro-2t8p48f5h,part1,2023-07-18,pass\n"     # a: second attempt
           + "007885050,PRO-2T8P48F5H,part1,2023-07-18,pass\n"     # the same row again
           + "001111111,ABC-123456789,part2_written,2024-02-01,pass\n"  # b said N/A: ATT alone
           + "007885050,XYZ-999999999,cspe,2023-07-19,pass\n"      # CMS ID differs: never guessed
           + "003333333,N/A,part1,2023-07-18,pass\n"               # no release (yet)
           + "003333333,N/A,part1,2023-07-18,maybe\n")             # bad row
    r = api.upload(SEASON, csv)
    assert r.status_code == 200, r.data
    d = r.data
    assert (d["rows"], d["recorded"], d["duplicates"]) == (7, 3, 1)
    assert [(u["row"], u["att_number"]) for u in d["unmatched"]] == [(6, "007885050"), (7, "003333333")]
    assert "another CMS ID" in d["unmatched"][0]["reason"] and "no score release" in d["unmatched"][1]["reason"]
    assert d["invalid"] == [{"row": 8, "field": "result", "message": "pass or fail"}]
    got = api.call("GET", f"/applicants/{a}/results", "applicant:u1").data
    assert got == {"attempts": [
        {"exam": "part1", "exam_date": "2023-04-18", "result": "fail", "official": True},
        {"exam": "part1", "exam_date": "2023-07-18", "result": "pass", "official": True}]}
    # S6: the events say from when programs may see them
    recorded = scores.publisher.of(ScoresResultRecorded)
    assert len(recorded) == 3
    assert {e.exam: e.visible_from for e in recorded} == {
        "part1": CALENDAR["scores_uploaded"], "part2_written": CALENDAR["part2_uploaded"]}
    assert [e.applicant_id for e in scores.publisher.of(ScoresMayApply)] == [a]  # A3, once
    # the same file again: everything seen before is a duplicate, nothing recorded twice
    again = api.upload(SEASON, csv).data
    assert (again["recorded"], again["duplicates"], len(again["unmatched"])) == (0, 4, 2)
    assert len(api.call("GET", f"/applicants/{a}/results", "admin:root").data["attempts"]) == 2
    assert len(scores.publisher.of(ScoresMayApply)) == 1


def test_s3_an_unmatched_row_is_recorded_when_a_later_release_matches_it(api, scores, season):
    a = register(scores, owner="u1")
    r = api.upload(SEASON, HEADER + "003333333,N/A,part1,2023-07-18,pass\n"
                   + "003333333,PRO-000000001,cspe,2023-07-18,pass\n")
    assert r.data["recorded"] == 0 and len(r.data["unmatched"]) == 2
    assert release(api, a, "applicant:u1", att="003333333", cms="PRO-000000001").status_code == 200
    got = api.call("GET", f"/applicants/{a}/results", "applicant:u1").data["attempts"]
    assert [(x["exam"], x["result"]) for x in got] == [("cspe", "pass")]  # the N/A row's CMS ID differs
    kept = api.call("GET", f"/seasons/{SEASON}/results/unmatched", "admin:root").data["unmatched"]
    assert [(k["att_number"], k["cms_id"], k["exam"]) for k in kept] == [("003333333", "N/A", "part1")]
    assert "another CMS ID" in kept[0]["reason"] or "no score release" in kept[0]["reason"]
    assert api.call("GET", f"/seasons/{SEASON}/results/unmatched", "applicant:u1").status_code == 403
    again = api.upload(SEASON, HEADER + "003333333,PRO-000000001,cspe,2023-07-18,pass\n").data
    assert again["duplicates"] == 1 and again["recorded"] == 0


@pytest.mark.parametrize("body,ctype", [
    ("att,cms\n1,2\n", "text/csv"),
    ("", "text/csv"),
    ("007885050,N/A,part1,2023-07-18,pass\n", "text/csv"),
    ("%PDF-1.7\n\x00\x00binary", "application/octet-stream"),
    ('{"rows": []}', "application/json"),
])
def test_s3_a_file_that_is_not_the_csv_is_refused_whole(api, scores, season, body, ctype):
    a = register(scores, owner="u1")
    assert release(api, a, "applicant:u1").status_code == 200
    r = api.upload(SEASON, body, content_type=ctype)
    assert r.status_code == 422 and r.data["rule"] == "S3", r.data
    assert r.headers["Content-Type"] == "application/problem+json"
    assert api.call("GET", f"/applicants/{a}/results", "applicant:u1").data == {"attempts": []}


def test_s3_only_administrators_upload_and_programs_never_read_results(api, scores, season):
    a = register(scores, owner="u1")
    assert api.upload(SEASON, HEADER, token="applicant:u1").status_code == 403
    assert api.upload(SEASON, HEADER, token="program:p1").status_code == 403
    assert api.upload("20x4", HEADER).status_code == 422
    assert api.upload(SEASON, HEADER, content_type="application/pdf").status_code == 415
    assert api.call("GET", f"/applicants/{a}/results", "program:p1").status_code == 403
    assert api.call("GET", f"/applicants/{a}/results", "applicant:u2").status_code == 403
    assert api.call("GET", f"/applicants/{a}/eligibility", "program:p1").status_code == 403


def test_s3_ten_thousand_rows_in_one_request(api, scores, season):
    """10,000 rows in one request: 2,500 distinct rows (2,000 of released ATT numbers, 500 kept
    unmatched), each four times (the emulator in this process writes one transaction at a time,
    so the distinct rows are kept to what it writes in seconds)."""
    ids = [register(scores, owner=f"u{i}") for i in range(40)]
    for i, a in enumerate(ids):
        assert release(api, a, "admin:root", att=f"00{i:07d}", cms="N/A").status_code == 200
    distinct = [f"00{j % 50:07d},N/A,part1,{datetime(2000, 1, 1) + timedelta(days=j // 50):%Y-%m-%d},"
                f"{'pass' if j % 3 else 'fail'}" for j in range(2500)]
    rows = [distinct[i % 2500] for i in range(10000)]
    started = time.monotonic()
    r = api.upload(SEASON, HEADER + "\n".join(rows) + "\n", deliver=False)
    took = time.monotonic() - started
    assert r.status_code == 200
    assert (r.data["rows"], r.data["recorded"], r.data["duplicates"], len(r.data["unmatched"])) == (
        10000, 2000, 7500, 500)
    assert len(api.call("GET", f"/applicants/{ids[7]}/results", "admin:root", deliver=False).data["attempts"]) == 50
    print(f"10,000 rows: {took:.1f} s")


# ----------------------------------------------------------------------------- S4, A3
def test_s4_the_cspe_table_overlaps_refused_and_eligibility(api, scores, season):
    table = {"rules": [{"class_from": 2017, "class_to": 2020, "cspe": "required"},
                       {"class_from": 2016, "class_to": 2016, "cspe": "exempt"},
                       {"class_from": 2015, "class_to": 2015, "cspe": "required"},
                       {"class_from": 1900, "class_to": 2014, "cspe": "not_eligible"}]}
    assert api.call("GET", f"/seasons/{SEASON}/cspe-rules", "program:p1").data["rules"] == []
    r = api.call("PUT", f"/seasons/{SEASON}/cspe-rules", "admin:root", table)
    assert r.status_code == 200 and r.data["version"] == 1 and r.data["rules"][0]["class_from"] == 1900
    assert api.call("PUT", f"/seasons/{SEASON}/cspe-rules", "applicant:u1", table).status_code == 403
    overlap = {"rules": [*table["rules"], {"class_from": 2020, "class_to": 2024, "cspe": "exempt"}]}
    r = api.call("PUT", f"/seasons/{SEASON}/cspe-rules", "admin:root", overlap)
    assert r.status_code == 422 and r.data["rule"] == "S4"
    got = api.call("GET", f"/seasons/{SEASON}/cspe-rules", "applicant:u1").data
    assert got["version"] == 1 and len(got["rules"]) == 4

    a = register(scores, owner="u1", graduation_year=2019)
    assert release(api, a, "applicant:u1").status_code == 200
    e = api.call("GET", f"/applicants/{a}/eligibility", "applicant:u1").data
    assert e["cspe"] == "required" and not e["may_apply"] and not e["match_eligible"] and e["reasons"]
    api.upload(SEASON, HEADER + "007885050,PRO-2T8P48F5H,part1,2023-07-18,pass\n"
               "007885050,PRO-2T8P48F5H,part2_written,2024-02-01,pass\n")
    e = api.call("GET", f"/applicants/{a}/eligibility", "applicant:u1").data
    assert e["may_apply"] and e["part2_written_passed"] and not e["cspe_passed"] and not e["match_eligible"]
    api.upload(SEASON, HEADER + "007885050,PRO-2T8P48F5H,cspe,2024-02-02,pass\n")
    e = api.call("GET", f"/applicants/{a}/eligibility", "applicant:u1").data
    assert e["match_eligible"] and e["reasons"] == []


# ----------------------------------------------------------------------------- S5
def test_s5_withdrawals_on_schedule_once_and_prevented_by_a_recorded_pass(api, scores, season, clock):
    from scores_support import deliver_outbox

    from scores import handlers

    passed_all = register(scores, owner="u1", graduation_year=2016)
    part1_only = register(scores, owner="u2", graduation_year=2016)
    nothing = register(scores, owner="u3", graduation_year=2016)
    for i, a in enumerate((passed_all, part1_only, nothing)):
        assert release(api, a, "admin:root", att=f"00000000{i}", cms="N/A").status_code == 200
    api.upload(SEASON, HEADER + "000000000,N/A,part1,2023-07-18,pass\n000000000,N/A,part2_written,2024-02-01,pass\n"
               "000000001,N/A,part1,2023-07-18,pass\n000000002,N/A,part1,2023-07-18,fail\n")
    for key in ("part1_pass_by", "part2_pass_by"):
        at = CALENDAR[key]
        clock.set(at)
        handlers.record_deadline(scores, SeasonDeadlineReached(season=SEASON, key=key, at=at))
        handlers.record_deadline(scores, SeasonDeadlineReached(season=SEASON, key=key, at=at))
    deliver_outbox()
    due = [(e.applicant_id, e.scope, e.rule) for e in scores.publisher.of(ScoresWithdrawalDue)]
    assert sorted(due) == sorted([(nothing, "caspr", "S5"), (part1_only, "match", "S5"), (nothing, "match", "S5")])
    assert all(e.reason.startswith("S5") for e in scores.publisher.of(ScoresWithdrawalDue))
    assert sorted(m.to for m in scores.mailer.sent) == sorted(
        [f"{nothing}@test.caspr", f"{part1_only}@test.caspr", f"{nothing}@test.caspr"])


def test_s5_withdrawn_applicants_are_not_withdrawn_again(api, scores, season, clock):
    from scores import handlers
    from shared.contracts import ApplicantWithdrawn

    a = register(scores, owner="u1")
    handlers.on_applicant_withdrawn(scores, ApplicantWithdrawn(season=SEASON, applicant_id=a, reason="R7",
                                                                version=2))
    assert handlers.withdraw_for_scores(scores, SEASON, "caspr", "part1_pass_by", datetime.now(UTC)) == 0


def test_s2_an_applicant_registered_after_the_deadline_is_told_at_once(api, scores, season, clock):
    from scores_support import deliver_outbox

    clock.set(CALENDAR["score_release_deadline"] + timedelta(days=2))
    late = register(scores, owner="u9")
    deliver_outbox()
    assert [e.applicant_id for e in scores.publisher.of(ScoresReleaseMissing)] == [late]
    assert [m.to for m in scores.mailer.sent] == [f"{late}@test.caspr"]


def test_s3_a_release_committed_during_an_upload_still_gets_its_rows(api, scores, season):
    from scores.adapters.store import ScoresStore

    class StaleReleases(ScoresStore):
        """The upload read the releases just before a release committed."""

        calls = 0

        def releases(self, season):
            StaleReleases.calls += 1
            return {} if StaleReleases.calls == 1 else super().releases(season)

    a = register(scores, owner="u1")
    assert release(api, a, "applicant:u1").status_code == 200
    scores.store = StaleReleases()
    r = api.upload(SEASON, HEADER + "007885050,PRO-2T8P48F5H,part1,2023-07-18,pass\n")
    assert len(r.data["unmatched"]) == 1  # what the upload saw
    got = api.call("GET", f"/applicants/{a}/results", "applicant:u1").data["attempts"]
    assert [(x["exam"], x["result"]) for x in got] == [("part1", "pass")]  # recorded all the same
    assert scores.store.unmatched(SEASON) == []


def test_s1_path_ids_are_checked_and_an_admin_registered_applicant_is_theirs_by_email(api, scores, season):
    for path in (f"/applicants/{'x' * 3000}/release", "/applicants/a%20b/results", "/applicants/%C3%A9/eligibility"):
        r = api.call("GET", path, "admin:root")
        assert r.status_code == 422 and r.data["errors"][0]["field"] == "applicant_id", (path, r.data)
    r = api.call("POST", f"/self-reported/{'y' * 100}/verification", "admin:root", {"verified": True})
    assert r.status_code == 422
    a = register(scores, owner=None, email="ada@test.caspr")  # registered by an administrator
    assert release(api, a, "applicant:ada@test.caspr").status_code == 200
    assert api.call("GET", f"/applicants/{a}/release", "applicant:someone@test.caspr").status_code == 403


# ----------------------------------------------------------------------------- AWS calls per request / event
def test_a_release_reads_the_registrant_and_the_release_in_one_batch_get(api, scores, season):
    from tests.fakes import aws_calls

    a = register(scores, owner="u1")
    with aws_calls() as made:
        assert api.call("PUT", f"/applicants/{a}/release", "applicant:u1", form(), deliver=False).status_code == 200
    # registrant + release, the calendar (on_time), the save with its event, the NBPME rows kept (S3)
    assert made == {"BatchGetItem": 1, "GetItem": 1, "TransactWriteItems": 1, "Query": 1}
    assert release(api, a, "applicant:u1", att="007885051").status_code == 200  # the release read is the stored one
    assert scores.store.release(a).version == 2 and scores.store.release(a).att_number == "007885051"
    assert release(api, "app-nobody", "applicant:u1").status_code == 404


def test_the_registered_projection_costs_one_write_and_no_idempotency_record(scores, season):
    from scores.consumers import consumer
    from shared.contracts import ApplicantRegistered, ApplicantWithdrawn
    from shared.events import envelope
    from tests.fakes import aws_calls
    from tests.shared.test_shared_consumer import sqs_record

    def record(event) -> dict:
        return sqs_record(envelope(event, event_id=event.event_id))

    registered = ApplicantRegistered(
        season=SEASON, applicant_id="app-proj", code_number="1", cms_id="PRO-000000001", email="p@test.caspr",
        first_name="Ada", last_name="Lee", college="Temple", graduation_year=2024, timezone="America/Chicago",
        credits_total=12, owner_sub="u9", version=1)
    with aws_calls() as made:
        assert consumer.handle({"Records": [record(registered)]}) == {"batchItemFailures": []}
    assert made == {"UpdateItem": 1, "GetItem": 1}  # profile + status in one write; the calendar (S2)
    withdrawn = ApplicantWithdrawn(season=SEASON, applicant_id="app-proj", reason="r", version=2)
    assert consumer.handle({"Records": [record(withdrawn)]}) == {"batchItemFailures": []}
    # applicant.registered redelivered after the withdrawal: the profile is set, the newer status kept
    with aws_calls() as made:
        assert consumer.handle({"Records": [record(registered)]}) == {"batchItemFailures": []}
    assert made == {"UpdateItem": 2, "GetItem": 1}
    r = scores.store.registrant("app-proj")
    assert (r.status, r.owner_sub, r.email) == ("withdrawn", "u9", "p@test.caspr")
    # an event without its version (an older producer): applied unconditionally, so once only
    unversioned = ApplicantWithdrawn(season=SEASON, applicant_id="app-proj", reason="r")
    with aws_calls() as made:
        assert consumer.handle({"Records": [record(unversioned)]}) == {"batchItemFailures": []}
    assert made == {"PutItem": 1, "UpdateItem": 2}  # idempotency record, projection, record completed
