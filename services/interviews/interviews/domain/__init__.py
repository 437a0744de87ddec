"""Pure rules of the interviews service (I1-I9): no boto3, pynamodb, powertools, pydantic.

The booking rules of I4 are enforced by DynamoDB conditions (adapters); this module computes
what those conditions are made of (the applicant's time-slot claims) and decides everything
that is not a race (COTH, the calendar, lockout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import Conflict, FieldError, Forbidden, RuleViolation, ValidationFailed

BUFFER = timedelta(minutes=15)  # I4: no booking starts or ends within 15 minutes of another
BUCKET_MINUTES = 15  # the claim grid; exact because BUFFER >= one bucket (see slot_claims)
DEFAULT_TIMEZONE = "America/Chicago"  # I6: Central
PLACES = ("crip", "onsite", "virtual")
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
I9_NOTICE = ("Communication guidelines (I9): you may freely discuss any matter and express a high level of "
             "interest; neither the applicant nor the program may ask or prompt the other side for ranking "
             "intentions, and neither may solicit or disclose rank positions.")


# ----------------------------------------------------------------------------- values
@dataclass(frozen=True)
class ProgramInfo:
    program_code: str
    season: str
    name: str
    coth: bool
    crip: bool
    email: str | None = None


@dataclass(frozen=True)
class InterviewType:
    type_id: str
    program_code: str
    season: str
    name: str
    description: str


@dataclass(frozen=True)
class InterviewEvent:
    event_id: str
    program_code: str
    season: str
    type_id: str
    start: datetime
    end: datetime
    capacity: int
    place: str
    location: str
    timezone: str
    lockout_at: datetime
    booked: int = 0

    @property
    def seats_left(self) -> int:
        return max(0, self.capacity - self.booked)


@dataclass(frozen=True)
class Invitation:
    invitation_id: str
    program_code: str
    season: str
    applicant_id: str
    type_ids: tuple[str, ...]
    message: str
    created_at: datetime


@dataclass(frozen=True)
class Booking:
    booking_id: str
    invitation_id: str
    applicant_id: str
    program_code: str
    type_id: str
    event_id: str
    start: datetime
    end: datetime
    status: str  # booked | cancelled
    sequence: int
    booked_at: datetime
    forced: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ApplicantInfo:
    applicant_id: str
    season: str
    email: str
    first_name: str
    last_name: str
    timezone: str = DEFAULT_TIMEZONE
    owner_sub: str | None = None
    delivered_to: frozenset[str] = field(default_factory=frozenset)


# ----------------------------------------------------------------------------- I3, I2, I7, I5
def require_coth(p: ProgramInfo) -> None:
    """I3: only COTH programs schedule through the system."""
    if not p.coth:
        raise RuleViolation(f"program {p.program_code} is not a COTH member: it schedules interviews directly with "
                            "applicants, not through CASPR (I3: schedule directly with applicants)", rule="I3")


def require_invitations_open(calendar: dict[str, datetime], now: datetime) -> None:
    """I2: invitations from invitations_open on."""
    opens = calendar.get("invitations_open")
    if opens is None:
        raise RuleViolation("the season's invitations_open is not set yet: no invitation may be sent (I2)", rule="I2")
    if now < opens:
        raise RuleViolation(f"invitations may be sent from {opens.isoformat()} (invitations_open, I2); it is "
                            f"{now.isoformat()}", rule="I2")


def check_event_window(p: ProgramInfo, place: str, start: datetime, end: datetime,
                       calendar: dict[str, datetime]) -> None:
    """I7: a CRIP event lies within crip_start..crip_end (and only a CRIP program holds one);
    a program not at CRIP holds no interview before non_crip_interviews_from."""
    if place == "crip":
        if not p.crip:
            raise RuleViolation(f"program {p.program_code} does not take part in CRIP: it cannot hold a CRIP event "
                                "(I7)", rule="I7")
        cs, ce = calendar.get("crip_start"), calendar.get("crip_end")
        if cs is None or ce is None:
            raise RuleViolation("the season's CRIP dates (crip_start, crip_end) are not set yet (I7)", rule="I7")
        if start < cs or end > ce:
            raise RuleViolation(f"a CRIP event lies within {cs.isoformat()} .. {ce.isoformat()} (crip_start.."
                                f"crip_end, I7)", rule="I7")
    if not p.crip:
        frm = calendar.get("non_crip_interviews_from")
        if frm is None:
            raise RuleViolation("the season's non_crip_interviews_from is not set yet (I7)", rule="I7")
        if start < frm:
            raise RuleViolation(f"program {p.program_code} is not at CRIP: it may hold no interview before "
                                f"{frm.isoformat()} (non_crip_interviews_from, I7)", rule="I7")


def require_before_lockout(e: InterviewEvent, now: datetime, what: str = "this booking") -> None:
    """I5: no change on or after the event's lockout."""
    if now >= e.lockout_at:
        raise Conflict(f"{what} cannot change: the event's lockout was {e.lockout_at.isoformat()} (I5: no change on "
                       "or after the lockout)", rule="I5", extra={"event_id": e.event_id})


