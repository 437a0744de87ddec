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


class SesMailer(Mailer):
    def __init__(self, sender: str, client=None):
        import boto3

        self.sender = sender
        self._client = client or boto3.client("ses")

    def send(self, email: Email) -> None:
        self._client.send_email(
            Source=self.sender,
            Destination={"ToAddresses": [email.to]},
            Message={"Subject": {"Data": email.subject}, "Body": {"Text": {"Data": email.body}}},
        )


class RecordingMailer(Mailer):
    def __init__(self):
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        self.sent.append(email)
