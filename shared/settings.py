"""Settings from the environment. Resource names derive from the stage so that all
services can share one process (the local stack) without per-service env vars."""

from __future__ import annotations

import os
from dataclasses import dataclass

SERVICES = ("registration", "applications", "scores", "interviews", "match")


def resource_name(stage: str, *parts: str) -> str:
    return "-".join(("caspr", stage, *parts))


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    event_bus: str
    user_pool_id: str
    user_pool_client_id: str
    jwks_url: str
    token_issuer: str
    email_sender: str
    link_secret_name: str
    public_base_url: str
    scheduler_role_arn: str
    scheduler_group: str
    account_id: str

    @property
    def event_bus_arn(self) -> str:
        return f"arn:aws:events:{self.region}:{self.account_id}:event-bus/{self.event_bus}"

    def table_name(self, service: str) -> str:
        return resource_name(self.stage, service)

    def queue_name(self, service: str) -> str:
        return resource_name(self.stage, service, "events")

    def dlq_name(self, service: str) -> str:
        return resource_name(self.stage, service, "events-dlq")

    def relay_dlq_name(self, service: str) -> str:
        """Where the outbox relay's event source mapping sends the pointer of a batch it gave up on."""
        return resource_name(self.stage, service, "relay-dlq")

    def table_stream_arn(self, service: str) -> str:
        """A placeholder naming the table's stream: `make package` replaces it with the real
        stream ARN (a shared stack output), the local stack reads the stream by table name."""
        return (f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{self.table_name(service)}"
                "/stream/caspr-placeholder")

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        stage = env.get("CASPR_STAGE", "local")
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        pool = env.get("CASPR_USER_POOL_ID", "")
        issuer = env.get("CASPR_TOKEN_ISSUER") or (
            f"https://cognito-idp.{region}.amazonaws.com/{pool}" if pool else ""
        )
        return cls(
            stage=stage,
            region=region,
            event_bus=env.get("CASPR_EVENT_BUS", resource_name(stage, "bus")),
            user_pool_id=pool,
            user_pool_client_id=env.get("CASPR_USER_POOL_CLIENT_ID", ""),
            jwks_url=env.get("CASPR_JWKS_URL") or (f"{issuer}/.well-known/jwks.json" if issuer else ""),
            token_issuer=issuer,
            email_sender=env.get("CASPR_EMAIL_SENDER", "no-reply@caspr.example"),
            link_secret_name=env.get("CASPR_LINK_SECRET", "local-development-link-secret"),
            public_base_url=env.get("CASPR_PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
            scheduler_role_arn=env.get(
                "CASPR_SCHEDULER_ROLE_ARN",
                f"arn:aws:iam::{env.get('CASPR_ACCOUNT_ID', '123456789012')}:role/{resource_name(stage, 'scheduler')}",
            ),
            scheduler_group=env.get("CASPR_SCHEDULER_GROUP", resource_name(stage, "calendar")),
            account_id=env.get("CASPR_ACCOUNT_ID", "123456789012"),
        )
