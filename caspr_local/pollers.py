"""Event delivery: moto's EventBridge puts events on the SQS queues of the rules; these
pollers receive them and call the same on_sqs_message handler Lambda would, with
Lambda's semantics: a failed record (partial batch failure) stays on the queue, comes
back after the visibility timeout, and after maxReceiveCount moves to the DLQ."""

from __future__ import annotations

import json
import logging
import threading

import boto3

log = logging.getLogger("caspr.local.pollers")
LOCAL_VISIBILITY_TIMEOUT = 2  # seconds before a failed record is retried locally
POLL_MIN = 0.05
POLL_MAX = 0.5


class QueuePoller:
    def __init__(self, queue_name: str, handler, stop: threading.Event):
        self.queue_name = queue_name
        self.handler = handler
        self.stop = stop
        self.sqs = boto3.client("sqs")
        self.queue_url = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.idle = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"poll-{queue_name}", daemon=True)

    def poll_once(self) -> int:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
            VisibilityTimeout=LOCAL_VISIBILITY_TIMEOUT, AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        try:
            result = self.handler(event, None) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            log.exception("consumer of %s failed the whole batch", self.queue_name)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        if failed:
            log.warning("%d record(s) of %s failed; they will be retried", len(failed), self.queue_name)
        return len(messages)

    def _record(self, m: dict) -> dict:
        return {
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": _as_eventbridge(m["Body"]),
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": self.arn,
            "awsRegion": "us-east-1",
        }

    def run(self) -> None:
        delay = POLL_MIN
        while not self.stop.is_set():
            try:
                n = self.poll_once()
            except Exception:
                log.exception("polling %s", self.queue_name)
                n = 0
            if n:
                self.idle.clear()
                delay = POLL_MIN
                continue
            self.idle.set()
            # no long polling (moto would sleep inside the emulator's one lock): back off
            # while idle, and wake at once when kicked (the clock moved, an event was put)
            self.wake.wait(delay)
            self.wake.clear()
            delay = min(delay * 2, POLL_MAX)

    def kick(self) -> None:
        self.wake.set()

    def depth(self) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _as_eventbridge(body: str) -> str:
    """moto's EventBridge leaves out envelope fields real EventBridge always sends
    (account, region, resources); put them back so consumers see what AWS delivers."""
    try:
        event = json.loads(body)
    except ValueError:
        return body
    if isinstance(event, dict) and "detail-type" in event:
        event.setdefault("account", "123456789012")
        event.setdefault("region", "us-east-1")
        event.setdefault("resources", [])
        event.setdefault("version", "0")
        return json.dumps(event)
    return body
