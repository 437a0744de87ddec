"""The one place that wires the match service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from match.adapters.stepfunctions import (
    RunEngine,
    StepFunctionsCallbacks,
    StepFunctionsRunEngine,
    TaskCallbacks,
    state_machine_arn,
)
from match.adapters.store import DynamoMatchStore, MatchStore
from match.domain import engine, verify
from shared.adapters.accounts import AccountDirectory, CognitoAccountDirectory
from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.adapters.storage import DocumentStorage, S3DocumentStorage, documents_bucket
from shared.runtime import Platform, default_platform
from shared.wiring import Wiring


@dataclass
class Match:
    platform: Platform
    deadlines: DeadlineLog
    store: MatchStore
    runs: RunEngine
    callbacks: TaskCallbacks
    accounts: AccountDirectory
    admin_emails: tuple[str, ...] = ("admin@caspr.local",)
    # the engine and its independent verifier (M2); tests may swap in a faulty solver
    solve: Callable = field(default=engine.solve)
    verify: Callable = field(default=verify.verify)
    # audit downloads too big for a Lambda response go out through a presigned S3 URL (None: inline)
    audit_files: DocumentStorage | None = None
    audit_inline_max: int = 6_000_000  # bytes of the JSON-escaped body (handlers.audit_download)


def build() -> Match:
    platform = default_platform()
    s = platform.settings
    alert_to = s.admin_alert_email  # shared.settings.admin_alert_email: required outside local
    return Match(
        platform=platform,
        deadlines=dynamo_deadline_log("match"),
        store=DynamoMatchStore(s),
        runs=StepFunctionsRunEngine(state_machine_arn(s)),
        callbacks=StepFunctionsCallbacks(),
        accounts=CognitoAccountDirectory(s.user_pool_id),
        admin_emails=tuple(a.strip().lower() for a in alert_to.split(",") if a.strip()),
        audit_files=S3DocumentStorage(documents_bucket(s), s.region),
    )


wiring = Wiring(build)
container = wiring.get
override = wiring.override


def outbox():
    """The relay of this service's outbox (shared.relay)."""
    return container().platform.outbox("match")
