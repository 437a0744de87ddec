"""on_sqs_message: event contracts -> use cases (EventBridge -> SQS -> here).

The applications service keeps what it needs of other services' events: the registered
applicant (owner, college, credits bought: R4) and its later name or college (R7), withdrawals and reinstatements, the Part I pass
(A3: scores.may_apply.v1), programs and their deadlines (A4), the season calendar, who and which
tracks are in MPII (M7); applications_delivered delivers the designations made before it (A5)."""

from __future__ import annotations

from chalice import Blueprint

from applications import bootstrap, handlers
from shared.contracts import (
    ApplicantProfileUpdated,
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    CreditsPurchased,
    MpiiOpened,
    ProgramRegistered,
    ProgramUpdated,
    ScoresMayApply,
    ScoresReleased,
    ScoresReleaseMissing,
    ScoresResultRecorded,
    SeasonCalendarSet,
    SeasonDeadlineReached,
)
from shared.settings import Settings
from shared.wiring import LazyConsumer


def _handlers() -> dict:
    svc = bootstrap.container
    return {
        SeasonDeadlineReached: lambda e: handlers.record_deadline(svc(), e),
        SeasonCalendarSet: lambda e: handlers.on_calendar(svc(), e),
        ApplicantRegistered: lambda e: handlers.on_registered(svc(), e),
        ApplicantProfileUpdated: lambda e: handlers.on_profile(svc(), e),  # R7: name, college
        CreditsPurchased: lambda e: handlers.on_credits(svc(), e),
        ApplicantWithdrawn: lambda e: handlers.on_withdrawn(svc(), e),
        ApplicantReinstated: lambda e: handlers.on_reinstated(svc(), e),
        ProgramRegistered: lambda e: handlers.on_program(svc(), e),
        ProgramUpdated: lambda e: handlers.on_program(svc(), e),
        MpiiOpened: lambda e: handlers.on_mpii_opened(svc(), e),
        ScoresMayApply: lambda e: handlers.on_may_apply(svc(), e),  # A3: the Part I pass
        ScoresReleased: lambda e: handlers.on_scores_released(svc(), e),
        ScoresReleaseMissing: lambda e: handlers.on_release_missing(svc(), e),
        ScoresResultRecorded: lambda e: handlers.on_result(svc(), e),
    }


bp = Blueprint(__name__)
consumer = LazyConsumer(
    "applications",
    handlers=_handlers,
    persistence=lambda: bootstrap.container().platform.idempotency_store("applications"),
)


@bp.on_sqs_message(queue=Settings.from_env().queue_name("applications"), batch_size=10)
def on_event(event):
    return consumer.handle(event.to_dict(), event.context)
