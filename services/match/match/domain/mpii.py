"""MPII participants (M7) and the Post-Match list (M8), from stored results; MPII lists are
limited to MPII applications (M7: the applications delivered in round "mpii")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from match.domain.rol import ApplicantInfo, TrackInfo
from shared.errors import FieldError, RuleViolation


@dataclass(frozen=True)
class MpiiParticipants:
    applicant_codes: tuple[str, ...]  # code numbers, sorted
    track_positions: dict[str, int]  # track code -> unfilled positions after the Match

    @property
    def track_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self.track_positions))


def mpii_participants(applicants: Iterable[ApplicantInfo], matched_codes: Iterable[str],
                      unfilled: Mapping[str, int], withdrawn_tracks: Iterable[str] = ()) -> MpiiParticipants:
    """M7: every registered, not withdrawn, unmatched applicant (also one who ranked nothing)
    and every track, not withdrawn, with unfilled positions after the Match."""
    matched, closed = set(matched_codes), set(withdrawn_tracks)
    codes = sorted(a.code_number for a in applicants if not a.withdrawn and a.code_number not in matched)
    tracks = {code: int(n) for code, n in sorted(unfilled.items()) if int(n) > 0 and code not in closed}
    return MpiiParticipants(tuple(codes), tracks)


def require_applied_tracks(tracks: Iterable[str], known: Mapping[str, TrackInfo],
                           applied_programs: Iterable[str]) -> None:
    """M7: an applicant's MPII list names only tracks of programs it applied to in MPII."""
    applied, tracks = set(applied_programs), list(tracks)
    outside = [(i, code) for i, code in enumerate(tracks)
               if (known[code].program_code if code in known else code[:3]) not in applied]
    if outside:
        raise RuleViolation(
            "an MPII rank order list may rank only tracks of programs the applicant applied to in MPII "
            f"(M7); no MPII application to the program of: {', '.join(c for _, c in outside)}", rule="M7",
            errors=[FieldError(f"tracks[{i}]", "no MPII application to this program") for i, _ in outside])


def require_applied_applicants(codes: Iterable[str], program_code: str,
                               applied: Mapping[str, Iterable[str]]) -> None:
    """M7: a program's MPII list for a track names only applicants who applied to that program
    in MPII. ``applied``: code number -> the programs its MPII applications went to."""
    outside = [(i, c) for i, c in enumerate(codes) if program_code not in set(applied.get(c, ()))]
    if outside:
        raise RuleViolation(
            f"an MPII rank order list may rank only applicants who applied to program {program_code} in MPII "
            f"(M7); no MPII application from: {', '.join(c for _, c in outside)}", rule="M7",
            errors=[FieldError(f"applicants[{i}]", "no MPII application to this program") for i, _ in outside])


def post_match_list(mpii_unfilled: Mapping[str, int], tracks: Mapping[str, TrackInfo]) -> list[dict]:
    """M8: the positions still open after MPII, per track, with the program that offers them."""
    out = []
    for code, n in sorted(mpii_unfilled.items()):
        t = tracks.get(code)
        if int(n) <= 0 or (t is not None and t.withdrawn):  # a withdrawn track offers nothing (M3)
            continue
        out.append({"track_code": code, "track_name": t.name if t else None,
                    "program_code": t.program_code if t else code[:3],
                    "program_name": t.program_name if t else None, "open_positions": int(n)})
    return out
