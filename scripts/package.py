"""`make package`: build everything `make deploy` ships, and lint it.

- one Lambda layer with the third-party dependencies (requirements-lambda.txt, built
  once for python3.13 / manylinux x86_64, reused while its inputs do not change);
- the shared stack (infra/stack.py `build_shared_template(stage)`);
- every service with `chalice package` into a SAM template + deployment.zip, from a
  temporary build dir holding app.py, .chalice/ and vendor/{shared,<service>} (the
  source tree is never written to); the generated template is then finished here:
  Runtime python3.13, the layer, the environment (template Parameters that
  `make deploy` fills from the shared stack's outputs), one least-privilege IAM
  policy per service, SQS event sources pointed at the shared stack's queue with
  ReportBatchItemFailures, the outbox relay's DynamoDB stream source (the table's stream,
  a filter for new outbox items, bounded retries, an on-failure queue), a CloudWatch alarm
  on each function's errors, and an optional API custom-domain base path mapping;
- the production settings checked first (shared.settings.production_problems): outside
  stages local and dev a missing email-link signing key name, administrator alert
  recipient, public base URL or payment provider fails the build, naming it;
- an optional custom-domain stack (domain.json) for one API hostname;
- a smoke test: each deployment.zip + the layer imported by python3.13 with no
  site-packages (what Lambda does on a cold start), every handler resolved;
- cfn-lint on all templates: any error fails the build; warnings are listed.

Output (``--out``, default build/package)::

    layer.zip  layer.json  shared.json  domain.json  manifest.json
    <service>/sam.json  <service>/deployment.zip

Why the runtime is post-processed rather than chalice run under python3.13: chalice
takes the runtime from the interpreter running it, and the project's virtualenv may
be 3.11-3.13; our requirements.txt files are empty (dependencies come from the layer,
built explicitly for cp313), so the interpreter running chalice changes nothing but
that one field, which we set. The smoke test then runs the real python3.13 on it.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES_DIR = ROOT / "services"
REQUIREMENTS = ROOT / "requirements-lambda.txt"
CONSTRAINTS = ROOT / "constraints.txt"

RUNTIME = "python3.13"
PYTHON_VERSION = "3.13"
PLATFORM = "manylinux2014_x86_64"
ARCHITECTURE = "x86_64"
API_STAGE = "api"

# service -> base path under the API custom domain (identity serves /auth)
SERVICES: dict[str, str] = {
    "registration": "registration",
    "applications": "applications",
    "scores": "scores",
    "interviews": "interviews",
    "match": "match",
    "identity": "auth",
}

SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", "tests", "vendor", "*.so", "*.c")


class PackageError(RuntimeError):
    pass


RELAXED_STAGES = ("local", "dev")  # `make package` (dev) warns about missing settings; other stages fail


def function_settings(stage: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The production settings the templates give the functions (parameter defaults that
    `make deploy` may override), from the environment of `make package`."""
    from shared.settings import (
        PAYMENT_PROVIDER_SETTING,
        PUBLIC_BASE_URL_SETTING,
        TEST_PAYMENT_PROVIDER,
        admin_alert_email,
        link_secret_parameter,
        payment_provider_allowed,
    )

    env = dict(os.environ if env is None else env)
    api_domain = (env.get("CASPR_API_DOMAIN") or "").strip()
    relaxed = stage in RELAXED_STAGES
    return {
        # dev: the SSM SecureString `make deploy` creates; other stages say where the key is
        "LinkSecretName": (env.get("CASPR_LINK_SECRET_NAME") or "").strip()
        or (link_secret_parameter(stage) if relaxed else ""),
        "AdminAlertEmail": admin_alert_email(env),
        "PublicBaseUrl": (env.get(PUBLIC_BASE_URL_SETTING) or "").strip()
        or (f"https://{api_domain}" if api_domain else ""),
        "PaymentProvider": (env.get(PAYMENT_PROVIDER_SETTING) or "").strip()
        or (TEST_PAYMENT_PROVIDER if payment_provider_allowed(stage) else ""),
    }


SETTING_ENV = {"LinkSecretName": "CASPR_LINK_SECRET_NAME", "AdminAlertEmail": "CASPR_ADMIN_ALERT_EMAIL",
               "PublicBaseUrl": "CASPR_PUBLIC_BASE_URL", "PaymentProvider": "CASPR_PAYMENT_PROVIDER"}


def check_settings(stage: str, env: dict[str, str] | None = None) -> list[str]:
    """`make package STAGE=...`: the production settings (shared.settings.production_problems)
    of what the functions will get. Outside local/dev a problem is a PackageError naming the
    setting; in dev the problems are returned as warnings (the functions then refuse to
    start on AWS until `make deploy` passes the setting)."""
    from shared.settings import production_problems

    if stage == "local":
        return []
    values = function_settings(stage, env)
    env = dict(os.environ if env is None else env)
    problems = production_problems(stage, {**{SETTING_ENV[k]: v for k, v in values.items()},
                                           "CASPR_LINK_SECRET": env.get("CASPR_LINK_SECRET", "")})
    if problems and stage not in RELAXED_STAGES:
        raise PackageError(f"stage {stage}: production settings missing or refused (set them in the environment "
                           f"of `make package`/`make deploy`):\n  " + "\n  ".join(problems))
    return problems


def placeholder_settings(stage: str) -> dict[str, str]:
    """A complete set of settings for importing the apps while packaging (chalice package, the
    smoke test): Settings.from_env refuses to go on without them outside stage local. The
    values never reach a template."""
    from shared.settings import TEST_PAYMENT_PROVIDER, link_secret_parameter, payment_provider_allowed

    return {"CASPR_LINK_SECRET_NAME": link_secret_parameter(stage), "CASPR_ADMIN_ALERT_EMAIL": "ops@caspr.invalid",
            "CASPR_PUBLIC_BASE_URL": "https://caspr.invalid",
            "CASPR_PAYMENT_PROVIDER": TEST_PAYMENT_PROVIDER if payment_provider_allowed(stage) else "packaging"}


