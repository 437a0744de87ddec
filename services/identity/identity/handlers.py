"""Use cases of /auth."""

from __future__ import annotations

from identity.adapters.cognito import Tokens
from identity.bootstrap import Identity
from identity.domain.accounts import NewAccount, plan_account
from shared.auth import Principal


def create_account(svc: Identity, *, email: str, password: str, role: str | None, program_code: str | None,
                   college: str | None, creator: Principal | None) -> tuple[str, NewAccount]:
    account = plan_account(email, password, role, program_code, college, creator)
    return svc.directory.create(account), account


def issue_token(svc: Identity, email: str, password: str) -> Tokens:
    return svc.directory.authenticate(email, password)
