"""Response models every service shares."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    service: str
    status: str
    table: str
    queue: str
    table_status: str | None = None
    queue_status: str | None = None
    error: str | None = None
