"""The write path (shared.outbox): a change and what it announces commit together or not at
all; the relay delivers each outbox item in order, once, with the event id given at commit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from shared.adapters.dynamo import BaseItem, table_meta
from shared.adapters.outbox import Outbox, Transaction, outbox_item_model
from shared.contracts import ApplicantReinstated, ApplicantWithdrawn
from shared.email import Email, RecordingMailer
from shared.errors import Conflict
from shared.events import InMemoryPublisher

pytestmark = [pytest.mark.integration]
NOW = datetime(2023, 8, 1, 12, tzinfo=UTC)


class Thing(BaseItem):
    Meta = table_meta("scores")
    version = NumberAttribute()
    note = UnicodeAttribute(null=True)


def stream_records(service: str = "scores") -> list[dict]:
    """What the table's stream holds (the relay's input), as Lambda gets it."""
    import boto3

    ddb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=f"caspr-local-{service}")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=it)["Records"]


def withdrawn(n: int) -> ApplicantWithdrawn:
    return ApplicantWithdrawn(season="2024", applicant_id=f"a{n}", reason="r", version=n)


def save(version_read: int, *events, emails=()) -> None:
    t = Transaction("scores", NOW)
    condition = Thing.version == version_read if version_read else Thing.pk.does_not_exist()
    t.put(Thing(pk="thing#1", sk="thing", version=version_read + 1), condition,
          refusal=Conflict("thing 1 changed meanwhile"))
    t.announce("thing#1", events, emails)
    t.commit()


def test_a_change_and_its_events_and_emails_commit_together_and_are_relayed_in_order(aws):
    save(0, withdrawn(1), emails=[Email("ada@example.org", "hello", "body")])
    save(1, withdrawn(2), ApplicantReinstated(season="2024", applicant_id="a2"))
    records = stream_records()
    assert [r["eventName"] for r in records] == ["INSERT"] * 4  # only the outbox items are streamed
    publisher, mailer = InMemoryPublisher(), RecordingMailer()
    outbox = Outbox("scores", publisher, mailer)
    assert outbox.relay(records) == {"batchItemFailures": []}
    assert [type(e).__name__ for e in publisher.events] == ["ApplicantWithdrawn", "ApplicantWithdrawn",
                                                             "ApplicantReinstated"]
    assert [e.applicant_id for e in publisher.events[:2]] == ["a1", "a2"]
    assert all(e.event_id for e in publisher.events) and len({e.event_id for e in publisher.events}) == 3
    assert [m.to for m in mailer.sent] == ["ada@example.org"]
    # delivered items are marked: the sweep finds nothing; the stream relayed again sends no email twice
    assert outbox.sweep(older_than=0) == 0
    outbox.relay(records)
    assert len(mailer.sent) == 1
    assert [e.event_id for e in publisher.events[3:]] == [e.event_id for e in publisher.events[:3]]  # same ids


def test_a_stale_write_is_a_409_and_announces_nothing(aws):
    save(0, withdrawn(1))
    with pytest.raises(Conflict, match="changed meanwhile"):
        save(0, withdrawn(99), emails=[Email("x@example.org", "s", "b")])  # read version 0, it is 1 now
    Item = outbox_item_model("scores")
    assert [i.event_id is not None for i in Item.query("outbox#thing#1")] == [True]
    assert len(stream_records()) == 1  # the refused transaction left nothing in the stream


def test_when_the_bus_refuses_the_relay_stops_there_and_the_sweep_delivers_later_in_order(aws):
    save(0, withdrawn(1))
    save(1, withdrawn(2))

    class Down(InMemoryPublisher):
        def publish(self, *events):
            raise ConnectionError("bus down")

    records = stream_records()
    down = Outbox("scores", Down(), RecordingMailer())
    assert down.relay(records) == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    assert down.sweep(older_than=0) == 0
    up = InMemoryPublisher()
    assert Outbox("scores", up, RecordingMailer()).sweep(older_than=0) == 2
    assert [e.version for e in up.events] == [1, 2]
    assert Outbox("scores", up, RecordingMailer()).sweep(older_than=0) == 0


def test_transactions_without_a_connection_of_their_own_share_one_botocore_client(aws, monkeypatch):
    """A commit made a new Connection (a new botocore session and client: the endpoint and service
    models loaded again, ~20 ms of CPU) each time; now the process's connection per region is reused,
    from any thread."""
    import threading

    import botocore.session

    save(0, withdrawn(1))  # the first commit may make the client
    made = []
    real = botocore.session.Session.create_client
    monkeypatch.setattr(botocore.session.Session, "create_client",
                        lambda self, *a, **k: made.append(a) or real(self, *a, **k))
    save(1, withdrawn(2))
    worker = threading.Thread(target=save, args=(2, withdrawn(3)))
    worker.start()
    worker.join()
    assert made == []
    assert Thing.get("thing#1", "thing").version == 3
