"""The running local stack, shared by every e2e test of the session (one process can
host one: moto's backends are process-wide). The clock only moves forward, so a test
makes its own season whose calendar starts after the current local time
(`season` fixture / `Stack.new_season`), and never depends on another test's data."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest
import requests

from caspr_local.seed import VERIFICATION_LINK
from caspr_season.calendar import season_calendar
from shared.clock import iso, parse_instant

pytestmark = pytest.mark.e2e

_seasons = itertools.count(1)
LINK = VERIFICATION_LINK


def verification_link(messages: list[dict]) -> str:
    links = [m for msg in messages for m in LINK.findall(msg["body"])]
    assert links, f"no confirmation link in {messages}"
    return links[-1]


class Stack:
    def __init__(self, local_stack, admin: dict):
        self.local = local_stack
        self.url = local_stack.url
        self.admin_email = admin["email"]
        self.admin_password = admin["password"]
        self.admin = self.session(self.token(self.admin_email, self.admin_password))

    # --- accounts ----------------------------------------------------------------------
    def token(self, email: str, password: str) -> str:
        r = requests.post(f"{self.url}/auth/token", json={"email": email, "password": password}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def session(self, token: str | None = None) -> requests.Session:
        s = requests.Session()
        if token:
            s.headers["Authorization"] = f"Bearer {token}"
        return s

    def new_account(self, role: str = "applicant", **extra) -> tuple[requests.Session, dict]:
        email = f"{role}-{uuid.uuid4().hex[:10]}@test.caspr"
        password = f"Pw-{uuid.uuid4().hex[:8]}1"
        body = {"email": email, "password": password, **extra}
        if role != "applicant":
            body["role"] = role
            r = self.admin.post(f"{self.url}/auth/accounts", json=body, timeout=30)
        else:
            r = requests.post(f"{self.url}/auth/accounts", json=body, timeout=30)
            assert r.status_code == 201, r.text
            self.confirm_email(email)
        assert r.status_code == 201, r.text
        return self.session(self.token(email, password)), {"email": email, "password": password, **r.json()}

    def confirm_email(self, email: str) -> None:
        """Opens the confirmation link emailed at sign-up, as the person would."""
        link = verification_link(self.local.outbox(email))
        r = requests.get(link, timeout=30)
        assert r.status_code == 200, r.text

    # --- time --------------------------------------------------------------------------
    def now(self):
        return parse_instant(requests.get(f"{self.url}/_local/clock", timeout=30).json()["now"])

    def move_clock(self, when) -> dict:
        r = requests.post(f"{self.url}/_local/clock", json={"now": iso(when)}, timeout=120)
        assert r.status_code == 200, r.text
        return r.json()

    def calendar(self, start=None, far_after: str | None = None) -> dict:
        """`far_after`: every instant after that key is 20 years later (same order). A test with
        a thousand applicants uses it: the later instants of its season (S2's emails, S5's
        withdrawals, I8's refunds) would otherwise fire inside the next test that moves the
        shared clock, and that test would wait behind thousands of their events."""
        return season_calendar((start or self.now()) - timedelta(minutes=1), far_after)  # registration open

    def new_season(self, start=None, far_after: str | None = None) -> tuple[str, dict]:
        """A season of its own (id unique in this session), calendar set by the administrator."""
        season = f"{2100 + next(_seasons)}"
        cal = self.calendar(start, far_after)
        r = self.admin.put(f"{self.url}/registration/seasons/{season}", json=cal, timeout=30)
        assert r.status_code in (200, 201), r.text
        return season, cal

    def at(self, calendar: dict, key: str, plus=timedelta(minutes=1)) -> dict:
        """Moves the clock just past a calendar instant (and lets its events settle)."""
        return self.move_clock(parse_instant(calendar[key]) + plus)


@pytest.fixture(scope="session")
def stack():
    from caspr_local.host import LocalStack
    from caspr_local.seed import create_admin

    local = LocalStack(port=0).start()
    admin = create_admin(local)
    try:
        yield Stack(local, admin)
    finally:
        local.stop()


@pytest.fixture
def season(stack):
    return stack.new_season()
