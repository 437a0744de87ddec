"""The administrator's statistics of a round (M5, M6, M8): computed from the round's stored
snapshot and result, the same two files whose SHA-256 is published at /audit, so every figure
can be recomputed by anyone who holds them.

Pure: no AWS, no JSON reading (the snapshot and result come parsed, see ``snapshot``).

Definitions (withdrawn participants took no part, M3):

* positions offered: the positions of the tracks not withdrawn; filled: those positions held
  by a matched applicant; fill rate = filled / offered (0 when nothing was offered);
* applicants who ranked: applicants not withdrawn whose certified list (the snapshot holds
  only certified lists, M1) names at least one track; matched: those the result places;
  match rate = matched / applicants who ranked;
* choice: the place of the matched track on the applicant's own list (1 = first choice);
  shares are of the matched applicants, ``4+`` gathers every later choice;
* per track: positions, filled, unfilled (positions - filled; a withdrawn track offers and
  fills nothing), and how many applicants (not withdrawn) ranked it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .snapshot import Result, Snapshot

CHOICES = ("1", "2", "3", "4+")


@dataclass(frozen=True)
class TrackLabel:
    """What the service knows of a track besides the snapshot (names are not in it)."""

    program_code: str
    track_name: str | None = None
    program_name: str | None = None


@dataclass(frozen=True)
class TrackStatistics:
    track_code: str
    program_code: str
    track_name: str | None
    program_name: str | None
    positions: int
    filled: int
    unfilled: int
    applicants_ranking: int
    withdrawn: bool


@dataclass(frozen=True)
class RoundStatistics:
    round: str
    positions_offered: int
    positions_filled: int
    fill_rate: float
    applicants_ranked: int
    applicants_matched: int
    match_rate: float
    choices: dict[str, int] = field(default_factory=dict)  # "1", "2", "3", "4+" -> matched applicants
    choice_shares: dict[str, float] = field(default_factory=dict)
    tracks: tuple[TrackStatistics, ...] = ()

    @property
    def positions_unfilled(self) -> int:
        return self.positions_offered - self.positions_filled


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _choice(n: int) -> str:
    return CHOICES[min(n, len(CHOICES)) - 1]


def round_statistics(rnd: str, snapshot: Snapshot, result: Result,
                     labels: Mapping[str, TrackLabel] | None = None) -> RoundStatistics:
    """The figures of one round. `labels`: names of the tracks and programs (a track the
    service no longer knows is labelled with the first three digits of its code)."""
    labels = labels or {}
    withdrawn = snapshot.withdrawn
    ranking: dict[str, int] = dict.fromkeys(snapshot.tracks, 0)
    ranked = 0
    for code, prefs in snapshot.applicants.items():
        if code in withdrawn or not prefs:
            continue
        ranked += 1
        for track_code in prefs:
            ranking[track_code] += 1
    filled: dict[str, int] = dict.fromkeys(snapshot.tracks, 0)
    choices = dict.fromkeys(CHOICES, 0)
    matched = 0
    for code, track_code in result.matches.items():
        if track_code is None:
            continue
        matched += 1
        filled[track_code] = filled.get(track_code, 0) + 1
        prefs = snapshot.applicants.get(code, ())
        choices[_choice(prefs.index(track_code) + 1 if track_code in prefs else len(CHOICES))] += 1
    rows = []
    for track_code in sorted(snapshot.tracks):
        track = snapshot.tracks[track_code]
        out = track_code in withdrawn
        label = labels.get(track_code) or TrackLabel(program_code=track_code[:3])
        positions = 0 if out else track.positions
        got = 0 if out else filled[track_code]
        rows.append(TrackStatistics(track_code=track_code, program_code=label.program_code,
                                    track_name=label.track_name, program_name=label.program_name,
                                    positions=positions, filled=got, unfilled=positions - got,
                                    applicants_ranking=ranking[track_code], withdrawn=out))
    offered = sum(t.positions for t in rows)
    taken = sum(t.filled for t in rows)
    return RoundStatistics(round=rnd, positions_offered=offered, positions_filled=taken,
                           fill_rate=_rate(taken, offered), applicants_ranked=ranked, applicants_matched=matched,
                           match_rate=_rate(matched, ranked), choices=choices,
                           choice_shares={k: _rate(v, matched) for k, v in choices.items()}, tracks=tuple(rows))


TRACK_COLUMNS = ("round", "track_code", "track_name", "program_code", "program_name", "positions", "filled",
                 "unfilled", "fill_rate", "applicants_ranking", "withdrawn")
SUMMARY_COLUMNS = ("round", "positions_offered", "positions_filled", "positions_unfilled", "fill_rate",
                   "applicants_ranked", "applicants_matched", "match_rate",
                   *(f"matched_choice_{c}" for c in CHOICES), *(f"share_choice_{c}" for c in CHOICES))


def _csv(columns: Iterable[str], rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def tracks_csv(rounds: Iterable[RoundStatistics]) -> str:
    """One row per track per round (RFC 4180, header first)."""
    return _csv(TRACK_COLUMNS, (
        (r.round, t.track_code, t.track_name or "", t.program_code, t.program_name or "", t.positions, t.filled,
         t.unfilled, _rate(t.filled, t.positions), t.applicants_ranking, "yes" if t.withdrawn else "no")
        for r in rounds for t in r.tracks))


def summary_csv(rounds: Iterable[RoundStatistics]) -> str:
    """One row per round: the totals, the rates and the choice distribution."""
    return _csv(SUMMARY_COLUMNS, (
        (r.round, r.positions_offered, r.positions_filled, r.positions_unfilled, r.fill_rate, r.applicants_ranked,
         r.applicants_matched, r.match_rate, *(r.choices[c] for c in CHOICES), *(r.choice_shares[c] for c in CHOICES))
        for r in rounds))
