"""HTTP routes of the applications service (base path /applications)."""

from __future__ import annotations

from applications import bootstrap
from applications.schemas import Health
from shared import health
from shared.web import PUBLIC, ApiBlueprint

bp = ApiBlueprint(__name__, tag="applications", verifier=lambda: bootstrap.container().platform.verifier)


@bp.endpoint("/health", "GET", summary="Health of the applications service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("applications", bootstrap.container().platform.settings)
