"""No personal data in log lines (names, emails, Code Numbers, event bodies): an unexpected
error is logged by its class and where it was raised, never its message; an email SES
refuses is reported by its error code, never SES's message (which quotes the address)."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError
from chalice import Chalice
from chalice.test import Client

from shared import web
from shared.email import Email, EmailNotSent, SesMailer
from shared.web import PUBLIC, ApiBlueprint, error_summary
from tests.fakes import FakeVerifier

PACKAGE = "caspr_log_privacy_test"
PERSONAL = ("jane.doe@example.org", "Jane Doe", "12345")


@pytest.fixture(scope="module")
def app():
    bp = ApiBlueprint(f"{PACKAGE}.api", tag="test", verifier=lambda: FakeVerifier({}))

    @bp.endpoint("/boom", "POST", summary="fails", roles=PUBLIC)
    def boom():
        raise ValueError("applicant Jane Doe <jane.doe@example.org> code number 12345")

    application = Chalice(app_name=PACKAGE)
    application.register_blueprint(bp)
    yield application
    ApiBlueprint.all.pop(PACKAGE, None)


def test_an_unexpected_error_is_logged_without_its_message(app, monkeypatch):
    logged = []
    monkeypatch.setattr(web.logger, "error", lambda msg, extra=None, **kw: logged.append((msg, extra)))
    monkeypatch.setattr(web.logger, "exception", lambda *a, **kw: pytest.fail("logged the exception's message"))
    with Client(app) as client:
        r = client.http.post("/boom", body="{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 500
    [(message, extra)] = logged
    assert extra["error_type"] == "ValueError" and extra["error_ref"] in r.json_body["detail"]
    assert any("in boom" in frame for frame in extra["stack"])
    text = f"{message} {extra}"
    assert not any(p in text for p in PERSONAL)


def test_error_summary_names_class_and_place_only():
    try:
        raise KeyError("jane.doe@example.org")
    except KeyError as exc:
        summary = error_summary(exc)
    assert summary["error_type"] == "KeyError"
    assert summary["stack"] and summary["stack"][-1].startswith("shared/test_shared_log_privacy.py:")
    assert "jane" not in str(summary)


class _RefusingSes:
    def send_email(self, **kw):
        raise ClientError({"Error": {"Code": "MessageRejected",
                                     "Message": "Email address is not verified. The following identities failed "
                                                "the check in region US-EAST-1: jane.doe@example.org"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendEmail")


def test_an_email_ses_refuses_is_reported_by_its_code_not_the_address(caplog):
    mailer = SesMailer("no-reply@caspr.example", client=_RefusingSes())
    mail = {"to": PERSONAL[0], "subject": "Your Code Number", "body": PERSONAL[2]}  # as the outbox holds it
    with pytest.raises(EmailNotSent) as refused:
        mailer.send(Email(to=mail["to"], subject=mail["subject"], body=mail["body"]))
    assert str(refused.value) == "SES did not send the email (MessageRejected)"
    assert refused.value.retryable is False
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    logger = logging.getLogger("caspr.test")
    with caplog.at_level(logging.ERROR):
        logger.exception("outbox relay: delivery failed", exc_info=refused.value)
    assert "jane.doe" not in caplog.text and "MessageRejected" in caplog.text
