"""PynamoDB models of the interviews table (one table, pk/sk, index gsi1).

| item                        | pk                            | sk                    | gsi1pk / gsi1sk                          |
| program (projection)        | program#{code}                | program               |                                          |
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
    version = NumberAttribute(null=True)


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