def log(msg: str) -> None:
    print(msg, flush=True)


def sub(text: str) -> dict:
    return {"Fn::Sub": text}


def resource_name(stage: str, *parts: str) -> str:
    from shared.settings import resource_name as name

    return name(stage, *parts)


def stack_name(stage: str, part: str) -> str:
    """CloudFormation stack names used by scripts.deploy."""
    return resource_name(stage, part)


# --------------------------------------------------------------------------- layer

def layer_pip_args(target: Path) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--platform", PLATFORM, "--only-binary=:all:", "--python-version", PYTHON_VERSION,
        "--implementation", "cp", "--target", str(target),
        "-r", str(REQUIREMENTS), "-c", str(CONSTRAINTS),
    ]


def layer_key() -> str:
    h = hashlib.sha256()
    h.update(" ".join(layer_pip_args(Path("T"))[1:]).replace(sys.executable, "").encode())
    h.update(REQUIREMENTS.read_bytes())
    h.update(CONSTRAINTS.read_bytes())
    h.update(RUNTIME.encode())
    h.update(b"recipe 2: /opt/python pyc paths")  # bump when build_layer changes what it makes
    return h.hexdigest()


def find_python313() -> str | None:
    """The interpreter Lambda runs, for byte-compiling and the import smoke test."""
    if sys.version_info[:2] == (3, 13):
        return sys.executable
    candidates: list[str] = []
    if os.environ.get("CASPR_PYTHON313"):
        candidates.append(os.environ["CASPR_PYTHON313"])
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    try:
        roots.insert(0, subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                                       timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    for root in dict.fromkeys(filter(None, roots)):
        candidates += map(str, sorted(Path(root, "versions").glob("3.13*/bin/python3.13"), reverse=True))
    candidates += [shutil.which("python3.13") or ""]
    for candidate in filter(None, candidates):
        try:  # a pyenv shim exists even when it cannot run 3.13: ask the interpreter itself
            probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                                   capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


def byte_compile(python: str | None, path: Path, lambda_dir: str, jobs: int = 1) -> None:
    """Ship python3.13 .pyc files (unchecked-hash: valid whatever the zip does to mtimes),
    so a cold start does not compile them: /opt and /var/task are read-only on Lambda.
    File names in them are the paths on Lambda (deterministic bytes, readable tracebacks)."""
    if not python:
        return
    subprocess.run([python, "-m", "compileall", "-q", "-j", str(jobs), "--invalidation-mode", "unchecked-hash",
                    "-s", str(path), "-p", lambda_dir, str(path)], check=True, stdout=subprocess.DEVNULL)


def zip_dir(source: Path, target: Path, prefix: str = "") -> None:
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(prefix + path.relative_to(source).as_posix(), (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                zf.writestr(info, path.read_bytes())
    tmp.replace(target)


def normalize_zip(path: Path) -> None:
    """Rewrite a zip with sorted entries and fixed timestamps: the same code gives the same
    bytes, so `make deploy` (which names artifacts by their sha256) leaves unchanged
    functions alone."""
    with zipfile.ZipFile(path) as src:
        entries = sorted((info.filename, info.external_attr, src.read(info)) for info in src.infolist()
                         if not info.is_dir())
    tmp = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as dst:
        for name, attr, data in entries:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = attr or (0o644 << 16)
            dst.writestr(info, data)
    tmp.replace(path)


LAYER_CACHE = ROOT / "build" / "cache" / "layer"


def build_layer(out: Path, python313: str | None, cache: Path = LAYER_CACHE) -> tuple[Path, bool]:
    """The layer is built once per set of inputs into build/cache/layer/<key>/ (python/ and
    layer.zip), then linked into ``out`` (layer.zip, layer/ -> the cached dir): `make package`,
    the packaging test and every later build share it. Returns (out/layer.zip, reused)."""
    key = layer_key() + ("-pyc313" if python313 else "")
    cached = cache / key
    reused = (cached / "layer.zip").is_file() and (cached / "python").is_dir()
    if not reused:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".building-{key[:12]}-", dir=cache))
        try:
            target = tmp / "python"
            proc = subprocess.run(layer_pip_args(target), capture_output=True, text=True)
            if proc.returncode != 0:
                errors = "\n".join(line for line in proc.stderr.splitlines()
                                   if "is ignored: it is neither" not in line)
                raise PackageError(f"pip could not build the dependencies layer:\n{errors}")
            shutil.rmtree(target / "bin", ignore_errors=True)
            for pycache in list(target.rglob("__pycache__")):
                shutil.rmtree(pycache, ignore_errors=True)
            byte_compile(python313, target, "/opt/python", jobs=0)
            zip_dir(target, cache / f"{tmp.name}.zip", prefix="python/")
            (cache / f"{tmp.name}.zip").replace(tmp / "layer.zip")
            try:
                tmp.rename(cached)
            except OSError:  # another build finished the same layer first: use that one
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            (cache / f"{tmp.name}.zip").unlink(missing_ok=True)
        old = sorted((d for d in cache.iterdir() if d.is_dir() and not d.name.startswith(".")),
                     key=lambda d: d.stat().st_mtime, reverse=True)
        for stale in old[3:]:
            shutil.rmtree(stale, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    layer_zip, layer_dir = out / "layer.zip", out / "layer"
    layer_zip.unlink(missing_ok=True)
    try:
        os.link(cached / "layer.zip", layer_zip)
    except OSError:
        shutil.copy2(cached / "layer.zip", layer_zip)
    if layer_dir.is_symlink() or layer_dir.is_file():
        layer_dir.unlink()
    elif layer_dir.is_dir():
        shutil.rmtree(layer_dir)
    layer_dir.symlink_to(cached.resolve(), target_is_directory=True)
    (out / "layer.key").write_text(key + "\n")
    return layer_zip, reused


def layer_template(stage: str) -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"CASPR third-party dependencies layer ({stage}, {RUNTIME})",
        "Resources": {
            "DependenciesLayer": {
                "Type": "AWS::Serverless::LayerVersion",
                "Properties": {
                    "LayerName": resource_name(stage, "dependencies"),
                    "Description": "requirements-lambda.txt for " + RUNTIME,
                    "ContentUri": "./layer.zip",
                    "CompatibleRuntimes": [RUNTIME],
                    "CompatibleArchitectures": [ARCHITECTURE],
                    "RetentionPolicy": "Retain",
                },
            }
        },
        "Outputs": {"DependenciesLayerArn": {"Value": {"Ref": "DependenciesLayer"}}},
    }


# ------------------------------------------------------------------- custom domain

def domain_template(stage: str) -> dict:
    """One API hostname (e.g. api.caspr.org) with a regional ACM certificate; every service
    stack maps its base path on it. Deployed only when CASPR_API_DOMAIN is given."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"CASPR API custom domain ({stage})",
        "Parameters": {
            "DomainName": {"Type": "String", "Description": "API hostname, e.g. api.caspr.example"},
            "CertificateArn": {"Type": "String", "Description": "ACM certificate (same region) for DomainName"},
            "HostedZoneId": {"Type": "String", "Default": "",
                             "Description": "Route 53 zone to add the alias record to (optional)"},
        },
        "Conditions": {"HasHostedZone": {"Fn::Not": [{"Fn::Equals": [{"Ref": "HostedZoneId"}, ""]}]}},
        "Resources": {
            "ApiDomain": {
                "Type": "AWS::ApiGateway::DomainName",
                "Properties": {
                    "DomainName": {"Ref": "DomainName"},
                    "RegionalCertificateArn": {"Ref": "CertificateArn"},
                    "EndpointConfiguration": {"Types": ["REGIONAL"]},
                    "SecurityPolicy": "TLS_1_2",
                },
            },
            "ApiDomainRecord": {
                "Type": "AWS::Route53::RecordSet",
                "Condition": "HasHostedZone",
                "Properties": {
                    "HostedZoneId": {"Ref": "HostedZoneId"},
                    "Name": {"Ref": "DomainName"},
                    "Type": "A",
                    "AliasTarget": {
                        "DNSName": {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]},
                        "HostedZoneId": {"Fn::GetAtt": ["ApiDomain", "RegionalHostedZoneId"]},
                    },
                },
            },
        },
        "Outputs": {
            "DomainName": {"Value": {"Ref": "ApiDomain"}},
            "RegionalDomainName": {"Value": {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}},
            "RegionalHostedZoneId": {"Value": {"Fn::GetAtt": ["ApiDomain", "RegionalHostedZoneId"]}},
        },
    }


# ------------------------------------------------------------------------ services

@dataclass
class ServiceBuild:
    name: str
    base_path: str
    has_table: bool
    has_queue: bool
    queue_name: str | None
    queue_visibility: int | None
    out: Path
    template: dict = field(default_factory=dict)
    handlers: list[str] = field(default_factory=list)
    seconds: float = 0.0


def service_parameters(svc: ServiceBuild, stage: str, settings: dict[str, str] | None = None) -> dict:
    settings = settings if settings is not None else function_settings(stage)
    params: dict[str, dict] = {
        "DependenciesLayerArn": {"Type": "String",
                                 "Description": "Layer version ARN (output of the layer stack)"},
        "UserPoolId": {"Type": "String", "Description": "Cognito user pool (shared stack output UserPoolId)"},
        "UserPoolClientId": {"Type": "String", "Description": "shared stack output UserPoolClientId"},
        "EventBusName": {"Type": "String", "Default": resource_name(stage, "bus"),
                         "Description": "shared stack output EventBusName"},
        "SchedulerRoleArn": {"Type": "String", "Description": "shared stack output SchedulerRoleArn"},
        "EmailSender": {"Type": "String", "Default": "no-reply@caspr.example",
                        "Description": "SES identity the services send from (the shared stack's EmailSender)"},
        "PublicBaseUrl": {"Type": "String", "Default": settings["PublicBaseUrl"],
                          "Description": "https://<API domain>, used in email links (empty: the functions "
                                         "refuse to start)"},
        "LinkSecretName": {"Type": "String", "Default": settings["LinkSecretName"],
                           "Description": "SSM SecureString name (/caspr/<stage>/link-secret, created by make "
                                          "deploy) or Secrets Manager secret ARN of the email-link signing key"},
        "AdminAlertEmail": {"Type": "String", "Default": settings["AdminAlertEmail"],
                            "Description": "administrator alert recipient(s), comma-separated (empty: the "
                                           "functions refuse to start)"},
        "PaymentProvider": {"Type": "String", "Default": settings["PaymentProvider"],
                            "Description": "payment provider ('test' only in local/dev; empty: the functions "
                                           "refuse to start)"},
        "ApiDomainName": {"Type": "String", "Default": "",
                          "Description": "API custom domain to map /" + svc.base_path + " on (empty: none)"},
    }
    if svc.has_table:
        params["TableName"] = {"Type": "String", "Default": resource_name(stage, svc.name),
                               "Description": "the service's DynamoDB table (shared stack output)"}
        params["TableStreamArn"] = {"Type": "String",
                                    "Description": "the table's stream (shared stack output <Svc>TableStreamArn)"}
        params["RelayDeadLetterQueueArn"] = {
            "Type": "String",
            "Description": "where the outbox relay sends a batch it gave up on (shared stack output "
                           "<Svc>RelayDeadLetterQueueArn)"}
    if svc.has_queue:
        params["EventsQueueArn"] = {"Type": "String",
                                    "Description": f"ARN of the shared stack's queue {svc.queue_name}"}
    params["AlarmTopicArn"] = {"Type": "String", "Default": "",
                               "Description": "SNS topic for alarms (shared stack output AlarmTopicArn; empty: "
                                              "alarms without notification)"}
    return params


def service_environment(stage: str) -> dict:
    """What shared/settings.py reads; everything else derives from the stage."""
    return {
        "CASPR_STAGE": stage,
        "CASPR_USER_POOL_ID": {"Ref": "UserPoolId"},
        "CASPR_USER_POOL_CLIENT_ID": {"Ref": "UserPoolClientId"},
        "CASPR_EVENT_BUS": {"Ref": "EventBusName"},
        "CASPR_SCHEDULER_ROLE_ARN": {"Ref": "SchedulerRoleArn"},
        "CASPR_SCHEDULER_GROUP": resource_name(stage, "calendar"),
        "CASPR_ACCOUNT_ID": {"Ref": "AWS::AccountId"},
        "CASPR_EMAIL_SENDER": {"Ref": "EmailSender"},
        "CASPR_PUBLIC_BASE_URL": {"Fn::If": ["HasPublicBaseUrl", {"Ref": "PublicBaseUrl"}, {"Ref": "AWS::NoValue"}]},
        # the NAME of the key's SSM parameter / secret, never the key (shared.links reads it)
        "CASPR_LINK_SECRET_NAME": {"Fn::If": ["HasLinkSecretName", {"Ref": "LinkSecretName"},
                                              {"Ref": "AWS::NoValue"}]},
        "CASPR_ADMIN_ALERT_EMAIL": {"Fn::If": ["HasAdminAlertEmail", {"Ref": "AdminAlertEmail"},
                                               {"Ref": "AWS::NoValue"}]},
        "CASPR_PAYMENT_PROVIDER": {"Fn::If": ["HasPaymentProvider", {"Ref": "PaymentProvider"},
                                              {"Ref": "AWS::NoValue"}]},
        "POWERTOOLS_METRICS_NAMESPACE": "CASPR",
    }


# the key prefixes each service keeps in the documents bucket (infra/stack.py DocumentsBucket)
DOCUMENT_PREFIXES = {"applications": ("",), "scores": ("scores/",), "interviews": ("interviews/",),
                     "match": ("match/",)}  # match: audit files too big for a Lambda response


def service_policy(svc: ServiceBuild, stage: str) -> dict:
    """Least privilege, per service (chalice's autogen policy is off)."""
    statements: list[dict] = [
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*")},
        {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
         "Resource": "*"},
        {"Sid": "PublishEvents", "Effect": "Allow", "Action": "events:PutEvents",
         "Resource": sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}")},
        {"Sid": "SendEmail", "Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"],
         "Resource": sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*")},
        # the email-link signing key: an SSM SecureString (/...) or a Secrets Manager secret
        {"Sid": "ReadLinkSecret", "Effect": "Allow",
         "Action": {"Fn::If": ["LinkSecretInSsm", ["ssm:GetParameter"], ["secretsmanager:GetSecretValue"]]},
         "Resource": {"Fn::If": ["LinkSecretInSsm",
                                 sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
                                     "${LinkSecretName}"),
                                 {"Ref": "LinkSecretName"}]}},
        {"Sid": "DecryptLinkSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": [sub("ssm.${AWS::Region}.amazonaws.com"),
                                                           sub("secretsmanager.${AWS::Region}.amazonaws.com")]}}},
    ]
    if svc.has_table:
        table = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}"
        statements.append({
            "Sid": "OwnTable", "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                       "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                       "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
            "Resource": [sub(table), sub(table + "/index/*")],
        })
        statements += [  # the outbox relay: the table's stream in, failed batches out
            {"Sid": "OutboxStream", "Effect": "Allow",
             "Action": ["dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream"],
             "Resource": {"Ref": "TableStreamArn"}},
            {"Sid": "OutboxStreamList", "Effect": "Allow", "Action": "dynamodb:ListStreams",
             "Resource": "*"},  # ListStreams takes no resource-level permission
            {"Sid": "RelayFailures", "Effect": "Allow", "Action": "sqs:SendMessage",
             "Resource": {"Ref": "RelayDeadLetterQueueArn"}},
        ]
    if svc.has_queue:
        statements.append({
            "Sid": "OwnQueue", "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                       "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            "Resource": {"Ref": "EventsQueueArn"},
        })
    if svc.name in DOCUMENT_PREFIXES:  # PDFs in the shared stack's documents bucket (presigned uploads, checks)
        bucket = "arn:${AWS::Partition}:s3:::" + resource_name(stage, "documents") + "-${AWS::AccountId}"
        statements.append({
            "Sid": "Documents", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [sub(f"{bucket}/{prefix}*") for prefix in DOCUMENT_PREFIXES[svc.name]],
        })
    if svc.name == "registration":  # the season calendar: one-time schedules on the bus
        statements += [
            {"Sid": "CalendarSchedules", "Effect": "Allow",
             "Action": ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:GetSchedule",
                        "scheduler:DeleteSchedule"],
             "Resource": sub("arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/"
                             + resource_name(stage, "calendar") + "/*")},
            {"Sid": "PassSchedulerRole", "Effect": "Allow", "Action": "iam:PassRole",
             "Resource": {"Ref": "SchedulerRoleArn"},
             "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}},
        ]
    if svc.name == "identity":  # accounts and groups on the user pool
        statements.append({
            "Sid": "UserPoolAdmin", "Effect": "Allow",
            "Action": ["cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword",
                       "cognito-idp:AdminDeleteUser", "cognito-idp:AdminGetUser",
                       "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup",
                       "cognito-idp:AdminListGroupsForUser", "cognito-idp:AdminUpdateUserAttributes",
                       "cognito-idp:AdminInitiateAuth", "cognito-idp:InitiateAuth",
                       "cognito-idp:CreateGroup", "cognito-idp:GetGroup", "cognito-idp:ListUsers"],
            "Resource": sub("arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/"
                            "${UserPoolId}"),
        })
    if svc.name == "match":  # the Match / MPII state machines of this stage
        prefix = resource_name(stage, "")
        statements.append({
            "Sid": "MatchStateMachines", "Effect": "Allow", "Action": "states:*",
            "Resource": [
                sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + prefix + "*"),
                sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:" + prefix + "*:*"),
            ],
        })
        # task-token callbacks take no resource-level permission: the token is the authority
        statements.append({
            "Sid": "MatchTaskTokens", "Effect": "Allow",
            "Action": ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            "Resource": "*",
        })
        # match ties a signed-in applicant to its registration by the account's email (ListUsers)
        statements.append({
            "Sid": "UserPoolLookup", "Effect": "Allow", "Action": ["cognito-idp:ListUsers"],
            "Resource": sub("arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/"
                            "${UserPoolId}"),
        })
    return {"Version": "2012-10-17", "Statement": statements}


