"""HTTP routes of the registration service (base path /registration)."""

from __future__ import annotations

from shared import health
from shared.web import PUBLIC, ApiBlueprint

from registration import bootstrap
from registration.schemas import Health

bp = ApiBlueprint(__name__, tag="registration", verifier=lambda: bootstrap.container().platform.verifier)


@bp.endpoint("/health", "GET", summary="Health of the registration service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("registration", bootstrap.container().platform.settings)
