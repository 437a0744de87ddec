"""A Match anyone can check (issue 12): the seal of each round and the personal explanation.

Pure: no AWS, no JSON reading (the snapshot and result come parsed, see ``snapshot``).

The seal
--------
``snapshot_sha256`` (see :mod:`match.domain.snapshot`) is the SHA-256 of the canonical JSON
text of the round's snapshot; the service stores exactly that text, so the SHA-256 of the
downloaded snapshot file's bytes *is* the sealed hash. ``result_sha256`` is the SHA-256 of the
exact bytes of the stored result file (canonical JSON + one newline, ``dumps_result``), the
bytes the administrator downloads. Both are recorded once (first write wins) and published.

The explanation (stability, line by line)
-----------------------------------------
A result is stable when no applicant ``a`` and track ``t`` (neither withdrawn) would both
rather have each other: for every track ``t`` that ``a`` ranked above its match (every
track it ranked, if unmatched), either ``t`` did not rank ``a``, or ``t`` filled all its
positions with applicants it ranked above ``a``. Seen from the track: for every applicant
``t`` ranked above one it matched (everyone it ranked and did not get, when it has a free
position), either the applicant did not rank ``t``, or the applicant matched to a track it
ranked higher. Each pair gets exactly the reason that holds; a pair for which none holds is a
blocking pair, and :class:`Unexplained` is raised: the result was not stable (a stored,
verified result never raises it). Withdrawn participants are skipped by the run (M3): their
pairs read "withdrew from the Match".

No line names another applicant or a rank number: an applicant's lines name the tracks it
ranked itself (in its own order); a track's lines name no applicant and are grouped by
reason, so their order reveals nothing about whom they concern.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from .snapshot import Result, Snapshot

# applicant side
DID_NOT_RANK_YOU = "did_not_rank_you"
FILLED_ABOVE_YOU = "filled_above_you"
TRACK_WITHDREW = "track_withdrew"
# track side
DID_NOT_RANK_TRACK = "did_not_rank_track"
MATCHED_HIGHER = "matched_higher"
APPLICANT_WITHDREW = "applicant_withdrew"

TEXTS: dict[str, str] = {
    DID_NOT_RANK_YOU: "did not rank you",
    FILLED_ABOVE_YOU: "filled all its positions with applicants it ranked above you",
    TRACK_WITHDREW: "withdrew from the Match",
    DID_NOT_RANK_TRACK: "did not rank this track",
    MATCHED_HIGHER: "matched to a program they ranked higher",
    APPLICANT_WITHDREW: "withdrew from the Match",
}
_TRACK_ORDER = (MATCHED_HIGHER, DID_NOT_RANK_TRACK, APPLICANT_WITHDREW)


class Unexplained(ValueError):
    """A pair no stability condition explains: a blocking pair (the result is not stable)."""


def result_sha256(data: bytes | str) -> str:
    """Lowercase hex SHA-256 of the exact bytes of a stored result file."""
    return hashlib.sha256(data.encode("ascii") if isinstance(data, str) else data).hexdigest()


def held(result: Result) -> dict[str, list[str]]:
    """Track code -> the applicants matched to it."""
    out: dict[str, list[str]] = {}
    for code, track in result.matches.items():
        if track is not None:
            out.setdefault(track, []).append(code)
    return out


@dataclass(frozen=True)
class ApplicantLine:
    track_code: str
    reason: str

    @property
    def text(self) -> str:
        return TEXTS[self.reason]


def applicant_reason(snapshot: Snapshot, holders: Mapping[str, list[str]], code: str, track_code: str) -> str:
    """Why `track_code`, which applicant `code` ranked above its match, did not take it."""
    if track_code in snapshot.withdrawn:
        return TRACK_WITHDREW
    track = snapshot.tracks[track_code]
    mine = track.rank_of.get(code)
    if mine is None:
        return DID_NOT_RANK_YOU
    others = holders.get(track_code, ())
    if len(others) >= track.positions and all(track.rank_of.get(h, mine) < mine for h in others):
        return FILLED_ABOVE_YOU
    raise Unexplained(f"applicant {code} and track {track_code} would both rather have each other "
                      "(a blocking pair: the result is not stable)")


def explain_applicant(snapshot: Snapshot, result: Result, code: str,
                      holders: Mapping[str, list[str]] | None = None) -> list[ApplicantLine]:
    """One line per track the applicant ranked above the one it matched (all, if unmatched),
    in the applicant's own order. A withdrawn applicant took no part: no lines."""
    if code in snapshot.withdrawn or code not in snapshot.applicants:
        return []
    prefs = snapshot.applicants[code]
    match = result.matches.get(code)
    if match is None:
        above = prefs
    else:
        try:
            above = prefs[:prefs.index(match)]
        except ValueError:
            raise Unexplained(f"applicant {code} is matched to track {match}, which it did not rank") from None
    holders = held(result) if holders is None else holders
    return [ApplicantLine(t, applicant_reason(snapshot, holders, code, t)) for t in above]


