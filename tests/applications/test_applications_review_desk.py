"""The programs' review desk (A6) over HTTP on moto."""

from __future__ import annotations

import csv
import io

from .conftest import CALENDAR, deadline, program, season, submitted

P101 = "program:p1:101"
P102 = "program:p2:102"


def delivered_season(api, svc, clock, applicants=(("a1", "u1", "Ada", "Lovelace"),)):
    season(svc)
    program(svc, "101")
    program(svc, "102")
    for applicant_id, sub, first, last in applicants:
        token = submitted(api, svc, applicant_id, sub, first=first, last=last, code=f"1{applicant_id[1:]:0>4}")
        assert api.call("POST", f"/applicants/{applicant_id}/designations", token,
                        {"program_code": "101"}).status_code == 201


def test_a6_a_program_sees_nothing_before_delivery_and_only_what_was_delivered_to_it(api, svc, clock):
    delivered_season(api, svc, clock)
    r = api.call("GET", "/programs/101/applications?season=2024", P101)
    assert r.status_code == 200 and r.data["applications"] == []
    assert api.call("GET", "/programs/101/applications/a1?season=2024", P101).status_code == 404
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    rows = api.call("GET", "/programs/101/applications?season=2024", P101).data["applications"]
    assert [(r["applicant_id"], r["last_name"], r["review_status"]) for r in rows] == [("a1", "Lovelace", "new")]
    assert api.call("GET", "/programs/102/applications?season=2024", P102).data["applications"] == []
    assert api.call("GET", "/programs/102/applications/a1?season=2024", P102).status_code == 404
    assert api.call("GET", "/programs/101/applications?season=2024", P102).status_code == 403
    assert api.call("GET", "/programs/101/applications?season=2024", "applicant:u1").status_code == 403
    one = api.call("GET", "/programs/101/applications/a1?season=2024", P101)
    assert one.status_code == 200
    assert {d["kind"] for d in one.data["documents"]} == {"personal_statement", "cv"}
    assert all(d["download_url"].startswith("http") for d in one.data["documents"])
    assert one.data["letters"] == []  # none received yet


def test_a6_review_fields_are_private_to_the_program_filters_and_csv(api, svc, clock):
    delivered_season(api, svc, clock, (("a1", "u1", "Ada", "Lovelace"), ("a2", "u2", "Grace", "Hopper")))
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    r = api.call("PATCH", "/programs/101/applications/a1?season=2024", P101,
                 {"tags": ["surgery"], "rating": 5, "review_status": "invite", "notes": "=HYPERLINK(1)"})
    assert r.status_code == 200 and r.data["rating"] == 5 and r.data["review_status"] == "invite"
    assert api.call("PATCH", "/programs/101/applications/a1?season=2024", P101, {"rating": 6}).status_code == 422
    assert api.call("PATCH", "/programs/101/applications/a1?season=2024", P101,
                    {"review_status": "maybe"}).status_code == 422
    assert api.call("PATCH", "/programs/101/applications/a1?season=2024", P102, {"rating": 1}).status_code == 403
    rows = lambda q: [x["applicant_id"] for x in  # noqa: E731
                      api.call("GET", f"/programs/101/applications?season=2024&{q}", P101).data["applications"]]
    assert rows("sort=name") == ["a2", "a1"]  # Hopper, Lovelace
    assert rows("review_status=invite") == ["a1"]
    assert rows("tag=surgery") == ["a1"]
    assert rows("rating_min=4") == ["a1"]
    assert rows("q=grace") == ["a2"]
    assert rows("sort=-rating") == ["a1", "a2"]
    r = api.call("GET", "/programs/101/applications.csv?season=2024&review_status=invite", P101)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.data)))
    assert [(t["applicant_id"], t["rating"], t["review_status"]) for t in table] == [("a1", "5", "invite")]
    assert table[0]["tags"] == "surgery" and table[0]["notes"] == "'=HYPERLINK(1)"  # no spreadsheet formulas


# ----------------------------------------------------------------------------- the desk rows (one item a row)
TEMPLE = "college:c1:TEMPLE"
RECORD = {"gpa": 3.7, "class_rank": 4, "class_size": 100, "clinicals": []}


