"""The one place that wires the identity service."""

from __future__ import annotations

from dataclasses import dataclass

from identity.adapters.cognito import CognitoDirectory, Directory
from shared.runtime import Platform, default_platform


@dataclass
class Identity:
    platform: Platform
    directory: Directory


_current: Identity | None = None


def build() -> Identity:
    platform = default_platform()
    s = platform.settings
    return Identity(platform=platform, directory=CognitoDirectory(s.user_pool_id, s.user_pool_client_id))


def container() -> Identity:
    global _current
    if _current is None:
        _current = build()
    return _current


def override(replacement: Identity | None) -> None:
    global _current
    _current = replacement
