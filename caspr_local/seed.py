"""Seeds the local stack: the administrator (CASPR_ADMIN_EMAIL / CASPR_ADMIN_PASSWORD
when set) and, unless EMPTY=1, a demo season with programs, tracks and applicants,
created through the public API like any client would."""

from __future__ import annotations

import os
import re
import secrets

import boto3
import requests

from caspr_local.demo import (
    DEMO_NOW,
    DEMO_SEASON,
    demo_accounts,
    demo_applicant_pays,
    demo_applicants,
    demo_calendar,
    demo_logins_text,
    demo_programs,
)

# the confirmation link of the sign-up email (identity)
VERIFICATION_LINK = re.compile(r"https?://\S+/auth/verification\?token=\S+")


def create_admin(stack) -> dict:
    email = os.environ.get("CASPR_ADMIN_EMAIL", "admin@caspr.example").strip().lower()
    password = os.environ.get("CASPR_ADMIN_PASSWORD") or f"Admin-{secrets.token_hex(6)}"
    idp = boto3.client("cognito-idp")
    pool = stack.resources.user_pool_id
    idp.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="admin")
    return {"email": email, "password": password}


def token(base_url: str, email: str, password: str) -> str:
    r = requests.post(f"{base_url}/auth/token", json={"email": email, "password": password}, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


def seed(stack, demo: bool = True) -> dict:
    from caspr_local.demo_activity import SeededApplicant, seed_activity

    admin = create_admin(stack)
    if not demo:
        return admin
    base = stack.url
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token(base, admin['email'], admin['password'])}"
    _ok(s.put(f"{base}/registration/seasons/{DEMO_SEASON}", json=demo_calendar(), timeout=30))
    accounts = demo_accounts()
    for program in demo_programs():
        _ok(s.post(f"{base}/registration/programs", json=program, timeout=30))
    for account in accounts:
        if account["role"] in ("program", "college"):
            body = {k: account[k] for k in ("email", "password", "role", "program_code", "college") if k in account}
            _ok(s.post(f"{base}/auth/accounts", json=body, timeout=30))
    passwords = {a["email"]: a["password"] for a in accounts if a["role"] == "applicant"}
    paid = []
    for i, applicant in enumerate(demo_applicants()):
        pw = passwords[applicant["email"]]
        _ok(requests.post(f"{base}/auth/accounts", json={"email": applicant["email"], "password": pw},
                          timeout=30))
        _confirm_email(stack, applicant["email"])
        a = requests.Session()
        a.headers["Authorization"] = f"Bearer {token(base, applicant['email'], pw)}"
        reg = _ok(a.post(f"{base}/registration/applicants", json=applicant, timeout=30)).json()
        if demo_applicant_pays(i):
            _ok(a.post(f"{base}/registration/applicants/{reg['applicant_id']}/payments",
                       json={"amount_cents": reg["amount_due_cents"], "card_number": "4242424242424242"},
                       headers={"Idempotency-Key": f"seed-{i}"}, timeout=30))
            paid.append(SeededApplicant(i, reg["applicant_id"], a, applicant))
    # past registration: applications, scores, deliveries and interviews (caspr_local/demo_activity.py)
    signed_in = {a.get("program_code") or a.get("college"): _session(base, a["email"], a["password"])
                 for a in accounts if a["role"] in ("program", "college")}
    seed_activity(stack, s, paid, colleges={a["college"]: signed_in[a["college"]] for a in accounts
                                            if a["role"] == "college"},
                  programs={a["program_code"]: signed_in[a["program_code"]] for a in accounts
                            if a["role"] == "program"})
    stack.settle()
    admin["demo"] = demo_banner()
    return admin


def _session(base_url: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token(base_url, email, password)}"
    return session


def demo_banner() -> str:
    """What `make run` prints about the demo season: every demo login with its password."""
    return (f"\nDemo season {DEMO_SEASON} (clock at {DEMO_NOW}: registration still open, applications "
            f"delivered to the programs, interview invitations open); every demo login, also listed "
            f"in README.md (\"Demo logins\"):\n{demo_logins_text()}\n")


def _confirm_email(stack, email: str) -> None:
    """Opens the confirmation link of the sign-up email, as the demo applicant would."""
    bodies = [m["body"] for m in stack.outbox(email)]
    link = next(m.group(0) for b in bodies for m in [VERIFICATION_LINK.search(b)] if m)
    _ok(requests.get(link, timeout=30))


def _ok(response: requests.Response) -> requests.Response:
    if response.status_code >= 400:
        raise RuntimeError(f"seeding failed: {response.request.method} {response.url} -> "
                           f"{response.status_code} {response.text}")
    return response
