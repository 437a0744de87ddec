"""Fixtures of the applications tests: the service wired at its wiring point
(bootstrap.override) on the in-process AWS emulator (`aws`), with an S3 documents bucket, a
controlled clock and in-memory publisher and mailer; what other services announce is fed
to its consumers' use cases as the events themselves."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.inbox import InMemoryDeadlineLog
from shared.auth import Principal, TokenVerifier
from shared.clock import ControlledClock
from shared.contracts import (
    ApplicantRegistered,
    ProgramRegistered,
    ScoresMayApply,
    SeasonCalendarSet,
    SeasonDeadlineReached,
    TrackInfo,
)
from shared.email import RecordingMailer
from shared.errors import Unauthorized
from shared.events import InMemoryPublisher
from shared.runtime import Platform
from shared.settings import Settings

ET = timedelta(hours=-4)


class FakeVerifier(TokenVerifier):
    """Tokens are "role:sub[:program or college code]"; no signature (the real verifier is tested in shared)."""

    def __init__(self):  # no JWKS
        pass

    def verify(self, token: str) -> Principal:
        role, _, rest = token.partition(":")
        sub, _, extra = rest.partition(":")
        if role not in ("applicant", "program", "college", "admin") or not sub:
            raise Unauthorized("bad test token")
        groups = {role} | ({f"{role}-{extra}"} if role in ("program", "college") and extra else set())
        return Principal(sub=sub, username=sub, role=role, groups=frozenset(groups))


def at(y, mo, d, h=12, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


CALENDAR = {
    "registration_opens": at(2023, 7, 24, 16), "registration_recommended_by": at(2023, 9, 13, 4),
    "score_release_deadline": at(2023, 10, 26, 3, 59), "scores_uploaded": at(2023, 10, 26, 12),
    "application_deadline_default": at(2023, 11, 1, 3, 59), "part1_pass_by": at(2023, 11, 1, 4),
    "applications_delivered": at(2023, 11, 1, 12), "invitations_open": at(2023, 12, 4, 17),
    "crip_start": at(2024, 1, 11, 6), "crip_end": at(2024, 1, 17, 5), "non_crip_interviews_from": at(2024, 1, 17, 6),
    "rol_opens": at(2024, 1, 17, 12), "registration_final": at(2024, 2, 15, 5), "match_application_last":
    at(2024, 2, 17, 4, 59), "rol_deadline": at(2024, 2, 19, 4, 59), "part2_pass_by": at(2024, 3, 1, 5),
    "part2_uploaded": at(2024, 3, 2, 12), "match_status_day": at(2024, 3, 4, 17),
    "mpii_applications_open": at(2024, 3, 4, 17), "mpii_application_deadline": at(2024, 3, 6, 17),
    "mpii_rol_opens": at(2024, 3, 6, 17), "mpii_rol_deadline": at(2024, 3, 11, 19), "match_day": at(2024, 3, 15, 16),
}


@pytest.fixture
def clock():
    return ControlledClock(at(2023, 9, 1))  # applications open, before every deadline


@pytest.fixture
def svc(aws, clock, monkeypatch):
    """The applications service on moto, with an S3 bucket for the PDFs."""
    import boto3

    from applications import bootstrap
    from applications.adapters.store import DynamoApplicationStore
    from shared.adapters.storage import S3DocumentStorage

    boto3.client("s3").create_bucket(Bucket="caspr-test-documents")
    settings = Settings.from_env()
    platform = Platform(settings=settings, clock=clock)
    platform.__dict__["publisher"] = InMemoryPublisher()
    platform.__dict__["mailer"] = RecordingMailer()
    platform.__dict__["verifier"] = FakeVerifier()
    s = bootstrap.Applications(platform=platform, deadlines=InMemoryDeadlineLog(),
                               store=DynamoApplicationStore(clock.now),
                               storage=S3DocumentStorage("caspr-test-documents", settings.region))
    bootstrap.override(s)
    yield s
    bootstrap.override(None)


def deliver_outbox() -> int:
    from applications import bootstrap

    return bootstrap.outbox().sweep(older_than=0)


def events(svc, kind=None) -> list:
    deliver_outbox()
    found = svc.platform.publisher.events
    return [e for e in found if kind is None or isinstance(e, kind)]


def emails(svc) -> list:
    deliver_outbox()
    return svc.platform.mailer.sent


class Api:
    def __init__(self, client):
        self.client = client

    def call(self, method: str, path: str, token: str | None = None, body=None, headers=None):
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = json.dumps(body) if body is not None else None
        r = getattr(self.client.http, method.lower())(path, headers=h, body=data)
        ctype = (r.headers or {}).get("Content-Type", "")
        r.data = json.loads(r.body) if r.body and "json" in ctype else (
            r.body.decode() if isinstance(r.body, bytes) and ctype.startswith("text/") else r.body)
        deliver_outbox()
        return r


@pytest.fixture
def api(svc):
    from chalice.test import Client

    from caspr_local.apps import load_app

    with Client(load_app("applications")) as client:
        yield Api(client)


# ----------------------------------------------------------------------------- what others announce
def season(svc, calendar=None, season_id="2024"):
    from applications import handlers

    handlers.on_calendar(svc, SeasonCalendarSet(season=season_id, calendar=calendar or CALENDAR, version=1))


def program(svc, code="101", deadline=None, season_id="2024", tracks=1, version=1):
    from applications import handlers

    handlers.on_program(svc, ProgramRegistered(
        season=season_id, program_code=code, name=f"Program {code}", coth=True, crip=False,
        application_deadline=deadline, version=version,
        tracks=[TrackInfo(track_code=f"{code}{i + 1}", name=f"Track {i + 1}", positions=2) for i in range(tracks)]))


def registered(svc, applicant_id="a1", sub="u1", credits=12, may_apply=True, college="Temple", first="Ada",
               last="Lovelace", code="12345", season_id="2024"):
    from applications import handlers

    handlers.on_registered(svc, ApplicantRegistered(
        season=season_id, applicant_id=applicant_id, code_number=code, cms_id="PRO-2T8P48F5H",
        email=f"{applicant_id}@example.org", first_name=first, last_name=last, college=college,
        graduation_year=2024, timezone="America/Chicago", credits_total=credits, owner_sub=sub, version=1))
    if may_apply:
        handlers.on_may_apply(svc, ScoresMayApply(season=season_id, applicant_id=applicant_id, result_id="r1"))
    return f"applicant:{sub}"


def deadline(svc, key, when=None, season_id="2024"):
    from applications import handlers

    handlers.record_deadline(svc, SeasonDeadlineReached(season=season_id, key=key, at=when or CALENDAR[key]))


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def put_object(svc, key: str, body: bytes) -> None:
    """What the browser does with the presigned form."""
    svc.storage.client.put_object(Bucket=svc.storage.bucket, Key=key, Body=body)


def upload(api, svc, token, applicant_id, kind, body=PDF):
    r = api.call("POST", f"/applicants/{applicant_id}/documents", token,
                 {"kind": kind, "filename": f"{kind}.pdf", "size": len(body)})
    assert r.status_code == 201, r.data
    put_object(svc, r.data["upload"]["fields"]["key"], body)
    return api.call("POST", f"/applicants/{applicant_id}/documents/{r.data['document_id']}/completion", token)


def request_letters(api, token, applicant_id, n=3, start=0):
    out = []
    for i in range(start, start + n):
        r = api.call("POST", f"/applicants/{applicant_id}/letters", token,
                     {"writer_name": f"Dr Writer {i}", "writer_email": f"w{i}@example.org", "label": f"L{i}",
                      "waived": True})
        assert r.status_code == 201, r.data
        out.append(r.data["letter_id"])
    return out


def submitted(api, svc, applicant_id="a1", sub="u1", **kw):
    """A registered applicant with a submitted application (PS, CV, 3 letter requests)."""
    token = registered(svc, applicant_id, sub, **kw)
    assert upload(api, svc, token, applicant_id, "personal_statement").status_code == 200
    assert upload(api, svc, token, applicant_id, "cv").status_code == 200
    request_letters(api, token, applicant_id)
    r = api.call("POST", f"/applicants/{applicant_id}/submission", token)
    assert r.status_code == 200, r.data
    return token
