"""applicant.registered.v1 in the interviews projection: one conditional UpdateItem and the
season index's PutItem (before: a GetItem of the held item, then two PutItems), with the same
rules: an older registration never overwrites a newer one, a time zone held (a profile
change's) stays, an unversioned event (an older producer) always writes."""

from __future__ import annotations

import pytest
from interviews_kit import feed

from shared.contracts import ApplicantRegistered
from tests.fakes import aws_calls

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]


def registered(version: int | None, email: str = "a9@test.caspr", timezone: str | None = "America/Denver",
               owner: str | None = "sub-a9") -> ApplicantRegistered:
    return ApplicantRegistered(season="2024", applicant_id="a9", code_number="10009", cms_id="PRO-000000009",
                               email=email, first_name="Ada", last_name="L9", college="TUSPM", graduation_year=2024,
                               timezone=timezone, credits_total=12, owner_sub=owner, version=version)


def test_a_registration_costs_two_writes_and_keeps_the_ordering_rules(svc):
    with aws_calls() as seen:
        feed(svc, registered(2))
    assert dict(seen) == {"UpdateItem": 1, "PutItem": 1}
    a = svc.store.applicant("a9")
    assert (a.email, a.timezone, a.owner_sub, a.season) == ("a9@test.caspr", "America/Denver", "sub-a9", "2024")
    assert [x.applicant_id for x in svc.store.applicants_of_owner("sub-a9")] == ["a9"]
    assert [x.applicant_id for x in svc.store.applicants_in_season("2024")] == ["a9"]

    svc.store.set_timezone("a9", "Europe/Paris")  # the applicant's profile change
    feed(svc, registered(1, email="old@test.caspr"))  # an older registration, delivered late: nothing changes
    assert svc.store.applicant("a9").email == "a9@test.caspr"
    feed(svc, registered(3, email="new@test.caspr", timezone="America/Chicago"))  # newer: its facts, the zone stays
    a = svc.store.applicant("a9")
    assert (a.email, a.timezone) == ("new@test.caspr", "Europe/Paris")
    feed(svc, registered(None, email="legacy@test.caspr", owner=None))  # unversioned: written, its owner gone
    a = svc.store.applicant("a9")
    assert (a.email, a.owner_sub) == ("legacy@test.caspr", None)
    assert svc.store.applicants_of_owner("sub-a9") == []


def test_a_delivery_costs_one_put_and_no_idempotency_record_and_a_redelivery_changes_nothing(svc):
    """application.delivered.v1 (I2: whom a program may invite) through the consumer as SQS gives
    it: one PutItem of the delivery (idempotent by nature: the same item again), no powertools
    record (PutItem + UpdateItem per event before)."""
    import json
    import uuid
    from datetime import UTC, datetime

    from interviews.consumers import consumer
    from shared.contracts import ApplicationDelivered
    from shared.events import envelope

    at = datetime(2023, 12, 5, 14, 0, tzinfo=UTC)
    body = json.dumps(envelope(ApplicationDelivered(season="2024", applicant_id="a9", program_code="101",
                                                    round="match", designated_at=at, delivered_at=at)))
    record = {"messageId": str(uuid.uuid4()), "receiptHandle": "h", "body": body, "attributes": {},
              "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
              "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:caspr-local-interviews-events",
              "awsRegion": "us-east-1"}
    assert not svc.store.delivered("a9", "101")
    for _ in range(2):  # delivered, then the same event again (SQS: at least once)
        with aws_calls() as seen:
            assert consumer.handle({"Records": [record]}) == {"batchItemFailures": []}
        assert dict(seen) == {"PutItem": 1}
        assert svc.store.delivered("a9", "101")