def validate_event(start: datetime, end: datetime, capacity: int, place: str, timezone: str,
                   lockout_at: datetime) -> None:
    errors = []
    for name, t in (("start", start), ("end", end), ("lockout_at", lockout_at)):
        if not EARLIEST <= t <= LATEST:
            errors.append(FieldError(name, "must lie between 2000 and 2100"))
    if errors:
        raise ValidationFailed("the event has invalid fields", errors=errors)
    if end <= start:
        errors.append(FieldError("end", "must be after start"))
    elif end - start > timedelta(hours=8):
        errors.append(FieldError("end", "an interview event lasts at most 8 hours"))
    if start.second or start.microsecond or end.second or end.microsecond:
        errors.append(FieldError("start", "start and end are whole minutes"))
    if capacity < 1:
        errors.append(FieldError("capacity", "must be at least 1"))
    if place not in PLACES:
        errors.append(FieldError("place", f"must be one of {', '.join(PLACES)}"))
    if not valid_timezone(timezone):
        errors.append(FieldError("timezone", "must be an IANA time zone such as America/Chicago"))
    if lockout_at > start:
        errors.append(FieldError("lockout_at", "must be on or before the event's start"))
    if errors:
        raise ValidationFailed("the event has invalid fields", errors=errors)


# ----------------------------------------------------------------------------- I4
class SlotTaken(Conflict):
    """I4: the applicant's own time clashes (overlap or the 15-minute buffer)."""


class EventFull(Conflict):
    """I4: the event holds as many bookings as its capacity."""


class TypeBookedAlready(Conflict):
    """I4: one booking per invited type."""


