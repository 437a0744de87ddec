"""R7: a name (or college) changed in registration after delivery reaches the programs' desk
rows (applications' consumer of applicant.profile_updated.v1, on moto), idempotently and in
order; and registration announces the change with the name and college."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from shared.contracts import ApplicantProfileUpdated
from shared.events import envelope

from .conftest import CALENDAR, deadline, program, registered, season, submitted

P101 = "program:p1:101"
P102 = "program:p2:102"


def profile(first="Ada", last="Byron", college=None, version=5, applicant_id="a1", timezone="America/Chicago"):
    return ApplicantProfileUpdated(season="2024", applicant_id=applicant_id, timezone=timezone, first_name=first,
                                   last_name=last, college=college, version=version)


def consume(svc, *events):
    """Through the service's own consumer table (consumers._handlers) and the idempotency store,
    as the SQS trigger runs it."""
    from applications import consumers
    from shared.consumer import EventConsumer
    from tests.shared.test_shared_consumer import batch, sqs_record

    c = EventConsumer("applications", consumers._handlers(),
                      persistence=svc.platform.idempotency_store("applications"))
    out = c.handle(batch(*(sqs_record(envelope(e)) for e in events)), None)
    assert out == {"batchItemFailures": []}, out


def desk(api, code="101", token=P101):
    r = api.call("GET", f"/programs/{code}/applications?season=2024", token)
    assert r.status_code == 200, r.data
    return {x["applicant_id"]: x for x in r.data["applications"]}


def delivered_to_two_programs(api, svc, clock):
    season(svc)
    program(svc, "101")
    program(svc, "102")
    token = submitted(api, svc, college="Temple")
    for code in ("101", "102"):
        assert api.call("POST", "/applicants/a1/designations", token, {"program_code": code}).status_code == 201
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    return token


def test_r7_a_new_name_after_delivery_reaches_the_row_in_every_program(api, svc, clock):
    token = delivered_to_two_programs(api, svc, clock)
    before = desk(api)["a1"]
    assert (before["first_name"], before["last_name"], before["college"]) == ("Ada", "Lovelace", "Temple")
    consume(svc, profile("Augusta Ada", "King", college="TUSPM", version=5))
    for code, who in (("101", P101), ("102", P102)):
        row = desk(api, code, who)["a1"]
        assert (row["first_name"], row["last_name"], row["college"]) == ("Augusta Ada", "King", "TUSPM")
        # what the delivery wrote besides the name stays
        assert (row["code_number"], row["round"], row["delivered_at"]) == (
            before["code_number"], before["round"], before["delivered_at"])
    r = api.call("GET", "/programs/101/applications.csv?season=2024", P101)
    [line] = list(csv.DictReader(io.StringIO(r.data)))
    assert (line["first_name"], line["last_name"]) == ("Augusta Ada", "King")
    one = api.call("GET", "/programs/102/applications/a1?season=2024", P102).data
    assert (one["first_name"], one["last_name"]) == ("Augusta Ada", "King")
    # the college's student list follows the college
    assert [s["applicant_id"] for s in api.call("GET", "/colleges/TUSPM/students?season=2024",
                                                "college:c1:TUSPM").data["students"]] == ["a1"]
    assert api.call("GET", "/colleges/TEMPLE/students?season=2024", "college:c2:TEMPLE").data["students"] == []
    assert api.call("GET", "/applicants/a1", token).status_code == 200


def test_r7_redelivered_and_out_of_order_changes_keep_the_newest(api, svc, clock):
    delivered_to_two_programs(api, svc, clock)
    newest, older = profile("Ada", "King", version=7), profile("Ada", "Byron", version=6)
    consume(svc, newest)
    consume(svc, newest)  # redelivered (the same event id: the idempotency store; a new id: the version)
    consume(svc, profile("Ada", "King", version=7))
    consume(svc, older)  # late: older than the one held
    assert desk(api)["a1"]["last_name"] == "King"
    assert desk(api, "102", P102)["a1"]["last_name"] == "King"
    consume(svc, profile("Ada", "Lovelace-King", version=8))
    assert desk(api)["a1"]["last_name"] == "Lovelace-King"


def test_r7_an_event_without_the_name_changes_nothing(api, svc, clock):
    delivered_to_two_programs(api, svc, clock)
    consume(svc, ApplicantProfileUpdated(season="2024", applicant_id="a1", timezone="America/New_York"))
    assert desk(api)["a1"]["last_name"] == "Lovelace"


def test_r7_a_rename_before_delivery_is_what_the_delivery_writes(api, svc, clock):
    designated_to_101(api, svc)
    consume(svc, profile("Ada", "King", version=3))
    deliver(svc, clock)
    assert desk(api)["a1"]["last_name"] == "King"


def test_r7_a_rename_before_the_registration_event_is_kept_by_it(api, svc):
    season(svc)
    consume(svc, profile("Ada", "King", version=4))  # pending applicant renamed; its registration arrives later
    assert svc.store.facts("a1") is None  # not registered here: no application may start
    registered(svc, first="Ada", last="Lovelace")  # the registration event, older than the rename
    facts = svc.store.facts("a1")
    assert (facts.first_name, facts.last_name, facts.college, facts.profile_version) == ("Ada", "King", "Temple", 4)


def designated_to_101(api, svc) -> None:
    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    assert api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}).status_code == 201


def after_first_read(monkeypatch, method: str, meanwhile) -> list:
    """DynamoApplicationStore.<method> runs `meanwhile` right after its first read (another
    writer committing between a read and the transaction built on it); returns the calls seen."""
    from applications.adapters.store import DynamoApplicationStore

    real, calls = getattr(DynamoApplicationStore, method), []

    def read_then(self, applicant_id):
        read = real(self, applicant_id)
        if not calls:
            calls.append(applicant_id)
            meanwhile()
        return read

    monkeypatch.setattr(DynamoApplicationStore, method, read_then)
    return calls


def deliver(svc, clock) -> None:
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")


def test_r7_a_delivery_that_read_the_old_name_writes_again_after_the_rename(api, svc, clock, monkeypatch):
    """The rename commits between the delivery's read of the facts (the batch read of every
    pending applicant's facts, application and record) and its transaction: the delivery's check
    of the facts' profile_version fails and it reads again and writes the row with the new name."""
    designated_to_101(api, svc)
    calls = after_first_read(monkeypatch, "applicants_many",
                             lambda: consume(svc, profile("Ada", "King", version=9)))
    deliver(svc, clock)
    assert calls and desk(api)["a1"]["last_name"] == "King"


