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
            result = self.handler(event, LocalLambdaContext(f"{self.queue_name}-consumer")) or {}
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


class LocalLambdaContext:
    """What a Lambda invocation tells its handler about itself (powertools reads the time left
    to expire an idempotency record "in progress"). Locally an invocation may run as long as
    the queue's local visibility timeout, as on AWS a function's timeout stays within its
    queue's visibility timeout (scripts/package.py checks it)."""

    def __init__(self, name: str, timeout_seconds: float = LOCAL_VISIBILITY_TIMEOUT):
        import time
        import uuid

        self.function_name = name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.monotonic()) * 1000))


class StreamPoller:
    """The outbox relay's event source mapping, locally: reads the service table's DynamoDB
    stream and calls the very handler Lambda would (shared.relay.relay_outbox) with Lambda's
    semantics: a batch whose record fails is retried from that record (the order of the
    stream is kept) after a pause, at most `max_retries` times; then the batch's pointer goes
    to the relay's failure queue, as the mapping's on-failure destination does on AWS, and
    the reader moves on (the scheduled sweep delivers what is left)."""

    def __init__(self, table_name: str, handler, stop: threading.Event, *, batch_size: int, max_retries: int,
                 failure_queue: str, retry_pause: float = 0.5):
        from shared.adapters.outbox import is_outbox_insert

        self.table_name = table_name
        self.handler = handler
        self.stop = stop
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.retry_pause = retry_pause
        self._wanted = is_outbox_insert  # the mapping's FilterCriteria (shared.adapters.outbox.STREAM_FILTER)
        self.streams = boto3.client("dynamodbstreams")
        self.sqs = boto3.client("sqs")
        self.failure_queue_url = self.sqs.get_queue_url(QueueName=failure_queue)["QueueUrl"]
        self.stream_arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.shard_id = shard
        self.iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard,
                                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        self.attempts = 0
        self.failures = 0  # deliveries that failed so far (the host runs the sweep sooner after one)
        self.lock = threading.Lock()
        self.idle = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"stream-{table_name}", daemon=True)

    def _lambda_record(self, r: dict) -> dict:
        record = dict(r)
        ddb = dict(record["dynamodb"])
        created = ddb.get("ApproximateCreationDateTime")
        if hasattr(created, "timestamp"):
            ddb["ApproximateCreationDateTime"] = created.timestamp()
        record["dynamodb"] = ddb
        record["eventSourceARN"] = self.stream_arn
        return record

    def poll_once(self) -> int:
        """Returns how many outbox records were handed to the relay (0: nothing new)."""
        with self.lock:
            page = self.streams.get_records(ShardIterator=self.iterator, Limit=self.batch_size)
            records = [self._lambda_record(r) for r in page.get("Records", []) if self._wanted(r)]
            if not records:
                self.iterator = page["NextShardIterator"]
                return 0
            try:
                result = self.handler({"Records": records}, LocalLambdaContext(f"{self.table_name}-relay")) or {}
                failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
            except Exception:
                log.exception("outbox relay of %s failed the whole batch", self.table_name)
                failed = [records[0]["dynamodb"]["SequenceNumber"]]
            if not failed:
                self.iterator, self.attempts = page["NextShardIterator"], 0
                return len(records)
            first = min(failed, key=int)
            self.attempts += 1
            self.failures += 1
            if self.attempts > self.max_retries:
                log.error("outbox relay of %s gave up on record %s after %d retries; the sweep delivers it",
                          self.table_name, first, self.max_retries)
                self.sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=json.dumps({
                    "DDBStreamBatchInfo": {"streamArn": self.stream_arn, "shardId": self.shard_id,
                                           "startSequenceNumber": first, "batchSize": len(records)},
                    "condition": "RetryAttemptsExhausted"}))
                kind, self.attempts = "AFTER_SEQUENCE_NUMBER", 0
            else:
                kind = "AT_SEQUENCE_NUMBER"
            self.iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=self.shard_id, ShardIteratorType=kind,
                SequenceNumber=first)["ShardIterator"]
            return -len(records)

    def run(self) -> None:
        delay = POLL_MIN
        while not self.stop.is_set():
            try:
                n = self.poll_once()
            except Exception:
                log.exception("reading the stream of %s", self.table_name)
                n = 0
            if n > 0:
                self.idle.clear()
                delay = POLL_MIN
                continue
            if n < 0:  # a failed delivery: pause before the retry, as the mapping backs off
                self.idle.clear()
                self.wake.wait(self.retry_pause)
                self.wake.clear()
                continue
            self.idle.set()
            self.wake.wait(delay)
            self.wake.clear()
            delay = min(delay * 2, POLL_MAX)

    def kick(self) -> None:
        self.wake.set()

    def depth(self) -> int:
        """Outbox records written and not yet relayed (peeks; moves nothing)."""
        with self.lock:
            page = self.streams.get_records(ShardIterator=self.iterator, Limit=self.batch_size)
            return sum(1 for r in page.get("Records", []) if self._wanted(r))
