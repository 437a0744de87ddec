"""The pieces every service's wiring point (bootstrap.py) and consumer module share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from shared.contracts import Contract

if TYPE_CHECKING:
    from shared.consumer import EventConsumer, Handler

T = TypeVar("T")


class Wiring(Generic[T]):
    """Builds a service's dependencies once, on first use; tests swap them with
    override() (never by patching module globals)."""

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._current: T | None = None

    def get(self) -> T:
        if self._current is None:
            self._current = self._build()
        return self._current

    def override(self, replacement: T | None) -> None:
        self._current = replacement


class LazyConsumer:
    """An EventConsumer built on the first message (so importing an app touches no AWS)."""

    def __init__(self, service: str, handlers: Callable[[], dict[type[Contract], Handler]],
                 persistence: Callable[[], object | None]):
        self.service = service
        self._handlers = handlers
        self._persistence = persistence
        self._consumer: EventConsumer | None = None

    def get(self) -> EventConsumer:
        if self._consumer is None:
            from shared.consumer import EventConsumer  # powertools batch/parser/idempotency: consumers only

            self._consumer = EventConsumer(self.service, self._handlers(), persistence=self._persistence())
        return self._consumer

    def handle(self, sqs_event: dict, context=None) -> dict:
        return self.get().handle(sqs_event, context)