def chalice_config(source: Path, stage: str) -> dict:
    config = json.loads(source.read_text())
    config["automatic_layer"] = False
    config["autogen_policy"] = False
    config["iam_policy_file"] = "caspr-policy.json"
    stages = config.setdefault("stages", {})
    stage_cfg = stages.setdefault(stage, {})
    stage_cfg.setdefault("api_gateway_stage", API_STAGE)
    stage_cfg.setdefault("environment_variables", {})["CASPR_STAGE"] = stage
    return config


def prepare_build_dir(svc: ServiceBuild, stage: str, work: Path, python313: str | None) -> Path:
    src = SERVICES_DIR / svc.name
    for required in (src / "app.py", src / ".chalice" / "config.json", src / svc.name / "__init__.py"):
        if not required.is_file():
            raise PackageError(f"{svc.name}: missing {required.relative_to(ROOT)}")
    build = work / svc.name
    shutil.rmtree(build, ignore_errors=True)
    (build / ".chalice").mkdir(parents=True)
    shutil.copy2(src / "app.py", build / "app.py")
    (build / ".chalice" / "config.json").write_text(
        json.dumps(chalice_config(src / ".chalice" / "config.json", stage), indent=2))
    # the policy is a placeholder here: the finished template gets service_policy(),
    # which needs template parameters chalice does not know about
    (build / ".chalice" / "caspr-policy.json").write_text(json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:CreateLogGroup",
                                                 "Resource": "*"}]}))
    (build / "requirements.txt").write_text("")  # third-party code comes from the layer
    shutil.copytree(ROOT / "shared", build / "vendor" / "shared", ignore=SKIP)
    shutil.copytree(src / svc.name, build / "vendor" / svc.name, ignore=SKIP)
    if svc.has_table:
        write_relay_entry_module(svc, build / "vendor" / svc.name)
    for c_source in sorted((src / svc.name).rglob("_*.c")):
        target = build / "vendor" / c_source.parent.relative_to(src)
        if python313:
            build_extension(python313, c_source, target)
        else:
            log(f"warning: no python3.13: {c_source.relative_to(ROOT)} not compiled; {svc.name} runs its "
                "pure-Python code path on Lambda (same results, slower)")
    byte_compile(python313, build / "vendor", "/var/task")
    return build


