"""Fixtures of the scores tests: the service wired at its wiring point (bootstrap.override) on
the in-process AWS emulator (`aws`), with fakes for what leaves the process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.inbox import InMemoryDeadlineLog
from shared.auth import Principal, TokenVerifier
from shared.clock import ControlledClock
from shared.email import RecordingMailer
from shared.errors import Unauthorized
from shared.events import InMemoryPublisher
from shared.runtime import Platform
from shared.settings import Settings

SEASON = "2024"
REPORTS_BUCKET = "caspr-local-documents-test"
START = datetime(2023, 8, 1, 12, 0, tzinfo=UTC)
CALENDAR = {
    "registration_opens": START - timedelta(days=10),
    "score_release_deadline": datetime(2023, 10, 26, 3, 59, tzinfo=UTC),
    "scores_uploaded": datetime(2023, 10, 26, 12, 0, tzinfo=UTC),
    "part1_pass_by": datetime(2023, 11, 1, 3, 59, tzinfo=UTC),
    "part2_pass_by": datetime(2024, 3, 1, 4, 59, tzinfo=UTC),
    "part2_uploaded": datetime(2024, 3, 2, 12, 0, tzinfo=UTC),
}


class FakeVerifier(TokenVerifier):
    """Tokens are "role:sub"; no signature (the real verifier is tested in shared)."""

    def __init__(self):  # no JWKS
        pass

    def verify(self, token: str) -> Principal:
        role, _, sub = token.partition(":")
        if role not in ("applicant", "program", "college", "admin") or not sub:
            raise Unauthorized("bad test token")
        return Principal(sub=sub, username=sub, role=role, groups=frozenset({role}))


@pytest.fixture
def clock():
    return ControlledClock(START)


@pytest.fixture
def scores(aws, clock):
    import boto3

    from scores import bootstrap
    from scores.adapters.store import ScoresStore
    from shared.adapters.storage import S3DocumentStorage

    settings = Settings.from_env()
    boto3.client("s3", region_name=settings.region).create_bucket(Bucket=REPORTS_BUCKET)
    platform = Platform(settings=settings, clock=clock)
    svc = bootstrap.Scores(platform=platform, deadlines=InMemoryDeadlineLog(), store=ScoresStore(),
                           publisher=InMemoryPublisher(), mailer=RecordingMailer(), clock=clock,
                           verifier=FakeVerifier(), reports=S3DocumentStorage(REPORTS_BUCKET, settings.region),
                           commit_workers=1)  # moto in-process: one transaction at a time (bootstrap)
    bootstrap.override(svc)
    yield svc
    bootstrap.override(None)


def deliver_outbox() -> int:
    """What the relay does after every change: the outbox items committed so far go to the
    wired publisher and mailer."""
    from scores import bootstrap

    total = 0
    while True:
        n = bootstrap.outbox().sweep(older_than=0, limit=1000)
        total += n
        if n == 0:
            return total


@pytest.fixture
def season(scores):
    """The 2024 season's calendar, as season.calendar_set.v1 brings it."""
    from scores import handlers
    from shared.contracts import SeasonCalendarSet

    handlers.on_calendar_set(scores, SeasonCalendarSet(season=SEASON, calendar=CALENDAR, version=1))
    return SEASON


_n = iter(range(10000, 99999))


def register(svc, *, owner: str | None = None, graduation_year: int = 2024, season: str = SEASON,
             email: str | None = None) -> str:
    """An applicant registered (applicant.registered.v1 as registration publishes it)."""
    from scores import handlers
    from shared.contracts import ApplicantRegistered

    n = next(_n)
    applicant_id = f"app-{n}"
    handlers.on_applicant_registered(svc, ApplicantRegistered(
        season=season, applicant_id=applicant_id, code_number=str(n), cms_id=f"PRO-{n:09d}",
        email=email or f"{applicant_id}@test.caspr", first_name="Ada", last_name=f"Lee{n}", college="Temple",
        graduation_year=graduation_year, timezone="America/Chicago", credits_total=12, owner_sub=owner, version=1))
    return applicant_id


class Api:
    """chalice.test.Client with JSON in and out; the outbox delivered after every call."""

    def __init__(self, client):
        self.client = client

    def call(self, method: str, path: str, token: str | None = None, body=None, headers=None, raw=None,
             deliver: bool = True):
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        r = getattr(self.client.http, method.lower())(path, headers=h, body=data)
        r.data = json.loads(r.body) if r.body else None
        if deliver:
            deliver_outbox()
        return r

    def upload(self, season: str, csv_text: str | bytes, token: str = "admin:root",
               content_type: str = "text/csv", deliver: bool = True):
        raw = csv_text.encode() if isinstance(csv_text, str) else csv_text
        return self.call("POST", f"/seasons/{season}/results", token, raw=raw,
                         headers={"Content-Type": content_type}, deliver=deliver)


@pytest.fixture
def api(scores):
    from chalice.test import Client

    from caspr_local.apps import load_app

    with Client(load_app("scores")) as client:
        yield Api(client)
