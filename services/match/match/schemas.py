"""Request and response models of the match service (the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.schemas import Health

__all__ = ["Health"]

TRACK_CODE = r"^\d{4}$"
# M1 sets no length limit below the season's size: a list ranks at most every track (or every
# applicant) of the season. A static cap above any season's size keeps a request's memory
# bounded (10,000 entries of 64 characters fit in the 1 MB body limit, shared.web).
MAX_ROL_ENTRIES = 10_000
RolEntry = Annotated[str, StringConstraints(max_length=64)]
VERSION_READ = Field(None, ge=0, description="the version of the list you read (0: none yet); the save is refused "
                                             "with 409 if the list changed since. Without it, the version read "
                                             "when the request arrives")


# ----------------------------------------------------------------------------- rank order lists
class ApplicantRolIn(BaseModel):
    """An applicant's rank order list: track codes, most preferred first. No length limit but the
    season's number of tracks (M1; MAX_ROL_ENTRIES)."""

    model_config = ConfigDict(extra="forbid")
    tracks: list[RolEntry] = Field(max_length=MAX_ROL_ENTRIES,
                                   description="4-digit track codes in order of preference, e.g. [\"1011\", \"1021\"]")
    version: int | None = VERSION_READ


class TrackRolIn(BaseModel):
    """A program's rank order list for one track: applicants, most preferred first (M1)."""

    model_config = ConfigDict(extra="forbid")
    applicants: list[RolEntry] = Field(max_length=MAX_ROL_ENTRIES,
                                       description="applicant ids or 5-digit code numbers in order of preference")
    version: int | None = VERSION_READ


class CertificationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(None, ge=1, description="certify only this version of the list (the one you read)")


class RankedTrack(BaseModel):
    rank: int
    track_code: str
    track_name: str | None = None
    program_code: str
    program_name: str | None = None
    withdrawn: bool = False


class RankedApplicant(BaseModel):
    rank: int
    code_number: str
    applicant_id: str | None = None
    name: str | None = None
    withdrawn: bool = Field(False, description="M3: a withdrawn applicant stays on the list, flagged, and is skipped")


class _RolOut(BaseModel):
    season: str
    round: str = Field(description="match or mpii")
    version: int = Field(description="0 until the list is first saved; every save adds 1")
    certified: bool
    counts: bool = Field(description="M1: only a certified list counts in the run")
    updated_at: datetime | None = None
    certified_at: datetime | None = None
    opens_at: datetime | None = None
    locks_at: datetime | None = None
    locked: bool = False


class ApplicantRolOut(_RolOut):
    applicant_id: str
    code_number: str
    withdrawn: bool = False
    tracks: list[RankedTrack]


class TrackRolOut(_RolOut):
    track_code: str
    program_code: str
    applicants: list[RankedApplicant]


class SeasonTrack(BaseModel):
    track_code: str
    track_name: str | None = None
    program_code: str
    program_name: str | None = None
    positions: int
    in_mpii: bool = False
    withdrawn: bool = Field(False, description="M3: stays on lists, flagged; skipped by the run")


class SeasonTracksOut(BaseModel):
    season: str
    tracks: list[SeasonTrack]


class MpiiTrack(BaseModel):
    track_code: str
    track_name: str | None = None
    program_code: str
    program_name: str | None = None
    positions: int = Field(description="positions offered in MPII: unfilled after the Match")


class MpiiApplicant(BaseModel):
    code_number: str
    applicant_id: str | None = None
    name: str | None = None
    withdrawn: bool = False


class MpiiOut(BaseModel):
    season: str
    tracks: list[MpiiTrack]
    applicants: list[MpiiApplicant] | None = Field(None, description="programs and administrators only")
    participant: bool | None = Field(None, description="applicants: whether you take part in MPII")


# ----------------------------------------------------------------------------- runs
class RunStep(BaseModel):
    step: str
    status: str
    attempts: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    detail: str | None = None


class RunOut(BaseModel):
    season: str
    run_id: str
    attempt: int
    started_at: datetime
    started_by: str | None = None
    execution_arn: str | None = None
    status: str = Field(description="Step Functions execution status: RUNNING, SUCCEEDED, FAILED, ...")
    stopped_at: datetime | None = None
    error: str | None = None
    cause: str | None = None
    current_step: str | None = None
    completed_steps: int
    planned_steps: int
    steps: list[RunStep]
    created: bool | None = Field(None, description="POST only: false when the season's run existed already")


class RunsOut(BaseModel):
    season: str
    runs: list[RunOut]


# ----------------------------------------------------------------------------- results
class RoundOutcomeOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str | None = Field(None, description="matched or unmatched")
    participant: bool | None = None
    track_code: str | None = None
    track_name: str | None = None
    program_code: str | None = None
    program_name: str | None = None


class ApplicantResultOut(BaseModel):
    season: str
    applicant_id: str
    code_number: str
    released: str = Field(description="status (Match Status Day) or results (Match Day)")
    match: RoundOutcomeOut
    mpii: RoundOutcomeOut


