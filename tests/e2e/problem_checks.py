"""The schemathesis checks every API's property tests use (one registration: schemathesis
refuses a check name registered twice): never a 5xx, and every refusal RFC 9457 problem+json."""

from __future__ import annotations

import json

import schemathesis
from schemathesis.checks import not_a_server_error

PROBLEM = "application/problem+json"


@schemathesis.check
def refusals_are_problem_json(ctx, response, case):
    """Every 4xx/5xx is application/problem+json with type, title, status and detail."""
    if response.status_code < 400:
        return None
    ctype = ";".join(response.headers.get("content-type", [""])).split(";")[0].strip()
    if ctype != PROBLEM:
        raise AssertionError(f"{response.status_code} with Content-Type {ctype!r}, expected {PROBLEM}")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} problem body is not JSON: {response.content[:200]!r}") from exc
    missing = [k for k in ("type", "title", "status", "detail") if k not in body]
    if missing:
        raise AssertionError(f"problem+json without {missing}: {body}")
    if body["status"] != response.status_code:
        raise AssertionError(f"problem status {body['status']} != HTTP {response.status_code}")
    for error in body.get("errors", []):
        if set(error) != {"field", "message"}:
            raise AssertionError(f"field error must be {{field, message}}: {error}")
    return None


CHECKS = [not_a_server_error, refusals_are_problem_json]
