"""powertools Logger (with correlation id), Tracer and Metrics, wired once per app as
Chalice middleware (DESIGN rule 8)."""

from __future__ import annotations

import uuid

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from chalice import Chalice

from shared.web import chalice_error_as_problem


def install(app: Chalice, service: str) -> tuple[Logger, Tracer, Metrics]:
    logger = Logger(service=service)
    tracer = Tracer(service=service)
    metrics = Metrics(namespace="CASPR", service=service)

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