RELAY_ENTRY_MODULE = '''"""Generated by `make package` (scripts/package.py): the Lambda entry points of
shared.relay's blueprint. Chalice names a blueprint function's handler
<blueprint import name>.<function>, i.e. {service}.relay.relay_outbox; the functions live in
the app's handler map, so this module hands them out by name."""

import app as _app


def __getattr__(name):
    try:
        return _app.app.handler_map[name]
    except KeyError:
        raise AttributeError(name) from None
'''


def write_relay_entry_module(svc: ServiceBuild, package_dir: Path) -> None:
    target = package_dir / "relay.py"
    if target.exists():
        raise PackageError(f"{svc.name}: {svc.name}/relay.py exists, but chalice names the handlers of "
                           f"shared.relay's blueprint {svc.name}.relay.*: rename the module")
    target.write_text(RELAY_ENTRY_MODULE.format(service=svc.name))


def build_extension(python: str, c_source: Path, target: Path) -> Path:
    """Compile one C extension module (no dependencies but the Python headers) for ``python``.

    setuptools builds it for the local interpreter (setup.py); the Lambda runtime's
    interpreter has no setuptools, so this calls the C compiler with that
    interpreter's own include path and extension suffix. Built on this machine's
    glibc, so the module must stick to the C library's oldest symbols:
    ``check_glibc`` refuses one that needs a newer glibc than the runtime's.
    """
    probe = subprocess.run(
        [python, "-S", "-c", "import json, sysconfig; print(json.dumps("
         "[sysconfig.get_paths()['include'], sysconfig.get_config_var('EXT_SUFFIX')]))"],
        capture_output=True, text=True, check=True)
    include, suffix = json.loads(probe.stdout)
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise PackageError(f"no C compiler (cc) to build {c_source.name} for {RUNTIME}")
    out = target / (c_source.stem + suffix)
    proc = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-I", include, str(c_source), "-o", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError(f"compiling {c_source.name} for {RUNTIME} failed:\n{proc.stderr[-3000:]}")
    check_glibc(out)
    return out


