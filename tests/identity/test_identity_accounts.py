"""Who may create which account (/auth)."""

import pytest

from identity.domain.accounts import plan_account
from shared.auth import Principal
from shared.errors import Forbidden, ValidationFailed

ADMIN = Principal(sub="a", username="admin@x", role="admin", groups=frozenset({"admin"}))
APPLICANT = Principal(sub="b", username="b@x", role="applicant", groups=frozenset({"applicant"}))


def test_applicant_signs_up_without_a_token():
    account = plan_account(" Ada@Example.org ", "secret123", None, None, None, None)
    assert account.role == "applicant"
    assert account.email == "ada@example.org"
    assert account.groups == ("applicant",)
    assert account.verified is False  # until the emailed link is opened


def test_accounts_an_administrator_creates_are_vouched_for():
    assert plan_account("x@y.org", "secret123", "applicant", None, None, ADMIN).verified is True
    assert plan_account("p@y.org", "secret123", "program", "123", None, ADMIN).verified is True


@pytest.mark.parametrize("role", ["program", "college", "admin"])
def test_only_an_administrator_creates_privileged_accounts(role):
    with pytest.raises(Forbidden):
        plan_account("x@y.org", "secret123", role, "123", "TUSPM", None)
    with pytest.raises(Forbidden):
        plan_account("x@y.org", "secret123", role, "123", "TUSPM", APPLICANT)


def test_program_account_belongs_to_its_program_code():
    account = plan_account("p@y.org", "secret123", "program", "123", None, ADMIN)
    assert account.groups == ("program", "program-123")
    with pytest.raises(ValidationFailed) as err:
        plan_account("p@y.org", "secret123", "program", "12", None, ADMIN)
    assert err.value.errors[0].field == "program_code"


def test_program_code_only_with_program_role():
    with pytest.raises(ValidationFailed):
        plan_account("p@y.org", "secret123", "admin", "123", None, ADMIN)


def test_college_account_needs_its_college():
    assert plan_account("c@y.org", "secret123", "college", None, "tuspm", ADMIN).groups == ("college", "college-TUSPM")
    with pytest.raises(ValidationFailed):
        plan_account("c@y.org", "secret123", "college", None, None, ADMIN)
