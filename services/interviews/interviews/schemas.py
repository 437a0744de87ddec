"""Request and response models of the interviews service (the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.schemas import Health

__all__ = ["Health"]
ID = {"min_length": 1, "max_length": 64, "pattern": r"^[A-Za-z0-9_-]+$"}


class TypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)


class TypeOut(BaseModel):
    type_id: str
    program_code: str
    season: str
    name: str
    description: str


class TypeList(BaseModel):
    types: list[TypeOut]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type_id: str = Field(**ID)
    start: AwareDatetime = Field(description="ISO 8601 instant with offset")
    end: AwareDatetime = Field(description="ISO 8601 instant with offset")
    capacity: int = Field(ge=1, le=10_000)
    place: Literal["crip", "onsite", "virtual"]
    location: str = Field(default="", max_length=500)
    timezone: str = Field(default="America/Chicago", max_length=64, description="the program's IANA time zone")
    lockout_at: AwareDatetime | None = Field(default=None, description="no booking change on or after it "
                                             "(I5); default: the event's start")


class EventPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    location: str | None = Field(default=None, max_length=500)
    lockout_at: AwareDatetime | None = None


class EventDeleted(BaseModel):
    event_id: str
    bookings_cancelled: int


class EventOut(BaseModel):
    event_id: str
    program_code: str
    type_id: str
    start: datetime
    end: datetime
    start_local: str = Field(description="the start in the program's time zone")
    capacity: int
    booked: int
    seats_left: int
    place: str
    location: str
    timezone: str
    lockout_at: datetime


class EventList(BaseModel):
    events: list[EventOut]


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applicant_id: str = Field(**ID)
    type_ids: list[Annotated[str, Field(**ID)]] = Field(min_length=1, max_length=20)
    message: str = Field(default="", max_length=4000)


class InvitationOut(BaseModel):
    invitation_id: str
    program_code: str
    applicant_id: str
    type_ids: list[str]
    message: str
    created_at: datetime
    communication_rule: str = Field(description="I9")


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type_id: str = Field(**ID)
    event_id: str = Field(**ID)


class ForceBookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applicant_id: str = Field(**ID)
    type_id: str = Field(**ID)


class RebookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(**ID)


class TokenQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    token: str | None = Field(default=None, max_length=2000, description="the booking link's token (I2)")


class ScheduleQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)  # ?from= (or from_=) and ?to=
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None


class BookingOut(BaseModel):
    booking_id: str
    invitation_id: str
    applicant_id: str
    program_code: str
    type_id: str
    event_id: str
    start: datetime
    end: datetime
    start_applicant: str | None = Field(default=None, description="the start in the applicant's time zone (I6)")
    start_program: str | None = Field(default=None, description="the start in the program's time zone")
    status: str
    sequence: int
    forced: bool


class ScheduledEvent(EventOut):
    bookings: list[BookingOut]


class ScheduleOut(BaseModel):
    program_code: str
    events: list[ScheduledEvent]


class AttachmentLink(BaseModel):
    filename: str
    size: int
    url: str = Field(description="a short-lived download link (minutes); ask again for a new one")


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=200)
    size: int = Field(ge=1, le=5 * 1024 * 1024, description="bytes; at most 5 MB (I1)")


class Upload(BaseModel):
    url: str
    method: str = Field(description="POST: a multipart form with `fields` then the file as `file`")
    fields: dict[str, str] = Field(default_factory=dict)


class AttachmentUploadOut(BaseModel):
    upload: Upload


class AttachmentOut(BaseModel):
    event_id: str
    filename: str
    size: int
    status: str = Field(description="pending (upload not checked yet) | present")


class OpenEvent(BaseModel):
    event_id: str
    type_id: str
    start: datetime
    end: datetime
    start_applicant: str
    end_applicant: str
    start_program: str
    end_program: str
    program_timezone: str
    seats_left: int
    place: str
    location: str
    lockout_at: datetime
    attachment: AttachmentLink | None = Field(None, description="the event's PDF (I1), when it has one")


class ApplicantInvitation(BaseModel):
    invitation_id: str
    program_code: str
    program_name: str | None
    message: str
    created_at: datetime
    types: list[TypeOut]
    events: list[OpenEvent]
    communication_rule: str


class ApplicantInvitations(BaseModel):
    applicant_id: str
    timezone: str
    invitations: list[ApplicantInvitation]
    bookings: list[BookingOut]


class CalendarAddress(BaseModel):
    url: str = Field(description="the private .ics address for a calendar app (keep it secret)")
