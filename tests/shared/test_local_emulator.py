"""The DESIGN claim behind the local stack: moto's server alone overbooks under
concurrent conditional updates; caspr_local.emulator.Emulator serializes requests, so a
conditional counter with capacity 37 hit by 40 threads books exactly 37.

With the default GIL switch interval (5 ms) threads rarely interleave inside one moto
request, so an unserialized moto would pass by luck; the test shortens the interval
(restored afterwards) so that they do: without the emulator's lock every one of the 40
updates succeeds (checked by hand by swapping the lock for a no-op)."""

from __future__ import annotations

import sys
import threading
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from caspr_local.emulator import Emulator

pytestmark = pytest.mark.integration

CAPACITY = 37
THREADS = 40


@pytest.fixture
def preemptive():
    """Threads switch every 10 µs, so concurrent requests really interleave in moto."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.fixture(scope="module")
def emulator():
    emu = Emulator(port=0).start()
    try:
        yield emu
    finally:
        emu.stop()


def client(emulator):
    return boto3.client("dynamodb", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=THREADS))


def test_emulator_listens_on_a_free_local_port(emulator):
    assert emulator.endpoint_url.startswith("http://127.0.0.1:")
    assert not emulator.endpoint_url.endswith(":0")


def test_conditional_updates_never_overbook_under_40_threads(emulator, preemptive):
    ddb = client(emulator)
    table = f"emulator-capacity-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.put_item(TableName=table, Item={"pk": {"S": "slot"}, "booked": {"N": "0"}})

    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def book():
        own = client(emulator)  # one client per thread, as concurrent Lambdas would have
        barrier.wait()
        try:
            own.update_item(
                TableName=table, Key={"pk": {"S": "slot"}},
                UpdateExpression="SET booked = booked + :one",
                ConditionExpression="booked < :cap",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": str(CAPACITY)}})
            result = "booked"
        except ClientError as exc:
            result = exc.response["Error"]["Code"]
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=book) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(outcomes) == THREADS
    assert outcomes.count("booked") == CAPACITY
    assert outcomes.count("ConditionalCheckFailedException") == THREADS - CAPACITY
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "slot"}}, ConsistentRead=True)["Item"]
    assert item["booked"] == {"N": str(CAPACITY)}
    ddb.delete_table(TableName=table)


def hash_table(ddb, prefix: str) -> str:
    """A new table keyed `pk` (string)."""
    table = f"{prefix}-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return table


def indexed_table(ddb, prefix: str) -> str:
    """A new table keyed `pk`/`sk` with an index `gsi1` on `g`/`gs` (strings)."""
    table = f"{prefix}-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g", "gs")],
        GlobalSecondaryIndexes=[{"IndexName": "gsi1", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                               {"AttributeName": "gs", "KeyType": "RANGE"}]}])
    return table


def _queries(ddb, table: str) -> list[dict]:
    """A spread of Query shapes: base partition, range conditions, descending, pages, an index,
    a filter; each answer with every page followed."""
    shapes = [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p3"}}},
        {"KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
         "ExpressionAttributeValues": {":p": {"S": "p3"}, ":a": {"S": "s03"}, ":b": {"S": "s11"}}},
        {"KeyConditionExpression": "pk = :p AND begins_with(sk, :a)", "ScanIndexForward": False,
         "ExpressionAttributeValues": {":p": {"S": "p1"}, ":a": {"S": "s1"}}},
        {"KeyConditionExpression": "pk = :p", "Limit": 4, "ExpressionAttributeValues": {":p": {"S": "p2"}}},
        {"KeyConditionExpression": "pk = :p AND begins_with(sk, :a)",  # the prefix's items only
         "ExpressionAttributeValues": {":p": {"S": "p0"}, ":a": {"S": "s2"}}},
        {"KeyConditionExpression": "pk = :p AND begins_with(sk, :a)",
         "ExpressionAttributeValues": {":p": {"S": "p0"}, ":a": {"S": "zz"}}},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
        {"IndexName": "gsi1", "KeyConditionExpression": "g = :g",
         "ExpressionAttributeValues": {":g": {"S": "pending#1"}}},
        {"IndexName": "gsi1", "KeyConditionExpression": "g = :g AND gs < :c", "Limit": 3,
         "ExpressionAttributeValues": {":g": {"S": "pending#0"}, ":c": {"S": "0015"}}},
        {"IndexName": "gsi1", "KeyConditionExpression": "g = :g", "ScanIndexForward": False,
         "FilterExpression": "n > :n", "ExpressionAttributeValues": {":g": {"S": "pending#2"}, ":n": {"N": "20"}}},
    ]
    answers = []
    for shape in shapes:
        pages, start = [], None
        while True:
            page = ddb.query(TableName=table, **shape, **({"ExclusiveStartKey": start} if start else {}))
            pages.append((page["Items"], page.get("LastEvaluatedKey")))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        answers.append(pages)
    return answers


def test_queries_read_one_partition_and_answer_exactly_as_moto_does(emulator, monkeypatch):
    """caspr_local.emulator.fast_queries: moto sorted the whole table for every Query; the
    patch gives moto's query only the matching partition. Same answers, pages included."""
    from moto.dynamodb.models.table import Table

    ddb = client(emulator)
    table = indexed_table(ddb, "emulator-query")
    for i in range(60):
        item = {"pk": {"S": f"p{i % 5}"}, "sk": {"S": f"s{i:02d}"}, "n": {"N": str(i)}}
        if i % 2:
            item |= {"g": {"S": f"pending#{i % 3}"}, "gs": {"S": f"{60 - i:04d}"}}
        ddb.put_item(TableName=table, Item=item)

    fast = _queries(ddb, table)
    assert Table.query.caspr_fast
    monkeypatch.setattr(Table, "query", Table.query.moto_query)
    monkeypatch.setattr(Table, "all_items", Table.all_items.moto_all_items)
    assert fast == _queries(ddb, table)
    assert sum(len(p[0]) for p in fast[3]) == 12 and len(fast[3]) > 1  # pages of 4
    assert sum(len(p[0]) for p in fast[4]) == 2  # s20, s25
    assert sum(len(p[0]) for p in fast[5]) == 0
    assert sum(len(p[0]) for p in fast[7]) == 10  # odd i with i % 3 == 1
    ddb.delete_table(TableName=table)


