"""The Match state machine (infra/statemachines/match.asl.json) executed by moto's Step
Functions interpreter, in process, with the match service answering its task messages
(.waitForTaskToken over SQS) through the very handler Lambda calls (M4, M5, M6, M7, M8).

- a whole season: lists -> run at rol_deadline -> nothing visible before Match Status Day
  -> status -> MPII participants and lists -> match_day -> results -> Post-Match list;
- waits complete on season.deadline_reached.v1, never on wall-clock time;
- a second start returns the existing execution (one per season);
- a store failure is retried by name (TransientStoreError) without duplicating anything;
- a result that fails verification stops the run (alert email, FAILED) and publishes nothing.
"""

from __future__ import annotations

import json

import pytest
from match_service_support import (
    ADMIN,
    CALENDAR,
    DAY,
    SEASON,
    T0,
    Pump,
    applicant_principal,
    build_service,
    deadline,
    feed,
    mpii_delivered,
    program_principal,
    relay,
    seed_season,
    submit_lists,
)

from shared.clock import ControlledClock
from shared.contracts import (
    ApplicantWithdrawn,
    MatchResultsReleased,
    MatchRunCompleted,
    MatchStatusReleased,
    MpiiOpened,
)
from shared.errors import Forbidden, RuleViolation

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")]


@pytest.fixture
def machine(aws, monkeypatch):
    """The state machine of infra's template, created in moto's executing Step Functions."""
    import boto3
    from moto.core.config import default_user_config

    from infra.stack import build_shared_template

    monkeypatch.setitem(default_user_config.setdefault("stepfunctions", {}), "execute_state_machine", True)
    props = build_shared_template("local")["Resources"]["MatchStateMachine"]["Properties"]
    text, _subs = props["DefinitionString"]["Fn::Sub"]
    url = boto3.client("sqs").get_queue_url(QueueName="caspr-local-match-events")["QueueUrl"]
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(name=props["StateMachineName"], definition=text.replace("${MatchQueueUrl}", url),
                                   roleArn="arn:aws:iam::123456789012:role/caspr-local-match")["stateMachineArn"]
    yield arn
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
        for ex in page["executions"]:
            sfn.stop_execution(executionArn=ex["executionArn"])


@pytest.fixture
def clock():
    return ControlledClock(T0)


@pytest.fixture
def svc(machine, clock):
    from match import bootstrap

    service = build_service(clock, state_machine_arn=machine)
    yield service
    bootstrap.override(None)


def status(svc, run_id: str) -> str:
    from match import handlers

    return handlers.run_view(svc, SEASON, run_id)["status"]


def step_state(svc, run_id: str, step: str) -> str | None:
    return next((s.status for s in svc.store.steps(SEASON, run_id) if s.step == step), None)


def move(clock, key: str, svc=None):
    clock.set(CALENDAR[key] + DAY / 24)
    feed(deadline(SEASON, key, CALENDAR[key]))


