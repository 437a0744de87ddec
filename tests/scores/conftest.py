"""Fixtures of the scores tests: the service wired at its wiring point (bootstrap.override) on
the in-process AWS emulator (`aws`), with fakes for what leaves the process."""

from __future__ import annotations

import json

import pytest
from scores_support import CALENDAR, REPORTS_BUCKET, SEASON, START, deliver_outbox, register  # noqa: F401

from shared.adapters.inbox import InMemoryDeadlineLog
from shared.auth import Principal, TokenVerifier
from shared.clock import ControlledClock
from shared.email import RecordingMailer
from shared.errors import Unauthorized
from shared.events import InMemoryPublisher
from shared.runtime import Platform
from shared.settings import Settings


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


@pytest.fixture
def season(scores):
    """The 2024 season's calendar, as season.calendar_set.v1 brings it."""
    from scores import handlers
    from shared.contracts import SeasonCalendarSet

    handlers.on_calendar_set(scores, SeasonCalendarSet(season=SEASON, calendar=CALENDAR, version=1))
    return SEASON


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
