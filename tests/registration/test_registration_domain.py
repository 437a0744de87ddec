"""Unit tests of the registration rules (pure domain, no AWS)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from caspr_local.demo import CALENDAR_2024, demo_programs
from registration.domain.calendar import CALENDAR_KEYS, parse_calendar, schedule_name
from registration.domain.cms import normalize_cms_id
from registration.domain.codes import CodeNumberPolicy, is_code_number
from registration.domain.ledger import balance_cents, credit_entries, registration_entries
from registration.domain.profile import check_timezone, refuse_immutable
from registration.domain.programs import Program, Track, apply_track_changes, check_program, matches
from registration.domain.rules import (
    CLOSED_UNPAID,
    PENDING,
    REGISTERED,
    WITHDRAWN,
    Applicant,
    check_can_buy_credits,
    check_payment,
    check_payment_window,
    check_reinstate,
    check_withdraw,
    credits_charge_cents,
    registration_warnings,
)
from shared.errors import Conflict, RuleViolation, ValidationFailed

CAL = parse_calendar("2024", CALENDAR_2024)


def applicant(**kw) -> Applicant:
    base = dict(applicant_id="a1", season="2024", first_name="Ada", last_name="Lovelace", email="ada@x.org",
                cms_id="PRO-2T8P48F5H", college="TUSPM", graduation_year=2024)
    return Applicant(**{**base, **kw})


# --- R1 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["PRO-2T8P48F5H", "pro-2t8p48f5h", " abc-123456789 ", "XYZ-ABCDEFGHI"])
def test_r1_cms_id_accepted_and_stored_upper_case(raw):
    assert normalize_cms_id(raw) == raw.strip().upper()


@pytest.mark.parametrize("raw", ["PRO2T8P48F5H", "PR-2T8P48F5H", "PRO-2T8P48F5", "PRO-2T8P48F5HX", "P1O-2T8P48F5H",
                                 "PRO-2T8P48F5!", "", "PRO_2T8P48F5H"])
def test_r1_cms_id_wrong_format_refused_with_the_expected_form(raw):
    with pytest.raises(ValidationFailed) as err:
        normalize_cms_id(raw)
    assert err.value.rule == "R1"
    assert err.value.errors[0].field == "cms_id"
    assert "PRO-2T8P48F5H" in err.value.errors[0].message and "three letters" in err.value.detail


# --- the calendar -----------------------------------------------------------------------------
def test_calendar_of_2024_parses_to_utc():
    assert set(CAL.instants) == set(CALENDAR_KEYS)
    assert CAL["registration_final"] == datetime(2024, 2, 16, 4, 59, tzinfo=UTC)
    assert CAL.iso()["registration_opens"] == "2023-07-24T16:00:00Z"


def test_calendar_missing_key_and_bad_format_are_named():
    raw = dict(CALENDAR_2024)
    del raw["match_day"]
    raw["crip_start"] = "2024-01-11T08:00:00"  # no offset
    raw["rol_opens"] = "next tuesday"
    raw["surprise"] = "2024-01-01T00:00:00Z"
    with pytest.raises(ValidationFailed) as err:
        parse_calendar("2024", raw)
    fields = {e.field for e in err.value.errors}
    assert fields == {"match_day", "crip_start", "rol_opens", "surprise"}


@pytest.mark.parametrize("earlier,later", [
    ("registration_opens", "registration_recommended_by"),
    ("registration_recommended_by", "registration_final"),
    ("score_release_deadline", "scores_uploaded"),
    ("application_deadline_default", "applications_delivered"),
    ("crip_start", "crip_end"),
    ("rol_opens", "rol_deadline"),
    ("rol_deadline", "match_status_day"),
    ("mpii_applications_open", "mpii_application_deadline"),
    ("mpii_rol_opens", "mpii_rol_deadline"),
    ("mpii_rol_deadline", "match_day"),
])
def test_calendar_out_of_order_names_both_keys(earlier, later):
    raw = dict(CALENDAR_2024)
    raw[earlier], raw[later] = raw[later], raw[earlier]
    if raw[earlier] == raw[later]:
        pytest.skip("equal instants")
    with pytest.raises(ValidationFailed) as err:
        parse_calendar("2024", raw)
    assert earlier in err.value.detail + " ".join(e.message for e in err.value.errors)
    assert any(later in e.message for e in err.value.errors)


def test_calendar_equal_instants_allowed_where_the_order_is_not_strict():
    raw = dict(CALENDAR_2024)
    raw["non_crip_interviews_from"] = raw["crip_end"]
    raw["match_application_last"] = raw["application_deadline_default"]
    parse_calendar("2024", raw)
    raw["crip_start"] = raw["crip_end"]
    with pytest.raises(ValidationFailed):
        parse_calendar("2024", raw)


@pytest.mark.parametrize("season", ["24", "2024\n", "\u0662\u0660\u0662\u0664", "２０２４"])
def test_a_season_id_is_four_ascii_digits_and_nothing_else(season):
    """Python's \\d takes any Unicode digit and $ a trailing newline: neither makes a season."""
    with pytest.raises(ValidationFailed):
        parse_calendar(season, CALENDAR_2024)


