"""Independent verifier of a Match result (M2, M3, M4).

This module deliberately shares no code with ``engine``: it re-derives
everything from the snapshot and the result on its own code path, so a bug
in the solver cannot hide itself. ``verify(snapshot, result)`` returns a list
of human-readable violations; an empty list means the result is a valid,
stable matching of exactly this snapshot:

* ``snapshot_sha256`` is the hash of this snapshot;
* every applicant of the snapshot is in ``matches`` and no one else is;
  every matched track exists;
* mutual acceptability: a matched applicant ranked the track and the track
  ranked the applicant;
* no withdrawn applicant is matched and no one is matched to a withdrawn
  track (M3);
* no track holds more applicants than its positions;
* ``unfilled`` lists every track, and only tracks, with positions - matched;
* no blocking pair: an applicant ``a`` and a track ``t``, neither withdrawn,
  who ranked each other, where ``a`` is unmatched or prefers ``t`` to its
  match, and ``t`` has a free position or ranks ``a`` above its worst matched
  applicant.

Cost is linear in the number of list entries. For each applicant the set of
tracks it prefers to its match is built (in C); for each track only the
applicants it ranks above its worst held one (everyone it ranks, if it has a
free position) can block, and testing them is one C-level pass.

It checks stability, not applicant-optimality (that needs the solver's own
reasoning); the test suite checks optimality against brute force.
"""

from __future__ import annotations

from itertools import islice, repeat
from operator import contains

from .snapshot import Result, Snapshot, gc_paused, snapshot_sha256

__all__ = ["verify"]

_NOTHING: tuple[str, ...] = ()
_SHORT = 16  # prefixes up to this length are scanned as tuples; longer ones become sets


def _better(prefix: tuple[str, ...]) -> tuple[str, ...] | frozenset[str]:
    """Tracks an applicant prefers to its match, in a form cheap to build and to test.

    A short tuple costs one copy and at most _SHORT comparisons per test; a long
    list becomes a frozenset, so the whole check stays linear in list entries.
    """
    return prefix if len(prefix) <= _SHORT else frozenset(prefix)


def _q(code: object) -> str:
    return f'"{code}"' if isinstance(code, str) else repr(code)


def verify(snapshot: Snapshot, result: Result) -> list[str]:
    """Return every violation found in ``result`` for ``snapshot`` (empty list = stable)."""
    with gc_paused():
        return _verify(snapshot, result)


def _verify(snapshot: Snapshot, result: Result) -> list[str]:
    out: list[str] = []
    applicants = snapshot.applicants
    tracks = snapshot.tracks
    withdrawn = snapshot.withdrawn
    matches = result.matches

    expected_sha = snapshot_sha256(snapshot)
    if result.snapshot_sha256 != expected_sha:
        out.append(
            f"snapshot_sha256 {result.snapshot_sha256} does not match the snapshot (expected {expected_sha})"
        )

    if len(matches) != len(applicants) or matches.keys() != applicants.keys():
        for code in matches:
            if code not in applicants:
                out.append(f"matches names unknown applicant {_q(code)}")
        for code in applicants:
            if code not in matches:
                out.append(f"applicant {_q(code)} is missing from matches")

    # Applicants: where each one is held, and which tracks it would rather have.
    held, prefers = _applicant_pass(snapshot, matches, out)

    # Tracks: capacity, acceptability, unfilled counts, blocking pairs.
    unfilled = result.unfilled
    if unfilled.keys() != tracks.keys():
        for code in unfilled:
            if code not in tracks:
                out.append(f"unfilled names unknown track {_q(code)}")
    prefers_of = prefers.__getitem__
    for code, track in tracks.items():
        holders = held[code]
        positions = track.positions
        count = len(holders)
        if count > positions:
            out.append(f"track {_q(code)} holds {count} applicants but has {positions} positions")
        want = max(positions - count, 0)
        got = unfilled.get(code)
        if got is None:
            out.append(f"track {_q(code)} is missing from unfilled (expected {want})")
        elif got != want:
            out.append(f"unfilled[{_q(code)}] is {got}, expected {want}")

        rank_of = track.rank_of
        ranks = track.ranks
        worst = -1
        for applicant in holders:
            rank = rank_of.get(applicant)
            if rank is None:
                out.append(
                    f"applicant {_q(applicant)} matched to track {_q(code)}: the track did not rank the applicant"
                )
                rank = len(ranks)
            if rank > worst:
                worst = rank
        if code in withdrawn or positions == 0:
            continue  # can block with no one
        free = positions - count
        limit = len(ranks) if free > 0 else worst  # only those ranked above the worst held
        if limit <= 0:
            continue
        candidates = islice(ranks, limit)
        try:
            blocked = any(map(contains, map(prefers_of, candidates), repeat(code)))
        except KeyError as exc:  # only with a Snapshot built by hand, not by parse_snapshot
            out.append(f"track {_q(code)} ranks unknown applicant {exc}")
            continue
        if blocked:
            out.extend(_blocking(snapshot, matches, prefers, code, limit, free, worst))
    return out