LAMBDA_GLIBC = (2, 34)  # Amazon Linux 2023, the python3.13 runtime's OS


def check_glibc(shared_object: Path) -> None:
    """Refuse a compiled module that needs symbols newer than the Lambda runtime's glibc."""
    data = shared_object.read_bytes()
    needed = {tuple(map(int, m.groups())) for m in re.finditer(rb"GLIBC_(\d+)\.(\d+)", data)}
    too_new = sorted(v for v in needed if v > LAMBDA_GLIBC)
    if too_new:
        raise PackageError(f"{shared_object.name} needs glibc {'.'.join(map(str, too_new[-1]))}, "
                           f"newer than the {RUNTIME} runtime's {'.'.join(map(str, LAMBDA_GLIBC))}")


def chalice_env(stage: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASPR_", "AWS_", "POWERTOOLS_"))}
    env.update({
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
        "AWS_ACCESS_KEY_ID": "packaging", "AWS_SECRET_ACCESS_KEY": "packaging",
        "AWS_EC2_METADATA_DISABLED": "true", "CASPR_STAGE": stage, "PYTHONDONTWRITEBYTECODE": "1",
    })
    if stage != "local":  # importing an app reads the settings, which refuse to go on without these
        env.update(placeholder_settings(stage))
    return env


def run_chalice(build: Path, out: Path, stage: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
         "--project-dir", str(build), "package", "--stage", stage, str(out)],
        cwd=build, env=chalice_env(stage), capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0 or not (out / "sam.json").is_file():
        raise PackageError(f"chalice package failed in {build}:\n{proc.stdout}\n{proc.stderr}")


def finish_relay_event(svc: ServiceBuild, stage: str, where: str, props: dict) -> None:
    """The outbox relay's event source mapping (shared.relay.relay_outbox): chalice wrote the
    placeholder stream ARN of Settings.table_stream_arn; it must name this service's table."""
    from shared.adapters.outbox import STREAM_FILTER
    from shared.relay import RELAY_MAX_RETRIES

    stream = props.get("Stream")
    stream_text = stream.get("Fn::Sub", "") if isinstance(stream, dict) else str(stream or "")
    match = re.search(r":table/([^/]+)/stream/", stream_text)
    table_name = match.group(1) if match else None
    if not svc.has_table or table_name != resource_name(stage, svc.name):
        raise PackageError(f"{svc.name}: {where} reads the stream of table {table_name!r} but "
                           + (f"the shared stack's table for {svc.name} is {resource_name(stage, svc.name)!r}"
                              if svc.has_table else f"{svc.name} has no table"))
    props.update({
        "Stream": {"Ref": "TableStreamArn"},
        "StartingPosition": "TRIM_HORIZON",
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "FilterCriteria": {"Filters": [{"Pattern": json.dumps(STREAM_FILTER)}]},
        "MaximumRetryAttempts": RELAY_MAX_RETRIES,
        "BisectBatchOnFunctionError": False,
        "DestinationConfig": {"OnFailure": {"Destination": {"Ref": "RelayDeadLetterQueueArn"}}},
    })


def finish_template(svc: ServiceBuild, stage: str, template: dict, settings: dict[str, str] | None = None) -> dict:
    """Turn chalice's SAM template into the one we deploy (see module docstring)."""
    settings = settings if settings is not None else function_settings(stage)
    t = copy.deepcopy(template)
    resources = t["Resources"]
    t["Description"] = f"CASPR {svc.name} service (/{svc.base_path}, {stage})"
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    if not functions:
        raise PackageError(f"{svc.name}: chalice generated no function")
    sqs_sources = relay_sources = 0
    env = service_environment(stage)
    for logical_id, fn in functions.items():
        props = fn["Properties"]
        props["Runtime"] = RUNTIME
        props["Layers"] = [{"Ref": "DependenciesLayerArn"}]
        props["Tracing"] = "Active"
        props.setdefault("Environment", {}).setdefault("Variables", {}).update(env)
        props.setdefault("Tags", {})["caspr-stage"] = stage
        svc.handlers.append(props["Handler"])
        for event_id, event in props.get("Events", {}).items():
            if event["Type"] == "DynamoDB":
                finish_relay_event(svc, stage, f"{logical_id}.{event_id}", event["Properties"])
                relay_sources += 1
                continue
            if event["Type"] != "SQS":
                continue
            queue = event["Properties"]["Queue"]
            queue_text = queue.get("Fn::Sub", "") if isinstance(queue, dict) else str(queue)
            queue_name = queue_text.rsplit(":", 1)[-1]
            if not svc.has_queue or queue_name != svc.queue_name:
                raise PackageError(
                    f"{svc.name}: {logical_id}.{event_id} consumes queue {queue_name!r} but the shared stack's "
                    f"queue for {svc.name} is {svc.queue_name!r}")
            timeout = int(props.get("Timeout", 3))
            if svc.queue_visibility is not None and timeout > svc.queue_visibility:
                raise PackageError(f"{svc.name}: {logical_id} times out after {timeout} s, more than the visibility "
                                   f"timeout of {svc.queue_name} ({svc.queue_visibility} s): Lambda refuses that")
            event["Properties"]["Queue"] = {"Ref": "EventsQueueArn"}
            event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
            sqs_sources += 1
    if svc.has_queue and not sqs_sources:
        raise PackageError(f"{svc.name}: the shared stack routes events to {svc.queue_name} but the app has no "
                           "on_sqs_message consumer for it")
    if svc.has_table and not relay_sources:
        raise PackageError(f"{svc.name}: its table's outbox has no relay (register shared.relay's blueprint)")
    for logical_id in functions:  # any error of any function is an alarm
        resources[f"{logical_id}ErrorsAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"CASPR {svc.name} ({stage}): {logical_id} failed (Lambda Errors > 0)",
                "Namespace": "AWS/Lambda", "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": logical_id}}],
                "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
                "AlarmActions": {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]},
            },
        }
    roles = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    for logical_id in roles:
        resources[logical_id]["Properties"]["Policies"] = [
            {"PolicyName": f"caspr-{svc.name}", "PolicyDocument": service_policy(svc, stage)}]
    if "RestAPI" in resources:
        api = resources["RestAPI"]["Properties"]
        api["EndpointConfiguration"] = "REGIONAL"
        resources["ApiBasePathMapping"] = {
            "Type": "AWS::ApiGateway::BasePathMapping",
            "Condition": "HasApiDomain",
            "Properties": {
                "DomainName": {"Ref": "ApiDomainName"},
                "BasePath": svc.base_path,
                "RestApiId": {"Ref": "RestAPI"},
                "Stage": {"Ref": "RestAPI.Stage"},
            },
        }
        t.setdefault("Outputs", {})["ApiBasePath"] = {"Value": "/" + svc.base_path}
    t["Parameters"] = {**t.get("Parameters", {}), **service_parameters(svc, stage, settings)}

    def given(name: str) -> dict:
        return {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]}

    t["Conditions"] = {
        **t.get("Conditions", {}),
        "HasApiDomain": given("ApiDomainName"),
        "HasPublicBaseUrl": given("PublicBaseUrl"),
        "HasLinkSecretName": given("LinkSecretName"),
        "HasAdminAlertEmail": given("AdminAlertEmail"),
        "HasPaymentProvider": given("PaymentProvider"),
        "HasAlarmTopic": given("AlarmTopicArn"),
        # an SSM parameter name starts with "/" (else a Secrets Manager ARN)
        "LinkSecretInSsm": {"Fn::Equals": [{"Fn::Select": [0, {"Fn::Split": ["/", {"Ref": "LinkSecretName"}]}]},
                                           ""]},
    }
    if "RestAPI" not in resources:  # no HTTP routes: nothing to map on the domain
        t["Conditions"].pop("HasApiDomain")
        t["Parameters"].pop("ApiDomainName")
    return t


