"""The transactional outbox on DynamoDB (the pattern: `shared.outbox`).

- `Transaction`: one TransactWriteItems holding a use case's writes (each with its condition
  and the refusal to raise when that condition fails) and one outbox item per event and per
  email it announces. Commit or nothing.
- `Outbox`: the relay. `relay(records)` delivers the outbox items of a DynamoDB stream batch,
  each stream's in order, stopping after the first that fails (the stream retries from the
  first record not delivered); `sweep()` delivers the items still pending after a grace period
  (the stream relay gave up, or the stream itself was not read), oldest first. Delivered items
  are marked (and expire after `KEEP_DELIVERED_DAYS`): the table is the record of what was
  announced. Both deliver in rounds: the next item of every stream at once, events of
  different streams sharing PutEvents calls (10 entries, 256 KiB; never two of one stream in a
  call, so a partly refused call cannot reorder a stream), emails claimed in one conditional
  TransactWriteItems (see `_claim`), the round's marks in one TransactWriteItems.

| item              | pk                 | sk                  | gsi1pk / gsi1sk (while pending)             |
| outbox item       | outbox#{stream}    | {ns:020d}#{n:03d}   | outbox#pending#{shard} / {ns}#{stream}#{n}  |

The pending index is spread over `PENDING_SHARDS` partitions so that a burst of writes (a
booking rush) never throttles one index partition.
"""

from __future__ import annotations

import functools
import json
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared.adapters.dynamo import BaseItem, Gsi1, table_meta
from shared.contracts import REGISTRY, Contract
from shared.email import Email, Mailer
from shared.errors import Conflict, DomainError, TemporarilyUnavailable
from shared.events import EventPublisher, publish_one_by_one
from shared.outbox import Announcement, new_event_id

logger = Logger(service="caspr")
OUTBOX = "outbox#"
PENDING_SHARDS = 8
KEEP_DELIVERED_DAYS = 7
SWEEP_GRACE_SECONDS = 60.0  # the stream relay normally delivers within a second or two
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems
EVENT, EMAIL = "event", "email"
CONDITION_FAILED = "ConditionalCheckFailed"
# emails sent before their delivered marks are written (one transaction): a relay that dies
# between the sends and the marks sends at most these again
EMAILS_PER_ROUND = 25
# an email is claimed for this long (wall-clock seconds) before it is sent: the stream relay and
# the sweep (or two sweeps) that find the same pending email never both send it; a deliverer
# that died holding a claim leaves the email to a sweep after it lapses
EMAIL_CLAIM_SECONDS = 120


def pending_shard(stream: str) -> str:
    return f"{OUTBOX}pending#{zlib.crc32(stream.encode()) % PENDING_SHARDS}"


_models: dict[str, type[Model]] = {}


def outbox_item_model(service: str) -> type[Model]:
    """The outbox item of a service's table (one class per service, made once)."""
    if service not in _models:
        class OutboxItem(BaseItem):
            Meta = table_meta(service)
            kind = UnicodeAttribute()  # event | email
            stream = UnicodeAttribute()
            event_id = UnicodeAttribute()
            detail_type = UnicodeAttribute(null=True)
            payload = UnicodeAttribute()  # the event's detail JSON, or the email as JSON
            created_at = UTCDateTimeAttribute()
            delivered_at = UTCDateTimeAttribute(null=True)
            attempts = NumberAttribute(null=True)
            claimed_until = NumberAttribute(null=True)  # an email being sent (epoch seconds): see Outbox._claim
            claim = UnicodeAttribute(null=True)  # whose claim
            expiration = NumberAttribute(null=True)  # TTL (epoch seconds), set once delivered
            gsi1pk = UnicodeAttribute(null=True)
            gsi1sk = UnicodeAttribute(null=True)
            gsi1 = Gsi1()

        OutboxItem.__name__ = f"{service.capitalize()}OutboxItem"
        _models[service] = OutboxItem
    return _models[service]


# ----------------------------------------------------------------------------- the unit of work
Refusal = DomainError | Callable[[], DomainError] | None


@dataclass
class _Op:
    kind: str  # check | delete | put | update
    args: tuple
    kwargs: dict
    refusal: Refusal


