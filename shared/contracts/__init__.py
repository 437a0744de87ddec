"""Event contracts: one pydantic model per EventBridge `detail-type` (versioned).

Every event on the `caspr` bus is declared here; contract tests pin the JSON shape.
Producers publish instances; consumers parse them with powertools' EventBridge
envelope (shared.consumer)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    detail_type: ClassVar[str]
    source: ClassVar[str]
    # additive, optional: the id given to the event when its change committed (the outbox
    # item's id). A redelivery carries the same id, so consumers' idempotency applies it once.
    event_id: str | None = None


REGISTRY: dict[str, type[Contract]] = {}


def contract(detail_type: str, source: str):
    def register(cls: type[Contract]) -> type[Contract]:
        if detail_type in REGISTRY:
            raise ValueError(f"duplicate contract {detail_type}")
        cls.detail_type = detail_type
        cls.source = source
        REGISTRY[detail_type] = cls
        return cls

    return register


REGISTRATION = "caspr.registration"
SCHEDULER = "caspr.scheduler"
MATCH = "caspr.match"
SCORES = "caspr.scores"


# --- the season calendar -------------------------------------------------------------
@contract("season.calendar_set.v1", REGISTRATION)
class SeasonCalendarSet(Contract):
    season: str
    calendar: dict[str, datetime]
    # additive, optional: the calendar's version after this change (1, 2, ... per season);
    # consumers keep only the newest (SQS redelivers, does not order). None: an older producer
    version: int | None = None


@contract("season.deadline_reached.v1", SCHEDULER)
class SeasonDeadlineReached(Contract):
    """Fired by the one-time schedule of a calendar instant; every service reacts to its keys."""

    season: str
    key: str
    at: datetime


# --- registration ----------------------------------------------------------------------
@contract("applicant.registered.v1", REGISTRATION)
class ApplicantRegistered(Contract):
    season: str
    applicant_id: str
    code_number: str
    cms_id: str
    email: str
    first_name: str
    last_name: str
    college: str
    graduation_year: int
    timezone: str
    credits_total: int
    # the Cognito sub of the applicant's account (additive, optional): lets other services
    # (match: rank order lists, results/me) know which signed-in account is this applicant
    owner_sub: str | None = None
    # additive, optional: the applicant's status_version after the change; consumers apply
    # only newer versions (SQS redelivers, does not order). None: an older producer
    version: int | None = None


@contract("applicant.withdrawn.v1", REGISTRATION)
class ApplicantWithdrawn(Contract):
    season: str
    applicant_id: str
    code_number: str | None = None
    reason: str
    # additive, optional: the applicant's status_version after the change; consumers apply
    # only newer versions (SQS redelivers, does not order). None: an older producer
    version: int | None = None


@contract("applicant.reinstated.v1", REGISTRATION)
class ApplicantReinstated(Contract):
    season: str
    applicant_id: str
    code_number: str | None = None
    # additive, optional: the applicant's status_version after the change; consumers apply
    # only newer versions (SQS redelivers, does not order). None: an older producer
    version: int | None = None


@contract("applicant.match_withdrawn.v1", REGISTRATION)
class ApplicantMatchWithdrawn(Contract):
    """S5, M3: at part2_pass_by the applicant (no Part II Written pass, or no CSPE pass where S4
    requires it) is withdrawn from the Match; the registration itself stays. `version` is the
    applicant's status_version after the change (consumers keep the newest)."""

    season: str
    applicant_id: str
    code_number: str | None = None
    reason: str
    version: int


@contract("applicant.profile_updated.v1", REGISTRATION)
class ApplicantProfileUpdated(Contract):
    """A registered or pending applicant's profile changed (R7 / I6): its time zone and, additive
    and optional, its name and college as they are now (None: an older producer that announced
    only the time zone) with the applicant's version after the change (consumers keep the newest:
    SQS redelivers, does not order)."""

    season: str
    applicant_id: str
    timezone: str
    first_name: str | None = None
    last_name: str | None = None
    college: str | None = None
    version: int | None = None


@contract("registration.closed_unpaid.v1", REGISTRATION)
class RegistrationClosedUnpaid(Contract):
    season: str
    applicant_id: str


