"""powertools Logger (with correlation id), Tracer and Metrics, wired once per app as
Chalice middleware (DESIGN rule 8)."""

from __future__ import annotations

import os
import uuid

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice import Chalice

from shared.web import chalice_error_as_problem


def tracing_enabled() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and \
        os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in ("1", "true")


def install(app: Chalice, service: str):
    logger = Logger(service=service)
    tracer = None
    if tracing_enabled():  # X-Ray's SDK costs ~280 ms of import: only where it records anything
        from aws_lambda_powertools import Tracer

        tracer = Tracer(service=service)  # patches boto3/botocore: every AWS call is a subsegment
    metrics = Metrics(namespace="CASPR", service=service)
    # powertools keeps buffering while metrics are disabled and prints the buffer when it
    # reaches 100 metrics: locally and in tests they are not recorded at all
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    recording = not is_metrics_disabled()

    @app.middleware("http")
    def observe_http(event, get_response):
        headers = event.headers or {}
        context = getattr(event, "context", None) or {}
        correlation_id = headers.get("x-request-id") or context.get("requestId") or str(uuid.uuid4())
        logger.set_correlation_id(correlation_id)
        response = chalice_error_as_problem(get_response(event))  # 405/415 as problem+json too
        response.headers["X-Request-Id"] = correlation_id
        logger.debug("request", extra={"method": event.method, "path": event.path,
                                       "status": response.status_code})
        if recording:
            metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
            if response.status_code >= 500:
                metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
            metrics.flush_metrics(raise_on_empty_metrics=False)
        return response

    @app.middleware("all")
    def observe_events(event, get_response):
        logger.set_correlation_id(str(uuid.uuid4()))
        return get_response(event)

    return logger, tracer, metrics
