"""The write path every service uses: a state change and everything it announces commit
together, or not at all.

    change = applicant.withdraw(reason, now)           # the aggregate: new state + its events/emails
    svc.applicants.save(change)                         # ONE TransactWriteItems: the new state,
                                                        # conditioned on the version read (a stale
                                                        # write is a 409), plus one outbox item per
                                                        # event and per email

A use case reads an aggregate with its repository's `get`, calls a domain method that returns
a `Change` (the new state and the events and emails it caused), and hands the change to the
repository's versioned `save`. It never publishes or sends anything itself.

The outbox items are delivered afterwards by the service's relay (`shared.relay`): the table's
DynamoDB stream triggers it on every new outbox item (on AWS an event source mapping; on the
local stack a poller of the same stream), and a scheduled sweep delivers whatever the stream
relay could not (the bus or SES down for longer than its retries). Each event carries the
`event_id` given when it committed, so a redelivery is recognised by the consumers'
idempotency (shared.consumer) and applied once. A process that dies right after the commit
loses nothing: the items are in the table.

This module is pure (no AWS): the value types of the write path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.contracts import Contract
from shared.email import Email

A = TypeVar("A")


@dataclass(frozen=True)
class Change(Generic[A]):
    """What a domain method returns: the aggregate's new state (its `version` still the one
    read; the repository's save writes version + 1) and what the change announces."""

    state: A
    events: tuple[Contract, ...] = ()
    emails: tuple[Email, ...] = ()

    def also(self, events: Iterable[Contract] = (), emails: Iterable[Email] = ()) -> Change[A]:
        return Change(self.state, (*self.events, *events), (*self.emails, *emails))


@dataclass(frozen=True)
class Announcement:
    """What one transaction announces on one outbox stream (usually the aggregate's key, so
    the relay keeps the order of one aggregate's events)."""

    stream: str
    events: tuple[Contract, ...] = ()
    emails: tuple[Email, ...] = ()
    ids: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, stream: str, events: Iterable[Contract] = (), emails: Iterable[Email] = ()) -> Announcement:
        """Stamps every event with the id it keeps through every redelivery."""
        stamped = tuple(e if e.event_id else e.model_copy(update={"event_id": new_event_id()}) for e in events)
        return cls(stream=stream, events=stamped, emails=tuple(emails))

    def __bool__(self) -> bool:
        return bool(self.events or self.emails)


def new_event_id() -> str:
    return str(uuid.uuid4())
