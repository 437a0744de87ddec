"""shared.web.ApiBlueprint through a small Chalice app and chalice.test.Client: the one
edge that parses, authenticates, authorizes and turns every refusal into RFC 9457
problem+json (DESIGN: API conventions)."""

from __future__ import annotations

import json

import pytest
from chalice import Chalice
from chalice.test import Client
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.errors import (
    Conflict,
    FieldError,
    NotFound,
    PaymentDeclined,
    RuleViolation,
    TemporarilyUnavailable,
    TooManyRequests,
    ValidationFailed,
)
from shared.web import PROBLEM_JSON, PUBLIC, ApiBlueprint
from tests.fakes import FakeVerifier

PACKAGE = "caspr_web_edge_test"




PRINCIPALS = {
    "admin": Principal("admin-sub", "admin@test", "admin", frozenset({"admin"})),
    "applicant": Principal("applicant-sub", "applicant@test", "applicant"),
    "program": Principal("program-sub", "program@test", "program", frozenset({"program", "program-123"})),
}


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_cents: int = Field(gt=0)
    card_number: str = Field(pattern=r"^\d{16}$")


class PaymentOut(BaseModel):
    payment_id: str
    amount_cents: int


class SearchQuery(BaseModel):
    state: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    limit: int = 10


ERRORS = {
    "rule": RuleViolation("registration closed on 2024-02-15", rule="R6"),
    "conflict": Conflict("already registered this season", rule="R5"),
    "declined": PaymentDeclined("the card was declined"),
    "notfound": NotFound("no applicant abc"),
    "throttled": TooManyRequests("slow down"),
    "retry": TemporarilyUnavailable("the bank did not answer"),
    "fields": ValidationFailed("bad", errors=[FieldError("cms_id", "expected PRO-2T8P48F5H")]),
}


@pytest.fixture(scope="module")
def client():
    bp = ApiBlueprint(PACKAGE, tag="test", verifier=lambda: FakeVerifier(PRINCIPALS))
    calls = []

    @bp.endpoint("/payments", "POST", summary="pay", body=PaymentIn, response=PaymentOut, status=201,
                 roles=("applicant",), idempotency_key=True)
    def pay(body: PaymentIn, principal: Principal, idempotency_key: str):
        calls.append((principal.sub, idempotency_key))
        return {"payment_id": f"pay-{idempotency_key}", "amount_cents": body.amount_cents, "extra": "dropped"}

    @bp.endpoint("/optional-key", "POST", summary="key optional", body=PaymentIn, roles=PUBLIC)
    def optional_key(body: PaymentIn, idempotency_key: str | None):
        return {"key": idempotency_key}

    @bp.endpoint("/programs", "GET", summary="search", query=SearchQuery, roles=PUBLIC)
    def search(query: SearchQuery):
        return {"state": query.state, "limit": query.limit}

    @bp.endpoint("/admin-only", "GET", summary="admin", roles=("admin",))
    def admin_only(principal: Principal):
        return {"sub": principal.sub}

    @bp.endpoint("/whoami", "GET", summary="any signed-in role")
    def whoami(principal: Principal):
        return {"role": principal.role}

    @bp.endpoint("/maybe", "GET", summary="public, principal optional", roles=PUBLIC)
    def maybe(principal: Principal | None):
        return {"role": principal.role if principal else None}

    @bp.endpoint("/fail/{kind}", "GET", summary="raises", roles=PUBLIC)
    def fail(kind: str):
        if kind in ERRORS:
            raise ERRORS[kind]
        raise RuntimeError("secret internal detail: password=hunter2")

    app = Chalice(app_name="web-edge-test")
    app.register_blueprint(bp)
    with Client(app) as c:
        c.calls = calls
        yield c
    ApiBlueprint.all.pop(PACKAGE, None)  # keep the OpenAPI registry to the real services