def test_m4_m5_m6_m7_m8_a_whole_season_runs_on_the_state_machine(svc, clock):
    from match import handlers

    seed_season(applicants=8)
    clock.set(CALENDAR["rol_opens"] + DAY)
    submit_lists(svc)
    pump = Pump()

    move(clock, "rol_deadline")  # M4: the run starts by itself at list lock
    runs = svc.store.runs(SEASON)
    assert [r.run_id for r in runs] == [f"{SEASON}-match-1"]
    rid = runs[0].run_id
    feed(ApplicantWithdrawn(season=SEASON, applicant_id=f"app-{SEASON}-5", code_number="10005", reason="test"))
    pump.until(lambda: step_state(svc, rid, "await:match_status_day") == "waiting", what="the status-day wait")

    # M1: lists are locked from now on, whoever asks
    with pytest.raises(RuleViolation) as refused:
        handlers.put_applicant_rol(svc, SEASON, "match", "me", ["1011"], applicant_principal(1))
    assert refused.value.rule == "M1"
    # M6: nothing visible before Match Status Day, although the result is stored
    assert svc.store.round_state(SEASON, "match").stored_at is not None
    with pytest.raises(Forbidden) as hidden:
        handlers.my_result(svc, SEASON, applicant_principal(0))
    assert hidden.value.rule == "M6"
    # a second start returns the existing run, never a second execution
    again, _, created = handlers.start_run(svc, SEASON, by="admin")
    assert (again.run_id, created) == (rid, False)
    assert status(svc, rid) == "RUNNING"

    move(clock, "match_status_day")
    pump.until(lambda: step_state(svc, rid, "await:mpii_rol_deadline") == "waiting", what="the MPII wait")
    me = handlers.my_result(svc, SEASON, applicant_principal(0))["applicant"]
    assert me["released"] == "status" and me["match"] == {"status": "matched"}  # M5: no program, no track yet
    assert handlers.my_result(svc, SEASON, applicant_principal(5))["applicant"]["match"]["status"] == "unmatched"
    prog = handlers.my_result(svc, SEASON, program_principal("103"))["program"]
    assert [(t["track_code"], t["unfilled"]) for t in prog["tracks"]] == [("1031", 2)]
    assert "matched" not in prog["tracks"][0] or prog["tracks"][0].get("matched") is None

    # stable, applicant-optimal result of the snapshot (withdrawn 10005 skipped, uncertified 10006 not counted)
    match = {o.code_number: o.track_code for o in svc.store.applicant_outcomes(SEASON, "match")}
    assert match == {"10000": "1011", "10001": None, "10002": "1011", "10003": "1021", "10004": "1022",
                     "10005": None, "10006": None, "10007": None}
    # M7: registered, not withdrawn, unmatched applicants (also those who ranked nothing); unfilled tracks
    mpii = svc.store.mpii(SEASON)
    assert mpii.applicant_codes == ("10001", "10006", "10007")
    assert mpii.track_positions == {"1031": 2}
    with pytest.raises(RuleViolation) as not_mpii:
        handlers.put_applicant_rol(svc, SEASON, "mpii", "me", ["1031"], applicant_principal(0))
    assert not_mpii.value.rule == "M7"
    clock.set(CALENDAR["mpii_rol_opens"] + DAY / 24)
    with pytest.raises(RuleViolation) as limited:
        handlers.put_applicant_rol(svc, SEASON, "mpii", "me", ["1011"], applicant_principal(1))
    assert limited.value.rule == "M7"
    with pytest.raises(RuleViolation) as no_application:  # M7: no MPII application to 103 yet
        handlers.put_applicant_rol(svc, SEASON, "mpii", "me", ["1031"], applicant_principal(1))
    assert no_application.value.rule == "M7"
    feed(mpii_delivered(1, "103"), mpii_delivered(6, "103"))
    for n in (1, 6):
        handlers.put_applicant_rol(svc, SEASON, "mpii", "me", ["1031"], applicant_principal(n))
        handlers.certify_applicant_rol(svc, SEASON, "mpii", "me", None, applicant_principal(n))
    with pytest.raises(RuleViolation):  # M7: 10000 matched in the Match, so no MPII applicant
        handlers.put_track_rol(svc, SEASON, "mpii", "1031", ["10006", "10000"], program_principal("103"))
    handlers.put_track_rol(svc, SEASON, "mpii", "1031", ["10006"], program_principal("103"))
    handlers.certify_track_rol(svc, SEASON, "mpii", "1031", None, program_principal("103"))

    move(clock, "mpii_rol_deadline")
    pump.until(lambda: step_state(svc, rid, "await:match_day") == "waiting", what="the Match Day wait")
    still = handlers.my_result(svc, SEASON, applicant_principal(6))["applicant"]
    assert still["released"] == "status" and "status" not in still["mpii"]  # MPII result waits for Match Day
    with pytest.raises(Forbidden) as early:
        handlers.post_match_view(svc, SEASON)
    assert early.value.rule == "M8"

    move(clock, "match_day")
    pump.until(lambda: status(svc, rid) == "SUCCEEDED", what="the run to succeed")
    me = handlers.my_result(svc, SEASON, applicant_principal(0))["applicant"]
    assert me["released"] == "results"
    assert me["match"]["track_code"] == "1011" and me["match"]["program_code"] == "101"
    six = handlers.my_result(svc, SEASON, applicant_principal(6))["applicant"]
    assert six["match"]["status"] == "unmatched" and six["mpii"]["status"] == "matched"
    assert six["mpii"]["track_code"] == "1031"
    prog = handlers.my_result(svc, SEASON, program_principal("101"))["program"]
    assert [a["code_number"] for a in prog["tracks"][0]["matched"]] == ["10002", "10000"]  # in the program's rank order
    post = handlers.post_match_view(svc, SEASON)
    assert post["positions"] == [{"track_code": "1031", "track_name": "PMSR/RRA 1031", "program_code": "103",
                                  "program_name": "Program 103", "open_positions": 1}]
    admin = handlers.admin_results(svc, SEASON)
    assert admin["rounds"]["match"]["statistics"]["matched"] == 4
    assert admin["rounds"]["mpii"]["statistics"]["matched"] == 1

    relay(svc)
    published = svc.platform.publisher
    assert [e.round for e in published.of(MatchRunCompleted)] == ["match", "mpii"]
    assert len(published.of(MatchStatusReleased)) == 1 and len(published.of(MatchResultsReleased)) == 1
    opened = published.of(MpiiOpened)
    assert len(opened) == 1 and opened[0].track_codes == ["1031"]
    view = handlers.run_view(svc, SEASON, rid)
    assert view["completed_steps"] == view["planned_steps"]


def test_m4_waits_are_for_calendar_events_not_wall_clock(svc, clock):
    """A run started by the administrator before rol_deadline waits for the deadline event;
    a wait whose instant has passed by the service's clock completes at once."""
    from match import handlers

    seed_season(applicants=8)
    clock.set(CALENDAR["rol_opens"] + DAY)
    submit_lists(svc)
    record, _, created = handlers.start_run(svc, SEASON, by=ADMIN.sub)
    assert created
    pump = Pump()
    pump.until(lambda: step_state(svc, record.run_id, "await:rol_deadline") == "waiting", what="rol wait")
    for _ in range(5):
        pump.once()
    assert step_state(svc, record.run_id, "lock_lists:match") is None  # nothing happens without the event
    # the clock passes match_status_day too: only rol_deadline's event is delivered, the next wait
    # sees its instant has passed by the clock and goes on at once
    clock.set(CALENDAR["match_status_day"] + DAY / 24)
    feed(deadline(SEASON, "rol_deadline", CALENDAR["rol_deadline"]))
    pump.until(lambda: step_state(svc, record.run_id, "await:mpii_rol_deadline") == "waiting", what="MPII wait")
    assert step_state(svc, record.run_id, "release_status") == "succeeded"


