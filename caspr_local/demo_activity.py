"""The demo season past registration: what `make run` seeds after the applicants have registered,
through the public API like any client (applicants, letter writers, colleges, the administrator
and a program), moving the local clock as the season goes:

- each paid applicant releases its scores (S1), uploads a personal statement and a CV (small
  generated PDFs, through the presigned POST and its completion, A1), requests 3 letters which
  the writers upload through their emailed link, and submits (A1); its college enters its record (A2);
- at scores_uploaded the administrator uploads NBPME's Part I passes (S3: may apply, A3) and each
  applicant designates its programs (A5);
- the clock moves to DEMO_NOW (past applications_delivered and invitations_open): the
  designations are delivered to the programs' desks (A6);
- program 101 (COTH, CRIP) adds an interview type and events, invites the first paid applicants
  (I1, I2), and the first one books through its own sign-in (I4)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests

from caspr_local.demo import (
    DEMO_INTERVIEW_PROGRAM,
    DEMO_NOW,
    DEMO_SCORES_AT,
    DEMO_SEASON,
    demo_college_record,
    demo_designations,
    demo_interviews,
)
from shared.clock import parse_instant

LETTER_LINK = re.compile(r"https?://\S+/applications/letters/respond\?token=([^\s\"'<>]+)")
TIMEOUT = 60


@dataclass
class SeededApplicant:
    index: int
    applicant_id: str
    session: requests.Session
    body: dict  # what it registered with (name, email, cms_id, college)

    @property
    def name(self) -> str:
        return f"{self.body['first_name']} {self.body['last_name']}"


def seed_activity(stack, admin: requests.Session, applicants: list[SeededApplicant],
                  colleges: dict[str, requests.Session], programs: dict[str, requests.Session]) -> None:
    from caspr_local.seed import _ok

    base = stack.url
    apps = f"{base}/applications"
    stack.settle()  # every service knows the registrations
    letters: list[tuple[str, str]] = []  # (letter id, writer email)
    for a in applicants:
        att = f"00{7000000 + a.index:07d}"
        _ok(a.session.put(f"{base}/scores/applicants/{a.applicant_id}/release", json={
            "att_number": att, "cms_id": a.body["cms_id"], "name_at_exam": a.name, "explanation": "",
            "authorize_part1": True, "authorize_part2": True}, timeout=TIMEOUT))
        for kind, title in (("personal_statement", "Personal statement"), ("cv", "Curriculum vitae")):
            _upload(a.session, f"{apps}/applicants/{a.applicant_id}/documents",
                    {"kind": kind, "filename": f"{kind}.pdf"}, _pdf(title, a.name), _ok)
        for n in range(3):
            writer = f"dr.writer{n + 1}.{a.body['last_name'].lower()}@letters.caspr.example"
            r = _ok(a.session.post(f"{apps}/applicants/{a.applicant_id}/letters", json={
                "writer_name": f"Dr. Writer {n + 1}", "writer_email": writer,
                "label": ("clinical", "academic", "residency director")[n], "waived": True}, timeout=TIMEOUT))
            letters.append((r.json()["letter_id"], writer))
    # the writers answer through the link emailed to them (no sign-in)
    for letter_id, writer in letters:
        token = next(m.group(1) for msg in stack.outbox(writer) for m in [LETTER_LINK.search(msg["body"])] if m)
        q = {"token": token}
        _ok(requests.post(f"{apps}/letters/{letter_id}/response", params=q, json={"accept": True}, timeout=TIMEOUT))
        form = _ok(requests.post(f"{apps}/letters/{letter_id}/upload", params=q, timeout=TIMEOUT)).json()["upload"]
        _ok(_post_form(form, _pdf("Letter of recommendation", writer)))
        _ok(requests.post(f"{apps}/letters/{letter_id}/completion", params=q, timeout=TIMEOUT))
    for a in applicants:
        _ok(a.session.post(f"{apps}/applicants/{a.applicant_id}/submission", timeout=TIMEOUT))
        college = a.body["college"]
        if college in colleges:
            _ok(colleges[college].put(f"{apps}/colleges/{college}/students/{a.applicant_id}/record",
                                      json=demo_college_record(a.index), timeout=TIMEOUT))

    # S3 at scores_uploaded: every paid applicant passed Part I (A3: may apply), then designates (A5)
    stack.move_clock(parse_instant(DEMO_SCORES_AT))
    rows = "".join(f"00{7000000 + a.index:07d},{a.body['cms_id']},part1,2023-07-18,pass\n" for a in applicants)
    _ok(admin.post(f"{base}/scores/seasons/{DEMO_SEASON}/results", data=("att_number,cms_id,exam,exam_date,result\n"
                                                                         + rows).encode(),
                   headers={"Content-Type": "text/csv"}, timeout=300))
    stack.settle()
    for a in applicants:
        for code in demo_designations(a.index):
            _ok(a.session.post(f"{apps}/applicants/{a.applicant_id}/designations", json={"program_code": code},
                               headers={"Idempotency-Key": f"demo-{a.applicant_id}-{code}"}, timeout=TIMEOUT))

    # applications_delivered, then invitations_open: the desks fill, interviews may be scheduled
    stack.move_clock(parse_instant(DEMO_NOW))
    _interviews(stack, programs[DEMO_INTERVIEW_PROGRAM], applicants, _ok)
    stack.settle()


def _interviews(stack, program: requests.Session, applicants: list[SeededApplicant], ok) -> None:
    plan = demo_interviews()
    base = f"{stack.url}/interviews/programs/{DEMO_INTERVIEW_PROGRAM}"
    type_id = ok(program.post(f"{base}/types", json=plan["type"], timeout=TIMEOUT)).json()["type_id"]
    events = [ok(program.post(f"{base}/events", json={"type_id": type_id, **e}, timeout=TIMEOUT)).json()["event_id"]
              for e in plan["events"]]
    invitations = []
    for a in applicants[:plan["invited"]]:
        r = ok(program.post(f"{base}/invitations", json={"applicant_id": a.applicant_id, "type_ids": [type_id],
                                                         "message": plan["message"]}, timeout=TIMEOUT))
        invitations.append((a, r.json()["invitation_id"]))
    first, invitation_id = invitations[0]
    ok(first.session.post(f"{stack.url}/interviews/invitations/{invitation_id}/bookings",
                          json={"type_id": type_id, "event_id": events[0]},
                          headers={"Idempotency-Key": f"demo-booking-{first.applicant_id}"}, timeout=TIMEOUT))


def _pdf(title: str, who: str) -> bytes:
    """A small generated PDF (the packet's own text PDF writer)."""
    from applications.adapters.packet import text_pdf

    return text_pdf([f"{title} of {who}", "", "Generated for the CASPR demo season."], title=title)


def _upload(session: requests.Session, url: str, body: dict, pdf: bytes, ok) -> None:
    """Offer, the browser's POST to the presigned form, completion (A1)."""
    r = ok(session.post(url, json={**body, "size": len(pdf)}, timeout=TIMEOUT)).json()
    ok(_post_form(r["upload"], pdf))
    ok(session.post(f"{url}/{r['document_id']}/completion", timeout=TIMEOUT))


def _post_form(form: dict, body: bytes) -> requests.Response:
    return requests.post(form["url"], data=form["fields"], files={"file": ("file.pdf", body, "application/pdf")},
                         timeout=TIMEOUT)
