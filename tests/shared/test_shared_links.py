"""Signed email links: only for their purpose, untampered, until they expire."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import Unauthorized
from shared.links import sign, verify

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_a_signed_link_verifies_until_it_expires():
    token = sign("s3cret", "verify-email", {"sub": "u1"}, now=NOW, ttl=timedelta(days=1))
    assert verify("s3cret", "verify-email", token, now=NOW + timedelta(hours=23))["sub"] == "u1"
    with pytest.raises(Unauthorized, match="expired"):
        verify("s3cret", "verify-email", token, now=NOW + timedelta(days=1))


@pytest.mark.parametrize("secret,purpose,mangle", [
    ("other", "verify-email", lambda t: t),
    ("s3cret", "book-interview", lambda t: t),
    ("s3cret", "verify-email", lambda t: "x" + t),
    ("s3cret", "verify-email", lambda t: t[:-2]),
    ("s3cret", "verify-email", lambda t: ""),
    ("s3cret", "verify-email", lambda t: t + "é"),
    ("s3cret", "verify-email", lambda t: "ü.ö"),
])
def test_a_link_is_refused_for_another_secret_purpose_or_when_altered(secret, purpose, mangle):
    token = sign("s3cret", "verify-email", {"sub": "u1"}, now=NOW, ttl=timedelta(days=1))
    with pytest.raises(Unauthorized):
        verify(secret, purpose, mangle(token), now=NOW)
