"""Property-based API tests (schemathesis 4) of the /match operations, generated from the
stack's /openapi.json: whatever the input, never a 5xx, and every refusal is RFC 9457
problem+json with type, title, status and detail. One pass each as administrator,
program account and applicant; a few examples per operation keep it short."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from .problem_checks import CHECKS

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 8
OPERATIONS = r"^/match/"




@pytest.fixture(scope="module")
def match_schema(stack):
    loaded = schemathesis.openapi.from_url(f"{stack.url}/openapi.json", timeout=30)
    # TRACE and QUERY are answered 501 by the local gateway's http.server itself (a known gap
    # pinned by test_platform_e2e); every other undeclared method must be a 405 problem+json
    loaded.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "options", "patch"}
    return loaded


@pytest.fixture(scope="module")
def match_headers(stack):
    program, _ = stack.new_account("program", program_code="909")
    applicant, _ = stack.new_account("applicant")
    return {role: {"Authorization": s.headers["Authorization"]}
            for role, s in (("admin", stack.admin), ("program", program), ("applicant", applicant))}


schema = schemathesis.pytest.from_fixture("match_schema").include(path_regex=OPERATIONS)
bounded = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@bounded
def test_match_schemathesis_no_5xx_and_problem_json(case, match_headers):
    for headers in match_headers.values():
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)


def test_match_schemathesis_covers_the_match_api(match_schema):
    labels = {op.ok().label for op in match_schema.include(path_regex=OPERATIONS).get_all_operations()}
    for expected in ("PUT /match/seasons/{season}/applicants/{applicant_id}/rol",
                     "POST /match/seasons/{season}/tracks/{track_code}/rol/certification",
                     "PUT /match/seasons/{season}/mpii/tracks/{track_code}/rol", "POST /match/seasons/{season}/runs",
                     "GET /match/seasons/{season}/results/me", "GET /match/seasons/{season}/post-match"):
        assert expected in labels, (expected, sorted(labels))