def test_calendar_season_id_is_four_digits_and_schedule_names_valid():
    with pytest.raises(ValidationFailed):
        parse_calendar("24", CALENDAR_2024)
    import re

    for key in CALENDAR_KEYS:
        assert re.match(r"^[0-9a-zA-Z\-_.]{1,64}$", schedule_name("2024", key))


# --- R6 -----------------------------------------------------------------------------------------
def test_r6_registration_before_opening_refused_with_the_date():
    with pytest.raises(RuleViolation) as err:
        registration_warnings(CAL, CAL["registration_opens"] - timedelta(minutes=1))
    assert err.value.rule == "R6" and "2023-07-24T16:00:00Z" in err.value.detail


def test_r6_registration_in_time_has_no_warning():
    assert registration_warnings(CAL, CAL["registration_opens"]) == []
    assert registration_warnings(CAL, CAL["registration_recommended_by"]) == []


def test_r6_registration_after_recommended_date_warns():
    warnings = registration_warnings(CAL, CAL["registration_recommended_by"] + timedelta(seconds=1))
    assert len(warnings) == 1 and "R6" in warnings[0]


def test_r6_registration_after_final_refused_to_the_minute():
    assert registration_warnings(CAL, CAL["registration_final"])  # at the instant: still accepted
    with pytest.raises(RuleViolation) as err:
        registration_warnings(CAL, CAL["registration_final"] + timedelta(seconds=1))
    assert err.value.rule == "R6" and "2024-02-16T04:59:00Z" in err.value.detail
    with pytest.raises(RuleViolation):
        check_payment_window(CAL, CAL["registration_final"] + timedelta(minutes=1))


# --- R2 / R4 -------------------------------------------------------------------------------------
def test_r2_fee_is_550_and_must_be_paid_in_full_once():
    a = applicant()
    assert a.amount_due_cents == 55_000
    check_payment(a, 55_000)
    with pytest.raises(ValidationFailed) as err:
        check_payment(a, 30_000)
    assert err.value.errors[0].field == "amount_cents"
    with pytest.raises(Conflict):
        check_payment(applicant(status=REGISTERED, code_number="12345"), 55_000)
    with pytest.raises(RuleViolation):
        check_payment(applicant(status=CLOSED_UNPAID), 55_000)
    with pytest.raises(Conflict):
        check_payment(applicant(status=WITHDRAWN), 55_000)


def test_r2_ledger_has_one_entry_per_fee_part():
    now = datetime(2023, 8, 1, tzinfo=UTC)
    entries = registration_entries("a1", "2024", "pay-1", "ch_1", now)
    assert [(e.part, e.amount_cents, e.kind) for e in entries] == [("applicant_fee", 30_000, "charge"),
                                                                    ("interview_fee", 25_000, "charge")]
    assert len({e.entry_id for e in entries}) == 2
    assert entries == registration_entries("a1", "2024", "pay-1", "ch_1", now)  # same payment, same ids
    refunds = registration_entries("a1", "2024", "pay-1", "re_1", now, kind="refund")
    assert balance_cents(entries) == 55_000 and balance_cents(entries + refunds) == 0


def test_r4_credits_cost_15_dollars_each_1_to_100():
    assert credits_charge_cents(1) == 1_500
    assert credits_charge_cents(100) == 150_000
    for bad in (0, 101, -1, True):
        with pytest.raises(ValidationFailed) as err:
            credits_charge_cents(bad)
        assert err.value.rule == "R4"
    e = credit_entries("a1", "2024", "cr-1", "ch_2", datetime(2023, 8, 1, tzinfo=UTC), 3)
    assert [(x.part, x.amount_cents, x.quantity) for x in e] == [("credits", 4_500, 3)]


def test_r4_only_registered_applicants_buy_credits():
    check_can_buy_credits(applicant(status=REGISTERED))
    for status in (PENDING, WITHDRAWN, CLOSED_UNPAID):
        with pytest.raises(Conflict):
            check_can_buy_credits(applicant(status=status))


# --- R3 ------------------------------------------------------------------------------------------
def test_r3_code_number_candidates_are_distinct_five_digit_numbers():
    policy = CodeNumberPolicy(random.Random(7), attempts=500)
    codes = list(policy.candidates())
    assert len(codes) == 500 == len(set(codes))
    assert all(is_code_number(c) for c in codes)
    assert not is_code_number("09999") and not is_code_number("100000")


