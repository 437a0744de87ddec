"""How many DynamoDB calls the hot routes and the delivery make (each one a billed request and a
round trip; on the local stack ~1 ms of CPU each). Every botocore call made while the route runs
is counted (the outbox relay, which the test client runs after each request, is not part of it).
Before these reads were merged, a writer's response took 9 calls, a letter's completion 16, a
designation 10, a submission 9 and a delivery 4 per designation; an upper bound above today's
count and well below those fails if a route goes back to reading the same items again."""

from __future__ import annotations

import json
from collections import Counter

import botocore.client
import pytest

from shared.contracts import ApplicationDelivered

from .conftest import (
    CALENDAR,
    PDF,
    deadline,
    events,
    program,
    put_object,
    registered,
    season,
    submitted,
    upload,
)
from .test_applications_documents_letters import link_token


@pytest.fixture
def calls(monkeypatch) -> Counter:
    """Every AWS call made, by (service, operation)."""
    seen: Counter = Counter()
    real = botocore.client.BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        seen[(self.meta.service_model.service_name, operation_name)] += 1
        return real(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    return seen


def dynamo(calls: Counter) -> Counter:
    return Counter({op: n for (service, op), n in calls.items() if service == "dynamodb"})


def counted(api, calls: Counter, method: str, path: str, token: str | None = None, body=None):
    """The route's answer and the DynamoDB calls it made (the outbox delivered before and after)."""
    from .conftest import deliver_outbox

    deliver_outbox()
    calls.clear()
    h = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    r = getattr(api.client.http, method.lower())(path, headers=h, body=json.dumps(body) if body is not None else None)
    made = dynamo(calls)
    deliver_outbox()
    return r.status_code, json.loads(r.body) if r.body else None, made


def test_writer_routes_read_the_letter_pointer_facts_and_application_once(api, svc, calls):
    season(svc)
    token = registered(svc)
    r = api.call("POST", "/applicants/a1/letters", token,
                 {"writer_name": "Dr W", "writer_email": "w@example.org", "label": "L", "waived": True})
    letter_id = r.data["letter_id"]
    link = link_token(svc, "w@example.org")

    status, out, made = counted(api, calls, "POST", f"/letters/{letter_id}/response?token={link}", body={"accept": True})
    assert status == 200 and out["status"] == "accepted" and out["applicant_name"] == "Ada Lovelace"
    assert made == Counter({"BatchGetItem": 1, "TransactWriteItems": 1}), made  # was 8 GetItem + 1 write

    status, out, made = counted(api, calls, "POST", f"/letters/{letter_id}/upload?token={link}")
    assert status == 200
    assert sum(made.values()) <= 2, made  # was 3 GetItem, 1 Query, 1 write
    put_object(svc, out["upload"]["fields"]["key"], PDF)

    status, out, made = counted(api, calls, "POST", f"/letters/{letter_id}/completion?token={link}")
    assert status == 200 and out["status"] == "received" and out["replaceable"] is True
    assert sum(made.values()) <= 3 and made["GetItem"] == 0, made  # was 16: 9 GetItem, 3 Query, 1-2 writes

    status, out, made = counted(api, calls, "GET", f"/letters/{letter_id}/response?token={link}")
    assert status == 200 and out["status"] == "received"
    assert sum(made.values()) <= 2, made


def test_applicant_routes_read_the_applicants_items_in_one_query(api, svc, calls):
    season(svc)
    program(svc, "101")
    token = registered(svc)
    status, out, made = counted(api, calls, "POST", "/applicants/a1/documents", token,
                                {"kind": "cv", "filename": "cv.pdf", "size": len(PDF)})
    assert status == 201 and made == Counter({"Query": 1, "TransactWriteItems": 1}), made  # was 3
    put_object(svc, out["upload"]["fields"]["key"], PDF)
    status, _, made = counted(api, calls, "POST", f"/applicants/a1/documents/{out['document_id']}/completion", token)
    assert status == 200 and made == Counter({"Query": 1, "TransactWriteItems": 1}), made  # was 4
    assert upload(api, svc, token, "a1", "personal_statement").status_code == 200
    for i in range(3):
        status, _, made = counted(api, calls, "POST", "/applicants/a1/letters", token,
                                  {"writer_name": f"W{i}", "writer_email": f"w{i}@example.org", "label": "L",
                                   "waived": True})
        assert status == 201 and made == Counter({"Query": 1, "TransactWriteItems": 1}), made  # was 3

    status, out, made = counted(api, calls, "POST", "/applicants/a1/submission", token)
    assert status == 200 and out["status"] == "submitted"
    assert made == Counter({"Query": 1, "TransactWriteItems": 1}), made  # was 9

    status, out, made = counted(api, calls, "POST", "/applicants/a1/designations", token, {"program_code": "101"})
    assert status == 201 and out["deadline"] and out["credits_left"] == 11
    # the applicant's partition, the program with the calendar, the transaction (was 10)
    assert made == Counter({"Query": 1, "BatchGetItem": 1, "TransactWriteItems": 1}), made

    status, out, made = counted(api, calls, "GET", "/applicants/a1", token)
    assert status == 200 and out["designations"][0]["deadline"]
    assert made == Counter({"Query": 1, "BatchGetItem": 1}), made


def test_the_delivery_reads_in_batches_not_per_designation(api, svc, clock, calls):
    season(svc)
    codes = [f"{100 + i}" for i in range(1, 4)]
    for code in codes:
        program(svc, code)
    tokens = [submitted(api, svc, f"a{n}", f"u{n}") for n in range(1, 5)]
    for n, token in enumerate(tokens, start=1):
        for code in codes:
            assert api.call("POST", f"/applicants/a{n}/designations", token,
                            {"program_code": code}).status_code == 201
    from .conftest import deliver_outbox

    deliver_outbox()
    clock.set(CALENDAR["applications_delivered"])
    calls.clear()
    deadline(svc, "applications_delivered")
    made = dynamo(calls)
    # 12 deliveries: one transaction per applicant (its three), the pending ones (one Query) and one
    # batch of the four applicants' facts, applications and records (was 3 GetItem + 1 transaction
    # a delivery)
    assert made == Counter({"TransactWriteItems": 4, "Query": 1, "BatchGetItem": 1}), made
    assert len(events(svc, ApplicationDelivered)) == 12
    desk = api.call("GET", "/programs/101/applications?season=2024", "program:p1:101").data["applications"]
    assert sorted(r["applicant_id"] for r in desk) == ["a1", "a2", "a3", "a4"]
    assert all(r["letters_received"] == 0 for r in desk)


def _result(svc, result_id: str, exam: str = "part1", outcome: str = "pass"):
    from datetime import date

    from applications import handlers
    from shared.contracts import ScoresResultRecorded

    handlers.on_result(svc, ScoresResultRecorded(
        season="2024", applicant_id="a1", result_id=result_id, exam=exam, exam_date=date(2023, 7, 18),
        result=outcome, official=True, visible_from=CALENDAR["scores_uploaded"]))


def test_an_exam_attempt_is_one_read_and_one_transaction(api, svc, calls):
    season(svc)
    registered(svc)
    calls.clear()
    _result(svc, "r1")
    # the applicant's partition (attempts, results_version, designations), then the attempt, the
    # facts' list and the desk rows in one transaction (was PutItem + 2 Query + the transaction)
    assert dynamo(calls) == Counter({"Query": 1, "TransactWriteItems": 1}), dynamo(calls)
    assert [r["result_id"] for r in svc.store.facts("a1").results] == ["r1"]


def test_an_attempt_recorded_between_the_read_and_the_write_is_kept_in_the_list(svc, monkeypatch):
    """Two attempts of one applicant recorded at once: the one that read before the other
    committed fails on the facts' results_version, reads again and writes both."""
    from applications.adapters.store import DynamoApplicationStore

    season(svc)
    registered(svc)
    real, reads = DynamoApplicationStore.applicant, []

    def read_then(self, applicant_id):
        read = real(self, applicant_id)
        reads.append(applicant_id)
        if len(reads) == 1:
            _result(svc, "r2", exam="part2_written", outcome="fail")  # commits in between
        return read

    monkeypatch.setattr(DynamoApplicationStore, "applicant", read_then)
    _result(svc, "r1")
    monkeypatch.undo()
    assert len(reads) == 3  # r1 read, r2 read (and wrote), r1 read again
    assert [(r["result_id"], r["result"]) for r in svc.store.facts("a1").results] == [("r1", "pass"),
                                                                                     ("r2", "fail")]
    assert sorted(r["result_id"] for r in svc.store.results("a1")) == ["r1", "r2"]


def test_deliveries_together_with_one_delivered_already_deliver_the_others_once(api, svc, clock):
    """A redelivered deadline event, or a reinstatement, meets a designation delivered already:
    the applicant's transaction is refused and each is delivered on its own (none twice)."""
    season(svc)
    for code in ("101", "102", "103"):
        program(svc, code)
    token = submitted(api, svc)
    for code in ("101", "102", "103"):
        assert api.call("POST", "/applicants/a1/designations", token, {"program_code": code}).status_code == 201
    at = CALENDAR["applications_delivered"]
    clock.set(at)
    pending = svc.store.undelivered("2024")
    from applications import handlers

    event = lambda d: [handlers._delivered_event(d, at)]  # noqa: E731
    assert svc.store.deliver(pending[1], at, event(pending[1])) is True
    assert svc.store.deliver_many(pending, at, event) == 2
    assert svc.store.deliver_many(pending, at, event) == 0
    delivered = events(svc, ApplicationDelivered)
    assert sorted(e.program_code for e in delivered) == ["101", "102", "103"]
    assert all(d.delivered_at == at for d in svc.store.designations("a1"))
    for code in ("101", "102", "103"):
        rows = api.call("GET", f"/programs/{code}/applications?season=2024", f"program:p1:{code}").data
        assert [r["applicant_id"] for r in rows["applications"]] == ["a1"]


def test_a_programs_view_and_review_of_one_application_read_it_once(api, svc, clock, calls):
    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    assert api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}).status_code == 201
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    status, out, made = counted(api, calls, "GET", "/programs/101/applications/a1?season=2024", "program:p1:101")
    assert status == 200 and out["applicant_id"] == "a1"
    assert made == Counter({"Query": 1, "GetItem": 1}), made  # the partition, the review (was 4 GetItem, 2 Query)
    status, out, made = counted(api, calls, "PATCH", "/programs/101/applications/a1?season=2024", "program:p1:101",
                                {"rating": 4})
    assert status == 200 and out["rating"] == 4
    assert made == Counter({"Query": 1, "GetItem": 1, "TransactWriteItems": 1}), made
    assert api.call("GET", "/programs/101/applications/a1?season=2024", "program:p1:101").data["rating"] == 4