def _applicant_pass(snapshot: Snapshot, matches: dict, out: list[str]) -> tuple[dict, dict]:
    """Group applicants by matched track and collect, per applicant who could block, the
    tracks it prefers to its match; report every applicant-side problem met."""
    applicants = snapshot.applicants
    withdrawn = snapshot.withdrawn
    held: dict[str, list[str]] = {code: [] for code in snapshot.tracks}
    prefers: dict[str, tuple[str, ...] | frozenset[str]] = dict.fromkeys(applicants, _NOTHING)
    get_match = matches.get
    for code, prefs in applicants.items():
        track = get_match(code)
        if track is None:
            if prefs and code not in withdrawn:
                prefers[code] = prefs if len(prefs) <= _SHORT else frozenset(prefs)
            continue
        holders = held.get(track)
        if holders is None:
            out.append(f"applicant {_q(code)} matched to track {_q(track)}: unknown track")
            if code not in withdrawn:
                prefers[code] = _better(prefs)
            continue
        holders.append(code)
        if code in withdrawn or track in withdrawn:
            if code in withdrawn:
                out.append(f"applicant {_q(code)} matched to track {_q(track)}: the applicant is withdrawn")
            if track in withdrawn:
                out.append(f"applicant {_q(code)} matched to track {_q(track)}: the track is withdrawn")
        try:
            choice = prefs.index(track)
        except ValueError:
            out.append(
                f"applicant {_q(code)} matched to track {_q(track)}: the applicant did not rank the track"
            )
            choice = len(prefs)
        if choice and code not in withdrawn:
            prefers[code] = prefs[:choice] if choice <= _SHORT else frozenset(prefs[:choice])
    return held, prefers


def _blocking(
    snapshot: Snapshot, matches: dict, prefers: dict, code: str, limit: int, free: int, worst: int
) -> list[str]:
    """Describe every blocking pair of track ``code`` (slow path, only on failure)."""
    applicants = snapshot.applicants
    ranks = snapshot.tracks[code].ranks
    found = []
    for rank in range(limit):
        applicant = ranks[rank]
        if code not in prefers.get(applicant, ()):
            continue
        prefs = applicants[applicant]
        mine = matches.get(applicant)
        if mine is None:
            side_a = "is unmatched"
        elif mine in prefs:
            side_a = f"prefers it (choice {prefs.index(code) + 1}) to its match {_q(mine)} (choice {prefs.index(mine) + 1})"
        else:
            side_a = f"is matched to {_q(mine)}, which it did not rank"
        if free > 0:
            side_t = f"has {free} free position(s)"
        else:
            side_t = f"ranks the applicant {rank + 1}, above its worst matched applicant (rank {worst + 1})"
        found.append(
            f"blocking pair: applicant {_q(applicant)} and track {_q(code)} ranked each other; "
            f"the applicant {side_a}; the track {side_t}"
        )
    return found
