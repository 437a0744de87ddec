"""The one place that wires the registration service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from registration.adapters.payments import LocalTestProvider, PaymentProvider
from registration.adapters.repositories import (
    ApplicantRepository,
    DynamoApplicantRepository,
    DynamoLedger,
    DynamoProgramRepository,
    DynamoSeasonRepository,
    Ledger,
    ProgramRepository,
    SeasonRepository,
)
from registration.adapters.schedules import CalendarScheduler, EventBridgeCalendarScheduler
from registration.domain.codes import CodeNumberPolicy
from shared.adapters.accounts import AccountDirectory, CognitoAccountDirectory
from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.email import Mailer
from shared.events import EventPublisher
from shared.runtime import Platform, default_platform
from shared.wiring import Wiring


@dataclass
class Registration:
    platform: Platform
    deadlines: DeadlineLog
    seasons: SeasonRepository
    applicants: ApplicantRepository
    programs: ProgramRepository
    ledger: Ledger
    payments: PaymentProvider
    calendar_scheduler: CalendarScheduler
    accounts: AccountDirectory
    publisher: EventPublisher
    mailer: Mailer
    clock: Clock
    verifier: TokenVerifier
    codes: CodeNumberPolicy = field(default_factory=CodeNumberPolicy)
    # powertools idempotency records (payments, credits): a fresh persistence layer per use
    # case, since powertools configures a layer once for the first function that uses it
    idempotency_store: Callable[[], object] | None = None
    calendar_cache_seconds: float = 5.0
    cache: dict = field(default_factory=dict)


def build() -> Registration:
    platform = default_platform()
    s = platform.settings
    return Registration(
        platform=platform,
        deadlines=dynamo_deadline_log("registration"),
        seasons=DynamoSeasonRepository(platform.clock.now),
        applicants=DynamoApplicantRepository(s, platform.clock.now),
        programs=DynamoProgramRepository(platform.clock.now),
        ledger=DynamoLedger(),
        # No real card processor is wired yet: the test-mode provider everywhere (see README).
        payments=s.payment_provider_for("test", LocalTestProvider),  # refused outside local/dev
        calendar_scheduler=EventBridgeCalendarScheduler(s),
        accounts=CognitoAccountDirectory(s.user_pool_id),
        publisher=platform.publisher,
        mailer=platform.mailer,
        clock=platform.clock,
        verifier=platform.verifier,
        idempotency_store=lambda: platform.idempotency_store("registration"),
    )


wiring = Wiring(build)
container = wiring.get
override = wiring.override


def outbox():
    """The relay of this service's outbox (shared.relay): it delivers through the wired publisher and mailer."""
    from shared.adapters.outbox import Outbox

    svc = container()
    return Outbox("registration", svc.publisher, svc.mailer, svc.clock.now)