def package_service(svc: ServiceBuild, stage: str, work: Path, python313: str | None) -> ServiceBuild:
    started = time.perf_counter()
    build = prepare_build_dir(svc, stage, work, python313)
    run_chalice(build, svc.out, stage)
    generated = json.loads((svc.out / "sam.json").read_text())
    svc.template = finish_template(svc, stage, generated)
    (svc.out / "sam.json").write_text(json.dumps(svc.template, indent=2) + "\n")
    normalize_zip(svc.out / "deployment.zip")
    with zipfile.ZipFile(svc.out / "deployment.zip") as zf:
        names = set(zf.namelist())
    compiled = [f"{c.parent.relative_to(SERVICES_DIR / svc.name).as_posix()}/{c.stem}" for c in
                sorted((SERVICES_DIR / svc.name / svc.name).rglob("_*.c"))] if python313 else []
    for stem in compiled:
        if not any(n.startswith(stem + ".cpython-313") and n.endswith(".so") for n in names):
            raise PackageError(f"{svc.name}: deployment.zip lacks the compiled {stem} for {RUNTIME}")
    for needed in ("app.py", "shared/__init__.py", f"{svc.name}/__init__.py"):
        if needed not in names:
            raise PackageError(f"{svc.name}: deployment.zip lacks {needed}")
    svc.seconds = time.perf_counter() - started
    return svc


