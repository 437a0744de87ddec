"""HTTP routes of the scores service (base path /scores)."""

from __future__ import annotations

from scores import bootstrap
from scores.schemas import Health
from shared import health
from shared.web import PUBLIC, ApiBlueprint

bp = ApiBlueprint(__name__, tag="scores", verifier=lambda: bootstrap.container().platform.verifier)


@bp.endpoint("/health", "GET", summary="Health of the scores service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("scores", bootstrap.container().platform.settings)
