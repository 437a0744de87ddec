"""`caspr-ops dlq list|redrive SERVICE` against the emulator (moto): a dead letter is listed
without being taken away, then redriven to the service's queue, leaving the DLQ empty."""

from __future__ import annotations

import json
import uuid

import pytest

from caspr_ops import cli, dlq

pytestmark = pytest.mark.integration


def _event(event_id: str) -> str:
    return json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "ApplicantRegistered.v1",
                       "source": "caspr.registration", "time": "2024-01-01T00:00:00Z",
                       "detail": {"event_id": event_id, "applicant_id": "a-1"}})


@pytest.fixture
def queues(aws):
    import boto3

    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="caspr-local-registration-events-dlq")["QueueUrl"]
    queue_url = sqs.get_queue_url(QueueName="caspr-local-registration-events")["QueueUrl"]
    relay_url = sqs.get_queue_url(QueueName="caspr-local-registration-relay-dlq")["QueueUrl"]
    return sqs, queue_url, dlq_url, relay_url


def _run(sqs, *argv: str) -> list[str]:
    lines: list[str] = []
    assert cli.main(["--stage", "local", *argv], sqs=sqs, out=lines.append) == 0
    return lines


def _bodies(sqs, url: str) -> list[str]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [m["Body"] for m in got]


def test_dlq_list_shows_each_dead_letter_then_redrive_moves_it_back(queues):
    sqs, queue_url, dlq_url, relay_url = queues
    body = _event("evt-123")
    sqs.send_message(QueueUrl=dlq_url, MessageBody=body)
    sqs.send_message(QueueUrl=relay_url, MessageBody=json.dumps({
        "DDBStreamBatchInfo": {"shardId": "shard-1", "startSequenceNumber": "42", "batchSize": 3},
        "condition": "RetryAttemptsExhausted"}))

    listed = "\n".join(_run(sqs, "dlq", "list", "registration"))
    assert "caspr-local-registration-events-dlq: 1 message(s)" in listed
    assert "ApplicantRegistered.v1" in listed and "evt-123" in listed
    assert "caspr-local-registration-relay-dlq: 1 message(s)" in listed
    assert "(relay batch)" in listed and "shard shard-1 from 42, 3 record(s)" in listed
    # listing takes nothing away, and a second listing sees the message again (one more receive)
    again = "\n".join(_run(sqs, "dlq", "list", "registration"))
    assert "events-dlq: 1 message(s)" in again and "evt-123" in again
    assert dlq.count(sqs, dlq_url) == 1

    printed = _run(sqs, "dlq", "redrive", "registration")
    assert printed[0].startswith("redrove 1 message(s) from caspr-local-registration-events-dlq to "
                                 "caspr-local-registration-events")
    assert "relay-dlq holds 1 batch(es)" in printed[1]
    assert dlq.count(sqs, dlq_url) == 0
    assert _bodies(sqs, dlq_url) == []
    assert _bodies(sqs, queue_url) == [body]


def test_dlq_redrive_moves_more_than_one_batch(queues):
    sqs, queue_url, dlq_url, _ = queues
    for i in range(23):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=_event(f"evt-{i}"))
    assert _run(sqs, "dlq", "redrive", "registration")[0].startswith("redrove 23 message(s)")
    assert dlq.count(sqs, dlq_url) == 0 and dlq.count(sqs, queue_url) == 23


def test_describe_reads_the_event_id_else_the_envelope_id():
    envelope = {"id": "env-1", "detail-type": "X.v1", "detail": {}}
    message = {"MessageId": "m", "Body": json.dumps(envelope),
               "Attributes": {"ApproximateReceiveCount": "5", "SentTimestamp": "1000000"}}
    d = dlq.describe(message, now=1000 + 3700)
    assert (d["detail_type"], d["event_id"], d["receive_count"], d["age_seconds"]) == ("X.v1", "env-1", 5, 3700)
    assert dlq._age(3700) == "1h1m" and dlq._age(42) == "42s" and dlq._age(2 * 86400 + 7200) == "2d2h"


def test_an_unknown_stage_is_a_clear_error(queues, capsys):
    sqs = queues[0]
    assert cli.main(["--stage", "nowhere", "dlq", "list", "registration"], sqs=sqs, out=print) == 2
    assert "caspr-nowhere-registration-events not found" in capsys.readouterr().err


def test_local_finds_the_emulator_of_the_local_stack_through_its_gateway():
    import threading
    from types import SimpleNamespace

    from caspr_local.host import GatewayHandler, GatewayServer

    stack = SimpleNamespace(emulator=SimpleNamespace(endpoint_url="http://127.0.0.1:4567"), stage="local", apps={})
    server = GatewayServer(("127.0.0.1", 0), type("Handler", (GatewayHandler,), {"stack": stack}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gateway = f"http://127.0.0.1:{server.server_address[1]}"
        assert cli.local_endpoint(gateway) == ("http://127.0.0.1:4567", "local")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(dlq.OpsError, match="is `make run` running"):
        cli.local_endpoint(gateway)
