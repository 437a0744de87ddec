"""Property-based tests of the Match engine and verifier (M2, M3, M4).

* stability: the verifier accepts every solver result;
* applicant-optimality: against brute force over all stable matchings (<= 5
  applicants, <= 3 tracks);
* agreement with the PyPI ``matching`` library (HospitalResident, resident
  optimal). That library requires every resident to rank at least one hospital,
  every hospital to rank exactly the residents who ranked it, and capacities of at
  least 1, and knows nothing of withdrawal. So the instance handed to it is
  reduced the way our rules read it: withdrawn participants and zero-position
  tracks are dropped, lists are cut to mutually acceptable pairs, and residents /
  hospitals left with empty lists are dropped (they are unmatched in any case);
* determinism: same bytes on re-runs and whatever the dict insertion order;
* the verifier's verdict equals a naive brute-force judgement on perturbed
  results, and it names planted blocking pairs, over-capacity and non-mutual
  matches.
"""

from __future__ import annotations

import importlib.util
import itertools
import pathlib
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from match.domain.engine import solve
from match.domain.snapshot import Result, Snapshot, dumps_result, parse_snapshot, snapshot_sha256
from match.domain.verify import verify

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def documents(draw, max_applicants=5, max_tracks=3, max_positions=3):
    n = draw(st.integers(0, max_applicants))
    m = draw(st.integers(0, max_tracks))
    apps = [f"{10000 + i}" for i in range(n)]
    tracks = [f"{1000 + j}" for j in range(m)]
    applicants = {a: draw(st.permutations(tracks))[: draw(st.integers(0, m))] for a in apps}
    track_docs = {}
    for t in tracks:
        # Mostly rank those who listed the track (as programs do), sometimes others too.
        listed = [a for a in apps if t in applicants[a]]
        pool = listed if draw(st.integers(0, 3)) else apps
        ranks = draw(st.permutations(pool))[: draw(st.integers(0, len(pool)))] if pool else []
        track_docs[t] = {"positions": draw(st.integers(0, max_positions)), "ranks": list(ranks)}
    withdrawn = (
        draw(st.lists(st.sampled_from(apps + tracks), unique=True, max_size=2)) if apps + tracks else []
    )
    return {
        "applicants": {a: list(p) for a, p in applicants.items()},
        "tracks": track_docs,
        "withdrawn": withdrawn,
    }


# --------------------------------------------------------------------------- naive reference code


def acceptable(s: Snapshot, a: str, t: str) -> bool:
    """a and t may be matched: both ranked each other, neither withdrawn, t has positions."""
    tr = s.tracks[t]
    return (
        a not in s.withdrawn
        and t not in s.withdrawn
        and tr.positions > 0
        and t in s.applicants[a]
        and a in tr.ranks
    )


def naive_is_stable(s: Snapshot, matches: dict) -> bool:
    """Valid (capacity, acceptability, everyone present) and no blocking pair, by brute force."""
    if set(matches) != set(s.applicants):
        return False
    for a, t in matches.items():
        if t is not None and (t not in s.tracks or not acceptable(s, a, t)):
            return False
    for t, tr in s.tracks.items():
        held = [a for a, m in matches.items() if m == t]
        if len(held) > tr.positions:
            return False
        for a in s.applicants:
            if not acceptable(s, a, t) or matches[a] == t:
                continue
            prefs = s.applicants[a]
            a_wants = matches[a] is None or prefs.index(t) < prefs.index(matches[a])
            t_wants = len(held) < tr.positions or any(tr.ranks.index(a) < tr.ranks.index(h) for h in held)
            if a_wants and t_wants:
                return False
    return True


def all_stable_matchings(s: Snapshot) -> list[dict]:
    codes = list(s.applicants)
    options = [[None] + [t for t in s.applicants[a] if acceptable(s, a, t)] for a in codes]
    stable = []
    for combo in itertools.product(*options):
        matches = dict(zip(codes, combo, strict=True))
        if naive_is_stable(s, matches):
            stable.append(matches)
    return stable


def via_matching_library(s: Snapshot) -> dict:
    from matching.games import HospitalResident

    open_tracks = {t for t, tr in s.tracks.items() if tr.positions > 0 and t not in s.withdrawn}
    residents = {}
    for a, prefs in s.applicants.items():
        if a in s.withdrawn:
            continue
        mutual = [t for t in prefs if t in open_tracks and a in s.tracks[t].rank_of]
        if mutual:
            residents[a] = mutual
    hospitals = {
        t: [a for a in s.tracks[t].ranks if a in residents and t in residents[a]] for t in open_tracks
    }
    hospitals = {t: ranks for t, ranks in hospitals.items() if ranks}
    out = dict.fromkeys(s.applicants)
    if not residents:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = HospitalResident.create_from_dictionaries(
            residents, hospitals, {t: s.tracks[t].positions for t in hospitals}
        )
        matching = game.solve(optimal="resident")
    for hospital, held in matching.items():
        for resident in held:
            out[resident.name] = hospital.name
    return out


def unfilled_for(s: Snapshot, matches: dict) -> dict:
    return {
        t: max(tr.positions - sum(1 for m in matches.values() if m == t), 0) for t, tr in s.tracks.items()
    }


# --------------------------------------------------------------------------- properties


