"""What every service's bootstrap needs from the platform, built once per process from
the settings. Services add their own adapters on top (services/<name>/<name>/bootstrap.py)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property

from shared.auth import TokenVerifier
from shared.clock import Clock, default_clock
from shared.email import Mailer, SesMailer
from shared.events import EventBridgePublisher, EventPublisher
from shared.settings import Settings

# The Lambda context of the request being handled (shared.web sets it around each route):
# idempotent request handlers register it, so powertools expires an "in progress" record with
# the invocation (a request whose function died is not refused as in progress for long).
LAMBDA_CONTEXT: ContextVar[object | None] = ContextVar("caspr_lambda_context", default=None)


@dataclass
class Platform:
    settings: Settings
    clock: Clock

    @cached_property
    def publisher(self) -> EventPublisher:
        return EventBridgePublisher(self.settings.event_bus)

    @cached_property
    def mailer(self) -> Mailer:
        return SesMailer(self.settings.email_sender)

    @cached_property
    def verifier(self) -> TokenVerifier:
        s = self.settings
        return TokenVerifier(issuer=s.token_issuer, client_id=s.user_pool_client_id, jwks_url=s.jwks_url)

    def outbox(self, service: str):
        """The relay of the service's outbox (shared.relay), delivering through this platform."""
        from shared.adapters.outbox import Outbox

        return Outbox(service, self.publisher, self.mailer, self.clock.now)

    @cached_property
    def dynamodb_client(self):
        """One boto3 DynamoDB client for the process (clients are thread-safe; making one loads the
        service model and the endpoint rules again, ~50-100 ms of CPU)."""
        import boto3

        return boto3.session.Session().client("dynamodb")

    def idempotency_store(self, service: str):
        """powertools idempotency records live in the service's own table. A new layer per use (powertools
        configures a layer with the name of the function it guards, so two functions must not share one
        at once), all on the platform's one client."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(
            table_name=self.settings.table_name(service), key_attr="pk", sort_key_attr="sk",
            static_pk_value=f"idempotency#{service}", boto3_client=self.dynamodb_client,
        )


def default_platform() -> Platform:
    return Platform(settings=Settings.from_env(), clock=default_clock())
