"""shared.auth against real RS256 JWTs: a fresh RSA key, its JWKS served over HTTP on
127.0.0.1 (PyJWKClient fetches a URL, exactly as it fetches Cognito's), and tokens
shaped like Cognito's (access: client_id, no aud; ID: aud, email)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import (
    Principal,
    TokenVerifier,
    bearer_token,
    require_admin,
    require_owner,
    require_program,
    require_role,
    role_from_groups,
)
from shared.errors import Forbidden, Unauthorized

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL"
CLIENT_ID = "test-client-id"
KID = "test-key-1"


def _jwk(private_key, kid: str) -> dict:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**data, "kid": kid, "alg": "RS256", "use": "sig"}


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(key):
    body = json.dumps({"keys": [_jwk(key, KID)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/us-east-1_TESTPOOL/.well-known/jwks.json"
    finally:
        server.shutdown()


@pytest.fixture
def verifier(jwks_url):
    return TokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, jwks_url=jwks_url)


def access_claims(**overrides) -> dict:
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access",
              "username": "someone@test.caspr", "iat": now, "exp": now + 3600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def id_claims(**overrides) -> dict:
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "iss": ISSUER, "aud": CLIENT_ID, "token_use": "id",
              "email": "someone@test.caspr", "cognito:username": "someone", "iat": now, "exp": now + 3600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict, private_key, kid: str = KID) -> str:
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid})


# --- valid tokens ---------------------------------------------------------------------
def test_valid_access_token_gives_role_and_program_from_groups(verifier, key):
    claims = access_claims(**{"cognito:groups": ["program", "program-123"]})
    p = verifier.verify(sign(claims, key))
    assert p.sub == claims["sub"]
    assert p.username == "someone@test.caspr"
    assert p.role == "program"
    assert p.program_code == "123"
    assert p.groups == frozenset({"program", "program-123"})
    assert not p.is_admin


def test_access_token_without_groups_is_an_applicant(verifier, key):
    p = verifier.verify(sign(access_claims(), key))
    assert p.role == "applicant"
    assert p.program_code is None and p.college_id is None


def test_admin_group_wins_over_others(verifier, key):
    p = verifier.verify(sign(access_claims(**{"cognito:groups": ["program", "admin"]}), key))
    assert p.role == "admin" and p.is_admin


def test_valid_id_token_checks_audience(verifier, key):
    claims = id_claims(**{"cognito:groups": ["college", "college-TUSPM"]})
    p = verifier.verify(sign(claims, key))
    assert p.role == "college"
    assert p.college_id == "TUSPM"
    assert p.username == "someone@test.caspr"


# --- refused tokens ---------------------------------------------------------------------
@pytest.mark.parametrize("claims, words", [
    (access_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OTHER"), "not valid"),
    (access_claims(client_id="another-client"), "another client"),
    (id_claims(aud="another-client"), "another client"),
    (access_claims(exp=int(time.time()) - 60, iat=int(time.time()) - 3660), "expired"),
    (access_claims(token_use=None), "not valid"),
    (access_claims(token_use="refresh"), "neither"),
    (access_claims(sub=None), "not valid"),
    (access_claims(exp=None), "not valid"),
], ids=["wrong-issuer", "wrong-client_id", "wrong-aud", "expired", "no-token_use", "refresh-token",
        "no-sub", "no-exp"])
def test_refused_claims(verifier, key, claims, words):
    with pytest.raises(Unauthorized) as info:
        verifier.verify(sign(claims, key))
    assert words in info.value.detail
    assert info.value.status == 401


def test_access_token_with_aud_but_wrong_client_id_is_refused(verifier, key):
    # an ID token's aud does not stand in for an access token's client_id
    with pytest.raises(Unauthorized):
        verifier.verify(sign(access_claims(client_id=None, aud=CLIENT_ID), key))


def test_bad_signature_is_refused(verifier, other_key):
    # signed by another key, but claiming the published kid
    with pytest.raises(Unauthorized):
        verifier.verify(sign(access_claims(), other_key))


def test_tampered_payload_is_refused(verifier, key):
    token = sign(access_claims(), key)
    header, payload, signature = token.split(".")
    forged = jwt.utils.base64url_encode(json.dumps(
        {**access_claims(), "cognito:groups": ["admin"]}).encode()).decode()
    with pytest.raises(Unauthorized):
        verifier.verify(f"{header}.{forged}.{signature}")


def test_unknown_kid_is_refused(verifier, key):
    with pytest.raises(Unauthorized):
        verifier.verify(sign(access_claims(), key, kid="not-published"))


def test_hs256_token_is_refused(verifier):
    token = jwt.encode(access_claims(), "a-shared-secret-long-enough-for-hs256-keys", algorithm="HS256", headers={"kid": KID})
    with pytest.raises(Unauthorized):
        verifier.verify(token)


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 5000])
def test_garbage_is_refused(verifier, garbage):
    with pytest.raises(Unauthorized):
        verifier.verify(garbage)


# --- bearer header ----------------------------------------------------------------------
def test_bearer_token_parses_the_header():
    assert bearer_token({"authorization": "Bearer abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_token({"Authorization": "bearer  tok "}) == "tok"


@pytest.mark.parametrize("headers", [{}, {"authorization": ""}, {"authorization": "Basic dXNlcjpwdw=="},
                                     {"authorization": "Bearer "}, {"authorization": "tok"}])
def test_bearer_token_missing_or_malformed(headers):
    with pytest.raises(Unauthorized) as info:
        bearer_token(headers)
    assert "Bearer" in info.value.detail


# --- authorization helpers -------------------------------------------------------------
def principal(role: str, *groups: str, sub: str = "sub-1") -> Principal:
    return Principal(sub=sub, username=f"{role}@test", role=role, groups=frozenset(groups))


ADMIN = principal("admin", "admin", sub="admin-sub")
APPLICANT = principal("applicant", sub="applicant-sub")
PROGRAM_123 = principal("program", "program", "program-123", sub="program-sub")
COLLEGE = principal("college", "college", "college-TUSPM", sub="college-sub")


def test_role_from_groups():
    assert role_from_groups(None) == "applicant"
    assert role_from_groups([]) == "applicant"
    assert role_from_groups(["program-123", "program"]) == "program"
    assert role_from_groups(["college"]) == "college"
    assert role_from_groups(["admin", "program"]) == "admin"
    assert role_from_groups(["program-123"]) == "applicant"  # the code group alone grants no role


def test_require_owner():
    require_owner(APPLICANT, "applicant-sub")
    require_owner(ADMIN, "applicant-sub")
    require_owner(ADMIN, None)
    with pytest.raises(Forbidden):
        require_owner(APPLICANT, "someone-else")
    with pytest.raises(Forbidden):
        require_owner(APPLICANT, None)
    with pytest.raises(Forbidden):
        require_owner(PROGRAM_123, "applicant-sub")


def test_require_program():
    require_program(PROGRAM_123, "123")
    require_program(ADMIN, "123")
    with pytest.raises(Forbidden) as info:
        require_program(PROGRAM_123, "124")
    assert "124" in info.value.detail
    with pytest.raises(Forbidden):
        require_program(APPLICANT, "123")
    # a program-<code> group without the program role is not enough
    with pytest.raises(Forbidden):
        require_program(principal("applicant", "program-123"), "123")


def test_require_role():
    require_role(APPLICANT, "applicant")
    require_role(PROGRAM_123, "program", "college")
    require_role(ADMIN, "applicant")  # administrators may do everything
    with pytest.raises(Forbidden) as info:
        require_role(APPLICANT, "program")
    assert info.value.status == 403
    assert "applicant" in info.value.detail
    with pytest.raises(Forbidden):
        require_role(COLLEGE, "program", "applicant")


def test_require_admin():
    require_admin(ADMIN)
    for p in (APPLICANT, PROGRAM_123, COLLEGE):
        with pytest.raises(Forbidden):
            require_admin(p)
