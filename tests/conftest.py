"""Fixtures every test may use.

- `aws`: an in-process moto (mock_aws) with every service's table, queue, bus and rule
  created from infra's template: for integration tests (mark them `integration`).
- e2e fixtures (the running local stack) live in tests/e2e/conftest.py.
"""

from __future__ import annotations

import os
import threading

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("CASPR_STAGE", "local")
# botocore sends DynamoDB Streams calls to <account>.streams-ddb.<region>.amazonaws.com when
# an ARN names the account; moto's in-process mock knows only the regional endpoint
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")


_MOTO_LOCK = threading.RLock()

@pytest.fixture
def aws(monkeypatch):
    """In-process AWS (moto) with the shared stack's tables, queues, bus and rules."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from moto import mock_aws

    from caspr_local.emulator import patch_moto

    patch_moto()  # as on the local stack: stream records only for committed outbox items
    # each request atomic, as on DynamoDB and on the local stack (one lock around its emulator):
    # moto alone is not thread-safe (a Query iterating a table while another thread's write adds
    # an item raised "dictionary changed size during iteration" in a race test)
    from moto.core.botocore_stubber import BotocoreStubber

    real_process = BotocoreStubber.process_request

    def atomic(self, request):
        with _MOTO_LOCK:
            return real_process(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomic)
    with mock_aws():
        import boto3

        from infra.stack import build_shared_template
        from shared.settings import SERVICES, resource_name

        template = build_shared_template("local")
        ddb = boto3.client("dynamodb")
        for service in SERVICES:
            props = dict(template["Resources"][f"{service.capitalize()}Table"]["Properties"])
            props.pop("TimeToLiveSpecification", None)
            props.pop("PointInTimeRecoverySpecification", None)
            props["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
            ddb.create_table(**props)
        events = boto3.client("events")
        events.create_event_bus(Name=resource_name("local", "bus"))
        sqs = boto3.client("sqs")
        for service in SERVICES:
            sqs.create_queue(QueueName=resource_name("local", service, "events"))
            sqs.create_queue(QueueName=resource_name("local", service, "relay-dlq"))
        boto3.client("ses").verify_email_identity(EmailAddress="no-reply@caspr.example")
        boto3.client("scheduler").create_schedule_group(Name=resource_name("local", "calendar"))
        yield
