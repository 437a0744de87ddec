"""shared.consumer.EventConsumer with the real DynamoDB idempotency store (moto):
partial batch failures name exactly the bad record, an event id runs its handler once,
unknown detail-types are ignored (DESIGN: consumers are idempotent, EventBridge
delivers at least once)."""

from __future__ import annotations

import json
import uuid
import warnings
from datetime import UTC, datetime

import pytest

from shared.contracts import ApplicantWithdrawn, SeasonDeadlineReached
from shared.events import envelope

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")]

AT = datetime(2024, 2, 15, 23, 59, tzinfo=UTC)


def sqs_record(event: dict, message_id: str | None = None) -> dict:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": json.dumps(event),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:caspr-local-scores-events",
        "awsRegion": "us-east-1",
    }


def batch(*records: dict) -> dict:
    return {"Records": list(records)}


def deadline(key: str, season: str = "2100", event_id: str | None = None) -> dict:
    return envelope(SeasonDeadlineReached(season=season, key=key, at=AT), event_id=event_id)


@pytest.fixture
def consumer(aws):
    from shared.consumer import EventConsumer
    from shared.runtime import default_platform

    seen: list[SeasonDeadlineReached] = []

    def handle(event: SeasonDeadlineReached) -> None:
        if event.key == "explode":
            raise RuntimeError("handler failed")
        seen.append(event)

    store = default_platform().idempotency_store("scores")
    c = EventConsumer("scores", {SeasonDeadlineReached: handle}, persistence=store)
    c.seen = seen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield c


def test_one_bad_message_in_three_is_the_only_batch_failure(consumer):
    bad = deadline("registration_final")
    del bad["detail"]["key"]  # breaks the contract: parsing fails
    records = [sqs_record(deadline("registration_opens")), sqs_record(bad, "bad-message"),
               sqs_record(deadline("registration_recommended_by"))]
    result = consumer.handle(batch(*records))
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-message"}]}
    assert [e.key for e in consumer.seen] == ["registration_opens", "registration_recommended_by"]


def test_a_handler_exception_fails_only_its_record_and_a_retry_runs_again(consumer):
    exploding = deadline("explode", event_id="evt-explode")
    result = consumer.handle(batch(sqs_record(deadline("a")), sqs_record(exploding, "m-explode")))
    assert result["batchItemFailures"] == [{"itemIdentifier": "m-explode"}]
    # a failed execution leaves no idempotency record behind: the retry runs the handler again
    # (and a batch whose every record fails raises, so Lambda / the local poller retries it all)
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError, match="handler failed"):
        consumer.handle(batch(sqs_record(exploding, "m-explode")))
    assert [e.key for e in consumer.seen] == ["a"]


def test_the_same_event_id_runs_the_handler_once(consumer):
    event = deadline("registration_opens", event_id="evt-1")
    assert consumer.handle(batch(sqs_record(event)))["batchItemFailures"] == []
    # redelivered later, in another batch, under another SQS message id
    assert consumer.handle(batch(sqs_record(event), sqs_record(event)))["batchItemFailures"] == []
    assert len(consumer.seen) == 1
    # another event id with the same content is a different event
    consumer.handle(batch(sqs_record(deadline("registration_opens", event_id="evt-2"))))
    assert len(consumer.seen) == 2


def test_idempotency_records_live_in_the_services_table(consumer):
    import boto3

    consumer.handle(batch(sqs_record(deadline("x", event_id="evt-stored"))))
    items = boto3.client("dynamodb").scan(TableName="caspr-local-scores")["Items"]
    assert any(i["pk"]["S"] == "idempotency#scores" for i in items)


def test_unknown_detail_type_is_ignored(consumer):
    other = envelope(ApplicantWithdrawn(season="2100", applicant_id="a1", reason="test"))
    unheard = {**deadline("y"), "detail-type": "something.new.v9"}
    result = consumer.handle(batch(sqs_record(other), sqs_record(unheard), sqs_record(deadline("z"))))
    assert result == {"batchItemFailures": []}
    assert [e.key for e in consumer.seen] == ["z"]
    assert consumer.detail_types == ["season.deadline_reached.v1"]


def test_a_body_that_is_not_json_fails_alone(consumer):
    garbage = sqs_record(deadline("k"), "garbage")
    garbage["body"] = "{not json"
    result = consumer.handle(batch(garbage, sqs_record(deadline("ok"))))
    assert result["batchItemFailures"] == [{"itemIdentifier": "garbage"}]
    assert [e.key for e in consumer.seen] == ["ok"]


def test_a_redelivered_outbox_event_is_applied_once_whatever_its_envelope(consumer):
    """The relay may put one outbox item on the bus twice (a retry after a partial failure, the
    sweep after the stream): EventBridge gives each copy a new envelope id; the event id given
    at commit is the same, and that is what the consumer keys on."""
    event = SeasonDeadlineReached(season="2100", key="rol_deadline", at=AT, event_id="outbox-evt-1")
    first, second = envelope(event), envelope(event)
    assert first["id"] != second["id"]
    consumer.handle(batch(sqs_record(first)))
    consumer.handle(batch(sqs_record(second)))
    assert [e.key for e in consumer.seen] == ["rol_deadline"]


class Died(BaseException):
    """The process dies mid-event (a timeout, out of memory): nothing after this line runs,
    so powertools leaves the idempotency record "in progress"."""


class FakeLambdaContext:
    function_name = "scores-consumer"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:scores-consumer"
    aws_request_id = "req-1"

    def __init__(self, remaining_ms: int):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.mark.parametrize("with_context", [True, False])
def test_a_consumer_that_died_mid_event_is_retried_after_its_timeout_and_applied_once(aws, with_context):
    """With the Lambda context, the "in progress" mark expires with the invocation that died, so
    the redelivery (after the visibility timeout) is applied once and the DLQ stays empty.
    Without it (the old wiring) every redelivery is refused as "in progress" until the message is
    dead-lettered: the parametrized False case shows that is what the context fixes."""
    import time

    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from shared.consumer import EventConsumer
    from shared.runtime import default_platform

    applied, crash = [], [True]

    def handle(event: SeasonDeadlineReached) -> None:
        if crash and crash.pop():
            raise Died()
        applied.append(event.key)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = EventConsumer("scores", {SeasonDeadlineReached: handle},
                          persistence=default_platform().idempotency_store("scores"))
        event = deadline("part1_pass_by", event_id=f"evt-died-{with_context}")
        context = (lambda: FakeLambdaContext(300)) if with_context else (lambda: None)
        with pytest.raises(Died):
            c.handle(batch(sqs_record(event)), context())
        time.sleep(0.5)  # the invocation's timeout has passed; SQS makes the message visible again
        if with_context:
            assert c.handle(batch(sqs_record(event)), context()) == {"batchItemFailures": []}
            assert applied == ["part1_pass_by"]
            assert c.handle(batch(sqs_record(event)), context()) == {"batchItemFailures": []}
            assert applied == ["part1_pass_by"]  # applied once
        else:
            with pytest.raises(BatchProcessingError, match="in progress|already"):
                c.handle(batch(sqs_record(event)), context())
            assert applied == []
