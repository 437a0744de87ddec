"""Signed, expiring tokens for email links (account verification now; interview booking
(I2) and letter-writer uploads (A1) later): HMAC-SHA256 over the purpose and the payload,
so a link works without signing in, only for what it names, and only until it expires.

`secret` is the setting `Settings.link_secret_name`: outside stage local the NAME of where
the key is kept (an SSM SecureString such as /caspr/<stage>/link-secret, or a Secrets
Manager secret ARN), read once per process with the function's IAM permission; in stage
local and the tests, the key itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import datetime, timedelta

from shared.errors import Unauthorized
from shared.settings import SettingsError, is_secret_reference

_keys: dict[str, str] = {}
_keys_lock = threading.Lock()


def _read_secret(name: str) -> str:
    import boto3

    if name.startswith("arn:") and ":secretsmanager:" in name:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=name).get("SecretString") or ""
    else:
        value = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return value


def signing_key(secret: str) -> str:
    """The key `secret` names (read from SSM / Secrets Manager once per process), or `secret`
    itself when it is a key (stage local, tests)."""
    if not is_secret_reference(secret):
        return secret
    with _keys_lock:
        key = _keys.get(secret)
        if key is None:
            try:
                key = _read_secret(secret)
            except Exception as exc:  # noqa: BLE001 - named, never falls back to a default key
                raise SettingsError(f"the email-link signing key {secret} (CASPR_LINK_SECRET_NAME) cannot be "
                                    f"read: {type(exc).__name__}: {exc}") from exc
            if len(key) < 32:
                raise SettingsError(f"the email-link signing key {secret} (CASPR_LINK_SECRET_NAME) is shorter "
                                    "than 32 characters")
            _keys[secret] = key
        return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, body: str) -> str:
    return _b64(hmac.new(signing_key(secret).encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest())


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
