"""caspr_local.emulator.EmulatorProcess: moto in a process of its own (the season simulator's
stack, `make run DEMO=large`), this process's calls answered over a connection, the same answers."""

from __future__ import annotations

import os

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from caspr_local.emulator import TRANSPORT, EmulatorProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def remote():
    before = (TRANSPORT.app, TRANSPORT.prefix)
    emu = EmulatorProcess().start()
    try:
        yield emu
    finally:
        emu.stop()
        if before[0] is not None:
            TRANSPORT.attach(before[0], before[1])


def client(emu, service: str):
    return boto3.client(service, endpoint_url=emu.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")


def test_calls_cross_to_the_emulator_process_and_errors_come_back_as_moto_gives_them(remote):
    assert TRANSPORT.app is remote
    ddb = client(remote, "dynamodb")
    ddb.create_table(TableName="remote", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.put_item(TableName="remote", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName="remote", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert ddb.get_item(TableName="remote", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    # the table lives over there: this process's moto knows nothing of it
    from moto.dynamodb.models import dynamodb_backends

    assert not any("remote" in b.tables for acc in dynamodb_backends.values() for b in acc.values())
    assert remote.cpu_seconds() > 0


def test_its_port_serves_other_clients_and_its_sent_emails_are_read_back(remote):
    s3 = client(remote, "s3")
    s3.create_bucket(Bucket="remote-docs")
    s3.put_object(Bucket="remote-docs", Key="k.pdf", Body=b"%PDF-1.4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "remote-docs", "Key": "k.pdf"})
    assert requests.get(url, timeout=10).content == b"%PDF-1.4"  # over HTTP, as a browser gets it
    ses = client(remote, "ses")
    ses.verify_email_identity(EmailAddress="caspr@example.org")
    ses.send_email(Source="caspr@example.org", Destination={"ToAddresses": ["someone@example.org"]},
                   Message={"Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "from over there"}}})
    sent = [m for m in remote.sent_emails() if m["subject"] == "hello"]
    assert [(m["to"], m["body"]) for m in sent] == [(["someone@example.org"], "from over there")]


def test_stopping_ends_the_process():
    before = (TRANSPORT.app, TRANSPORT.prefix)
    emu = EmulatorProcess().start()
    pid = emu._proc.pid
    emu.stop()
    if before[0] is not None:
        TRANSPORT.attach(before[0], before[1])
    assert emu._proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_calls_of_many_threads_at_once_each_get_their_own_answer_and_stay_atomic(remote):
    """Calls are pipelined (several written before the first is answered): each thread must get
    the reply to its own call, and the emulator still answers one call at a time."""
    from concurrent.futures import ThreadPoolExecutor

    ddb = client(remote, "dynamodb")
    ddb.create_table(TableName="pipelined", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])

    def work(i: int) -> list[tuple[str, str]]:
        seen = []
        for j in range(15):
            key = f"t{i}-{j}"
            ddb.put_item(TableName="pipelined", Item={"pk": {"S": key}, "v": {"S": f"{i}:{j}"}})
            got = ddb.get_item(TableName="pipelined", Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]
            seen.append((got["pk"]["S"], got["v"]["S"]))
            ddb.update_item(TableName="pipelined", Key={"pk": {"S": "counter"}},
                            UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
        return seen

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(work, range(12)))
    for i, seen in enumerate(results):
        assert seen == [(f"t{i}-{j}", f"{i}:{j}") for j in range(15)]
    counter = ddb.get_item(TableName="pipelined", Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
    assert counter["n"] == {"N": str(12 * 15)}  # no increment lost: each call atomic over there


def test_a_call_to_an_emulator_process_that_died_fails_instead_of_hanging():
    before = (TRANSPORT.app, TRANSPORT.prefix)
    emu = EmulatorProcess().start()
    try:
        emu._proc.kill()
        emu._proc.wait(timeout=10)
        with pytest.raises(RuntimeError, match="emulator process"):
            emu.call("cpu_seconds")
    finally:
        emu.stop()
        if before[0] is not None:
            TRANSPORT.attach(before[0], before[1])
