"""The write path (shared.outbox): a change and what it announces commit together or not at
all; the relay delivers each outbox item in order, once, with the event id given at commit."""

from __future__ import annotations

import time
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


# ----------------------------------------------------------------------------- batching
def announce(stream: int, *events, emails=()) -> None:
    t = Transaction("scores", NOW)
    t.announce(f"thing#{stream}", events, emails)
    t.commit()


class Bus:
    """The real EventBridgePublisher's client (moto), recording each PutEvents; `refuse` names
    the event ids the bus refuses (FailedEntryCount) while the other entries of the call go out."""

    def __init__(self, refuse=()):
        import boto3

        self.real = boto3.client("events")
        self.refuse = set(refuse)
        self.calls: list[list[str]] = []  # the event ids of each PutEvents
        self.taken: list[tuple[str, int]] = []  # (applicant, version) of each entry the bus took

    def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
        import json

        details = [json.loads(e["Detail"]) for e in Entries]
        self.calls.append([d["event_id"] for d in details])
        answers, forwarded = [], []
        for entry, d in zip(Entries, details, strict=True):
            if d["event_id"] in self.refuse:
                answers.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                forwarded.append(entry)
                answers.append(None)
                self.taken.append((d["applicant_id"], d["version"]))
        taken = iter(self.real.put_events(Entries=forwarded)["Entries"] if forwarded else [])
        answers = [a or next(taken) for a in answers]
        return {"FailedEntryCount": sum(1 for a in answers if "ErrorCode" in a), "Entries": answers}


def count_calls(monkeypatch) -> list[str]:
    """Every AWS operation made from here on (any client: boto3's and PynamoDB's)."""
    import botocore.client

    made: list[str] = []
    real = botocore.client.BaseClient._make_api_call
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call",
                        lambda self, op, params: made.append(op) or real(self, op, params))
    return made


def test_the_relay_publishes_up_to_10_events_per_put_events_and_marks_a_batch_in_one_transaction(aws, monkeypatch):
    from shared.events import EventBridgePublisher

    for s in range(12):  # 12 streams of 2 events each, committed stream by stream
        announce(s, withdrawn(100 * s + 1), withdrawn(100 * s + 2))
    records = stream_records()
    assert len(records) == 24
    bus, mailer = Bus(), RecordingMailer()
    made = count_calls(monkeypatch)
    outbox = Outbox("scores", EventBridgePublisher("caspr-local-bus", client=bus), mailer)
    assert outbox.relay(records) == {"batchItemFailures": []}
    # round 1: the first event of each of the 12 streams (10 + 2), round 2: the second ones
    assert [len(c) for c in bus.calls] == [10, 2, 10, 2]  # one PutEvents per event would be 24
    assert sorted(bus.taken) == sorted((f"a{100 * s + k}", 100 * s + k) for s in range(12) for k in (1, 2))
    assert made.count("PutEvents") == 4 and made.count("TransactWriteItems") == 2 and "UpdateItem" not in made
    assert outbox.pending(older_than=0) == []  # every item marked delivered


def test_emails_of_a_batch_are_claimed_in_one_transaction_and_never_sent_twice(aws, monkeypatch):
    for s in range(3):
        announce(s, withdrawn(s + 1), emails=[Email(f"p{s}@example.org", "hello", "body")])
    records = stream_records()
    mailer = RecordingMailer()
    outbox = Outbox("scores", InMemoryPublisher(), mailer)
    made = count_calls(monkeypatch)
    assert outbox.relay(records) == {"batchItemFailures": []}
    assert sorted(m.to for m in mailer.sent) == ["p0@example.org", "p1@example.org", "p2@example.org"]
    assert made == ["TransactWriteItems", "TransactWriteItems", "TransactWriteItems"]  # events; claims; marks
    del made[:]
    outbox.relay(records)  # the stream delivers the batch again: no email twice
    assert len(mailer.sent) == 3
    assert made == ["TransactWriteItems", "TransactWriteItems", "UpdateItem", "UpdateItem", "UpdateItem"]
    # (the events again; the emails' claims refused as one, then one by one: all delivered already)


def test_an_email_pending_for_two_deliverers_is_sent_by_one_and_by_a_sweep_once_a_dead_one_s_claim_lapses(
        aws, monkeypatch):
    """The stream relay and the sweep (or two sweeps) can find the same pending email: the one
    that claims it sends it, the other leaves it. A deliverer that died after its claim leaves it
    to a sweep once the claim lapses (at least once)."""
    import shared.adapters.outbox as ob

    announce(1, withdrawn(1), emails=[Email("one@example.org", "s", "b"), Email("two@example.org", "s", "b")])
    records = stream_records()
    first, second = RecordingMailer(), RecordingMailer()
    relay, sweep = Outbox("scores", InMemoryPublisher(), first), Outbox("scores", InMemoryPublisher(), second)
    Item = outbox_item_model("scores")
    emails = [i for i in relay.pending(older_than=0) if i.kind != "event"]
    claimed, taken, _ = relay._claim(emails[:1])  # the relay holds the first email (about to send it)
    assert (len(claimed), taken) == (1, [])
    sweep.sweep(older_than=0)  # the event, and the second email; the first is the relay's
    assert [m.to for m in second.sent] == ["two@example.org"]
    assert relay.relay(records) == {"batchItemFailures": []}  # the stream's relay: nothing twice
    assert first.sent == []  # (its earlier claim was of a deliverer that then "died": not sent yet)
    assert [i.pk for i in sweep.pending(older_than=0)] == [emails[0].pk]
    now = time.time()
    monkeypatch.setattr(ob.time, "time", lambda: now + ob.EMAIL_CLAIM_SECONDS + 1)
    assert sweep.sweep(older_than=0) == 1  # the claim lapsed: the sweep sends it, once
    assert [m.to for m in second.sent] == ["two@example.org", "one@example.org"]
    assert sweep.pending(older_than=0) == [] and Item.get(emails[0].pk, emails[0].sk).delivered_at is not None


