"""on_sqs_message: event contracts -> use cases (EventBridge -> SQS -> here); and the scheduled
reminder (S2).

- applicant.registered / withdrawn / reinstated: the projection of registered applicants
  (owner, CMS ID, graduation class, email), newest status version kept;
- season.calendar_set: the season's instants (on_time, visibility, the reminder);
- season.deadline_reached: score_release_deadline (S2 emails and events), part1_pass_by and
  part2_pass_by (S5 withdrawals).
The reminder 7 days before score_release_deadline has no calendar key of its own: a scheduled
function (every 5 minutes on AWS; the local stack runs it every few seconds and on every clock
move) sends it once per season when that instant has passed."""

from __future__ import annotations

from chalice import Blueprint, Rate

from scores import bootstrap, handlers
from shared.contracts import (
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    SeasonCalendarSet,
    SeasonDeadlineReached,
)
from shared.settings import Settings
from shared.wiring import LazyConsumer

bp = Blueprint(__name__)


def _handlers() -> dict:
    from shared.consumer import idempotent_by_nature  # the consumer machinery: loaded with the consumer

    def use(fn):
        return lambda e: fn(bootstrap.container(), e)

    def versioned(fn):
        """A projection keeping the newest version (a redelivery, even after a newer event, writes
        nothing; a notice is written once, conditioned on its absence): no idempotency record for
        an event that carries its version (one from an older producer without it still gets one)."""
        return idempotent_by_nature(use(fn), when=lambda detail: detail.get("version") is not None)

    return {
        SeasonDeadlineReached: use(handlers.record_deadline),
        SeasonCalendarSet: versioned(handlers.on_calendar_set),
        ApplicantRegistered: versioned(handlers.on_applicant_registered),
        ApplicantWithdrawn: versioned(handlers.on_applicant_withdrawn),
        ApplicantReinstated: versioned(handlers.on_applicant_reinstated),
    }


consumer = LazyConsumer("scores", handlers=_handlers,
                        persistence=lambda: bootstrap.container().platform.idempotency_store("scores"))


@bp.on_sqs_message(queue=Settings.from_env().queue_name("scores"), batch_size=10)
def on_event(event):
    return consumer.handle(event.to_dict(), event.context)


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="remind_score_release")
def remind_score_release(event):
    return {"sent": handlers.send_reminders(bootstrap.container())}
