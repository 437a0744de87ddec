"""Issue 12, "Emails": what the Match sends its participants, through the outbox, once each.

- pure (no marker): when a reminder is due, who is reminded, how a deadline is written;
- on the in-process emulator (`aws` fixture, marked integration like the other service tests):
  the ROL reminders 3 and 1 days before each round's deadline (the scheduled function) to the
  uncertified participants only, with the deadline in the applicant's time zone (else
  America/Chicago), once under re-runs and redeliveries, following a moved calendar; "your
  result is available" after the run's release steps to the certified participants only, without
  the result, once under a crash and a retried step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from match_service_support import (
    CALENDAR,
    DAY,
    SEASON,
    applicant_principal,
    feed,
    program_principal,
    relay,
    rol_window_clock,
    seed_season,
    seeded_service,
    submit_lists,
)
from test_match_service_outbox import PLAN, RUN, recording_callbacks, task

from shared.contracts import (
    ApplicantProfileUpdated,
    ApplicantRegistered,
    ApplicantWithdrawn,
    ProgramUpdated,
    SeasonCalendarSet,
    TrackInfo,
)

MINUTE = timedelta(minutes=1)
DEADLINE = CALENDAR["rol_deadline"]
pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")


# ----------------------------------------------------------------------------- pure
def test_reminders_are_due_3_then_1_days_before_each_deadline_once_the_lists_are_open():
    from match.domain.notices import due_reminders
    from match.domain.season import Calendar

    cal = Calendar(SEASON, dict(CALENDAR))
    due = lambda at: [(r.round, r.days) for r in due_reminders(cal, at)]  # noqa: E731
    assert due(DEADLINE - 3 * DAY - MINUTE) == []
    assert due(DEADLINE - 3 * DAY) == [("match", 3)]
    assert due(DEADLINE - DAY - MINUTE) == [("match", 3)]
    assert due(DEADLINE - DAY) == [("match", 1)]
    assert due(DEADLINE - MINUTE) == [("match", 1)]
    assert due(DEADLINE) == []  # locked: nothing to remind of
    # MPII opens 2 days before its deadline: the 3-day reminder is due once its lists open
    mpii = CALENDAR["mpii_rol_deadline"]
    assert due(mpii - 3 * DAY) == []
    assert due(CALENDAR["mpii_rol_opens"]) == [("mpii", 3)]
    assert due(mpii - DAY + MINUTE) == [("mpii", 1)]
    # the key names the deadline: a moved deadline is another reminder
    moved = Calendar(SEASON, {**CALENDAR, "rol_deadline": DEADLINE + 2 * DAY})
    assert due_reminders(moved, DEADLINE + DAY)[0].key != due_reminders(cal, DEADLINE - 2 * DAY)[0].key


def test_deadlines_are_written_in_the_applicants_time_zone_else_chicago():
    from match.domain.notices import local_time

    at = datetime(2031, 1, 11, 12, 0, tzinfo=UTC)
    assert local_time(at, "America/Los_Angeles") == "Saturday, January 11, 2031, 4:00 AM PST (America/Los_Angeles)"
    assert local_time(at, None) == "Saturday, January 11, 2031, 6:00 AM CST (America/Chicago)"
    assert local_time(at, "Not/A_Zone") == local_time(at, "")  # an unknown zone: Chicago
    assert local_time(datetime(2031, 7, 1, 17, 5, tzinfo=UTC), "Europe/Paris").startswith(
        "Tuesday, July 1, 2031, 7:05 PM CEST")


# ----------------------------------------------------------------------------- on the emulator
@pytest.fixture
def clock():
    return rol_window_clock()


@pytest.fixture
def svc(aws, clock):
    with seeded_service(clock, applicants=8, contacts=True) as service:
        yield service


def lists(svc, applicants: dict[int, tuple[list[str], bool]], tracks: dict[str, tuple[str, list[str], bool]],
          rnd: str = "match") -> None:
    """Saves (and certifies when told) each applicant's and each track's list."""
    from match import handlers

    for n, (ranked, certify) in applicants.items():
        handlers.put_applicant_rol(svc, SEASON, rnd, "me", ranked, applicant_principal(n))
        if certify:
            handlers.certify_applicant_rol(svc, SEASON, rnd, "me", None, applicant_principal(n))
    for code, (program, ranked, certify) in tracks.items():
        handlers.put_track_rol(svc, SEASON, rnd, code, ranked, program_principal(program))
        if certify:
            handlers.certify_track_rol(svc, SEASON, rnd, code, None, program_principal(program))


def remind(svc) -> list:
    """The scheduled function's run, then what the relay delivers."""
    from match import notices

    before = len(svc.platform.mailer.sent)
    notices.send_rol_reminders(svc)
    relay(svc)
    return svc.platform.mailer.sent[before:]


