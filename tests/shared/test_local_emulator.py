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