@contract("credits.purchased.v1", REGISTRATION)
class CreditsPurchased(Contract):
    season: str
    applicant_id: str
    quantity: int
    credits_total: int
    charged_cents: int


class TrackInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    track_code: str
    name: str
    positions: int


@contract("program.registered.v1", REGISTRATION)
class ProgramRegistered(Contract):
    season: str
    program_code: str
    name: str
    coth: bool
    crip: bool
    crip_section: str | None = None
    application_deadline: datetime | None = None
    tracks: list[TrackInfo]
    # additive, optional: the program's version after the change; consumers apply
    # only newer versions (SQS redelivers, does not order). None: an older producer
    version: int | None = None
    # additive, optional: the program contact's email (the interviews service mails its daily
    # digest there, I5). None: no contact email given, or an older producer
    contact_email: str | None = None


@contract("program.updated.v1", REGISTRATION)
class ProgramUpdated(Contract):
    """A program's details changed (PATCH): the whole program as it is now. Positions
    changes are also published one track at a time as track.positions_changed.v1."""

    season: str
    program_code: str
    name: str
    coth: bool
    crip: bool
    crip_section: str | None = None
    application_deadline: datetime | None = None
    tracks: list[TrackInfo]
    contact_email: str | None = None  # additive, optional: as in program.registered.v1
    version: int | None = None  # additive, optional: the program's version after the change (as registered's)


@contract("track.positions_changed.v1", REGISTRATION)
class TrackPositionsChanged(Contract):
    season: str
    program_code: str
    track_code: str
    name: str
    positions: int
    # additive, optional: the program's version after the change; consumers apply
    # only newer versions (SQS redelivers, does not order). None: an older producer
    version: int | None = None
    # additive, optional: whether the track is withdrawn at this version (M3). None: an older producer
    withdrawn: bool | None = None


@contract("track.withdrawn.v1", REGISTRATION)
class TrackWithdrawn(Contract):
    """M3: the track takes no part in runs snapshotted from now on; it stays on applicants'
    lists, flagged. Carries the whole track at the program's version."""

    season: str
    program_code: str
    track_code: str
    name: str
    positions: int
    reason: str | None = None
    version: int | None = None  # the program's version after the change


@contract("track.reinstated.v1", REGISTRATION)
class TrackReinstated(Contract):
    season: str
    program_code: str
    track_code: str
    name: str
    positions: int
    version: int | None = None  # the program's version after the change


# --- match --------------------------------------------------------------------------
@contract("match.run_completed.v1", MATCH)
class MatchRunCompleted(Contract):
    season: str
    round: str  # "match" or "mpii"
    run_id: str
    snapshot_sha256: str
    matched: int
    unmatched: int
    unfilled_positions: int


@contract("match.status_released.v1", MATCH)
class MatchStatusReleased(Contract):
    season: str
    run_id: str


@contract("match.results_released.v1", MATCH)
class MatchResultsReleased(Contract):
    season: str
    run_id: str


@contract("mpii.opened.v1", MATCH)
class MpiiOpened(Contract):
    season: str
    applicant_ids: list[str]
    track_codes: list[str]


# --- scores ---------------------------------------------------------------------------
@contract("scores.released.v1", SCORES)
class ScoresReleased(Contract):
    """S1: an applicant signed (or changed) the APMLE score release. The name at the time of
    the exam is never published. `explanation` is shown to programs with the results."""

    season: str
    applicant_id: str
    att_number: str
    cms_id: str  # upper-case, or "N/A"
    explanation: str
    released_at: datetime
    on_time: bool  # S2: released by score_release_deadline
    version: int  # the release's version after this change (consumers keep the newest)


@contract("scores.release_missing.v1", SCORES)
class ScoresReleaseMissing(Contract):
    """S2: at score_release_deadline the applicant had not released their scores: their
    application may not be marked complete (the applications service uses it)."""

    season: str
    applicant_id: str
    deadline: datetime


