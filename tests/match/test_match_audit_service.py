"""Issue 12 on the in-process emulator (`aws` fixture): the seal of each round (recorded when the
lists lock, emailed to every participant through the outbox, once), the audit route, the
administrator's downloads re-verified by `caspr-match verify` against the published hashes,
and the personal explanations on Match Day (who may read which, nothing before the release)."""

from __future__ import annotations

import hashlib
import json

import pytest
from match_service_support import (
    CALENDAR,
    DAY,
    SEASON,
    match_app,
    principals,
    relay,
    rol_window_clock,
    seeded_service,
)
from test_match_service_api import call
from test_match_service_outbox import PLAN, RUN, recording_callbacks, task

from tests.fakes import FakeVerifier

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")]


@pytest.fixture
def clock():
    return rol_window_clock()


@pytest.fixture
def svc(aws, clock):
    with seeded_service(clock, applicants=8, contacts=True, verifier=FakeVerifier(principals(applicants=8)),
                        callbacks=recording_callbacks(), run=RUN) as service:
        yield service


@pytest.fixture
def client(svc):
    from chalice.test import Client

    with Client(match_app()) as c:
        yield c


def run_until(svc, last: tuple[str, str | None]) -> None:
    from match import workflow

    for name, rnd in PLAN:
        assert workflow.run_task(svc, task(name, rnd)) == "succeeded", (name, rnd)
        if (name, rnd) == last:
            return


def raw(client, path: str, who: str):
    response = client.http.get(f"/seasons/{SEASON}{path}", headers={"Authorization": f"Bearer {who}"})
    return response.status_code, response.body, response.headers


def sealed_mails(svc) -> list:
    return [m for m in svc.platform.mailer.sent if "input is sealed" in m.subject]


def test_the_seal_is_recorded_at_the_lock_and_emailed_to_every_participant_once(svc, client):
    from match import workflow

    status, body, _ = call(client, "GET", "/audit", "a3")
    assert status == 200 and body["rounds"] == [
        {"round": r, "snapshot_sha256": None, "sealed_at": None, "result_sha256": None, "published_at": None}
        for r in ("match", "mpii")]
    run_until(svc, ("take_snapshot", "match"))
    sha = svc.store.round_state(SEASON, "match").snapshot_sha256
    relay(svc)
    mails = sealed_mails(svc)
    # the participants: applicants with a certified list (not 6: uncertified; not 7: no list), the
    # contacts of the programs with a certified track list, and the administrator
    assert sorted(m.to for m in mails) == sorted([f"a{n}@test.caspr" for n in range(6)] + ["alerts@test.caspr"]
                                                 + [f"p{code}@test.caspr" for code in ("101", "102", "103")])
    assert all(m.body.startswith(f"The Match input is sealed: SHA-256 {sha}") for m in mails)
    # a retried step (a redelivered task) seals and sends nothing again
    assert workflow.run_task(svc, task("take_snapshot", "match")) == "succeeded"
    assert relay(svc) == 0 and len(sealed_mails(svc)) == 10
    status, body, _ = call(client, "GET", "/audit", "p101")
    match = body["rounds"][0]
    assert match["snapshot_sha256"] == sha and match["sealed_at"] is not None and match["result_sha256"] is None


def test_audit_hashes_are_of_the_downloaded_files_and_caspr_match_verify_accepts_them(svc, client, clock, tmp_path,
                                                                                      capsys):
    from match.cli import main

    run_until(svc, ("release_results", None))
    status, body, _ = call(client, "GET", "/audit", "a1")
    assert status == 200
    for row in body["rounds"]:
        assert row["snapshot_sha256"] and row["result_sha256"] and row["published_at"]
        status, snapshot, headers = raw(client, f"/audit/{row['round']}/snapshot", "admin")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert hashlib.sha256(snapshot).hexdigest() == row["snapshot_sha256"]  # the exact bytes sealed
        status, result, _ = raw(client, f"/audit/{row['round']}/result", "admin")
        assert status == 200 and hashlib.sha256(result).hexdigest() == row["result_sha256"]
        snap_file, result_file = tmp_path / f"{row['round']}-s.json", tmp_path / f"{row['round']}-r.json"
        snap_file.write_bytes(snapshot)
        result_file.write_bytes(result)
        capsys.readouterr()
        assert main(["verify", str(snap_file), str(result_file), "--snapshot-sha256", row["snapshot_sha256"],
                     "--result-sha256", row["result_sha256"]]) == 0
        out = capsys.readouterr().out
        assert out.startswith("OK: stable matching") and "the same result" in out
        # a result file changed by one byte is not the published one
        tampered = tmp_path / "t.json"
        tampered.write_bytes(result.replace(b"}}", b"} }", 1))
        assert main(["verify", str(snap_file), str(tampered), "--result-sha256", row["result_sha256"]]) == 1
        assert "not the stored result" in capsys.readouterr().out
        assert main(["verify", str(snap_file), str(result_file), "--snapshot-sha256", "0" * 64]) == 1
    # the files are the administrator's: nobody else downloads them
    assert raw(client, "/audit/match/snapshot", "a1")[0] == 403
    assert raw(client, "/audit/match/result", "p101")[0] == 403
    assert raw(client, "/audit/final/result", "admin")[0] in (400, 422)


