"""The pure rules of the interviews service, one test (at least) per SPEC rule id."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from interviews.domain import (
    I9_NOTICE,
    InterviewEvent,
    ProgramInfo,
    check_event_window,
    claims_clash,
    in_zone,
    require_before_lockout,
    require_coth,
    require_invitations_open,
    slot_claims,
    too_close,
    validate_event,
)
from shared.errors import Conflict, RuleViolation, ValidationFailed

T0 = datetime(2024, 1, 12, 9, 0, tzinfo=UTC)
CAL = {"invitations_open": datetime(2023, 12, 4, 17, tzinfo=UTC), "crip_start": datetime(2024, 1, 11, 14, tzinfo=UTC),
       "crip_end": datetime(2024, 1, 17, 0, tzinfo=UTC), "non_crip_interviews_from": datetime(2024, 1, 17, 6, tzinfo=UTC)}
COTH_CRIP = ProgramInfo("101", "2024", "P", coth=True, crip=True)
COTH_ONLY = ProgramInfo("202", "2024", "Q", coth=True, crip=False)


def m(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_i3_a_program_that_is_not_coth_is_refused_scheduling():
    with pytest.raises(RuleViolation) as e:
        require_coth(ProgramInfo("303", "2024", "R", coth=False, crip=False))
    assert e.value.rule == "I3" and "schedule directly with applicants" in e.value.detail
    require_coth(COTH_ONLY)


def test_i2_invitations_only_from_invitations_open():
    with pytest.raises(RuleViolation) as e:
        require_invitations_open(CAL, CAL["invitations_open"] - timedelta(seconds=1))
    assert e.value.rule == "I2"
    require_invitations_open(CAL, CAL["invitations_open"])
    with pytest.raises(RuleViolation):
        require_invitations_open({}, CAL["invitations_open"])


def test_i7_crip_events_within_crip_and_non_crip_programs_not_before_non_crip_interviews_from():
    check_event_window(COTH_CRIP, "crip", CAL["crip_start"], CAL["crip_start"] + timedelta(hours=1), CAL)
    for start in (CAL["crip_start"] - timedelta(minutes=1), CAL["crip_end"] - timedelta(minutes=30)):
        with pytest.raises(RuleViolation) as e:
            check_event_window(COTH_CRIP, "crip", start, start + timedelta(hours=1), CAL)
        assert e.value.rule == "I7"
    with pytest.raises(RuleViolation):  # only a CRIP program holds a CRIP event
        check_event_window(COTH_ONLY, "crip", CAL["crip_start"], CAL["crip_start"] + timedelta(hours=1), CAL)
    with pytest.raises(RuleViolation) as e:
        check_event_window(COTH_ONLY, "virtual", CAL["crip_start"], CAL["crip_start"] + timedelta(hours=1), CAL)
    assert e.value.rule == "I7"
    check_event_window(COTH_ONLY, "onsite", CAL["non_crip_interviews_from"],
                       CAL["non_crip_interviews_from"] + timedelta(hours=1), CAL)
    check_event_window(COTH_CRIP, "virtual", CAL["crip_start"] - timedelta(days=3),
                       CAL["crip_start"] - timedelta(days=3, hours=-1), CAL)  # a CRIP program: no such limit


def test_i1_event_fields_are_checked():
    with pytest.raises(ValidationFailed) as e:
        validate_event(m(60), m(0), 0, "moon", "Mars/Olympus", m(30))
    assert {f.field for f in e.value.errors} == {"end", "capacity", "place", "timezone"}
    with pytest.raises(ValidationFailed):
        validate_event(m(0), m(60), 1, "virtual", "America/Chicago", m(1))  # lockout after start
    validate_event(m(0), m(60), 1, "virtual", "America/Chicago", m(0))


def test_i5_no_change_on_or_after_the_lockout():
    e = InterviewEvent("e1", "101", "2024", "t", m(60), m(90), 3, "virtual", "", "America/Chicago", m(0))
    require_before_lockout(e, m(0) - timedelta(seconds=1))
    with pytest.raises(Conflict) as err:
        require_before_lockout(e, m(0))
    assert err.value.rule == "I5"


def test_i4_overlap_and_the_15_minute_buffer():
    assert too_close(m(0), m(30), m(20), m(50))  # overlap
    assert too_close(m(0), m(30), m(44), m(60))  # starts 14 minutes after the other ends
    assert not too_close(m(0), m(30), m(45), m(60))  # exactly 15 minutes apart
    assert too_close(m(45), m(60), m(0), m(31))  # symmetric
    assert not too_close(m(100), m(130), m(0), m(85))


def _claims_say_clash(a, b) -> bool:
    """What the per-bucket DynamoDB conditions decide for booking b after booking a."""
    ca = {c.bucket: c for c in slot_claims(*a)}
    return any(claims_clash(ca[c.bucket], c) for c in slot_claims(*b) if c.bucket in ca)


def test_i4_slot_claims_decide_exactly_what_the_rule_says():
    """The claim items are exact: they refuse every pair the rule refuses and no other."""
    rng = random.Random(4)
    pairs = [((m(s1), m(s1 + d1)), (m(s2), m(s2 + d2)))
             for s1, d1, s2, d2 in itertools.product(range(0, 40, 1), (1, 10, 30), range(0, 120, 1), (1, 20, 45))]
    pairs += [((m(a), m(a + rng.randint(1, 240))), (m(b), m(b + rng.randint(1, 240))))
              for a, b in ((rng.randint(0, 600), rng.randint(0, 600)) for _ in range(5000))]
    for a, b in pairs:
        assert _claims_say_clash(a, b) == too_close(*a, *b), (a, b)


def test_i4_claims_of_one_booking_are_few():
    assert len(slot_claims(m(0), m(60))) == 5  # 75 minutes padded: 5 buckets of 15
    assert len(slot_claims(m(7), m(67))) == 6


def test_i6_times_show_in_the_applicants_time_zone_default_central():
    t = datetime(2024, 1, 12, 15, 0, tzinfo=UTC)
    assert in_zone(t, None) == "2024-01-12T09:00:00-06:00"
    assert in_zone(t, "America/New_York") == "2024-01-12T10:00:00-05:00"


def test_i9_the_communication_rule_is_stated():
    assert "rank" in I9_NOTICE and "solicit" in I9_NOTICE