def test_a_partly_refused_put_events_still_delivers_every_event_at_least_once_each_stream_in_order(aws, monkeypatch):
    from shared.events import EventBridgePublisher

    for k in (1, 2, 3):  # 4 streams of 3 events each, interleaved in the stream
        for s in range(4):
            announce(s, withdrawn(10 * s + k))
    records = stream_records()
    refused = [outbox_event_id(r) for r in records if '"applicant_id":"a22"' in payload(r)]
    bus = Bus(refuse=refused)  # the bus refuses stream 2's second event (then the bus heals)
    outbox = Outbox("scores", EventBridgePublisher("caspr-local-bus", client=bus), RecordingMailer())
    result = outbox.relay(records)
    failed_at = result["batchItemFailures"][0]["itemIdentifier"]
    assert payload(next(r for r in records if r["dynamodb"]["SequenceNumber"] == failed_at)).count('"a22"') == 1
    assert [len(c) for c in bus.calls] == [4, 4]  # the 2nd call: a2, a12, a22 (refused), a32
    assert bus.taken[4:] == [("a2", 2), ("a12", 12), ("a32", 32)]  # the rest of that call went out
    assert ("a23", 23) not in bus.taken  # nothing of stream 2 after its refused event went out
    bus.refuse.clear()
    retry = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= int(failed_at)]
    assert outbox.relay(retry) == {"batchItemFailures": []}  # Lambda retries from the reported record
    assert set(bus.taken) == {(f"a{10 * s + k}", 10 * s + k) for s in range(4) for k in (1, 2, 3)}
    for s in range(4):  # each stream's events reached the bus in commit order (redeliveries aside)
        firsts = list(dict.fromkeys(v for a, v in bus.taken if v // 10 == s))
        assert firsts == [10 * s + 1, 10 * s + 2, 10 * s + 3]
    assert outbox.pending(older_than=0) == []


def payload(record: dict) -> str:
    return record["dynamodb"]["NewImage"]["payload"]["S"].replace(" ", "")


def outbox_event_id(record: dict) -> str:
    return record["dynamodb"]["NewImage"]["event_id"]["S"]


def test_a_stream_s_emails_go_out_in_order_a_run_per_round_and_a_failed_one_holds_back_the_rest(aws, monkeypatch):
    announce(1, withdrawn(1), emails=[Email(f"m{k}@example.org", "s", "b") for k in range(30)])
    announce(1, withdrawn(2))
    records = stream_records()
    assert len(records) == 32

    class Flaky(RecordingMailer):
        def __init__(self, refuse):
            super().__init__()
            self.refuse = refuse

        def send(self, email):
            if email.to == self.refuse:
                raise ConnectionError("SES down")
            super().send(email)

    publisher, mailer = InMemoryPublisher(), Flaky(refuse="m27@example.org")
    outbox = Outbox("scores", publisher, mailer)
    made = count_calls(monkeypatch)
    failed_at = outbox.relay(records)["batchItemFailures"][0]["itemIdentifier"]
    # the event; 25 emails (one consistent read, one transaction of marks); m25, m26, then m27 fails
    assert [m.to for m in mailer.sent] == [f"m{k}@example.org" for k in range(27)]
    assert [e.version for e in publisher.events] == [1]  # the event after the emails waits
    assert made == ["UpdateItem",  # the event marked
                    "TransactWriteItems", "TransactWriteItems",  # m0..m24 claimed, sent, marked
                    "TransactWriteItems",  # m25..m29 claimed; m25, m26 sent
                    "UpdateItem",  # m27's failure counted, its claim given back
                    "UpdateItem", "UpdateItem",  # m28, m29 not sent: their claims given back
                    "TransactWriteItems"]  # m25, m26 marked
    assert outbox_event_id(next(r for r in records if r["dynamodb"]["SequenceNumber"] == failed_at)) and \
        '"m27@example.org"' in payload(next(r for r in records if r["dynamodb"]["SequenceNumber"] == failed_at))
    mailer.refuse = None
    retry = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= int(failed_at)]
    assert outbox.relay(retry) == {"batchItemFailures": []}
    assert [m.to for m in mailer.sent] == [f"m{k}@example.org" for k in range(30)]  # none twice, in order
    assert [e.version for e in publisher.events] == [1, 2]
    assert outbox.pending(older_than=0) == []