def test_downloads_before_the_files_exist_are_404(svc, client):
    assert raw(client, "/audit/match/snapshot", "admin")[0] == 404
    run_until(svc, ("verify", "match"))
    assert raw(client, "/audit/match/snapshot", "admin")[0] == 200
    status, body, _ = raw(client, "/audit/match/result", "admin")
    assert status == 404 and b"not stored yet" in body  # a verified result is not the stored one yet


def test_explanations_only_from_match_day_and_only_ones_own(svc, client, clock):
    run_until(svc, ("store", "match"))
    status, body, _ = call(client, "GET", "/applicants/me/explanation", "a1")
    assert status == 409 and "M5" in body["type"] and "Match Day" in body["detail"]
    assert call(client, "GET", "/tracks/1031/explanation", "p103")[0] == 409
    run_until(svc, ("release_results", None))
    clock.set(CALENDAR["match_day"] - DAY / 24)  # released by the run, but the instant has not come
    assert call(client, "GET", "/applicants/me/explanation", "a1")[0] == 409
    clock.set(CALENDAR["match_day"] + DAY / 24)

    # applicant 1 ranked only 1011, which kept 10002 and 10000, both ranked above it
    status, body, _ = call(client, "GET", "/applicants/me/explanation", "a1")
    assert status == 200, body
    match = body["rounds"][0]
    assert match["round"] == "match" and match["matched_track_code"] is None
    assert [(line["track_code"], line["text"]) for line in match["lines"]] == [
        ("1011", "filled all its positions with applicants it ranked above you")]
    assert [r["round"] for r in body["rounds"]] == ["match", "mpii"]  # unmatched: it took part in MPII
    # applicant 0 matched its first choice: nothing ranked above it
    status, body, _ = call(client, "GET", "/applicants/10000/explanation", "a0")
    assert status == 200 and body["rounds"] == [{"round": "match", "matched_track_code": "1011", "lines": []}]
    # applicant 3 ranked 1021 first and matched it
    assert call(client, "GET", "/applicants/me/explanation", "a3")[1]["rounds"][0]["lines"] == []
    # another applicant's explanation is refused; the administrator reads any
    status, body, _ = call(client, "GET", "/applicants/10001/explanation", "a2")
    assert status == 403 and "M6" in body["type"]
    assert call(client, "GET", "/applicants/10001/explanation", "admin")[1]["code_number"] == "10001"
    assert call(client, "GET", "/applicants/99999/explanation", "admin")[0] == 404

    # 1031 has a free position: every applicant it ranked and did not get, grouped by reason, no one named
    status, body, _ = call(client, "GET", "/tracks/1031/explanation", "p103")
    assert status == 200, body
    match = body["rounds"][0]
    assert (match["round"], match["positions"], match["filled"]) == ("match", 2, 1)
    assert [line["text"] for line in match["lines"]] == ["matched to a program they ranked higher",
                                                         "did not rank this track"]
    assert match["counts"] == {"matched_higher": 1, "did_not_rank_track": 1}
    text = json.dumps(body)
    assert not any(f"1000{n}" in text for n in range(8)) and "app-" not in text  # no identities
    # 1011 filled its positions with the two it ranked highest: nobody above them missed
    assert call(client, "GET", "/tracks/1011/explanation", "p101")[1]["rounds"][0]["lines"] == []
    assert call(client, "GET", "/tracks/1031/explanation", "p101")[0] == 403  # another program's track
    assert call(client, "GET", "/tracks/1031/explanation", "admin")[0] == 200
    assert call(client, "GET", "/tracks/1031/explanation", "a1")[0] == 403


@pytest.mark.parametrize("method", ["save_snapshot", "notify_seal"])
def test_a_seal_step_that_dies_right_after_a_commit_is_retried_and_everyone_is_emailed_once(svc, method):
    from match import workflow
    from match.adapters.store import DynamoMatchStore

    class ProcessDied(BaseException):
        pass

    class DiesAfterCommit(DynamoMatchStore):
        died = False

        def save_snapshot(self, *args, **kwargs):
            return self._then_die("save_snapshot", super().save_snapshot(*args, **kwargs))

        def notify_seal(self, *args, **kwargs):
            return self._then_die("notify_seal", super().notify_seal(*args, **kwargs))

        def _then_die(self, name, result):
            if name == method and not DiesAfterCommit.died:
                DiesAfterCommit.died = True
                raise ProcessDied(name)
            return result

    svc.store = DiesAfterCommit()
    assert workflow.run_task(svc, task("lock_lists", "match")) == "succeeded"
    with pytest.raises(ProcessDied):
        workflow.run_task(svc, task("take_snapshot", "match"))
    assert workflow.run_task(svc, task("take_snapshot", "match")) == "succeeded"  # the task comes back
    assert workflow.run_task(svc, task("take_snapshot", "match")) == "succeeded"  # and once more
    relay(svc)
    mails = sealed_mails(svc)
    assert len(mails) == 10 and len({m.to for m in mails}) == 10  # each participant and the administrator, once