def test_query_pages_shared_only_when_nothing_changes_them_and_sizes_as_moto_gives_them(emulator, monkeypatch):
    """fast_queries hands moto's page out without its deep copy when nothing projects it; fast_sizes
    sizes items without rebuilding them. Same answers as moto's own code for the table, an index of
    ALL attributes, a KEYS_ONLY index, a ProjectionExpression and a filter; the stored items intact
    afterwards; the same sizes for every kind of value."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    ddb = client(emulator)
    table = f"emulator-pages-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        GlobalSecondaryIndexes=[
            {"IndexName": "all", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]},
            {"IndexName": "keys", "Projection": {"ProjectionType": "KEYS_ONLY"},
             "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
    stored = []
    for i in range(12):
        item = {"pk": {"S": f"p{i % 2}"}, "sk": {"S": f"s{i:02d}"}, "g": {"S": f"g{i % 3}"}, "n": {"N": str(i * 1.5)},
                "m": {"M": {"name": {"S": "é" * i}, "l": {"L": [{"N": "1"}, {"M": {"x": {"BOOL": True}}}]}}},
                "ss": {"SS": ["a", "bb"]}, "ns": {"NS": ["1", "22"]}, "b": {"B": b"\x00\x01" * i},
                "flag": {"BOOL": i % 2 == 0}, "nothing": {"NULL": True}}
        ddb.put_item(TableName=table, Item=item)
        stored.append(item)
    shapes = [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p1"}}},
        {"KeyConditionExpression": "pk = :p", "ProjectionExpression": "sk, m.l", "ExpressionAttributeValues": {":p": {"S": "p0"}}},
        {"KeyConditionExpression": "pk = :p", "FilterExpression": "flag = :t",
         "ExpressionAttributeValues": {":p": {"S": "p0"}, ":t": {"BOOL": True}}},
        {"IndexName": "all", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "g1"}}},
        {"IndexName": "keys", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "g2"}}},
        {"IndexName": "all", "KeyConditionExpression": "g = :g", "ProjectionExpression": "pk, ss",
         "ExpressionAttributeValues": {":g": {"S": "g0"}}},
    ]

    def answers():
        return [ddb.query(TableName=table, **shape)["Items"] for shape in shapes]

    def everything():
        return sorted((i for i in ddb.scan(TableName=table)["Items"]), key=lambda i: i["sk"]["S"])

    fast = answers()
    assert everything() == sorted(stored, key=lambda i: i["sk"]["S"])  # nothing stored was changed
    assert len(fast[4]) == 4 and all(set(i) == {"pk", "sk", "g"} for i in fast[4])  # KEYS_ONLY still projected
    assert all(set(i) == {"sk", "m"} for i in fast[1])
    items = [item for acc in dynamodb_backends.values() for b in acc.values() if table in b.tables
             for part in b.tables[table].items.values() for item in part.values()]
    assert len(items) == 12
    for item in items:
        for value in item.attrs.values():
            assert DynamoType.size(value) == DynamoType.size.moto_size(value)
    monkeypatch.setattr(Table, "query", Table.query.moto_query)
    monkeypatch.setattr(Table, "all_items", Table.all_items.moto_all_items)
    monkeypatch.setattr(DynamoType, "size", DynamoType.size.moto_size)
    assert fast == answers()
    ddb.delete_table(TableName=table)


def test_calls_of_this_process_reach_the_emulator_without_a_socket(emulator, monkeypatch):
    """caspr_local.emulator.InProcessTransport answers the emulator's own endpoint in-process
    (the served app, same lock) and leaves every other URL to botocore's HTTP."""
    from caspr_local.emulator import TRANSPORT

    served = []
    app = TRANSPORT.app

    class Counting:
        _lock = app._lock

        def __call__(self, environ, start):
            served.append(environ["PATH_INFO"])
            return app(environ, start)

    monkeypatch.setattr(TRANSPORT, "app", Counting())
    s3 = boto3.client("s3", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
    s3.list_buckets()
    assert served == ["/"]
    client(emulator).list_tables()  # DynamoDB: moto's handler called directly (test below), no app, no socket
    assert served == ["/"]

    class Request:
        url = "http://elsewhere.example/"

    assert TRANSPORT(Request()) is None


def test_queue_attributes_and_receiving_a_backlog_as_moto_does(emulator):
    """caspr_local.emulator.fast_queues: the same attributes, the same messages received."""
    from moto.sqs.models import SQSBackend

    assert SQSBackend.is_message_valid_based_on_retention_period.caspr_fast
    sqs = boto3.client("sqs", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local")
    url = sqs.create_queue(QueueName=f"emulator-backlog-{uuid.uuid4().hex[:8]}",
                           Attributes={"MessageRetentionPeriod": "600"})["QueueUrl"]
    for i in range(0, 50, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f"m{j}"} for j in range(i, i + 10)])
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "MessageRetentionPeriod"])["Attributes"]
    assert attrs == {"ApproximateNumberOfMessages": "50", "ApproximateNumberOfMessagesNotVisible": "0",
                     "MessageRetentionPeriod": "600"}
    received = []
    while len(received) < 50:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        assert batch
        received += [m["Body"] for m in batch]
    assert sorted(received) == sorted(f"m{j}" for j in range(50))
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "50" and attrs["ApproximateNumberOfMessages"] == "0"
    # deleting received messages (a batch, one of them twice, an unknown handle): as moto does
    from moto.sqs.models import Queue

    assert hasattr(Queue.delete_message, "moto_delete_message")
    url2 = sqs.create_queue(QueueName=f"emulator-deletes-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url2, Entries=[{"Id": str(j), "MessageBody": f"d{j}"} for j in range(6)])
    got = sqs.receive_message(QueueUrl=url2, MaxNumberOfMessages=6, VisibilityTimeout=60)["Messages"]
    handles = [m["ReceiptHandle"] for m in got]
    out = sqs.delete_message_batch(QueueUrl=url2, Entries=[
        {"Id": "a", "ReceiptHandle": handles[0]}, {"Id": "b", "ReceiptHandle": handles[1]},
        {"Id": "c", "ReceiptHandle": "not-a-handle"}])
    assert sorted(e["Id"] for e in out["Successful"]) == ["a", "b"]
    assert [(e["Id"], e["Code"]) for e in out["Failed"]] == [("c", "ReceiptHandleIsInvalid")]
    sqs.delete_message(QueueUrl=url2, ReceiptHandle=handles[0])  # again: fine, as on SQS
    with pytest.raises(ClientError) as refused:
        sqs.delete_message(QueueUrl=url2, ReceiptHandle="not-a-handle")
    assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    attrs = sqs.get_queue_attributes(QueueUrl=url2, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessagesNotVisible"], attrs["ApproximateNumberOfMessages"]) == ("4", "0")
    with pytest.raises(ClientError):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    # FIFO with content-based deduplication: sending reads that attribute (and only that one)
    fifo = sqs.create_queue(QueueName=f"emulator-fifo-{uuid.uuid4().hex[:8]}.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=fifo, MessageBody="other", MessageGroupId="g")
    assert sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "2"


def _answers(ddb, table: str) -> list:
    """DynamoDB answers of every shape the services read: items of every attribute type (nested
    maps and lists, binary, sets, null, booleans, empty and unicode strings), pages, an index,
    batch and transactional reads and writes, returned values, consumed capacity, timestamps
    (DescribeTable), a refused condition (moto's error path) with the item it met."""
    key = {"pk": {"S": "p1"}, "sk": {"S": "every-type"}}
    calls = [
        lambda: ddb.get_item(TableName=table, Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"),
        lambda: ddb.get_item(TableName=table, Key={"pk": {"S": "p1"}, "sk": {"S": "nobody"}}),
        lambda: ddb.get_item(TableName=table, Key=key, ProjectionExpression="m.inner, l[1], b"),
        lambda: ddb.query(TableName=table, KeyConditionExpression="pk = :p", Limit=3,
                          ExpressionAttributeValues={":p": {"S": "p1"}}, ReturnConsumedCapacity="INDEXES"),
        lambda: ddb.query(TableName=table, IndexName="gsi1", KeyConditionExpression="g = :g",
                          ExpressionAttributeValues={":g": {"S": "pending#1"}}),
        lambda: ddb.query(TableName=table, KeyConditionExpression="pk = :p", Select="COUNT",
                          ExpressionAttributeValues={":p": {"S": "p2"}}),
        lambda: ddb.scan(TableName=table, Limit=7),
        lambda: ddb.batch_get_item(RequestItems={table: {"Keys": [key, {"pk": {"S": "p2"}, "sk": {"S": "s03"}},
                                                                  {"pk": {"S": "none"}, "sk": {"S": "none"}}],
                                                         "ConsistentRead": True}}),
        lambda: ddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key}},
                                                      {"Get": {"TableName": table, "Key": {"pk": {"S": "x"},
                                                                                           "sk": {"S": "y"}}}}]),
        lambda: ddb.update_item(TableName=table, Key=key, UpdateExpression="SET s2 = :v", ReturnValues="ALL_NEW",
                                ExpressionAttributeValues={":v": {"S": "same"}}),
        lambda: ddb.update_item(TableName=table, Key=key, UpdateExpression="SET s2 = :v",
                                ReturnValues="UPDATED_OLD", ExpressionAttributeValues={":v": {"S": "same"}}),
        lambda: ddb.put_item(TableName=table, Item={"pk": {"S": "p9"}, "sk": {"S": "again"}, "n": {"N": "1.50"}},
                             ReturnValues="ALL_OLD"),
        lambda: ddb.delete_item(TableName=table, Key={"pk": {"S": "p9"}, "sk": {"S": "gone"}}, ReturnValues="ALL_OLD"),
        lambda: ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {
            "pk": {"S": "p9"}, "sk": {"S": "batch"}, "ss": {"SS": ["a", "b"]}}}}]}),
        lambda: ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {
            "pk": {"S": "p9"}, "sk": {"S": "tx"}, "bool": {"BOOL": False}}}}]),
        lambda: ddb.describe_table(TableName=table),
        lambda: ddb.list_tables(Limit=100),
        lambda: ddb.put_item(TableName=table, Item=key | {"s": {"S": "other"}},
                             ConditionExpression="attribute_not_exists(pk)",
                             ReturnValuesOnConditionCheckFailure="ALL_OLD"),
    ]
    answers = []
    for call in calls:
        try:
            answer = call()
        except ClientError as exc:
            answer = {"error": exc.response["Error"], "item": exc.response.get("Item")}
        answer.pop("ResponseMetadata", None)
        answers.append(answer)
    return answers


