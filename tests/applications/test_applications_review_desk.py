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