@FAST
@given(documents(max_applicants=7, max_tracks=4))
def test_m2_solver_result_is_always_verified_stable(doc):
    s = parse_snapshot(doc)
    r = solve(s)
    assert verify(s, r) == []
    assert naive_is_stable(s, r.matches)
    assert r.unfilled == unfilled_for(s, r.matches)
    assert r.snapshot_sha256 == snapshot_sha256(s)


@settings(max_examples=200, deadline=None)
@given(documents(max_applicants=5, max_tracks=3, max_positions=2))
def test_m2_applicant_optimal_against_brute_force(doc):
    s = parse_snapshot(doc)
    r = solve(s)
    stable = all_stable_matchings(s)
    assert r.matches in stable
    for a, prefs in s.applicants.items():
        rank = {t: i for i, t in enumerate(prefs)}
        best = min((m[a] for m in stable if m[a] is not None), key=rank.__getitem__, default=None)
        assert r.matches[a] == best, (a, r.matches, stable)


@FAST
@given(documents(max_applicants=10, max_tracks=5, max_positions=3))
def test_m2_same_matching_as_the_matching_library(doc):
    s = parse_snapshot(doc)
    assert solve(s).matches == via_matching_library(s)


def test_m2_same_matching_as_the_matching_library_on_a_realistic_instance():
    path = pathlib.Path(__file__).resolve().parents[2] / "bench" / "instances.py"
    spec = importlib.util.spec_from_file_location("caspr_bench_instances", path)
    instances = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(instances)
    s = parse_snapshot(instances.generate(300, 45, seed=11))
    r = solve(s)
    assert verify(s, r) == []
    assert r.matches == via_matching_library(s)
    assert sum(t is not None for t in r.matches.values()) > 100


@FAST
@given(documents(max_applicants=8, max_tracks=4), st.randoms(use_true_random=False))
def test_m4_deterministic_bytes_whatever_the_insertion_order(doc, rnd):
    first = dumps_result(solve(parse_snapshot(doc)))
    assert dumps_result(solve(parse_snapshot(doc))) == first

    def shuffled(d: dict) -> dict:
        items = list(d.items())
        rnd.shuffle(items)
        return dict(items)

    tracks = {t: shuffled(dict(v)) for t, v in doc["tracks"].items()}
    withdrawn = list(doc["withdrawn"])
    rnd.shuffle(withdrawn)
    other = shuffled(
        {"applicants": shuffled(doc["applicants"]), "tracks": shuffled(tracks), "withdrawn": withdrawn}
    )
    assert dumps_result(solve(parse_snapshot(other))) == first


@FAST
@given(documents(max_applicants=6, max_tracks=3), st.data())
def test_m2_verifier_verdict_equals_brute_force_on_perturbed_results(doc, data):
    s = parse_snapshot(doc)
    matches = dict(solve(s).matches)
    codes = list(s.applicants)
    if codes:
        for _ in range(data.draw(st.integers(0, 3))):
            a = data.draw(st.sampled_from(codes))
            matches[a] = data.draw(st.sampled_from([None, *s.tracks]))
    r = Result(matches=matches, unfilled=unfilled_for(s, matches), snapshot_sha256=snapshot_sha256(s))
    assert (verify(s, r) == []) == naive_is_stable(s, matches)


@FAST
@given(documents(max_applicants=7, max_tracks=4), st.data())
def test_m2_verifier_names_a_planted_blocking_pair(doc, data):
    s = parse_snapshot(doc)
    matches = dict(solve(s).matches)
    matched = sorted(a for a, t in matches.items() if t is not None)
    if not matched:
        return
    a = data.draw(st.sampled_from(matched))
    t = matches[a]
    matches[a] = None  # a and t ranked each other, t now has a free position
    r = Result(matches=matches, unfilled=unfilled_for(s, matches), snapshot_sha256=snapshot_sha256(s))
    out = verify(s, r)
    assert any(line.startswith(f'blocking pair: applicant "{a}" and track "{t}"') for line in out), out


@FAST
@given(documents(max_applicants=7, max_tracks=4), st.data())
def test_m2_verifier_names_over_capacity(doc, data):
    s = parse_snapshot(doc)
    matches = dict(solve(s).matches)
    if not s.tracks or not s.applicants:
        return
    t = data.draw(st.sampled_from(sorted(s.tracks)))
    others = [a for a in s.applicants if matches[a] != t]
    need = s.tracks[t].positions + 1 - (len(s.applicants) - len(others))
    if need > len(others):
        return
    for a in others[:need]:
        matches[a] = t
    r = Result(matches=matches, unfilled=unfilled_for(s, matches), snapshot_sha256=snapshot_sha256(s))
    out = verify(s, r)
    assert any(line.startswith(f'track "{t}" holds ') for line in out), out


@FAST
@given(documents(max_applicants=7, max_tracks=4), st.data())
def test_m2_verifier_names_a_non_mutual_match(doc, data):
    s = parse_snapshot(doc)
    pairs = [
        (a, t)
        for a in s.applicants
        for t in s.tracks
        if t not in s.applicants[a] or a not in s.tracks[t].rank_of
    ]
    if not pairs:
        return
    a, t = data.draw(st.sampled_from(pairs))
    matches = {**solve(s).matches, a: t}
    r = Result(matches=matches, unfilled=unfilled_for(s, matches), snapshot_sha256=snapshot_sha256(s))
    out = verify(s, r)
    assert any(
        line.startswith(f'applicant "{a}" matched to track "{t}": the') and "did not rank" in line
        for line in out
    ), out