def test_dynamodb_answers_serialized_as_moto_does(emulator, monkeypatch):
    """caspr_local.emulator.fast_responses: the same answers as moto's shape-driven serializer
    (off: CASPR_MOTO_SPEEDUPS=off), for every operation and attribute type above."""
    from moto.core import serialize

    ddb = client(emulator)
    table = indexed_table(ddb, "emulator-serialize")
    ddb.put_item(TableName=table, Item={
        "pk": {"S": "p1"}, "sk": {"S": "every-type"}, "s": {"S": "ünïcode ✓"}, "empty": {"S": ""},
        "n": {"N": "-12.500"}, "b": {"B": b"\x00\xffbinary"}, "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"\x01", b"\x02"]}, "null": {"NULL": True}, "t": {"BOOL": True}, "f": {"BOOL": False},
        "m": {"M": {"inner": {"M": {"deep": {"L": [{"S": "a"}, {"N": "1"}, {"NULL": True}]}}}, "e": {"M": {}}}},
        "l": {"L": [{"S": "first"}, {"M": {"k": {"B": b"v"}}}, {"L": []}, {"SS": ["z"]}]},
        "g": {"S": "pending#1"}, "gs": {"S": "0001"}})
    for i in range(12):
        item = {"pk": {"S": f"p{1 + i % 2}"}, "sk": {"S": f"s{i:02d}"}, "n": {"N": str(i)}}
        if i % 3 == 0:
            item |= {"g": {"S": "pending#1"}, "gs": {"S": f"{i:04d}"}}
        ddb.put_item(TableName=table, Item=item)

    _answers(ddb, table)  # the writes among them leave the table as every later pass finds it
    fast = _answers(ddb, table)
    assert serialize.JSONSerializer._serialize_result.caspr_fast
    monkeypatch.setattr(serialize.JSONSerializer, "_serialize_result",
                        serialize.JSONSerializer._serialize_result.moto_serialize_result)
    assert fast == _answers(ddb, table)
    assert fast[0]["Item"]["b"] == {"B": b"\x00\xffbinary"} and fast[0]["Item"]["bs"] == {"BS": [b"\x01", b"\x02"]}
    assert fast[3]["LastEvaluatedKey"] and fast[-1]["error"]["Code"] == "ConditionalCheckFailedException"
    assert fast[-1]["item"]["s"] == {"S": "ünïcode ✓"}
    ddb.delete_table(TableName=table)