def post(client, path, body, token=None, key=None, raw=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    data = raw if raw is not None else json.dumps(body)
    return client.http.post(path, headers=headers, body=data)


def get(client, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.http.get(path, headers=headers)


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == PROBLEM_JSON
    body = json.loads(response.body)
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


GOOD = {"amount_cents": 55000, "card_number": "4242424242424242"}


def test_valid_request_is_parsed_and_serialized_with_the_response_model(client):
    r = post(client, "/payments", GOOD, token="applicant", key="k-1")
    assert r.status_code == 201
    assert r.headers["Content-Type"] == "application/json"
    assert json.loads(r.body) == {"payment_id": "pay-k-1", "amount_cents": 55000}  # "extra" dropped
    assert client.calls[-1] == ("applicant-sub", "k-1")


def test_invalid_body_fields_are_422_with_field_errors(client):
    body = problem(post(client, "/payments", {"amount_cents": -5, "card_number": "42"}, "applicant", "k"), 422)
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert set(fields) == {"amount_cents", "card_number"}
    assert "greater than 0" in fields["amount_cents"]
    assert all(set(e) == {"field", "message"} for e in body["errors"])


def test_missing_and_unknown_fields_are_named(client):
    body = problem(post(client, "/payments", {"card_number": "4242424242424242", "x": 1}, "applicant", "k"),
                   422)
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields["amount_cents"] == "is required"
    assert "x" in fields


@pytest.mark.parametrize("raw", ["{not json", "", "\xff\xfe"])
def test_invalid_or_missing_json_is_422(client, raw):
    body = problem(post(client, "/payments", None, "applicant", "k", raw=raw), 422)
    assert body["errors"][0]["field"] == "body"


def test_a_json_array_body_is_422_not_500(client):
    body = problem(post(client, "/payments", [1, 2], "applicant", "k"), 422)
    assert body["errors"]


def test_a_body_nested_too_deeply_to_parse_is_422_not_500(client):
    raw = '{"amount_cents": ' + "[" * 5000 + "]" * 5000 + "}"
    body = problem(post(client, "/payments", None, "applicant", "k", raw=raw), 422)
    assert body["errors"][0]["field"] == "body" and "nested" in body["detail"]


def test_a_refusal_stays_small_whatever_was_sent():
    """100,000 bad entries must not come back as a 10 MB problem (API Gateway answers at most
    6 MB): the first 20 errors, their total, and clipped texts."""
    from shared.errors import MAX_ERRORS, FieldError, ValidationFailed

    long_message = "unknown track " + "9" * 100_000  # one string for all (100,000 copies would be 10 GB)
    errors = [FieldError(f"tracks[{i}]", long_message) for i in range(100_000)]
    out = ValidationFailed("bad: " + ", ".join("9999" for _ in range(100_000)), errors=errors).to_problem()
    assert len(out["errors"]) == MAX_ERRORS and out["errors_total"] == 100_000
    assert out["errors"][3]["field"] == "tracks[3]" and out["errors"][0]["message"].endswith("…")
    assert len(json.dumps(out)) < 10_000 and out["detail"].startswith("bad: 9999, 9999")
    few = ValidationFailed("bad", errors=errors[:2]).to_problem()
    assert "errors_total" not in few and len(few["errors"]) == 2


def test_missing_idempotency_key_when_required_is_422(client):
    body = problem(post(client, "/payments", GOOD, "applicant"), 422)
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in body["detail"]


def test_overlong_idempotency_key_is_422(client):
    body = problem(post(client, "/payments", GOOD, "applicant", key="k" * 129), 422)
    assert body["errors"][0]["field"] == "Idempotency-Key"


def test_optional_idempotency_key_may_be_absent(client):
    r = post(client, "/optional-key", GOOD)
    assert r.status_code == 200 and json.loads(r.body) == {"key": None}
    r = post(client, "/optional-key", GOOD, key="abc")
    assert json.loads(r.body) == {"key": "abc"}


def test_query_parameters_are_validated(client):
    r = get(client, "/programs?state=TX&limit=3")
    assert json.loads(r.body) == {"state": "TX", "limit": 3}
    body = problem(get(client, "/programs?state=texas&limit=many"), 422)
    assert {e["field"] for e in body["errors"]} == {"state", "limit"}


@pytest.mark.parametrize("kind, status, rule", [
    ("rule", 422, "R6"), ("conflict", 409, "R5"), ("declined", 402, None), ("notfound", 404, None),
    ("throttled", 429, None), ("retry", 503, None), ("fields", 422, None),
])
def test_domain_errors_map_to_their_status_and_problem_type(client, kind, status, rule):
    r = get(client, f"/fail/{kind}")
    body = problem(r, status)
    exc = ERRORS[kind]
    assert body["detail"] == exc.detail
    assert body["title"] == exc.title
    if rule:
        assert body["rule"] == rule
        assert body["type"].endswith(f"/{rule}")
    else:
        assert "rule" not in body
        assert body["type"].endswith(f"/{exc.slug}")
    if status in (429, 503):
        assert r.headers["Retry-After"] == "1"
    if kind == "fields":
        assert body["errors"] == [{"field": "cms_id", "message": "expected PRO-2T8P48F5H"}]


def test_unexpected_exception_is_a_500_problem_without_internals(client):
    body = problem(get(client, "/fail/boom"), 500)
    text = json.dumps(body)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert "reference" in body["detail"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}])
