"""Events the bus refuses after the change is stored are kept in the registration table and
published again by the `republish_pending` schedule: an EventBridge outage delays the match
service's projection instead of silently leaving an applicant or a track out of it."""

from __future__ import annotations

import pytest
from test_registration_api import ADMIN, pay, register, season  # noqa: F401  (season: a fixture)

from caspr_local.demo import demo_programs
from shared.contracts import ApplicantRegistered, ProgramRegistered, TrackWithdrawn
from shared.events import InMemoryPublisher

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]


class DownBus(InMemoryPublisher):
    """EventBridge refusing everything (an outage, throttling beyond the SDK's retries)."""

    def publish(self, *events):
        raise ConnectionError("the event bus is unreachable")


def test_events_the_bus_refuses_are_kept_and_published_again_in_order(api, reg, season, monkeypatch):  # noqa: F811
    from registration.handlers import republish_pending

    working = reg.publisher
    before = len(working.events)  # the season's calendar went out before the outage
    monkeypatch.setattr(reg, "publisher", DownBus())
    r = api.call("POST", "/programs", ADMIN, demo_programs()[1])  # program 102
    assert r.status_code == 201, r.data  # the change is made and answered as usual
    applicant_id, token = register(api, reg)
    assert pay(api, token, applicant_id).status_code == 201
    assert api.call("POST", "/programs/102/tracks/1022/withdrawal", "program:p102:102").status_code == 200
    kept = reg.pending_events.oldest()
    assert [type(e) for _, events in kept for e in events] == [ProgramRegistered, ApplicantRegistered,
                                                               TrackWithdrawn]
    assert republish_pending(reg) == 0  # the bus still down: nothing lost, nothing sent
    assert len(reg.pending_events.oldest()) == 3

    monkeypatch.setattr(reg, "publisher", working)
    assert republish_pending(reg) == 3
    assert [type(e) for e in working.events[before:]] == [ProgramRegistered, ApplicantRegistered, TrackWithdrawn]
    registered = working.of(ApplicantRegistered)[0]
    assert (registered.applicant_id, registered.version) == (applicant_id, 1)  # the very event, as built
    assert working.of(TrackWithdrawn)[0].version == 2
    assert reg.pending_events.oldest() == [] and republish_pending(reg) == 0  # each goes out once


def test_the_schedule_runs_as_its_rule_would_call_it(api, reg, season, monkeypatch):  # noqa: F811
    """The local host runs `@schedule` functions through the same Chalice handler Lambda calls."""
    from caspr_local.apps import load_all

    monkeypatch.setattr(reg, "publisher", DownBus())
    assert api.call("POST", "/programs", ADMIN, demo_programs()[0]).status_code == 201
    monkeypatch.setattr(reg, "publisher", InMemoryPublisher())
    handlers = load_all()["registration"].scheduled_handlers()
    assert list(handlers) == ["republish_pending"]
    event = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "000000000000", "time": "2023-08-01T12:00:00Z", "region": "us-east-1",
             "resources": ["arn:aws:events:us-east-1:000000000000:rule/x"], "detail": {}}
    assert handlers["republish_pending"](event, None) == {"republished": 1}
    assert [e.program_code for e in reg.publisher.of(ProgramRegistered)] == ["101"]
