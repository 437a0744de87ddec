"""Signed, expiring tokens for email links (account verification now; interview booking
(I2) and letter-writer uploads (A1) later): HMAC-SHA256 over the purpose and the payload,
so a link works without signing in, only for what it names, and only until it expires."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from shared.errors import Unauthorized


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest())


def sign(secret: str, purpose: str, payload: dict, *, now: datetime, ttl: timedelta) -> str:
    body = _b64(json.dumps({**payload, "exp": int((now + ttl).timestamp())}, sort_keys=True,
                           separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, purpose, body)}"


def verify(secret: str, purpose: str, token: str, *, now: datetime) -> dict:
    body, _, mac = (token or "").strip().partition(".")
    if not body or not mac or not hmac.compare_digest(mac.encode(), _mac(secret, purpose, body).encode()):
        raise Unauthorized("this link is not valid (it may have been altered or be for something else)")
    try:
        payload = json.loads(_unb64(body))
    except ValueError as exc:  # cannot happen for a token we signed
        raise Unauthorized("this link is not valid") from exc
    if now.timestamp() >= payload.get("exp", 0):
        raise Unauthorized("this link has expired; ask for a new one")
    return payload
