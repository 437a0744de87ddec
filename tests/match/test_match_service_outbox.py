"""Nothing a run announces is lost or announced twice (M4; issue 8), on the in-process
emulator (`aws` fixture):

- crash injection: a step's transaction commits (its state and its outbox items) and the
  process dies before anything else runs (a Lambda timeout, an out-of-memory, a deploy).
  The task message comes back (SQS redelivers it; Step Functions retries the step), the step
  runs again and finds its state written: it announces nothing new. The relay delivers what
  the first attempt committed: every event reaches the bus exactly once (one event id), the
  administrator's alert email is sent once;
- M1: two concurrent edits of one rank order list: one wins, the other is a 409 (no lost
  update); a client saving over a version it no longer has is refused the same way.
"""

from __future__ import annotations

import pytest
from match_service_support import (
    CALENDAR,
    DAY,
    SEASON,
    applicant_principal,
    program_principal,
    relay,
    rol_window_clock,
    seeded_service,
)

from shared.contracts import MatchResultsReleased, MatchRunCompleted, MatchStatusReleased, MpiiOpened
from shared.errors import Conflict

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")]
RUN = f"{SEASON}-match-1"
# the run's steps that write something, in the state machine's order (the waits between them left out)
PLAN = [("lock_lists", "match"), ("take_snapshot", "match"), ("solve", "match"), ("verify", "match"),
        ("store", "match"), ("release_status", None), ("open_mpii", None), ("lock_lists", "mpii"),
        ("take_snapshot", "mpii"), ("solve", "mpii"), ("verify", "mpii"), ("store", "mpii"),
        ("release_results", None)]
# issue 12: each round's seal is emailed to its participants (those with a certified list) and the
# administrator (Match: the 6 applicants with a certified list + 1; MPII: no certified list + 1), and
# "your result is available" to the 6 certified applicants on Match Status Day and again on Match Day
# (the seeded programs have no contact email); each email an outbox item the relay delivers
SEAL_EMAILS = 8
RESULT_EMAILS = 12


class ProcessDied(BaseException):
    """The process ends right here (not an Exception: no handler of ours catches it)."""


def store_that_dies_after(method: str, nth: int = 1):
    """The real DynamoDB store, whose `nth` call of `method` commits for real and then the
    process dies before the step goes on."""
    from match.adapters.store import DynamoMatchStore

    class DiesAfterCommit(DynamoMatchStore):
        calls = 0

        def _then_die(self, name: str, result):
            if name == method:
                DiesAfterCommit.calls += 1
                if DiesAfterCommit.calls == nth:
                    raise ProcessDied(f"died right after {name} committed")
            return result

        def store_results(self, *args, **kwargs):
            return self._then_die("store_results", super().store_results(*args, **kwargs))

        def mark_released(self, *args, **kwargs):
            return self._then_die("mark_released", super().mark_released(*args, **kwargs))

        def save_mpii(self, *args, **kwargs):
            return self._then_die("save_mpii", super().save_mpii(*args, **kwargs))

        def mark_run_failed(self, *args, **kwargs):
            return self._then_die("mark_run_failed", super().mark_run_failed(*args, **kwargs))

    return DiesAfterCommit()


def recording_callbacks():
    from match.adapters.stepfunctions import TaskCallbacks

    class RecordingCallbacks(TaskCallbacks):
        """The state machine's side of the task tokens."""

        def __init__(self):
            self.answers: list[tuple[str, str]] = []

        def succeed(self, token, output):
            self.answers.append((token, "succeeded"))
            return True

        def fail(self, token, error, cause):
            self.answers.append((token, error))
            return True

    return RecordingCallbacks()


@pytest.fixture
def clock():
    return rol_window_clock()


@pytest.fixture
def svc(aws, clock):
    with seeded_service(clock, applicants=8, callbacks=recording_callbacks(), run=RUN) as service:
        yield service


def task(step: str, rnd: str | None = None, **extra) -> dict:
    """The message a Task of the state machine sends (the same one again when SQS redelivers it)."""
    return {"caspr_task": "match", "step": step, "season": SEASON, "run_id": RUN,
            "task_token": f"token-{step}-{rnd}", **({"round": rnd} if rnd else {}), **extra}


def pending(svc, kind: str | None = None) -> list[str]:
    """The event ids (and email item ids) committed and not yet delivered (only `kind`: event, email)."""
    return sorted(i.event_id for i in svc.platform.outbox("match").pending(older_than=0)
                  if kind is None or i.kind == kind)


