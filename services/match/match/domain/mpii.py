"""MPII participants (M7) and the Post-Match list (M8), from stored results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from match.domain.rol import ApplicantInfo, TrackInfo


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
