"""Property-based API tests (schemathesis 4) of the /auth and /registration operations,
generated from the stack's own /openapi.json: whatever the input (valid or not), the
answer is never a 5xx, and every refusal is RFC 9457 problem+json with a `detail`
(DESIGN: "Never a 500 for bad input"). One pass signed in as an administrator, one as an
applicant; a bounded number of examples per operation keeps it to a few minutes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from .problem_checks import CHECKS

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 25
OPERATIONS = r"^/(auth|registration)/"




@pytest.fixture(scope="module")
def api_schema(stack):
    loaded = schemathesis.openapi.from_url(f"{stack.url}/openapi.json", timeout=30)
    # Methods a path does not declare are probed too (405 problem+json expected)
    loaded.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "options", "patch",
                                                        "trace"}
    return loaded


@pytest.fixture(scope="module")
def admin_headers(stack):
    return {"Authorization": stack.admin.headers["Authorization"]}


@pytest.fixture(scope="module")
def applicant_headers(stack):
    session, _account = stack.new_account("applicant")
    return {"Authorization": session.headers["Authorization"]}


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=OPERATIONS)
bounded = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))


@schema.parametrize()
@bounded
def test_schemathesis_as_admin_no_5xx_and_problem_json(case, admin_headers):
    case.call_and_validate(headers=admin_headers, checks=CHECKS, timeout=60)


@schema.parametrize()
@bounded
def test_schemathesis_as_applicant_no_5xx_and_problem_json(case, applicant_headers):
    case.call_and_validate(headers=applicant_headers, checks=CHECKS, timeout=60)


def test_schemathesis_covers_auth_and_registration(api_schema):
    """The generated tests really reach the operations of the contract (not an empty filter)."""
    labels = {op.ok().label for op in api_schema.include(path_regex=OPERATIONS).get_all_operations()}
    for expected in ("POST /auth/accounts", "POST /auth/token", "POST /registration/applicants",
                     "POST /registration/applicants/{applicant_id}/payments", "GET /registration/programs",
                     "PUT /registration/seasons/{season}"):
        assert expected in labels, (expected, sorted(labels))
    assert not any(label.split(" ", 1)[1].startswith(("/scores", "/match", "/interviews", "/applications"))
                   for label in labels)
