"""The season simulator (issue 12, `caspr-season simulate --url`) against the shared local stack:
a small season of its own (8 applicants, 3 programs) played phase by phase to Match Day; the
report's numbers are checked against the API (the administrator's results, each program's and
each applicant's own results, the outbox). The clock ends one minute past the season's Match
Day: later tests make their seasons from the current time (Stack.new_season), so it stays usable."""

from __future__ import annotations

import pytest
import requests

from caspr_season.__main__ import main
from caspr_season.simulate import PHASES, Simulation

pytestmark = pytest.mark.e2e


def test_a_small_season_played_to_match_day_agrees_with_the_results_api(stack):
    before = len(requests.get(f"{stack.url}/_local/outbox", timeout=120).json()["messages"])
    sim = Simulation(stack.url, stack.admin_email, stack.admin_password, applicants=8, programs=3, seed=7,
                     season="2099", workers=6, quiet=True)  # a season id no other test uses
    report = sim.run()
    assert [name for name, *_ in report.phases] == list(PHASES)  # every phase ran
    season = report.season
    base = f"{stack.url}/match/seasons/{season}"

    # the run went through every step, both rounds stored and released
    runs = stack.admin.get(f"{base}/runs", timeout=30).json()["runs"]
    assert runs[-1]["status"] == "SUCCEEDED" and runs[-1]["completed_steps"] == runs[-1]["planned_steps"]
    results = stack.admin.get(f"{base}/results", timeout=30).json()
    assert results["results_released_at"] is not None
    match = {m["code_number"]: m["track_code"] for m in results["rounds"]["match"]["matches"] if m["track_code"]}
    mpii = {m["code_number"]: m["track_code"] for m in results["rounds"]["mpii"]["matches"] if m["track_code"]}
    assert (report.matched_match, report.matched_mpii) == (len(match), len(mpii))
    assert report.matched == len(set(match) | set(mpii)) > 0

    # each applicant's own result (M5, Match Day) says the same
    for a in sim.applicants:
        me = requests.get(f"{base}/results/me", headers={"Authorization": f"Bearer {a.token}"},
                          timeout=30).json()["applicant"]
        assert me["released"] == "results"
        assert (me["match"]["status"] == "matched") == (a.code in match), (a.code, me)
        if a.code in match:
            assert me["match"]["track_code"] == match[a.code]
    assert report.first_choice == sum(1 for a in sim.applicants if a.rol and match.get(a.code) == a.rol[0])

    # each program's own result: positions and filled add up to the report's fill rate
    positions = filled = 0
    for p in sim.programs:
        prog = requests.get(f"{base}/results/me", headers={"Authorization": f"Bearer {p.token}"},
                            timeout=30).json()["program"]
        assert sorted(t["track_code"] for t in prog["tracks"]) == sorted(p.tracks)
        for t in prog["tracks"]:
            positions += p.tracks[t["track_code"]]
            filled += len(t["matched"] or [])
    assert (report.positions, report.filled) == (positions, filled)
    assert report.fill_rate == pytest.approx(filled / positions)
    ranked = sum(1 for a in sim.applicants if a.rol or a.mpii_rol)
    assert report.ranked == ranked and report.match_rate == pytest.approx(report.matched / ranked)

    # the emails counted: at least every one sent to the season's people, at most the outbox's new messages
    after = requests.get(f"{stack.url}/_local/outbox", timeout=120).json()["messages"]
    people = {a.email for a in sim.applicants} | {sim.writer(a, i) for a in sim.applicants for i in range(3)}
    ours = [m for m in after[before:] if people & {addr.lower() for addr in m["to"]}]
    assert {a.email for a in sim.applicants} <= {addr.lower() for m in ours for addr in m["to"]}
    assert len(ours) <= report.emails <= len(after) - before
    assert report.requests >= sum(reqs for _, _, reqs, _ in report.phases) > 0


def test_the_command_refuses_bad_sizes_and_a_url_without_the_admin_password(capsys, monkeypatch):
    monkeypatch.delenv("CASPR_ADMIN_PASSWORD", raising=False)
    for argv in (["simulate", "--applicants", "0", "--programs", "3"],
                 ["simulate", "--applicants", "5", "--programs", "900"],
                 ["simulate", "--applicants", "5", "--programs", "3", "--url", "http://127.0.0.1:9"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--applicants at least 1" in err and "--admin-password" in err


def test_the_command_without_a_url_plays_on_a_stack_of_its_own_with_the_emulator_in_its_own_process():
    """`caspr-season simulate` without --url: its own stack, moto in a process of its own
    (caspr_local.emulator.EmulatorProcess), the whole season to Match Day, as JSON."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run([sys.executable, "-m", "caspr_season", "simulate", "--applicants", "6", "--programs", "2",
                           "--seed", "3", "--quiet", "--json"], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert [p["name"] for p in report["phases"]] == list(PHASES)
    assert report["applicants"] == 6 and report["positions"] > 0
    assert 0 < report["filled"] <= report["positions"] and report["matched"] == report["filled"]
    assert report["emails"] > 6 * 3  # at least each applicant's confirmation and three letter requests
