"""Who sees which result when (M5, M6), and the views each side gets.

Nothing is visible before its release instant: the status (matched/unmatched;
a program's unfilled positions) from Match Status Day, the full results
(program and track; matched applicants) from Match Day. Both need the run to
have released them *and* the calendar instant to have passed, so a run started
late or a clock that has not reached the instant reveals nothing early. Each
side sees only its own (M6); administrators see everything.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from match.domain.rol import ApplicantInfo, TrackInfo
from match.domain.season import MATCH_DAY, STATUS_DAY, Calendar
from shared.clock import iso
from shared.errors import Forbidden

STATUS = "status"
RESULTS = "results"


@dataclass(frozen=True)
class ReleaseState:
    status_released_at: datetime | None = None
    results_released_at: datetime | None = None


@dataclass(frozen=True)
class TrackOutcome:
    """One track's result of one round."""

    track_code: str
    positions: int
    unfilled: int
    matched: tuple[str, ...] = ()  # code numbers


@dataclass(frozen=True)
class ApplicantOutcome:
    round: str
    code_number: str
    track_code: str | None


@dataclass(frozen=True)
class RoundSummary:
    round: str
    run_id: str
    snapshot_sha256: str
    stored_at: datetime | None
    statistics: dict = field(default_factory=dict)


def stage(release: ReleaseState, calendar: Calendar, now: datetime) -> str | None:
    if release.results_released_at is not None and calendar.passed(MATCH_DAY, now):
        return RESULTS
    if release.status_released_at is not None and calendar.passed(STATUS_DAY, now):
        return STATUS
    return None


def require_released(release: ReleaseState, calendar: Calendar, now: datetime) -> str:
    """M6: results are confidential until released."""
    current = stage(release, calendar, now)
    if current is None:
        when = calendar.instants.get(STATUS_DAY)
        at = f" ({iso(when)})" if when else ""
        raise Forbidden(f"Match results of season {calendar.season} are confidential until they are released on "
                        f"Match Status Day{at}", rule="M6")
    return current


def _track_fields(code: str | None, tracks: Mapping[str, TrackInfo]) -> dict:
    if code is None:
        return {}
    t = tracks.get(code)
    return {"track_code": code, "track_name": t.name if t else None,
            "program_code": t.program_code if t else code[:3], "program_name": t.program_name if t else None}


def applicant_view(current: str, applicant: ApplicantInfo, match: ApplicantOutcome | None,
                   mpii_participant: bool, mpii: ApplicantOutcome | None,
                   tracks: Mapping[str, TrackInfo]) -> dict:
    """M5: on Match Status Day matched/unmatched only; on Match Day program and track
    (of the Match, or of MPII for an MPII participant)."""
    matched = match is not None and match.track_code is not None
    view: dict = {"season": applicant.season, "applicant_id": applicant.applicant_id,
                  "code_number": applicant.code_number, "released": current,
                  "match": {"status": "matched" if matched else "unmatched"},
                  "mpii": {"participant": mpii_participant}}
    if current == RESULTS:
        if matched:
            view["match"].update(_track_fields(match.track_code, tracks))
        if mpii_participant:
            got = mpii is not None and mpii.track_code is not None
            view["mpii"]["status"] = "matched" if got else "unmatched"
            if got:
                view["mpii"].update(_track_fields(mpii.track_code, tracks))
    return view


def program_view(current: str, program_code: str, season: str, tracks: Iterable[TrackInfo],
                 match: Mapping[str, TrackOutcome], mpii: Mapping[str, TrackOutcome],
                 applicants_by_code: Mapping[str, ApplicantInfo], mpii_tracks: Collection[str] | None = None) -> dict:
    """M5: on Match Status Day a program learns its unfilled positions per track; on Match Day
    its matched applicants (Match and MPII). `mpii_tracks`: the tracks taking part in MPII
    (None until MPII opens: then a track with unfilled positions, not withdrawn, will)."""
    rows = []
    for t in sorted(tracks, key=lambda t: t.track_code):
        m = match.get(t.track_code)
        row: dict = {"track_code": t.track_code, "track_name": t.name,
                     "positions": m.positions if m else t.positions,
                     "unfilled": m.unfilled if m else t.positions}
        row["in_mpii"] = (t.track_code in mpii_tracks if mpii_tracks is not None
                          else row["unfilled"] > 0 and not t.withdrawn)  # M7
        if current == RESULTS:
            matched = []
            for rnd, outcome in (("match", m), ("mpii", mpii.get(t.track_code))):
                for code in outcome.matched if outcome else ():
                    a = applicants_by_code.get(code)
                    matched.append({"round": rnd, "code_number": code,
                                    "applicant_id": a.applicant_id if a else None,
                                    "name": a.name if a else None, "email": a.email if a else None})
            row["matched"] = matched
            p = mpii.get(t.track_code)
            row["unfilled_after_mpii"] = p.unfilled if p else row["unfilled"]
        rows.append(row)
    return {"season": season, "program_code": program_code, "released": current, "tracks": rows}


def run_statistics(document: Mapping, matches: Mapping[str, str | None], unfilled: Mapping[str, int]) -> dict:
    """Administrator's figures of one round."""
    applicants = document["applicants"]
    tracks = document["tracks"]
    withdrawn = set(document.get("withdrawn", ()))
    open_tracks = {code: t for code, t in tracks.items() if code not in withdrawn}  # M3: withdrawn offer nothing
    positions = sum(int(t["positions"]) for t in open_tracks.values())
    open_unfilled = sum(int(unfilled.get(code, 0)) for code in open_tracks)
    matched = sum(1 for t in matches.values() if t is not None)
    participating = [c for c in applicants if c not in withdrawn]
    return {
        "applicants": len(applicants),
        "applicants_with_certified_list": sum(1 for c, lst in applicants.items() if lst),
        "withdrawn_applicants": len(withdrawn & set(applicants)),
        "tracks": len(tracks),
        "withdrawn_tracks": len(withdrawn & set(tracks)),
        "tracks_with_certified_list": sum(1 for t in tracks.values() if t["ranks"]),
        "positions": positions,
        "matched": matched,
        "unmatched": len(participating) - matched,
        "filled_positions": positions - open_unfilled,
        "unfilled_positions": open_unfilled,
        "tracks_filled": sum(1 for code, t in open_tracks.items()
                             if int(t["positions"]) > 0 and int(unfilled.get(code, 0)) == 0),
        "match_rate": round(matched / len(participating), 4) if participating else 0.0,
    }
