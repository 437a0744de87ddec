"""Settings from the environment. Resource names derive from the stage so that all
services can share one process (the local stack) without per-service env vars.

Production settings fail closed: outside the `local` stage (what `make run` and the tests
use) a missing signing key, administrator alert recipient, public base URL of email links
or payment provider stops the function at start (`Settings.from_env` raises
`SettingsError` naming the setting) and `make package` (scripts/package.py calls
`production_problems`) instead of falling back to a local default. The email-link signing
key is never a value in the code, the environment or a template outside `local`: the
functions get the NAME of an SSM SecureString (`/caspr/<stage>/link-secret`, which
`make deploy` creates or reads) or of a Secrets Manager secret, and shared.links reads the
value on first use."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

SERVICES = ("registration", "applications", "scores", "interviews", "match")

LOCAL_STAGE = "local"
TEST_PAYMENT_PROVIDER = "test"  # registration.adapters.payments.LocalTestProvider (a card processor's test mode)
TEST_PAYMENT_STAGES = ("local", "dev")  # where the test-mode provider may take "payments"
LOCAL_LINK_SECRET = "local-development-link-secret"  # the key itself, accepted in stage local only
LOCAL_ADMIN_ALERT_EMAIL = "admin@caspr.local"
LOCAL_PUBLIC_BASE_URL = "http://127.0.0.1:8000"

# the settings that fail closed: environment variable -> what it is
LINK_SECRET_SETTING = "CASPR_LINK_SECRET_NAME"
ADMIN_ALERT_SETTING = "CASPR_ADMIN_ALERT_EMAIL"
PUBLIC_BASE_URL_SETTING = "CASPR_PUBLIC_BASE_URL"
PAYMENT_PROVIDER_SETTING = "CASPR_PAYMENT_PROVIDER"
REQUIRED_SETTINGS = {
    LINK_SECRET_SETTING: "the email-link signing key: the name of an SSM SecureString parameter "
                         "(e.g. /caspr/<stage>/link-secret, which `make deploy` creates) or a Secrets Manager "
                         "secret ARN",
    ADMIN_ALERT_SETTING: "the administrator alert recipient(s), comma-separated email addresses "
                         "(also read from CASPR_MATCH_ALERT_EMAIL or CASPR_ADMIN_EMAIL)",
    PUBLIC_BASE_URL_SETTING: "the public base URL of email links, e.g. https://api.caspr.example",
    PAYMENT_PROVIDER_SETTING: f"the payment provider ({TEST_PAYMENT_PROVIDER!r}, the test mode, is allowed in "
                              f"stages {', '.join(TEST_PAYMENT_STAGES)} only)",
}

T = TypeVar("T")


class SettingsError(RuntimeError):
    """A production setting is missing or refused: the function must not start."""


def link_secret_parameter(stage: str) -> str:
    """The SSM SecureString `make deploy` creates (random value) or reads for a stage."""
    return f"/caspr/{stage}/link-secret"


def is_secret_reference(name: str) -> bool:
    """True when the link secret setting names where the key is kept (SSM parameter or
    Secrets Manager secret), not the key itself."""
    return name.startswith(("/", "arn:aws:ssm:", "arn:aws:secretsmanager:", "arn:aws-"))


def payment_provider_allowed(stage: str, provider: str = TEST_PAYMENT_PROVIDER) -> bool:
    """The test-mode provider takes no money: refused outside local/dev. Whether another
    provider is wired is the payments' wiring point's to say (registration's bootstrap,
    through Settings.payment_provider_for: none is yet, so it refuses to start with one)."""
    if not provider:
        return False
    return provider != TEST_PAYMENT_PROVIDER or stage in TEST_PAYMENT_STAGES


def admin_alert_email(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (env.get(ADMIN_ALERT_SETTING) or env.get("CASPR_MATCH_ALERT_EMAIL") or env.get("CASPR_ADMIN_EMAIL")
            or "").strip()


def production_problems(stage: str, env: Mapping[str, str] | None = None) -> list[str]:
    """What is missing or refused for `stage` in `env` (empty in stage local: its defaults
    are the local stack's). Each problem names its environment variable."""
    env = os.environ if env is None else env
    if stage == LOCAL_STAGE:
        return []
    problems = []
    secret = (env.get(LINK_SECRET_SETTING) or "").strip()
    if not secret:
        problems.append(f"{LINK_SECRET_SETTING} is not set: "
                        + REQUIRED_SETTINGS[LINK_SECRET_SETTING].replace("<stage>", stage))
    elif not is_secret_reference(secret):
        problems.append(f"{LINK_SECRET_SETTING} must name an SSM SecureString (/...) or a Secrets Manager secret "
                        f"(arn:...), never hold the key itself, outside stage {LOCAL_STAGE}")
    if (env.get("CASPR_LINK_SECRET") or "").strip():
        problems.append(f"CASPR_LINK_SECRET (a signing key value in the environment) is refused outside stage "
                        f"{LOCAL_STAGE}: use {LINK_SECRET_SETTING}")
    if not admin_alert_email(env):
        problems.append(f"{ADMIN_ALERT_SETTING} is not set: {REQUIRED_SETTINGS[ADMIN_ALERT_SETTING]}")
    url = (env.get(PUBLIC_BASE_URL_SETTING) or "").strip()
    if not url:
        problems.append(f"{PUBLIC_BASE_URL_SETTING} is not set: {REQUIRED_SETTINGS[PUBLIC_BASE_URL_SETTING]}")
    elif not url.startswith(("https://", "http://")):
        problems.append(f"{PUBLIC_BASE_URL_SETTING}={url!r} is not an http(s) URL")
    provider = (env.get(PAYMENT_PROVIDER_SETTING) or "").strip()
    if not provider:
        problems.append(f"{PAYMENT_PROVIDER_SETTING} is not set: {REQUIRED_SETTINGS[PAYMENT_PROVIDER_SETTING]}")
    elif not payment_provider_allowed(stage, provider):
        problems.append(f"{PAYMENT_PROVIDER_SETTING}={provider!r} is refused in stage {stage}: "
                        f"the test-mode provider takes no money (allowed in {', '.join(TEST_PAYMENT_STAGES)})")
    return problems


def require_production_settings(stage: str, env: Mapping[str, str] | None = None) -> None:
    problems = production_problems(stage, env)
    if problems:
        raise SettingsError(f"stage {stage}: refusing to start without its production settings: "
                            + "; ".join(problems))


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
    link_secret_name: str  # where the email-link key is kept (shared.links reads it); local: the key itself
    public_base_url: str
    scheduler_role_arn: str
    scheduler_group: str
    account_id: str
    admin_alert_email: str = LOCAL_ADMIN_ALERT_EMAIL  # comma-separated
    payment_provider: str = TEST_PAYMENT_PROVIDER

    def payment_provider_for(self, provider: str, factory: Callable[[], T]) -> T:
        """The payment provider `factory` builds, if it is the configured one and this stage
        allows it; else SettingsError (the function does not start)."""
        if self.payment_provider != provider:
            raise SettingsError(f"{PAYMENT_PROVIDER_SETTING}={self.payment_provider!r}: no such provider is wired "
                                f"in this build (it has {provider!r})")
        if not payment_provider_allowed(self.stage, provider):
            raise SettingsError(f"{PAYMENT_PROVIDER_SETTING}={provider!r} is refused in stage {self.stage}: the "
                                f"test-mode provider takes no money (allowed in {', '.join(TEST_PAYMENT_STAGES)})")
        return factory()

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
        """The settings of this process; outside stage local, refuses (SettingsError naming
        it) to go on without a production setting."""
        env = os.environ
        stage = env.get("CASPR_STAGE", "local")
        require_production_settings(stage, env)
        local = stage == LOCAL_STAGE
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
            link_secret_name=(env.get(LINK_SECRET_SETTING) or (env.get("CASPR_LINK_SECRET") if local else None)
                              or LOCAL_LINK_SECRET).strip(),
            public_base_url=(env.get(PUBLIC_BASE_URL_SETTING) or LOCAL_PUBLIC_BASE_URL).strip(),
            scheduler_role_arn=env.get(
                "CASPR_SCHEDULER_ROLE_ARN",
                f"arn:aws:iam::{env.get('CASPR_ACCOUNT_ID', '123456789012')}:role/{resource_name(stage, 'scheduler')}",
            ),
            scheduler_group=env.get("CASPR_SCHEDULER_GROUP", resource_name(stage, "calendar")),
            account_id=env.get("CASPR_ACCOUNT_ID", "123456789012"),
            admin_alert_email=admin_alert_email(env) or LOCAL_ADMIN_ALERT_EMAIL,
            payment_provider=(env.get(PAYMENT_PROVIDER_SETTING) or TEST_PAYMENT_PROVIDER).strip(),
        )
