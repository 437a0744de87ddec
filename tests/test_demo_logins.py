"""Every demo login is printed by `make run` and listed in the README (issue 12): the accounts
caspr_local/demo.py seeds, each with its password, in the banner and in README.md's table."""

from __future__ import annotations

from pathlib import Path

from caspr_local.__main__ import banner
from caspr_local.demo import demo_accounts, demo_applicants, demo_programs
from caspr_local.seed import demo_banner

README = Path(__file__).resolve().parents[1] / "README.md"


def test_demo_accounts_are_every_account_the_demo_seeds():
    accounts = demo_accounts()
    emails = [a["email"] for a in accounts]
    assert len(emails) == len(set(emails))
    assert {a["email"] for a in accounts if a["role"] == "applicant"} == {a["email"] for a in demo_applicants()}
    assert {a["program_code"] for a in accounts if a["role"] == "program"} == \
        {p["program_code"] for p in demo_programs()}
    assert {a["role"] for a in accounts} == {"applicant", "program", "college"}
    assert len(accounts) >= 8 + 4 + 1


def test_the_banner_prints_every_demo_login_with_its_password():
    text = banner("http://127.0.0.1:8000", "2023-07-24T16:00:00+00:00",
                  {"email": "admin@caspr.example", "password": "Admin-x", "demo": demo_banner()})
    assert "admin@caspr.example / Admin-x" in text
    for a in demo_accounts():
        assert f"{a['email']} / {a['password']}" in text, a
    assert "README.md" in text


def test_the_readme_lists_every_demo_login_with_its_password():
    rows = [line for line in README.read_text().splitlines() if line.startswith("| ")]
    for a in demo_accounts():
        assert any(f"`{a['email']}`" in r and f"`{a['password']}`" in r for r in rows), a
    assert any("`admin@caspr.example`" in r for r in rows)
