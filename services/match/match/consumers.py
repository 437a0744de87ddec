"""on_sqs_message: the match service's queue carries two kinds of message.

- EventBridge events (registration, calendar, MPII deliveries of applications): parsed by the shared EventConsumer into
  their contracts, idempotent by event id, and turned into use cases;
- a scheduled function (every 5 minutes; the local stack: every few seconds and on every clock
  move): the ROL reminders 3 and 1 days before a round's list deadline (match.notices), which
  have no calendar key of their own;
- task messages of the Match state machine (``{"caspr_task": "match", "step", ...,
  "task_token"}``, the .waitForTaskToken SQS pattern): performed by match.workflow,
  which answers the task token.

A batch may mix both; failures of either kind are reported per record."""

from __future__ import annotations

import json

from chalice import Blueprint, Rate

from match import bootstrap, handlers, notices, workflow
from shared.contracts import (
    ApplicantMatchWithdrawn,
    ApplicantProfileUpdated,
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    ApplicationDelivered,
    ProgramRegistered,
    ProgramUpdated,
    SeasonCalendarSet,
    SeasonDeadlineReached,
    TrackPositionsChanged,
    TrackReinstated,
    TrackWithdrawn,
)
from shared.settings import Settings
from shared.web import error_summary
from shared.wiring import LazyConsumer

bp = Blueprint(__name__)


def _handlers() -> dict:
    from shared.consumer import idempotent_by_nature  # the consumer machinery: loaded with the consumer

    def use(*fns):
        def handle(e):
            for fn in fns:
                fn(bootstrap.container(), e)
        return handle

    return {
        SeasonCalendarSet: use(handlers.on_calendar_set),
        SeasonDeadlineReached: use(handlers.on_deadline_reached),
        ApplicantRegistered: use(handlers.on_applicant_registered),  # its time zone in the same write
        ApplicantProfileUpdated: use(notices.on_applicant_timezone),
        ApplicantWithdrawn: use(handlers.on_applicant_withdrawn),
        ApplicantReinstated: use(handlers.on_applicant_reinstated),
        ApplicantMatchWithdrawn: use(handlers.on_applicant_match_withdrawn),
        ProgramRegistered: use(handlers.on_program_registered, notices.on_program_contact),
        ProgramUpdated: use(notices.on_program_contact),
        # M7: a plain put of the MPII application (nothing for a Match-round one): no idempotency record
        ApplicationDelivered: idempotent_by_nature(use(handlers.on_application_delivered)),
        TrackPositionsChanged: use(handlers.on_track_positions_changed),
        TrackWithdrawn: use(handlers.on_track_withdrawn),
        TrackReinstated: use(handlers.on_track_reinstated),
    }


consumer = LazyConsumer("match", handlers=_handlers,
                        persistence=lambda: bootstrap.container().platform.idempotency_store("match"))


def _task_body(record: dict) -> dict | None:
    try:
        body = json.loads(record.get("body") or "")
    except (TypeError, ValueError):
        return None
    return body if workflow.is_task(body) else None


def handle_batch(sqs_event: dict, context=None) -> dict:
    """The body of the Lambda handler: events to the shared consumer, tasks to the workflow."""
    records = sqs_event.get("Records") or []
    events, failures = [], []
    for record in records:
        task = _task_body(record)
        if task is None:
            events.append(record)
            continue
        try:
            workflow.run_task(bootstrap.container(), task)
        except Exception as exc:  # class and place only: a message may quote Code Numbers
            workflow.logger.error("match task could not be answered; it will be redelivered",
                                  extra={"step": task.get("step"), "run_id": task.get("run_id"), **error_summary(exc)})
            failures.append({"itemIdentifier": record["messageId"]})
    if events:
        failures.extend(consumer.handle({**sqs_event, "Records": events}, context).get("batchItemFailures", []))
    return {"batchItemFailures": failures}


@bp.on_sqs_message(queue=Settings.from_env().queue_name("match"), batch_size=10)
def on_event(event):
    return handle_batch(event.to_dict(), event.context)


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="send_rol_reminders")
def send_rol_reminders(event):
    return {"sent": notices.send_rol_reminders(bootstrap.container())}
