"""Issue 12, "Emails": the Match's ROL reminder on the running local stack, driven by its movable
clock. The reminder has no calendar key of its own: the match service's scheduled function
(every 5 minutes on AWS; locally on every clock move) sends it 3 days before rol_deadline.

A small season: programs 401 (track 4011, certified list) and 402 (track 4021, no list), each
with a contact email; applicants B0 (certified list) and B1 (list saved, not certified). At
rol_deadline - 3 days + 1 minute the reminder reaches B1 and 402's contact only, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import iso, parse_instant

from .test_match_e2e import Season, wait_for

pytestmark = pytest.mark.e2e


def test_the_rol_reminder_reaches_the_uncertified_participants_only(stack):
    s = Season(stack)
    # S5's instants after Match Day: nobody is withdrawn for want of an exam pass (no score uploads needed)
    after = iso(parse_instant(s.cal["match_day"]) + timedelta(days=2))
    s.cal = {**s.cal, "part1_pass_by": after, "part2_pass_by": after}
    r = stack.admin.put(f"{stack.url}/registration/seasons/{s.season}", json=s.cal, timeout=30)
    assert r.status_code in (200, 201), r.text
    contacts = {}
    for code in ("401", "402"):
        contacts[code] = f"director-{code}-{s.season}@e2e.caspr"
        body = {"season": s.season, "program_code": code, "name": f"Program {code}", "city": "Chicago",
                "state": "IL", "coth": True, "crip": False,
                "contact": {"name": "Director", "email": contacts[code]},
                "tracks": [{"track_code": f"{code}1", "name": f"PMSR/RRA {code}1", "positions": 1}]}
        r = stack.admin.post(f"{stack.url}/registration/programs", json=body, timeout=30)
        assert r.status_code == 201, r.text
        s.programs[code], _ = stack.new_account("program", program_code=code)
    for _ in range(2):
        s.add_applicant()
    B = s.applicants
    emails = [b["session"].get(f"{stack.url}/registration/applicants/{b['applicant_id']}", timeout=30).json()["email"]
              for b in B]
    wait_for(lambda: len(stack.admin.get(f"{s.base}/tracks", timeout=30).json()["tracks"]) == 2,
             "the match service to learn the tracks")

    stack.at(s.cal, "rol_opens")
    s.rank(0, ["4011"])
    s.rank(1, ["4011", "4021"], certify=False)
    s.program_ranks("4011", [0, 1])

    deadline = parse_instant(s.cal["rol_deadline"])
    stack.move_clock(deadline - timedelta(days=3) + timedelta(minutes=1))

    def reminders(to: str) -> list[dict]:
        return [m for m in stack.local.outbox(to) if "certify" in m["subject"] and s.season in m["subject"]]

    mine = wait_for(lambda: reminders(emails[1]), "the reminder to the applicant without a certified list", 60)
    assert len(mine) == 1 and "in 3 days" in mine[0]["body"] and "not certified" in mine[0]["body"]
    assert "(America/Chicago)" in mine[0]["body"]  # registration's default time zone
    program = reminders(contacts["402"])
    assert len(program) == 1 and "4021" in program[0]["body"]
    assert reminders(emails[0]) == [] and reminders(contacts["401"]) == []  # certified: no reminder
    # the scheduled function runs again on the next move: nothing is sent twice
    stack.move_clock(deadline - timedelta(days=3) + timedelta(minutes=2))
    assert len(reminders(emails[1])) == 1 and len(reminders(contacts["402"])) == 1
