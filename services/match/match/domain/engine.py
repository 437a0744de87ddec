"""The Match solver: applicant-proposing deferred acceptance over tracks (M2, M3).

``solve(snapshot)`` returns the applicant-optimal stable matching of a
:class:`~match.domain.snapshot.Snapshot`:

* each applicant proposes down their list, most preferred track first;
* a track holds its most preferred proposers up to its ``positions`` and
  rejects the rest (a newcomer displaces the worst held applicant when the
  track ranks the newcomer higher);
* a pair can match only if each side ranked the other (mutual
  acceptability): a proposal to a track that did not rank the applicant is
  rejected on the spot;
* withdrawn applicants never propose and withdrawn tracks reject everyone
  (M3): both stay on the lists, the run just skips them. Zero-position
  tracks likewise hold nobody.

With strict preferences the applicant-optimal stable matching is unique, so
the result depends neither on the order in which applicants propose nor on
dict insertion order; ``snapshot.dumps_result`` serialises it canonically, so
a re-run gives the same bytes (M4).

Two implementations of the same algorithm: the compiled ``_native.solve``
(``_native.c``, built by setup.py), used when it is importable, and the
pure-Python ``solve_reference`` below, which is the readable reference the
property tests compare the compiled one against (and the fallback where no C
compiler was available). ``IMPLEMENTATION`` says which one ``solve`` uses.

Implementation notes on the reference (pure Python, tuned for ~500,000 list entries):

* every open track is one tuple ``(rank_of, held, ranks)``: ``rank_of`` is the
  snapshot's applicant -> rank dict, ``held`` a max-heap of the ranks it holds,
  padded with ``_FREE`` sentinels up to ``positions``. The heap top is then
  always the acceptance threshold: a proposal is accepted iff its rank is
  smaller, and ``heapreplace`` returns either ``_FREE`` (a free position was
  taken) or the rank of the displaced applicant, ``ranks[rank]``. An
  applicant the track did not rank gets rank ``_FREE`` and never passes; a
  closed track (withdrawn, no positions) has ``held == [-1]``, which nothing
  passes. One dict lookup, one compare, no allocation per rejected proposal.
* every applicant keeps an iterator over its list (the next-proposal
  pointer); a displaced applicant resumes proposing at once (McVitie-Wilson
  order), so no queue of free applicants is needed.
* the cyclic garbage collector is paused during the run (no cycles are made).
"""

from __future__ import annotations

import heapq

from .snapshot import Result, Snapshot, SnapshotError, gc_paused, native_index, snapshot_sha256

try:
    from . import _native
except ImportError:  # pragma: no cover - a build without a C compiler
    _native = None

__all__ = ["IMPLEMENTATION", "solve", "solve_matches", "solve_reference"]

IMPLEMENTATION = "native (C)" if _native is not None else "pure Python"

# Sentinel rank: a free position, and the rank of "not ranked". Below 2**30 so every
# compare stays on CPython's fast path for single-digit ints; ranks never get near it.
_FREE = (1 << 30) - 1


def _heapreplace_max_py(heap: list[int], item: int) -> int:
    """Pop the largest item of a max-heap and push ``item`` (fallback if heapq lacks it)."""
    top = heap[0]
    n = len(heap)
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        if child + 1 < n and heap[child + 1] > heap[child]:
            child += 1
        if heap[child] <= item:
            break
        heap[pos] = heap[child]
        pos = child
    heap[pos] = item
    return top


# C implementation: public as heapreplace_max from 3.14, private before.
_heapreplace_max = (
    getattr(heapq, "heapreplace_max", None) or getattr(heapq, "_heapreplace_max", None) or _heapreplace_max_py
)


def _run(snapshot: Snapshot) -> dict[str, tuple[dict[str, int], list[int], tuple[str, ...]]]:
    free = _FREE
    replace = _heapreplace_max
    withdrawn = snapshot.withdrawn
    closed = ({}, [-1], ())
    state = {
        # A track never holds more than it ranked: cap the heap (positions may be huge).
        code: (track.rank_of, [free] * min(track.positions, len(track.ranks)), track.ranks)
        if track.positions > 0 and track.ranks and code not in withdrawn
        else closed
        for code, track in snapshot.tracks.items()
    }
    pointers = {
        code: iter(prefs) for code, prefs in snapshot.applicants.items() if prefs and code not in withdrawn
    }
    try:
        for proposer, it in pointers.items():
            while True:
                for track in it:
                    rank_of, held, ranks = state[track]
                    rank = rank_of.get(proposer, free)
                    if rank < held[0]:
                        out = replace(held, rank)
                        break
                else:
                    break  # list exhausted: unmatched
                if out is free:
                    break  # took a free position
                proposer = ranks[out]  # displaced: proposes further down its own list
                it = pointers[proposer]
    except KeyError as exc:  # only reachable with a Snapshot built by hand, not by parse_snapshot
        raise SnapshotError(
            f"an applicant list names unknown track {exc}; build snapshots with parse_snapshot"
        ) from None
    return state


def solve_matches(snapshot: Snapshot) -> dict[str, str | None]:
    """Applicant-optimal stable matching: applicant code -> track code or ``None``."""
    return solve(snapshot).matches


def solve(snapshot: Snapshot) -> Result:
    """Run the Match on ``snapshot`` and return the :class:`Result` (M2, M3)."""
    if _native is None:
        return solve_reference(snapshot)
    with gc_paused():
        index = native_index(snapshot)
        try:
            if index is not None:  # read by loads_snapshot: integer arrays ready
                matches, unfilled = _native.solve_index(index)
            else:
                matches, unfilled = _native.solve(snapshot.applicants, snapshot.tracks, snapshot.withdrawn)
        except KeyError as exc:  # only reachable with a Snapshot built by hand, not by parse_snapshot
            raise SnapshotError(
                f"an applicant list names unknown track {exc}; build snapshots with parse_snapshot"
            ) from None
        sha = snapshot_sha256(snapshot)
    return Result(matches=matches, unfilled=unfilled, snapshot_sha256=sha)


def solve_reference(snapshot: Snapshot) -> Result:
    """The pure-Python reference implementation of :func:`solve` (same result, byte for byte)."""
    free = _FREE
    with gc_paused():
        state = _run(snapshot)
        matches: dict[str, str | None] = dict.fromkeys(snapshot.applicants)
        unfilled: dict[str, int] = {}
        for code, track in snapshot.tracks.items():
            _, held, ranks = state[code]
            taken = 0
            if ranks:
                for rank in held:
                    if rank is not free:
                        matches[ranks[rank]] = code
                        taken += 1
            unfilled[code] = track.positions - taken
        sha = snapshot_sha256(snapshot)
    return Result(matches=matches, unfilled=unfilled, snapshot_sha256=sha)
