"""The applications rules as plain Python (no AWS): A1-A7, R4, R7, M7."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from applications.domain.application import MAX_DOCUMENT_BYTES, Application, check_pdf
from applications.domain.college import CollegeRecord
from applications.domain.designations import (
    ApplicantFacts,
    Calendar,
    ProgramFacts,
    check_designation,
    delivery_instant,
    program_deadline,
)
from applications.domain.review import Review
from shared.email import Email
from shared.errors import Conflict, RuleViolation, TooManyRequests, ValidationFailed

T0 = datetime(2023, 9, 1, 12, tzinfo=UTC)
CAL = Calendar("2024", {"application_deadline_default": T0 + timedelta(days=60),
                        "applications_delivered": T0 + timedelta(days=61),
                        "match_application_last": T0 + timedelta(days=150),
                        "mpii_applications_open": T0 + timedelta(days=185),
                        "mpii_application_deadline": T0 + timedelta(days=187)})
MAIL = Email(to="w@example.org", subject="s", body="b")


def facts(**kw) -> ApplicantFacts:
    return ApplicantFacts(**{"applicant_id": "a1", "season": "2024", "may_apply": True, "credits_total": 12, **kw})


def prog(code="101", **kw) -> ProgramFacts:
    return ProgramFacts(season="2024", program_code=code, **kw)


def test_a4_the_programs_deadline_else_the_default_never_after_match_application_last():
    assert program_deadline(prog(), CAL) == CAL.get("application_deadline_default")
    own = T0 + timedelta(days=90)
    assert program_deadline(prog(application_deadline=own), CAL) == own
    assert program_deadline(prog(application_deadline=T0 + timedelta(days=400)), CAL) == CAL.get("match_application_last")


@pytest.mark.parametrize("kw, submitted, rule", [
    ({"withdrawn": True}, True, "R7"),
    ({}, False, "A1"),
    ({"may_apply": False}, True, "A3"),
    ({"credits_used": 12}, True, "A5"),
])
def test_a1_a3_a5_r7_designation_refusals_name_their_rule(kw, submitted, rule):
    with pytest.raises(RuleViolation) as err:
        check_designation(facts(**kw), submitted, prog(), CAL, T0, set())
    assert err.value.rule == rule


def test_a5_no_credit_names_the_credits_route_r4():
    with pytest.raises(RuleViolation) as err:
        check_designation(facts(credits_used=12), True, prog(), CAL, T0, set())
    assert "POST /registration/applicants/a1/credits" in err.value.detail


def test_a4_refused_after_the_deadline_and_a5_twice_is_a_conflict():
    with pytest.raises(RuleViolation) as err:
        check_designation(facts(), True, prog(), CAL, CAL.get("application_deadline_default") + timedelta(seconds=1),
                          set())
    assert err.value.rule == "A4"
    with pytest.raises(Conflict):
        check_designation(facts(), True, prog(), CAL, T0, {("match", "101")})


def test_a5_delivery_at_applications_delivered_or_at_once_after():
    assert check_designation(facts(), True, prog(), CAL, T0, set()) == ("match", None)
    later = CAL.get("applications_delivered") + timedelta(hours=1)
    assert delivery_instant(CAL, later, "match") == later


def test_m7_mpii_window_only_mpii_applicants_and_programs_with_an_mpii_track():
    at = CAL.get("mpii_applications_open") + timedelta(hours=1)
    with pytest.raises(RuleViolation) as err:
        check_designation(facts(), True, prog(mpii_tracks=("1011",)), CAL, at, set())
    assert err.value.rule == "M7"
    with pytest.raises(RuleViolation):
        check_designation(facts(in_mpii=True), True, prog(), CAL, at, set())
    assert check_designation(facts(in_mpii=True), True, prog(mpii_tracks=("1011",)), CAL, at,
                             {("match", "101")}) == ("mpii", at)


def test_a1_pdf_check_by_bytes_and_size():
    check_pdf(b"%PDF-", 100, "A1")
    for head, size in ((None, None), (b"GIF89", 100), (b"%PDF-", MAX_DOCUMENT_BYTES + 1)):
        with pytest.raises(ValidationFailed):
            check_pdf(head, size, "A1")


def test_a1_three_to_six_letters_and_a7_submission_locks_the_core_documents():
    app = Application("a1", "2024")
    for kind, doc in (("personal_statement", "d1"), ("cv", "d2")):
        app = app.offer_upload(doc, kind, f"{kind}.pdf", 10, T0).state
        app = app.complete_upload(doc, b"%PDF-", 10, T0).state
    with pytest.raises(RuleViolation):
        app.submit(T0)
    for i in range(6):
        app = app.request_letter(f"l{i}", "W", f"w{i}@example.org", "", True, T0, MAIL).state
    with pytest.raises(RuleViolation) as err:
        app.request_letter("l7", "W", "w7@example.org", "", True, T0, MAIL)
    assert err.value.rule == "A1"
    change = app.submit(T0)
    assert change.state.status == "submitted" and len(change.events) == 1
    with pytest.raises(RuleViolation) as err:
        change.state.offer_upload("d3", "cv", "cv.pdf", 10, T0)
    assert err.value.rule == "A7"
    assert change.state.offer_upload("d4", "supplemental", "x.pdf", 10, T0).state.document("d4").kind == "supplemental"


def test_a1_letter_statuses_delete_only_requested_reminder_once_a_day():
    app = Application("a1", "2024").request_letter("l1", "W", "w@example.org", "", False, T0, MAIL).state
    with pytest.raises(TooManyRequests):
        app.remind("l1", T0 + timedelta(hours=23), MAIL)
    app = app.remind("l1", T0 + timedelta(days=1), MAIL).state
    app = app.respond("l1", True, T0).state
    with pytest.raises(RuleViolation):
        app.delete_letter("l1")
    app = app.offer_letter_upload("l1", "u1", delivered=False).state
    app = app.complete_letter("l1", b"%PDF-", 10, T0, delivered=False).state
    assert app.letter("l1").status == "received" and app.letter("l1").file_id == "u1"
    with pytest.raises(RuleViolation):
        app.offer_letter_upload("l1", "u2", delivered=True)  # not replaceable after the first delivery


def test_a2_college_record_checks():
    r = CollegeRecord("a1", "TEMPLE")
    with pytest.raises(ValidationFailed) as err:
        r.set_facts(4.5, 10, 5, [], T0)
    assert err.value.rule == "A2" and {e.field for e in err.value.errors} == {"gpa", "class_rank"}
    assert r.set_facts(3.5, 1, 5, [], T0).gpa == 3.5


def test_a6_review_fields():
    r = Review("101", "2024", "a1").patch({"tags": ["x", "x", " "], "rating": 5, "review_status": "invite"}, T0)
    assert (r.tags, r.rating, r.review_status) == (("x",), 5, "invite")
    with pytest.raises(ValidationFailed):
        r.patch({"rating": 0}, T0)


def test_a6_s6_the_desk_list_filters_sorts_and_shows_results_from_their_instant():
    from applications.domain.review import DeskRow, desk_list

    later = T0 + timedelta(days=200)
    rows = [DeskRow("101", "2024", "a1", "match", T0, "Ada", "Lovelace", "1", "Temple",
                    results=({"exam": "part1", "exam_date": "2023-07-18", "result": "pass", "official": True,
                              "visible_from": T0}, {"exam": "part2_written", "exam_date": "2024-01-01",
                                                    "result": "pass", "official": True, "visible_from": later}),
                    review=Review("101", "2024", "a1", ("surgery",), 5, "invite")),
            DeskRow("101", "2024", "a2", "match", T0, "Grace", "Hopper", "2", "Temple"),
            DeskRow("101", "2024", "a3", "match", None, "Not", "Delivered", "3", "Temple")]
    shown = desk_list(rows, T0 + timedelta(days=1))
    assert [r["applicant_id"] for r in shown] == ["a2", "a1"]  # by name; never the undelivered
    assert [r["exam"] for r in shown[1]["results"]] == ["part1"]  # S6: Part II not yet visible
    assert [r["exam"] for r in desk_list(rows, later)[1]["results"]] == ["part1", "part2_written"]
    assert [r["applicant_id"] for r in desk_list(rows, T0, review_status="new")] == ["a2"]
    assert [r["applicant_id"] for r in desk_list(rows, T0, tag="surgery", rating_min=5)] == ["a1"]
    assert [r["applicant_id"] for r in desk_list(rows, T0, sort="-rating")] == ["a1", "a2"]
    assert [r["applicant_id"] for r in desk_list(rows, T0, q="HOPP")] == ["a2"]
