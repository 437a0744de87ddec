"""PynamoDB models of the interviews table (one table, pk/sk, index gsi1).

| item                        | pk                            | sk                    | gsi1pk / gsi1sk                          |
| program (projection)        | program#{code}                | program               | programs / {code}                        |
| season calendar (proj.)     | season#{season}               | calendar              |                                          |
| applicant (projection)      | applicant#{id}                | applicant             | owner#{sub} / {id}                       |
| delivered to a program      | applicant#{id}                | delivered#{code}      |                                          |
| interview type              | program#{code}                | type#{type id}        |                                          |
| interview event             | event#{id}                    | event                 | program#{code}#events / {start}#{id}     |
| invitation                  | invitation#{id}               | invitation            | applicant#{id}#invitations / {at}#{id}   |
| booking                     | booking#{id}                  | booking               | applicant#{id}#bookings / {start}#{id}   |
| one booking per type (I4)   | applicant#{id}                | typebooking#{type id} |                                          |
| time-slot claim (I4)        | applicant#{id}#slot#{bucket}  | claim                 |                                          |
| booking of an event         | event#{id}                    | booking#{booking id}  |                                          |
| a booking change (digest)   | program#{code}#changes#{day}  | {at}#{booking}#{seq}  |                                          |
| digest sent (I5)            | program#{code}#digest         | {day}                 |                                          |
| event attachment (I1)       | event#{id}                    | attachment            |                                          |
| its pending upload (I1)     | event#{id}                    | attachment#pending    |                                          |
| idempotency records         | idempotency#interviews        | (powertools)          |                                          |
| outbox item                 | outbox#{stream}               | {ns}#{n}              | (shared.adapters.outbox)                 |
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from shared.adapters.dynamo import BaseItem, Gsi1, table_meta

META = table_meta("interviews")


class ProgramItem(BaseItem):
    Meta = META
    program_code = UnicodeAttribute()
    season = UnicodeAttribute()
    name = UnicodeAttribute()
    coth = BooleanAttribute()
    crip = BooleanAttribute()
    email = UnicodeAttribute(null=True)  # the program contact's email (the daily digest, I5)
    version = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)  # "programs": the digest goes through every program
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()


class CalendarItem(BaseItem):
    Meta = META
    season = UnicodeAttribute()
    calendar = MapAttribute()  # key -> ISO 8601 UTC
    version = NumberAttribute(null=True)


class ApplicantItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    email = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    timezone = UnicodeAttribute(null=True)
    owner_sub = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()


class DeliveredItem(BaseItem):
    Meta = META
    program_code = UnicodeAttribute()
    delivered_at = UTCDateTimeAttribute()


class TypeItem(BaseItem):
    Meta = META
    type_id = UnicodeAttribute()
    program_code = UnicodeAttribute()
    season = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute()


class EventItem(BaseItem):
    Meta = META
    event_id = UnicodeAttribute()
    program_code = UnicodeAttribute()
    season = UnicodeAttribute()
    type_id = UnicodeAttribute()
    start = UTCDateTimeAttribute()
    end = UTCDateTimeAttribute()
    capacity = NumberAttribute()
    booked = NumberAttribute(default=0)
    place = UnicodeAttribute()
    location = UnicodeAttribute()
    timezone = UnicodeAttribute()
    lockout_at = UTCDateTimeAttribute()
    closed = BooleanAttribute(null=True)  # being deleted: takes no new booking
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()


class InvitationItem(BaseItem):
    Meta = META
    invitation_id = UnicodeAttribute()
    program_code = UnicodeAttribute()
    season = UnicodeAttribute()
    applicant_id = UnicodeAttribute()
    type_ids = ListAttribute(of=UnicodeAttribute)
    message = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()


class BookingItem(BaseItem):
    Meta = META
    booking_id = UnicodeAttribute()
    invitation_id = UnicodeAttribute()
    applicant_id = UnicodeAttribute()
    program_code = UnicodeAttribute()
    type_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    start = UTCDateTimeAttribute()
    end = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    sequence = NumberAttribute()
    forced = BooleanAttribute(default=False)
    booked_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()


class TypeBookingItem(BaseItem):
    """I4: one booking per invited type (its key is the applicant and the type)."""

    Meta = META
    booking_id = UnicodeAttribute()


class ClaimItem(BaseItem):
    """I4: one 15-minute bucket of an applicant's time (domain.Claim)."""

    Meta = META
    left_end = NumberAttribute(null=True)
    left_booking = UnicodeAttribute(null=True)
    right_start = NumberAttribute(null=True)
    right_booking = UnicodeAttribute(null=True)


class EventBookingItem(BaseItem):
    """The bookings of an event (the schedule reads them with one query)."""

    Meta = META
    booking_id = UnicodeAttribute()
    applicant_id = UnicodeAttribute()


class ChangeItem(BaseItem):
    """I5: one booking change of a program on one UTC day (booked, rebooked, cancelled), written in
    the change's own transaction; the daily digest lists them."""

    Meta = META
    kind = UnicodeAttribute()  # booked | rebooked | cancelled
    booking_id = UnicodeAttribute()
    applicant_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    start = UTCDateTimeAttribute()
    end = UTCDateTimeAttribute()
    timezone = UnicodeAttribute()  # the event's (the program's) zone
    at = UTCDateTimeAttribute()
    forced = BooleanAttribute(null=True)
    previous_start = UTCDateTimeAttribute(null=True)  # a rebook: where it was


class DigestSentItem(BaseItem):
    """I5: the digest of one program and day was committed (with its email, or none: a quiet day)."""

    Meta = META
    day = UnicodeAttribute()
    changes = NumberAttribute()
    sent_at = UTCDateTimeAttribute()


class AttachmentItem(BaseItem):
    """I1: the event's optional PDF: sk `attachment` the present one (what applicants get), sk
    `attachment#pending` an upload offered and not completed yet (completion moves it over the
    present one in one transaction)."""

    Meta = META
    key = UnicodeAttribute()  # the object's key in the documents bucket
    filename = UnicodeAttribute()
    size = NumberAttribute()
    status = UnicodeAttribute()  # pending | present
    created_at = UTCDateTimeAttribute()
