"""R2 payments are idempotent request handlers: with the Lambda context of the request
registered, an "in progress" record expires with the invocation, so a payment whose function
died mid-way is not refused as "in progress" for a day but taken up by the client's retry."""

from __future__ import annotations

import boto3
import pytest
from test_registration_api import GOOD_CARD, pay, register, season  # noqa: F401  (season: a fixture)

from shared.runtime import LAMBDA_CONTEXT

pytestmark = [pytest.mark.integration]


class FakeLambdaContext:
    function_name = "registration-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:registration-api"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def idempotency_records() -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName="caspr-local-registration")["Items"]
    return [i for i in items if i["pk"]["S"] == "idempotency#registration"]


@pytest.mark.parametrize("with_context", [True, False])
def test_r2_a_payment_registers_the_requests_lambda_context(api, reg, season, with_context):  # noqa: F811
    from registration import handlers

    applicant_id, token = register(api, reg)
    principal = reg.verifier.verify(token)
    context = LAMBDA_CONTEXT.set(FakeLambdaContext() if with_context else None)
    try:
        result = handlers.pay_registration(reg, principal, applicant_id, idempotency_key="k-ctx",
                                           amount_cents=55_000, card_number=GOOD_CARD)
    finally:
        LAMBDA_CONTEXT.reset(context)
    assert result["status"] == "succeeded"
    [record] = idempotency_records()
    assert ("in_progress_expiration" in record) is with_context
    assert pay(api, token, applicant_id, key="k-ctx").status_code in (200, 201)  # the same answer again
