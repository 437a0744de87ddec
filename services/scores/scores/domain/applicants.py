"""What scores knows of a registered applicant (registration's events, projected)."""

from __future__ import annotations

from dataclasses import dataclass

REGISTERED, WITHDRAWN = "registered", "withdrawn"


@dataclass(frozen=True)
class Registrant:
    applicant_id: str
    season: str
    owner_sub: str | None
    cms_id: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    graduation_year: int | None
    status: str | None

    @property
    def registered(self) -> bool:
        return self.status == REGISTERED

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or "applicant"