@contract("scores.result_recorded.v1", SCORES)
class ScoresResultRecorded(Contract):
    """S3, S6, S7: one exam attempt of an applicant. Programs may see it (pass/fail) only from
    `visible_from` (S6: Part I from scores_uploaded, Part II Written and CSPE from
    part2_uploaded); None when the season's calendar was not known when it was recorded."""

    season: str
    applicant_id: str
    result_id: str
    exam: str  # part1 | part2_written | cspe
    exam_date: date
    result: str  # pass | fail
    official: bool  # False: self-reported and not (yet) verified (S7)
    visible_from: datetime | None = None
    source: str = "nbpme"  # nbpme | self_reported


@contract("scores.may_apply.v1", SCORES)
class ScoresMayApply(Contract):
    """A3: the applicant's first APMLE Part I pass is recorded: applications may be sent."""

    season: str
    applicant_id: str
    result_id: str


@contract("scores.withdrawal_due.v1", SCORES)
class ScoresWithdrawalDue(Contract):
    """S5, on schedule: at part1_pass_by an applicant without a Part I pass is to be withdrawn
    from CASPR (scope "caspr"); at part2_pass_by one without a Part II Written pass (and a CSPE
    pass where S4 requires it) is to be withdrawn from the Match (scope "match"). Registration
    withdraws (status / match_withdrawn, reason naming S5); match treats them as withdrawn (M3)."""

    season: str
    applicant_id: str
    scope: str  # caspr | match
    rule: str  # "S5"
    reason: str
    deadline_key: str  # part1_pass_by | part2_pass_by
    at: datetime


# --- applications ---------------------------------------------------------------------
APPLICATIONS = "caspr.applications"


@contract("application.submitted.v1", APPLICATIONS)
class ApplicationSubmitted(Contract):
    """A1, A7: the applicant submitted the application (personal statement, CV, at least three
    letter requests); its core documents are locked."""

    season: str
    applicant_id: str
    submitted_at: datetime


@contract("application.designated.v1", APPLICATIONS)
class ApplicationDesignated(Contract):
    """A5, R4: the applicant designated a program and spent one credit. `credits_used` is the
    applicant's count of spent credits after this one (registration keeps the highest seen)."""

    season: str
    applicant_id: str
    program_code: str
    round: str  # match | mpii (M7)
    designated_at: datetime
    credits_used: int
    credits_total: int


@contract("application.delivered.v1", APPLICATIONS)
class ApplicationDelivered(Contract):
    """A5, M7: the application is visible to the program from `delivered_at` (at
    applications_delivered when designated before it, at once later; MPII at once). The
    interviews service invites only applicants delivered to the program; match limits MPII
    lists to the MPII round's deliveries."""

    season: str
    applicant_id: str
    program_code: str
    round: str  # match | mpii
    designated_at: datetime
    delivered_at: datetime


# --- interviews -----------------------------------------------------------------------
INTERVIEWS = "caspr.interviews"


@contract("interview.invited.v1", INTERVIEWS)
class InterviewInvited(Contract):
    """I2: a COTH program invited an applicant (delivered to it) to one or more interview types."""

    season: str
    invitation_id: str
    applicant_id: str
    program_code: str
    type_ids: list[str]
    invited_at: datetime


@contract("interview.booked.v1", INTERVIEWS)
class InterviewBooked(Contract):
    """I4, I5: a booking was made (by the applicant, or forced by the program: `forced`), or moved
    to another event of its type (`previous_event_id` set). `sequence` rises with every change."""

    season: str
    booking_id: str
    invitation_id: str
    applicant_id: str
    program_code: str
    type_id: str
    event_id: str
    start: datetime
    end: datetime
    forced: bool
    sequence: int
    at: datetime
    previous_event_id: str | None = None


@contract("interview.booking_cancelled.v1", INTERVIEWS)
class InterviewBookingCancelled(Contract):
    """I5: a booking was cancelled before its event's lockout."""

    season: str
    booking_id: str
    applicant_id: str
    program_code: str
    type_id: str
    event_id: str
    sequence: int
    at: datetime


@contract("interview.fee_refund_due.v1", INTERVIEWS)
class InterviewFeeRefundDue(Contract):
    """I8, R2: at interviews_close the applicant had never booked an interview through the system:
    registration refunds the interview scheduling fee (once per applicant and season: key the
    ledger entry on season + applicant, whatever the redeliveries)."""

    season: str
    applicant_id: str
    amount_cents: int
    rule: str  # "I8"
    at: datetime