@pytest.fixture
def season_with_lists(svc):
    """Applicants 0-3 certified, 4 saved but not certified (Los Angeles time), 5 no list,
    6 withdrawn, 7 no list and no time zone; tracks 1011 (101) and 1021 (102) certified, 1022 (102)
    saved, 1031 (103) none."""
    feed(ApplicantProfileUpdated(season=SEASON, applicant_id=f"app-{SEASON}-4", timezone="America/Los_Angeles"),
         ApplicantRegistered(season=SEASON, applicant_id=f"app-{SEASON}-7", code_number="10007", cms_id="PRO-7",
                             email="a7@test.caspr", first_name="First7", last_name="Last7", college="TUSPM",
                             graduation_year=2031, timezone="", credits_total=12, owner_sub="sub-applicant-7"),
         ApplicantWithdrawn(season=SEASON, applicant_id=f"app-{SEASON}-6", code_number="10006", reason="left",
                            version=5))
    lists(svc, {0: (["1011"], True), 1: (["1011"], True), 2: (["1021"], True), 3: (["1031"], True),
                4: (["1022"], False)},
          {"1011": ("101", ["10000", "10001"], True), "1021": ("102", ["10002"], True),
           "1022": ("102", ["10004"], False)})
    return svc


@pytest.mark.parametrize("days", [3, 1])
@pytest.mark.integration
def test_rol_reminder_goes_to_each_uncertified_participant_once(season_with_lists, clock, days):
    from match.domain.notices import local_time

    svc = season_with_lists
    clock.set(DEADLINE - days * DAY - MINUTE)
    assert remind(svc) == [] or days == 1  # (the 1-day case: the 3-day reminder is due the minute before)
    clock.set(DEADLINE - days * DAY + MINUTE)
    mails = remind(svc) if days == 3 else [m for m in remind(svc) if "tomorrow" in m.body]
    by_to = {m.to: m for m in mails}
    # not the certified applicants 0-3, nor the withdrawn 6; not program 101 (its only track certified)
    assert sorted(by_to) == ["a4@test.caspr", "a5@test.caspr", "a7@test.caspr", "p102@test.caspr",
                             "p103@test.caspr"]
    assert len(mails) == 5
    la = local_time(DEADLINE, "America/Los_Angeles")
    chicago = local_time(DEADLINE, "America/Chicago")
    assert "PST (America/Los_Angeles)" in la and "CST (America/Chicago)" in chicago
    assert la in by_to["a4@test.caspr"].body and la in by_to["a4@test.caspr"].subject
    assert chicago in by_to["a7@test.caspr"].body  # no time zone known: Chicago
    assert chicago in by_to["a5@test.caspr"].body  # registered in Chicago
    assert ("in 3 days" if days == 3 else "tomorrow") in by_to["a5@test.caspr"].body
    assert "Dear First5 Last5" in by_to["a5@test.caspr"].body and "not certified" in by_to["a5@test.caspr"].body
    site = svc.platform.settings.public_base_url.rstrip("/")
    assert f"Sign in at {site}/#/rank-list " in by_to["a5@test.caspr"].body  # the page of the list
    program = by_to["p102@test.caspr"].body
    assert "1022" in program and "1021" not in program and chicago in program  # only its uncertified track
    assert "/#/program-lists" in program
    assert "1031" in by_to["p103@test.caspr"].body
    # the schedule runs again (every 5 minutes), and a run that finds no 'done' marker yet: nothing again
    clock.set(clock.now() + 10 * MINUTE)
    assert remind(svc) == []
    from match import notices
    from match.domain import notices as n

    people, programs = n.uncertified(svc.store.applicants(SEASON), svc.store.tracks(SEASON),
                                     svc.store.rols(SEASON, "match"))
    reminder = n.due_reminders(svc.store.calendar(SEASON), clock.now())[0]
    again = n.reminder_notices(SEASON, reminder, people, programs, svc.store.program_contacts(SEASON), "x")
    assert len(again) == 5 and svc.store.notify_once(SEASON, again, clock.now()) == 0
    assert notices.send_rol_reminders(svc) == 0 and relay(svc) == 0


