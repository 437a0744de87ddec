"""Test doubles shared by several test packages (each subclasses the real interface)."""

from __future__ import annotations

import collections
from contextlib import contextmanager

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


@contextmanager
def aws_calls():
    """Counts the AWS requests sent inside the block (on the in-process emulator, `aws` fixture),
    by operation: at botocore's before-send event, which moto's BotocoreStubber handles for every
    client (PynamoDB's included)."""
    from moto.core.botocore_stubber import BotocoreStubber

    seen: collections.Counter = collections.Counter()
    real = BotocoreStubber.process_request

    def counting(self, request):
        target = request.headers.get("X-Amz-Target") or b""
        target = target.decode() if isinstance(target, bytes) else target
        seen[target.rsplit(".", 1)[-1] if target else f"{request.method} {request.url}"] += 1
        return real(self, request)

    BotocoreStubber.process_request = counting
    try:
        yield seen
    finally:
        BotocoreStubber.process_request = real
