"""A service's record of the calendar instants it has seen (season deadline reached):
proves the bus -> queue -> consumer wiring and lets a service ask "has X passed?"."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from shared.adapters.dynamo import BaseItem, table_meta


class DeadlineLog(ABC):
    @abstractmethod
    def record(self, season: str, key: str, at: datetime) -> None: ...

    @abstractmethod
    def seen(self, season: str) -> dict[str, datetime]: ...


class InMemoryDeadlineLog(DeadlineLog):
    def __init__(self):
        self.items: dict[str, dict[str, datetime]] = {}

    def record(self, season: str, key: str, at: datetime) -> None:
        self.items.setdefault(season, {})[key] = at

    def seen(self, season: str) -> dict[str, datetime]:
        return dict(self.items.get(season, {}))


def dynamo_deadline_log(service: str) -> DeadlineLog:
    class DeadlineItem(BaseItem):
        Meta = table_meta(service)
        key = UnicodeAttribute()
        at = UTCDateTimeAttribute()

    class DynamoDeadlineLog(DeadlineLog):
        def record(self, season: str, key: str, at: datetime) -> None:
            DeadlineItem(pk=f"season#{season}", sk=f"deadline#{key}", key=key, at=at).save()

        def seen(self, season: str) -> dict[str, datetime]:
            return {i.key: i.at for i in DeadlineItem.query(f"season#{season}", DeadlineItem.sk.startswith("deadline#"))}

    return DynamoDeadlineLog()
