"""/auth routes: applicant sign-up, administrator-created accounts, tokens."""

from __future__ import annotations

from identity import bootstrap, handlers
from identity.schemas import AccountIn, AccountOut, TokenIn, TokenOut
from shared.web import PUBLIC, ApiBlueprint

bp = ApiBlueprint(__name__, tag="auth", verifier=lambda: bootstrap.container().platform.verifier)


@bp.endpoint("/accounts", "POST", summary="Create an account (applicants sign up; administrators create "
             "program, college and administrator accounts)", body=AccountIn, response=AccountOut,
             status=201, roles=PUBLIC, errors=(401, 403, 409, 422))
def create_account(body: AccountIn, principal=None):
    sub, account = handlers.create_account(
        bootstrap.container(), email=body.email, password=body.password, role=body.role,
        program_code=body.program_code, college=body.college, creator=principal)
    return AccountOut(user_id=sub, email=account.email, role=account.role, groups=list(account.groups))


@bp.endpoint("/token", "POST", summary="Exchange email and password for tokens", body=TokenIn,
             response=TokenOut, roles=PUBLIC, errors=(401, 422))
def create_token(body: TokenIn):
    t = handlers.issue_token(bootstrap.container(), body.email, body.password)
    return TokenOut(access_token=t.access_token, id_token=t.id_token, expires_in=t.expires_in,
                    refresh_token=t.refresh_token)
