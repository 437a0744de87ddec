"""No event or email is ever lost (issue 8): a state change and everything it announces
commit in one transaction, and the relay delivers the outbox afterwards.

- Crash injection: for each registration write path, the process "dies" right after the
  transaction commits (the repository's save commits, then a BaseException ends the
  handler before anything else runs). The relay's sweep then delivers every event of that
  path once, with the event id given at commit, and every email.
- Optimistic concurrency: two writes of one aggregate read at the same version: one wins,
  the other is a 409 "changed meanwhile; reload and retry" naming the rule; no lost update."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
from test_registration_api import (  # noqa: F401  (season: a fixture)
    ADMIN,
    CAL,
    GOOD_CARD,
    applicant_token,
    body,
    pay,
    register,
    season,
)

from caspr_local.demo import CALENDAR_2024, demo_programs
from registration import bootstrap, handlers
from registration.schemas import ProgramIn, ProgramPatch
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
    SeasonDeadlineReached,
    TrackPositionsChanged,
    TrackReinstated,
    TrackWithdrawn,
)
from shared.errors import Conflict

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]
OWN_102 = "program:p102:102"


class Died(BaseException):
    """The process ends right after the commit (a Lambda timeout, an out-of-memory, a deploy):
    not an Exception, so no handler on the way out runs."""


@contextmanager
def dies_after_commit(repo, *, announcing: bool = True):
    """The repository's save commits, then the process dies (after the first save that announces
    something, or, for a path that announces nothing, after the first save)."""
    real = repo.save

    def save(change, **kw):
        saved = real(change, **kw)
        if change.events or change.emails or not announcing:
            raise Died(saved)
        return saved

    repo.save = save
    try:
        yield
    finally:
        del repo.save  # the class's save again


def principal(reg, token: str):
    return reg.verifier.verify(token)


# ------------------------------------------------------------------------------- the write paths
# each: (repository, what it sets up through the API, the handler call that dies, the events and
# the number of emails the path announces, a check of the state committed)
def _register(api, reg):
    token = applicant_token(reg, "sub-ada", "ada@caspr.example")
    run = lambda: handlers.register(reg, principal(reg, token), **body())  # noqa: E731
    check = lambda: [a.status for a in reg.applicants.in_season("2024")] == ["pending_payment"]  # noqa: E731
    return run, check


def _pay(api, reg):
    applicant_id, token = register(api, reg)
    run = lambda: handlers.pay_registration(reg, principal(reg, token), applicant_id, idempotency_key="k1",  # noqa: E731
                                            amount_cents=55_000, card_number=GOOD_CARD)
    return run, lambda: (reg.applicants.get(applicant_id).status == "registered"
                         and len(reg.ledger.entries(applicant_id)) == 2 and len(reg.payments.charges) == 1)


def _credits(api, reg):
    applicant_id, token = register(api, reg)
    assert pay(api, token, applicant_id).status_code == 201
    run = lambda: handlers.buy_credits(reg, principal(reg, token), applicant_id, idempotency_key="c1",  # noqa: E731
                                       quantity=3, card_number=GOOD_CARD)
    return run, lambda: (reg.applicants.get(applicant_id).credits_total == 15
                         and len(reg.ledger.entries(applicant_id)) == 3)


def _profile(api, reg):
    applicant_id, token = register(api, reg)
    run = lambda: handlers.update_profile(reg, principal(reg, token), applicant_id,  # noqa: E731
                                          {"timezone": "America/New_York", "phone": "+1 312 555 0100"})
    return run, lambda: reg.applicants.get(applicant_id).timezone == "America/New_York"


def _withdraw(api, reg):
    applicant_id, token = register(api, reg)
    assert pay(api, token, applicant_id).status_code == 201
    run = lambda: handlers.withdraw(reg, principal(reg, token), applicant_id, "family")  # noqa: E731
    return run, lambda: reg.applicants.get(applicant_id).status == "withdrawn"


def _reinstate(api, reg):
    applicant_id, token = register(api, reg)
    assert pay(api, token, applicant_id).status_code == 201
    assert api.call("POST", f"/applicants/{applicant_id}/withdrawal", token).status_code == 200
    run = lambda: handlers.reinstate(reg, principal(reg, token), applicant_id)  # noqa: E731
    return run, lambda: reg.applicants.get(applicant_id).status == "registered"


def _close_unpaid(api, reg):
    applicant_id, _ = register(api, reg)
    reg.clock.set(CAL["registration_final"] + timedelta(seconds=1))
    event = SeasonDeadlineReached(season="2024", key="registration_final", at=CAL["registration_final"])
    run = lambda: handlers.record_deadline(reg, event)  # noqa: E731
    return run, lambda: reg.applicants.get(applicant_id).status == "closed_unpaid"


def _calendar(api, reg):
    moved = {**CALENDAR_2024, "match_day": "2024-03-14T12:00:00-04:00"}
    run = lambda: handlers.set_calendar(reg, "2024", moved)  # noqa: E731
    return run, lambda: reg.seasons.get("2024").version == 2


def _program_register(api, reg):
    data = ProgramIn.model_validate(demo_programs()[1]).model_dump()
    run = lambda: handlers.register_program(reg, principal(reg, ADMIN), data)  # noqa: E731
    return run, lambda: reg.programs.get("102").version == 1


def _program_update(api, reg):
    assert api.call("POST", "/programs", ADMIN, demo_programs()[1]).status_code == 201
    changes = ProgramPatch.model_validate({"name": "Renamed Medical Center", "tracks": [
        {"track_code": "1021", "name": "PMSR/RRA", "positions": 4}]}).model_dump(exclude_unset=True)
    run = lambda: handlers.update_program(reg, principal(reg, OWN_102), "102", None, changes)  # noqa: E731
    return run, lambda: reg.programs.get("102").version == 2


def _track_withdraw(api, reg):
    assert api.call("POST", "/programs", ADMIN, demo_programs()[1]).status_code == 201
    run = lambda: handlers.withdraw_track(reg, principal(reg, OWN_102), "102", "1022", None, "funding")  # noqa: E731
    return run, lambda: reg.programs.get("102").track("1022").withdrawn


def _track_reinstate(api, reg):
    assert api.call("POST", "/programs", ADMIN, demo_programs()[1]).status_code == 201
    assert api.call("POST", "/programs/102/tracks/1022/withdrawal", OWN_102).status_code == 200
    run = lambda: handlers.reinstate_track(reg, principal(reg, ADMIN), "102", "1022", None)  # noqa: E731
    return run, lambda: not reg.programs.get("102").track("1022").withdrawn


PATHS: dict[str, tuple[str, Callable, list[type], int]] = {
    "r1_r5_register": ("applicants", _register, [], 0),
    "r2_r3_pay_registration_completed": ("applicants", _pay, [ApplicantRegistered], 1),
    "r4_buy_credits": ("applicants", _credits, [CreditsPurchased], 0),
    "r7_profile_update_with_time_zone": ("applicants", _profile, [ApplicantProfileUpdated], 0),
    "r7_withdraw": ("applicants", _withdraw, [ApplicantWithdrawn], 0),
    "r7_reinstate": ("applicants", _reinstate, [ApplicantReinstated], 0),
    "r6_close_unpaid_at_registration_final": ("applicants", _close_unpaid, [RegistrationClosedUnpaid], 1),
    "calendar_set": ("seasons", _calendar, [SeasonCalendarSet], 0),
    "r8_program_register": ("programs", _program_register, [ProgramRegistered], 0),
    "r8_program_update": ("programs", _program_update, [TrackPositionsChanged, ProgramUpdated], 0),
    "m3_track_withdraw": ("programs", _track_withdraw, [TrackWithdrawn], 0),
    "m3_track_reinstate": ("programs", _track_reinstate, [TrackReinstated], 0),
}


@pytest.mark.parametrize("path", PATHS)
def test_crash_right_after_the_commit_loses_no_event_and_no_email(api, reg, season, path):  # noqa: F811
    repository, setup, events, emails = PATHS[path]
    run, committed = setup(api, reg)
    reg.publisher.events.clear()
    reg.mailer.sent.clear()

    with dies_after_commit(getattr(reg, repository), announcing=bool(events or emails)), pytest.raises(Died):
        run()
    assert committed()  # the change is in the table ...
    assert reg.publisher.events == [] and reg.mailer.sent == []  # ... and nothing went out yet

    relay = bootstrap.outbox()
    relay.sweep(older_than=0)  # the relay (stream or sweep) after the process died
    assert [type(e) for e in reg.publisher.events] == events
    ids = [e.event_id for e in reg.publisher.events]
    assert all(ids) and len(set(ids)) == len(ids)  # each with the id given at commit
    assert len(reg.mailer.sent) == emails
    assert relay.sweep(older_than=0) == 0 and relay.pending(older_than=0) == []  # delivered once
    assert [type(e) for e in reg.publisher.events] == events and len(reg.mailer.sent) == emails


def test_r3_the_code_number_email_of_a_crashed_payment_carries_the_stored_code(api, reg, season):  # noqa: F811
    run, _ = _pay(api, reg)
    with dies_after_commit(reg.applicants), pytest.raises(Died) as died:
        run()
    stored = died.value.args[0]
    bootstrap.outbox().sweep(older_than=0)
    [mail] = reg.mailer.sent
    [event] = reg.publisher.of(ApplicantRegistered)
    assert stored.code_number in mail.subject and event.code_number == stored.code_number
    assert event.version == stored.status_version == 1


# ------------------------------------------------------------------------------- concurrency
def test_r7_two_writes_read_at_one_version_one_wins_the_other_is_a_409(api, reg, season):  # noqa: F811
    applicant_id, _ = register(api, reg)
    reg.publisher.events.clear()
    read = reg.applicants.get(applicant_id)
    reg.applicants.save(read.withdraw("family", reg.clock.now()), rule="R7")
    with pytest.raises(Conflict) as err:  # written on the state read before the withdrawal
        reg.applicants.save(read.update_profile({"timezone": "America/New_York"}), rule="R7")
    assert err.value.status == 409 and err.value.rule == "R7" and "changed meanwhile" in err.value.detail
    after = reg.applicants.get(applicant_id)
    assert (after.status, after.timezone, after.version) == ("withdrawn", "America/Chicago", 2)  # not lost
    bootstrap.outbox().sweep(older_than=0)
    assert [type(e) for e in reg.publisher.events] == [ApplicantWithdrawn]  # the refused write announced nothing


@pytest.mark.parametrize("second", ["withdraw", "profile"])
def test_r7_concurrent_writes_of_one_applicant_one_wins_no_lost_update(api, reg, season, second):  # noqa: F811
    """Two requests at once: both read the applicant at one version before either writes."""
    applicant_id, token = register(api, reg)
    reg.publisher.events.clear()
    who = principal(reg, token)
    both_read = threading.Barrier(2)
    one_at_a_time = threading.Lock()  # the emulator's writes, as DynamoDB's: one item write at a time
    real_get, real_save = reg.applicants.get, reg.applicants.save

    def get(i):
        a = real_get(i)
        both_read.wait(timeout=10)
        return a

    def save(change, **kw):
        with one_at_a_time:
            return real_save(change, **kw)

    reg.applicants.get, reg.applicants.save = get, save
    writes = {
        "withdraw": lambda: handlers.withdraw(reg, who, applicant_id, "family"),
        "profile": lambda: handlers.update_profile(reg, who, applicant_id, {"timezone": "America/Denver"}),
    }
    first = lambda: handlers.update_profile(reg, who, applicant_id, {"timezone": "America/New_York"})  # noqa: E731
    try:
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(first), pool.submit(writes[second])]
            outcomes = [f.exception() or f.result() for f in futures]
    finally:
        del reg.applicants.get, reg.applicants.save
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    [won] = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(refused) == 1 and refused[0].status == 409 and refused[0].rule == "R7"
    stored = reg.applicants.get(applicant_id)
    assert stored.version == won.version == 2
    assert (stored.status, stored.timezone) == (won.status, won.timezone)  # the winner's write, whole
    bootstrap.outbox().sweep(older_than=0)
    assert len(reg.publisher.events) == 1  # only the winner's event


def test_m3_two_track_changes_read_at_one_program_version_one_is_a_409(api, reg, season):  # noqa: F811
    assert api.call("POST", "/programs", ADMIN, demo_programs()[1]).status_code == 201
    read = reg.programs.get("102")
    reg.programs.save(read.withdraw_track("1021", "a"), rule="M3")
    with pytest.raises(Conflict) as err:
        reg.programs.save(read.withdraw_track("1022", "b"), rule="M3")
    assert err.value.status == 409 and err.value.rule == "M3" and "changed meanwhile" in err.value.detail
    stored = reg.programs.get("102")
    assert (stored.version, stored.track("1021").withdrawn, stored.track("1022").withdrawn) == (2, True, False)
    r = api.call("POST", "/programs/102/tracks/1022/withdrawal", OWN_102)  # reload and retry: both stand
    assert r.status_code == 200 and [t["withdrawn"] for t in r.data["tracks"]] == [True, True]


def test_calendar_puts_read_at_one_version_each_store_the_next_version(api, reg, season):  # noqa: F811
    read = reg.seasons.get("2024")
    assert reg.seasons.save(CAL.set(read)).version == 2
    with pytest.raises(Conflict):
        reg.seasons.save(CAL.set(read))  # stale: version 2 is taken
    calendar = handlers.set_calendar(reg, "2024", CALENDAR_2024)[1]  # the use case reloads: version 3
    assert calendar.version == reg.seasons.get("2024").version == 3
    reg.publisher.events.clear()
    bootstrap.outbox().sweep(older_than=0)
    assert [e.version for e in reg.publisher.of(SeasonCalendarSet)] == [2, 3]
