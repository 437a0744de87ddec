"""Production settings fail closed (shared.settings): outside stage local a function does not
start without the email-link signing key's name, the administrator alert recipient, the
public base URL or a payment provider it may use; stage local (the tests, `make run`) keeps
its defaults. The signing key is read by name from SSM (shared.links)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared import links
from shared.settings import (
    LOCAL_LINK_SECRET,
    Settings,
    SettingsError,
    payment_provider_allowed,
    production_problems,
)

PROD = {"CASPR_STAGE": "prod", "CASPR_LINK_SECRET_NAME": "/caspr/prod/link-secret",
        "CASPR_ADMIN_ALERT_EMAIL": "ops@caspr.example", "CASPR_PUBLIC_BASE_URL": "https://api.caspr.example",
        "CASPR_PAYMENT_PROVIDER": "card-processor"}
SETTINGS = ("CASPR_LINK_SECRET_NAME", "CASPR_LINK_SECRET", "CASPR_ADMIN_ALERT_EMAIL", "CASPR_MATCH_ALERT_EMAIL",
            "CASPR_ADMIN_EMAIL", "CASPR_PUBLIC_BASE_URL", "CASPR_PAYMENT_PROVIDER")


@pytest.fixture
def env(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)

    def set_env(values: dict[str, str]) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_a_function_start_in_stage_prod_without_the_signing_key_fails_naming_it(env):
    env({k: v for k, v in PROD.items() if k != "CASPR_LINK_SECRET_NAME"})
    with pytest.raises(SettingsError, match="CASPR_LINK_SECRET_NAME is not set"):
        Settings.from_env()


@pytest.mark.parametrize("missing", ["CASPR_ADMIN_ALERT_EMAIL", "CASPR_PUBLIC_BASE_URL", "CASPR_PAYMENT_PROVIDER"])
def test_a_function_start_in_stage_prod_names_each_missing_setting(env, missing):
    env({k: v for k, v in PROD.items() if k != missing})
    with pytest.raises(SettingsError, match=f"{missing} is not set"):
        Settings.from_env()


def test_a_function_start_in_stage_prod_with_every_setting_starts(env):
    env(PROD)
    s = Settings.from_env()
    assert (s.link_secret_name, s.admin_alert_email, s.public_base_url, s.payment_provider) == (
        "/caspr/prod/link-secret", "ops@caspr.example", "https://api.caspr.example", "card-processor")


def test_outside_local_a_signing_key_value_is_refused_only_its_name_is_taken(env):
    env({**PROD, "CASPR_LINK_SECRET_NAME": "the-key-itself"})
    with pytest.raises(SettingsError, match="CASPR_LINK_SECRET_NAME must name an SSM SecureString"):
        Settings.from_env()
    env({**PROD, "CASPR_LINK_SECRET": "the-key-itself"})
    with pytest.raises(SettingsError, match="CASPR_LINK_SECRET .* is refused"):
        Settings.from_env()


def test_the_test_payment_provider_is_refused_outside_local_and_dev(env):
    assert payment_provider_allowed("local") and payment_provider_allowed("dev")
    assert not payment_provider_allowed("prod") and not payment_provider_allowed("staging")
    env({**PROD, "CASPR_PAYMENT_PROVIDER": "test"})
    with pytest.raises(SettingsError, match="CASPR_PAYMENT_PROVIDER='test' is refused in stage prod"):
        Settings.from_env()
    env({**PROD, "CASPR_STAGE": "dev", "CASPR_PAYMENT_PROVIDER": "test"})
    assert Settings.from_env().payment_provider_for("test", lambda: "provider") == "provider"


def test_registration_refuses_a_provider_it_does_not_have(env):
    env(PROD)  # "card-processor" is configured, but only the test-mode provider is wired
    with pytest.raises(SettingsError, match="CASPR_PAYMENT_PROVIDER='card-processor': no such provider"):
        Settings.from_env().payment_provider_for("test", lambda: "provider")


def test_stage_local_keeps_its_defaults(env):
    env({"CASPR_STAGE": "local"})
    s = Settings.from_env()
    assert s.link_secret_name == LOCAL_LINK_SECRET
    assert s.public_base_url == "http://127.0.0.1:8000"
    assert s.admin_alert_email == "admin@caspr.local"
    assert s.payment_provider_for("test", lambda: "provider") == "provider"
    assert production_problems("local", {}) == []


def test_the_alert_recipient_is_also_read_from_the_older_names(env):
    env({"CASPR_STAGE": "local", "CASPR_MATCH_ALERT_EMAIL": "a@x.example,b@x.example"})
    assert Settings.from_env().admin_alert_email == "a@x.example,b@x.example"
    env({**PROD, "CASPR_ADMIN_ALERT_EMAIL": "", "CASPR_MATCH_ALERT_EMAIL": "", "CASPR_ADMIN_EMAIL": "root@x.example"})
    assert Settings.from_env().admin_alert_email == "root@x.example"


def test_links_read_the_signing_key_by_name_from_ssm_once(monkeypatch):
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(links, "_keys", {})
    now = datetime(2024, 1, 1, tzinfo=UTC)
    with mock_aws():
        import boto3

        with pytest.raises(SettingsError, match="/caspr/prod/link-secret"):
            links.sign("/caspr/prod/link-secret", "verify-email", {"sub": "u1"}, now=now, ttl=timedelta(days=1))
        key = "k" * 48
        boto3.client("ssm").put_parameter(Name="/caspr/prod/link-secret", Type="SecureString", Value=key)
        token = links.sign("/caspr/prod/link-secret", "verify-email", {"sub": "u1"}, now=now, ttl=timedelta(days=1))
    # signed with the stored key (and no second read: the emulator is gone)
    assert links.verify(key, "verify-email", token, now=now)["sub"] == "u1"
    assert links.verify("/caspr/prod/link-secret", "verify-email", token, now=now)["sub"] == "u1"
