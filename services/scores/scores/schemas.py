"""Request and response models of the scores service (the edge)."""

from __future__ import annotations

from shared.schemas import Health

__all__ = ["Health"]