def streamed_table(ddb, emulator, prefix: str):
    """A Streams client and a new table keyed `pk`/`sk` whose stream shows old and new images:
    (streams, table, stream ARN)."""
    streams = boto3.client("dynamodbstreams", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
    table = f"{prefix}-{uuid.uuid4().hex[:8]}"
    arn = ddb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    return streams, table, arn


def test_dynamodb_stream_records_serialized_as_moto_does(emulator, monkeypatch):
    """fast_responses covers GetRecords (the outbox relay's read): the same records, images
    and timestamps as moto's serializer gives."""
    from moto.core import serialize

    from shared.adapters.outbox import OUTBOX

    ddb = client(emulator)
    streams, table, arn = streamed_table(ddb, emulator, "emulator-stream")
    for i in range(3):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"{OUTBOX}s"}, "sk": {"S": f"{i}"}, "n": {"N": str(i)},
                                            "m": {"M": {"b": {"B": b"\x00"}, "l": {"L": [{"S": "x"}]}}}})
    ddb.put_item(TableName=table, Item={"pk": {"S": f"{OUTBOX}s"}, "sk": {"S": "0"}, "n": {"N": "9"}})
    ddb.delete_item(TableName=table, Key={"pk": {"S": f"{OUTBOX}s"}, "sk": {"S": "1"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def records():
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        answer = streams.get_records(ShardIterator=it["ShardIterator"])
        assert answer["NextShardIterator"].startswith(arn)  # a new random one each time
        return answer["Records"]

    fast = records()
    assert serialize.JSONSerializer._serialize_result.caspr_fast
    monkeypatch.setattr(serialize.JSONSerializer, "_serialize_result",
                        serialize.JSONSerializer._serialize_result.moto_serialize_result)
    assert fast == records()
    assert [r["eventName"] for r in fast] == ["INSERT"] * 3 + ["MODIFY", "REMOVE"]
    assert fast[3]["dynamodb"]["OldImage"]["m"]["M"]["b"] == {"B": b"\x00"}
    ddb.delete_table(TableName=table)


def test_updates_keep_the_old_image_of_outbox_items_and_failed_transactions_undo_theirs(emulator):
    """fast_update_images: UpdateItem copies the item for the stream's old image only for outbox
    items (the only ones streamed). An outbox item's MODIFY record still shows the item before the
    update; another item is updated in place, with no record; a cancelled transaction that updated
    an item first leaves it as it was (fast_transactions' own copy)."""
    from shared.adapters.outbox import OUTBOX

    ddb = client(emulator)
    streams, table, arn = streamed_table(ddb, emulator, "emulator-images")
    outbox, plain = {"pk": {"S": f"{OUTBOX}s"}, "sk": {"S": "1"}}, {"pk": {"S": "applicant#1"}, "sk": {"S": "a"}}
    for key in (outbox, plain):
        ddb.put_item(TableName=table, Item={**key, "n": {"N": "1"}, "m": {"M": {"l": {"L": [{"S": "x"}]}}}})
        ddb.update_item(TableName=table, Key=key, UpdateExpression="SET n = n + :one, m.l[0] = :y",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":y": {"S": "y"}})
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": plain, "UpdateExpression": "SET n = :nine, m.l[0] = :z",
                        "ExpressionAttributeValues": {":nine": {"N": "9"}, ":z": {"S": "z"}}}},
            {"ConditionCheck": {"TableName": table, "Key": outbox, "ConditionExpression": "n = :seven",
                                "ExpressionAttributeValues": {":seven": {"N": "7"}}}}])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    got = ddb.get_item(TableName=table, Key=plain, ConsistentRead=True)["Item"]
    assert (got["n"], got["m"]) == ({"N": "2"}, {"M": {"l": {"L": [{"S": "y"}]}}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [
        ("INSERT", f"{OUTBOX}s"), ("MODIFY", f"{OUTBOX}s")]
    old, new = records[1]["dynamodb"]["OldImage"], records[1]["dynamodb"]["NewImage"]
    assert (old["n"], old["m"]) == ({"N": "1"}, {"M": {"l": {"L": [{"S": "x"}]}}})
    assert (new["n"], new["m"]) == ({"N": "2"}, {"M": {"l": {"L": [{"S": "y"}]}}})
    ddb.delete_table(TableName=table)


def test_in_process_calls_carry_the_credential_scope_without_a_signature(emulator, monkeypatch):
    """caspr_local.emulator.skip_signing_in_process: a DynamoDB call to the in-process emulator
    is not signed but keeps the scope moto reads (region, service, access key: the account);
    a table made in one region is seen there and not in another, as when signed; a presigned
    URL is still signed."""
    from botocore.signers import RequestSigner

    import caspr_local.emulator as emu
    from caspr_local.emulator import TRANSPORT

    seen = []
    app = TRANSPORT.app

    def tables_by_region():
        west = boto3.client("dynamodb", endpoint_url=emulator.endpoint_url, region_name="eu-west-3",
                            aws_access_key_id="local", aws_secret_access_key="local")
        name = f"emulator-scope-{uuid.uuid4().hex[:8]}"
        west.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        found = (name in west.list_tables()["TableNames"], name in client(emulator).list_tables()["TableNames"])
        west.delete_table(TableName=name)
        return found

    assert RequestSigner.sign.caspr_fast
    assert tables_by_region() == (True, False)  # moto's handler called directly reads the same scope
    # through moto's app (the direct dispatch off), to see the header it gets
    monkeypatch.setattr(emu, "_direct_handler", lambda *args: None)
    monkeypatch.setattr(TRANSPORT, "app", lambda environ, start: seen.append(environ.get("HTTP_AUTHORIZATION"))
                        or app(environ, start))
    assert tables_by_region() == (True, False)
    assert seen and all(a.endswith("Signature=in-process") for a in seen)
    assert any("/eu-west-3/dynamodb/aws4_request" in a for a in seen)
    s3 = boto3.client("s3", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
    assert "Signature=" in s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    seen.clear()
    monkeypatch.setattr(RequestSigner, "sign", RequestSigner.sign.botocore_sign)
    assert tables_by_region() == (True, False)
    assert seen and not any(a.endswith("Signature=in-process") for a in seen)


def test_request_dispatch_as_moto_does(emulator):
    """caspr_local.emulator.fast_dispatch: the same action names per handler class, the same
    enriched responses (a JSON body untouched, an XML body's RequestId set to the header's)."""
    from moto.core import responses, utils
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    assert hasattr(responses.method_names_from_class, "cache_info")
    for handler in (DynamoHandler, SQSResponse, responses.BaseResponse):
        assert responses.method_names_from_class(handler) == set(utils.method_names_from_class(handler))
    moto_enrich = responses.BaseResponse._enrich_response.moto_enrich_response
    for body in ('{"Items": [{"pk": {"S": "<RequestId>"}}]}', "<R><RequestId>old</RequestId></R>", b"\x00bytes", ""):
        for status in ({}, {"status": 201}):
            answers = [enrich(dict(status), body) for enrich in (responses.BaseResponse._enrich_response, moto_enrich)]
            (ours, our_body), (theirs, their_body) = [
                (headers, b.replace(headers["x-amzn-requestid"], "ID") if isinstance(b, str) else b)
                for headers, b in answers]  # a random request id each time
            assert ours.keys() == theirs.keys() and ours.get("status") == theirs.get("status")
            assert our_body == their_body
    headers, xml = responses.BaseResponse._enrich_response({}, "<R><RequestId>old</RequestId></R>")
    assert xml == f"<R><RequestId>{headers['x-amzn-requestid']}</RequestId></R>"


def _conditional_writes(ddb, table: str) -> list:
    """Conditional writes whose outcome depends on the values, names and items: the same
    expression text with other values must decide anew."""
    outcomes = []

    def attempt(**kwargs):
        try:
            kwargs.setdefault("ReturnValues", "ALL_NEW")
            outcomes.append(ddb.update_item(TableName=table, **kwargs).get("Attributes"))
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    key = {"pk": {"S": "seat"}}
    ddb.put_item(TableName=table, Item=key | {"booked": {"N": "0"}, "tags": {"L": [{"S": "a"}]}})
    for cap in (2, 2, 2, 5, 1):
        attempt(Key=key, UpdateExpression="SET booked = booked + :one", ConditionExpression="booked < :cap",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": str(cap)}})
    attempt(Key=key, UpdateExpression="SET seen = :t", ConditionExpression="attribute_exists(booked)",
            ExpressionAttributeValues={":t": {"BOOL": False}, ":unused": {"N": "1"}})  # moto: ValidationException
    for name in ("booked", "tags", "missing"):
        attempt(Key=key, UpdateExpression="SET seen = :t", ConditionExpression="attribute_exists(#a)",
                ExpressionAttributeNames={"#a": name}, ExpressionAttributeValues={":t": {"BOOL": True}})
    for tag in ("a", "b"):
        attempt(Key=key, UpdateExpression="SET tags = list_append(tags, :l)",
                ConditionExpression="contains(tags, :t) AND size(tags) < :n",
                ExpressionAttributeValues={":l": {"L": [{"S": "z"}]}, ":t": {"S": tag}, ":n": {"N": "4"}})
    attempt(Key=key, UpdateExpression="SET booked = :z", ConditionExpression="booked BETWEEN :lo AND :hi OR #s IN (:x)",
            ExpressionAttributeNames={"#s": "seen"}, ExpressionAttributeValues={
                ":z": {"N": "0"}, ":lo": {"N": "7"}, ":hi": {"N": "9"}, ":x": {"BOOL": True}})
    ddb.delete_item(TableName=table, Key=key)
    return outcomes


def test_condition_expressions_decide_as_moto_does(emulator, monkeypatch):
    """caspr_local.emulator.fast_conditions: a parsed ConditionExpression is kept per
    (expression, names, values) with the names and values it uses; every decision is moto's,
    also for the same text with other values or names, and an unused value is still refused."""
    from moto.dynamodb import comparisons, models, responses

    ddb = client(emulator)
    table = hash_table(ddb, "emulator-conditions")
    fast = [_conditional_writes(ddb, table) for _ in range(2)]  # the second pass from the kept trees
    assert comparisons.create_condition_expression_parser.caspr_fast
    moto_create = comparisons.create_condition_expression_parser.moto_create
    for module in (comparisons, models, responses):
        monkeypatch.setattr(module, "create_condition_expression_parser", moto_create)
    assert fast[0] == fast[1] == _conditional_writes(ddb, table)
    decided = fast[0]
    assert [d if isinstance(d, str) else d["booked"]["N"] for d in decided[:5]] == [
        "1", "2", "ConditionalCheckFailedException", "3", "ConditionalCheckFailedException"]
    assert decided[5] == "ValidationException" and decided[8] == "ConditionalCheckFailedException"
    assert decided[-1]["booked"] == {"N": "0"}
    ddb.delete_table(TableName=table)


def _updates(ddb, table: str) -> list:
    """UpdateExpressions of every kind moto validates, the refused ones included."""
    key = {"pk": {"S": "u"}}
    ddb.put_item(TableName=table, Item=key | {"n": {"N": "1"}, "l": {"L": [{"S": "a"}]}, "ss": {"SS": ["x", "y"]},
                                              "m": {"M": {"deep": {"N": "2"}}}})
    cases = [
        ("SET n = n + :one, l = list_append(l, :more), fresh = if_not_exists(fresh, :zero)",
         {":one": {"N": "1"}, ":more": {"L": [{"S": "b"}]}, ":zero": {"N": "0"}}, None),
        ("SET m.deep = m.deep - :one, #odd = :s REMOVE l[0]", {":one": {"N": "1"}, ":s": {"S": "v"}},
         {"#odd": "name with space"}),
        ("ADD n :five, ss :more", {":five": {"N": "5"}, ":more": {"SS": ["z"]}}, None),
        ("DELETE ss :x", {":x": {"SS": ["x"]}}, None),
        ("SET m.absent.deeper = :one", {":one": {"N": "1"}}, None),  # path does not exist
        ("SET n = n + :s", {":s": {"S": "text"}}, None),  # type mismatch
        ("SET pk = :s", {":s": {"S": "other"}}, None),  # a key attribute
        ("SET n = :one, n = :one", {":one": {"N": "1"}}, None),  # two actions on one path
        ("SET m = :one REMOVE m.deep", {":one": {"N": "1"}}, None),  # overlapping paths
        # the same text with other names: passed once as a plain attribute, then a key attribute
        ("SET #a = :v", {":v": {"S": "ok"}}, {"#a": "label"}),
        ("SET #a = :v", {":v": {"S": "no"}}, {"#a": "pk"}),
    ]
    outcomes = []
    for expression, values, names in cases:
        try:
            outcomes.append(ddb.update_item(TableName=table, Key=key, UpdateExpression=expression,
                                            ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
                                            **({"ExpressionAttributeNames": names} if names else {}))["Attributes"])
        except ClientError as exc:
            outcomes.append((exc.response["Error"]["Code"], exc.response["Error"]["Message"]))
    return outcomes


def test_update_expressions_validated_as_moto_does(emulator, monkeypatch):
    """caspr_local.emulator.fast_update_validation: the same items and the same refusals as
    moto's own tree walk."""
    from moto.dynamodb.parsing import ast_nodes, validators

    ddb = client(emulator)
    table = hash_table(ddb, "emulator-updates")
    fast = _updates(ddb, table) + _updates(ddb, table)  # the second time, the expressions have passed once
    traverse = ast_nodes.DepthFirstTraverser.traverse_node_recursively
    assert traverse.caspr_fast
    monkeypatch.setattr(ast_nodes.DepthFirstTraverser, "traverse_node_recursively", traverse.moto_traverse)
    monkeypatch.setattr(validators.UpdateExpressionValidator, "validate",
                        validators.UpdateExpressionValidator.validate.moto_validate)
    ddb.delete_table(TableName=table)
    table = hash_table(ddb, "emulator-updates")
    assert fast == _updates(ddb, table) + _updates(ddb, table)
    assert fast[0]["n"] == {"N": "2"} and fast[0]["l"]["L"] == [{"S": "a"}, {"S": "b"}] and fast[2]["n"] == {"N": "7"}
    assert fast[1]["m"]["M"]["deep"] == {"N": "1"} and sorted(fast[3]["ss"]["SS"]) == ["y", "z"]
    for outcomes in (fast[:11], fast[11:]):
        assert all(isinstance(o, tuple) and o[0] == "ValidationException" for o in outcomes[4:9] + outcomes[10:])
        assert outcomes[9]["label"] == {"S": "ok"}
        assert "key" in outcomes[10][1].lower() and "pk" in outcomes[10][1]
    ddb.delete_table(TableName=table)


def test_items_over_the_size_limit_refused_as_moto_refuses_them(emulator, monkeypatch):
    """sized_once: an item is sized once, whole; the same items refused (over ~400 KB) as when moto
    re-sized it at each attribute."""
    from moto.dynamodb.models.dynamo_type import Item

    ddb = client(emulator)
    table = hash_table(ddb, "emulator-sizes")

    def play() -> list:
        out = []
        # an item's size: 2 + 2 (pk) + 1 + len(a) + 1 + 1 + len(c) bytes; the limit: 405,000
        for i, c in enumerate((100_000, 204_993, 204_994, 220_000)):
            item = {"pk": {"S": f"s{i}"}, "a": {"S": "x" * 200_000}, "b": {"M": {"c": {"S": "y" * c}}}}
            try:
                ddb.put_item(TableName=table, Item=item)
                out.append("ok")
            except ClientError as exc:
                out.append((exc.response["Error"]["Code"], exc.response["Error"]["Message"]))
        return out

    fast = play()
    assert Item.__init__.caspr_fast
    monkeypatch.setattr(Item, "__init__", Item.__init__.moto_init)
    assert fast == play()
    assert fast[:2] == ["ok", "ok"] and fast[2] == fast[3] and fast[3][0] == "ValidationException"
    assert "size" in fast[3][1].lower()
    ddb.delete_table(TableName=table)


def test_user_agent_parts_cleaned_as_botocore_does(emulator):
    """caspr_local.emulator.cached_user_agent_parts: the same cleaned parts, remembered."""
    from botocore import useragent

    clean = useragent.sanitize_user_agent_string_component
    assert hasattr(clean, "cache_info")
    for text in ("Botocore", "1.44.5", "md/arch#x86_64", "a b/c#d", "ünï", ""):
        for allow_hash in (True, False):
            assert clean(text, allow_hash) == clean.__wrapped__(text, allow_hash)
    assert clean("a b#c", False) == "a-b-c" and clean("a b#c", True) == "a-b#c"


def test_new_botocore_sessions_share_the_parsed_models(emulator):
    """caspr_local.emulator.shared_botocore_loader: a session made later (PynamoDB makes one per
    thread) reads no service model file again, and its client works as before."""
    import botocore.loaders
    import botocore.session

    first = botocore.session.get_session()
    first.create_client("dynamodb", region_name="us-east-1", endpoint_url=emulator.endpoint_url,
                        aws_access_key_id="local", aws_secret_access_key="local")
    reads: list[str] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def counting(self, file_path):
        reads.append(file_path)
        return original(self, file_path)

    botocore.loaders.JSONFileLoader.load_file = counting
    try:
        second = botocore.session.get_session()
        ddb = second.create_client("dynamodb", region_name="us-east-1", endpoint_url=emulator.endpoint_url,
                                   aws_access_key_id="local", aws_secret_access_key="local")
        names = ddb.list_tables()["TableNames"]
    finally:
        botocore.loaders.JSONFileLoader.load_file = original
    assert second.get_component("data_loader") is first.get_component("data_loader")
    assert reads == []
    assert isinstance(names, list)


def test_direct_dispatch_answers_as_moto_flask_app_does(emulator, monkeypatch):
    """caspr_local.emulator.InProcessTransport._direct: DynamoDB, its streams, SQS and EventBridge
    calls of this process go to moto's handler without its Flask app; the same calls through the
    app (the direct path turned off) give the same answers, errors included."""
    import caspr_local.emulator as emu

    def play(tag: str) -> list:
        ddb, sqs = client(emulator), boto3.client(
            "sqs", endpoint_url=emulator.endpoint_url, region_name="us-east-1", aws_access_key_id="local",
            aws_secret_access_key="local")
        events = boto3.client("events", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
        streams = boto3.client("dynamodbstreams", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                               aws_access_key_id="local", aws_secret_access_key="local")
        table = f"direct-{tag}"
        out = []

        def call(fn, **kw):
            try:
                answer = fn(**kw)
                answer.pop("ResponseMetadata", None)
                out.append(("ok", answer))
                return answer
            except ClientError as exc:
                out.append(("error", exc.response["Error"]["Code"],
                            exc.response["ResponseMetadata"]["HTTPStatusCode"]))
                return None

        made = call(ddb.create_table, TableName=table, BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "S"}],
                    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        out[-1] = ("ok", made["TableDescription"]["KeySchema"], made["TableDescription"]["TableStatus"])
        for i in range(3):
            call(ddb.put_item, TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": f"{i}"}, "n": {"N": str(i)}})
        call(ddb.put_item, TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "0"}},
             ConditionExpression="attribute_not_exists(pk)")
        call(ddb.get_item, TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "1"}}, ConsistentRead=True)
        call(ddb.query, TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
        call(ddb.update_item, TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "2"}},
             UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW")
        call(ddb.transact_write_items, TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": "9"}}}},
            {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "p"}, "sk": {"S": "1"}},
                                "ConditionExpression": "n = :x", "ExpressionAttributeValues": {":x": {"N": "7"}}}}])
        call(ddb.get_item, TableName="no-such-table", Key={"pk": {"S": "p"}, "sk": {"S": "1"}})
        call(ddb.batch_get_item, RequestItems={table: {"Keys": [{"pk": {"S": "p"}, "sk": {"S": "0"}}]}})
        arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = streams.get_records(ShardIterator=it)["Records"]
        out.append(("stream", [(r["eventName"], r["dynamodb"]["Keys"]) for r in records]))
        queue = call(sqs.create_queue, QueueName=f"direct-{tag}")["QueueUrl"]
        out[-1] = ("ok", queue.rsplit("/", 1)[-1])
        call(sqs.send_message, QueueUrl=queue, MessageBody="hello")
        out[-1] = ("ok", sorted(out[-1][1]))
        got = call(sqs.receive_message, QueueUrl=queue, MaxNumberOfMessages=10)
        out[-1] = ("ok", [m["Body"] for m in got["Messages"]])
        call(sqs.get_queue_attributes, QueueUrl=queue + "-missing", AttributeNames=["All"])
        call(events.put_events, Entries=[{"Source": "caspr.test", "DetailType": "t", "Detail": "{}"}])
        out[-1] = ("ok", out[-1][1]["FailedEntryCount"], len(out[-1][1]["Entries"]))
        call(events.describe_rule, Name="no-such-rule")
        ses = boto3.client("ses", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
        call(ses.verify_email_identity, EmailAddress=f"{tag}@direct.example")
        sent = call(ses.send_email, Source=f"{tag}@direct.example", Destination={"ToAddresses": ["to@direct.example"]},
                    Message={"Subject": {"Data": f"direct {tag}"}, "Body": {"Text": {"Data": "hello"}}})
        out[-1] = ("ok", sorted(sent))
        call(ses.send_email, Source="nobody@unverified.example", Destination={"ToAddresses": ["to@direct.example"]},
             Message={"Subject": {"Data": "no"}, "Body": {"Text": {"Data": "no"}}})
        return out

    served = []
    app = emu.TRANSPORT.app

    class Counting:
        _lock = app._lock

        def __call__(self, environ, start):
            served.append(environ.get("HTTP_X_AMZ_TARGET"))
            return app(environ, start)

    monkeypatch.setattr(emu.TRANSPORT, "app", Counting())
    direct = play("a")
    assert served == []  # not one call through moto's app
    monkeypatch.setattr(emu, "_direct_handler", lambda *args: None)
    through_app = play("b")
    assert any(t and t.startswith("DynamoDBStreams_") for t in served)  # the second run really went through Flask
    assert repr(direct).replace("direct-a", "direct-?") == repr(through_app).replace("direct-b", "direct-?")
    assert ("error", "ConditionalCheckFailedException", 400) in direct
    assert ("error", "TransactionCanceledException", 400) in direct
    assert ("error", "ResourceNotFoundException", 400) in direct
    assert ("error", "MessageRejected", 400) in direct  # SES: the unverified sender
    assert [m["subject"] for m in emu.sent_emails() if m["subject"].startswith("direct ")] == ["direct a", "direct b"]


def test_dynamodb_item_answers_parsed_as_botocore_parses_them(emulator, monkeypatch):
    """fast_item_answers: DynamoDB's item answers without a binary value or a null are json.loads'ed
    alone; every answer (items of every kind of value, pages, consumed capacity, a binary value,
    missing items, unprocessed keys, returned old and new images) equals botocore's own parse."""
    from botocore import parsers

    ddb = client(emulator)
    table = indexed_table(ddb, "emulator-answers")
    rich = {"m": {"M": {"s": {"S": "é"}, "n": {"N": "1.50"}, "l": {"L": [{"BOOL": False}, {"NULL": True}]}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "t": {"BOOL": True}, "z": {"NULL": True},
            "text": {"S": 'plain "quoted" text'}}

    def play(tag: str) -> list:
        out = []
        for i in range(6):
            out.append(ddb.put_item(TableName=table, Item={"pk": {"S": f"{tag}"}, "sk": {"S": f"{i}"}, **rich,
                                                           "g": {"S": f"{tag}-g"}, "gs": {"S": f"{i}"}},
                                    ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL"))
        out.append(ddb.put_item(TableName=table, Item={"pk": {"S": f"{tag}"}, "sk": {"S": "0"}, "n": {"N": "3"}},
                                ReturnValues="ALL_OLD"))
        out.append(ddb.put_item(TableName=table, Item={"pk": {"S": f"{tag}"}, "sk": {"S": "bin"},
                                                       "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x01"]}}))
        out.append(ddb.put_item(TableName=table, Item={"pk": {"S": f"{tag}"}, "sk": {"S": "tricky"},
                                                       "text": {"S": 'a "B": null in a string'}}))
        out.append(ddb.get_item(TableName=table, Key={"pk": {"S": f"{tag}"}, "sk": {"S": "tricky"}}))
        out.append(ddb.get_item(TableName=table, Key={"pk": {"S": f"{tag}"}, "sk": {"S": "1"}}, ConsistentRead=True,
                                ReturnConsumedCapacity="INDEXES"))
        out.append(ddb.get_item(TableName=table, Key={"pk": {"S": f"{tag}"}, "sk": {"S": "bin"}}))
        out.append(ddb.get_item(TableName=table, Key={"pk": {"S": f"{tag}"}, "sk": {"S": "missing"}}))
        out.append(ddb.query(TableName=table, KeyConditionExpression="pk = :p", Limit=3,
                             ExpressionAttributeValues={":p": {"S": f"{tag}"}}))
        out.append(ddb.query(TableName=table, IndexName="gsi1", KeyConditionExpression="g = :g",
                             ExpressionAttributeValues={":g": {"S": f"{tag}-g"}}, ReturnConsumedCapacity="TOTAL"))
        out.append(ddb.update_item(TableName=table, Key={"pk": {"S": f"{tag}"}, "sk": {"S": "2"}},
                                   UpdateExpression="SET t = :f REMOVE z", ExpressionAttributeValues={":f": {"BOOL": False}},
                                   ReturnValues="ALL_NEW"))
        out.append(ddb.delete_item(TableName=table, Key={"pk": {"S": f"{tag}"}, "sk": {"S": "3"}}, ReturnValues="ALL_OLD"))
        out.append(ddb.batch_get_item(RequestItems={table: {"Keys": [
            {"pk": {"S": f"{tag}"}, "sk": {"S": s}} for s in ("0", "1", "bin", "missing")], "ConsistentRead": True}}))
        out.append(ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {
            "pk": {"S": f"{tag}"}, "sk": {"S": "9"}}}}], ReturnConsumedCapacity="TOTAL"))
        out.append(ddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": {
            "pk": {"S": f"{tag}"}, "sk": {"S": s}}}} for s in ("1", "9")]))
        out.append(ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {
            "pk": {"S": f"{tag}"}, "sk": {"S": "w"}}}}]}))
        for answer in out:
            answer.pop("ResponseMetadata", None)
        return out

    fast = parsers.JSONParser._handle_json_body
    assert fast.caspr_fast
    walked = []  # the answers botocore walked along their output shape
    walk = parsers.JSONParser._parse_shape

    def counting(self, shape, node):
        if shape.name.endswith("Output"):
            walked.append(shape.name)
        return walk(self, shape, node)

    monkeypatch.setattr(parsers.JSONParser, "_parse_shape", counting)
    mine = play("x")
    monkeypatch.setattr(parsers.JSONParser, "_parse_shape", walk)
    monkeypatch.setattr(parsers.JSONParser, "_handle_json_body", fast.botocore_handle_json_body)
    theirs = play("y")
    assert repr(mine).replace("'x", "'?") == repr(theirs).replace("'y", "'?")
    assert mine[9]["Item"]["text"] == {"S": 'a "B": null in a string'} and mine[10]["Item"]["m"]["M"]["n"] == {"N": "1.50"}
    assert mine[11]["Item"]["b"] == {"B": b"\x00\xff"} and mine[11]["Item"]["bs"] == {"BS": [b"\x01"]}
    assert "Item" not in mine[12] and mine[13]["LastEvaluatedKey"] and len(mine[13]["Items"]) == 3
    # the answers with a binary value or what looks like one were walked, the plain ones were not
    assert walked.count("GetItemOutput") == 2 and "BatchGetItemOutput" in walked and "QueryOutput" not in walked
    ddb.delete_table(TableName=table)