@pytest.mark.integration
def test_the_1_day_reminder_skips_lists_certified_since_and_nothing_after_the_lock(season_with_lists, clock):
    svc = season_with_lists
    clock.set(DEADLINE - 3 * DAY + MINUTE)
    assert len(remind(svc)) == 5
    lists(svc, {4: (["1022"], True)}, {"1022": ("102", ["10004"], True)})  # certified meanwhile
    clock.set(DEADLINE - DAY + MINUTE)
    assert sorted(m.to for m in remind(svc)) == ["a5@test.caspr", "a7@test.caspr", "p103@test.caspr"]
    clock.set(DEADLINE + MINUTE)
    assert remind(svc) == []


@pytest.mark.integration
def test_reminders_follow_a_moved_deadline_and_a_new_contact(season_with_lists, clock):
    from match.domain.notices import local_time

    svc = season_with_lists
    moved = DEADLINE + 5 * DAY
    feed(SeasonCalendarSet(season=SEASON, calendar={**CALENDAR, "rol_deadline": moved}, version=2),
         ProgramUpdated(season=SEASON, program_code="103", name="Program 103", coth=True, crip=False,
                        tracks=[TrackInfo(track_code="1031", name="PMSR/RRA 1031", positions=2)],
                        contact_email="New.Contact@test.caspr", version=2))
    clock.set(DEADLINE - 3 * DAY + MINUTE)  # the old instant: nothing is due any more
    assert remind(svc) == []
    clock.set(moved - 3 * DAY + MINUTE)
    mails = remind(svc)
    assert sorted(m.to for m in mails) == ["a4@test.caspr", "a5@test.caspr", "a7@test.caspr",
                                           "new.contact@test.caspr", "p102@test.caspr"]
    assert all(local_time(moved, "America/Chicago") in m.body for m in mails if m.to != "a4@test.caspr")
    assert local_time(DEADLINE, "America/Chicago") not in mails[0].body


@pytest.mark.integration
def test_mpii_reminder_goes_to_mpii_participants_only(season_with_lists, clock):
    from match.domain.mpii import MpiiParticipants

    svc = season_with_lists
    # MPII opened: applicants 10004, 10005, 10007 and track 1031 (103) take part
    svc.store.save_mpii(SEASON, MpiiParticipants(("10004", "10005", "10007"), {"1031": 2}), clock.now())
    svc.store.lock_round(SEASON, "match", clock.now(), "run")
    clock.set(CALENDAR["mpii_rol_deadline"] - DAY + MINUTE)
    mails = remind(svc)
    assert sorted(m.to for m in mails) == ["a4@test.caspr", "a5@test.caspr", "a7@test.caspr", "p103@test.caspr"]
    assert all("MPII rank order list" in m.subject or "MPII rank order lists" in m.subject for m in mails)
    assert remind(svc) == []


# ----------------------------------------------------------------------------- results available
@pytest.fixture
def ran(svc, clock):
    """The run up to storing the Match round (lists: submit_lists; contacts p101-p103)."""
    from match import workflow
    from match.adapters.store import DynamoMatchStore
    from match.domain.runs import RunRecord

    svc.callbacks = recording_callbacks()
    submit_lists(svc)
    clock.set(CALENDAR["rol_deadline"] + DAY / 24)
    DynamoMatchStore().create_run(RunRecord(SEASON, RUN, 1, clock.now(), "admin"))
    for name, rnd in PLAN[:5]:
        assert workflow.run_task(svc, task(name, rnd)) == "succeeded"
    relay(svc)
    return svc


def _available(svc, what: str) -> list:
    return [m for m in svc.platform.mailer.sent if m.subject.endswith(f"{what} available")]


