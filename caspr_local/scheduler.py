"""EventBridge Scheduler, locally: moto stores schedules but never fires them. This
fires every one-time `at(...)` schedule whose instant the controlled clock has reached,
exactly as Scheduler would: its target's EventBridge parameters and input become one
PutEvents call on the target bus. Each (schedule, instant) fires once."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

import boto3

from shared.clock import ControlledClock

log = logging.getLogger("caspr.local.scheduler")


def parse_at(expression: str, timezone: str | None) -> datetime | None:
    if not expression.startswith("at(") or not expression.endswith(")"):
        return None
    naive = datetime.fromisoformat(expression[3:-1])
    if timezone and timezone != "UTC":
        from zoneinfo import ZoneInfo

        return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    return naive.replace(tzinfo=UTC)


class LocalScheduler:
    def __init__(self, clock: ControlledClock):
        self.clock = clock
        self.scheduler = boto3.client("scheduler")
        self.events = boto3.client("events")
        self.fired: set[tuple[str, str, str]] = set()
        self._details: dict[tuple[str, str], tuple[object, dict]] = {}
        self._lock = threading.Lock()

    def due(self) -> list[tuple[datetime, dict]]:
        now = self.clock.now()
        found = []
        for group in self.scheduler.list_schedule_groups()["ScheduleGroups"]:
            paginator_token = None
            while True:
                kwargs = {"GroupName": group["Name"]}
                if paginator_token:
                    kwargs["NextToken"] = paginator_token
                page = self.scheduler.list_schedules(**kwargs)
                for summary in page["Schedules"]:
                    s = self._schedule(group["Name"], summary)
                    if s.get("State", "ENABLED") != "ENABLED":
                        continue
                    at = parse_at(s["ScheduleExpression"], s.get("ScheduleExpressionTimezone"))
                    key = (group["Name"], s["Name"], s["ScheduleExpression"] + s["Target"].get("Input", ""))
                    if at is not None and at <= now and key not in self.fired:
                        found.append((at, s, key))
                paginator_token = page.get("NextToken")
                if not paginator_token:
                    break
        found.sort(key=lambda item: (item[0], item[1]["Name"]))
        return found

    def _schedule(self, group: str, summary: dict) -> dict:
        """GetSchedule only when a schedule is new or changed since the last tick: one call
        per schedule per second would take most of the serialized emulator's capacity."""
        key = (group, summary["Name"])
        stamp = summary.get("LastModificationDate")
        cached = self._details.get(key)
        if cached is None or stamp is None or cached[0] != stamp:
            cached = (stamp, self.scheduler.get_schedule(Name=summary["Name"], GroupName=group))
            self._details[key] = cached
        return cached[1]

    def fire_due(self) -> int:
        """Fires what is due, oldest first; returns how many fired."""
        with self._lock:
            fired = 0
            for _at, schedule, key in self.due():
                target = schedule["Target"]
                params = target.get("EventBridgeParameters") or {}
                bus = target["Arn"].split("/")[-1]
                entry = {"EventBusName": bus, "Source": params.get("Source", "aws.scheduler"),
                         "DetailType": params.get("DetailType", "Scheduled Event"),
                         "Detail": target.get("Input") or "{}"}
                result = self.events.put_events(Entries=[entry])
                if result.get("FailedEntryCount"):
                    log.error("schedule %s could not put its event: %s", schedule["Name"], result)
                    continue
                self.fired.add(key)
                fired += 1
                log.info("fired %s (%s)", schedule["Name"], json.loads(entry["Detail"]).get("key"))
            return fired
