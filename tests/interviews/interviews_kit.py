"""Helpers of the interviews tests (a uniquely named module: conftest modules are not importable)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from shared.auth import Principal, TokenVerifier
from shared.clock import parse_instant
from shared.errors import Unauthorized

CALENDAR = {
    "invitations_open": "2023-12-04T12:00:00-05:00",
    "crip_start": "2024-01-11T08:00:00-06:00",
    "crip_end": "2024-01-16T18:00:00-06:00",
    "non_crip_interviews_from": "2024-01-17T00:00:00-06:00",
    "rol_deadline": "2024-02-18T23:59:00-05:00",
}
BEFORE_INVITATIONS = datetime(2023, 12, 1, 12, 0, tzinfo=UTC)
AFTER_INVITATIONS = datetime(2023, 12, 5, 12, 0, tzinfo=UTC)


class FakeVerifier(TokenVerifier):
    """Tokens are "role:sub[:program code]"; no signature (the real verifier is tested in shared)."""

    def __init__(self):
        pass

    def verify(self, token: str) -> Principal:
        role, _, rest = token.partition(":")
        sub, _, extra = rest.partition(":")
        if role not in ("applicant", "program", "college", "admin") or not sub:
            raise Unauthorized("bad test token")
        groups = {role} | ({f"program-{extra}"} if role == "program" and extra else set())
        return Principal(sub=sub, username=sub, role=role, groups=frozenset(groups))


def deliver_outbox() -> int:
    from interviews import bootstrap

    return bootstrap.outbox().sweep(older_than=0)


def feed(svc, *events) -> None:
    """What the consumer does with each event (the consumer's own test sends them through SQS shape)."""
    from interviews import consumers

    table = consumers._handlers()
    for e in events:
        table[type(e)](e)


def season_events(season="2024", applicants=3, programs=(("101", True, True), ("202", True, False),
                                                           ("303", False, False))):
    from shared.contracts import (
        ApplicantRegistered,
        ApplicationDelivered,
        ProgramRegistered,
        SeasonCalendarSet,
    )

    out = [SeasonCalendarSet(season=season, calendar={k: parse_instant(v) for k, v in CALENDAR.items()}, version=1)]
    for code, coth, crip in programs:
        out.append(ProgramRegistered(season=season, program_code=code, name=f"Program {code}", coth=coth, crip=crip,
                                     tracks=[], version=1))
    for n in range(applicants):
        aid = f"a{n}"
        out.append(ApplicantRegistered(season=season, applicant_id=aid, code_number=f"{10000 + n}",
                                       cms_id=f"PRO-{n:09d}", email=f"{aid}@test.caspr", first_name="Ada",
                                       last_name=f"L{n}", college="TUSPM", graduation_year=2024,
                                       timezone="America/New_York" if n == 0 else "America/Chicago",
                                       credits_total=12, owner_sub=f"sub-{aid}", version=1))
        for code, _, _ in programs:
            out.append(ApplicationDelivered(season=season, applicant_id=aid, program_code=code, round="match",
                                            designated_at=BEFORE_INVITATIONS, delivered_at=BEFORE_INVITATIONS))
    return out


class Api:
    def __init__(self, client):
        self.client = client

    def call(self, method: str, path: str, token: str | None = None, body=None, headers=None):
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        r = getattr(self.client.http, method.lower())(path, headers=h,
                                                      body=json.dumps(body) if body is not None else None)
        try:
            r.data = json.loads(r.body) if r.body else None
        except ValueError:
            r.data = None
        return r
