"""The Match and MPII played on the running local stack (HTTP, Cognito tokens, registration
events through the bus, the scheduler firing calendar instants on the movable clock, and
the Step Functions state machine of infra/ executed by the emulator, its tasks answered by
the match service through SQS task tokens).

Season: programs 201 (track 2011, 1 position), 202 (2021: 3, 2022: 2) and 203 (2031: 1,
  withdrawn by its program before the lists lock: M3); applicants A0-A5.
  Match lists: A0 [2011, 2021], A1 [2011], A2 [2031, 2021], A3 [2011, 2021] (withdraws: M3),
  A4 none, A5 [2021] edited after certifying and left uncertified (M1).
  2011 ranks [A1, A0, A3]; 2021 ranks [A0, A2, A3, A5]; 2031 ranks [A2] (A2 would match it).
  -> A0 2021, A1 2011, A2 2021; A3, A4, A5 unmatched; unfilled 2021: 1, 2022: 2.
  MPII (M7): A4, A5 and tracks 2021 (1), 2022 (2). A4 and A5 send complete applications (Part I
  pass, documents, letter requests) and designate program 202 in the MPII window through
  /applications: MPII lists are limited to those MPII applications (application.delivered.v1).
  A4 [2021], A5 [2022]; 2021 [A4], 2022 [A5]
  -> A4 2021, A5 2022; Post-Match list (M8): 2022 with 1 open position.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import requests

from shared.clock import iso, parse_instant

pytestmark = pytest.mark.e2e
CARD = "4242424242424242"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def wait_for(fn, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Season:
    def __init__(self, stack):
        self.stack = stack
        self.season, self.cal = stack.new_season()
        self.base = f"{stack.url}/match/seasons/{self.season}"
        self.applicants: list[dict] = []
        self.programs: dict[str, requests.Session] = {}

    def without_exam_withdrawals(self) -> None:
        """S5's instants moved after Match Day: nobody is withdrawn for want of an exam pass (a
        season that needs no score uploads)."""
        after = iso(parse_instant(self.cal["match_day"]) + timedelta(days=2))
        self.cal = {**self.cal, "part1_pass_by": after, "part2_pass_by": after}
        r = self.stack.admin.put(f"{self.stack.url}/registration/seasons/{self.season}", json=self.cal, timeout=30)
        assert r.status_code in (200, 201), r.text

    def add_program(self, code: str, tracks: list[tuple[str, int]]) -> None:
        body = {"season": self.season, "program_code": code, "name": f"Program {code}", "city": "Chicago",
                "state": "IL", "coth": True, "crip": False, "contact": {"name": "Director"},
                "tracks": [{"track_code": t, "name": f"PMSR/RRA {t}", "positions": n} for t, n in tracks]}
        r = self.stack.admin.post(f"{self.stack.url}/registration/programs", json=body, timeout=30)
        assert r.status_code == 201, r.text
        session, _ = self.stack.new_account("program", program_code=code)
        self.programs[code] = session

    def add_applicant(self) -> dict:
        session, account = self.stack.new_account()
        cms = f"EEE-{uuid.uuid4().hex[:9].upper()}"
        body = {"season": self.season, "first_name": "Ada", "last_name": f"Applicant{len(self.applicants)}",
                "email": account["email"], "cms_id": cms, "college": "TUSPM", "graduation_year": 2024}
        r = session.post(f"{self.stack.url}/registration/applicants", json=body, timeout=30)
        assert r.status_code == 201, r.text
        applicant_id = r.json()["applicant_id"]
        r = session.post(f"{self.stack.url}/registration/applicants/{applicant_id}/payments",
                         json={"amount_cents": 55_000, "card_number": CARD},
                         headers={"Idempotency-Key": f"match-e2e-{applicant_id}"}, timeout=60)
        assert r.status_code == 201, r.text
        a = {"session": session, "applicant_id": applicant_id, "code": r.json()["code_number"], "cms": cms}
        self.applicants.append(a)
        return a

    def submit_application(self, n: int) -> None:
        """A whole application through /applications (A1): personal statement and CV through
        presigned POSTs, three letter requests, submission."""
        a = self.applicants[n]
        s, aid, base = a["session"], a["applicant_id"], f"{self.stack.url}/applications/applicants/{a['applicant_id']}"
        wait_for(lambda: s.get(base, timeout=30).status_code == 200, "the applications service to know the applicant")
        for kind in ("personal_statement", "cv"):
            r = s.post(f"{base}/documents", json={"kind": kind, "filename": "x.pdf", "size": len(PDF)}, timeout=30)
            assert r.status_code == 201, r.text
            form = r.json()["upload"]
            assert requests.post(form["url"], data=form["fields"], files={"file": ("x.pdf", PDF, "application/pdf")},
                                 timeout=30).status_code in (200, 201, 204)
            assert s.post(f"{base}/documents/{r.json()['document_id']}/completion", timeout=30).status_code == 200
        for i in range(3):
            r = s.post(f"{base}/letters", json={"writer_name": f"Dr {i}", "writer_email": f"m{i}-{aid}@test.caspr",
                                                "label": "clinical", "waived": True}, timeout=30)
            assert r.status_code == 201, r.text
        assert s.post(f"{base}/submission", timeout=30).status_code == 200

    def release_scores(self, n: int) -> None:
        """The score release (S1), so that the passes reach registration and applications."""
        a, url = self.applicants[n], self.stack.url
        s, aid = a["session"], a["applicant_id"]
        a["att"] = f"0020{self.season}{n}"
        release = {"att_number": a["att"], "cms_id": a["cms"].lower(), "name_at_exam": "Ada", "explanation": "",
                   "authorize_part1": True, "authorize_part2": True}
        wait_for(lambda: s.put(f"{url}/scores/applicants/{aid}/release", json=release, timeout=30).status_code == 200,
                 "the scores service to know the applicant")

    def pass_exams(self, ns: list[int]) -> None:
        """Part I and Part II Written passes (NBPME upload): S5 withdraws nobody at part1_pass_by
        nor at part2_pass_by, and A3 lets them send applications."""
        csv = "att_number,cms_id,exam,exam_date,result\n" + "".join(
            f"{self.applicants[n]['att']},{self.applicants[n]['cms']},{exam},2023-07-18,pass\n"
            for n in ns for exam in ("part1", "part2_written"))
        r = self.stack.admin.post(f"{self.stack.url}/scores/seasons/{self.season}/results", data=csv.encode(),
                                  headers={"Content-Type": "text/csv"}, timeout=300)
        assert r.status_code == 200, r.text
        for n in ns:
            s, aid = self.applicants[n]["session"], self.applicants[n]["applicant_id"]
            wait_for(lambda s=s, aid=aid: s.get(f"{self.stack.url}/applications/applicants/{aid}",
                                                timeout=30).json()["may_apply"], "the Part I pass")

    def designate(self, n: int, program_code: str) -> dict:
        s, aid = self.applicants[n]["session"], self.applicants[n]["applicant_id"]
        url = f"{self.stack.url}/applications/applicants/{aid}/designations"
        r = wait_for(lambda: (lambda r: r if r.status_code != 422 or r.json().get("rule") != "M7" else None)(
            s.post(url, json={"program_code": program_code}, timeout=30)), "the applications service to learn MPII")
        assert r.status_code == 201 and r.json()["delivered_at"], r.text  # MPII: delivered at once (M7)
        return r.json()

    def rank(self, n: int, tracks: list[str], rnd: str = "", certify: bool = True) -> dict:
        s = self.applicants[n]["session"]
        r = s.put(f"{self.base}{rnd}/applicants/me/rol", json={"tracks": tracks}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["certified"] is False and r.json()["counts"] is False  # M1: an edit uncertifies
        if certify:
            r = s.post(f"{self.base}{rnd}/applicants/me/rol/certification", timeout=30)
            assert r.status_code == 200, r.text
            assert r.json()["counts"] is True
        return r.json()

    def program_ranks(self, track: str, applicants: list[int], rnd: str = "") -> dict:
        s = self.programs[track[:3]]
        codes = [self.applicants[n]["code"] for n in applicants]
        r = s.put(f"{self.base}{rnd}/tracks/{track}/rol", json={"applicants": codes}, timeout=30)
        assert r.status_code == 200, r.text
        r = s.post(f"{self.base}{rnd}/tracks/{track}/rol/certification", params={"version": r.json()["version"]},
                   timeout=30)
        assert r.status_code == 200 and r.json()["counts"] is True, r.text
        return r.json()

    def run(self) -> dict | None:
        r = self.stack.admin.get(f"{self.base}/runs", timeout=30)
        assert r.status_code == 200, r.text
        runs = r.json()["runs"]
        return runs[-1] if runs else None

    def step(self, name: str) -> str | None:
        run = self.run()
        return next((s["status"] for s in run["steps"] if s["step"] == name), None) if run else None

    def my_result(self, session) -> requests.Response:
        return session.get(f"{self.base}/results/me", timeout=30)


def test_match_and_mpii_on_the_local_stack(stack):
    s = Season(stack)
    s.add_program("201", [("2011", 1)])
    s.add_program("202", [("2021", 3), ("2022", 2)])
    s.add_program("203", [("2031", 1)])
    for _ in range(6):
        s.add_applicant()
    A = s.applicants
    wait_for(lambda: len(stack.admin.get(f"{s.base}/tracks", timeout=30).json()["tracks"]) == 4,
             "the match service to learn the tracks from program.registered.v1")
    # everyone passes Part I and Part II Written (else S5 withdraws them at part1_pass_by or from the
    # Match at part2_pass_by); A4 and A5
    # submit applications, which their MPII applications need later (M7)
    for n in range(6):
        s.release_scores(n)
    for n in (4, 5):
        s.submit_application(n)
    s.pass_exams(list(range(6)))

    # M1: lists open at rol_opens
    r = A[0]["session"].put(f"{s.base}/applicants/me/rol", json={"tracks": ["2011"]}, timeout=30)
    assert r.status_code == 422 and r.json()["rule"] == "M1" and r.json()["type"].endswith("/M1"), r.text
    stack.at(s.cal, "rol_opens")
    r = A[0]["session"].put(f"{s.base}/applicants/me/rol", json={"tracks": ["2011", "9999", "2011"]}, timeout=30)
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"tracks[1]", "tracks[2]"}
    r = A[0]["session"].put(f"{s.base}/applicants/{A[1]['applicant_id']}/rol", json={"tracks": ["2011"]}, timeout=30)
    assert r.status_code == 403  # M6: each side only its own
    r = s.programs["201"].put(f"{s.base}/tracks/2021/rol", json={"applicants": [A[0]["code"]]}, timeout=30)
    assert r.status_code == 403  # another program's track

    s.rank(0, ["2011", "2021"])
    s.rank(1, ["2011"])
    s.rank(2, ["2031", "2021"])
    s.rank(3, ["2011", "2021"])
    s.rank(5, ["2021"])
    s.rank(5, ["2021", "2022"], certify=False)  # certified, then edited: no longer counts (M1)
    s.program_ranks("2011", [1, 0, 3])
    s.program_ranks("2021", [0, 2, 3, 5])
    s.program_ranks("2031", [2])

    # M3: program 203 withdraws its track (registration); it stays on A2's list, flagged, and its
    # program can no longer change its list
    r = s.programs["202"].post(f"{stack.url}/registration/programs/203/tracks/2031/withdrawal", timeout=30)
    assert r.status_code == 403, r.text  # another program's track
    r = s.programs["203"].post(f"{stack.url}/registration/programs/203/tracks/2031/withdrawal",
                               json={"reason": "e2e: funding ended"}, timeout=30)
    assert r.status_code == 200 and r.json()["tracks"][0]["withdrawn"] is True, r.text

    def a2_sees_2031_withdrawn():
        entries = A[2]["session"].get(f"{s.base}/applicants/me/rol", timeout=30).json()["tracks"]
        return [(e["track_code"], e["withdrawn"]) for e in entries] == [("2031", True), ("2021", False)]

    wait_for(a2_sees_2031_withdrawn, "2031 flagged withdrawn on A2's list")
    r = s.programs["203"].put(f"{s.base}/tracks/2031/rol", json={"applicants": [A[0]["code"]]}, timeout=30)
    assert r.status_code == 409 and r.json()["rule"] == "M3", r.text

    # M3: A3 withdraws; it stays on the programs' lists, flagged
    r = A[3]["session"].post(f"{stack.url}/registration/applicants/{A[3]['applicant_id']}/withdrawal",
                             json={"reason": "e2e"}, timeout=30)
    assert r.status_code == 200, r.text

    def a3_flagged():
        entries = s.programs["201"].get(f"{s.base}/tracks/2011/rol", timeout=30).json()["applicants"]
        return [e["withdrawn"] for e in entries] == [False, False, True]

    wait_for(a3_flagged, "A3 flagged withdrawn on 2011's list")

    # rol_deadline: the scheduler fires, the run starts by itself (M4)
    stack.at(s.cal, "rol_deadline")
    wait_for(lambda: s.step("await:match_status_day") == "waiting", "the run to wait for Match Status Day")
    run = s.run()
    assert run["status"] == "RUNNING" and run["run_id"] == f"{s.season}-match-1"
    assert [st["status"] for st in run["steps"][:6]] == ["succeeded"] * 6
    r = A[0]["session"].put(f"{s.base}/applicants/me/rol", json={"tracks": ["2021"]}, timeout=30)
    assert r.status_code == 422 and r.json()["rule"] == "M1"  # locked
    r = stack.admin.post(f"{s.base}/runs", timeout=30)  # a second start: the same run
    assert r.status_code == 200 and r.json()["run_id"] == run["run_id"] and r.json()["created"] is False

    # M6: stored, but nothing visible before Match Status Day
    admin = stack.admin.get(f"{s.base}/results", timeout=30).json()
    assert admin["rounds"]["match"]["stored"] is True
    for session in (A[0]["session"], s.programs["202"]):
        r = s.my_result(session)
        assert r.status_code == 403 and r.json()["rule"] == "M6", r.text

    stack.at(s.cal, "match_status_day")
    wait_for(lambda: s.step("await:mpii_rol_deadline") == "waiting", "MPII to open")
    me = s.my_result(A[0]["session"]).json()["applicant"]
    assert me["released"] == "status" and me["match"]["status"] == "matched"
    assert me["match"]["track_code"] is None and me["match"]["program_code"] is None  # M5: not before Match Day
    assert s.my_result(A[5]["session"]).json()["applicant"]["match"]["status"] == "unmatched"
    prog = s.my_result(s.programs["202"]).json()["program"]
    assert [(t["track_code"], t["unfilled"], t["matched"]) for t in prog["tracks"]] == [("2021", 1, None),
                                                                                        ("2022", 2, None)]
    r = s.my_result(A[1]["session"])
    assert r.status_code == 200 and "2011" not in r.text

    # M7: participants; MPII lists limited to them
    mpii = s.programs["202"].get(f"{s.base}/mpii", timeout=30).json()
    assert sorted(a["code_number"] for a in mpii["applicants"]) == sorted([A[4]["code"], A[5]["code"]])
    assert [(t["track_code"], t["positions"]) for t in mpii["tracks"]] == [("2021", 1), ("2022", 2)]
    assert A[4]["session"].get(f"{s.base}/mpii", timeout=30).json()["participant"] is True
    assert A[0]["session"].get(f"{s.base}/mpii", timeout=30).json()["participant"] is False
    # M7: A4 and A5 send MPII applications to program 202 (delivered at once), which their lists
    # and 202's lists are then limited to
    stack.at(s.cal, "mpii_applications_open")
    for n in (4, 5):
        s.designate(n, "202")
    stack.at(s.cal, "mpii_rol_opens")
    r = A[0]["session"].put(f"{s.base}/mpii/applicants/me/rol", json={"tracks": ["2022"]}, timeout=30)
    assert r.status_code == 422 and r.json()["rule"] == "M7"
    r = A[4]["session"].put(f"{s.base}/mpii/applicants/me/rol", json={"tracks": ["2011"]}, timeout=30)
    assert r.status_code == 422 and r.json()["rule"] == "M7"
    r = s.programs["202"].put(f"{s.base}/mpii/tracks/2021/rol", json={"applicants": [A[0]["code"]]}, timeout=30)
    assert r.status_code == 422 and r.json()["rule"] == "M7"
    wait_for(lambda: A[4]["session"].put(f"{s.base}/mpii/applicants/me/rol", json={"tracks": ["2021"]},
                                         timeout=30).status_code == 200, "match to learn A4's MPII application")
    wait_for(lambda: A[5]["session"].put(f"{s.base}/mpii/applicants/me/rol", json={"tracks": ["2022"]},
                                         timeout=30).status_code == 200, "match to learn A5's MPII application")
    s.rank(4, ["2021"], rnd="/mpii")
    s.rank(5, ["2022"], rnd="/mpii")
    s.program_ranks("2021", [4], rnd="/mpii")
    s.program_ranks("2022", [5], rnd="/mpii")

    stack.at(s.cal, "mpii_rol_deadline")
    wait_for(lambda: s.step("await:match_day") == "waiting", "the MPII run to wait for Match Day")
    assert s.my_result(A[4]["session"]).json()["applicant"]["mpii"]["status"] is None  # MPII result: Match Day
    r = A[4]["session"].get(f"{s.base}/post-match", timeout=30)
    assert r.status_code == 403 and r.json()["rule"] == "M8"

    stack.at(s.cal, "match_day")
    wait_for(lambda: (s.run() or {}).get("status") == "SUCCEEDED", "the run to succeed")
    expected = {0: ("match", "2021"), 1: ("match", "2011"), 2: ("match", "2021"), 4: ("mpii", "2021"),
                5: ("mpii", "2022")}
    for n, (rnd, track) in expected.items():
        me = s.my_result(A[n]["session"]).json()["applicant"]
        assert me["released"] == "results"
        assert me[rnd]["status"] == "matched" and me[rnd]["track_code"] == track, (n, me)
        assert me[rnd]["program_code"] == track[:3]
    three = s.my_result(A[3]["session"]).json()["applicant"]
    assert three["match"]["status"] == "unmatched" and three["mpii"]["participant"] is False
    prog = s.my_result(s.programs["202"]).json()["program"]
    matched = {t["track_code"]: sorted(m["code_number"] for m in t["matched"]) for t in prog["tracks"]}
    assert matched == {"2021": sorted([A[0]["code"], A[2]["code"], A[4]["code"]]), "2022": [A[5]["code"]]}
    post = A[1]["session"].get(f"{s.base}/post-match", timeout=30)
    assert post.status_code == 200, post.text
    assert [(p["track_code"], p["open_positions"]) for p in post.json()["positions"]] == [("2022", 1)]
    admin = stack.admin.get(f"{s.base}/results", timeout=30).json()
    assert admin["rounds"]["match"]["statistics"]["matched"] == 3
    assert admin["rounds"]["mpii"]["statistics"]["matched"] == 2
    run = s.run()
    assert run["completed_steps"] == run["planned_steps"]
