"""/auth over HTTP on the running local stack: sign-up, tokens, roles, and the JWT
checks that separate pools and clients (moto signs every pool's tokens with one key,
so only iss / client_id / token_use / exp tell them apart)."""

from __future__ import annotations

import uuid

import boto3
import pytest
import requests

from tests.e2e.conftest import verification_link

pytestmark = pytest.mark.e2e


def _email() -> str:
    return f"auth-{uuid.uuid4().hex[:10]}@test.caspr"


def test_applicant_signs_up_and_gets_tokens(stack):
    email = _email()
    r = requests.post(f"{stack.url}/auth/accounts", json={"email": email, "password": "secret-pass1"})
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "applicant"
    r = requests.post(f"{stack.url}/auth/token", json={"email": email, "password": "secret-pass1"})
    assert r.status_code == 200
    body = r.json()
    assert body["access_token"] and body["id_token"] and body["expires_in"] > 0


def test_duplicate_account_is_a_conflict(stack):
    email = _email()
    assert requests.post(f"{stack.url}/auth/accounts", json={"email": email, "password": "secret-pass1"}).ok
    r = requests.post(f"{stack.url}/auth/accounts", json={"email": email.upper(), "password": "secret-pass1"})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")


def test_wrong_password_is_401_problem(stack):
    r = requests.post(f"{stack.url}/auth/token", json={"email": "nobody@test.caspr", "password": "x"})
    assert r.status_code == 401
    assert r.json()["status"] == 401


@pytest.mark.parametrize("body,field", [
    ({"email": "not-an-email", "password": "secret-pass1"}, "email"),
    ({"email": "a@test.caspr", "password": "short"}, "password"),
    ({"email": "a@test.caspr"}, "password"),
])
def test_bad_sign_up_names_the_field(stack, body, field):
    r = requests.post(f"{stack.url}/auth/accounts", json=body)
    assert r.status_code == 422
    assert field in [e["field"] for e in r.json()["errors"]]


def test_weak_password_creates_nothing(stack):
    email = _email()
    r = requests.post(f"{stack.url}/auth/accounts", json={"email": email, "password": "allletters"})
    assert r.status_code == 422
    r = requests.post(f"{stack.url}/auth/accounts", json={"email": email, "password": "secret-pass1"})
    assert r.status_code == 201  # the refused attempt left no half-made account behind


def test_only_administrators_create_program_accounts(stack):
    applicant, _ = stack.new_account()
    body = {"email": _email(), "password": "secret-pass1", "role": "program", "program_code": "555"}
    assert applicant.post(f"{stack.url}/auth/accounts", json=body).status_code == 403
    assert requests.post(f"{stack.url}/auth/accounts", json=body).status_code == 403
    r = stack.admin.post(f"{stack.url}/auth/accounts", json=body)
    assert r.status_code == 201
    assert set(r.json()["groups"]) == {"program", "program-555"}


def test_token_of_another_client_or_pool_is_refused(stack):
    """Same signing key locally, so this is the iss/client_id check at work."""
    idp = boto3.client("cognito-idp")
    pool = stack.local.resources.user_pool_id
    other_client = idp.create_user_pool_client(UserPoolId=pool, ClientName="intruder",
                                               ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]
    other = idp.initiate_auth(ClientId=other_client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": stack.admin_email, "PASSWORD": stack.admin_password})
    body = {"email": _email(), "password": "secret-pass1", "role": "admin"}
    for token in (other["AuthenticationResult"]["AccessToken"], other["AuthenticationResult"]["IdToken"]):
        r = requests.post(f"{stack.url}/auth/accounts", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, r.text

    other_pool = idp.create_user_pool(PoolName="intruder-pool")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=other_pool, ClientName="c",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]
    idp.admin_create_user(UserPoolId=other_pool, Username="evil@test.caspr", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=other_pool, Username="evil@test.caspr", Password="Secret-pass1!",
                                Permanent=True)
    idp.create_group(UserPoolId=other_pool, GroupName="admin")
    idp.admin_add_user_to_group(UserPoolId=other_pool, Username="evil@test.caspr", GroupName="admin")
    tokens = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": "evil@test.caspr", "PASSWORD": "Secret-pass1!"})
    token = tokens["AuthenticationResult"]["AccessToken"]
    r = requests.post(f"{stack.url}/auth/accounts", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Basic abc", "Bearer " + "a" * 40])
def test_garbage_bearer_is_401(stack, header):
    body = {"email": _email(), "password": "secret-pass1", "role": "admin"}
    r = requests.post(f"{stack.url}/auth/accounts", json=body, headers={"Authorization": header})
    assert r.status_code in (401, 403), r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_r1_registration_needs_a_proven_email(stack):
    """Anyone can type any address at sign-up: registration trusts it only once the emailed
    link has been opened (else a stranger could hold a student's email against R5)."""
    season, _ = stack.new_season()
    email = _email()
    assert requests.post(f"{stack.url}/auth/accounts", json={"email": email, "password": "secret-pass1"}).ok
    session = stack.session(stack.token(email, "secret-pass1"))
    body = {"season": season, "first_name": "Ada", "last_name": "Lovelace", "email": email,
            "cms_id": f"PRO-{uuid.uuid4().hex[:9].upper()}", "college": "TUSPM", "graduation_year": 2025}
    r = session.post(f"{stack.url}/registration/applicants", json=body)
    assert r.status_code == 403 and r.json()["rule"] == "R1", r.text

    [mail] = [m for m in stack.local.outbox(email) if "confirm" in m["subject"]]
    link = verification_link([mail])
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert requests.get(tampered).status_code == 401
    page = requests.get(link)
    assert page.status_code == 200 and "is confirmed" in page.text

    r = session.post(f"{stack.url}/registration/applicants", json=body)
    assert r.status_code == 201, r.text


def test_a_signed_in_account_can_ask_for_a_new_confirmation_link(stack):
    """The first link expired or went astray: the account asks for another, which goes to
    its own address only; once confirmed, nothing more is sent; strangers are refused."""
    email = _email()
    assert requests.post(f"{stack.url}/auth/accounts", json={"email": email, "password": "secret-pass1"}).ok
    session = stack.session(stack.token(email, "secret-pass1"))
    season, _ = stack.new_season()
    body = {"season": season, "first_name": "Ada", "last_name": "Lovelace", "email": email,
            "cms_id": f"PRO-{uuid.uuid4().hex[:9].upper()}", "college": "TUSPM", "graduation_year": 2025}
    refused = session.post(f"{stack.url}/registration/applicants", json=body)
    assert refused.status_code == 403 and "/auth/verification/resend" in refused.json()["detail"], refused.text

    assert requests.post(f"{stack.url}/auth/verification/resend").status_code == 401
    r = session.post(f"{stack.url}/auth/verification/resend")
    assert r.status_code == 202, r.text
    assert r.json() == {"email": email, "sent": True}
    mails = [m for m in stack.local.outbox(email) if "confirm" in m["subject"]]
    assert len(mails) == 2
    assert requests.get(verification_link(mails[-1:])).status_code == 200  # the new link confirms

    again = session.post(f"{stack.url}/auth/verification/resend")
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert len([m for m in stack.local.outbox(email) if "confirm" in m["subject"]]) == 2  # nothing sent
    assert session.post(f"{stack.url}/registration/applicants", json=body).status_code == 201
