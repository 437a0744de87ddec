"""The aggregates raise their events (pure domain, no AWS): every change of an applicant, a
program or a season calendar returns a shared.outbox.Change: the new state (its version still
the one read: the repository's save writes version + 1), and the events and emails it causes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from caspr_local.demo import CALENDAR_2024
from registration.domain.calendar import parse_calendar
from registration.domain.programs import Program, Track
from registration.domain.rules import CLOSED_UNPAID, PENDING, REGISTERED, WITHDRAWN, Applicant
from shared.contracts import (
    ApplicantProfileUpdated,
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    CreditsPurchased,
    ProgramRegistered,
    ProgramUpdated,
    RegistrationClosedUnpaid,
    SeasonCalendarSet,
    TrackPositionsChanged,
    TrackReinstated,
    TrackWithdrawn,
)
from shared.errors import Conflict, RuleViolation, ValidationFailed

CAL = parse_calendar("2024", CALENDAR_2024)
NOW = datetime(2023, 8, 1, 12, tzinfo=UTC)


def applicant(**kw) -> Applicant:
    base = dict(applicant_id="a1", season="2024", first_name="Ada", last_name="Lovelace", email="ada@x.org",
                cms_id="PRO-2T8P48F5H", college="TUSPM", graduation_year=2024, owner_sub="sub-1", version=3)
    return Applicant(**{**base, **kw})


def kinds(change) -> list[type]:
    return [type(e) for e in change.events]


def test_r1_r6_register_is_a_new_pending_applicant_that_announces_nothing_yet():
    c = Applicant.register(applicant_id="a1", season="2024", first_name=" Ada ", last_name="Lovelace",
                           email="ADA@x.org", cms_id="PRO-2T8P48F5H", college="TUSPM", graduation_year=2024,
                           owner_sub=None, calendar=CAL, now=NOW)
    assert (c.state.status, c.state.version, c.state.email, c.state.first_name) == (PENDING, 0, "ada@x.org", "Ada")
    assert c.events == () and c.emails == ()
    with pytest.raises(RuleViolation) as err:
        Applicant.register(applicant_id="a2", season="2024", first_name="A", last_name="B", email="b@x.org",
                           cms_id="PRO-2T8P48F5H", college="C", graduation_year=2024, owner_sub=None, calendar=CAL,
                           now=CAL["registration_final"] + timedelta(minutes=1))
    assert err.value.rule == "R6"


def test_r2_r3_complete_registration_announces_it_with_the_code_number_email():
    a = applicant(payment_intent="1-x", status_version=0)
    c = a.complete_registration("12345", payment_id="pay-1-x", payment_key="k", now=NOW)
    s = c.state
    assert (s.status, s.code_number, s.credits_total, s.payment_intent, s.status_version, s.version) == (
        REGISTERED, "12345", 12, None, 1, 3)  # the version stays the one read: the save writes 4
    [event] = c.events
    assert isinstance(event, ApplicantRegistered) and (event.code_number, event.version) == ("12345", 1)
    assert event.owner_sub == "sub-1" and event.event_id is None  # the id is given at commit
    [mail] = c.emails
    assert mail.to == "ada@x.org" and "12345" in mail.subject and "12345" in mail.body and "pay-1-x" in mail.body
    assert a.status == PENDING  # the state read is not changed
    with pytest.raises(Conflict):  # R2: no payment in flight, or no longer pending
        applicant().complete_registration("12345", payment_id="p", payment_key="k", now=NOW)


def test_r2_a_payment_intent_is_reserved_once_and_released_by_its_owner():
    a = applicant()
    reserved = a.reserve_payment("1-x").state
    assert reserved.payment_intent == "1-x"
    with pytest.raises(Conflict) as err:
        reserved.reserve_payment("2-y")
    assert err.value.rule == "R2" and "in progress" in err.value.detail
    assert reserved.release_payment("2-y").state.payment_intent == "1-x"  # not its intent
    assert reserved.release_payment("1-x").state.payment_intent is None
    with pytest.raises(Conflict):
        applicant(status=REGISTERED, code_number="12345").reserve_payment("3-z")


def test_r4_credits_added_announce_the_new_total():
    c = applicant(status=REGISTERED, credits_total=12).add_credits(3)
    assert c.state.credits_total == 15
    [event] = c.events
    assert isinstance(event, CreditsPurchased) and (event.credits_total, event.charged_cents) == (15, 4_500)
    with pytest.raises(Conflict) as err:
        applicant().add_credits(3)
    assert err.value.rule == "R4"


def test_r7_withdraw_and_reinstate_announce_the_next_status_version():
    a = applicant(status=REGISTERED, code_number="12345", status_version=1)
    w = a.withdraw("family", NOW)
    assert (w.state.status, w.state.status_before_withdrawal, w.state.status_version) == (WITHDRAWN, REGISTERED, 2)
    [event] = w.events
    assert isinstance(event, ApplicantWithdrawn) and (event.reason, event.version) == ("family", 2)
    r = w.state.reinstate(CAL, NOW)
    assert (r.state.status, r.state.withdrawal_reason, r.state.status_version) == (REGISTERED, None, 3)
    assert kinds(r) == [ApplicantReinstated] and r.events[0].version == 3
    with pytest.raises(Conflict):
        w.state.withdraw("again", NOW)


def test_r7_profile_update_announces_only_a_new_time_zone():
    a = applicant()
    c = a.update_profile({"timezone": "America/New_York", "phone": "+1 312 555 0100", "email": None})
    assert (c.state.timezone, c.state.phone) == ("America/New_York", "+1 312 555 0100")
    assert kinds(c) == [ApplicantProfileUpdated] and c.events[0].timezone == "America/New_York"
    assert a.update_profile({"phone": "+1 312 555 0199"}).events == ()
    for bad in ({"email": "x@x.org"}, {"timezone": "Mars/Olympus"}, {}):
        with pytest.raises(ValidationFailed):
            a.update_profile(bad)


def test_r6_close_unpaid_announces_and_mails():
    c = applicant(status_version=0).close_unpaid()
    assert (c.state.status, c.state.status_version) == (CLOSED_UNPAID, 1)
    assert kinds(c) == [RegistrationClosedUnpaid]
    [mail] = c.emails
    assert mail.to == "ada@x.org" and "closed unpaid" in mail.subject
    with pytest.raises(Conflict):
        applicant(status=REGISTERED).close_unpaid()


def program(**kw) -> Program:
    base = dict(season="2024", program_code="101", name="Grand Lakes", city="Chicago", state="IL", coth=True,
                crip=True, crip_section="A", application_deadline=None, requirements=None, contact={},
                tracks=(Track("1011", "PMSR/RRA", 3), Track("1012", "Research", 1)), version=0)
    return Program(**{**base, **kw})


def test_r8_program_changes_announce_the_next_program_version():
    registered = program().register(CAL)
    assert kinds(registered) == [ProgramRegistered] and registered.events[0].version == 1
    p = replace(registered.state, version=1)  # as stored
    same = p.update({"name": "Grand Lakes"}, [Track("1011", "PMSR/RRA", 3)], CAL)
    assert same.state == p and same.events == ()
    positions = p.update({}, [Track("1011", "PMSR/RRA", 4)], CAL)
    assert kinds(positions) == [TrackPositionsChanged] and positions.events[0].version == 2
    renamed = p.update({"name": "Great Lakes"}, [Track("1013", "New", 2)], CAL)
    assert kinds(renamed) == [TrackPositionsChanged, ProgramUpdated]
    w = p.withdraw_track("1012", " funding ")
    assert kinds(w) == [TrackWithdrawn] and (w.events[0].reason, w.events[0].version) == ("funding", 2)
    back = replace(w.state, version=2).reinstate_track("1012", CAL, NOW)
    assert kinds(back) == [TrackReinstated] and back.events[0].version == 3
    with pytest.raises(ValidationFailed):
        p.update({}, [Track("1011", "PMSR/RRA", 100)], CAL)


def test_calendar_set_is_the_seasons_next_version():
    first = CAL.set(None)
    assert first.state.version == 0 and kinds(first) == [SeasonCalendarSet] and first.events[0].version == 1
    again = CAL.set(replace(CAL, version=4))
    assert again.state.version == 4 and again.events[0].version == 5
    assert again.events[0].calendar == CAL.instants
