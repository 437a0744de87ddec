"""Issue 12 on the running local stack: a Match anyone can check.

Season: program 301 with track 3011 (1 position); applicants B0 and B1 both rank 3011, which
ranks B0 then B1. When the lists lock the run seals the snapshot (its SHA-256 at /audit and in
an email to each participant); the administrator downloads the snapshot and the result, whose
bytes hash to the published values and which `caspr-match verify` accepts; on Match Day B1
learns why it did not match 3011, and nobody else's explanation is theirs to read.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from .test_match_e2e import Season, wait_for

pytestmark = pytest.mark.e2e


def test_the_match_is_sealed_before_it_runs_and_explained_on_match_day(stack, tmp_path):
    s = Season(stack)
    s.without_exam_withdrawals()
    s.add_program("301", [("3011", 1)])
    for _ in range(2):
        s.add_applicant()
    B = s.applicants
    wait_for(lambda: len(stack.admin.get(f"{s.base}/tracks", timeout=30).json()["tracks"]) == 1,
             "the match service to learn the track")

    audit = B[0]["session"].get(f"{s.base}/audit", timeout=30)
    assert audit.status_code == 200 and all(r["snapshot_sha256"] is None for r in audit.json()["rounds"])
    stack.at(s.cal, "rol_opens")
    s.rank(0, ["3011"])
    s.rank(1, ["3011"])
    s.program_ranks("3011", [0, 1])

    stack.at(s.cal, "rol_deadline")
    wait_for(lambda: s.step("await:match_status_day") == "waiting", "the Match round to be stored")
    row = s.programs["301"].get(f"{s.base}/audit", timeout=30).json()["rounds"][0]
    assert row["round"] == "match" and row["snapshot_sha256"] and row["result_sha256"] and row["sealed_at"]
    sealed = [m for m in stack.local.outbox(B[1]["session"].get(f"{stack.url}/registration/applicants/"
                                                                f"{B[1]['applicant_id']}", timeout=30).json()["email"])
              if "input is sealed" in m["subject"]]
    assert len(sealed) == 1 and f"SHA-256 {row['snapshot_sha256']}" in sealed[0]["body"]

    files = {}
    for what in ("snapshot", "result"):
        r = stack.admin.get(f"{s.base}/audit/match/{what}", timeout=30)
        assert r.status_code == 200, r.text
        assert hashlib.sha256(r.content).hexdigest() == row[f"{what}_sha256"]
        files[what] = tmp_path / f"{what}.json"
        files[what].write_bytes(r.content)
    assert B[0]["session"].get(f"{s.base}/audit/match/snapshot", timeout=30).status_code == 403
    proc = subprocess.run([sys.executable, "-m", "match.cli", "verify", str(files["snapshot"]), str(files["result"]),
                           "--snapshot-sha256", row["snapshot_sha256"], "--result-sha256", row["result_sha256"]],
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith(b"OK: stable matching"), proc.stdout + proc.stderr

    r = B[1]["session"].get(f"{s.base}/applicants/me/explanation", timeout=30)
    assert r.status_code == 409 and r.json()["rule"] == "M5", r.text  # not before Match Day

    stack.at(s.cal, "match_day")
    wait_for(lambda: (s.run() or {}).get("status") == "SUCCEEDED", "the run to succeed")
    r = B[1]["session"].get(f"{s.base}/applicants/me/explanation", timeout=30)
    assert r.status_code == 200, r.text
    assert [(line["track_code"], line["text"]) for line in r.json()["rounds"][0]["lines"]] == [
        ("3011", "filled all its positions with applicants it ranked above you")]
    r = B[1]["session"].get(f"{s.base}/applicants/{B[0]['applicant_id']}/explanation", timeout=30)
    assert r.status_code == 403  # M6: one's own only
    r = s.programs["301"].get(f"{s.base}/tracks/3011/explanation", timeout=30)
    assert r.status_code == 200 and r.json()["rounds"][0]["lines"] == [], r.text  # filled by its first choice
    # issue 12: B1 (certified, unmatched) was told on Match Status Day and on Match Day that its
    # result is on the page, once each, and the emails do not say what it is
    email = B[1]["session"].get(f"{stack.url}/registration/applicants/{B[1]['applicant_id']}", timeout=30).json()["email"]
    told = [m for m in stack.local.outbox(email) if "available" in m["subject"]]
    assert sorted(m["subject"].split(": ", 1)[1] for m in told) == [
        "your Match results are available", "your Match status is available"], told
    assert not any("3011" in m["body"] or "unmatched" in m["body"].lower() for m in told)
