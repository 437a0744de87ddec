"""College records (A2), and what programs see of them and of the exam results (A6, S6)."""

from __future__ import annotations

from datetime import date

from shared.contracts import ScoresReleased, ScoresResultRecorded

from .conftest import CALENDAR, PDF, at, deadline, program, put_object, registered, season, submitted

TEMPLE = "college:c1:TEMPLE"
OTHER = "college:c2:OTHER"
RECORD = {"gpa": 3.7, "class_rank": 4, "class_size": 100,
          "clinicals": [{"site": "Temple Hospital", "specialty": "surgery", "weeks": 4}]}


def college_upload(api, svc, token, applicant_id, kind, college="Temple", body=PDF):
    r = api.call("POST", f"/colleges/{college}/students/{applicant_id}/documents", token,
                 {"kind": kind, "filename": f"{kind}.pdf", "size": len(body)})
    assert r.status_code == 201, r.data
    put_object(svc, r.data["upload"]["fields"]["key"], body)
    return api.call("POST", f"/colleges/{college}/students/{applicant_id}/documents/{r.data['document_id']}"
                            "/completion", token)


def test_a2_the_college_supplies_its_students_record_and_documents(api, svc):
    token = registered(svc)  # college "Temple"
    r = api.call("PUT", "/colleges/Temple/students/a1/record", TEMPLE, RECORD)
    assert r.status_code == 200 and r.data["gpa"] == 3.7 and r.data["clinicals"][0]["weeks"] == 4
    bad = api.call("PUT", "/colleges/Temple/students/a1/record", TEMPLE, {**RECORD, "class_rank": 101})
    assert bad.status_code == 422 and bad.data["rule"] == "A2"
    assert college_upload(api, svc, TEMPLE, "a1", "transcript").status_code == 200
    r = college_upload(api, svc, TEMPLE, "a1", "deans_letter", body=b"plain text")
    assert r.status_code == 422 and r.data["rule"] == "A2"
    assert college_upload(api, svc, TEMPLE, "a1", "deans_letter").status_code == 200
    mine = api.call("GET", "/applicants/a1", token).data
    assert mine["college_record"]["gpa"] == 3.7
    assert sorted(d["kind"] for d in mine["college_record"]["documents"]) == ["deans_letter", "transcript"]
    assert "college_record" not in mine["missing"]
    assert all("download_url" not in d for d in mine["college_record"]["documents"])


def test_a2_a_college_sees_and_writes_only_its_own_students(api, svc):
    registered(svc)
    registered(svc, "a2", "u2", college="Other")
    assert api.call("PUT", "/colleges/Temple/students/a1/record", OTHER, RECORD).status_code == 403
    assert api.call("PUT", "/colleges/Other/students/a1/record", OTHER, RECORD).status_code == 404
    assert api.call("GET", "/colleges/Temple/students?season=2024", OTHER).status_code == 403
    assert api.call("GET", "/colleges/Temple/students?season=2024", "applicant:u1").status_code == 403
    assert api.call("PUT", "/colleges/Temple/students/a1/record", "applicant:u1", RECORD).status_code == 403
    rows = api.call("GET", "/colleges/Other/students?season=2024", OTHER).data["students"]
    assert [r["applicant_id"] for r in rows] == ["a2"]


def test_a2_the_progress_list_of_the_colleges_students(api, svc):
    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    registered(svc, "a3", "u3", first="Zed", last="Zulu")
    assert api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}).status_code == 201
    from applications import handlers

    handlers.on_scores_released(svc, ScoresReleased(
        season="2024", applicant_id="a1", att_number="001000001", cms_id="PRO-2T8P48F5H", explanation="",
        released_at=at(2023, 9, 2), on_time=True, version=1))
    rows = api.call("GET", "/colleges/temple/students?season=2024", TEMPLE).data["students"]
    assert [r["applicant_id"] for r in rows] == ["a1", "a3"]
    a1, a3 = rows
    assert a1["submitted"] and a1["score_release_done"] and a1["programs_designated"] == ["101"]
    assert a1["documents"] == ["cv", "personal_statement"] and a1["letters_requested"] == 3
    assert not a3["submitted"] and a3["documents"] == [] and a3["programs_designated"] == []


def test_a6_s6_programs_see_gpa_rank_and_pass_fail_per_attempt_from_its_visible_instant(api, svc, clock):
    from applications import handlers

    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    api.call("PUT", "/colleges/Temple/students/a1/record", TEMPLE, RECORD)
    for rid, exam, result, visible in (("r1", "part1", "fail", CALENDAR["scores_uploaded"]),
                                       ("r2", "part1", "pass", CALENDAR["scores_uploaded"]),
                                       ("r3", "part2_written", "pass", CALENDAR["part2_uploaded"])):
        handlers.on_result(svc, ScoresResultRecorded(
            season="2024", applicant_id="a1", result_id=rid, exam=exam, exam_date=date(2023, 7, 18), result=result,
            official=True, visible_from=visible))
    assert api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}).status_code == 201
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    row = api.call("GET", "/programs/101/applications?season=2024", "program:p:101").data["applications"][0]
    assert (row["gpa"], row["class_rank"], row["class_size"]) == (3.7, 4, 100)
    assert [(r["exam"], r["result"]) for r in row["results"]] == [("part1", "fail"), ("part1", "pass")]
    one = api.call("GET", "/programs/101/applications/a1?season=2024", "program:p:101").data
    assert one["college_record"]["gpa"] == 3.7
    clock.set(CALENDAR["part2_uploaded"])
    row = api.call("GET", "/programs/101/applications?season=2024", "program:p:101").data["applications"][0]
    assert [r["exam"] for r in row["results"]] == ["part1", "part1", "part2_written"]
