"""Request and response models of the registration service (the edge)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import Health

__all__ = ["Health"]

NAME = {"min_length": 1, "max_length": 100}
# a plain pattern, not EmailStr: email-validator refuses special-use domains such as the
# demo's caspr.local; deliverability is Cognito's and SES's business
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
INSTANT = "ISO 8601 instant with offset, e.g. 2024-02-15T23:59:00-05:00"


class SeasonCalendarIn(BaseModel):
    """The season calendar (SPEC): every key required except interviews_close, each an ISO 8601
    instant with offset."""

    model_config = ConfigDict(extra="allow")  # unknown keys are named in the problem (domain)
    registration_opens: str = Field(description=INSTANT)
    registration_recommended_by: str = Field(description=INSTANT)
    registration_final: str = Field(description=INSTANT)
    score_release_deadline: str = Field(description=INSTANT)
    scores_uploaded: str = Field(description=INSTANT)
    application_deadline_default: str = Field(description=INSTANT)
    applications_delivered: str = Field(description=INSTANT)
    invitations_open: str = Field(description=INSTANT)
    crip_start: str = Field(description=INSTANT)
    crip_end: str = Field(description=INSTANT)
    non_crip_interviews_from: str = Field(description=INSTANT)
    match_application_last: str = Field(description=INSTANT)
    part1_pass_by: str = Field(description=INSTANT)
    part2_pass_by: str = Field(description=INSTANT)
    part2_uploaded: str = Field(description=INSTANT)
    rol_opens: str = Field(description=INSTANT)
    rol_deadline: str = Field(description=INSTANT)
    interviews_close: str | None = Field(
        default=None, description=f"optional (I8; absent: rol_deadline): after invitations_open, no later than "
                                  f"rol_deadline; {INSTANT}")
    match_status_day: str = Field(description=INSTANT)
    mpii_applications_open: str = Field(description=INSTANT)
    mpii_application_deadline: str = Field(description=INSTANT)
    mpii_rol_opens: str = Field(description=INSTANT)
    mpii_rol_deadline: str = Field(description=INSTANT)
    match_day: str = Field(description=INSTANT)


class SeasonOut(BaseModel):
    season: str
    calendar: dict[str, datetime]
    version: int = Field(description="1 when the calendar was first set, one more each time it is set again")
    schedules: list[str] = Field(default_factory=list, description="EventBridge Scheduler schedule names")


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    season: str = Field(pattern=r"^[0-9]{4}$", description="the season (Match year), e.g. 2024")
    first_name: str = Field(**NAME)
    last_name: str = Field(**NAME)
    email: str = Field(pattern=EMAIL, max_length=254,
                       description="the applicant account's email (administrators may register anyone)")
    cms_id: str = Field(min_length=1, max_length=20, description="Prometric CMS ID, e.g. PRO-2T8P48F5H (R1)")
    college: str = Field(min_length=2, max_length=100)
    graduation_year: int = Field(ge=1950, le=2100, description="graduation class (year)")


class RegistrationOut(BaseModel):
    applicant_id: str
    status: str
    amount_due_cents: int
    warnings: list[str] = Field(default_factory=list)
    season: str
    cms_id: str
    email: str


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str | None = Field(None, max_length=50)
    postal_code: str | None = Field(None, max_length=20)
    country: str = Field("US", min_length=2, max_length=60)


class ApplicantOut(BaseModel):
    applicant_id: str
    season: str
    status: str
    code_number: str | None = None
    credits_total: int
    credits_used: int
    credits_left: int
    amount_due_cents: int
    timezone: str
    first_name: str
    last_name: str
    email: str
    cms_id: str
    college: str
    graduation_year: int
    address: dict | None = None
    phone: str | None = None
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    registered_at: datetime | None = None
    withdrawal_reason: str | None = None
    withdrawn_at: datetime | None = None
    match_withdrawn: bool = Field(False, description="S5: withdrawn from the Match at part2_pass_by (M3); "
                                  "the registration itself stays")
    match_withdrawal_reason: str | None = Field(None, description="why (names S5)")
    match_withdrawn_at: datetime | None = None
    notes: list[str] = Field(default_factory=list)


class ApplicantList(BaseModel):
    applicants: list[ApplicantOut]


class ApplicantQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    season: str | None = Field(None, pattern=r"^[0-9]{4}$", description="administrators: the season to list")
    status: str | None = Field(None, description="pending_payment, registered, withdrawn or closed_unpaid")


class ProfilePatch(BaseModel):
    """Profile and account (R7, I6). cms_id, email and season are listed only to be refused by name."""

    model_config = ConfigDict(extra="forbid")
    first_name: str | None = Field(None, **NAME)
    last_name: str | None = Field(None, **NAME)
    address: Address | None = None
    phone: str | None = Field(None, max_length=30)
    timezone: str | None = Field(None, max_length=64, description="IANA time zone, e.g. America/Chicago (I6)")
    cms_id: str | None = Field(None, description="cannot be changed")
    email: str | None = Field(None, description="cannot be changed")
    season: str | None = Field(None, description="cannot be changed")


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_cents: int = Field(description="the amount due: 55000 ($300 applicant fee + $250 interview fee, R2)")
    card_number: str = Field(min_length=12, max_length=23, description="test mode: 4242424242424242 succeeds")


class PaymentOut(BaseModel):
    payment_id: str
    status: str = Field(description="succeeded")
    code_number: str
    amount_cents: int
    registration_status: str
    credits_total: int


class CreditsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(ge=1, le=100, description="credits to buy, $15 each (R4)")
    card_number: str = Field(min_length=12, max_length=23)


class CreditsOut(BaseModel):
    payment_id: str
    quantity: int
    credits_total: int
    charged_cents: int


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)


class LedgerEntryOut(BaseModel):
    entry_id: str
    kind: str
    part: str
    amount_cents: int
    payment_id: str
    at: datetime
    quantity: int | None = None
    note: str | None = None


class LedgerOut(BaseModel):
    applicant_id: str
    entries: list[LedgerEntryOut]
    balance_cents: int


class TrackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    track_code: str = Field(pattern=r"^[0-9]{4}$", description="program code + one digit, e.g. 1011")
    name: str = Field(min_length=1, max_length=100, description="e.g. PMSR/RRA")
    positions: int = Field(ge=0, le=99)


class Contact(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = Field(None, max_length=100)
    email: str | None = Field(None, pattern=EMAIL, max_length=254)
    phone: str | None = Field(None, max_length=30)


class ProgramIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    season: str = Field(pattern=r"^[0-9]{4}$")
    program_code: str = Field(pattern=r"^[0-9]{3}$", description="3 digits, e.g. 101")
    name: str = Field(min_length=2, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=2, max_length=50)
    coth: bool = Field(description="member of the Council of Teaching Hospitals (I3)")
    crip: bool = Field(description="interviews at CRIP (I7)")
    crip_section: str | None = Field(None, max_length=20, description="required when crip")
    application_deadline: datetime | None = Field(
        None, description="the program's own deadline (A4), no later than match_application_last; "
                          "default the season's application_deadline_default")
    requirements: str | None = Field(None, max_length=4000)
    contact: Contact = Field(default_factory=Contact)
    tracks: list[TrackIn] = Field(min_length=1, max_length=10)


class ProgramPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=2, max_length=200)
    city: str | None = Field(None, min_length=1, max_length=100)
    state: str | None = Field(None, min_length=2, max_length=50)
    coth: bool | None = Field(None, description="administrators only")
    crip: bool | None = None
    crip_section: str | None = Field(None, max_length=20)
    application_deadline: datetime | None = None
    requirements: str | None = Field(None, max_length=4000)
    contact: Contact | None = None
    tracks: list[TrackIn] | None = Field(None, max_length=10, description="tracks to add or change (by track_code)")
    program_code: str | None = Field(None, description="cannot be changed")
    season: str | None = Field(None, description="cannot be changed")


class TrackOut(BaseModel):
    track_code: str
    name: str
    positions: int
    withdrawn: bool = Field(False, description="M3: withdrawn tracks stay on lists, flagged, and are skipped")
    withdrawal_reason: str | None = None


class ProgramOut(BaseModel):
    season: str
    program_code: str
    name: str
    city: str
    state: str
    coth: bool
    crip: bool
    crip_section: str | None = None
    application_deadline: datetime | None = Field(None, description="the program's own deadline, if any")
    effective_application_deadline: datetime | None = Field(None, description="A4: the deadline that applies")
    requirements: str | None = None
    contact: dict = Field(default_factory=dict)
    tracks: list[TrackOut]


class ProgramList(BaseModel):
    season: str | None = None
    programs: list[ProgramOut]


class ProgramQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    season: str | None = Field(None, pattern=r"^[0-9]{4}$", description="default: the latest season")
    state: str | None = Field(None, max_length=50)
    coth: bool | None = None
    crip: bool | None = None
    q: str | None = Field(None, max_length=100, description="text in name, city or code (case-insensitive)")


class ProgramGetQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    season: str | None = Field(None, pattern=r"^[0-9]{4}$", description="default: the program's latest season")
