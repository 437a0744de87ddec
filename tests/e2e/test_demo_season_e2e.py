"""`make run`'s demo season (caspr_local/seed.py + demo_activity.py): the local stack started as
`make run` starts it (`python -m caspr_local`, its own process and port, not the shared e2e
stack: the demo moves its own clock), the banner printed once seeding is done, and then the demo
program sees a desk of delivered applications and a schedule with a booking — over the API and
on its landing page in Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from caspr_local.demo import (
    DEMO_INTERVIEW_PROGRAM,
    DEMO_NOW,
    demo_accounts,
    demo_applicant_pays,
    demo_applicants,
)
from shared.clock import parse_instant

from .test_pages_e2e import Tab, browser, sign_in  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
READY = "Press Ctrl-C to stop."
START_TIMEOUT = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo():
    """`make run` on a free port; yields (url, banner text) once the banner is printed."""
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "EMPTY": "", "CASPR_ADMIN_PASSWORD": "Admin-demo-e2e1"}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "caspr_local", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    started = time.monotonic()
    try:
        for line in proc.stdout:
            lines.append(line)
            if READY in line:
                break
        else:
            pytest.fail("make run ended before its banner:\n" + "".join(lines[-40:]))
        print(f"demo seeded in {time.monotonic() - started:.1f} s")
        yield f"http://127.0.0.1:{port}", "".join(lines)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _session(url: str, email: str, password: str) -> requests.Session:
    r = requests.post(f"{url}/auth/token", json={"email": email, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return s


def _account(label: str) -> dict:
    return next(a for a in demo_accounts() if a["label"] == label)


def test_the_demo_programs_desk_lists_the_seeded_applications_and_its_schedule(demo, browser):  # noqa: F811
    url, banner = demo
    assert "Demo season 2024" in banner and "program101@caspr.example / Program-101-demo1" in banner
    assert parse_instant(requests.get(f"{url}/_local/clock", timeout=30).json()["now"]) == parse_instant(DEMO_NOW)
    paid = sorted(a["last_name"] for i, a in enumerate(demo_applicants()) if demo_applicant_pays(i))

    program = _account(f"Program {DEMO_INTERVIEW_PROGRAM}")
    p = _session(url, program["email"], program["password"])
    rows = p.get(f"{url}/applications/programs/101/applications", params={"season": "2024"}, timeout=30).json()
    listed = rows["applications"]
    assert sorted(x["last_name"] for x in listed) == paid
    assert all(x["letters_received"] == 3 and x["gpa"] is not None for x in listed), listed
    one = p.get(f"{url}/applications/programs/101/applications/{listed[0]['applicant_id']}",
                params={"season": "2024"}, timeout=30).json()
    assert {d["kind"] for d in one["documents"]} >= {"personal_statement", "cv"} and len(one["letters"]) == 3
    packet = p.get(f"{url}/applications/programs/101/applications/{listed[0]['applicant_id']}/packet.pdf",
                   params={"season": "2024", "redirect": "false"}, timeout=60)
    assert packet.status_code == 200 and requests.get(packet.json()["url"], timeout=60).content.startswith(b"%PDF-")
    schedule = p.get(f"{url}/interviews/programs/101/schedule", timeout=30).json()["events"]
    assert len(schedule) == 3 and sum(len(e["bookings"]) for e in schedule) == 1
    # every other demo program has its applications too
    for code in ("102", "103", "104"):
        other = _account(f"Program {code}")
        got = _session(url, other["email"], other["password"]).get(
            f"{url}/applications/programs/{code}/applications", params={"season": "2024"}, timeout=30).json()
        assert got["applications"], code

    # the booked applicant sees its interview; a newcomer signing in as the program lands on its desk
    ada = _account("Applicant Ada Lovelace")
    mine = _session(url, ada["email"], ada["password"])
    me = mine.get(f"{url}/registration/applicants", timeout=30).json()
    applicant_id = me["applicants"][0]["applicant_id"]
    seen = mine.get(f"{url}/interviews/applicants/{applicant_id}/invitations", timeout=30).json()
    assert len(seen["invitations"]) == 1 and len(seen["bookings"]) == 1, seen

    tab = Tab(browser, url, "demo")
    try:
        sign_in(tab, program["email"], program["password"])
        tab.page.wait_for_selector("text=Lovelace", timeout=30_000)
        for last in paid:
            assert tab.page.locator(f"text={last}").count() >= 1, last
    finally:
        tab.close()

    # R7 through the stack's own wiring (registration's event -> bus rule -> applications' queue):
    # a new name after delivery reaches the row in every program she was delivered to
    r = mine.patch(f"{url}/registration/applicants/{applicant_id}", json={"last_name": "King"}, timeout=30)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = {x["applicant_id"]: x["last_name"] for x in p.get(
            f"{url}/applications/programs/101/applications", params={"season": "2024"},
            timeout=30).json()["applications"]}
        if names[applicant_id] == "King":
            break
        time.sleep(0.5)
    assert names[applicant_id] == "King", names
