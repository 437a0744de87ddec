"""Dead letters of a service: its events DLQ (`caspr-<stage>-<service>-events-dlq`: events its
consumer failed MAX_RECEIVE_COUNT times) and its relay DLQ (`...-relay-dlq`: pointers to the
stream batches the outbox relay gave up on; the sweep delivers those events).

`list` receives every message with a short visibility timeout and makes each visible again
right away (the receive count of each goes up by one; nothing is deleted). `redrive` moves
the events DLQ back to the service's queue: SQS StartMessageMoveTask on AWS; on the local
stack (moto has no move task) receive -> send -> delete in batches of 10 until empty."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

from shared.settings import resource_name

BATCH = 10
LIST_VISIBILITY = 30  # seconds a listed message stays hidden if making it visible again fails


class OpsError(RuntimeError):
    pass


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class Queues:
    stage: str
    service: str
    queue_url: str
    dlq_url: str
    relay_dlq_url: str | None

    @property
    def queue_name(self) -> str:
        return resource_name(self.stage, self.service, "events")

    @property
    def dlq_name(self) -> str:
        return resource_name(self.stage, self.service, "events-dlq")

    @property
    def relay_dlq_name(self) -> str:
        return resource_name(self.stage, self.service, "relay-dlq")

    @classmethod
    def of(cls, sqs, stage: str, service: str) -> Queues:
        def url(name: str, required: bool = True) -> str | None:
            try:
                return sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except Exception as exc:  # noqa: BLE001 - named below
                if not required and "NonExistentQueue" in (_code(exc) + str(exc)):
                    return None
                raise OpsError(f"queue {name} not found ({_code(exc) or type(exc).__name__}): is the stage "
                               f"{stage!r} deployed there (--stage, --endpoint-url)?") from exc

        return cls(stage, service, url(resource_name(stage, service, "events")),
                   url(resource_name(stage, service, "events-dlq")),
                   url(resource_name(stage, service, "relay-dlq"), required=False))


def count(sqs, url: str | None) -> int:
    if not url:
        return 0
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"].get("ApproximateNumberOfMessages", 0))


def peek(sqs, url: str, limit: int = 1000) -> list[dict]:
    """Every message of the queue (up to `limit`), left in it."""
    seen: dict[str, dict] = {}
    handles: list[tuple[str, str]] = []
    try:
        empty = 0
        while len(seen) < limit and empty < 2:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH, VisibilityTimeout=LIST_VISIBILITY,
                                      WaitTimeSeconds=0, AttributeNames=["All"],
                                      MessageAttributeNames=["All"]).get("Messages", [])
            fresh = [m for m in got if m["MessageId"] not in seen]
            for m in fresh:
                seen[m["MessageId"]] = m
                handles.append((m["MessageId"], m["ReceiptHandle"]))
            empty = empty + 1 if not fresh else 0
    finally:  # visible again at once: listing takes nothing away
        for i in range(0, len(handles), BATCH):
            entries = [{"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                       for n, (_, h) in enumerate(handles[i:i + BATCH])]
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
    return list(seen.values())


def describe(message: dict, now: float | None = None) -> dict:
    """detail-type, event_id (the event's own id given at commit, else the envelope's),
    receive count and age of one dead letter."""
    now = time.time() if now is None else now
    attrs = message.get("Attributes", {})
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        body = None
    detail_type, event_id = "(not an event)", "-"
    if isinstance(body, dict) and "detail-type" in body:
        detail = body.get("detail") if isinstance(body.get("detail"), dict) else {}
        detail_type = str(body["detail-type"])
        event_id = str(detail.get("event_id") or body.get("id") or "-")
    elif isinstance(body, dict) and "DDBStreamBatchInfo" in body:
        info = body["DDBStreamBatchInfo"]
        detail_type = "(relay batch)"
        event_id = (f"shard {info.get('shardId', '?')} from {info.get('startSequenceNumber', '?')}, "
                    f"{info.get('batchSize', '?')} record(s)")
    sent = int(attrs.get("SentTimestamp", 0)) / 1000 or now
    return {"message_id": message["MessageId"], "detail_type": detail_type, "event_id": event_id,
            "receive_count": int(attrs.get("ApproximateReceiveCount", 0)), "age_seconds": max(0, int(now - sent))}


def _age(seconds: int) -> str:
    """42s, 5m30s, 4h12m, 2d3h."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def list_lines(sqs, queues: Queues, limit: int = 1000) -> Iterator[str]:
    for name, url in ((queues.dlq_name, queues.dlq_url), (queues.relay_dlq_name, queues.relay_dlq_url)):
        if not url:
            continue
        messages = peek(sqs, url, limit)
        yield f"{name}: {len(messages)} message(s)"
        if messages:
            yield f"  {'detail-type':<40} {'event_id':<38} {'receives':>8} {'age':>8}  message id"
        for m in sorted((describe(m) for m in messages), key=lambda d: -d["age_seconds"]):
            yield (f"  {m['detail_type']:<40} {m['event_id']:<38} {m['receive_count']:>8} "
                   f"{_age(m['age_seconds']):>8}  {m['message_id']}")


