"""Helpers shared by the match service's tests (not the engine's): principals with a fake
token verifier, the service wired on the in-process emulator (`aws` fixture), events fed
through the real consumer, and a pump that answers the state machine's task messages."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from shared.auth import Principal, TokenVerifier
from shared.clock import ControlledClock
from shared.contracts import (
    ApplicantRegistered,
    ApplicationDelivered,
    Contract,
    ProgramRegistered,
    SeasonCalendarSet,
    SeasonDeadlineReached,
    TrackInfo,
)
from shared.email import RecordingMailer
from shared.events import InMemoryPublisher, envelope
from shared.runtime import Platform
from shared.settings import Settings

SEASON = "2301"
T0 = datetime(2031, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CALENDAR = {
    "rol_opens": T0 + 1 * DAY,
    "rol_deadline": T0 + 10 * DAY,
    "match_status_day": T0 + 12 * DAY,
    "mpii_applications_open": T0 + 12 * DAY,
    "mpii_application_deadline": T0 + 13 * DAY,
    "mpii_rol_opens": T0 + 13 * DAY,
    "mpii_rol_deadline": T0 + 15 * DAY,
    "match_day": T0 + 17 * DAY,
}




def applicant_principal(n: int) -> Principal:
    return Principal(f"sub-applicant-{n}", f"sub-applicant-{n}", "applicant", frozenset({"applicant"}))


def program_principal(code: str) -> Principal:
    return Principal(f"sub-program-{code}", f"sub-program-{code}", "program",
                     frozenset({"program", f"program-{code}"}))


ADMIN = Principal("sub-admin", "admin@test", "admin", frozenset({"admin"}))


def principals(applicants: int = 12, programs=("101", "102", "103")) -> dict[str, Principal]:
    out = {"admin": ADMIN}
    for n in range(applicants):
        out[f"a{n}"] = applicant_principal(n)
    for code in programs:
        out[f"p{code}"] = program_principal(code)
    return out


def build_service(clock: ControlledClock, *, verifier: TokenVerifier | None = None, state_machine_arn: str = ""):
    """The real wiring (DynamoDB store, Step Functions) with a controlled clock, a recording
    publisher and mailer: swapped at the one wiring point."""
    from match import bootstrap
    from match.adapters.stepfunctions import StepFunctionsCallbacks, StepFunctionsRunEngine
    from match.adapters.store import DynamoMatchStore
    from shared.adapters.accounts import StaticAccountDirectory
    from shared.adapters.inbox import dynamo_deadline_log

    platform = Platform(settings=Settings.from_env(), clock=clock)
    platform.publisher = InMemoryPublisher()
    platform.mailer = RecordingMailer()
    if verifier is not None:
        platform.verifier = verifier
    svc = bootstrap.Match(platform=platform, deadlines=dynamo_deadline_log("match"), store=DynamoMatchStore(),
                          runs=StepFunctionsRunEngine(state_machine_arn or "arn:aws:states:us-east-1:123456789012:"
                                                      "stateMachine:caspr-local-match"),
                          callbacks=StepFunctionsCallbacks(), accounts=StaticAccountDirectory(),
                          admin_emails=("alerts@test.caspr",))
    bootstrap.override(svc)
    return svc


def relay(svc) -> int:
    """Delivers the service's outbox to its recording publisher and mailer, as the relay does
    (on AWS and on the local stack from the table's stream; here its sweep). Returns how many
    items it delivered."""
    return svc.platform.outbox("match").sweep(older_than=0)


def sqs_record(body: str, message_id: str | None = None) -> dict:
    return {
        "messageId": message_id or str(uuid.uuid4()), "receiptHandle": "handle", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:caspr-local-match-events", "awsRegion": "us-east-1",
    }


def feed(*events: Contract) -> dict:
    """Delivers events to the match consumer as EventBridge -> SQS would."""
    from match.consumers import handle_batch

    out = handle_batch({"Records": [sqs_record(json.dumps(envelope(e))) for e in events]})
    assert out["batchItemFailures"] == [], out
    return out


def seed_season(season: str = SEASON, applicants: int = 12, calendar: dict | None = None,
                tracks: dict | None = None, contacts: bool = False) -> dict:
    """Calendar, programs 101-103 with tracks (contacts: with contact email p<code>@test.caspr),
    applicants 10000.. (owner sub-applicant-<n>)."""
    tracks = tracks or {"101": [("1011", 2)], "102": [("1021", 1), ("1022", 1)], "103": [("1031", 2)]}
    events: list[Contract] = [SeasonCalendarSet(season=season, calendar=calendar or CALENDAR)]
    for code, ts in tracks.items():
        events.append(ProgramRegistered(season=season, program_code=code, name=f"Program {code}", coth=True,
                                        crip=False, tracks=[TrackInfo(track_code=t, name=f"PMSR/RRA {t}", positions=p)
                                                            for t, p in ts],
                                        contact_email=f"p{code}@test.caspr" if contacts else None))
    ids = {}
    for n in range(applicants):
        ids[n] = f"app-{season}-{n}"
        events.append(ApplicantRegistered(
            season=season, applicant_id=ids[n], code_number=f"{10000 + n}", cms_id=f"PRO-{n:09d}",
            email=f"a{n}@test.caspr", first_name=f"First{n}", last_name=f"Last{n}", college="TUSPM",
            graduation_year=2031, timezone="America/Chicago", credits_total=12, owner_sub=f"sub-applicant-{n}"))
    feed(*events)
    return ids


def mpii_delivered(applicant: int, program_code: str, season: str = SEASON,
                   at: datetime | None = None) -> ApplicationDelivered:
    """M7: the applications service delivered applicant n's (seed_season's id) MPII application."""
    at = at or CALENDAR["mpii_applications_open"] + timedelta(hours=1)
    return ApplicationDelivered(season=season, applicant_id=f"app-{season}-{applicant}", program_code=program_code,
                                round="mpii", designated_at=at, delivered_at=at)


def submit_lists(svc):
    """Applicants 0-5 rank; tracks rank. Applicant 5 withdraws later (M3); applicant 6 has an
    uncertified list (M1); 7.. rank nothing."""
    from match import handlers

    lists = {0: ["1011", "1021"], 1: ["1011"], 2: ["1011", "1031"], 3: ["1021", "1011"], 4: ["1022"],
             5: ["1031"], 6: ["1031"]}
    for n, tracks in lists.items():
        p = applicant_principal(n)
        handlers.put_applicant_rol(svc, SEASON, "match", "me", tracks, p)
        if n != 6:
            handlers.certify_applicant_rol(svc, SEASON, "match", "me", None, p)
    track_lists = {"1011": ("101", ["10002", "10000", "10001", "10003"]), "1021": ("102", ["10003", "10000"]),
                   "1022": ("102", ["10004"]), "1031": ("103", ["10005", "10006", "10002"])}
    for track, (program, ranked) in track_lists.items():
        handlers.put_track_rol(svc, SEASON, "match", track, ranked, program_principal(program))
        handlers.certify_track_rol(svc, SEASON, "match", track, None, program_principal(program))


def deadline(season: str, key: str, at: datetime) -> SeasonDeadlineReached:
    return SeasonDeadlineReached(season=season, key=key, at=at)


class Pump:
    """Plays the part of the Lambda event source mapping of the match queue: receives the
    state machine's task messages (and anything else on the queue) and hands them to the
    very handler Lambda would call."""

    def __init__(self, queue_name: str = "caspr-local-match-events"):
        import boto3

        self.sqs = boto3.client("sqs")
        self.url = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self.handled: list[dict] = []

    def once(self) -> int:
        from match.consumers import handle_batch

        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return 0
        out = handle_batch({"Records": [sqs_record(m["Body"], m["MessageId"]) for m in messages]})
        failed = {f["itemIdentifier"] for f in out["batchItemFailures"]}
        for m in messages:
            self.handled.append(json.loads(m["Body"]))
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)

    def until(self, condition, timeout: float = 30.0, what: str = "condition"):
        deadline_at = time.monotonic() + timeout
        while time.monotonic() < deadline_at:
            value = condition()
            if value:
                return value
            if not self.once():
                time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; handled: {[h.get('step') for h in self.handled]}")


def rol_window_clock() -> ControlledClock:
    """The clock most service tests start at: a day after the rank order lists open."""
    return ControlledClock(CALENDAR["rol_opens"] + DAY)


@contextlib.contextmanager
def seeded_service(clock: ControlledClock, *, applicants: int, contacts: bool = False,
                   verifier: TokenVerifier | None = None, callbacks=None, run: str | None = None):
    """The match service wired on the emulator's tables (`aws` fixture) with the season seeded;
    given `run`, also the lists submitted, the clock an hour past rol_deadline and that run
    created (what a run's tests start from). The bootstrap override is cleared afterwards."""
    from match import bootstrap

    service = build_service(clock, verifier=verifier)
    if callbacks is not None:
        service.callbacks = callbacks
    seed_season(applicants=applicants, contacts=contacts)
    if run is not None:
        from match.adapters.store import DynamoMatchStore
        from match.domain.runs import RunRecord

        submit_lists(service)
        clock.set(CALENDAR["rol_deadline"] + DAY / 24)
        DynamoMatchStore().create_run(RunRecord(SEASON, run, 1, clock.now(), "admin"))
    try:
        yield service
    finally:
        bootstrap.override(None)


def match_app():
    """The match service's Chalice app (services/match/app.py), loaded once per process."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "caspr_app_match"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "services" / "match" / "app.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].app
