"""Test doubles shared by several test packages (each subclasses the real interface)."""

from __future__ import annotations

from shared.auth import Principal, TokenVerifier
from shared.errors import Unauthorized


class FakeVerifier(TokenVerifier):
    """Subclasses the real verifier: a token is just the name of a known principal."""

    def __init__(self, principals: dict[str, Principal]):
        super().__init__(issuer="https://issuer.test", client_id="client", jwks_url="http://127.0.0.1:9/jwks")
        self.principals = principals

    def verify(self, token: str) -> Principal:
        try:
            return self.principals[token]
        except KeyError:
            raise Unauthorized("the bearer token is not valid: unknown test token") from None
