"""Health: proves a service reaches its own table and queue."""

from __future__ import annotations

import boto3

from shared.settings import Settings


def check(service: str, settings: Settings | None = None) -> dict:
    settings = settings or Settings.from_env()
    table = settings.table_name(service)
    queue = settings.queue_name(service)
    status = {"service": service, "table": table, "queue": queue}
    try:
        status["table_status"] = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["TableStatus"]
        boto3.client("sqs").get_queue_url(QueueName=queue)
        status["queue_status"] = "OK"
        status["status"] = "ok"
    except Exception as exc:  # reported, not raised: this is what health is for
        status["status"] = "degraded"
        status["error"] = type(exc).__name__
    return status
