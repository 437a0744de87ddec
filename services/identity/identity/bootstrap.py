"""The one place that wires the identity service."""

from __future__ import annotations

from dataclasses import dataclass

from identity.adapters.cognito import CognitoDirectory, Directory
from shared.runtime import Platform, default_platform
from shared.wiring import Wiring


@dataclass
class Identity:
    platform: Platform
    directory: Directory


def build() -> Identity:
    platform = default_platform()
    s = platform.settings
    return Identity(platform=platform, directory=CognitoDirectory(s.user_pool_id, s.user_pool_client_id))


wiring = Wiring(build)
container = wiring.get
override = wiring.override
