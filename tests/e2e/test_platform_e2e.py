"""The platform as a whole, over HTTP against the running local stack: every service is
up and wired to its table and queue, one valid OpenAPI document with local Swagger UI,
the controlled clock, a calendar instant reaching every service through the bus, and
problem+json for what does not exist (DESIGN: the local stack, API conventions)."""

from __future__ import annotations

import http.client
import importlib
import json
import time
import uuid
from datetime import timedelta, timezone
from urllib.parse import urlsplit

import pytest
import requests

from shared.clock import iso, parse_instant
from shared.settings import SERVICES

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"


def assert_problem(r: requests.Response, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith(PROBLEM), r.headers["Content-Type"]
    body = r.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


# --- health -------------------------------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_platform_every_service_is_healthy_with_its_table_and_queue(stack, service):
    r = requests.get(f"{stack.url}/{service}/health", timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok", body
    assert body["service"] == service
    assert body["table"] == f"caspr-local-{service}" and body["table_status"] == "ACTIVE"
    assert body["queue"] == f"caspr-local-{service}-events" and body["queue_status"] == "OK"
    assert r.headers.get("X-Request-Id"), "observability middleware sets a correlation id"


def test_platform_request_id_is_propagated(stack):
    rid = f"req-{uuid.uuid4().hex}"
    r = requests.get(f"{stack.url}/scores/health", headers={"X-Request-Id": rid}, timeout=30)
    assert r.headers["X-Request-Id"] == rid


# --- OpenAPI and docs ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def openapi(stack):
    r = requests.get(f"{stack.url}/openapi.json", timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def test_platform_openapi_is_a_valid_openapi_3_document(openapi):
    from openapi_spec_validator import validate

    validate(openapi)  # raises on any violation of the OpenAPI 3.1 schema
    assert openapi["openapi"].startswith("3.")
    assert openapi["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_platform_openapi_lists_auth_and_registration(openapi):
    paths = openapi["paths"]
    assert {"post"} <= set(paths["/auth/accounts"]) and {"post"} <= set(paths["/auth/token"])
    for service in SERVICES:
        assert "get" in paths[f"/{service}/health"], service
    expected = {
        "/registration/applicants": {"post", "get"},
        "/registration/applicants/{applicant_id}": {"get", "patch"},
        "/registration/applicants/{applicant_id}/payments": {"post"},
        "/registration/applicants/{applicant_id}/credits": {"post"},
        "/registration/programs": {"get", "post"},
        "/registration/programs/{program_code}": {"get", "patch"},
        "/registration/seasons/{season}": {"put", "get"},
    }
    missing = {p: sorted(m - set(paths.get(p, {}))) for p, m in expected.items() if m - set(paths.get(p, {}))}
    assert not missing, f"registration operations missing from /openapi.json: {missing}"


def test_platform_openapi_operations_declare_problem_responses_and_idempotency(openapi):
    problem_ref = "#/components/schemas/Problem"
    for path, item in openapi["paths"].items():
        for method, op in item.items():
            assert op.get("operationId") and op.get("summary"), (method, path)
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/problem+json"]["schema"]
                    assert schema == {"$ref": problem_ref}, (method, path, status)
            if op.get("security"):
                assert "401" in op["responses"], (method, path)
    for path in ("/registration/applicants/{applicant_id}/payments", "/registration/applicants/{applicant_id}/credits"):
        params = openapi["paths"][path]["post"].get("parameters", [])
        key = [p for p in params if p["name"] == "Idempotency-Key" and p["in"] == "header"]
        assert key and key[0]["required"], f"{path} must declare the Idempotency-Key header"


def test_platform_docs_serve_swagger_ui_from_local_assets(stack):
    r = requests.get(f"{stack.url}/docs", timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "/openapi.json" in r.text
    assert "https://" not in r.text, "the docs page must not load anything from the internet"
    for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css")):
        assert f"/docs/static/{asset}" in r.text
        a = requests.get(f"{stack.url}/docs/static/{asset}", timeout=30)
        assert a.status_code == 200, asset
        assert kind in a.headers["Content-Type"], a.headers["Content-Type"]
        assert len(a.content) > 10_000, asset
    assert requests.get(f"{stack.url}/docs/", timeout=30).status_code == 200


# --- the local clock ----------------------------------------------------------------------
def test_platform_clock_moves_forward_and_refuses_backwards(stack):
    now = stack.now()
    later = now + timedelta(minutes=1)
    r = requests.post(f"{stack.url}/_local/clock", json={"now": iso(later)}, timeout=120)
    assert r.status_code == 200, r.text
    assert parse_instant(r.json()["now"]) == later
    assert "fired" in r.json()
    assert stack.now() == later

    # the same instant written with another offset is not a move backwards
    eastern = later.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert eastern.endswith("-05:00")
    r = requests.post(f"{stack.url}/_local/clock", json={"now": eastern}, timeout=120)
    assert r.status_code == 200, r.text
    assert parse_instant(r.json()["now"]) == later

    body = assert_problem(requests.post(f"{stack.url}/_local/clock", json={"now": iso(later - timedelta(days=1))},
                                        timeout=30), 409)
    assert "forward" in body["detail"]
    assert stack.now() == later  # unchanged


@pytest.mark.parametrize("payload", [
    {}, {"now": "yesterday"}, {"now": "2024-01-01T00:00:00"}, {"now": 12}, {"when": "2030-01-01T00:00:00Z"},
    [], "not json",
], ids=["empty", "words", "no-offset", "number", "wrong-key", "array", "not-json"])
def test_platform_clock_bad_body_is_422(stack, payload):
    before = stack.now()
    data = payload if isinstance(payload, str) else json.dumps(payload)
    r = requests.post(f"{stack.url}/_local/clock", data=data, headers={"Content-Type": "application/json"}, timeout=30)
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "now"
    assert stack.now() == before


# --- a calendar instant reaches every service --------------------------------------------------
def test_platform_season_deadline_event_reaches_every_service(stack):
    season, calendar = stack.new_season()
    moved = stack.at(calendar, "registration_recommended_by")
    assert parse_instant(moved["now"]) > parse_instant(calendar["registration_recommended_by"])
    expected = {"registration_opens": parse_instant(calendar["registration_opens"]),
                "registration_recommended_by": parse_instant(calendar["registration_recommended_by"])}
    missing = {}
    deadline = time.monotonic() + 30
    while True:
        missing = {}
        for service in SERVICES:
            seen = importlib.import_module(f"{service}.bootstrap").container().deadlines.seen(season)
            lacking = {k for k, at in expected.items() if seen.get(k) != at}
            if lacking:
                missing[service] = sorted(lacking)
            # instants still ahead have not fired
            assert "registration_final" not in seen, (service, seen)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not missing, f"services that never heard the season's deadlines: {missing}"


# --- what does not exist ------------------------------------------------------------------
@pytest.mark.parametrize("method, path", [
    ("GET", "/registration/no-such-thing"),
    ("GET", "/scores/no/such/route"),
    ("POST", "/match/nothing-here"),
    ("GET", "/nowhere/at/all"),
    ("GET", "/no-such-page.html"),
    ("GET", "/_local/nothing"),
    ("GET", "/docs/static/no-such-asset.js"),
])
def test_platform_unknown_route_is_404_problem(stack, method, path):
    assert_problem(requests.request(method, stack.url + path, timeout=30), 404)


def test_platform_unknown_applicant_is_404_problem(stack):
    r = stack.admin.get(f"{stack.url}/registration/applicants/{uuid.uuid4()}", timeout=30)
    assert_problem(r, 404)


def test_platform_unsupported_method_is_405_problem(stack):
    body = assert_problem(requests.delete(f"{stack.url}/registration/programs", timeout=30), 405)
    assert "GET" in body["detail"] and "POST" in body["detail"]


def test_platform_body_that_is_not_json_is_415_problem(stack):
    r = requests.post(f"{stack.url}/auth/token", data="email=a&password=b",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert "application/json" in assert_problem(r, 415)["detail"]


def test_platform_trace_method_is_405_problem(stack):
    assert_problem(requests.request("TRACE", f"{stack.url}/registration/programs", timeout=30), 405)


@pytest.mark.parametrize("raw_path", [
    "/../pyproject.toml", "/%2e%2e/pyproject.toml", "/..%2fpyproject.toml",
    "/docs/static/../../../../pyproject.toml", "/docs/static/..%2f..%2f..%2fpyproject.toml",
])
def test_platform_static_files_never_leave_their_folder(stack, raw_path):
    parts = urlsplit(stack.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", raw_path)  # sent as is: no client-side normalization of ../
    r = conn.getresponse()
    body = r.read().decode(errors="replace")
    conn.close()
    assert r.status == 404, (raw_path, r.status)
    assert "[project]" not in body


def test_platform_unknown_method_is_problem_json(stack):
    assert_problem(requests.request("FROB", f"{stack.url}/registration/programs", timeout=30), 501)

