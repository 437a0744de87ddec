"""HTTP routes of the interviews service (base path /interviews)."""

from __future__ import annotations

from interviews import bootstrap
from interviews.schemas import Health
from shared import health
from shared.web import PUBLIC, ApiBlueprint

bp = ApiBlueprint(__name__, tag="interviews", verifier=lambda: bootstrap.container().platform.verifier)


@bp.endpoint("/health", "GET", summary="Health of the interviews service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("interviews", bootstrap.container().platform.settings)
