"""Issue 12, pure parts: the personal explanation is exactly the stability conditions of the
result, on random seasons (seeded); the result's hash is of the stored bytes; the seal email.

For every applicant and every track it ranked above its match (all, if unmatched), the line
says which stability condition holds: the track did not rank it, or the track is full with
applicants it ranked above it (a withdrawn track: it withdrew, M3). Seen from a track, for
every applicant it ranked above one it matched (every one it did not get, with a free
position): the applicant did not rank it, or matched to a track it ranked higher. A pair for
which no condition holds is a blocking pair: the explanation refuses it (Unexplained), and
that happens exactly when the matching is not stable (checked on arbitrary matchings)."""

from __future__ import annotations

import hashlib
import random

import pytest

from match.domain import audit
from match.domain.engine import solve
from match.domain.snapshot import Result, dumps_result, parse_snapshot, snapshot_sha256
from match.domain.verify import verify

SEEDS = range(200)


def random_snapshot(rng: random.Random):
    apps = [f"{10000 + i}" for i in range(rng.randint(1, 14))]
    tracks = [f"{1011 + 10 * i}" for i in range(rng.randint(1, 6))]
    doc = {"applicants": {a: rng.sample(tracks, rng.randint(0, len(tracks))) for a in apps},
           "tracks": {t: {"positions": rng.choice([0, 1, 1, 2, 2, 3]),
                          "ranks": rng.sample(apps, rng.randint(0, len(apps)))} for t in tracks},
           "withdrawn": sorted(c for c in apps + tracks if rng.random() < 0.08)}
    return parse_snapshot(doc)