SMOKE = r"""
import importlib, json, sys
task, layer, handlers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [task, layer]
for handler in handlers:
    module, _, attr = handler.rpartition(".")
    obj = getattr(importlib.import_module(module), attr)
    assert callable(obj), handler
import pathlib
for so in sorted(pathlib.Path(task).rglob("*.so")):  # compiled modules of ours: they must load here
    parts = so.relative_to(task).parts
    importlib.import_module(".".join([*parts[:-1], parts[-1].split(".")[0]]))
bad = [m.__file__ for m in list(sys.modules.values())
       if getattr(m, "__file__", None) and "site-packages" in m.__file__]
assert not bad, "imported from outside the deployment package and the layer: %s" % bad[:3]
print("ok")
"""


def smoke_import(svc: ServiceBuild, layer_python: Path, python313: str, stage: str) -> None:
    """Import the app and every handler as Lambda would: deployment.zip as /var/task, the
    layer as /opt/python, python3.13 with no site-packages."""
    with tempfile.TemporaryDirectory(prefix=f"caspr-smoke-{svc.name}-") as task:
        with zipfile.ZipFile(svc.out / "deployment.zip") as zf:
            zf.extractall(task)
        env = chalice_env(stage)
        env.update({"AWS_LAMBDA_FUNCTION_NAME": f"smoke-{svc.name}", "POWERTOOLS_TRACE_DISABLED": "true",
                    "POWERTOOLS_SERVICE_NAME": svc.name})
        proc = subprocess.run([python313, "-S", "-c", SMOKE, task, str(layer_python), json.dumps(svc.handlers)],
                              env=env, capture_output=True, text=True, timeout=300, cwd=task)
        if proc.returncode != 0 or "ok" not in proc.stdout:
            raise PackageError(f"{svc.name}: the deployment package does not import on {RUNTIME} with the layer "
                               f"(is a dependency missing from requirements-lambda.txt?):\n{proc.stderr[-3000:]}")


# ------------------------------------------------------------------------ cfn-lint