@pytest.mark.integration
def test_result_available_on_status_day_and_match_day_to_certified_participants_once_without_the_result(
        ran, clock):
    from match import workflow

    svc = ran
    clock.set(CALENDAR["match_status_day"] + MINUTE)
    assert workflow.run_task(svc, task("release_status")) == "succeeded"
    assert workflow.run_task(svc, task("release_status")) == "succeeded"  # a redelivered task
    relay(svc)
    status = _available(svc, "status is")
    # applicants 0-5 certified (6 did not, 7 has no list); every program has a certified track
    assert sorted(m.to for m in status) == [f"a{n}@test.caspr" for n in range(6)] + [
        f"p{c}@test.caspr" for c in ("101", "102", "103")]
    outcomes = {o.code_number: o.track_code for o in svc.store.applicant_outcomes(SEASON, "match")}
    tracks = svc.store.track_outcomes(SEASON, "match")
    for m in status:
        text = (m.subject + m.body).lower()
        assert "unmatched" not in text and "matched to" not in text and "sign in at http" in text
        assert ("/#/results " if m.to.startswith("a") else "/#/program-results ") in text  # where to read it
        if m.to.startswith("a"):
            n = int(m.to[1])
            assert outcomes[f"1000{n}"] is None or outcomes[f"1000{n}"] not in text  # the result is on the page
        else:
            held = [code for t in tracks.values() for code in t.matched]
            assert not any(code in text for code in held) and "unfilled" not in text
    for name, rnd in PLAN[6:12]:
        assert workflow.run_task(svc, task(name, rnd)) == "succeeded", (name, rnd)
    clock.set(CALENDAR["match_day"] + MINUTE)
    for _ in range(2):
        assert workflow.run_task(svc, task("release_results")) == "succeeded"
    relay(svc)
    results = _available(svc, "results are")
    assert sorted(m.to for m in results) == sorted(m.to for m in status)
    assert all("Match and MPII" in m.body for m in results)
    assert len(_available(svc, "status is")) == 9 and relay(svc) == 0


@pytest.mark.integration
def test_result_notices_committed_before_a_crash_are_not_sent_again(ran, clock):
    from match import notices, workflow
    from match.adapters.store import DynamoMatchStore
    from match.domain.notices import STATUS

    class ProcessDied(BaseException):
        """The process ends right after the notices' transaction committed."""

    class DiesAfterCommit(DynamoMatchStore):
        died = False

        def _commit_notices(self, season, notices, now):
            committed = super()._commit_notices(season, notices, now)
            if not DiesAfterCommit.died:
                DiesAfterCommit.died = True
                raise ProcessDied("after the notices' transaction")
            return committed

    svc = ran
    svc.store = DiesAfterCommit()
    clock.set(CALENDAR["match_status_day"] + MINUTE)
    with pytest.raises(ProcessDied):
        workflow.run_task(svc, task("release_status"))
    assert workflow.run_task(svc, task("release_status")) == "succeeded"  # the task comes back
    assert notices.announce_results(svc, SEASON, STATUS) == 0  # and a re-run: every notice was committed
    relay(svc)
    mails = _available(svc, "status is")
    assert len(mails) == 9 and len({m.to for m in mails}) == 9  # each participant once


@pytest.mark.integration
def test_a_season_whose_reminders_fail_does_not_hold_back_another(season_with_lists, clock):
    from match import notices
    from match.domain.errors import TransientStoreError

    svc = season_with_lists
    seed_season("2302", applicants=2, contacts=True)  # no lists at all: everyone is reminded
    real = svc.store.rols

    def failing(season, rnd):
        if season == SEASON:
            raise TransientStoreError("the store is throttling")
        return real(season, rnd)

    svc.store.rols = failing
    clock.set(DEADLINE - 3 * DAY + MINUTE)
    with pytest.raises(TransientStoreError):  # the function fails (an alarm) ...
        notices.send_rol_reminders(svc)
    relay(svc)
    assert sorted(m.to for m in svc.platform.mailer.sent) == [  # ... after the other season's reminders
        "a0@test.caspr", "a1@test.caspr", "p101@test.caspr", "p102@test.caspr", "p103@test.caspr"]
    svc.store.rols = real
    clock.set(clock.now() + 5 * MINUTE)
    assert len(remind(svc)) == 5  # the next run: the failed season's, and nothing again of the other's