def holders_of(matches: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a, t in matches.items():
        if t is not None:
            out.setdefault(t, []).append(a)
    return out


def expected_applicant_reason(snapshot, matches, a, t) -> str | None:
    """The stability condition, written out on its own (None: a blocking pair)."""
    if t in snapshot.withdrawn:
        return audit.TRACK_WITHDREW
    track = snapshot.tracks[t]
    if a not in track.ranks:
        return audit.DID_NOT_RANK_YOU
    held = holders_of(matches).get(t, [])
    if len(held) >= track.positions and all(track.ranks.index(h) < track.ranks.index(a) for h in held):
        return audit.FILLED_ABOVE_YOU
    return None


def expected_track_reason(snapshot, matches, a, t) -> str | None:
    if a in snapshot.withdrawn:
        return audit.APPLICANT_WITHDREW
    prefs = snapshot.applicants[a]
    if t not in prefs:
        return audit.DID_NOT_RANK_TRACK
    m = matches.get(a)
    if m is not None and prefs.index(m) < prefs.index(t):
        return audit.MATCHED_HIGHER
    return None


def prefers(snapshot, matches, a) -> list[str]:
    """The tracks `a` ranked above its match, in its order (all it ranked, if unmatched)."""
    prefs = list(snapshot.applicants[a])
    m = matches.get(a)
    return prefs if m is None else prefs[:prefs.index(m)]


def track_misses(snapshot, matches, t) -> list[str]:
    track = snapshot.tracks[t]
    held = holders_of(matches).get(t, [])
    if len(held) < track.positions:
        return [a for a in track.ranks if matches.get(a) != t]
    if not held:
        return []
    worst = max(track.ranks.index(h) for h in held)
    return [a for a in track.ranks[:worst] if matches.get(a) != t]


@pytest.mark.parametrize("seed", SEEDS)
def test_explanation_lines_are_exactly_the_stability_conditions_of_the_result(seed):
    rng = random.Random(seed)
    snapshot = random_snapshot(rng)
    result = solve(snapshot)
    assert verify(snapshot, result) == []
    matches = dict(result.matches)
    for a in snapshot.applicants:
        lines = audit.explain_applicant(snapshot, result, a)
        if a in snapshot.withdrawn:
            assert lines == [] and matches[a] is None
            continue
        # one line per track the applicant prefers to its match, in the applicant's own order
        assert [line.track_code for line in lines] == prefers(snapshot, matches, a)
        for line in lines:
            want = expected_applicant_reason(snapshot, matches, a, line.track_code)
            assert want is not None, f"seed {seed}: blocking pair {a}/{line.track_code} in a stable result"
            assert line.reason == want
            assert line.text in ("did not rank you", "filled all its positions with applicants it ranked above you",
                                 "withdrew from the Match")
    for t in snapshot.tracks:
        reasons = audit.explain_track(snapshot, result, t)
        if t in snapshot.withdrawn:
            assert reasons == []
            continue
        want = [expected_track_reason(snapshot, matches, a, t) for a in track_misses(snapshot, matches, t)]
        assert None not in want, f"seed {seed}: blocking pair in a stable result"
        assert sorted(reasons) == sorted(want)  # one per missed applicant, the condition that holds
        assert reasons == sorted(reasons, key=[audit.MATCHED_HIGHER, audit.DID_NOT_RANK_TRACK,
                                               audit.APPLICANT_WITHDREW].index)  # grouped: no order leaks who
        assert all(audit.TEXTS[r] in ("matched to a program they ranked higher", "did not rank this track",
                                      "withdrew from the Match") for r in reasons)


def random_matching(rng: random.Random, snapshot) -> Result:
    """Any matching that respects capacities and mutual acceptability (stable or not)."""
    room = {t: s.positions for t, s in snapshot.tracks.items() if t not in snapshot.withdrawn}
    matches: dict[str, str | None] = dict.fromkeys(snapshot.applicants)
    order = list(snapshot.applicants)
    rng.shuffle(order)
    for a in order:
        if a in snapshot.withdrawn or rng.random() < 0.3:
            continue
        options = [t for t in snapshot.applicants[a] if room.get(t, 0) > 0 and a in snapshot.tracks[t].rank_of]
        if options:
            t = rng.choice(options)
            matches[a] = t
            room[t] -= 1
    unfilled = {t: s.positions - sum(1 for m in matches.values() if m == t) for t, s in snapshot.tracks.items()}
    return Result(matches=matches, unfilled=unfilled, snapshot_sha256=snapshot_sha256(snapshot))


def blocking_pairs(snapshot, matches) -> set[tuple[str, str]]:
    out = set()
    for a in snapshot.applicants:
        if a in snapshot.withdrawn:
            continue
        for t in prefers(snapshot, matches, a):
            if t not in snapshot.withdrawn and expected_applicant_reason(snapshot, matches, a, t) is None:
                out.add((a, t))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_a_pair_is_unexplained_exactly_when_it_blocks_so_a_stable_matching_never_has_another_case(seed):
    rng = random.Random(10_000 + seed)
    snapshot = random_snapshot(rng)
    for _ in range(5):
        result = random_matching(rng, snapshot)
        blocking = blocking_pairs(snapshot, result.matches)
        verifier_says_stable = not any("blocking pair" in v for v in verify(snapshot, result))
        assert verifier_says_stable == (not blocking)
        assert audit.explains_everything(snapshot, result) == (not blocking)
        for a, t in blocking:  # each blocking pair is refused from both sides
            with pytest.raises(audit.Unexplained):
                audit.applicant_reason(snapshot, audit.held(result), a, t)
            with pytest.raises(audit.Unexplained):
                audit.track_reason(snapshot, result, a, t)


def test_an_unstable_result_is_refused_not_explained():
    snapshot = parse_snapshot({"applicants": {"10001": ["1011"], "10002": ["1011"]},
                               "tracks": {"1011": {"positions": 1, "ranks": ["10001", "10002"]}}})
    good = solve(snapshot)
    assert good.matches == {"10001": "1011", "10002": None}
    lines = audit.explain_applicant(snapshot, good, "10002")
    assert [(line.track_code, line.text) for line in lines] == [
        ("1011", "filled all its positions with applicants it ranked above you")]
    assert audit.explain_track(snapshot, good, "1011") == []  # full, nobody ranked above its match missed
    bad = Result(matches={"10001": None, "10002": "1011"}, unfilled={"1011": 0},
                 snapshot_sha256=good.snapshot_sha256)
    with pytest.raises(audit.Unexplained, match="blocking pair"):
        audit.explain_applicant(snapshot, bad, "10001")
    with pytest.raises(audit.Unexplained):
        audit.explain_track(snapshot, bad, "1011")


def test_lines_name_no_other_applicant_and_no_rank_number():
    snapshot = parse_snapshot({
        "applicants": {"10001": ["1011", "1021"], "10002": ["1021", "1011"], "10003": ["1011"]},
        "tracks": {"1011": {"positions": 1, "ranks": ["10002", "10001", "10003"]},
                   "1021": {"positions": 1, "ranks": ["10001"]}}})
    result = solve(snapshot)
    for code in snapshot.applicants:
        for line in audit.explain_applicant(snapshot, result, code):
            assert not any(other in line.text for other in snapshot.applicants)
            assert not any(ch.isdigit() for ch in line.text)
    for t in snapshot.tracks:
        for reason in audit.explain_track(snapshot, result, t):
            assert not any(ch.isdigit() for ch in audit.TEXTS[reason])


def test_result_sha256_is_of_the_exact_stored_bytes():
    snapshot = random_snapshot(random.Random(7))
    data = dumps_result(solve(snapshot))
    assert audit.result_sha256(data) == hashlib.sha256(data).hexdigest() == audit.result_sha256(data.decode())


def test_the_seal_email_names_the_hash_and_how_to_check_it():
    subject, body = audit.seal_email_body("2024", "Match", "ab" * 32, "2024-02-19T05:00:00Z")
    assert "sealed" in subject
    assert body.startswith(f"The Match input is sealed: SHA-256 {'ab' * 32}")
    assert "GET /match/seasons/2024/audit" in body and "caspr-match verify" in body
