"""Rank order lists (M1, M3, M7): what a list may hold, certification, flags.

An applicant ranks tracks (track codes); a program ranks applicants, one list per
track (stored as the applicants' code numbers). Lists have no length limit. Any
edit uncertifies a list; only certified lists count in a run. Withdrawn
participants stay on lists, flagged, and the run skips them (M3). In the MPII
round both sides may rank only MPII participants (M7), and further only where an MPII
application was delivered: an applicant the tracks of programs it applied to in MPII, a
program the applicants who applied to it in MPII (match.domain.mpii.require_applied_*).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.errors import Conflict, FieldError, RuleViolation, ValidationFailed

APPLICANT = "applicant"
TRACK = "track"
REGISTERED = "registered"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ApplicantInfo:
    """The match service's projection of an applicant (from the registration events)."""

    season: str
    applicant_id: str
    code_number: str
    status: str = REGISTERED
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    owner_sub: str | None = None
    # S5 at part2_pass_by: withdrawn from the Match while the registration stays (M3)
    match_withdrawn: bool = False
    timezone: str | None = None  # the applicant's (registration, profile): deadlines in its emails

    @property
    def withdrawn(self) -> bool:
        """M3: withdrawn from CASPR (registration's status) or from the Match (S5)."""
        return self.status == WITHDRAWN or self.match_withdrawn

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class TrackInfo:
    season: str
    track_code: str
    program_code: str
    program_name: str
    name: str
    positions: int
    withdrawn: bool = False  # M3: stays on lists, flagged; skipped by runs snapshotted while withdrawn


@dataclass(frozen=True)
class RankOrderList:
    season: str
    round: str
    kind: str  # APPLICANT or TRACK
    owner: str  # applicant_id or track_code
    entries: tuple[str, ...] = ()  # track codes (applicant list) or code numbers (track list)
    version: int = 0  # 0: never saved
    certified: bool = False
    updated_at: datetime | None = None
    certified_at: datetime | None = None
    certified_version: int | None = None

    @property
    def counts(self) -> bool:
        """M1: only a certified list counts in the run."""
        return self.certified


def _duplicates(values: list[str], field: str, out: list[FieldError]) -> None:
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            out.append(FieldError(f"{field}[{i}]", f"{value} is already ranked at {field}[{first[value]}]; "
                                                   "rank each entry once"))
        else:
            first[value] = i


def validate_applicant_entries(tracks: list[str], known: Mapping[str, TrackInfo], *, season: str,
                               mpii_tracks: Iterable[str] | None = None) -> tuple[str, ...]:
    """An applicant's list: known track codes of this season, each once (M1); in the MPII
    round only tracks taking part in MPII (M7)."""
    errors: list[FieldError] = []
    for i, code in enumerate(tracks):
        if code not in known:
            errors.append(FieldError(f"tracks[{i}]", f"no track {code} in season {season}; a track code is "
                                                     "4 digits (program code + track digit), e.g. 1011"))
    _duplicates(tracks, "tracks", errors)
    if errors:
        raise ValidationFailed("the rank order list has invalid entries", errors=errors)
    if mpii_tracks is not None:
        allowed = set(mpii_tracks)
        outside = [code for code in tracks if code not in allowed]
        if outside:
            raise RuleViolation(
                f"MPII lists may rank only tracks with unfilled positions after the Match; not in MPII: "
                f"{', '.join(outside)}", rule="M7",
                errors=[FieldError(f"tracks[{tracks.index(c)}]", "not an MPII track") for c in outside])
    return tuple(tracks)


def resolve_applicants(entries: list[str], by_id: Mapping[str, ApplicantInfo],
                       by_code: Mapping[str, ApplicantInfo], *, season: str,
                       mpii_codes: Iterable[str] | None = None) -> tuple[str, ...]:
    """A program's list for one track: each entry an applicant id or 5-digit code number of
    this season, each applicant once (M1); in the MPII round only MPII applicants (M7).
    Returns the applicants' code numbers in rank order. Withdrawn applicants may stay (M3)."""
    errors: list[FieldError] = []
    codes: list[str] = []
    for i, entry in enumerate(entries):
        info = by_code.get(entry) or by_id.get(entry)
        if info is None:
            errors.append(FieldError(f"applicants[{i}]", f"no registered applicant {entry} in season {season}; "
                                                         "give the applicant id or the 5-digit code number"))
            codes.append(f"?{i}")
        else:
            codes.append(info.code_number)
    _duplicates([c for c in codes], "applicants", errors)
    if errors:
        raise ValidationFailed("the rank order list has invalid entries", errors=errors)
    if mpii_codes is not None:
        allowed = set(mpii_codes)
        outside = [(i, c) for i, c in enumerate(codes) if c not in allowed]
        if outside:
            raise RuleViolation(
                "MPII lists may rank only applicants taking part in MPII (registered, not withdrawn, "
                f"unmatched in the Match); not in MPII: {', '.join(c for _, c in outside)}", rule="M7",
                errors=[FieldError(f"applicants[{i}]", "not an MPII applicant") for i, _ in outside])
    return tuple(codes)


def require_may_rank(who: ApplicantInfo | TrackInfo) -> None:
    """A withdrawn applicant or track takes no part in the run (M3), so it cannot change or
    certify a list."""
    if who.withdrawn:
        what = (f"applicant {who.code_number}" if isinstance(who, ApplicantInfo) else f"track {who.track_code}")
        raise Conflict(f"{what} is withdrawn from season {who.season}; withdrawn applicants and tracks take no "
                       "part in the Match", rule="M3")


def require_certifiable(rol: RankOrderList, expected_version: int | None) -> None:
    if rol.version == 0:
        raise RuleViolation("there is no rank order list to certify yet; submit it first", rule="M1")
    if not rol.entries:
        raise RuleViolation("an empty rank order list cannot be certified; rank at least one entry", rule="M1")
    if expected_version is not None and expected_version != rol.version:
        raise Conflict(f"the list changed since you read it (version {expected_version}, now {rol.version}); "
                       "review it and certify again", rule="M1")


def flagged_entries(rol: RankOrderList, applicants_by_code: Mapping[str, ApplicantInfo],
                    tracks: Mapping[str, TrackInfo]) -> list[dict]:
    """The entries as shown back, with withdrawn participants flagged (M3)."""
    out = []
    for rank, entry in enumerate(rol.entries, start=1):
        if rol.kind == APPLICANT:
            t = tracks.get(entry)
            out.append({"rank": rank, "track_code": entry, "track_name": t.name if t else None,
                        "program_code": t.program_code if t else entry[:3],
                        "program_name": t.program_name if t else None, "withdrawn": bool(t and t.withdrawn)})
        else:
            a = applicants_by_code.get(entry)
            out.append({"rank": rank, "code_number": entry, "applicant_id": a.applicant_id if a else None,
                        "name": a.name if a else None, "withdrawn": bool(a and a.withdrawn)})
    return out