def test_missing_bearer_is_401(client, headers):
    body = problem(client.http.get("/whoami", headers=headers), 401)
    assert "Bearer" in body["detail"]


def test_invalid_bearer_is_401(client):
    problem(get(client, "/whoami", token="forged"), 401)


def test_authentication_comes_before_body_validation(client):
    problem(post(client, "/payments", {"amount_cents": "x"}, token=None, key="k"), 401)


def test_wrong_role_is_403(client):
    body = problem(get(client, "/admin-only", token="applicant"), 403)
    assert "admin" in body["detail"]
    problem(post(client, "/payments", GOOD, token="program", key="k"), 403)


def test_admin_may_use_any_role_route(client):
    assert json.loads(get(client, "/admin-only", token="admin").body) == {"sub": "admin-sub"}
    assert post(client, "/payments", GOOD, token="admin", key="k-admin").status_code == 201


def test_any_role_route_needs_only_a_valid_token(client):
    for token, role in (("applicant", "applicant"), ("program", "program")):
        assert json.loads(get(client, "/whoami", token=token).body) == {"role": role}


def test_public_route_with_optional_principal(client):
    assert json.loads(get(client, "/maybe").body) == {"role": None}
    assert json.loads(get(client, "/maybe", token="program").body) == {"role": "program"}
    problem(get(client, "/maybe", token="forged"), 401)  # a bad token is refused, not ignored


def test_endpoints_are_declared_for_openapi(client):
    bps = ApiBlueprint.all[PACKAGE]
    declared = {(e.method, e.path) for bp in bps for e in bp.endpoints}
    assert ("POST", "/payments") in declared and ("GET", "/programs") in declared


# --- refusals Chalice makes itself (before any view runs) are problem+json too --------------
@pytest.fixture(scope="module")
def observed_client():
    from shared.observability import install

    bp = ApiBlueprint(PACKAGE + "_observed", tag="test", verifier=lambda: FakeVerifier(PRINCIPALS))

    @bp.endpoint("/things", "POST", summary="create", body=PaymentIn, roles=PUBLIC, status=201)
    def create(body: PaymentIn):
        return {"ok": True}

    app = Chalice(app_name="web-edge-observed-test")
    install(app, "web-edge-test")
    app.register_blueprint(bp)
    with Client(app) as c:
        yield c
    ApiBlueprint.all.pop(PACKAGE + "_observed", None)


def test_wrong_method_is_405_problem_naming_the_allowed_ones(observed_client):
    r = observed_client.http.request("DELETE", "/things", headers={}, body=b"")
    body = problem(r, 405)
    assert "DELETE" in body["detail"] and "POST" in body["detail"]
    assert r.headers["Allow"] == "POST"
    assert r.headers["X-Request-Id"]


@pytest.mark.parametrize("ctype", ["text/plain", "multipart/form-data", "application/xml"])
def test_body_that_is_not_json_is_415_problem(observed_client, ctype):
    r = observed_client.http.post("/things", headers={"Content-Type": ctype}, body=json.dumps(GOOD))
    body = problem(r, 415)
    assert ctype in body["detail"] and "application/json" in body["detail"]


def test_json_body_still_reaches_the_view_through_the_middleware(observed_client):
    r = observed_client.http.post("/things", headers={"Content-Type": "application/json"}, body=json.dumps(GOOD))
    assert r.status_code == 201 and json.loads(r.body) == {"ok": True}
    problem(observed_client.http.post("/things", headers={"Content-Type": "application/json"}, body="{}"), 422)


def test_chalice_error_as_problem_leaves_other_responses_alone():
    from chalice import Response

    from shared.web import chalice_error_as_problem

    ok = Response(body={"Code": "x", "Message": "y"}, status_code=200)
    assert chalice_error_as_problem(ok) is ok
    ours = Response(body=json.dumps({"type": "t", "title": "T", "status": 409, "detail": "d"}), status_code=409,
                    headers={"Content-Type": PROBLEM_JSON})
    assert chalice_error_as_problem(ours) is ours
    text = Response(body="plain failure", status_code=502)
    assert chalice_error_as_problem(text) is text
