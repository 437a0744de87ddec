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
