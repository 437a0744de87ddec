"""HTTP routes of the match service (base path /match)."""

from __future__ import annotations

from shared import health
from shared.web import PUBLIC, ApiBlueprint

from match import bootstrap
from match.schemas import Health

bp = ApiBlueprint(__name__, tag="match", verifier=lambda: bootstrap.container().platform.verifier)


@bp.endpoint("/health", "GET", summary="Health of the match service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("match", bootstrap.container().platform.settings)
