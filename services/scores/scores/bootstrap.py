"""The one place that wires the scores service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from scores.adapters.store import ScoresStore
from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.adapters.storage import DocumentStorage, S3DocumentStorage, documents_bucket
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.email import Mailer
from shared.events import EventPublisher
from shared.runtime import Platform, default_platform
from shared.wiring import Wiring


@dataclass
class Scores:
    platform: Platform
    deadlines: DeadlineLog
    store: ScoresStore
    publisher: EventPublisher
    mailer: Mailer
    clock: Clock
    verifier: TokenVerifier
    reports: DocumentStorage | None = None  # S7: the PDF score reports
    # S2: how long before score_release_deadline the reminder goes out
    reminder_days: int = 7
    # S3: transactions of one upload committed side by side (1: one after another; the in-process
    # emulator of the tests needs 1: moto deep-copies its tables for each transaction's rollback)
    commit_workers: int = 4
    cache: dict = field(default_factory=dict)

    @cached_property
    def connection(self):
        """One PynamoDB connection for the service's transactions (its client made once)."""
        from pynamodb.connection import Connection

        return Connection(region=self.platform.settings.region)


def build() -> Scores:
    platform = default_platform()
    return Scores(platform=platform, deadlines=dynamo_deadline_log("scores"), store=ScoresStore(),
                  publisher=platform.publisher, mailer=platform.mailer, clock=platform.clock,
                  verifier=platform.verifier,
                  reports=S3DocumentStorage(documents_bucket(platform.settings), platform.settings.region))


wiring = Wiring(build)
container = wiring.get
override = wiring.override


def outbox():
    """The relay of this service's outbox (shared.relay): it delivers through the wired publisher and mailer."""
    from shared.adapters.outbox import Outbox

    svc = container()
    return Outbox("scores", svc.publisher, svc.mailer, svc.clock.now)
