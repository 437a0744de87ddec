"""Independent verifier (M2 stable and verified before publishing, M3 withdrawn never matched, M4 same snapshot)."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import match.domain.verify as verify_module
from match.domain.engine import solve
from match.domain.snapshot import Result, parse_snapshot, snapshot_sha256
from match.domain.verify import verify

DOC = {
    "applicants": {
        "a": ["T", "U"],
        "b": ["T", "U"],
        "c": ["U", "T"],
        "d": ["V"],
        "e": ["T"],
        "w": ["T"],
    },
    "tracks": {
        "T": {"positions": 1, "ranks": ["w", "a", "b", "c", "e"]},
        "U": {"positions": 2, "ranks": ["b", "c", "a"]},
        "V": {"positions": 1, "ranks": ["d"]},
        "X": {"positions": 1, "ranks": ["a"]},
    },
    "withdrawn": ["w", "X"],
}


@pytest.fixture
def snap():
    return parse_snapshot(DOC)


def result(snap, matches, unfilled=None, sha=None):
    """A Result with unfilled counts computed from matches unless given."""
    if unfilled is None:
        unfilled = {
            code: t.positions - sum(1 for m in matches.values() if m == code)
            for code, t in snap.tracks.items()
        }
        unfilled = {code: max(n, 0) for code, n in unfilled.items()}
    return Result(matches=matches, unfilled=unfilled, snapshot_sha256=sha or snapshot_sha256(snap))


STABLE = {"a": "T", "b": "U", "c": "U", "d": "V", "e": None, "w": None}


def test_m2_solver_result_is_the_expected_stable_matching(snap):
    r = solve(snap)
    assert r.matches == STABLE
    assert verify(snap, r) == []


def test_m2_hand_built_stable_result_passes(snap):
    assert verify(snap, result(snap, dict(STABLE))) == []


def test_m4_wrong_snapshot_hash(snap):
    out = verify(snap, result(snap, dict(STABLE), sha="0" * 64))
    assert len(out) == 1 and "snapshot_sha256" in out[0] and "does not match" in out[0]


def test_m2_missing_and_unknown_applicants(snap):
    matches = dict(STABLE)
    del matches["e"]
    matches["zz"] = None
    out = verify(snap, result(snap, matches))
    assert 'applicant "e" is missing from matches' in out
    assert 'matches names unknown applicant "zz"' in out


def test_m2_unknown_track(snap):
    out = verify(snap, result(snap, {**STABLE, "e": "NOPE"}))
    assert 'applicant "e" matched to track "NOPE": unknown track' in out


def test_m3_withdrawn_applicant_matched(snap):
    matches = {**STABLE, "a": None, "w": "T"}
    out = verify(snap, result(snap, matches))
    assert 'applicant "w" matched to track "T": the applicant is withdrawn' in out


def test_m3_matched_to_withdrawn_track(snap):
    matches = {**STABLE, "a": "X"}
    out = verify(snap, result(snap, matches))
    assert 'applicant "a" matched to track "X": the track is withdrawn' in out
    # a did not list X either
    assert 'applicant "a" matched to track "X": the applicant did not rank the track' in out


def test_m2_non_mutual_match_is_reported_from_both_sides(snap):
    # d never listed T; T never ranked d.
    matches = {**STABLE, "a": None, "d": "T"}
    out = verify(snap, result(snap, matches))
    assert 'applicant "d" matched to track "T": the applicant did not rank the track' in out
    assert 'applicant "d" matched to track "T": the track did not rank the applicant' in out


def test_m2_over_capacity(snap):
    matches = {**STABLE, "e": "T"}
    out = verify(snap, result(snap, matches))
    assert 'track "T" holds 2 applicants but has 1 positions' in out


def test_m2_unfilled_counts(snap):
    good = result(snap, dict(STABLE)).unfilled
    out = verify(snap, result(snap, dict(STABLE), unfilled={**good, "V": 1}))
    assert 'unfilled["V"] is 1, expected 0' in out
    missing = dict(good)
    del missing["X"]
    out = verify(snap, result(snap, dict(STABLE), unfilled={**missing, "Q": 3}))
    assert 'track "X" is missing from unfilled (expected 1)' in out
    assert 'unfilled names unknown track "Q"' in out


def test_m2_blocking_pair_with_a_free_position(snap):
    # d unmatched although V (free) and d ranked each other.
    out = verify(snap, result(snap, {**STABLE, "d": None}))
    assert out == [
        'blocking pair: applicant "d" and track "V" ranked each other; '
        "the applicant is unmatched; the track has 1 free position(s)"
    ]


def test_m2_blocking_pair_with_a_worse_held_applicant(snap):
    # T holds b although it ranks a higher and a prefers T to U.
    out = verify(snap, result(snap, {**STABLE, "a": "U", "b": "T", "c": "U"}))
    assert any(
        line.startswith('blocking pair: applicant "a" and track "T"')
        and "prefers it (choice 1) to its match" in line
        and "above its worst matched applicant" in line
        for line in out
    ), out


def test_m3_withdrawn_participants_never_block(snap):
    # w (withdrawn) is T's favourite and unmatched; X (withdrawn) ranks a with a free position.
    assert verify(snap, result(snap, dict(STABLE))) == []


def test_m2_track_preferring_its_own_holders_is_not_blocked(snap):
    # e is unmatched and lists T, but T holds a, whom it ranks above e.
    assert verify(snap, result(snap, dict(STABLE))) == []


def test_m2_verifier_lists_every_violation_not_just_the_first(snap):
    matches = {code: None for code in snap.applicants}
    out = verify(snap, result(snap, matches, sha="f" * 64))
    assert sum(line.startswith("blocking pair") for line in out) >= 3
    assert any("snapshot_sha256" in line for line in out)


def test_m2_verifier_is_independent_of_the_engine():
    source = pathlib.Path(verify_module.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not any("engine" in name for name in imported), imported
    code = "import sys, match.domain.verify; sys.exit('match.domain.engine' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_m2_blocking_pair_found_behind_a_long_preference_list():
    # Prefix longer than the verifier's tuple/set switch: the blocking track is the 20th choice.
    tracks = [f"T{i:02d}" for i in range(25)]
    doc = {
        "applicants": {"a": tracks, "b": ["T19"]},
        "tracks": {t: {"positions": 1, "ranks": ["a", "b"] if t == "T19" else []} for t in tracks},
    }
    s = parse_snapshot(doc)
    assert verify(s, solve(s)) == []
    r = result(s, {"a": None, "b": "T19"})
    out = verify(s, r)
    assert out == [
        'blocking pair: applicant "a" and track "T19" ranked each other; the applicant is unmatched; '
        "the track ranks the applicant 1, above its worst matched applicant (rank 2)"
    ]
    r = result(s, {"a": "T24", "b": "T19"})  # matched to its 25th choice, which did not rank it
    out = verify(s, r)
    assert 'applicant "a" matched to track "T24": the track did not rank the applicant' in out
    assert any(
        line.startswith('blocking pair: applicant "a" and track "T19"') and "choice 20" in line
        for line in out
    )


def test_m2_hand_built_snapshot_with_unknown_ranked_applicant_is_reported():
    from match.domain.snapshot import Snapshot, Track

    s = Snapshot(applicants={"a": ("T",)}, tracks={"T": Track(1, ("ghost", "a"))})
    out = verify(s, result(s, {"a": None}))
    assert "track \"T\" ranks unknown applicant 'ghost'" in out
