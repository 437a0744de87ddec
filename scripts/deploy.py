"""`make deploy STAGE=...`: deploy what `make package` built to a real AWS account.

Uses boto3 with the credentials and region of the environment (AWS_PROFILE,
AWS_REGION / AWS_DEFAULT_REGION, ...); nothing else is needed. Order:

1. the dependencies layer stack  caspr-<stage>-layer   (layer.json + layer.zip)
2. the shared stack              caspr-<stage>-shared  (shared.json: bus, rules, queues,
                                                        tables, scheduler, state machines, Cognito, SES)
3. the API domain stack          caspr-<stage>-domain  (only with CASPR_API_DOMAIN)
4. one stack per service         caspr-<stage>-<service> (<service>/sam.json + deployment.zip),
                                 its parameters filled from the outputs of 1-3

Artifacts (zips and templates) go to s3://$CASPR_ARTIFACT_BUCKET/caspr/<stage>/ under
their sha256, so an unchanged artifact is neither uploaded nor redeployed. Each stack is
deployed through a change set (what `aws cloudformation deploy` does); a stack with
nothing to change is left alone.

Environment:
  CASPR_ARTIFACT_BUCKET   required: an S3 bucket in the deployment region
  CASPR_EMAIL_SENDER      SES identity to send from (shared stack EmailSender; SES sends
                          a verification email to it on creation)
  CASPR_API_DOMAIN        optional API hostname; then also CASPR_CERTIFICATE_ARN (ACM,
                          same region) and optionally CASPR_HOSTED_ZONE_ID (Route 53)
  CASPR_PUBLIC_BASE_URL   base URL of email links (default https://$CASPR_API_DOMAIN)
  CASPR_LINK_SECRET_NAME  where the email-link signing key is kept: an SSM SecureString
                          name (default /caspr/<stage>/link-secret in dev; `make deploy`
                          creates it with a random value when it does not exist, else
                          reads it) or a Secrets Manager secret ARN (must exist). Only the
                          NAME goes into the templates; the functions read the key.
  CASPR_ADMIN_ALERT_EMAIL administrator alert recipient(s) (or CASPR_MATCH_ALERT_EMAIL /
                          CASPR_ADMIN_EMAIL)
  CASPR_PAYMENT_PROVIDER  payment provider ("test" is refused outside local/dev)
  CASPR_ALARM_EMAIL       optional: subscribed to the alarms topic (shared stack AlarmEmail)

Outside stage local a missing setting fails the deploy (and `make package`) naming it:
nothing falls back to a local default (shared.settings.production_problems).

`--dry-run` prints the plan (stacks, artifacts, parameters and where each comes from)
and touches no AWS API.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
WAIT = {"Delay": 10, "MaxAttempts": 360}  # up to an hour per stack
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "no changes")


class DeployError(RuntimeError):
    pass


# ------------------------------------------------------------------ parameter sources

@dataclass(frozen=True)
class Literal:
    value: str
    secret: bool = False

    def describe(self) -> str:
        return "****" if self.secret else repr(self.value)


@dataclass(frozen=True)
class Output:
    """An output of a stack deployed earlier in the same run."""
    stack: str
    key: str

    def describe(self) -> str:
        return f"output {self.key} of {self.stack}"


@dataclass(frozen=True)
class QueueArn:
    """The ARN of the queue whose URL is a stack output (sqs:GetQueueAttributes)."""
    url: Output

    def describe(self) -> str:
        return f"ARN of the queue at {self.url.describe()}"


Source = Literal | Output | QueueArn


@dataclass
class Step:
    stack: str
    template: Path
    parameters: dict[str, Source] = field(default_factory=dict)
    label: str = ""


@dataclass
class Plan:
    stage: str
    bucket: str
    prefix: str
    first: list[Step]      # deployed one after the other
    services: list[Step]   # deployed side by side once `first` is done
    link_secrets: list[str] = field(default_factory=list)  # SSM SecureStrings to create or read

    @property
    def steps(self) -> list[Step]:
        return self.first + self.services


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def admin_alert_email(env) -> str:
    from shared.settings import admin_alert_email as read

    return read(env)


def build_plan(package_dir: Path, stage: str, bucket: str, services: list[str] | None = None) -> Plan:
    manifest_path = package_dir / "manifest.json"
    if not manifest_path.is_file():
        raise DeployError(f"{manifest_path} not found: run `make package STAGE={stage}` first")
    manifest = json.loads(manifest_path.read_text())
    if manifest["stage"] != stage:
        raise DeployError(f"{package_dir} was packaged for stage {manifest['stage']!r}, not {stage!r}: "
                          f"run `make package STAGE={stage}`")
    layer, shared, domain = manifest["layer"]["stack"], manifest["shared"]["stack"], manifest["domain"]["stack"]
    email_sender = _env("CASPR_EMAIL_SENDER")
    shared_params: dict[str, Source] = {"EmailSender": Literal(email_sender)} if email_sender else {}
    if _env("CASPR_ALARM_EMAIL"):
        shared_params["AlarmEmail"] = Literal(_env("CASPR_ALARM_EMAIL"))
    first = [
        Step(layer, package_dir / manifest["layer"]["template"], label="dependencies layer"),
        Step(shared, package_dir / manifest["shared"]["template"], label="shared resources",
             parameters=shared_params),
    ]
    api_domain = _env("CASPR_API_DOMAIN")
    if api_domain:
        certificate = _env("CASPR_CERTIFICATE_ARN")
        if not certificate:
            raise DeployError("CASPR_API_DOMAIN is set but CASPR_CERTIFICATE_ARN is not: an ACM certificate "
                              "for the domain, in the deployment region, is required")
        params: dict[str, Source] = {"DomainName": Literal(api_domain), "CertificateArn": Literal(certificate)}
        if _env("CASPR_HOSTED_ZONE_ID"):
            params["HostedZoneId"] = Literal(_env("CASPR_HOSTED_ZONE_ID"))
        first.append(Step(domain, package_dir / manifest["domain"]["template"], params, label="API domain"))
    public_base_url = _env("CASPR_PUBLIC_BASE_URL") or (f"https://{api_domain}" if api_domain else "")

    wanted = services or list(manifest["services"])
    missing = [s for s in wanted if s not in manifest["services"]]
    if missing:
        raise DeployError(f"{missing} not in {manifest_path} (packaged: {sorted(manifest['services'])})")
    if _env("CASPR_LINK_SECRET"):
        raise DeployError("CASPR_LINK_SECRET is set: a signing key value never goes into a template; give "
                          "CASPR_LINK_SECRET_NAME (an SSM SecureString name, created when missing) instead")
    settings_env = {"LinkSecretName": _env("CASPR_LINK_SECRET_NAME"),
                    "AdminAlertEmail": admin_alert_email(os.environ),
                    "PaymentProvider": _env("CASPR_PAYMENT_PROVIDER")}
    service_steps = []
    link_secrets: set[str] = set()
    for name in wanted:
        svc = manifest["services"][name]
        cf = "".join(p[:1].upper() + p[1:] for p in name.split("-"))
        sources: dict[str, Source] = {
            "DependenciesLayerArn": Output(layer, "DependenciesLayerArn"),
            "UserPoolId": Output(shared, "UserPoolId"),
            "UserPoolClientId": Output(shared, "UserPoolClientId"),
            "EventBusName": Output(shared, "EventBusName"),
            "SchedulerRoleArn": Output(shared, "SchedulerRoleArn"),
            "TableName": Output(shared, f"{cf}TableName"),
            "EventsQueueArn": QueueArn(Output(shared, f"{cf}QueueUrl")),
            "TableStreamArn": Output(shared, f"{cf}TableStreamArn"),
            "RelayDeadLetterQueueArn": Output(shared, f"{cf}RelayDeadLetterQueueArn"),
            "AlarmTopicArn": Output(shared, "AlarmTopicArn"),
        }
        sources.update({k: Literal(v) for k, v in settings_env.items() if v})
        if email_sender:
            sources["EmailSender"] = Literal(email_sender)
        if public_base_url:
            sources["PublicBaseUrl"] = Literal(public_base_url)
        if api_domain:
            sources["ApiDomainName"] = Output(domain, "DomainName")
        declared = set(svc["parameters"])
        params = {k: v for k, v in sources.items() if k in declared}
        link_secrets |= check_service_settings(stage, package_dir / svc["template"], params)
        service_steps.append(Step(svc["stack"], package_dir / svc["template"], params,
                                  label=f"service {name} (/{svc['base_path']})"))
    return Plan(stage=stage, bucket=bucket, prefix=f"caspr/{stage}", first=first, services=service_steps,
                link_secrets=sorted(link_secrets))


SETTING_PARAMETERS = {"LinkSecretName": "CASPR_LINK_SECRET_NAME", "AdminAlertEmail": "CASPR_ADMIN_ALERT_EMAIL",
                      "PublicBaseUrl": "CASPR_PUBLIC_BASE_URL", "PaymentProvider": "CASPR_PAYMENT_PROVIDER"}


def check_service_settings(stage: str, template_path: Path, params: dict[str, Source]) -> set[str]:
    """The production settings a service stack will give its functions (a parameter given
    here, else the template's default from `make package`), refused when missing (as the
    functions would at start). Returns the link secret names to create or read."""
    from shared.settings import production_problems

    declared = json.loads(template_path.read_text()).get("Parameters", {})
    values = {}
    for param, env_name in SETTING_PARAMETERS.items():
        if param not in declared:
            continue
        source = params.get(param)
        values[env_name] = source.value if isinstance(source, Literal) else str(declared[param].get("Default", ""))
    problems = production_problems(stage, values) if len(values) == len(SETTING_PARAMETERS) else []
    if problems:
        raise DeployError(f"{template_path.parent.name}: production settings missing or refused: "
                          + "; ".join(problems))
    name = values.get("CASPR_LINK_SECRET_NAME", "")
    return {name} if name else set()


# ------------------------------------------------------------------------- artifacts

def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


LOCAL_ARTIFACTS = {  # resource type -> property holding a path relative to the template
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def local_artifacts(template: dict, base: Path) -> list[tuple[str, str, Path]]:
    """(logical id, property, file) for each local path the template points at."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        prop = LOCAL_ARTIFACTS.get(resource.get("Type"))
        value = resource.get("Properties", {}).get(prop) if prop else None
        if isinstance(value, str) and not value.startswith("s3://"):
            path = (base / value).resolve()
            if not path.is_file():
                raise DeployError(f"{logical_id}.{prop} points at {path}, which does not exist")
            found.append((logical_id, prop, path))
    return found