@functools.cache
def shared_connection(region: str) -> Connection:
    """The process's PynamoDB connection for transactions without one of their own: its botocore
    client is made once and shared by every thread (botocore clients are thread-safe). A new
    Connection per commit made a new session and client each time (the endpoint and service
    models loaded again: a quarter of the local stack's CPU in a season played by the simulator)."""
    return Connection(region=region)


@dataclass
class Transaction:
    """One TransactWriteItems: the writes of a use case and its outbox items.

    Each write may name the refusal raised when its condition fails (a versioned save names
    the 409 "changed meanwhile"); a condition failure without one is a generic 409."""

    service: str
    now: datetime
    connection: Connection | None = None
    _ops: list[_Op] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)

    def put(self, item: Model, condition=None, refusal: Refusal = None) -> Transaction:
        self._ops.append(_Op("put", (item,), {"condition": condition}, refusal))
        return self

    def update(self, item: Model, actions: list, condition=None, refusal: Refusal = None) -> Transaction:
        self._ops.append(_Op("update", (item, actions), {"condition": condition}, refusal))
        return self

    def delete(self, item: Model, condition=None, refusal: Refusal = None) -> Transaction:
        self._ops.append(_Op("delete", (item,), {"condition": condition}, refusal))
        return self

    def check(self, model_cls: type[Model], hash_key: str, range_key: str | None, condition,
              refusal: Refusal = None) -> Transaction:
        self._ops.append(_Op("check", (model_cls, hash_key, range_key), {"condition": condition}, refusal))
        return self

    def announce(self, stream: str, events: Iterable[Contract] = (), emails: Iterable[Email] = ()) -> Announcement:
        """Adds one outbox item per event and per email; returns the events as stamped (with
        the event ids they keep through every redelivery)."""
        announcement = Announcement.of(stream, events, emails)
        if announcement:
            self.announcements.append(announcement)
        return announcement

    def _outbox_items(self) -> list[Model]:
        Item = outbox_item_model(self.service)
        items, base = [], time.time_ns()
        n = 0
        for a in self.announcements:
            entries = [(EVENT, e.event_id, e.detail_type, e.model_dump_json()) for e in a.events] + [
                (EMAIL, new_event_id(), None, json.dumps({"to": m.to, "subject": m.subject, "body": m.body}))
                for m in a.emails]
            for kind, event_id, detail_type, payload in entries:
                key = f"{base:020d}#{n:03d}"
                items.append(Item(pk=f"{OUTBOX}{a.stream}", sk=key, kind=kind, stream=a.stream, event_id=event_id,
                                  detail_type=detail_type, payload=payload, created_at=self.now,
                                  gsi1pk=pending_shard(a.stream), gsi1sk=f"{key}#{a.stream}"))
                n += 1
        return items

    def commit(self) -> None:
        outbox = self._outbox_items()
        if len(self._ops) + len(outbox) > MAX_TRANSACTION_ITEMS:
            raise TemporarilyUnavailable(f"one change may write at most {MAX_TRANSACTION_ITEMS} items; this one "
                                         f"writes {len(self._ops) + len(outbox)}")
        ops = self._ops + [_Op("put", (i,), {"condition": None}, None) for i in outbox]
        ordered = ([o for o in ops if o.kind == "check"] + [o for o in ops if o.kind == "delete"]
                   + [o for o in ops if o.kind == "put"] + [o for o in ops if o.kind == "update"])  # PynamoDB's order
        try:
            with TransactWrite(connection=self.connection or shared_connection(table_meta(self.service).region)) as t:
                for o in ops:
                    if o.kind == "check":
                        t.condition_check(*o.args, **o.kwargs)
                    elif o.kind == "delete":
                        t.delete(*o.args, **o.kwargs)
                    elif o.kind == "put":
                        t.save(*o.args, **o.kwargs)
                    else:
                        t.update(*o.args, **o.kwargs)
        except TransactWriteError as exc:
            reasons = [r.code if r is not None else None for r in (exc.cancellation_reasons or [])]
            for op, reason in zip(ordered, reasons, strict=False):
                if reason == CONDITION_FAILED:
                    refusal = op.refusal() if callable(op.refusal) else op.refusal
                    raise (refusal or Conflict("the record changed meanwhile; reload and retry")) from exc
            if "TransactionConflict" in reasons or getattr(exc, "cause_response_code", None) in (
                    "TransactionConflictException", "TransactionInProgressException"):
                raise Conflict("another change of the same record is being written; retry in a moment",
                               extra={"retry": True}) from exc
            raise


