"""The season calendar's one-time schedules (EventBridge Scheduler): one `at(...)`
schedule per instant, named f"{season}-{key}", that puts season.deadline_reached.v1
on the bus. Setting the calendar again updates them (nothing fires twice for one
instant; a moved instant fires at its new time)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import UTC

from registration.domain.calendar import SeasonCalendar, schedule_name
from shared.contracts import SeasonDeadlineReached
from shared.settings import Settings


class CalendarScheduler(ABC):
    @abstractmethod
    def arm(self, calendar: SeasonCalendar) -> list[str]:
        """Creates or updates one schedule per instant; returns their names."""


def schedule_request(settings: Settings, season: str, key: str, at) -> dict:
    """The CreateSchedule/UpdateSchedule request of one calendar instant."""
    detail = SeasonDeadlineReached(season=season, key=key, at=at)
    return {
        "Name": schedule_name(season, key),
        "GroupName": settings.scheduler_group,
        "ScheduleExpression": f"at({at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec='seconds')})",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Description": f"CASPR season {season}: {key}",
        "State": "ENABLED",
        "Target": {
            "Arn": settings.event_bus_arn,
            "RoleArn": settings.scheduler_role_arn,
            "EventBridgeParameters": {"DetailType": SeasonDeadlineReached.detail_type,
                                      "Source": SeasonDeadlineReached.source},
            "Input": json.dumps(json.loads(detail.model_dump_json())),
        },
    }


class EventBridgeCalendarScheduler(CalendarScheduler):
    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("scheduler")
        return self._client

    def arm(self, calendar: SeasonCalendar) -> list[str]:
        names = []
        for key, at in calendar.ordered():
            request = schedule_request(self.settings, calendar.season, key, at)
            try:
                self.client.update_schedule(**request)
            except self.client.exceptions.ResourceNotFoundException:
                try:
                    self.client.create_schedule(**request)
                except self.client.exceptions.ConflictException:  # created meanwhile by another PUT
                    self.client.update_schedule(**request)
            names.append(request["Name"])
        return names