@pytest.mark.parametrize(("method", "nth", "step", "announced"), [
    ("store_results", 1, "store:match", MatchRunCompleted),
    ("mark_released", 1, "release_status", MatchStatusReleased),
    ("save_mpii", 1, "open_mpii", MpiiOpened),
    ("store_results", 2, "store:mpii", MatchRunCompleted),
    ("mark_released", 2, "release_results", MatchResultsReleased),
])
def test_m4_a_step_that_dies_right_after_its_commit_is_retried_and_every_event_is_published_once(
        svc, method, nth, step, announced):
    from match import workflow

    svc.store = store_that_dies_after(method, nth)
    died = []
    for name, rnd in PLAN:
        message, before = task(name, rnd), set(pending(svc))
        try:
            outcome = workflow.run_task(svc, message)
        except ProcessDied:
            died.append(f"{name}:{rnd}" if rnd else name)
            committed = set(pending(svc)) - before
            assert len(committed) == 1  # the step's event is in the table, beside its state
            outcome = workflow.run_task(svc, message)  # the task message comes back: the step runs again
            # ... finds its state written, announces nothing new (a release step then sends the result
            # notices it had not reached: emails, each once)
            assert set(pending(svc)) - before - set(pending(svc, "email")) == committed
        assert outcome == "succeeded", (name, rnd)
    assert died == [step]

    assert relay(svc) == 5 + SEAL_EMAILS + RESULT_EMAILS
    published = svc.platform.publisher.events
    assert [type(e) for e in published] == [MatchRunCompleted, MatchStatusReleased, MpiiOpened, MatchRunCompleted,
                                            MatchResultsReleased]  # in the order they committed
    assert len({e.event_id for e in published}) == 5 and all(e.event_id for e in published)
    assert [e.round for e in svc.platform.publisher.of(MatchRunCompleted)] == ["match", "mpii"]
    assert len([e for e in published if type(e) is announced]) == (2 if announced is MatchRunCompleted else 1)
    assert relay(svc) == 0 and pending(svc) == []  # delivered once; nothing left to deliver
    assert svc.store.round_state(SEASON, "match").stored_by_run == RUN
    assert svc.store.release_state(SEASON).results_released_at is not None


def test_m4_every_step_run_again_announces_nothing_again(svc):
    from match import workflow

    for name, rnd in PLAN:
        assert workflow.run_task(svc, task(name, rnd)) == "succeeded"
    assert relay(svc) == 5 + SEAL_EMAILS + RESULT_EMAILS
    for name, rnd in PLAN:  # a later attempt of the run, a redelivered message: the same steps again
        assert workflow.run_task(svc, task(name, rnd)) == "succeeded"
    assert pending(svc) == [] and relay(svc) == 0
    assert len(svc.platform.publisher.events) == 5


def test_m4_the_alert_committed_before_a_crash_is_emailed_once(svc):
    from match import handlers, workflow

    svc.store = store_that_dies_after("mark_run_failed")
    message = task("alert", failure={"Error": "VerificationFailed", "Cause": "3 blocking pairs"})
    with pytest.raises(ProcessDied):
        workflow.run_task(svc, message)
    committed = pending(svc)
    assert len(committed) == 1  # the email waits in the outbox, committed with the run's failure
    assert svc.platform.mailer.sent == []  # nothing sent directly
    assert workflow.run_task(svc, message) == "succeeded"  # the alert step retried
    assert workflow.run_task(svc, task("alert", failure={"Error": "States.Timeout"})) == "succeeded"
    assert pending(svc) == committed  # neither retry wrote or announced anything

    assert relay(svc) == 1
    mails = svc.platform.mailer.sent
    assert len(mails) == 1 and mails[0].to == "alerts@test.caspr"
    assert "VerificationFailed" in mails[0].subject and "3 blocking pairs" in mails[0].body
    assert relay(svc) == 0 and len(svc.platform.mailer.sent) == 1
    view = handlers.run_view(svc, SEASON, RUN)
    assert view["error"] == "VerificationFailed"  # the first failure recorded stays
    assert svc.platform.publisher.events == []


def test_m1_two_concurrent_edits_of_one_list_one_wins_the_other_is_a_409(svc, clock):
    """The second edit reads version 0; the first lands between its read and its write."""
    from match import handlers
    from match.adapters.store import DynamoMatchStore

    clock.set(CALENDAR["rol_opens"] + DAY)
    me = applicant_principal(7)  # no list yet

    class EditedMeanwhile(DynamoMatchStore):
        other = None

        def save_rol(self, *args, **kwargs):
            other, EditedMeanwhile.other = EditedMeanwhile.other, None
            if other is not None:
                other()  # the concurrent edit: read, validated and saved after this one's read
            return super().save_rol(*args, **kwargs)

    svc.store = EditedMeanwhile()
    EditedMeanwhile.other = lambda: handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1021"], me)
    with pytest.raises(Conflict) as refused:
        handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1011", "1031"], me)
    assert refused.value.status == 409 and refused.value.rule == "M1"
    assert "changed since it was read" in refused.value.detail
    rol = svc.store.rol(SEASON, "match", "applicant", f"app-{SEASON}-7")
    assert (rol.entries, rol.version) == (("1021",), 1)  # the winner's list, whole; no mix, no lost update

    # the same for a program's list
    program = program_principal("101")
    before = svc.store.rol(SEASON, "match", "track", "1011").version
    EditedMeanwhile.other = lambda: handlers.put_track_rol(svc, SEASON, "match", "1011", ["10001"], program)
    with pytest.raises(Conflict):
        handlers.put_track_rol(svc, SEASON, "match", "1011", ["10002"], program)
    rol = svc.store.rol(SEASON, "match", "track", "1011")
    assert (rol.entries, rol.version) == (("10001",), before + 1)


def test_m1_a_save_over_a_version_no_longer_current_is_a_409(svc, clock):
    from match import handlers

    clock.set(CALENDAR["rol_opens"] + DAY)
    me = applicant_principal(7)
    assert handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1021"], me, version=0)["version"] == 1
    with pytest.raises(Conflict) as refused:  # another device still shows version 0
        handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1011"], me, version=0)
    assert refused.value.status == 409 and refused.value.extra == {"version": 1}
    assert handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1011"], me, version=1)["version"] == 2
    assert svc.store.rol(SEASON, "match", "applicant", f"app-{SEASON}-7").entries == ("1011",)