# --- R7 ------------------------------------------------------------------------------------------
def test_r7_withdraw_only_registered_or_pending():
    check_withdraw(applicant(status=REGISTERED))
    check_withdraw(applicant(status=PENDING))
    for status in (WITHDRAWN, CLOSED_UNPAID):
        with pytest.raises(Conflict) as err:
            check_withdraw(applicant(status=status))
        assert err.value.rule == "R7"


def test_r7_reinstate_only_withdrawn_and_before_registration_final():
    before = CAL["registration_final"] - timedelta(days=1)
    a = applicant(status=WITHDRAWN, status_before_withdrawal=REGISTERED)
    assert check_reinstate(a, CAL, before) == REGISTERED
    assert check_reinstate(applicant(status=WITHDRAWN, status_before_withdrawal=PENDING), CAL, before) == PENDING
    with pytest.raises(RuleViolation) as err:
        check_reinstate(a, CAL, CAL["registration_final"] + timedelta(minutes=1))
    assert err.value.rule == "R7"
    with pytest.raises(Conflict):
        check_reinstate(applicant(status=REGISTERED), CAL, before)


def test_r7_timezone_must_be_iana_and_identity_fields_immutable():
    assert check_timezone("America/New_York") == "America/New_York"
    for bad in ("Central", "America/Nowhere", "../etc/passwd", ""):
        with pytest.raises(ValidationFailed) as err:
            check_timezone(bad)
        assert err.value.errors[0].field == "timezone"
    with pytest.raises(ValidationFailed) as err:
        refuse_immutable({"cms_id": "ABC-123456789", "phone": "1"})
    assert [e.field for e in err.value.errors] == ["cms_id"]
    refuse_immutable({"phone": "1", "timezone": "UTC"})


# --- R8 ------------------------------------------------------------------------------------------
def program(**kw) -> Program:
    base = dict(season="2024", program_code="101", name="Grand Lakes", city="Chicago", state="IL", coth=True,
                crip=True, crip_section="A", application_deadline=None, requirements=None, contact={},
                tracks=(Track("1011", "PMSR/RRA", 3),))
    return Program(**{**base, **kw})


def test_r8_program_valid_and_deadline_defaults_to_the_season():
    p = check_program(program(), CAL)
    assert p.effective_deadline(CAL) == CAL["application_deadline_default"]
    own = CAL["match_application_last"]
    assert check_program(program(application_deadline=own), CAL).effective_deadline(CAL) == own


@pytest.mark.parametrize("changes,field", [
    ({"tracks": (Track("1021", "PMSR/RRA", 3),)}, "tracks.0.track_code"),
    ({"tracks": (Track("10111", "PMSR/RRA", 3),)}, "tracks.0.track_code"),
    ({"tracks": (Track("1011", "PMSR/RRA", 100),)}, "tracks.0.positions"),
    ({"tracks": (Track("1011", "PMSR/RRA", -1),)}, "tracks.0.positions"),
    ({"tracks": (Track("1011", "A", 1), Track("1011", "B", 1))}, "tracks.1.track_code"),
    ({"tracks": ()}, "tracks"),
    ({"crip_section": None}, "crip_section"),
    ({"crip": False, "crip_section": "A"}, "crip_section"),
    ({"program_code": "10"}, "program_code"),
    ({"application_deadline": CAL["match_application_last"] + timedelta(minutes=1)}, "application_deadline"),
])
def test_r8_program_refusals_name_the_field(changes, field):
    with pytest.raises(ValidationFailed) as err:
        check_program(program(**changes), CAL)
    assert err.value.rule == "R8"
    assert field in [e.field for e in err.value.errors]


def test_r8_track_changes_report_positions_changed_and_new_tracks():
    p = program(tracks=(Track("1011", "PMSR/RRA", 3), Track("1012", "Research", 1)))
    after, changed = apply_track_changes(p, [Track("1011", "PMSR/RRA", 4), Track("1012", "Research", 1),
                                             Track("1013", "New", 2)])
    assert [t.track_code for t in changed] == ["1011", "1013"]
    assert [t.positions for t in after.tracks] == [4, 1, 2]


def test_r8_directory_filters():
    rows = [check_program(Program(season="2024", program_code=d["program_code"], name=d["name"], city=d["city"],
                                  state=d["state"], coth=d["coth"], crip=d["crip"], crip_section=d["crip_section"],
                                  application_deadline=None, requirements=None, contact={},
                                  tracks=tuple(Track(**t) for t in d["tracks"])), CAL) for d in demo_programs()]
    codes = lambda **f: [p.program_code for p in rows if matches(p, **f)]  # noqa: E731
    assert codes(state="tx") == ["102"]
    assert codes(coth=False) == ["103"]
    assert codes(crip=True) == ["101", "102"]
    assert codes(q="DENVER") == ["104"]
    assert codes(q="10") == ["101", "102", "103", "104"]
    assert codes(q="coastal", crip=True) == []