def track_reason(snapshot: Snapshot, result: Result, code: str, track_code: str) -> str:
    """Why applicant `code`, whom the track ranked above one it matched (or ranked at all, with a
    free position), is not matched to it."""
    if code in snapshot.withdrawn:
        return APPLICANT_WITHDREW
    prefs = snapshot.applicants[code]
    if track_code not in prefs:
        return DID_NOT_RANK_TRACK
    match = result.matches.get(code)
    if match is not None and match in prefs and prefs.index(match) < prefs.index(track_code):
        return MATCHED_HIGHER
    raise Unexplained(f"track {track_code} and applicant {code} would both rather have each other "
                      "(a blocking pair: the result is not stable)")


def track_candidates(snapshot: Snapshot, result: Result, track_code: str,
                     holders: Mapping[str, list[str]] | None = None) -> list[str]:
    """The applicants the track ranked above one it matched; when it has a free position, every
    applicant it ranked and did not get."""
    track = snapshot.tracks[track_code]
    mine = (held(result) if holders is None else holders).get(track_code, [])
    if len(mine) < track.positions:
        return [a for a in track.ranks if result.matches.get(a) != track_code]
    if not mine:
        return []
    worst = max(track.rank_of.get(h, -1) for h in mine)
    return [a for a in track.ranks[:worst] if result.matches.get(a) != track_code]


def explain_track(snapshot: Snapshot, result: Result, track_code: str,
                  holders: Mapping[str, list[str]] | None = None) -> list[str]:
    """One reason per applicant the track missed (see track_candidates), grouped by reason: no
    identity and no order that would tell who is who. A withdrawn track took no part: none."""
    if track_code in snapshot.withdrawn or track_code not in snapshot.tracks:
        return []
    reasons = [track_reason(snapshot, result, a, track_code)
               for a in track_candidates(snapshot, result, track_code, holders)]
    return sorted(reasons, key=_TRACK_ORDER.index)


def explains_everything(snapshot: Snapshot, result: Result) -> bool:
    """True when every pair of every applicant and every track has its line (both sides); False
    when some pair is a blocking pair. For a stored result always True."""
    holders = held(result)
    try:
        for code in snapshot.applicants:
            explain_applicant(snapshot, result, code, holders)
        for track_code in snapshot.tracks:
            explain_track(snapshot, result, track_code, holders)
    except Unexplained:
        return False
    return True


def seal_email_body(season: str, round_label: str, sha: str, sealed_at: str) -> tuple[str, str]:
    """(subject, body) of the email that publishes a round's seal to its participants."""
    subject = f"CASPR {round_label} {season}: the Match input is sealed"
    body = (f"The {round_label} input is sealed: SHA-256 {sha}\n\n"
            f"At {sealed_at} the certified rank order lists of season {season} locked and the snapshot the "
            f"{round_label} runs on was taken. Its SHA-256 above is fixed now, before the run: the result is "
            "computed from exactly this input and nothing else.\n\n"
            f"The seal and, once stored, the result's SHA-256: GET /match/seasons/{season}/audit (signed in). "
            "An auditor given the snapshot and result files checks both with "
            "`caspr-match verify SNAPSHOT.json RESULT.json --snapshot-sha256 <seal> --result-sha256 <hash>`.")
    return subject, body