def too_close(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """I4: two bookings of one applicant clash when they overlap or one starts or ends within
    15 minutes of the other: their intervals padded by the buffer at the end intersect."""
    return a_start < b_end + BUFFER and b_start < a_end + BUFFER


@dataclass(frozen=True)
class Claim:
    """One 15-minute bucket of the applicant's time that a booking touches (padded by the buffer).

    A bucket is held by at most two bookings that do not clash: a "left" one, which started at
    or before the bucket's start (it covers that instant), and a "right" one, which starts inside
    it. Two left ones, or two right ones, always clash (each padded booking is longer than a
    bucket); a left and a right one clash iff the right one starts before the left one's padded
    end. So one item per bucket with `left_end` / `right_start` and a condition on them decides
    I4 exactly, and two clashing bookings always meet on the bucket where their overlap starts."""

    bucket: int  # minutes since the epoch / BUCKET_MINUTES
    side: str  # left | right
    start_min: int  # the booking's start, in epoch minutes
    end_min: int  # the booking's end + buffer, in epoch minutes


def epoch_minutes(t: datetime) -> int:
    return int(t.astimezone(UTC).timestamp() // 60)


def slot_claims(start: datetime, end: datetime) -> list[Claim]:
    s, e = epoch_minutes(start), epoch_minutes(end + BUFFER)
    first, last = s // BUCKET_MINUTES, (e - 1) // BUCKET_MINUTES
    return [Claim(b, "left" if b * BUCKET_MINUTES >= s else "right", s, e) for b in range(first, last + 1)]


def claims_clash(existing: Claim, new: Claim) -> bool:
    """What the DynamoDB condition of one bucket decides (the reference for tests)."""
    if existing.bucket != new.bucket:
        return False
    if existing.side == new.side:
        return True
    left, right = (existing, new) if existing.side == "left" else (new, existing)
    return right.start_min < left.end_min


# ----------------------------------------------------------------------------- I6
def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return bool(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False


def in_zone(t: datetime, zone: str | None) -> str:
    """I6: an instant as shown in a time zone (ISO 8601 with that zone's offset)."""
    try:
        tz = ZoneInfo(zone or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(DEFAULT_TIMEZONE)
    return t.astimezone(tz).isoformat()


def require_may_see(principal_sub: str | None, is_admin: bool, applicant: ApplicantInfo) -> None:
    if is_admin:
        return
    if not principal_sub or principal_sub != applicant.owner_sub:
        raise Forbidden("only the applicant (or an administrator) may do this")


# ----------------------------------------------------------------------------- I5: the daily digest
DIGEST_LOOKBACK_DAYS = 3  # a digest run also sends what an earlier run missed (a failed day)


@dataclass(frozen=True)
class BookingChange:
    """One change of a program's schedule (I5's daily digest): booked (forced: by the program),
    rebooked (from previous_start), cancelled; times in the event's (the program's) zone."""

    kind: str  # booked | rebooked | cancelled
    booking_id: str
    applicant_id: str
    event_id: str
    start: datetime
    end: datetime
    timezone: str
    at: datetime
    forced: bool = False
    previous_start: datetime | None = None


def change_day(at: datetime) -> str:
    """The digest's day of a change: its UTC date (one schedule for every program, whatever the
    zones of its events; the times inside the digest are shown in the program's zone)."""
    return at.astimezone(UTC).date().isoformat()


def digest_days(now: datetime) -> list[str]:
    """The days a digest run covers: yesterday (UTC) and the few days before (oldest first)."""
    today = now.astimezone(UTC).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(DIGEST_LOOKBACK_DAYS, 0, -1)]


# ----------------------------------------------------------------------------- I1: the event's PDF
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class Attachment:
    """The optional PDF of an interview event (I1): uploaded by the program to a presigned form,
    present once checked; applicants get a short-lived download link."""

    event_id: str
    key: str
    filename: str
    size: int
    status: str  # pending | present
    created_at: datetime


def attachment_key(program_code: str, event_id: str, upload_id: str) -> str:
    return f"interviews/{program_code}/events/{event_id}/{upload_id}.pdf"


def check_attachment_offer(filename: str, size: int) -> None:
    if size > MAX_ATTACHMENT_BYTES or size < 1:
        raise ValidationFailed(f"an event's PDF is 1 to {MAX_ATTACHMENT_BYTES} bytes (5 MB) (I1)", rule="I1",
                               errors=[FieldError("size", "over 5 MB" if size > 1 else "must be at least 1 byte")])
    if not filename.strip():
        raise ValidationFailed("the PDF needs a file name (I1)", rule="I1", errors=[FieldError("filename", "empty")])


def check_pdf(head: bytes | None, size: int | None) -> None:
    """I1: the uploaded object exists, is a PDF by its bytes and is at most 5 MB."""
    if head is None or size is None:
        raise ValidationFailed("nothing was uploaded for this attachment yet: upload the PDF to the form given, "
                               "then ask again", rule="I1", errors=[FieldError("file", "not uploaded")])
    if size > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(f"the file is {size} bytes; at most {MAX_ATTACHMENT_BYTES} bytes (5 MB) are accepted "
                               "(I1)", rule="I1", errors=[FieldError("file", "over 5 MB")])
    if not head.startswith(PDF_MAGIC):
        raise ValidationFailed("the file is not a PDF (its bytes do not begin with %PDF-); upload a PDF (I1)",
                               rule="I1", errors=[FieldError("file", "not a PDF")])
