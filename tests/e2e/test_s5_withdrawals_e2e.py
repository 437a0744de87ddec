"""S5 on the running local stack (issue 9), across services: the scores service finds at
part1_pass_by an applicant without a Part I pass and at part2_pass_by one without a Part II
Written pass; registration withdraws the first from CASPR (status withdrawn, reason naming S5)
and marks the second withdrawn from the Match (match_withdrawn, the registration stays); the
match service lists both as withdrawn (M3). The season is its own; the clock only moves forward."""

from __future__ import annotations

import time
import uuid

import pytest

pytestmark = pytest.mark.e2e
CARD = "4242424242424242"
HEADER = "att_number,cms_id,exam,exam_date,result\n"


def wait_for(fn, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def registered(stack, season: str) -> dict:
    """An applicant who registered and paid; known to the scores and match services."""
    session, account = stack.new_account()
    cms = f"SFV-{uuid.uuid4().hex[:9].upper()}"
    body = {"season": season, "first_name": "Grace", "last_name": "Hopper", "email": account["email"],
            "cms_id": cms, "college": "TUSPM", "graduation_year": 2024}
    r = session.post(f"{stack.url}/registration/applicants", json=body, timeout=30)
    assert r.status_code == 201, r.text
    applicant_id = r.json()["applicant_id"]
    r = session.post(f"{stack.url}/registration/applicants/{applicant_id}/payments",
                     json={"amount_cents": 55_000, "card_number": CARD},
                     headers={"Idempotency-Key": f"s5-e2e-{applicant_id}"}, timeout=60)
    assert r.status_code == 201, r.text
    wait_for(lambda: stack.admin.get(f"{stack.url}/scores/applicants/{applicant_id}/results",
                                     timeout=30).status_code == 200, f"scores to know {applicant_id}")
    wait_for(lambda: match_view(stack, season, applicant_id) is not None, f"match to know {applicant_id}")
    return {"session": session, "id": applicant_id, "cms": cms}


def release(stack, a: dict, att: str) -> None:
    body = {"att_number": att, "cms_id": a["cms"], "name_at_exam": "Grace Hopper", "explanation": "",
            "authorize_part1": True, "authorize_part2": True}
    r = a["session"].put(f"{stack.url}/scores/applicants/{a['id']}/release", json=body, timeout=30)
    assert r.status_code == 200, r.text


def upload(stack, season: str, rows: str) -> dict:
    r = stack.admin.post(f"{stack.url}/scores/seasons/{season}/results", data=(HEADER + rows).encode(),
                         headers={"Content-Type": "text/csv"}, timeout=300)
    assert r.status_code == 200, r.text
    return r.json()


def registration(a: dict, stack) -> dict:
    r = a["session"].get(f"{stack.url}/registration/applicants/{a['id']}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def match_view(stack, season: str, applicant_id: str) -> dict | None:
    """The administrator's view of the applicant's Match rank order list: `withdrawn` is M3's flag."""
    r = stack.admin.get(f"{stack.url}/match/seasons/{season}/applicants/{applicant_id}/rol", timeout=30)
    return r.json() if r.status_code == 200 else None


def test_s5_withdrawals_reach_registration_and_the_match_on_the_local_stack(stack):
    season, cal = stack.new_season()
    passes, no_part2, no_part1 = (registered(stack, season) for _ in range(3))
    release(stack, passes, "002000001")
    release(stack, no_part2, "002000002")
    release(stack, no_part1, "002000003")
    summary = upload(stack, season, f"002000001,{passes['cms']},part1,2023-07-18,pass\n"
                                    f"002000002,{no_part2['cms']},part1,2023-07-18,pass\n"
                                    f"002000003,{no_part1['cms']},part1,2023-07-18,fail\n")
    assert summary["recorded"] == 3, summary

    # S5 at part1_pass_by: no Part I pass -> withdrawn from CASPR, the reason naming S5
    stack.at(cal, "part1_pass_by")
    out = wait_for(lambda: (lambda r: r if r["status"] == "withdrawn" else None)(registration(no_part1, stack)),
                   "registration to withdraw the applicant without a Part I pass")
    assert "S5" in out["withdrawal_reason"] and out["match_withdrawn"] is False
    for a in (passes, no_part2):
        assert registration(a, stack)["status"] == "registered"
    wait_for(lambda: match_view(stack, season, no_part1["id"])["withdrawn"], "match to see the CASPR withdrawal")

    # S5 at part2_pass_by: a Part II Written (and CSPE) pass recorded before the instant prevents it
    upload(stack, season, f"002000001,{passes['cms']},part2_written,2024-01-10,pass\n"
                          f"002000001,{passes['cms']},cspe,2024-01-11,pass\n")
    stack.at(cal, "part2_pass_by")
    out = wait_for(lambda: (lambda r: r if r["match_withdrawn"] else None)(registration(no_part2, stack)),
                   "registration to mark the applicant without a Part II pass withdrawn from the Match")
    assert out["status"] == "registered" and "S5" in out["match_withdrawal_reason"]
    # M3: the match service lists them as withdrawn (flagged; the run skips them)
    view = wait_for(lambda: (lambda v: v if v and v["withdrawn"] else None)(match_view(stack, season,
                                                                                       no_part2["id"])),
                    "match to treat the Match withdrawal as withdrawn")
    assert view["code_number"] == out["code_number"]
    ok = registration(passes, stack)
    assert (ok["status"], ok["match_withdrawn"]) == ("registered", False)
    assert match_view(stack, season, passes["id"])["withdrawn"] is False
    assert registration(no_part1, stack)["status"] == "withdrawn"
