"""Statistics of the Match (M5, M6, M8): the pure figures on hand-made snapshots and results
(match.domain.statistics), then the administrator's routes on the in-process emulator (JSON, the
two CSVs, 404 for an unknown season, 409 before the Match result is stored, nobody else)."""

from __future__ import annotations

import csv
import io

import pytest

# the season of the audit tests (8 applicants, submit_lists, a run record), on the emulator
from test_match_audit_service import client, clock, run_until, svc  # noqa: F401  (fixtures)

from match.domain.engine import solve
from match.domain.snapshot import Result, parse_snapshot
from match.domain.statistics import TrackLabel, round_statistics, summary_csv, tracks_csv


def snapshot(applicants: dict, tracks: dict, withdrawn=()):
    return parse_snapshot({"applicants": applicants,
                           "tracks": {c: {"positions": p, "ranks": r} for c, (p, r) in tracks.items()},
                           "withdrawn": list(withdrawn)})


def result(matches: dict, snap) -> Result:
    held: dict[str, int] = {}
    for t in matches.values():
        if t is not None:
            held[t] = held.get(t, 0) + 1
    return Result(matches=matches, unfilled={c: t.positions - held.get(c, 0) for c, t in snap.tracks.items()},
                  snapshot_sha256="0" * 64)


def test_choice_distribution_counts_the_place_of_the_match_on_the_applicants_own_list():
    snap = snapshot(
        {"a1": ["t1"], "a2": ["t1", "t2"], "a3": ["t1", "t2", "t3"], "a4": ["t1", "t2", "t3", "t4", "t5"],
         "a5": ["t1", "t2", "t3", "t4", "t5"], "a6": ["t1"], "a7": []},
        {"t1": (1, ["a1", "a2", "a3", "a4", "a5", "a6"]), "t2": (1, ["a2", "a3", "a4", "a5"]),
         "t3": (1, ["a3", "a4", "a5"]), "t4": (1, ["a4", "a5"]), "t5": (2, ["a5"])})
    res = result({"a1": "t1", "a2": "t2", "a3": "t3", "a4": "t4", "a5": "t5", "a6": None, "a7": None}, snap)
    s = round_statistics("match", snap, res)
    assert s.choices == {"1": 1, "2": 1, "3": 1, "4+": 2}
    assert s.choice_shares == {"1": 0.2, "2": 0.2, "3": 0.2, "4+": 0.4}
    # a7 certified an empty list: it did not rank; a6 ranked and did not match
    assert (s.applicants_ranked, s.applicants_matched, s.match_rate) == (6, 5, 0.8333)
    assert (s.positions_offered, s.positions_filled, s.positions_unfilled, s.fill_rate) == (6, 5, 1, 0.8333)
    assert [(t.track_code, t.positions, t.filled, t.unfilled, t.applicants_ranking) for t in s.tracks] == [
        ("t1", 1, 1, 0, 6), ("t2", 1, 1, 0, 4), ("t3", 1, 1, 0, 3), ("t4", 1, 1, 0, 2), ("t5", 2, 1, 1, 2)]


def test_m3_withdrawn_applicants_and_tracks_offer_rank_and_fill_nothing():
    snap = snapshot({"a1": ["1011", "1021"], "a2": ["1011"], "a3": ["1021"]},
                    {"1011": (2, ["a1", "a2"]), "1021": (3, ["a1", "a3"])}, withdrawn=["1021", "a3"])
    res = solve(snap)  # the engine skips the withdrawn (M3)
    assert res.matches == {"a1": "1011", "a2": "1011", "a3": None}
    s = round_statistics("match", snap, res, {"1011": TrackLabel("101", "PMSR/RRA", "Program 101")})
    assert (s.applicants_ranked, s.applicants_matched, s.match_rate) == (2, 2, 1.0)
    assert (s.positions_offered, s.positions_filled, s.fill_rate) == (2, 2, 1.0)
    one, two = s.tracks
    assert (one.program_code, one.track_name, one.program_name, one.applicants_ranking) == (
        "101", "PMSR/RRA", "Program 101", 2)
    # a track the service has no label for: its program is the first three digits of its code
    assert (two.program_code, two.track_name, two.withdrawn, two.positions, two.filled, two.unfilled) == (
        "102", None, True, 0, 0, 0)
    assert two.applicants_ranking == 1  # a1; a3 withdrew


def test_nothing_ranked_nothing_offered_gives_rates_of_zero_not_a_division_error():
    snap = snapshot({"a1": []}, {"1011": (0, [])})
    s = round_statistics("mpii", snap, result({"a1": None}, snap))
    assert (s.fill_rate, s.match_rate, s.choice_shares["1"]) == (0.0, 0.0, 0.0)