def cfn_lint(paths: list[Path]) -> dict[Path, list[dict]]:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
         "--format", "json", "--", *map(str, paths)],
        capture_output=True, text=True, timeout=600,
    )
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise PackageError(f"cfn-lint failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from exc
    if proc.returncode not in (0, 2, 4, 6, 8, 10, 12, 14):
        raise PackageError(f"cfn-lint failed (exit {proc.returncode}):\n{proc.stderr}")
    by_file: dict[Path, list[dict]] = {p: [] for p in paths}
    for f in findings:
        by_file.setdefault(Path(f["Filename"]), []).append(f)
    return by_file


def describe(finding: dict) -> str:
    loc = finding.get("Location", {}).get("Path") or []
    return (f"{finding['Rule']['Id']} {finding['Message']}"
            + (f" (at {'/'.join(map(str, loc))})" if loc else ""))


# ---------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", default="build/package")
    parser.add_argument("--services", default=",".join(SERVICES),
                        help="comma-separated subset (default: all six)")
    parser.add_argument("--no-smoke", action="store_true", help="skip the python3.13 import smoke test")
    args = parser.parse_args(argv)
    try:
        return build_all(args.stage, Path(args.out), [s for s in args.services.split(",") if s],
                         smoke=not args.no_smoke)
    except PackageError as exc:
        print(f"\nmake package FAILED: {exc}", file=sys.stderr)
        return 1


def _failure(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, PackageError) else f"{type(exc).__name__}: {exc}"


def build_all(stage: str, out: Path, services: list[str], smoke: bool = True) -> int:
    sys.path.insert(0, str(ROOT))
    from infra.stack import _cf_name, build_shared_template
    from shared.settings import SERVICES as TABLE_SERVICES

    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise PackageError(f"unknown services {unknown}; known: {list(SERVICES)}")
    if not stage.replace("-", "").isalnum() or not stage.islower():
        raise PackageError(f"stage {stage!r}: use lowercase letters, digits and '-'")
    started = time.perf_counter()
    out = out if out.is_absolute() else ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    for name in SERVICES:
        shutil.rmtree(out / name, ignore_errors=True)
    for problem in check_settings(stage):  # outside local/dev: raises naming what is missing
        log(f"warning: {problem}: the {stage} functions refuse to start on AWS until `make deploy` passes it")
    python313 = find_python313()
    if not python313:
        log(f"warning: no python3.13 found: no byte-compiled layer, no {RUNTIME} import smoke test")

    shared = build_shared_template(stage)
    (out / "shared.json").write_text(json.dumps(shared, indent=2) + "\n")
    (out / "layer.json").write_text(json.dumps(layer_template(stage), indent=2) + "\n")
    (out / "domain.json").write_text(json.dumps(domain_template(stage), indent=2) + "\n")

    builds = []
    for name in services:
        queue = shared["Resources"].get(f"{_cf_name(name)}Queue")
        props = queue["Properties"] if queue else {}
        builds.append(ServiceBuild(name=name, base_path=SERVICES[name], has_table=name in TABLE_SERVICES,
                                   has_queue=queue is not None, queue_name=props.get("QueueName"),
                                   queue_visibility=props.get("VisibilityTimeout"), out=out / name))

    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="caspr-build-", dir=out) as work, \
            ThreadPoolExecutor(max_workers=max(2, min(len(builds) + 1, (os.cpu_count() or 2) * 2))) as pool:
        t0 = time.perf_counter()

        def timed_layer():
            t = time.perf_counter()
            result = build_layer(out, python313)
            return result, time.perf_counter() - t

        layer_future = pool.submit(timed_layer)
        futures = [pool.submit(package_service, b, stage, Path(work), python313) for b in builds]
        failures = [_failure(f.exception()) for f in futures if f.exception() is not None]
        if failures:  # every service's problem at once, not just the first
            raise PackageError("\n\n".join(failures))
        timings[f"chalice package ({len(builds)} in parallel)"] = time.perf_counter() - t0
        (layer_zip, reused), layer_seconds = layer_future.result()
        timings["layer" + (" (reused)" if reused else " (pip + compile + zip)")] = layer_seconds
    if smoke and python313:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            futures = [pool.submit(smoke_import, b, out / "layer" / "python", python313, stage) for b in builds]
            failures = [_failure(f.exception()) for f in futures if f.exception() is not None]
            if failures:
                raise PackageError("\n\n".join(failures))
        timings[f"{RUNTIME} import smoke test"] = time.perf_counter() - t0

    templates = [out / "shared.json", out / "layer.json", out / "domain.json"] + [b.out / "sam.json" for b in builds]
    t0 = time.perf_counter()
    findings = cfn_lint(templates)
    timings["cfn-lint"] = time.perf_counter() - t0

    manifest = {
        "stage": stage,
        "runtime": RUNTIME,
        "layer": {"template": "layer.json", "stack": stack_name(stage, "layer"), "artifact": "layer.zip"},
        "shared": {"template": "shared.json", "stack": stack_name(stage, "shared")},
        "domain": {"template": "domain.json", "stack": stack_name(stage, "domain")},
        "services": {
            b.name: {"template": f"{b.name}/sam.json", "stack": stack_name(stage, b.name),
                     "base_path": b.base_path, "table": b.has_table, "queue": b.queue_name if b.has_queue else None,
                     "parameters": sorted(b.template["Parameters"]), "handlers": b.handlers}
            for b in builds
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    errors = warnings = 0
    rows = []
    for path in templates:
        doc = json.loads(path.read_text())
        items = findings.get(path, [])
        e = [f for f in items if f["Level"] == "Error"]
        w = [f for f in items if f["Level"] != "Error"]
        errors += len(e)
        warnings += len(w)
        fns = sum(1 for r in doc["Resources"].values() if r["Type"] == "AWS::Serverless::Function")
        rows.append((str(path.relative_to(out)), len(doc["Resources"]), fns, len(e), len(w), e + w))
    log("")
    log(f"{'template':<28} {'resources':>9} {'functions':>9} {'errors':>7} {'warnings':>9}")
    for name, n, fns, e, w, _ in rows:
        log(f"{name:<28} {n:>9} {fns:>9} {e:>7} {w:>9}")
    for name, *_, items in rows:
        for f in items:
            log(f"  {f['Level'].lower():<8} {name}: {describe(f)}")
    log("")
    for what, seconds in timings.items():
        log(f"  {what:<34} {seconds:6.1f} s")
    log(f"  {'total':<34} {time.perf_counter() - started:6.1f} s")
    size = layer_zip.stat().st_size / 1e6
    log(f"\nstage {stage}, runtime {RUNTIME}, layer {size:.1f} MB, output {out}")
    if errors:
        log(f"cfn-lint: {errors} error(s): make package FAILED")
        return 1
    log(f"cfn-lint: 0 errors, {warnings} warning(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
