"""Outgoing email (SES). Locally SES is moto's and the local stack shows the outbox."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


class Mailer(ABC):
    @abstractmethod
    def send(self, email: Email) -> None: ...


class EmailNotSent(RuntimeError):
    """SES refused or failed an email. Names the error code only: SES's own messages quote the
    addresses ("... identities failed the check: someone@example.org"), and whoever catches
    this logs it (the outbox relay and sweep do): no personal data in log lines."""

    def __init__(self, code: str, retryable: bool):
        super().__init__(f"SES did not send the email ({code})")
        self.code = code
        self.retryable = retryable


class SesMailer(Mailer):
    def __init__(self, sender: str, client=None):
        import boto3

        self.sender = sender
        self._client = client or boto3.client("ses")

    def send(self, email: Email) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [email.to]},
                Message={"Subject": {"Data": email.subject}, "Body": {"Text": {"Data": email.body}}},
            )
        except ClientError as exc:  # the message (and the request in the chained traceback) names the recipient
            code = str(exc.response.get("Error", {}).get("Code") or "ClientError")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            raise EmailNotSent(code, retryable=status >= 500 or code in ("Throttling", "ThrottlingException")) \
                from None
        except BotoCoreError as exc:  # connection errors and the like: no address in them, but no chain either
            raise EmailNotSent(type(exc).__name__, retryable=True) from None


class RecordingMailer(Mailer):
    def __init__(self):
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        self.sent.append(email)
