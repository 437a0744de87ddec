"""on_sqs_message: event contracts -> use cases (EventBridge -> SQS -> here).

The interviews service keeps its own projections: programs (COTH, CRIP: I3, I7), the season
calendar (I2, I7, I8), applicants (email, time zone: I6, owner), deliveries (who may be
invited, I2); season.deadline_reached at interviews_close refunds (I8).
The daily digest (I5) runs on a schedule: every day at 00:30 UTC for the previous UTC day (the
local stack runs it every few seconds and whenever its clock moves: it is idempotent)."""

from __future__ import annotations

from chalice import Blueprint, Cron

from interviews import bootstrap, handlers
from shared.contracts import (
    ApplicantProfileUpdated,
    ApplicantRegistered,
    ApplicationDelivered,
    ProgramRegistered,
    ProgramUpdated,
    SeasonCalendarSet,
    SeasonDeadlineReached,
)
from shared.settings import Settings
from shared.wiring import LazyConsumer


def _handlers():
    from shared.consumer import idempotent_by_nature  # the consumer machinery: loaded with the consumer

    c = bootstrap.container
    return {
        SeasonDeadlineReached: lambda e: handlers.record_deadline(c(), e),
        SeasonCalendarSet: lambda e: handlers.on_calendar(c(), e),
        ProgramRegistered: lambda e: handlers.on_program(c(), e),
        ProgramUpdated: lambda e: handlers.on_program(c(), e),
        ApplicantRegistered: lambda e: handlers.on_applicant(c(), e),
        ApplicantProfileUpdated: lambda e: handlers.on_profile(c(), e),
        # I2: a plain put of the delivery (a redelivery writes the same item): no idempotency record
        ApplicationDelivered: idempotent_by_nature(lambda e: handlers.on_delivered(c(), e)),
    }


bp = Blueprint(__name__)
consumer = LazyConsumer(
    "interviews",
    handlers=_handlers,
    persistence=lambda: bootstrap.container().platform.idempotency_store("interviews"),
)


@bp.on_sqs_message(queue=Settings.from_env().queue_name("interviews"), batch_size=10)
def on_event(event):
    return consumer.handle(event.to_dict(), event.context)


@bp.schedule(Cron(30, 0, "*", "*", "?", "*"), name="send_daily_digests")
def send_daily_digests(event):
    return {"sent": handlers.send_digests(bootstrap.container())}