def test_r7_a_delivery_committing_during_the_rename_makes_the_rename_retry(api, svc, clock, monkeypatch):
    """The delivery commits after the rename read the designations (undelivered then): the rename's
    check that the designation is still undelivered fails, and it reads again and renames the row."""
    designated_to_101(api, svc)
    calls = after_first_read(monkeypatch, "designations", lambda: deliver(svc, clock))
    consume(svc, profile("Ada", "King", version=9))
    monkeypatch.undo()
    assert calls and desk(api)["a1"]["last_name"] == "King"


# ----------------------------------------------------------------------------- registration announces it
@pytest.fixture
def applicant():
    from registration.domain.rules import REGISTERED, Applicant

    return Applicant(applicant_id="a1", season="2024", first_name="Ada", last_name="Lovelace",
                     email="ada@example.org", cms_id="PRO-2T8P48F5H", college="TUSPM", graduation_year=2024,
                     status=REGISTERED, version=4, created_at=datetime(2023, 8, 1, tzinfo=UTC))


def test_r7_registration_announces_a_new_name_with_the_college_and_its_version(applicant):
    c = applicant.update_profile({"last_name": "King"})
    [e] = c.events
    assert isinstance(e, ApplicantProfileUpdated)
    assert (e.first_name, e.last_name, e.college, e.timezone, e.version) == (
        "Ada", "King", "TUSPM", applicant.timezone, 5)
    assert applicant.update_profile({"last_name": "Lovelace", "phone": "+1 312 555 0100"}).events == ()
    tz = applicant.update_profile({"timezone": "America/New_York"}).events[0]
    assert (tz.timezone, tz.last_name, tz.version) == ("America/New_York", "Lovelace", 5)