def test_statistics_agree_with_the_engine_on_a_random_season():
    import random

    rng = random.Random(12)
    tracks = [f"{100 + p}{d}" for p in range(8) for d in (1, 2)]
    people = [f"{10000 + n}" for n in range(60)]
    prefs = {a: rng.sample(tracks, rng.randint(0, 6)) for a in people}
    ranks = {t: [a for a in people if t in prefs[a] and rng.random() < 0.8] for t in tracks}
    snap = snapshot(prefs, {t: (rng.randint(0, 4), ranks[t]) for t in tracks})
    res = solve(snap)
    s = round_statistics("match", snap, res)
    matched = [a for a, t in res.matches.items() if t is not None]
    assert s.applicants_matched == len(matched) == sum(s.choices.values()) == s.positions_filled
    assert s.positions_unfilled == sum(res.unfilled.values())
    assert s.applicants_ranked == sum(1 for p in prefs.values() if p)
    assert sum(t.applicants_ranking for t in s.tracks) == sum(len(p) for p in prefs.values())
    firsts = sum(1 for a in matched if prefs[a][0] == res.matches[a])
    assert s.choices["1"] == firsts


def test_the_csvs_have_one_row_per_track_per_round_and_one_summary_row_per_round():
    snap = snapshot({"a1": ["1011", "1021"], "a2": ["1011"]}, {"1011": (1, ["a2", "a1"]), "1021": (2, ["a1"])})
    rounds = [round_statistics("match", snap, solve(snap)),
              round_statistics("mpii", snap, result({"a1": None, "a2": None}, snap))]
    rows = list(csv.DictReader(io.StringIO(tracks_csv(rounds))))
    assert [(r["round"], r["track_code"], r["positions"], r["filled"], r["unfilled"], r["fill_rate"])
            for r in rows] == [("match", "1011", "1", "1", "0", "1.0"), ("match", "1021", "2", "1", "1", "0.5"),
                               ("mpii", "1011", "1", "0", "1", "0.0"), ("mpii", "1021", "2", "0", "2", "0.0")]
    summary = list(csv.DictReader(io.StringIO(summary_csv(rounds))))
    assert [(r["round"], r["applicants_matched"], r["matched_choice_1"], r["matched_choice_2"],
             r["share_choice_2"]) for r in summary] == [("match", "2", "1", "1", "0.5"), ("mpii", "0", "0", "0", "0.0")]


# ----------------------------------------------------------------------------- the routes (emulator)
def get(http_client, path: str, who: str = "admin"):
    from match_service_support import SEASON

    r = http_client.http.get(f"/seasons/{SEASON}{path}", headers={"Authorization": f"Bearer {who}"})
    return r.status_code, r.body, r.headers


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")
def test_statistics_routes_before_and_after_the_match_ran(svc, client):  # noqa: F811 (fixtures)
    import json

    status, body, headers = get(client, "/statistics")
    assert status == 409 and headers["Content-Type"] == "application/problem+json"
    assert "has not run yet" in json.loads(body)["detail"]
    assert get(client, "/statistics.csv")[0] == 409
    r = client.http.get("/seasons/nope/statistics", headers={"Authorization": "Bearer admin"})
    assert r.status_code == 404 and b"not known to the match service" in r.body

    run_until(svc, ("store", "match"))
    status, body, _ = get(client, "/statistics")
    assert status == 200
    rounds = json.loads(body)["rounds"]
    assert [r["round"] for r in rounds] == ["match"]  # MPII not stored yet
    m = rounds[0]
    # submit_lists: 0->1011, 2->1011, 3->1021, 4->1022, 5->1031, all first choices; 1 unmatched;
    # 6's list is uncertified (M1): it did not rank
    assert (m["positions_offered"], m["positions_filled"], m["positions_unfilled"], m["fill_rate"]) == (6, 5, 1, 0.8333)
    assert (m["applicants_ranked"], m["applicants_matched"], m["match_rate"]) == (6, 5, 0.8333)
    assert m["choices"] == {"1": 5, "2": 0, "3": 0, "4+": 0}
    assert [(t["track_code"], t["program_code"], t["filled"], t["unfilled"], t["applicants_ranking"])
            for t in m["tracks"]] == [("1011", "101", 2, 0, 4), ("1021", "102", 1, 0, 2), ("1022", "102", 1, 0, 1),
                                      ("1031", "103", 1, 1, 2)]
    assert m["tracks"][0]["track_name"] == "PMSR/RRA 1011"

    status, body, headers = get(client, "/statistics.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r["round"], r["track_code"], r["filled"]) for r in rows] == [
        ("match", "1011", "2"), ("match", "1021", "1"), ("match", "1022", "1"), ("match", "1031", "1")]
    status, body, _ = get(client, "/statistics-summary.csv")
    assert status == 200
    (summary,) = csv.DictReader(io.StringIO(body.decode()))
    assert (summary["round"], summary["applicants_matched"], summary["match_rate"]) == ("match", "5", "0.8333")

    # M6: administrators only
    assert get(client, "/statistics", "a0")[0] == 403
    assert get(client, "/statistics.csv", "p101")[0] == 403

    run_until(svc, ("release_results", None))
    rounds = json.loads(get(client, "/statistics")[1])["rounds"]
    assert [r["round"] for r in rounds] == ["match", "mpii"]
    assert [(t["track_code"], t["positions"]) for t in rounds[1]["tracks"]] == [("1031", 1)]  # M7: unfilled only
