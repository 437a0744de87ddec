"""Fixtures of the registration tests: the service wired with fakes at its wiring point
(bootstrap.override), on the in-process AWS emulator (`aws`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.adapters.inbox import InMemoryDeadlineLog
from shared.auth import Principal, TokenVerifier
from shared.clock import ControlledClock
from shared.email import RecordingMailer
from shared.errors import Unauthorized
from shared.events import InMemoryPublisher
from shared.runtime import Platform
from shared.settings import Settings


class FakeVerifier(TokenVerifier):
    """Tokens are "role:sub[:program code]"; no signature (the real verifier is tested in shared)."""

    def __init__(self):  # no JWKS
        pass

    def verify(self, token: str) -> Principal:
        role, _, rest = token.partition(":")
        sub, _, extra = rest.partition(":")
        if role not in ("applicant", "program", "college", "admin") or not sub:
            raise Unauthorized("bad test token")
        groups = {role} | ({f"program-{extra}"} if role == "program" and extra else set())
        return Principal(sub=sub, username=sub, role=role, groups=frozenset(groups))


@pytest.fixture
def clock():
    return ControlledClock(datetime(2023, 8, 1, 12, 0, tzinfo=UTC))  # 2024 season: registration open


@pytest.fixture
def reg(aws, clock):
    """The registration service on moto, with fakes for what leaves the process."""
    from registration import bootstrap
    from registration.adapters.payments import LocalTestProvider
    from registration.adapters.repositories import (
        DynamoApplicantRepository,
        DynamoLedger,
        DynamoProgramRepository,
        DynamoSeasonRepository,
    )
    from registration.adapters.schedules import EventBridgeCalendarScheduler
    from shared.adapters.accounts import AccountDirectory

    class FakeAccounts(AccountDirectory):
        def __init__(self):
            self.emails: dict[str, str] = {}

        def email_of(self, principal):
            return self.emails.get(principal.sub)

    settings = Settings.from_env()
    platform = Platform(settings=settings, clock=clock)
    svc = bootstrap.Registration(
        platform=platform, deadlines=InMemoryDeadlineLog(), seasons=DynamoSeasonRepository(clock.now),
        applicants=DynamoApplicantRepository(settings, clock.now), programs=DynamoProgramRepository(clock.now),
        ledger=DynamoLedger(),
        payments=LocalTestProvider(), calendar_scheduler=EventBridgeCalendarScheduler(settings),
        accounts=FakeAccounts(), publisher=InMemoryPublisher(), mailer=RecordingMailer(), clock=clock,
        verifier=FakeVerifier(), idempotency_store=lambda: platform.idempotency_store("registration"))
    bootstrap.override(svc)
    yield svc
    bootstrap.override(None)


def deliver_outbox() -> int:
    """What the relay does after every change on the local stack and on AWS: the outbox items
    committed so far go to the wired publisher and mailer."""
    from registration import bootstrap

    return bootstrap.outbox().sweep(older_than=0)


class Api:
    """chalice.test.Client with JSON in and out."""

    def __init__(self, client):
        self.client = client

    def call(self, method: str, path: str, token: str | None = None, body=None, headers=None):
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = json.dumps(body) if body is not None else None
        r = getattr(self.client.http, method.lower())(path, headers=h, body=data)
        r.data = json.loads(r.body) if r.body else None
        deliver_outbox()
        return r


@pytest.fixture
def api(reg):
    from chalice.test import Client

    from caspr_local.apps import load_app

    with Client(load_app("registration")) as client:
        yield Api(client)
