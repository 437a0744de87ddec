"""/auth routes: applicant sign-up, administrator-created accounts, tokens."""

from __future__ import annotations

import html

from chalice import Response

from identity import bootstrap, handlers
from identity.schemas import (
    AccountIn,
    AccountOut,
    ResendOut,
    TokenIn,
    TokenOut,
    VerificationIn,
    VerificationOut,
)
from shared.web import ANY_ROLE, PUBLIC, ApiBlueprint

bp = ApiBlueprint(__name__, tag="auth", verifier=lambda: bootstrap.container().platform.verifier)


@bp.endpoint("/accounts", "POST", summary="Create an account (applicants sign up; administrators create "
             "program, college and administrator accounts)", body=AccountIn, response=AccountOut,
             status=201, roles=PUBLIC, errors=(401, 403, 409, 422))
def create_account(body: AccountIn, principal=None):
    sub, account = handlers.create_account(
        bootstrap.container(), email=body.email, password=body.password, role=body.role,
        program_code=body.program_code, college=body.college, creator=principal)
    return AccountOut(user_id=sub, email=account.email, role=account.role, groups=list(account.groups),
                      email_verified=account.verified)


@bp.endpoint("/token", "POST", summary="Exchange email and password for tokens", body=TokenIn,
             response=TokenOut, roles=PUBLIC, errors=(401, 422))
def create_token(body: TokenIn):
    t = handlers.issue_token(bootstrap.container(), body.email, body.password)
    return TokenOut(access_token=t.access_token, id_token=t.id_token, expires_in=t.expires_in,
                    refresh_token=t.refresh_token)


@bp.endpoint("/verification", "POST", summary="Confirm an account's email address with the token of the "
             "emailed link", body=VerificationIn, response=VerificationOut, roles=PUBLIC, errors=(401, 404, 422))
def confirm_email(body: VerificationIn):
    return handlers.verify_email(bootstrap.container(), body.token)


@bp.endpoint("/verification/resend", "POST", summary="Email a new confirmation link to the signed-in "
             "account's own address (when the first one expired or went astray)", response=ResendOut,
             status=202, roles=ANY_ROLE, errors=(401, 404, 409))
def resend_confirmation(principal):
    return handlers.resend_verification(bootstrap.container(), principal)


@bp.endpoint("/verification", "GET", summary="The emailed link: confirms the address and says so in a page",
             query=VerificationIn, roles=PUBLIC, errors=(401, 404, 422))
def confirm_email_link(query: VerificationIn):
    result = handlers.verify_email(bootstrap.container(), query.token)
    page = (f"<!doctype html><meta charset=utf-8><title>CASPR: email confirmed</title>"
            f"<p>{html.escape(result['email'])} is confirmed. You can now <a href='/'>sign in</a> "
            f"and register.</p>")
    return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