def _letter_received(api, svc, token, to="w0@example.org"):
    from .conftest import PDF, put_object
    from .test_applications_documents_letters import link_token

    letter_id = next(x["letter_id"] for x in api.call("GET", "/applicants/a1", token).data["letters"]
                     if x["status"] == "requested")
    link = link_token(svc, to)
    assert api.call("POST", f"/letters/{letter_id}/response?token={link}", body={"accept": True}).status_code == 200
    put_object(svc, api.call("POST", f"/letters/{letter_id}/upload?token={link}").data["upload"]["fields"]["key"], PDF)
    assert api.call("POST", f"/letters/{letter_id}/completion?token={link}").status_code == 200


def _same_as_the_application(api, row):
    one = api.call("GET", f"/programs/101/applications/{row['applicant_id']}?season=2024", P101).data
    assert {k: one[k] for k in row} == row


def test_a6_the_list_row_follows_every_change_after_delivery(api, svc, clock):
    """The list reads one desk row per application: letters received, the college record, the
    exam attempts and the review, each changed after the delivery, show in it at once."""
    from datetime import date

    from applications import handlers
    from shared.contracts import ScoresResultRecorded

    delivered_season(api, svc, clock)
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    listing = lambda q="": api.call("GET", f"/programs/101/applications?season=2024{q}",  # noqa: E731
                                    P101).data["applications"]
    [row] = listing()
    assert (row["letters_received"], row["gpa"], row["results"], row["rating"]) == (0, None, [], None)
    _same_as_the_application(api, row)
    token = "applicant:u1"
    _letter_received(api, svc, token)
    assert api.call("PUT", "/colleges/Temple/students/a1/record", TEMPLE, RECORD).status_code == 200
    handlers.on_result(svc, ScoresResultRecorded(
        season="2024", applicant_id="a1", result_id="r9", exam="part1", exam_date=date(2023, 7, 18), result="pass",
        official=True, visible_from=CALENDAR["scores_uploaded"]))
    assert api.call("PATCH", "/programs/101/applications/a1?season=2024", P101,
                    {"rating": 4, "tags": ["podiatry"]}).status_code == 200
    [row] = listing("&rating_min=4&tag=podiatry&q=lovelace")
    assert row["letters_received"] == 1
    assert (row["gpa"], row["class_rank"], row["class_size"]) == (3.7, 4, 100)
    assert [(r["exam"], r["result"]) for r in row["results"]] == [("part1", "pass")]
    assert (row["rating"], row["tags"], row["review_status"]) == (4, ["podiatry"], "new")
    _same_as_the_application(api, row)
    csv_rows = list(csv.DictReader(io.StringIO(api.call("GET", "/programs/101/applications.csv?season=2024",
                                                        P101).data)))
    assert [(t["applicant_id"], t["letters_received"], t["rating"]) for t in csv_rows] == [("a1", "1", "4")]


def test_a5_a6_a_designation_after_the_delivery_instant_is_on_the_list_at_once(api, svc, clock):
    from .conftest import at, program, season, submitted

    season(svc)
    program(svc, "103", deadline=at(2024, 1, 10))
    token = submitted(api, svc)
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    assert api.call("POST", "/applicants/a1/designations", token, {"program_code": "103"}).status_code == 201
    [row] = api.call("GET", "/programs/103/applications?season=2024", "program:p3:103").data["applications"]
    assert row["applicant_id"] == "a1" and row["delivered_at"] and row["letters_received"] == 0


def test_a6_a_letter_received_while_the_delivery_is_written_is_on_the_row(api, svc, clock):
    """The delivery writes the row from what it read and checks in its transaction that none of it
    changed: a letter completed in between makes it read again (the row is never stale)."""
    from applications.adapters.store import DynamoApplicationStore

    delivered_season(api, svc, clock)

    class LetterInBetween(DynamoApplicationStore):
        during = None

        def applicants_many(self, applicant_ids):  # the delivery's batch read of the applications
            found = super().applicants_many(applicant_ids)
            if self.during is not None:
                during, self.during = self.during, None
                during()
            return found

    racing = LetterInBetween(clock.now)
    racing.during = lambda: _letter_received(api, svc, "applicant:u1")
    svc.store = racing
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    assert racing.during is None  # the letter did arrive in between
    [row] = api.call("GET", "/programs/101/applications?season=2024", P101).data["applications"]
    assert row["letters_received"] == 1
