"""The interviews store: its interface (fakes subclass it) and its DynamoDB implementation.
It returns domain objects.

The booking writes (I4) are each ONE transaction (shared.adapters.outbox.Transaction): the
event's seat counter conditioned `booked < capacity`, the applicant's one-booking-per-type
item conditioned on its absence, one time-slot claim item per 15-minute bucket the booking
(padded by the 15-minute buffer) touches, conditioned as domain.Claim explains, the booking,
and its outbox items. Nothing is decided by read-then-write: a burst of hundreds of
applicants on one event, or one applicant on ten overlapping events, gets exactly what the
conditions allow; a refusal names the rule and the booking it met."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist

from interviews.adapters.models import (
    ApplicantItem,
    AttachmentItem,
    BookingItem,
    CalendarItem,
    ChangeItem,
    ClaimItem,
    DeliveredItem,
    DigestSentItem,
    EventBookingItem,
    EventItem,
    InvitationItem,
    ProgramItem,
    TypeBookingItem,
    TypeItem,
)
from interviews.domain import (
    ApplicantInfo,
    Attachment,
    Booking,
    BookingChange,
    Claim,
    EventFull,
    InterviewEvent,
    InterviewType,
    Invitation,
    ProgramInfo,
    SlotTaken,
    TypeBookedAlready,
    change_day,
    slot_claims,
)
from shared.adapters.dynamo import batch_get
from shared.adapters.outbox import Transaction
from shared.clock import parse_instant
from shared.contracts import Contract
from shared.email import Email
from shared.errors import Conflict, DomainError

SERVICE = "interviews"
Now = Callable[[], datetime]


# ----------------------------------------------------------------------------- refusals (I4)
def _type_refusal(applicant_id: str, type_id: str) -> Callable[[], DomainError]:
    def refuse() -> DomainError:
        try:
            other = TypeBookingItem.get(f"applicant#{applicant_id}", f"typebooking#{type_id}",
                                        consistent_read=True).booking_id
        except DoesNotExist:
            other = None
        return TypeBookedAlready(f"you have a booking of this interview type already (booking {other}); rebook it "
                                 "instead (I4: one booking per invited interview type)", rule="I4",
                                 extra={"i4": "one_booking_per_type", "booking_id": other, "type_id": type_id})
    return refuse


def _event_refusal(e: InterviewEvent) -> DomainError:
    return EventFull(f"the event {e.event_id} is full: its {e.capacity} seats are booked (I4: an event never holds "
                     "more bookings than its capacity)", rule="I4",
                     extra={"i4": "capacity", "event_id": e.event_id, "capacity": e.capacity})


def _claim_refusal(applicant_id: str, c: Claim, me: str) -> Callable[[], DomainError]:
    def refuse() -> DomainError:
        try:
            item = ClaimItem.get(f"applicant#{applicant_id}#slot#{c.bucket}", "claim", consistent_read=True)
            other = next((b for b in (item.left_booking, item.right_booking) if b and b != me), None)
        except DoesNotExist:
            other = None
        return SlotTaken(f"this time overlaps, or lies within 15 minutes of, your booking {other} (I4: no two "
                         "bookings overlap and none starts or ends within 15 minutes of another, across all "
                         "programs)", rule="I4", extra={"i4": "overlap_or_buffer", "booking_id": other})
    return refuse


# ----------------------------------------------------------------------------- interface
class InterviewStore(ABC):
    # projections
    @abstractmethod
    def put_program(self, p: ProgramInfo, version: int | None) -> None: ...
    @abstractmethod
    def program(self, code: str) -> ProgramInfo | None: ...
    @abstractmethod
    def put_calendar(self, season: str, calendar: dict[str, datetime], version: int | None) -> None: ...
    @abstractmethod
    def calendar(self, season: str) -> dict[str, datetime]: ...
    @abstractmethod
    def put_applicant(self, a: ApplicantInfo, version: int | None) -> None: ...
    @abstractmethod
    def set_timezone(self, applicant_id: str, timezone: str) -> None: ...
    @abstractmethod
    def applicant(self, applicant_id: str) -> ApplicantInfo | None: ...
    @abstractmethod
    def applicants_of_owner(self, sub: str) -> list[ApplicantInfo]: ...
    @abstractmethod
    def mark_delivered(self, applicant_id: str, program_code: str, at: datetime) -> None: ...
    @abstractmethod
    def delivered(self, applicant_id: str, program_code: str) -> bool: ...
    # types, events, invitations
    @abstractmethod
    def add_type(self, t: InterviewType) -> None: ...
    @abstractmethod
    def types(self, program_code: str) -> list[InterviewType]: ...
    @abstractmethod
    def add_event(self, e: InterviewEvent) -> None: ...
    @abstractmethod
    def event(self, event_id: str) -> InterviewEvent | None: ...
    @abstractmethod
    def events(self, program_code: str) -> list[InterviewEvent]: ...
    @abstractmethod
    def add_invitation(self, inv: Invitation, now: datetime, events: Iterable[Contract],
                       emails: Iterable[Email]) -> None: ...
    @abstractmethod
    def invitation(self, invitation_id: str) -> Invitation | None: ...
    @abstractmethod
    def invitations(self, applicant_id: str) -> list[Invitation]: ...
    def invitation_reads(self, program_code: str, applicant_id: str
                         ) -> tuple[ProgramInfo | None, ApplicantInfo | None, bool]:
        """What an invitation reads (the program, the applicant, whether its application was
        delivered to the program: I2); DynamoDB: one round trip."""
        return self.program(program_code), self.applicant(applicant_id), self.delivered(applicant_id, program_code)
    def booking_reads(self, invitation_id: str, applicant_id: str | None, event_id: str
                      ) -> tuple[Invitation | None, ApplicantInfo | None, InterviewEvent | None]:
        """What a booking attempt reads (the invitation, the applicant the link names, the
        event), each None when absent; DynamoDB: one round trip."""
        return (self.invitation(invitation_id), self.applicant(applicant_id) if applicant_id else None,
                self.event(event_id))
    # bookings (I4, I5)
    @abstractmethod
    def book(self, b: Booking, e: InterviewEvent, now: datetime, events: Iterable[Contract],
             emails: Iterable[Email]) -> None: ...
    @abstractmethod
    def rebook(self, old: Booking, new: Booking, old_event: InterviewEvent, new_event: InterviewEvent,
               now: datetime, events: Iterable[Contract], emails: Iterable[Email]) -> None: ...
    @abstractmethod
    def cancel(self, b: Booking, e: InterviewEvent, now: datetime, events: Iterable[Contract],
               emails: Iterable[Email]) -> Booking: ...
    @abstractmethod
    def booking(self, booking_id: str) -> Booking | None: ...
    @abstractmethod
    def bookings(self, applicant_id: str) -> list[Booking]: ...
    @abstractmethod
    def event_bookings(self, event_id: str) -> list[Booking]: ...
    @abstractmethod
    def applicants_in_season(self, season: str) -> list[ApplicantInfo]: ...
    @abstractmethod
    def announce_refund(self, applicant_id: str, now: datetime, events: Iterable[Contract]) -> bool:
        """I8: announces the refund once per applicant (False when announced before)."""
    @abstractmethod
    def refund_candidates(self, season: str) -> tuple[list[str], set[str]]:
        """I8: (the season's applicants who never booked through the system, those of them whose
        refund was announced already), read in batches (not two reads per applicant)."""
    @abstractmethod
    def announce_refunds(self, refunds: dict[str, list[Contract]], now: datetime) -> int:
        """I8: announce_refund for each applicant id -> its events, several applicants per
        transaction (each still once: its marker's condition); returns how many were announced now."""
    @abstractmethod
    def update_event(self, e: InterviewEvent, changes: dict) -> InterviewEvent:
        """Changes location, lockout, capacity (never below its bookings: a condition) and, while
        nothing is booked, start and end."""
    @abstractmethod
    def close_event(self, event_id: str) -> None: ...
    @abstractmethod
    def delete_event(self, event_id: str) -> None:
        """Deletes a closed event that holds no booking (Conflict otherwise)."""
    @abstractmethod
    def new_calendar_secret(self, applicant_id: str) -> str: ...
    @abstractmethod
    def revoke_calendar_secret(self, applicant_id: str) -> None: ...
    @abstractmethod
    def calendar_owner(self, secret: str) -> str | None: ...
    @abstractmethod
    def ever_booked(self, applicant_id: str) -> bool:
        """I8: whether the applicant ever booked through the system (a cancellation keeps it)."""
    # the daily digest (I5)
    @abstractmethod
    def programs(self) -> list[ProgramInfo]: ...
    @abstractmethod
    def digests_committed(self, program_codes: list[str], day: str) -> set[str]:
        """The programs whose digest of `day` is committed (sent, or quiet)."""
    @abstractmethod
    def changes(self, program_code: str, day: str) -> list[BookingChange]: ...
    @abstractmethod
    def commit_digest(self, program_code: str, day: str, changes: int, now: datetime,
                      emails: Iterable[Email]) -> bool:
        """ONE transaction: the "digest of this program and day committed" item, conditioned on its
        absence, and the email's outbox item. False (nothing sent) when committed before."""
    # the event's PDF (I1): the present one (what applicants get) and at most one pending upload
    @abstractmethod
    def put_attachment(self, a: Attachment) -> str | None:
        """Records `a` as the event's pending upload (the present PDF stays); returns the key of
        the pending upload it replaced, if any."""
    @abstractmethod
    def attachment(self, event_id: str) -> Attachment | None:
        """The event's present PDF."""
    @abstractmethod
    def pending_attachment(self, event_id: str) -> Attachment | None: ...
    @abstractmethod
    def mark_attachment_present(self, event_id: str, key: str, size: int) -> tuple[bool, str | None]:
        """ONE transaction: the pending upload `key` (still the pending one) becomes the present
        PDF with its checked size, replacing the present one. (False, None): another upload
        replaced it meanwhile; (True, key of the PDF it replaced or None)."""
    @abstractmethod
    def remove_attachment(self, event_id: str) -> list[str]:
        """Removes the present PDF and any pending upload (each conditioned on the key read); the
        keys removed ([]: the event has neither)."""


# ----------------------------------------------------------------------------- DynamoDB
ATTACHMENT_PRESENT, ATTACHMENT_PENDING = "attachment", "attachment#pending"


def _attachment(i: AttachmentItem | None, event_id: str) -> Attachment | None:
    return Attachment(event_id=event_id, key=i.key, filename=i.filename, size=int(i.size), status=i.status,
                      created_at=i.created_at) if i is not None else None


def _attachment_item(a: Attachment, sk: str) -> AttachmentItem:
    return AttachmentItem(pk=f"event#{a.event_id}", sk=sk, key=a.key, filename=a.filename, size=a.size,
                          status=a.status, created_at=a.created_at)


def _get(model, pk: str, sk: str):
    try:
        return model.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def _applicant(i: ApplicantItem) -> ApplicantInfo:
    return ApplicantInfo(applicant_id=i.applicant_id, season=i.season, email=i.email, first_name=i.first_name,
                         last_name=i.last_name, timezone=i.timezone or "America/Chicago", owner_sub=i.owner_sub)


ITEM_MODELS = (ProgramItem, CalendarItem, ApplicantItem, DeliveredItem, TypeItem, EventItem, InvitationItem,
               BookingItem, TypeBookingItem, ClaimItem, EventBookingItem, ChangeItem, DigestSentItem, AttachmentItem)


def one_connection() -> Connection:
    """One PynamoDB connection (one botocore client, which is thread-safe) for every item class
    of the table and the store's transactions, its client made now (at wiring). PynamoDB gives
    each Model class its own connection whose client is made on first use, unguarded: a burst of
    32 threads on a fresh process made up to 32 clients per class (~100 ms of CPU each)."""
    connection = Connection(region=EventItem.Meta.region)
    for model in ITEM_MODELS:
        table = model._get_connection()  # PynamoDB's per-class TableConnection
        if table.connection is not connection and table.table_name not in connection._tables:
            connection.add_meta_table(table.get_meta_table())  # the schema, known locally (no DescribeTable)
        table.connection = connection
    connection.client  # noqa: B018 - made here, once, not by the first requests at once
    return connection


def _program(i: ProgramItem) -> ProgramInfo:
    return ProgramInfo(program_code=i.program_code, season=i.season, name=i.name, coth=bool(i.coth),
                       crip=bool(i.crip), email=i.email)


def _change(t: Transaction, program_code: str, c: BookingChange) -> None:
    """I5: the change, under its program and UTC day, in the change's own transaction (the digest
    reads them; a distinct key per change: no contention between bookings)."""
    t.put(ChangeItem(pk=f"program#{program_code}#changes#{change_day(c.at)}",
                     sk=f"{c.at.isoformat()}#{c.booking_id}#{c.kind}", kind=c.kind, booking_id=c.booking_id,
                     applicant_id=c.applicant_id, event_id=c.event_id, start=c.start, end=c.end,
                     timezone=c.timezone, at=c.at, forced=c.forced or None, previous_start=c.previous_start))


def _event(i: EventItem) -> InterviewEvent:
    return InterviewEvent(event_id=i.event_id, program_code=i.program_code, season=i.season, type_id=i.type_id,
                          start=i.start, end=i.end, capacity=int(i.capacity), place=i.place, location=i.location,
                          timezone=i.timezone, lockout_at=i.lockout_at, booked=int(i.booked or 0))


def _invitation(i: InvitationItem) -> Invitation:
    return Invitation(invitation_id=i.invitation_id, program_code=i.program_code, season=i.season,
                      applicant_id=i.applicant_id, type_ids=tuple(i.type_ids or ()), message=i.message,
                      created_at=i.created_at)


def _booking(i: BookingItem) -> Booking:
    return Booking(booking_id=i.booking_id, invitation_id=i.invitation_id, applicant_id=i.applicant_id,
                   program_code=i.program_code, type_id=i.type_id, event_id=i.event_id, start=i.start, end=i.end,
                   status=i.status, sequence=int(i.sequence), booked_at=i.booked_at, forced=bool(i.forced),
                   updated_at=i.updated_at)


def _booking_item(b: Booking) -> BookingItem:
    return BookingItem(pk=f"booking#{b.booking_id}", sk="booking", booking_id=b.booking_id,
                       invitation_id=b.invitation_id, applicant_id=b.applicant_id, program_code=b.program_code,
                       type_id=b.type_id, event_id=b.event_id, start=b.start, end=b.end, status=b.status,
                       sequence=b.sequence, forced=b.forced, booked_at=b.booked_at, updated_at=b.updated_at,
                       gsi1pk=f"applicant#{b.applicant_id}#bookings", gsi1sk=f"{b.start.isoformat()}#{b.booking_id}")


def _claim_key(applicant_id: str, bucket: int) -> ClaimItem:
    return ClaimItem(pk=f"applicant#{applicant_id}#slot#{bucket}", sk="claim")


def _claim_update(t: Transaction, applicant_id: str, me: str, new: Claim | None, old: Claim | None) -> None:
    """One bucket: take the `new` claim (conditioned as domain.Claim says; the booking's own
    old claim in the same bucket does not count) and/or release the `old` one."""
    C = ClaimItem
    item = _claim_key(applicant_id, (new or old).bucket)
    actions, condition = [], None
    if new is not None:
        if new.side == "left":
            condition = ((C.left_end.does_not_exist() | (C.left_booking == me))
                         & (C.right_start.does_not_exist() | (C.right_start >= new.end_min) | (C.right_booking == me)))
            actions += [C.left_end.set(new.end_min), C.left_booking.set(me)]
        else:
            condition = ((C.right_start.does_not_exist() | (C.right_booking == me))
                         & (C.left_end.does_not_exist() | (C.left_end <= new.start_min) | (C.left_booking == me)))
            actions += [C.right_start.set(new.start_min), C.right_booking.set(me)]
    if old is not None and (new is None or new.side != old.side):
        if old.side == "left":
            actions += [C.left_end.remove(), C.left_booking.remove()]
            mine = C.left_booking == me
        else:
            actions += [C.right_start.remove(), C.right_booking.remove()]
            mine = C.right_booking == me
        condition = mine if condition is None else condition & mine
    refusal = _claim_refusal(applicant_id, new, me) if new is not None else Conflict(
        "your bookings changed meanwhile; reload and retry")
    t.update(item, actions=actions, condition=condition, refusal=refusal)


def _claims(t: Transaction, applicant_id: str, me: str, new: list[Claim], old: list[Claim]) -> None:
    by_new = {c.bucket: c for c in new}
    by_old = {c.bucket: c for c in old}
    for bucket in sorted(set(by_new) | set(by_old)):
        _claim_update(t, applicant_id, me, by_new.get(bucket), by_old.get(bucket))


def _seat(t: Transaction, e: InterviewEvent, delta: int) -> None:
    item = EventItem(pk=f"event#{e.event_id}", sk="event")
    if delta > 0:
        t.update(item, actions=[EventItem.booked.add(delta)],
                 condition=EventItem.pk.exists() & (EventItem.booked < e.capacity) & (EventItem.capacity == e.capacity)
                 & EventItem.closed.does_not_exist(),
                 refusal=_event_refusal(e))
    else:
        t.update(item, actions=[EventItem.booked.add(delta)], condition=EventItem.booked > 0)


class DynamoInterviewStore(InterviewStore):
    def __init__(self, now: Now):
        self.now = now
        self._connection = one_connection()

    def _tx(self, now: datetime) -> Transaction:
        """A transaction on this store's one connection (a botocore client costs ~100 ms to make:
        never one per booking on the hottest path)."""
        return Transaction(SERVICE, now, connection=self._connection)

    # ---- projections
    def put_program(self, p: ProgramInfo, version: int | None) -> None:
        cond = ProgramItem.pk.does_not_exist() | (ProgramItem.season < p.season) | (
            (ProgramItem.season == p.season) & (ProgramItem.version.does_not_exist() | (ProgramItem.version <= (version or 0))))
        try:
            ProgramItem(pk=f"program#{p.program_code}", sk="program", program_code=p.program_code, season=p.season,
                        name=p.name, coth=p.coth, crip=p.crip, email=p.email, version=version, gsi1pk="programs",
                        gsi1sk=p.program_code).save(condition=cond)
        except Exception as exc:  # an older version arriving late: kept out
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    def program(self, code: str) -> ProgramInfo | None:
        i = _get(ProgramItem, f"program#{code}", "program")
        return _program(i) if i else None

    def put_calendar(self, season: str, calendar: dict[str, datetime], version: int | None) -> None:
        cond = CalendarItem.pk.does_not_exist() | CalendarItem.version.does_not_exist() | (
            CalendarItem.version <= (version or 0))
        try:
            CalendarItem(pk=f"season#{season}", sk="calendar", season=season, version=version,
                         calendar={k: v.isoformat() for k, v in calendar.items()}).save(condition=cond)
        except Exception as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    def calendar(self, season: str) -> dict[str, datetime]:
        i = _get(CalendarItem, f"season#{season}", "calendar")
        if not i:
            return {}
        return {k: parse_instant(v) for k, v in i.calendar.as_dict().items()}

    def put_applicant(self, a: ApplicantInfo, version: int | None) -> None:
        """One conditional UpdateItem (not a read and a put): only over an older (or no) version,
        keeping a time zone held (a profile change's); an unversioned event (an older producer)
        always writes. Then the season's applicants index (I8)."""
        owner = [ApplicantItem.owner_sub.set(a.owner_sub), ApplicantItem.gsi1pk.set(f"owner#{a.owner_sub}"),
                 ApplicantItem.gsi1sk.set(a.applicant_id)] if a.owner_sub else [
            ApplicantItem.owner_sub.remove(), ApplicantItem.gsi1pk.remove(), ApplicantItem.gsi1sk.remove()]
        actions = [ApplicantItem.applicant_id.set(a.applicant_id), ApplicantItem.season.set(a.season),
                   ApplicantItem.email.set(a.email), ApplicantItem.first_name.set(a.first_name),
                   ApplicantItem.last_name.set(a.last_name), *owner,
                   *([ApplicantItem.timezone.set(ApplicantItem.timezone | a.timezone)] if a.timezone else []),
                   ApplicantItem.version.set(version) if version is not None else ApplicantItem.version.remove()]
        condition = None if version is None else (
            ApplicantItem.version.does_not_exist() | (ApplicantItem.version <= version))
        try:
            ApplicantItem(pk=f"applicant#{a.applicant_id}", sk="applicant").update(actions=actions,
                                                                                  condition=condition)
        except Exception as exc:  # a newer registration is held: this older one changes nothing
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return
        DeliveredItem(pk=f"season#{a.season}#applicants", sk=f"applicant#{a.applicant_id}", program_code="-",
                      delivered_at=self.now()).save()  # the season's applicants (I8)

    def applicants_in_season(self, season: str) -> list[ApplicantInfo]:
        ids = [i.sk.removeprefix("applicant#") for i in DeliveredItem.query(f"season#{season}#applicants")]
        return [a for aid in ids if (a := self.applicant(aid))]

    def announce_refund(self, applicant_id: str, now: datetime, events: Iterable[Contract]) -> bool:
        t = self._tx(now)
        t.put(DeliveredItem(pk=f"applicant#{applicant_id}", sk="refund_due", program_code="-", delivered_at=now),
              condition=DeliveredItem.pk.does_not_exist(), refusal=Conflict("announced before"))
        t.announce(f"applicant#{applicant_id}", events)
        try:
            t.commit()
        except Conflict:
            return False
        return True

    def refund_candidates(self, season: str) -> tuple[list[str], set[str]]:
        ids = [i.sk.removeprefix("applicant#") for i in DeliveredItem.query(f"season#{season}#applicants")]
        known = {i.applicant_id for i in ApplicantItem.batch_get(
            [(f"applicant#{aid}", "applicant") for aid in ids], consistent_read=True)}
        marks: dict[str, set[str]] = {}
        for i in DeliveredItem.batch_get([(f"applicant#{aid}", sk) for aid in ids for sk in ("ever_booked",
                                                                                                 "refund_due")],
                                         consistent_read=True):
            marks.setdefault(i.sk, set()).add(i.pk.removeprefix("applicant#"))
        unbooked = [aid for aid in ids if aid in known and aid not in marks.get("ever_booked", set())]
        return unbooked, marks.get("refund_due", set()) & set(unbooked)

    REFUNDS_PER_TRANSACTION = 25  # each a marker and its event's outbox item: well under DynamoDB's 100 items

    def announce_refunds(self, refunds: dict[str, list[Contract]], now: datetime) -> int:
        ids = list(refunds)
        announced = 0
        for start in range(0, len(ids), self.REFUNDS_PER_TRANSACTION):
            chunk = ids[start:start + self.REFUNDS_PER_TRANSACTION]
            t = self._tx(now)
            for aid in chunk:
                t.put(DeliveredItem(pk=f"applicant#{aid}", sk="refund_due", program_code="-", delivered_at=now),
                      condition=DeliveredItem.pk.does_not_exist(), refusal=Conflict("announced before"))
                t.announce(f"applicant#{aid}", refunds[aid])
            try:
                t.commit()
                announced += len(chunk)
            except Conflict:  # one of them announced meanwhile (a redelivery at the same time): one by one
                announced += sum(self.announce_refund(aid, now, refunds[aid]) for aid in chunk)
        return announced

    def set_timezone(self, applicant_id: str, timezone: str) -> None:
        try:
            ApplicantItem(pk=f"applicant#{applicant_id}", sk="applicant").update(
                actions=[ApplicantItem.timezone.set(timezone)], condition=ApplicantItem.pk.exists())
        except Exception as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    def applicant(self, applicant_id: str) -> ApplicantInfo | None:
        i = _get(ApplicantItem, f"applicant#{applicant_id}", "applicant")
        return _applicant(i) if i else None

    def applicants_of_owner(self, sub: str) -> list[ApplicantInfo]:
        return [a for i in ApplicantItem.gsi1.query(f"owner#{sub}") if (a := self.applicant(i.applicant_id))]

    def mark_delivered(self, applicant_id: str, program_code: str, at: datetime) -> None:
        DeliveredItem(pk=f"applicant#{applicant_id}", sk=f"delivered#{program_code}", program_code=program_code,
                      delivered_at=at).save()

    def delivered(self, applicant_id: str, program_code: str) -> bool:
        return _get(DeliveredItem, f"applicant#{applicant_id}", f"delivered#{program_code}") is not None

    # ---- types, events, invitations
    def add_type(self, t: InterviewType) -> None:
        TypeItem(pk=f"program#{t.program_code}", sk=f"type#{t.type_id}", type_id=t.type_id,
                 program_code=t.program_code, season=t.season, name=t.name, description=t.description).save(
            condition=TypeItem.pk.does_not_exist())

    def types(self, program_code: str) -> list[InterviewType]:
        return [InterviewType(type_id=i.type_id, program_code=i.program_code, season=i.season, name=i.name,
                              description=i.description)
                for i in TypeItem.query(f"program#{program_code}", TypeItem.sk.startswith("type#"))]

    def add_event(self, e: InterviewEvent) -> None:
        EventItem(pk=f"event#{e.event_id}", sk="event", event_id=e.event_id, program_code=e.program_code,
                  season=e.season, type_id=e.type_id, start=e.start, end=e.end, capacity=e.capacity, booked=0,
                  place=e.place, location=e.location, timezone=e.timezone, lockout_at=e.lockout_at,
                  gsi1pk=f"program#{e.program_code}#events", gsi1sk=f"{e.start.isoformat()}#{e.event_id}").save(
            condition=EventItem.pk.does_not_exist())

    def event(self, event_id: str) -> InterviewEvent | None:
        i = _get(EventItem, f"event#{event_id}", "event")
        return _event(i) if i else None

    def events(self, program_code: str) -> list[InterviewEvent]:
        return [_event(i) for i in EventItem.gsi1.query(f"program#{program_code}#events")]

    def add_invitation(self, inv: Invitation, now: datetime, events: Iterable[Contract],
                       emails: Iterable[Email]) -> None:
        t = self._tx(now)
        t.put(InvitationItem(pk=f"invitation#{inv.invitation_id}", sk="invitation", invitation_id=inv.invitation_id,
                             program_code=inv.program_code, season=inv.season, applicant_id=inv.applicant_id,
                             type_ids=list(inv.type_ids), message=inv.message, created_at=inv.created_at,
                             gsi1pk=f"applicant#{inv.applicant_id}#invitations",
                             gsi1sk=f"{inv.created_at.isoformat()}#{inv.invitation_id}"),
              condition=InvitationItem.pk.does_not_exist())
        t.announce(f"applicant#{inv.applicant_id}", events, emails)
        t.commit()

    def invitation(self, invitation_id: str) -> Invitation | None:
        i = _get(InvitationItem, f"invitation#{invitation_id}", "invitation")
        return _invitation(i) if i else None

    def invitations(self, applicant_id: str) -> list[Invitation]:
        return [_invitation(i) for i in InvitationItem.gsi1.query(f"applicant#{applicant_id}#invitations")]

    def _batch_get(self, wanted: dict[tuple[str, str], type]) -> dict[tuple[str, str], object]:
        """Strongly consistent BatchGetItem of (pk, sk) -> its model: the items found."""
        return batch_get(self._connection.dispatch, EventItem.Meta.table_name, wanted)

    def invitation_reads(self, program_code: str, applicant_id: str
                         ) -> tuple[ProgramInfo | None, ApplicantInfo | None, bool]:
        program, applicant = (f"program#{program_code}", "program"), (f"applicant#{applicant_id}", "applicant")
        delivered = (f"applicant#{applicant_id}", f"delivered#{program_code}")
        found = self._batch_get({program: ProgramItem, applicant: ApplicantItem, delivered: DeliveredItem})
        p, a = found.get(program), found.get(applicant)
        return _program(p) if p else None, _applicant(a) if a else None, delivered in found

    def booking_reads(self, invitation_id: str, applicant_id: str | None, event_id: str
                      ) -> tuple[Invitation | None, ApplicantInfo | None, InterviewEvent | None]:
        """One strongly consistent BatchGetItem, not three GetItems (a booking rush is mostly
        these reads). Not TransactGetItems: that one is cancelled by any transaction writing
        the event's seat counter at the same moment, i.e. all the time in a rush."""
        wanted = {(f"invitation#{invitation_id}", "invitation"): InvitationItem, (f"event#{event_id}", "event"): EventItem}
        if applicant_id:
            wanted[(f"applicant#{applicant_id}", "applicant")] = ApplicantItem
        found = self._batch_get(wanted)
        inv, e = found.get((f"invitation#{invitation_id}", "invitation")), found.get((f"event#{event_id}", "event"))
        a = found.get((f"applicant#{applicant_id}", "applicant"))
        return (_invitation(inv) if inv else None, _applicant(a) if a else None, _event(e) if e else None)

    # ---- bookings
    def book(self, b: Booking, e: InterviewEvent, now: datetime, events: Iterable[Contract],
             emails: Iterable[Email]) -> None:
        t = self._tx(now)
        t.put(TypeBookingItem(pk=f"applicant#{b.applicant_id}", sk=f"typebooking#{b.type_id}", booking_id=b.booking_id),
              condition=TypeBookingItem.pk.does_not_exist(), refusal=_type_refusal(b.applicant_id, b.type_id))
        _seat(t, e, +1)
        _claims(t, b.applicant_id, b.booking_id, slot_claims(b.start, b.end), [])
        t.put(_booking_item(b), condition=BookingItem.pk.does_not_exist())
        t.put(EventBookingItem(pk=f"event#{e.event_id}", sk=f"booking#{b.booking_id}", booking_id=b.booking_id,
                               applicant_id=b.applicant_id))
        t.put(DeliveredItem(pk=f"applicant#{b.applicant_id}", sk="ever_booked", program_code=b.program_code,
                            delivered_at=now))  # I8: booked through the system (kept after a cancellation)
        _change(t, b.program_code, BookingChange("booked", b.booking_id, b.applicant_id, e.event_id, b.start, b.end,
                                                 e.timezone, now, forced=b.forced))
        t.announce(f"applicant#{b.applicant_id}", events, emails)
        t.commit()

    def rebook(self, old: Booking, new: Booking, old_event: InterviewEvent, new_event: InterviewEvent,
               now: datetime, events: Iterable[Contract], emails: Iterable[Email]) -> None:
        t = self._tx(now)
        _seat(t, old_event, -1)
        _seat(t, new_event, +1)
        _claims(t, new.applicant_id, new.booking_id, slot_claims(new.start, new.end), slot_claims(old.start, old.end))
        t.put(_booking_item(new), condition=(BookingItem.sequence == old.sequence) & (BookingItem.status == "booked"),
              refusal=Conflict("the booking changed meanwhile; reload and retry", rule="I5"))
        t.delete(EventBookingItem(pk=f"event#{old_event.event_id}", sk=f"booking#{old.booking_id}"))
        t.put(EventBookingItem(pk=f"event#{new_event.event_id}", sk=f"booking#{new.booking_id}",
                               booking_id=new.booking_id, applicant_id=new.applicant_id))
        _change(t, new.program_code, BookingChange("rebooked", new.booking_id, new.applicant_id, new_event.event_id,
                                                   new.start, new.end, new_event.timezone, now,
                                                   previous_start=old.start))
        t.announce(f"applicant#{new.applicant_id}", events, emails)
        t.commit()

    def cancel(self, b: Booking, e: InterviewEvent, now: datetime, events: Iterable[Contract],
               emails: Iterable[Email]) -> Booking:
        from dataclasses import replace

        done = replace(b, status="cancelled", sequence=b.sequence + 1, updated_at=now)
        t = self._tx(now)
        _seat(t, e, -1)
        _claims(t, b.applicant_id, b.booking_id, [], slot_claims(b.start, b.end))
        t.put(_booking_item(done), condition=(BookingItem.sequence == b.sequence) & (BookingItem.status == "booked"),
              refusal=Conflict("the booking changed meanwhile; reload and retry", rule="I5"))
        t.delete(TypeBookingItem(pk=f"applicant#{b.applicant_id}", sk=f"typebooking#{b.type_id}"),
                 condition=TypeBookingItem.booking_id == b.booking_id)
        t.delete(EventBookingItem(pk=f"event#{e.event_id}", sk=f"booking#{b.booking_id}"))
        _change(t, b.program_code, BookingChange("cancelled", b.booking_id, b.applicant_id, e.event_id, b.start,
                                                 b.end, e.timezone, now))
        t.announce(f"applicant#{b.applicant_id}", events, emails)
        t.commit()
        return done

    def booking(self, booking_id: str) -> Booking | None:
        i = _get(BookingItem, f"booking#{booking_id}", "booking")
        return _booking(i) if i else None

    def bookings(self, applicant_id: str) -> list[Booking]:
        return [_booking(i) for i in BookingItem.gsi1.query(f"applicant#{applicant_id}#bookings")]

    def event_bookings(self, event_id: str) -> list[Booking]:
        ids = [i.booking_id for i in EventBookingItem.query(f"event#{event_id}", EventBookingItem.sk.startswith(
            "booking#"))]
        return [b for bid in ids if (b := self.booking(bid)) and b.status == "booked"]

    def ever_booked(self, applicant_id: str) -> bool:
        return _get(DeliveredItem, f"applicant#{applicant_id}", "ever_booked") is not None

    # ---- the daily digest (I5)
    def programs(self) -> list[ProgramInfo]:
        return [_program(i) for i in ProgramItem.gsi1.query("programs")]

    def digests_committed(self, program_codes: list[str], day: str) -> set[str]:
        keys = [(f"program#{c}#digest", day) for c in program_codes]
        return {i.pk.removeprefix("program#").removesuffix("#digest") for i in DigestSentItem.batch_get(keys)}

    def changes(self, program_code: str, day: str) -> list[BookingChange]:
        return [BookingChange(kind=i.kind, booking_id=i.booking_id, applicant_id=i.applicant_id, event_id=i.event_id,
                              start=i.start, end=i.end, timezone=i.timezone, at=i.at, forced=bool(i.forced),
                              previous_start=i.previous_start)
                for i in ChangeItem.query(f"program#{program_code}#changes#{day}", consistent_read=True)]

    def commit_digest(self, program_code: str, day: str, changes: int, now: datetime,
                      emails: Iterable[Email]) -> bool:
        t = self._tx(now)
        t.put(DigestSentItem(pk=f"program#{program_code}#digest", sk=day, day=day, changes=changes, sent_at=now),
              condition=DigestSentItem.pk.does_not_exist(), refusal=Conflict("the digest is committed already"))
        t.announce(f"program#{program_code}#digest", (), emails)
        try:
            t.commit()
        except Conflict as exc:
            if exc.extra.get("retry"):
                raise
            return False
        return True

    # ---- the event's PDF (I1)
    def put_attachment(self, a: Attachment) -> str | None:
        before = self.pending_attachment(a.event_id)
        _attachment_item(a, ATTACHMENT_PENDING).save()
        return before.key if before is not None and before.key != a.key else None

    def attachment(self, event_id: str) -> Attachment | None:
        a = _attachment(_get(AttachmentItem, f"event#{event_id}", ATTACHMENT_PRESENT), event_id)
        return a if a is not None and a.status == "present" else None

    def pending_attachment(self, event_id: str) -> Attachment | None:
        return _attachment(_get(AttachmentItem, f"event#{event_id}", ATTACHMENT_PENDING), event_id)

    def mark_attachment_present(self, event_id: str, key: str, size: int) -> tuple[bool, str | None]:
        pending = self.pending_attachment(event_id)
        if pending is None or pending.key != key:
            return False, None
        from dataclasses import replace

        present = self.attachment(event_id)
        t = self._tx(self.now())
        t.delete(AttachmentItem(pk=f"event#{event_id}", sk=ATTACHMENT_PENDING), condition=AttachmentItem.key == key,
                 refusal=Conflict("another upload replaced this one"))
        t.put(_attachment_item(replace(pending, status="present", size=size), ATTACHMENT_PRESENT),
              condition=(AttachmentItem.key == present.key) if present is not None
              else AttachmentItem.pk.does_not_exist(), refusal=Conflict("the event's PDF changed meanwhile"))
        try:
            t.commit()
        except Conflict:
            return False, None
        return True, present.key if present is not None else None

    def remove_attachment(self, event_id: str) -> list[str]:
        found = [(sk, i) for sk in (ATTACHMENT_PRESENT, ATTACHMENT_PENDING)
                 if (i := _get(AttachmentItem, f"event#{event_id}", sk)) is not None]
        if not found:
            return []
        t = self._tx(self.now())
        for sk, i in found:
            t.delete(AttachmentItem(pk=f"event#{event_id}", sk=sk), condition=AttachmentItem.key == i.key,
                     refusal=Conflict("the event's PDF changed meanwhile; try again", rule="I1"))
        t.commit()
        return [i.key for _, i in found]

    # ---- the private calendar address
    def new_calendar_secret(self, applicant_id: str) -> str:
        import secrets

        self.revoke_calendar_secret(applicant_id)
        secret = secrets.token_urlsafe(24)
        t = self._tx(self.now())
        t.put(TypeBookingItem(pk=f"calendar#{secret}", sk="calendar", booking_id=applicant_id),
              condition=TypeBookingItem.pk.does_not_exist())
        t.put(TypeBookingItem(pk=f"applicant#{applicant_id}", sk="calendar_secret", booking_id=secret))
        t.commit()
        return secret

    def revoke_calendar_secret(self, applicant_id: str) -> None:
        current = _get(TypeBookingItem, f"applicant#{applicant_id}", "calendar_secret")
        if current is not None:
            TypeBookingItem(pk=f"calendar#{current.booking_id}", sk="calendar").delete()
            current.delete()

    def calendar_owner(self, secret: str) -> str | None:
        if not secret or len(secret) > 100:
            return None
        item = _get(TypeBookingItem, f"calendar#{secret}", "calendar")
        return item.booking_id if item else None

    # ---- changing and deleting events (I1)
    def update_event(self, e: InterviewEvent, changes: dict) -> InterviewEvent:
        from dataclasses import replace

        E = EventItem
        actions, condition = [], E.pk.exists() & E.closed.does_not_exist()
        for name in ("location", "lockout_at", "capacity", "start", "end"):
            if name in changes:
                actions.append(getattr(E, name).set(changes[name]))
        if "capacity" in changes:
            condition &= E.booked <= changes["capacity"]
        if "start" in changes or "end" in changes:
            condition &= E.booked == 0
            if "start" in changes:
                actions += [E.gsi1sk.set(f"{changes['start'].isoformat()}#{e.event_id}")]
        if not actions:
            return e
        try:
            EventItem(pk=f"event#{e.event_id}", sk="event").update(actions=actions, condition=condition)
        except Exception as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise Conflict(f"event {e.event_id} holds bookings: its capacity cannot go below them and its "
                               "times cannot change (cancel or move the bookings first)", rule="I1") from exc
            raise
        return replace(e, **changes)

    def close_event(self, event_id: str) -> None:
        EventItem(pk=f"event#{event_id}", sk="event").update(actions=[EventItem.closed.set(True)],
                                                              condition=EventItem.pk.exists())

    def delete_event(self, event_id: str) -> None:
        try:
            EventItem(pk=f"event#{event_id}", sk="event").delete(condition=EventItem.booked == 0)
        except Exception as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise Conflict(f"event {event_id} still holds bookings; retry", extra={"retry": True}) from exc
            raise
