"""Use cases of /auth."""

from __future__ import annotations

from datetime import timedelta

from identity.adapters.cognito import Tokens
from identity.bootstrap import Identity
from identity.domain.accounts import NewAccount, plan_account
from shared import links
from shared.auth import Principal
from shared.email import Email
from shared.errors import Conflict


def create_account(svc: Identity, *, email: str, password: str, role: str | None, program_code: str | None,
                   college: str | None, creator: Principal | None) -> tuple[str, NewAccount]:
    account = plan_account(email, password, role, program_code, college, creator)
    sub = svc.directory.create(account)
    if not account.verified:
        send_verification(svc, sub, account.email)
    return sub, account


VERIFY_PURPOSE = "verify-email"
VERIFY_TTL = timedelta(days=7)


def send_verification(svc: Identity, sub: str, email: str) -> None:
    """The link proves the person owns the address before registration trusts it (R1, R5)."""
    s = svc.platform.settings
    token = links.sign(s.link_secret_name, VERIFY_PURPOSE, {"sub": sub, "email": email},
                       now=svc.platform.clock.now(), ttl=VERIFY_TTL)
    link = f"{s.public_base_url}/auth/verification?token={token}"
    svc.platform.mailer.send(Email(
        to=email, subject="CASPR: confirm your email address",
        body=f"Welcome to CASPR.\n\nConfirm that this is your email address by opening this link "
             f"(valid for 7 days):\n{link}\n\nYou can register for a season once it is confirmed. "
             f"If you did not create a CASPR account, ignore this email."))


def resend_verification(svc: Identity, principal: Principal) -> dict:
    """A new confirmation link for a signed-in account whose address is not proven yet
    (the first one expired or went astray). Only the account itself can ask, and the link
    goes only to the account's own address."""
    email, verified = svc.directory.email_of(principal.sub)
    if verified:
        raise Conflict(f"{email} is confirmed already; nothing was sent")
    send_verification(svc, principal.sub, email)
    return {"email": email, "sent": True}


def verify_email(svc: Identity, token: str) -> dict:
    s = svc.platform.settings
    payload = links.verify(s.link_secret_name, VERIFY_PURPOSE, token, now=svc.platform.clock.now())
    svc.directory.mark_verified(payload["sub"], payload["email"])
    return {"email": payload["email"], "email_verified": True}


def issue_token(svc: Identity, email: str, password: str) -> Tokens:
    return svc.directory.authenticate(email, password)
