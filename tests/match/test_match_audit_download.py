"""Issue 12: an audit file bigger than a Lambda response (6 MB) is downloaded through a 303 to a
presigned S3 URL of the very same bytes (the documents bucket, under match/audit/), on the
in-process emulator; a small file still comes inline."""

from __future__ import annotations

import hashlib
import json

import pytest
from match_service_support import SEASON, build_service, match_app, principals

from shared.clock import ControlledClock
from tests.fakes import FakeVerifier

pytestmark = pytest.mark.integration
NOW = ControlledClock().now()


@pytest.fixture
def svc(aws):
    import boto3

    from match import bootstrap
    from shared.adapters.storage import S3DocumentStorage, documents_bucket

    service = build_service(ControlledClock(NOW), verifier=FakeVerifier(principals(applicants=1)))
    bucket = documents_bucket(service.platform.settings)
    boto3.client("s3").create_bucket(Bucket=bucket)
    service.audit_files = S3DocumentStorage(bucket, service.platform.settings.region)
    yield service
    bootstrap.override(None)


def big_snapshot(applicants: int) -> str:
    """A canonical snapshot document: `applicants` applicants ranking 20 tracks each."""
    tracks = [f"{100 + n // 9}{n % 9 + 1}" for n in range(200)]
    doc = {"applicants": {f"{10000 + a}": tracks[a % 180:a % 180 + 20] for a in range(applicants)},
           "tracks": {t: {"positions": 2, "ranks": []} for t in tracks}, "withdrawn": []}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def download(svc, rnd="match", what="snapshot", who="admin"):
    from chalice.test import Client

    with Client(match_app()) as c:
        return c.http.get(f"/seasons/{SEASON}/audit/{rnd}/{what}", headers={"Authorization": f"Bearer {who}"})


def test_a_snapshot_over_6_mb_is_a_303_to_a_presigned_url_of_the_same_bytes(svc):
    import boto3
    import requests

    text = big_snapshot(60_000)
    assert len(text.encode()) > 6 * 1024 * 1024 and len(json.dumps(text)) > svc.audit_inline_max == 6_000_000
    sha = hashlib.sha256(text.encode()).hexdigest()
    svc.store.save_snapshot(SEASON, "match", text, sha, NOW)

    r = download(svc)
    assert r.status_code == 303 and r.body in (b"", "")
    url = r.headers["Location"]
    assert "X-Amz-Signature=" in url and f"match/audit/{SEASON}/match/snapshot-{sha}.json" in url
    assert f"caspr-{SEASON}-match-snapshot.json" in requests.utils.unquote(url)  # saved under its name
    got = requests.get(url, timeout=30)
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha  # the sealed bytes

    # a second download reuses the copy (no second write: same key, same bytes)
    s3 = boto3.client("s3")
    key = f"match/audit/{SEASON}/match/snapshot-{sha}.json"
    first = s3.head_object(Bucket=svc.audit_files.bucket, Key=key)["LastModified"]
    assert download(svc).status_code == 303
    assert s3.head_object(Bucket=svc.audit_files.bucket, Key=key)["LastModified"] == first
    assert download(svc, who="a0").status_code == 403  # the administrator's only


def test_a_small_snapshot_comes_inline_and_nothing_is_copied_to_s3(svc):
    import boto3

    text = big_snapshot(10)
    sha = hashlib.sha256(text.encode()).hexdigest()
    svc.store.save_snapshot(SEASON, "match", text, sha, NOW)
    r = download(svc)
    assert r.status_code == 200 and hashlib.sha256(r.body).hexdigest() == sha
    assert boto3.client("s3").list_objects_v2(Bucket=svc.audit_files.bucket).get("KeyCount", 0) == 0