def artifact_key(plan: Plan, path: Path) -> str:
    return f"{plan.prefix}/artifacts/{sha256(path)}{path.suffix}"


# ---------------------------------------------------------------------------- deploy

class Deployer:
    def __init__(self, plan: Plan, client_factory: Callable[[str], Any], region: str, out=print):
        self.plan = plan
        self._factory = client_factory
        self.region = region
        self._local = threading.local()
        self._lock = threading.Lock()
        self.outputs: dict[str, dict[str, str]] = {}
        self._out = out

    def log(self, stack: str, msg: str) -> None:
        with self._lock:
            self._out(f"[{stack}] {msg}")

    def client(self, name: str):
        clients = self._local.__dict__.setdefault("clients", {})
        if name not in clients:
            with self._lock:  # creating clients from one boto3 session is not thread-safe
                clients[name] = self._factory(name)
        return clients[name]

    # -- S3
    def check_bucket(self) -> None:
        s3 = self.client("s3")
        try:
            location = s3.get_bucket_location(Bucket=self.plan.bucket).get("LocationConstraint") or "us-east-1"
        except Exception as exc:  # noqa: BLE001 - reported with the bucket name
            raise DeployError(f"cannot use artifact bucket {self.plan.bucket!r}: {exc}") from exc
        if location == "EU":
            location = "eu-west-1"
        if location != self.region:
            raise DeployError(f"artifact bucket {self.plan.bucket!r} is in {location}, the deployment in "
                              f"{self.region}: Lambda code must come from a bucket in the same region")

    def upload(self, path: Path, key: str, stack: str) -> None:
        s3 = self.client("s3")
        try:
            s3.head_object(Bucket=self.plan.bucket, Key=key)
            self.log(stack, f"s3://{self.plan.bucket}/{key} already there ({path.name})")
            return
        except Exception as exc:  # noqa: BLE001 - 404 means: upload it
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code not in ("404", "NoSuchKey", "NotFound"):
                raise
        self.log(stack, f"uploading {path.name} ({path.stat().st_size / 1e6:.1f} MB) to s3://{self.plan.bucket}/{key}")
        s3.upload_file(str(path), self.plan.bucket, key)

    def package(self, step: Step) -> str:
        """Upload the step's artifacts, rewrite the template to point at them, upload the
        template; returns its URL (templates over 51 kB cannot be sent inline)."""
        template = json.loads(step.template.read_text())
        uploaded: set[str] = set()
        for logical_id, prop, path in local_artifacts(template, step.template.parent):
            key = artifact_key(self.plan, path)
            if key not in uploaded:
                self.upload(path, key, step.stack)
                uploaded.add(key)
            template["Resources"][logical_id]["Properties"][prop] = f"s3://{self.plan.bucket}/{key}"
        body = json.dumps(template, indent=1, sort_keys=True).encode()
        key = f"{self.plan.prefix}/templates/{step.stack}-{hashlib.sha256(body).hexdigest()[:16]}.json"
        self.client("s3").put_object(Bucket=self.plan.bucket, Key=key, Body=body,
                                     ContentType="application/json")
        if "." in self.plan.bucket:  # virtual-hosted TLS does not cover dotted bucket names
            return f"https://s3.{self.region}.amazonaws.com/{self.plan.bucket}/{key}"
        return f"https://{self.plan.bucket}.s3.{self.region}.amazonaws.com/{key}"

    # -- parameters
    def resolve(self, source: Source) -> str:
        if isinstance(source, Literal):
            return source.value
        if isinstance(source, Output):
            outputs = self.outputs.get(source.stack)
            if outputs is None:
                outputs = self.outputs[source.stack] = self.stack_outputs(source.stack)
            if source.key not in outputs:
                raise DeployError(f"stack {source.stack} has no output {source.key} "
                                  f"(has: {sorted(outputs)})")
            return outputs[source.key]
        if isinstance(source, QueueArn):
            url = self.resolve(source.url)
            attrs = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            return attrs["Attributes"]["QueueArn"]
        raise TypeError(source)

    def stack_outputs(self, stack: str) -> dict[str, str]:
        desc = self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}

    # -- CloudFormation
    def stack_status(self, stack: str) -> str | None:
        cfn = self.client("cloudformation")
        try:
            return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except Exception as exc:  # noqa: BLE001
            if "does not exist" in str(exc):
                return None
            raise

    def deploy_step(self, step: Step) -> None:
        cfn = self.client("cloudformation")
        self.log(step.stack, f"deploying {step.label} from {step.template.name}")
        url = self.package(step)
        params = [{"ParameterKey": k, "ParameterValue": self.resolve(v)} for k, v in sorted(step.parameters.items())]
        status = self.stack_status(step.stack)
        if status and status.endswith("_IN_PROGRESS"):
            self.log(step.stack, f"waiting: the stack is {status}")
            waiter = "stack_create_complete" if status.startswith("CREATE") else "stack_update_complete"
            try:
                cfn.get_waiter(waiter).wait(StackName=step.stack, WaiterConfig=WAIT)
            except Exception:  # noqa: BLE001 - the status below says what to do
                pass
            status = self.stack_status(step.stack)
        if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
            self.log(step.stack, f"stack is {status} (a failed first creation): deleting it to start over")
            cfn.delete_stack(StackName=step.stack)
            cfn.get_waiter("stack_delete_complete").wait(StackName=step.stack, WaiterConfig=WAIT)
            status = None
        change_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS", "DELETE_COMPLETE") else "UPDATE"
        name = f"caspr-{int(time.time())}"
        cfn.create_change_set(
            StackName=step.stack, ChangeSetName=name, ChangeSetType=change_type, TemplateURL=url,
            Parameters=params, Capabilities=CAPABILITIES,
            Tags=[{"Key": "caspr-stage", "Value": self.plan.stage}],
            Description=f"make deploy STAGE={self.plan.stage}",
        )
        try:
            cfn.get_waiter("change_set_create_complete").wait(
                StackName=step.stack, ChangeSetName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
        except Exception as exc:  # noqa: BLE001 - a change set without changes "fails"
            desc = cfn.describe_change_set(StackName=step.stack, ChangeSetName=name)
            reason = desc.get("StatusReason", "")
            if desc.get("Status") == "FAILED" and any(s in reason for s in NO_CHANGES):
                self.log(step.stack, "no changes")
                cfn.delete_change_set(StackName=step.stack, ChangeSetName=name)
                self.outputs[step.stack] = self.stack_outputs(step.stack)
                return
            raise DeployError(f"{step.stack}: change set failed: {reason or exc}") from exc
        changes = cfn.describe_change_set(StackName=step.stack, ChangeSetName=name).get("Changes", [])
        self.log(step.stack, f"{change_type.lower()}: {len(changes)} resource change(s)")
        cfn.execute_change_set(StackName=step.stack, ChangeSetName=name)
        waiter = "stack_create_complete" if change_type == "CREATE" else "stack_update_complete"
        try:
            cfn.get_waiter(waiter).wait(StackName=step.stack, WaiterConfig=WAIT)
        except Exception as exc:  # noqa: BLE001
            raise DeployError(f"{step.stack}: {waiter} failed ({exc}); see the stack's events in the console "
                              f"or `aws cloudformation describe-stack-events --stack-name {step.stack}`") from exc
        self.outputs[step.stack] = self.stack_outputs(step.stack)
        self.log(step.stack, "done")

    # -- the email-link signing key
    def ensure_link_secret(self, name: str) -> None:
        """Read (an SSM SecureString or a Secrets Manager secret must exist) or create (an SSM
        SecureString with a random value) the signing key; its value is never printed."""
        if name.startswith("arn:") and ":secretsmanager:" in name:
            self.client("secretsmanager").describe_secret(SecretId=name)
            self.log("link-secret", f"using the Secrets Manager secret {name}")
            return
        ssm = self.client("ssm")
        try:
            found = ssm.get_parameter(Name=name, WithDecryption=False)["Parameter"]
        except Exception as exc:  # noqa: BLE001 - ParameterNotFound: create it
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code != "ParameterNotFound":
                raise DeployError(f"cannot read the email-link signing key {name}: {exc}") from exc
            ssm.put_parameter(Name=name, Type="SecureString", Value=secrets.token_urlsafe(48), Overwrite=False,
                              Description=f"CASPR {self.plan.stage}: email-link signing key (make deploy)")
            self.log("link-secret", f"created the SSM SecureString {name} (a random key)")
            return
        if found.get("Type") != "SecureString":
            raise DeployError(f"the email-link signing key {name} is a {found.get('Type')} parameter; it must be "
                              "a SecureString")
        self.log("link-secret", f"using the SSM SecureString {name}")

    def run(self, parallel: int = 3) -> dict[str, dict[str, str]]:
        self.check_bucket()
        for name in self.plan.link_secrets:
            self.ensure_link_secret(name)
        for step in self.plan.first:
            self.deploy_step(step)
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            for future in [pool.submit(self.deploy_step, s) for s in self.plan.services]:
                future.result()
        return self.outputs


# ------------------------------------------------------------------------------ main

def print_plan(plan: Plan, out=print) -> None:
    out(f"deploy plan: stage {plan.stage}, artifacts in s3://{plan.bucket}/{plan.prefix}/")
    for name in plan.link_secrets:
        out(f"0. email-link signing key {name} (an SSM SecureString is created with a random value if missing)")
    for i, step in enumerate(plan.steps, 1):
        parallel = " (in parallel with the other services)" if step in plan.services else ""
        out(f"{i}. stack {step.stack}: {step.label}{parallel}")
        out(f"   template {step.template}")
        template = json.loads(step.template.read_text())
        uploads: dict[Path, list[str]] = {}
        for logical_id, prop, path in local_artifacts(template, step.template.parent):
            uploads.setdefault(path, []).append(f"{logical_id}.{prop}")
        for path, users in uploads.items():
            out(f"   upload   {path.name} -> s3://{plan.bucket}/{artifact_key(plan, path)} ({', '.join(users)})")
        for key, source in sorted(step.parameters.items()):
            out(f"   param    {key} = {source.describe()}")
        declared = template.get("Parameters", {})
        for key in sorted(set(declared) - set(step.parameters)):
            default = declared[key].get("Default")
            if default is None:
                raise DeployError(f"{step.stack}: parameter {key} has no value and no default")
            out(f"   param    {key} = default {default!r}")


def summary(plan: Plan, outputs: dict[str, dict[str, str]], out=print) -> None:
    out("\nendpoints:")
    domain = next((o for s, o in outputs.items() if s.endswith("-domain")), None)
    for step in plan.services:
        o = outputs.get(step.stack, {})
        base = o.get("ApiBasePath", "")
        via = f"  https://{domain['DomainName']}{base}" if domain and base else ""
        out(f"  {step.stack:<28} {o.get('EndpointURL', '(no API)')}{via}")
    if domain:
        out(f"\npoint DNS {domain['DomainName']} at {domain['RegionalDomainName']} "
            f"(alias, zone {domain['RegionalHostedZoneId']}) unless CASPR_HOSTED_ZONE_ID did it")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="deploy build/package to AWS (see module docstring)")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--dir", default="build/package")
    parser.add_argument("--region", default=None, help="default: AWS_REGION / AWS_DEFAULT_REGION / profile")
    parser.add_argument("--services", default="", help="comma-separated subset (default: all packaged)")
    parser.add_argument("--parallel", type=int, default=3, help="service stacks deployed at once")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, call no AWS API")
    args = parser.parse_args(argv)

    bucket = _env("CASPR_ARTIFACT_BUCKET")
    try:
        if not bucket and not args.dry_run:
            raise DeployError("CASPR_ARTIFACT_BUCKET is not set: give an S3 bucket in the deployment region for "
                              "the Lambda code and templates, e.g. "
                              f"`make deploy STAGE={args.stage} CASPR_ARTIFACT_BUCKET=my-caspr-artifacts`")
        plan = build_plan(Path(args.dir), args.stage, bucket or "<CASPR_ARTIFACT_BUCKET>",
                          [s for s in args.services.split(",") if s] or None)
        print_plan(plan)
        if args.dry_run:
            print("\ndry run: nothing deployed")
            return 0
        import boto3

        session = boto3.session.Session(region_name=args.region)
        if not session.region_name:
            raise DeployError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or --region)")
        if session.get_credentials() is None:
            raise DeployError("no AWS credentials in the environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)")
        account = session.client("sts").get_caller_identity()["Account"]
        print(f"\ndeploying stage {args.stage} to account {account} in {session.region_name}")
        deployer = Deployer(plan, session.client, session.region_name)
        outputs = deployer.run(parallel=args.parallel)
        summary(plan, outputs)
        return 0
    except DeployError as exc:
        print(f"make deploy FAILED: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