class MatchedApplicant(BaseModel):
    round: str
    code_number: str
    applicant_id: str | None = None
    name: str | None = None
    email: str | None = None


class ProgramTrackResult(BaseModel):
    track_code: str
    track_name: str | None = None
    positions: int
    unfilled: int = Field(description="unfilled after the Match")
    in_mpii: bool
    matched: list[MatchedApplicant] | None = Field(None, description="from Match Day")
    unfilled_after_mpii: int | None = Field(None, description="from Match Day")


class ProgramResultOut(BaseModel):
    season: str
    program_code: str
    released: str
    tracks: list[ProgramTrackResult]


class MyResultOut(BaseModel):
    applicant: ApplicantResultOut | None = None
    program: ProgramResultOut | None = None


class AdminMatch(BaseModel):
    code_number: str
    applicant_id: str | None = None
    track_code: str | None = None


class AdminTrack(BaseModel):
    track_code: str
    positions: int
    unfilled: int
    matched: list[str]


class AdminRound(BaseModel):
    stored: bool
    run_id: str | None = None
    snapshot_sha256: str | None = None
    locked_at: datetime | None = None
    stored_at: datetime | None = None
    statistics: dict | None = None
    matches: list[AdminMatch] | None = None
    tracks: list[AdminTrack] | None = None


class PostMatchPosition(BaseModel):
    track_code: str
    track_name: str | None = None
    program_code: str
    program_name: str | None = None
    open_positions: int


class AdminResultsOut(BaseModel):
    season: str
    status_released_at: datetime | None = None
    results_released_at: datetime | None = None
    rounds: dict[str, AdminRound]
    post_match: list[PostMatchPosition] | None = None


class PostMatchOut(BaseModel):
    season: str
    published_at: datetime
    open_positions: int
    positions: list[PostMatchPosition]


# ----------------------------------------------------------------------------- audit (issue 12)
class AuditRound(BaseModel):
    """A round's seal: the SHA-256 of its snapshot (the exact bytes of the snapshot file, canonical
    JSON) when its lists locked, and the SHA-256 of its result file when the result was stored."""

    round: str = Field(description="match | mpii")
    snapshot_sha256: str | None = None
    sealed_at: datetime | None = None
    result_sha256: str | None = None
    published_at: datetime | None = None


class AuditOut(BaseModel):
    season: str
    rounds: list[AuditRound]


class ApplicantExplanationLine(BaseModel):
    track_code: str
    track_name: str | None = None
    program_code: str
    program_name: str | None = None
    reason: str = Field(description="did_not_rank_you | filled_above_you | track_withdrew")
    text: str


class ApplicantExplanationRound(BaseModel):
    round: str
    matched_track_code: str | None = None
    lines: list[ApplicantExplanationLine]


class ApplicantExplanationOut(BaseModel):
    """For each track the applicant ranked above the one it matched (all, if unmatched), why it did
    not match there; in the applicant's own order. No other applicant, no rank number."""

    season: str
    applicant_id: str
    code_number: str
    rounds: list[ApplicantExplanationRound]


class TrackExplanationLine(BaseModel):
    reason: str = Field(description="matched_higher | did_not_rank_track | applicant_withdrew")
    text: str


class TrackExplanationRound(BaseModel):
    round: str
    positions: int
    filled: int
    lines: list[TrackExplanationLine] = Field(description="one per applicant the track ranked above one it matched "
                                              "(with a free position: every ranked applicant it did not get), "
                                              "grouped by reason: no identity, no order")
    counts: dict[str, int]


class TrackExplanationOut(BaseModel):
    season: str
    track_code: str
    program_code: str
    rounds: list[TrackExplanationRound]


# ----------------------------------------------------------------------------- statistics (M5, M6, M8)
class TrackStatisticsOut(BaseModel):
    track_code: str
    track_name: str | None = None
    program_code: str
    program_name: str | None = None
    positions: int = Field(description="positions offered (0 for a withdrawn track, M3)")
    filled: int
    unfilled: int
    applicants_ranking: int = Field(description="applicants (not withdrawn) whose certified list names the track")
    withdrawn: bool


class RoundStatisticsOut(BaseModel):
    round: str = Field(description="match | mpii")
    positions_offered: int
    positions_filled: int
    positions_unfilled: int
    fill_rate: float = Field(description="filled / offered, 4 decimals")
    applicants_ranked: int = Field(description="applicants (not withdrawn) with a certified, non-empty list")
    applicants_matched: int
    match_rate: float = Field(description="matched / ranked, 4 decimals")
    choices: dict[str, int] = Field(description="matched applicants by the place of their match on their own "
                                    "list: '1', '2', '3', '4+'")
    choice_shares: dict[str, float] = Field(description="the same as shares of the matched applicants")
    tracks: list[TrackStatisticsOut]


class StatisticsOut(BaseModel):
    season: str
    rounds: list[RoundStatisticsOut] = Field(description="each round whose result is stored (match, then mpii)")
