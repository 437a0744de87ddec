"""Fixtures of the interviews tests: the service on the in-process AWS emulator (`aws`),
wired at its wiring point (bootstrap.override) with fakes only for what leaves the process
(tokens, email, events), and a season with a COTH CRIP program, a COTH non-CRIP one, a
non-COTH one and applicants delivered to them (fed through the consumers' handlers)."""

from __future__ import annotations

import pytest
from interviews_kit import BEFORE_INVITATIONS, Api, FakeVerifier, feed, season_events

from shared.clock import ControlledClock
from shared.email import RecordingMailer
from shared.events import InMemoryPublisher
from shared.runtime import Platform
from shared.settings import Settings


@pytest.fixture
def clock():
    return ControlledClock(BEFORE_INVITATIONS)


@pytest.fixture
def svc(aws, clock):
    from interviews import bootstrap
    from interviews.adapters.repositories import DynamoInterviewStore
    from shared.adapters.inbox import InMemoryDeadlineLog

    platform = Platform(settings=Settings.from_env(), clock=clock)
    platform.publisher = InMemoryPublisher()
    platform.mailer = RecordingMailer()
    platform.verifier = FakeVerifier()
    s = bootstrap.Interviews(platform=platform, deadlines=InMemoryDeadlineLog(), store=DynamoInterviewStore(clock.now))
    bootstrap.override(s)
    yield s
    bootstrap.override(None)


@pytest.fixture
def season(svc):
    feed(svc, *season_events())
    return "2024"


@pytest.fixture
def api(svc):
    from chalice.test import Client

    from caspr_local.apps import load_app

    with Client(load_app("interviews")) as client:
        yield Api(client)