def test_m4_a_store_failure_is_retried_by_name_and_duplicates_nothing(svc, clock):
    from match import handlers
    from match.adapters.store import DynamoMatchStore
    from match.domain.errors import TransientStoreError

    class FlakyStore(DynamoMatchStore):
        """Fails the first write of results, after writing half of them (a crash mid-step)."""

        failures = 0

        def store_results(self, *args, **kwargs):
            if FlakyStore.failures == 0:
                FlakyStore.failures += 1
                raise TransientStoreError("throttled")
            return super().store_results(*args, **kwargs)

    svc.store = FlakyStore()
    seed_season(applicants=8)
    clock.set(CALENDAR["rol_opens"] + DAY)
    submit_lists(svc)
    move(clock, "rol_deadline")
    rid = svc.store.runs(SEASON)[0].run_id
    pump = Pump()
    pump.until(lambda: step_state(svc, rid, "await:match_status_day") == "waiting", what="the status-day wait")
    assert FlakyStore.failures == 1
    store_step = next(s for s in svc.store.steps(SEASON, rid) if s.step == "store:match")
    # retried by the state machine (moto re-sends the task with the same token, so the stale failure
    # may cost one more attempt; each attempt is the same idempotent step)
    assert store_step.attempts >= 2 and store_step.status == "succeeded"
    assert [h["step"] for h in pump.handled].count("store") >= 2
    relay(svc)
    assert len(svc.platform.publisher.of(MatchRunCompleted)) == 1
    # re-running a finished step repeats nothing: the same snapshot, the same stored result, no second event
    from match import workflow

    before = svc.store.round_state(SEASON, "match")
    for step in ("lock_lists", "take_snapshot", "store"):
        assert workflow.STEPS[step](svc, {"season": SEASON, "run_id": rid, "round": "match"})
    after = svc.store.round_state(SEASON, "match")
    assert (after.locked_at, after.snapshot_sha256, after.stored_at) == (before.locked_at, before.snapshot_sha256,
                                                                         before.stored_at)
    assert relay(svc) == 0  # the re-run steps announced nothing
    assert len(svc.platform.publisher.of(MatchRunCompleted)) == 1
    assert handlers.run_view(svc, SEASON, rid)["status"] == "RUNNING"


def test_m2_m4_a_result_that_fails_verification_stops_the_run_and_alerts(svc, clock):
    from match import handlers
    from match.domain.engine import solve
    from match.domain.snapshot import Result

    def unstable(snapshot):
        """A broken solver: leaves everyone unmatched (blocking pairs everywhere)."""
        good = solve(snapshot)
        return Result(matches=dict.fromkeys(good.matches), unfilled={t: s.positions for t, s in snapshot.tracks.items()},
                      snapshot_sha256=good.snapshot_sha256)

    svc.solve = unstable
    seed_season(applicants=8)
    clock.set(CALENDAR["rol_opens"] + DAY)
    submit_lists(svc)
    move(clock, "rol_deadline")
    rid = svc.store.runs(SEASON)[0].run_id
    pump = Pump()
    pump.until(lambda: status(svc, rid) == "FAILED", what="the run to fail")
    view = handlers.run_view(svc, SEASON, rid)
    assert view["error"] == "MatchVerificationFailed"
    assert step_state(svc, rid, "verify:match") == "failed"
    assert step_state(svc, rid, "store:match") is None
    assert svc.store.round_state(SEASON, "match").stored_at is None  # nothing stored ...
    relay(svc)
    assert svc.platform.publisher.events == []  # ... nothing published
    mails = [m for m in svc.platform.mailer.sent if "input is sealed" not in m.subject]  # the seal's (issue 12)
    assert len(mails) == 1 and mails[0].to == "alerts@test.caspr" and "VerificationFailed" in mails[0].subject
    assert "blocking" in mails[0].body or "violation" in mails[0].body
    # the administrator may start a new attempt; it resumes from the stored snapshot
    svc.solve = solve
    record, _, created = handlers.start_run(svc, SEASON, by=ADMIN.sub)
    assert created and record.run_id == f"{SEASON}-match-2"
    pump.until(lambda: step_state(svc, record.run_id, "await:match_status_day") == "waiting", what="second attempt")
    assert svc.store.round_state(SEASON, "match").stored_at is not None
    assert json.loads(next(s.detail for s in svc.store.steps(SEASON, record.run_id)
                           if s.step == "take_snapshot:match"))["snapshot_sha256"] == \
        svc.store.round_state(SEASON, "match").snapshot_sha256