def _arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def move_task(sqs, queues: Queues, timeout: float = 900.0) -> int:
    """SQS's own redrive (StartMessageMoveTask): waits for it and returns how many moved."""
    source, destination = _arn(sqs, queues.dlq_url), _arn(sqs, queues.queue_url)
    handle = sqs.start_message_move_task(SourceArn=source, DestinationArn=destination)["TaskHandle"]
    deadline = time.monotonic() + timeout
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source, MaxResults=10).get("Results", [])
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        status = task.get("Status", "RUNNING")
        if status == "COMPLETED":
            return int(task.get("ApproximateNumberOfMessagesMoved", 0))
        if status in ("FAILED", "CANCELLED"):
            raise OpsError(f"the move task {status.lower()}: {task.get('FailureReason', '')}")
        if time.monotonic() > deadline:
            raise OpsError(f"the move task is still running after {timeout:.0f} s (task {handle})")
        time.sleep(2)


def move_by_hand(sqs, queues: Queues) -> int:
    """receive -> send to the service's queue -> delete, 10 at a time, until the DLQ is empty."""
    moved, empty = 0, 0
    while empty < 2:
        got = sqs.receive_message(QueueUrl=queues.dlq_url, MaxNumberOfMessages=BATCH, VisibilityTimeout=60,
                                  WaitTimeSeconds=0, MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            empty += 1
            continue
        empty = 0
        entries = []
        for n, m in enumerate(got):
            entry = {"Id": str(n), "MessageBody": m["Body"]}
            if m.get("MessageAttributes"):
                entry["MessageAttributes"] = m["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=queues.queue_url, Entries=entries)
        ok = {s["Id"] for s in sent.get("Successful", [])}
        done = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got) if str(n) in ok]
        if done:
            sqs.delete_message_batch(QueueUrl=queues.dlq_url, Entries=done)
        moved += len(done)
        if len(done) < len(got):  # the rest stays in the DLQ (visible again after 60 s)
            raise OpsError(f"moved {moved}; {len(got) - len(done)} could not be sent to {queues.queue_name}: "
                           f"{sent.get('Failed')}")
    return moved


def redrive(sqs, queues: Queues, local: bool = False) -> tuple[int, str]:
    """Moves the events DLQ back to the service's queue; returns (how many, how)."""
    if not local:
        try:
            return move_task(sqs, queues), "StartMessageMoveTask"
        except OpsError:
            raise
        except Exception as exc:  # noqa: BLE001 - an emulator without move tasks: by hand below
            if "AccessDenied" in _code(exc):
                raise OpsError(f"not allowed to start a message move task: {exc}") from exc
    return move_by_hand(sqs, queues), "receive/send/delete"