# ----------------------------------------------------------------------------- the relay
class Outbox:
    """Delivers a service's outbox items: events to the bus, emails through SES."""

    def __init__(self, service: str, publisher: EventPublisher, mailer: Mailer,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.service = service
        self.publisher = publisher
        self.mailer = mailer
        self.clock = clock
        self.Item = outbox_item_model(service)

    # ---- delivery, in rounds
    def _deliver_round(self, frontier: list[Model],
                       stop_at_first_failure: bool) -> tuple[list[Model], list[Model], list[Model]]:
        """Delivers the next item of each of several streams, or the next run of emails of a
        stream: the events (never two of one stream) in as few PutEvents as the bus allows, the
        emails one SendEmail each, in order, after ONE consistent BatchGetItem that skips those
        already marked delivered (an email is not idempotent at the receiver: never twice when we
        know it went out); an email that fails holds back the later ones of its stream. Returns
        (delivered now, found delivered already, failed)."""
        delivered: list[Model] = []
        already: list[Model] = []
        failed: list[Model] = []
        events = [i for i in frontier if i.kind == EVENT]
        emails = [i for i in frontier if i.kind != EVENT]
        known = []
        for item in events:
            model = REGISTRY.get(item.detail_type or "")
            if model is None:  # a contract this code no longer knows: keep it, loudly
                self._failed(item, TemporarilyUnavailable(f"unknown detail-type {item.detail_type} in the outbox"))
                failed.append(item)
            else:
                known.append((item, model.model_validate_json(item.payload)))
        if known:
            try:
                results = publish_batch(self.publisher, [contract for _, contract in known])
            except Exception as exc:  # noqa: BLE001 - a publisher that raised: nothing known taken
                results = [type(exc).__name__] * len(known)
            for (item, _), error in zip(known, results, strict=True):
                if error is None:
                    delivered.append(item)
                else:
                    self._failed(item, TemporarilyUnavailable(f"the event bus refused the event ({error})"))
                    failed.append(item)
        if emails and not (failed and stop_at_first_failure):
            claimed, taken, token = self._claim(emails)
            already.extend(taken)
            held: set[str] = set()  # streams whose email failed: their later emails wait (order kept)
            unsent: list[Model] = []
            for item in claimed:
                if item.stream in held or (failed and stop_at_first_failure):
                    unsent.append(item)
                    continue
                try:
                    mail = json.loads(item.payload)
                    self.mailer.send(Email(to=mail["to"], subject=mail["subject"], body=mail["body"]))
                except Exception as exc:  # noqa: BLE001 - logged (no message: it may quote an address), retried
                    self._failed(item, exc)
                    failed.append(item)
                    held.add(item.stream)
                    continue
                delivered.append(item)
            self._release(unsent, token)
        return delivered, already, failed

    def _deliver_in_order(self, items: Sequence[Model], stop_at_first_failure: bool) -> set[tuple[str, str]]:
        """Delivers `items` (in their stream order) keeping the order of each stream: round after
        round, the next undelivered item of every stream not stuck (an email: with the emails that
        directly follow it in its stream, sent one after the other); a stream whose item fails is
        stuck (its later items wait). Each round's delivered items are marked before the next
        round. `stop_at_first_failure`: no round after one with a failure (the stream relay: its
        retry starts over from the first undelivered record). Returns the keys delivered."""
        remaining = list(items)
        stuck: set[str] = set()
        delivered_keys: set[tuple[str, str]] = set()
        while remaining:
            frontier, taken, closed = [], {}, set()  # taken: the kind of each stream's first item
            emails = 0
            for item in remaining:
                if item.stream in stuck or item.stream in closed:
                    continue
                if item.stream in taken and (taken[item.stream] == EVENT or item.kind == EVENT):
                    closed.add(item.stream)  # the rest of the stream waits for a later round
                    continue  # (only emails that follow an email go in the same round: sent in order)
                if item.kind != EVENT:
                    if emails == EMAILS_PER_ROUND:  # sent, not yet marked: few at a time
                        closed.add(item.stream)
                        continue
                    emails += 1
                taken.setdefault(item.stream, item.kind)
                frontier.append(item)
            if not frontier:
                break
            delivered, already, failed = self._deliver_round(frontier, stop_at_first_failure)
            self._mark_delivered(delivered)
            delivered_keys |= {(i.pk, i.sk) for i in delivered + already}
            stuck |= {i.stream for i in failed}
            remaining = [i for i in remaining if (i.pk, i.sk) not in delivered_keys]
            if failed and stop_at_first_failure:
                break
        return delivered_keys

    def _claim(self, emails: Sequence[Model]) -> tuple[list[Model], list[Model], str]:
        """Claims emails before they are sent (an email is not idempotent at the receiver: never
        twice when we know it went out, and never by two deliverers at once): each one not yet
        delivered and not claimed by another deliverer within EMAIL_CLAIM_SECONDS gets this
        round's claim, all in ONE TransactWriteItems (one by one when it is cancelled, i.e. one
        of them is delivered or claimed already). Returns (claimed now, delivered or being
        delivered by another: not ours to send, the claim)."""
        now = int(time.time())
        token = new_event_id()

        def claim_of(item: Model) -> tuple[list, Any]:
            return ([self.Item.claimed_until.set(now + EMAIL_CLAIM_SECONDS), self.Item.claim.set(token)],
                    self.Item.pk.exists() & self.Item.delivered_at.does_not_exist()
                    & (self.Item.claimed_until.does_not_exist() | (self.Item.claimed_until < now)))

        if len(emails) > 1:
            try:
                with TransactWrite(connection=shared_connection(self.Item.Meta.region)) as t:
                    for item in emails:
                        actions, condition = claim_of(item)
                        t.update(self.Item(pk=item.pk, sk=item.sk), actions=actions, condition=condition)
                return list(emails), [], token
            except TransactWriteError:
                pass  # one of them is taken: each on its own
        claimed, taken = [], []
        for item in emails:
            actions, condition = claim_of(item)
            try:
                self.Item(pk=item.pk, sk=item.sk).update(actions=actions, condition=condition)
                claimed.append(item)
            except UpdateError as exc:
                if CONDITION_FAILED not in str(getattr(exc, "cause_response_code", "") or exc):
                    raise
                taken.append(item)
        return claimed, taken, token

    def _release(self, items: Sequence[Model], token: str) -> None:
        """Gives back the claims of emails this round did not send (after a failure): the retry
        sends them without waiting for the claim to lapse."""
        for item in items:
            try:
                self.Item(pk=item.pk, sk=item.sk).update(
                    actions=[self.Item.claimed_until.remove(), self.Item.claim.remove()],
                    condition=self.Item.claim == token)
            except UpdateError:
                pass  # lapses on its own

    def _failed(self, item: Model, exc: BaseException) -> None:
        logger.error("outbox: delivery failed; retried later",
                     extra={"event_id": item.event_id, "kind": item.kind, **_summary(exc)})
        self._note_failure(item)

    def _mark_delivered(self, items: Sequence[Model]) -> None:
        """Marks delivered items: one TransactWriteItems per 100 (each update conditioned on the
        item still existing, as one by one); when a transaction is cancelled (an item gone, a
        concurrent sweep marking the same item), one by one."""
        for start in range(0, len(items), MAX_TRANSACTION_ITEMS):
            chunk = items[start:start + MAX_TRANSACTION_ITEMS]
            if len(chunk) > 1:
                try:
                    with TransactWrite(connection=shared_connection(self.Item.Meta.region)) as t:
                        for item in chunk:
                            t.update(self.Item(pk=item.pk, sk=item.sk), actions=self._delivered_actions(),
                                     condition=self.Item.pk.exists())
                    continue
                except TransactWriteError as exc:
                    logger.warning("outbox: marking a batch delivered was cancelled; marking one by one",
                                   extra=_summary(exc))
            for item in chunk:
                self._mark_one_delivered(item)

    def _delivered_actions(self) -> list:
        return [self.Item.delivered_at.set(self.clock()), self.Item.gsi1pk.remove(), self.Item.gsi1sk.remove(),
                self.Item.expiration.set(int(time.time()) + KEEP_DELIVERED_DAYS * 86400)]

    def _mark_one_delivered(self, item: Model) -> None:
        try:
            self.Item(pk=item.pk, sk=item.sk).update(actions=self._delivered_actions(),
                                                     condition=self.Item.pk.exists())
        except UpdateError as exc:
            logger.error("outbox item delivered but not marked; a later sweep delivers it again "
                         "(consumers apply an event id once)", extra={"event_id": item.event_id, **_summary(exc)})

    def _note_failure(self, item: Model) -> None:
        actions = [self.Item.attempts.add(1)]
        if item.kind != EVENT:  # an email that was not sent: its claim is given back (retried at once)
            actions += [self.Item.claimed_until.remove(), self.Item.claim.remove()]
        try:
            self.Item(pk=item.pk, sk=item.sk).update(actions=actions, condition=self.Item.pk.exists())
        except Exception:  # only a counter for operators
            pass

    # ---- the stream relay
    def relay(self, records: Sequence[dict[str, Any]]) -> dict:
        """A DynamoDB stream batch (Lambda's event['Records']): every new outbox item, each stream's
        in order; events of different streams share PutEvents calls (up to 10 each) and the items
        delivered together are marked together. Stops after the first failure and reports the first
        record not delivered (ReportBatchItemFailures: the stream retries from that record, so the
        order of one stream is kept; what was delivered after it is delivered again, same event id)."""
        outbox = [(record, self.Item.from_raw_data(record["dynamodb"]["NewImage"]))
                  for record in records if is_outbox_insert(record)]
        delivered = self._deliver_in_order([item for _, item in outbox], stop_at_first_failure=True)
        for record, item in outbox:
            if (item.pk, item.sk) not in delivered:
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    # ---- the sweep
    def pending(self, older_than: float | None = None, limit: int = 200) -> list[Model]:
        older_than = sweep_grace() if older_than is None else older_than
        cutoff = f"{time.time_ns() - int(older_than * 1e9):020d}"
        found: list[Model] = []
        for shard in range(PENDING_SHARDS):
            found += list(self.Item.gsi1.query(f"{OUTBOX}pending#{shard}", self.Item.gsi1sk < cutoff, limit=limit))
        found.sort(key=lambda i: i.gsi1sk)
        return found[:limit]

    def sweep(self, older_than: float | None = None, limit: int = 200) -> int:
        """Delivers items still pending after `older_than` seconds, oldest first, each stream's in
        order; a stream whose item fails is left for the next sweep (its later items wait: order
        kept), the others go on. Returns how many were delivered."""
        return len(self._deliver_in_order(self.pending(older_than, limit), stop_at_first_failure=False))


def publish_batch(publisher: EventPublisher, events: Sequence[Contract]) -> list[str | None]:
    """The publisher's own batch publishing, or one at a time for a publisher with `publish`
    alone (a test's wrapper)."""
    batch = getattr(publisher, "publish_batch", None)
    return batch(events) if batch is not None else publish_one_by_one(publisher, events)


def _summary(exc: BaseException) -> dict:
    """Class and place of a failure, never its message (it may quote an address): ids only in logs."""
    from shared.web import error_summary

    return error_summary(exc)


def sweep_grace() -> float:
    """How old a pending item is before the sweep delivers it (the local stack shortens it)."""
    import os

    return float(os.environ.get("CASPR_OUTBOX_SWEEP_GRACE_SECONDS") or SWEEP_GRACE_SECONDS)


def is_outbox_insert(record: dict) -> bool:
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    return record.get("eventName") == "INSERT" and str((keys.get("pk") or {}).get("S", "")).startswith(OUTBOX)


# The stream records the relay wants (AWS: the event source mapping's FilterCriteria).
STREAM_FILTER = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": OUTBOX}]}}}}
