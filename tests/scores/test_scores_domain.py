"""Unit tests of the scores rules (no AWS): each names its SPEC rule id."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from scores.domain.cspe import EXEMPT, NOT_ELIGIBLE, REQUIRED, CspeRule, check_rules, requirement
from scores.domain.eligibility import CASPR, MATCH, eligibility, withdrawal_due
from scores.domain.release import ATT_FORM, check_form, normalize_att, normalize_cms, on_time
from scores.domain.results import Attempt, match, parse_csv, row_id
from shared.errors import RuleViolation, ValidationFailed

FORM = dict(att_number="007885050", cms_id="pro-2t8p48f5h", name_at_exam="Ada Lee", explanation="",
            authorize_part1=True, authorize_part2=True)
NOW = datetime(2023, 10, 1, tzinfo=UTC)


def attempt(exam: str, result: str = "pass", official: bool = True, day: int = 1) -> Attempt:
    return Attempt(result_id=f"{exam}{day}{result}", applicant_id="a", season="2024", exam=exam,
                   exam_date=date(2023, 7, day), result=result, official=official, recorded_at=NOW)


# ----------------------------------------------------------------------------- S1
@pytest.mark.parametrize("att", ["007885050", " 001234567 "])
def test_s1_att_number_is_nine_digits_beginning_with_00(att):
    assert normalize_att(att) == att.strip()


@pytest.mark.parametrize("att", ["07885050", "107885050", "0078850500", "00788505O", "", "００7885050", "007885050\n"])
def test_s1_a_wrong_att_number_is_refused_showing_the_expected_form(att):
    if att == "007885050\n":  # a trailing newline is stripped like other surrounding blanks
        assert normalize_att(att) == "007885050"
        return
    with pytest.raises(ValidationFailed) as exc:
        normalize_att(att)
    assert exc.value.rule == "S1"
    assert ATT_FORM in exc.value.detail and "007885050" in exc.value.errors[0].message


def test_s1_cms_id_is_stored_upper_case_or_na():
    assert normalize_cms("pro-2t8p48f5h") == "PRO-2T8P48F5H"
    assert normalize_cms("n/a") == "N/A"
    with pytest.raises(ValidationFailed) as exc:
        normalize_cms("PRO2T8P48F5H")
    assert "PRO-2T8P48F5H" in exc.value.errors[0].message and exc.value.errors[0].field == "cms_id"


def test_s1_the_form_is_checked_whole_and_keeps_the_name_at_exam():
    out = check_form(**FORM)
    assert out["cms_id"] == "PRO-2T8P48F5H" and out["name_at_exam"] == "Ada Lee"
    with pytest.raises(ValidationFailed) as exc:
        check_form(**{**FORM, "att_number": "123", "cms_id": "x", "name_at_exam": " "})
    assert {e.field for e in exc.value.errors} == {"att_number", "cms_id", "name_at_exam"}


def test_s1_explanation_is_at_most_2000_characters():
    assert check_form(**{**FORM, "explanation": "x" * 2000})["explanation"] == "x" * 2000
    with pytest.raises(ValidationFailed) as exc:
        check_form(**{**FORM, "explanation": "x" * 2001})
    assert exc.value.errors[0].field == "explanation"


@pytest.mark.parametrize("missing", ["authorize_part1", "authorize_part2"])
def test_s1_both_authorizations_are_required_naming_the_field(missing):
    with pytest.raises(RuleViolation) as exc:
        check_form(**{**FORM, missing: False})
    assert exc.value.rule == "S1" and [e.field for e in exc.value.errors] == [missing]
    assert missing in exc.value.detail


# ----------------------------------------------------------------------------- S2
def test_s2_a_release_after_the_deadline_is_late():
    deadline = datetime(2023, 10, 26, 3, 59, tzinfo=UTC)
    assert on_time(deadline, deadline) is True
    assert on_time(datetime(2023, 10, 26, 4, 0, tzinfo=UTC), deadline) is False
    assert on_time(NOW, None) is True


# ----------------------------------------------------------------------------- S3
def test_s3_a_file_without_the_header_or_not_csv_is_refused_whole():
    for body in (b"", b"007885050,N/A,part1,2023-07-18,pass\n", b"%PDF-1.4\x00\x01\x02", "\xff\xfe".encode("latin-1"),
                 b"att_number;cms_id;exam;exam_date;result\n"):
        with pytest.raises(ValidationFailed) as exc:
            parse_csv("2024", body)
        assert exc.value.rule == "S3" and "nothing was recorded" in exc.value.detail


def test_s3_bad_rows_are_reported_and_good_rows_kept():
    text = ("att_number,cms_id,exam,exam_date,result\n"
            "007885050,pro-2t8p48f5h,part1,2023-07-18,PASS\n"
            "12345,N/A,part1,2023-07-18,pass\n"
            "007885051,,part3,2023-07-18,pass\n"
            "007885052,N/A,cspe,18/07/2023,pass\n"
            "007885053,N/A,cspe,2023-07-18,maybe\n"
            "007885054,N/A,cspe\n"
            "\n")
    rows, invalid, count = parse_csv("2024", text.encode())
    assert count == 6 and len(rows) == 1
    assert rows[0].cms_id == "PRO-2T8P48F5H" and rows[0].result == "pass" and rows[0].row == 2
    assert [(i.row, i.field) for i in invalid] == [(3, "att_number"), (4, "exam"), (5, "exam_date"),
                                                   (6, "result"), (7, "row")]


def test_s3_the_same_row_has_the_same_id_and_every_attempt_its_own():
    a = row_id("2024", "007885050", "N/A", "part1", date(2023, 7, 18), "fail")
    assert a == row_id("2024", "007885050", "N/A", "part1", date(2023, 7, 18), "fail")
    assert a != row_id("2024", "007885050", "N/A", "part1", date(2024, 1, 18), "fail")
    assert a != row_id("2025", "007885050", "N/A", "part1", date(2023, 7, 18), "fail")


def test_s3_a_row_matches_by_att_and_cms_id_never_guessed():
    assert match("007885050", "PRO-2T8P48F5H", "PRO-2T8P48F5H") is None
    assert match("007885050", "PRO-2T8P48F5H", "N/A") is None  # the release says N/A: ATT alone
    assert "another CMS ID" in match("007885050", "PRO-AAAAAAAAA", "PRO-2T8P48F5H")
    assert "no score release" in match("007885050", "N/A", None)


# ----------------------------------------------------------------------------- S4
SEED_2020 = [CspeRule(2017, 2020, REQUIRED), CspeRule(2016, 2016, EXEMPT), CspeRule(2015, 2015, REQUIRED),
             CspeRule(1900, 2014, NOT_ELIGIBLE)]


def test_s4_the_seed_table_of_2020_by_graduating_class():
    rules = check_rules(SEED_2020)
    assert requirement(rules, 2019)[0] == REQUIRED and requirement(rules, 2016)[0] == EXEMPT
    assert requirement(rules, 2015)[0] == REQUIRED and requirement(rules, 2010)[0] == NOT_ELIGIBLE
    status, why = requirement(rules, 2030)
    assert status == EXEMPT and "2030" in why


def test_s4_overlapping_ranges_are_refused():
    with pytest.raises(RuleViolation) as exc:
        check_rules([CspeRule(2017, 2020, REQUIRED), CspeRule(2020, 2021, EXEMPT)])
    assert exc.value.rule == "S4" and "overlap" in exc.value.detail
    with pytest.raises(ValidationFailed):
        check_rules([CspeRule(2020, 2017, REQUIRED)])


# ----------------------------------------------------------------------------- A3, S5, S7
def test_a3_may_apply_once_part1_is_passed():
    assert not eligibility([attempt("part1", "fail")], SEED_2020, 2020).may_apply
    e = eligibility([attempt("part1", "fail"), attempt("part1", day=2)], SEED_2020, 2020)
    assert e.may_apply and e.part1_passed


def test_s5_withdrawal_from_caspr_without_a_part1_pass():
    assert withdrawal_due(CASPR, eligibility([attempt("part1")], [], 2024)) is None
    reason = withdrawal_due(CASPR, eligibility([attempt("part1", "fail")], [], 2024))
    assert reason.startswith("S5") and "Part I" in reason


def test_s5_withdrawal_from_the_match_without_part2_written_and_cspe_where_required():
    written = attempt("part2_written")
    assert withdrawal_due(MATCH, eligibility([written], SEED_2020, 2016)) is None  # exempt
    reason = withdrawal_due(MATCH, eligibility([written], SEED_2020, 2019))
    assert "CSPE" in reason and "Written" not in reason
    assert withdrawal_due(MATCH, eligibility([written, attempt("cspe")], SEED_2020, 2019)) is None
    assert "Part II Written" in withdrawal_due(MATCH, eligibility([attempt("cspe")], SEED_2020, 2019))


def test_s7_an_unverified_self_reported_pass_does_not_count():
    e = eligibility([attempt("part2_written", official=False)], [], 2018)
    assert not e.part2_written_passed and not e.match_eligible


def test_s7_the_score_report_is_a_pdf_of_at_most_5_mb_and_only_previous_graduates_report():
    from scores.domain.self_reported import check_pdf, check_previous_graduate

    check_pdf(b"%PDF-", 1000)
    for head, size in ((None, None), (b"GIF89", 10), (b"%PDF-", 5 * 1024 * 1024 + 1)):
        with pytest.raises(RuleViolation) as exc:
            check_pdf(head, size)
        assert exc.value.rule == "S7"
    check_previous_graduate(2023, "2024")
    with pytest.raises(RuleViolation):
        check_previous_graduate(2024, "2024")
