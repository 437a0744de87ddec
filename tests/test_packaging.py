"""`make package` and `make deploy` (scripts/package.py, scripts/deploy.py).

The integration test packages one service + the shared stack for real (chalice,
cfn-lint, the python3.13 import smoke test), reusing the cached layer when it is
current (build/cache/layer). The others are fast: the template post-processing and the deploy logic
against a fake AWS that records every call."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from scripts import deploy, package

ROOT = Path(__file__).resolve().parents[1]
# what an operator gives `make package`/`make deploy` outside local/dev (shared.settings)
PRODUCTION_ENV = {"CASPR_LINK_SECRET_NAME": "/caspr/ci/link-secret", "CASPR_ADMIN_ALERT_EMAIL": "ops@caspr.example",
                  "CASPR_PUBLIC_BASE_URL": "https://api.caspr.example", "CASPR_PAYMENT_PROVIDER": "card-processor"}
SETTINGS = package.function_settings("ci", PRODUCTION_ENV)


# ----------------------------------------------------------------- the real build

@pytest.mark.integration
def test_packaging_one_service_and_shared_lint_clean_on_python313(tmp_path, capsys, monkeypatch):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "package"  # the layer comes from build/cache/layer when current (else it is built)
    rc = package.main(["--stage", "ci", "--out", str(out), "--services", "registration"])
    printed = capsys.readouterr()
    assert rc == 0, printed.out + printed.err
    assert "cfn-lint: 0 errors" in printed.out

    lint = package.cfn_lint([out / "shared.json", out / "layer.json", out / "registration" / "sam.json"])
    assert [f for findings in lint.values() for f in findings if f["Level"] == "Error"] == []

    template = json.loads((out / "registration" / "sam.json").read_text())
    functions = {k: r["Properties"] for k, r in template["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    assert {p["Handler"] for p in functions.values()} == {"app.app", "registration.consumers.on_event",
                                                          "registration.relay.relay_outbox",
                                                          "registration.relay.sweep_outbox"}
    [schedule] = [p["Events"] for p in functions.values() if p["Handler"].endswith("sweep_outbox")]
    assert [e["Properties"]["Schedule"] for e in schedule.values()] == ["rate(5 minutes)"]
    [relay] = [p["Events"] for p in functions.values() if p["Handler"].endswith("relay_outbox")]
    [relay_event] = relay.values()
    assert relay_event["Type"] == "DynamoDB"
    _assert_relay_event(relay_event["Properties"])
    for props in functions.values():
        assert props["Runtime"] == "python3.13"
        assert props["Layers"] == [{"Ref": "DependenciesLayerArn"}]
        env = props["Environment"]["Variables"]
        assert env["CASPR_STAGE"] == "ci"
        assert env["CASPR_USER_POOL_ID"] == {"Ref": "UserPoolId"}
        assert env["CASPR_EVENT_BUS"] == {"Ref": "EventBusName"}
        assert env["CASPR_SCHEDULER_ROLE_ARN"] == {"Ref": "SchedulerRoleArn"}
        assert env["CASPR_LINK_SECRET_NAME"]["Fn::If"][1] == {"Ref": "LinkSecretName"}
        assert "CASPR_LINK_SECRET" not in env
        for event in props.get("Events", {}).values():
            if event["Type"] in ("Schedule", "DynamoDB"):
                continue
            assert event["Type"] == "SQS"
            assert event["Properties"]["Queue"] == {"Ref": "EventsQueueArn"}
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert any("Events" in p for p in functions.values())
    assert template["Parameters"]["LinkSecretName"]["Default"] == "/caspr/ci/link-secret"
    alarms = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == {f"{k}ErrorsAlarm" for k in functions}

    with zipfile.ZipFile(out / "registration" / "deployment.zip") as zf:
        names = set(zf.namelist())
    assert {"app.py", "shared/__init__.py", "registration/__init__.py"} <= names
    assert not any(n.startswith(("vendor/", "tests/")) for n in names)
    assert not (ROOT / "services" / "registration" / "vendor").exists()  # never vendored in the source tree
    assert not (ROOT / "services" / "registration" / ".chalice" / "deployments").exists()
    with zipfile.ZipFile(out / "layer.zip") as zf:
        layer = set(zf.namelist())
    assert "python/pydantic_core/__init__.py" in layer and "python/aws_lambda_powertools/__init__.py" in layer

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "ci"
    assert manifest["services"]["registration"]["queue"] == "caspr-ci-registration-events"
    plan = deploy.build_plan(out, "ci", "bucket")
    assert [s.stack for s in plan.steps] == ["caspr-ci-layer", "caspr-ci-shared", "caspr-ci-registration"]


@pytest.mark.integration
def test_packaging_cfn_lint_reports_template_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "soon", "Colour": "blue"}}}}))
    findings = package.cfn_lint([bad])[bad]
    assert [f for f in findings if f["Level"] == "Error"]


# ------------------------------------------------------- template post-processing

def _assert_relay_event(props: dict) -> None:
    from shared.adapters.outbox import STREAM_FILTER
    from shared.relay import RELAY_MAX_RETRIES

    assert props["Stream"] == {"Ref": "TableStreamArn"}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]] == [STREAM_FILTER]
    assert props["MaximumRetryAttempts"] == RELAY_MAX_RETRIES
    assert props["BisectBatchOnFunctionError"] is False
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Ref": "RelayDeadLetterQueueArn"}}}


def _chalice_like(queue: str = "caspr-ci-registration-events", timeout: int = 30,
                  table: str = "caspr-ci-registration") -> dict:
    fn = {"Runtime": "python3.11", "Handler": "app.app", "CodeUri": "./deployment.zip", "Timeout": timeout,
          "Environment": {"Variables": {"CASPR_STAGE": "ci"}}, "Role": {"Fn::GetAtt": ["DefaultRole", "Arn"]}}
    consumer = dict(fn, Handler="registration.consumers.on_event", Events={"OnEventSqsEventSource": {
        "Type": "SQS", "Properties": {
            "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + queue},
            "BatchSize": 10}}})
    relay = dict(fn, Handler="registration.relay.relay_outbox", Events={"RelayOutboxDynamodbEventSource": {
        "Type": "DynamoDB", "Properties": {
            "Stream": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/caspr-placeholder",
            "BatchSize": 100, "StartingPosition": "TRIM_HORIZON"}}})
    sweep = dict(fn, Handler="registration.relay.sweep_outbox", Events={"SweepOutboxEvent": {
        "Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}}})
    return {"Resources": {
        "DefaultRole": {"Type": "AWS::IAM::Role", "Properties": {"Policies": []}},
        "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": fn},
        "OnEvent": {"Type": "AWS::Serverless::Function", "Properties": consumer},
        "RelayOutbox": {"Type": "AWS::Serverless::Function", "Properties": relay},
        "SweepOutbox": {"Type": "AWS::Serverless::Function", "Properties": sweep},
        "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"EndpointConfiguration": "EDGE"}},
    }}


def _svc(name: str = "registration", queue: str | None = "caspr-ci-registration-events") -> package.ServiceBuild:
    return package.ServiceBuild(name=name, base_path=package.SERVICES[name], has_table=True,
                                has_queue=queue is not None, queue_name=queue, queue_visibility=180,
                                out=Path("unused"))


def _without_table_functions(t: dict) -> dict:
    for name in ("OnEvent", "RelayOutbox", "SweepOutbox"):
        del t["Resources"][name]
    return t


def test_packaging_finish_template_wires_runtime_layer_queue_and_policy():
    t = package.finish_template(_svc(), "ci", _chalice_like(), SETTINGS)
    res = t["Resources"]
    for fn in ("APIHandler", "OnEvent", "RelayOutbox", "SweepOutbox"):
        assert res[fn]["Properties"]["Runtime"] == "python3.13"
        assert res[fn]["Properties"]["Layers"] == [{"Ref": "DependenciesLayerArn"}]
    event = res["OnEvent"]["Properties"]["Events"]["OnEventSqsEventSource"]["Properties"]
    assert event["Queue"] == {"Ref": "EventsQueueArn"}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    statements = res["DefaultRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert {"dynamodb:ConditionCheckItem", "dynamodb:UpdateItem"} <= set(by_sid["OwnTable"]["Action"])
    assert any("/index/*" in r["Fn::Sub"] for r in by_sid["OwnTable"]["Resource"])
    assert by_sid["OwnQueue"]["Resource"] == {"Ref": "EventsQueueArn"}
    assert "scheduler:CreateSchedule" in by_sid["CalendarSchedules"]["Action"]
    assert by_sid["PassSchedulerRole"]["Resource"] == {"Ref": "SchedulerRoleArn"}
    assert res["RestAPI"]["Properties"]["EndpointConfiguration"] == "REGIONAL"
    assert res["ApiBasePathMapping"]["Properties"]["BasePath"] == "registration"
    assert {"EventsQueueArn", "TableName", "DependenciesLayerArn", "UserPoolId"} <= set(t["Parameters"])


def test_packaging_relay_reads_its_tables_stream_with_filter_retries_and_failure_queue():
    t = package.finish_template(_svc(), "ci", _chalice_like(), SETTINGS)
    res = t["Resources"]
    [event] = res["RelayOutbox"]["Properties"]["Events"].values()
    assert event["Type"] == "DynamoDB"
    _assert_relay_event(event["Properties"])
    [schedule] = res["SweepOutbox"]["Properties"]["Events"].values()
    assert schedule == {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}}
    assert {"TableStreamArn", "RelayDeadLetterQueueArn"} <= set(t["Parameters"])
    by_sid = {s["Sid"]: s for s in res["DefaultRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]}
    assert set(by_sid["OutboxStream"]["Action"]) == {"dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                                      "dynamodb:DescribeStream"}
    assert by_sid["OutboxStream"]["Resource"] == {"Ref": "TableStreamArn"}
    assert by_sid["OutboxStreamList"]["Action"] == "dynamodb:ListStreams"
    assert by_sid["RelayFailures"] == {"Sid": "RelayFailures", "Effect": "Allow", "Action": "sqs:SendMessage",
                                       "Resource": {"Ref": "RelayDeadLetterQueueArn"}}
    for fn in ("APIHandler", "OnEvent", "RelayOutbox", "SweepOutbox"):  # Lambda errors of each function
        alarm = res[f"{fn}ErrorsAlarm"]["Properties"]
        assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Errors", 0, "GreaterThanThreshold")
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": fn}}]


def test_packaging_refuses_a_relay_of_another_table():
    with pytest.raises(package.PackageError, match="caspr-ci-match"):
        package.finish_template(_svc(), "ci", _chalice_like(table="caspr-ci-match"), SETTINGS)


def test_packaging_gives_the_functions_the_link_secret_name_never_a_key():
    t = package.finish_template(_svc(), "ci", _chalice_like(), SETTINGS)
    env = t["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["CASPR_LINK_SECRET_NAME"] == {"Fn::If": ["HasLinkSecretName", {"Ref": "LinkSecretName"},
                                                        {"Ref": "AWS::NoValue"}]}
    assert "CASPR_LINK_SECRET" not in env and "LinkSecret" not in t["Parameters"]
    assert t["Parameters"]["LinkSecretName"]["Default"] == "/caspr/ci/link-secret"
    by_sid = {s["Sid"]: s for s in t["Resources"]["DefaultRole"]["Properties"]["Policies"][0]["PolicyDocument"]
              ["Statement"]}
    ssm_arn = by_sid["ReadLinkSecret"]["Resource"]["Fn::If"][1]["Fn::Sub"]
    assert ssm_arn.endswith(":parameter${LinkSecretName}")


def test_make_package_stage_prod_without_the_signing_key_fails_naming_it():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "CASPR_LINK_SECRET_NAME"}
    with pytest.raises(package.PackageError, match="CASPR_LINK_SECRET_NAME"):
        package.check_settings("prod", env)
    assert package.check_settings("prod", {**env, "CASPR_LINK_SECRET_NAME": "/caspr/prod/link-secret"}) == []


@pytest.mark.parametrize("missing", ["CASPR_ADMIN_ALERT_EMAIL", "CASPR_PUBLIC_BASE_URL", "CASPR_PAYMENT_PROVIDER"])
def test_make_package_stage_prod_names_each_missing_setting(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(package.PackageError, match=missing):
        package.check_settings("prod", env)


def test_make_package_refuses_the_test_payment_provider_and_a_key_value_outside_local_and_dev():
    with pytest.raises(package.PackageError, match="CASPR_PAYMENT_PROVIDER='test' is refused"):
        package.check_settings("prod", {**PRODUCTION_ENV, "CASPR_PAYMENT_PROVIDER": "test"})
    with pytest.raises(package.PackageError, match="CASPR_LINK_SECRET"):
        package.check_settings("prod", {**PRODUCTION_ENV, "CASPR_LINK_SECRET": "a-key-in-the-environment"})
    # dev (the default `make package`) only warns, and may use the test provider
    problems = package.check_settings("dev", {})
    assert any("CASPR_PUBLIC_BASE_URL" in p for p in problems)
    assert not any("CASPR_PAYMENT_PROVIDER" in p or "CASPR_LINK_SECRET_NAME" in p for p in problems)


def test_packaging_identity_gets_cognito_admin_and_auth_base_path():
    t = _without_table_functions(_chalice_like())
    svc = package.ServiceBuild(name="identity", base_path="auth", has_table=False, has_queue=False,
                               queue_name=None, queue_visibility=None, out=Path("unused"))
    done = package.finish_template(svc, "ci", t)
    sids = {s["Sid"] for s in done["Resources"]["DefaultRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"]}
    assert "UserPoolAdmin" in sids and "OwnTable" not in sids and "OwnQueue" not in sids
    assert done["Resources"]["ApiBasePathMapping"]["Properties"]["BasePath"] == "auth"
    assert "EventsQueueArn" not in done["Parameters"] and "TableName" not in done["Parameters"]


def test_packaging_refuses_a_consumer_of_another_queue():
    with pytest.raises(package.PackageError, match="caspr-ci-other-events"):
        package.finish_template(_svc(), "ci", _chalice_like(queue="caspr-ci-other-events"))


def test_packaging_refuses_a_queue_without_consumer():
    t = _chalice_like()
    del t["Resources"]["OnEvent"]
    with pytest.raises(package.PackageError, match="no on_sqs_message"):
        package.finish_template(_svc(), "ci", t)


def test_packaging_refuses_consumer_timeout_over_queue_visibility():
    with pytest.raises(package.PackageError, match="visibility"):
        package.finish_template(_svc(), "ci", _chalice_like(timeout=900))


def test_packaging_chalice_config_adds_the_stage_and_turns_autogen_policy_off(tmp_path):
    src = tmp_path / "config.json"
    src.write_text(json.dumps({"version": "2.0", "app_name": "x", "stages": {"dev": {}}}))
    config = package.chalice_config(src, "qa")
    assert config["autogen_policy"] is False
    assert config["stages"]["qa"]["environment_variables"]["CASPR_STAGE"] == "qa"
    assert config["stages"]["qa"]["api_gateway_stage"] == "api"


def test_packaging_zip_normalisation_is_deterministic(tmp_path):
    for i in range(2):
        z = tmp_path / f"{i}.zip"
        with zipfile.ZipFile(z, "w") as zf:
            for name in (["b.py", "a.py"] if i else ["a.py", "b.py"]):
                zf.writestr(zipfile.ZipInfo(name, (2020 + i, 1, 1, 0, 0, 0)), f"# {name}\n")
        package.normalize_zip(z)
    assert (tmp_path / "0.zip").read_bytes() == (tmp_path / "1.zip").read_bytes()


# --------------------------------------------------------------------------- deploy

def _fake_package(tmp_path: Path, stage: str = "ci") -> Path:
    """A package dir shaped like `make package`'s, with tiny artifacts."""
    out = tmp_path / "package"
    (out / "registration").mkdir(parents=True)
    (out / "identity").mkdir()
    with zipfile.ZipFile(out / "layer.zip", "w") as zf:
        zf.writestr("python/dep.py", "x = 1\n")
    (out / "layer.json").write_text(json.dumps(package.layer_template(stage)))
    (out / "shared.json").write_text(json.dumps({"Parameters": {"EmailSender": {"Type": "String",
                                                                                "Default": "a@b.c"}},
                                                 "Resources": {}}))
    (out / "domain.json").write_text(json.dumps(package.domain_template(stage)))
    services = {}
    for name in ("registration", "identity"):
        with zipfile.ZipFile(out / name / "deployment.zip", "w") as zf:
            zf.writestr("app.py", f"# {name}\n")
        svc = _svc() if name == "registration" else package.ServiceBuild(
            name="identity", base_path="auth", has_table=False, has_queue=False, queue_name=None,
            queue_visibility=None, out=out / name)
        t = _chalice_like()
        if name == "identity":
            _without_table_functions(t)
        t = package.finish_template(svc, stage, t, package.function_settings(stage, PRODUCTION_ENV))
        (out / name / "sam.json").write_text(json.dumps(t))
        services[name] = {"template": f"{name}/sam.json", "stack": f"caspr-{stage}-{name}",
                          "base_path": svc.base_path, "parameters": sorted(t["Parameters"])}
    (out / "manifest.json").write_text(json.dumps({
        "stage": stage,
        "layer": {"template": "layer.json", "stack": f"caspr-{stage}-layer"},
        "shared": {"template": "shared.json", "stack": f"caspr-{stage}-shared"},
        "domain": {"template": "domain.json", "stack": f"caspr-{stage}-domain"},
        "services": services,
    }))
    return out


class ClientError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.response = {"Error": {"Code": code, "Message": message}}


class FakeAWS:
    """S3, SQS and CloudFormation as far as scripts.deploy uses them; records calls."""

    def __init__(self, region="us-east-1", bucket_region=None, unchanged=()):
        self.region = region
        self.bucket_region = bucket_region
        self.objects: dict[str, bytes] = {}
        self.stacks: dict[str, dict] = {}
        self.calls: list[tuple] = []
        self.unchanged = set(unchanged)
        self._change_sets: dict[tuple, dict] = {}
        self.parameters: dict[str, dict] = {}

    def client(self, name):
        return self

    # s3
    def get_bucket_location(self, Bucket):
        return {"LocationConstraint": self.bucket_region}

    def head_object(self, Bucket, Key):
        if Key not in self.objects:
            raise ClientError("404")
        return {}

    def upload_file(self, filename, bucket, key):
        self.calls.append(("upload", key))
        self.objects[key] = Path(filename).read_bytes()

    def put_object(self, Bucket, Key, Body, ContentType):
        self.objects[Key] = Body

    # sqs
    def get_queue_attributes(self, QueueUrl, AttributeNames):
        name = QueueUrl.rsplit("/", 1)[-1]
        return {"Attributes": {"QueueArn": f"arn:aws:sqs:{self.region}:111122223333:{name}"}}

    # ssm
    def get_parameter(self, Name, WithDecryption):
        if Name not in self.parameters:
            raise ClientError("ParameterNotFound")
        return {"Parameter": {"Name": Name, **self.parameters[Name]}}

    def put_parameter(self, Name, Type, Value, Overwrite, Description=""):
        assert not Overwrite and Name not in self.parameters
        self.calls.append(("put_parameter", Name, Type))
        self.parameters[Name] = {"Type": Type, "Value": Value}

    # cloudformation
    def describe_stacks(self, StackName):
        if StackName not in self.stacks:
            raise ClientError("ValidationError", f"Stack with id {StackName} does not exist")
        return {"Stacks": [self.stacks[StackName]]}

    def create_change_set(self, StackName, ChangeSetName, ChangeSetType, TemplateURL, Parameters, **kw):
        key = TemplateURL.split(".amazonaws.com/", 1)[1].removeprefix("my.bucket/")
        template = json.loads(self.objects[key])
        self.calls.append(("change_set", StackName, ChangeSetType, {p["ParameterKey"]: p["ParameterValue"]
                                                                    for p in Parameters}, template))
        self._change_sets[(StackName, ChangeSetName)] = {"type": ChangeSetType, "template": template}

    def describe_change_set(self, StackName, ChangeSetName):
        if StackName in self.unchanged:
            return {"Status": "FAILED", "StatusReason": "The submitted information didn't contain changes."}
        return {"Status": "CREATE_COMPLETE", "Changes": [{}]}

    def delete_change_set(self, StackName, ChangeSetName):
        self.calls.append(("delete_change_set", StackName))

    def execute_change_set(self, StackName, ChangeSetName):
        self.calls.append(("execute", StackName))
        outputs = {
            "layer": {"DependenciesLayerArn": "arn:aws:lambda:us-east-1:111122223333:layer:deps:7"},
            "shared": {"EventBusName": "caspr-ci-bus", "UserPoolId": "us-east-1_pool", "UserPoolClientId": "cid",
                       "SchedulerRoleArn": "arn:aws:iam::111122223333:role/caspr-ci-scheduler",
                       "RegistrationTableName": "caspr-ci-registration",
                       "RegistrationTableStreamArn": "arn:aws:dynamodb:us-east-1:111122223333:table/"
                                                     "caspr-ci-registration/stream/2024-01-01T00:00:00.000",
                       "RegistrationRelayDeadLetterQueueArn": "arn:aws:sqs:us-east-1:111122223333:"
                                                              "caspr-ci-registration-relay-dlq",
                       "AlarmTopicArn": "arn:aws:sns:us-east-1:111122223333:caspr-ci-alarms",
                       "RegistrationQueueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/"
                                               "caspr-ci-registration-events"},
        }.get(StackName.rsplit("-", 1)[-1], {"EndpointURL": f"https://{StackName}.example/api/",
                                             "ApiBasePath": "/x"})
        self.stacks[StackName] = {"StackStatus": "CREATE_COMPLETE",
                                  "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}

    def get_waiter(self, name):
        fake = self

        class Waiter:
            def wait(self, StackName, ChangeSetName=None, WaiterConfig=None):
                if name == "change_set_create_complete" and StackName in fake.unchanged:
                    raise RuntimeError("Waiter ChangeSetCreateComplete failed")

        return Waiter()


def test_deploy_dry_run_prints_the_plan_and_calls_no_aws(tmp_path, capsys, monkeypatch):
    out = _fake_package(tmp_path)
    monkeypatch.delenv("CASPR_ARTIFACT_BUCKET", raising=False)
    monkeypatch.setattr(deploy, "Deployer", None)  # any use of AWS would fail
    assert deploy.main(["--stage", "ci", "--dir", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "1. stack caspr-ci-layer" in text and "2. stack caspr-ci-shared" in text
    assert "EventsQueueArn = ARN of the queue at output RegistrationQueueUrl of caspr-ci-shared" in text
    assert "DependenciesLayerArn = output DependenciesLayerArn of caspr-ci-layer" in text
    assert "dry run: nothing deployed" in text


def test_deploy_without_bucket_fails_clearly(tmp_path, capsys, monkeypatch):
    out = _fake_package(tmp_path)
    monkeypatch.delenv("CASPR_ARTIFACT_BUCKET", raising=False)
    assert deploy.main(["--stage", "ci", "--dir", str(out)]) == 2
    assert "CASPR_ARTIFACT_BUCKET is not set" in capsys.readouterr().err


def test_deploy_refuses_a_package_of_another_stage(tmp_path):
    out = _fake_package(tmp_path, stage="ci")
    with pytest.raises(deploy.DeployError, match="packaged for stage 'ci'"):
        deploy.build_plan(out, "prod", "bucket")


def test_deploy_uploads_artifacts_and_wires_stack_outputs_into_service_parameters(tmp_path, monkeypatch):
    for var in ("CASPR_API_DOMAIN", "CASPR_EMAIL_SENDER", "CASPR_PUBLIC_BASE_URL", "CASPR_LINK_SECRET",
                *PRODUCTION_ENV):
        monkeypatch.delenv(var, raising=False)
    out = _fake_package(tmp_path)
    aws = FakeAWS()
    plan = deploy.build_plan(out, "ci", "bucket")
    deployer = deploy.Deployer(plan, aws.client, "us-east-1", out=lambda msg: None)
    deployer.run(parallel=2)

    change_sets = {c[1]: c for c in aws.calls if c[0] == "change_set"}
    assert list(change_sets)[:2] == ["caspr-ci-layer", "caspr-ci-shared"]
    layer_template = change_sets["caspr-ci-layer"][4]
    assert layer_template["Resources"]["DependenciesLayer"]["Properties"]["ContentUri"].startswith(
        "s3://bucket/caspr/ci/artifacts/")
    _, _, kind, params, template = change_sets["caspr-ci-registration"]
    assert kind == "CREATE"
    assert params["DependenciesLayerArn"] == "arn:aws:lambda:us-east-1:111122223333:layer:deps:7"
    assert params["EventsQueueArn"] == "arn:aws:sqs:us-east-1:111122223333:caspr-ci-registration-events"
    assert params["UserPoolId"] == "us-east-1_pool" and params["TableName"] == "caspr-ci-registration"
    assert params["TableStreamArn"].endswith(":table/caspr-ci-registration/stream/2024-01-01T00:00:00.000")
    assert params["RelayDeadLetterQueueArn"] == "arn:aws:sqs:us-east-1:111122223333:caspr-ci-registration-relay-dlq"
    assert params["AlarmTopicArn"] == "arn:aws:sns:us-east-1:111122223333:caspr-ci-alarms"
    assert "LinkSecret" not in params  # the functions get the key's name (template default), never the key
    # the signing key: an SSM SecureString created once with a random value, then read
    assert [c for c in aws.calls if c[0] == "put_parameter"] == [("put_parameter", "/caspr/ci/link-secret",
                                                                  "SecureString")]
    assert len(aws.parameters["/caspr/ci/link-secret"]["Value"]) >= 32
    code = template["Resources"]["APIHandler"]["Properties"]["CodeUri"]
    assert code.startswith("s3://bucket/caspr/ci/artifacts/") and code.endswith(".zip")
    assert template["Resources"]["OnEvent"]["Properties"]["CodeUri"] == code  # one upload, two functions
    assert "TableName" not in change_sets["caspr-ci-identity"][3]
    uploads = [c for c in aws.calls if c[0] == "upload"]
    assert len(uploads) == 3  # layer + two deployment packages

    # a second run with nothing changed uploads nothing and executes nothing
    aws.calls.clear()
    aws.unchanged = set(aws.stacks)
    deploy.Deployer(plan, aws.client, "us-east-1", out=lambda msg: None).run()
    assert not [c for c in aws.calls if c[0] in ("upload", "execute", "put_parameter")]


def test_deploy_refuses_missing_production_settings_and_a_key_value(tmp_path, monkeypatch):
    for var in PRODUCTION_ENV:
        monkeypatch.delenv(var, raising=False)
    real = _fake_package(tmp_path)
    template = json.loads((real / "registration" / "sam.json").read_text())
    template["Parameters"]["AdminAlertEmail"]["Default"] = ""  # packaged without it
    (real / "registration" / "sam.json").write_text(json.dumps(template))
    with pytest.raises(deploy.DeployError, match="CASPR_ADMIN_ALERT_EMAIL"):
        deploy.build_plan(real, "ci", "bucket")
    monkeypatch.setenv("CASPR_ADMIN_ALERT_EMAIL", "ops@caspr.example")
    assert deploy.build_plan(real, "ci", "bucket").link_secrets == ["/caspr/ci/link-secret"]
    monkeypatch.setenv("CASPR_LINK_SECRET", "a-key")
    with pytest.raises(deploy.DeployError, match="CASPR_LINK_SECRET_NAME"):
        deploy.build_plan(real, "ci", "bucket")


def test_deploy_refuses_a_bucket_in_another_region(tmp_path):
    out = _fake_package(tmp_path)
    plan = deploy.build_plan(out, "ci", "bucket")
    with pytest.raises(deploy.DeployError, match="eu-west-3"):
        deploy.Deployer(plan, FakeAWS(bucket_region="eu-west-3").client, "us-east-1").run()


def test_deploy_with_custom_domain_maps_every_service(tmp_path, monkeypatch):
    monkeypatch.setenv("CASPR_API_DOMAIN", "api.caspr.example")
    monkeypatch.delenv("CASPR_CERTIFICATE_ARN", raising=False)
    out = _fake_package(tmp_path)
    with pytest.raises(deploy.DeployError, match="CASPR_CERTIFICATE_ARN"):
        deploy.build_plan(out, "ci", "bucket")
    monkeypatch.setenv("CASPR_CERTIFICATE_ARN", "arn:aws:acm:us-east-1:111122223333:certificate/x")
    plan = deploy.build_plan(out, "ci", "bucket")
    assert [s.stack for s in plan.first] == ["caspr-ci-layer", "caspr-ci-shared", "caspr-ci-domain"]
    for step in plan.services:
        assert step.parameters["ApiDomainName"] == deploy.Output("caspr-ci-domain", "DomainName")
        assert step.parameters["PublicBaseUrl"] == deploy.Literal("https://api.caspr.example")


def test_packaging_build_dir_is_not_left_behind(tmp_path):
    """prepare_build_dir copies into the build dir; the source tree gains no vendor/,
    requirements.txt or chalice deployment cache."""
    src = ROOT / "services" / "identity"
    svc = package.ServiceBuild(name="identity", base_path="auth", has_table=False, has_queue=False,
                               queue_name=None, queue_visibility=None, out=tmp_path / "out")
    build = package.prepare_build_dir(svc, "ci", tmp_path, python313=None)
    assert (build / "vendor" / "shared" / "__init__.py").is_file()
    assert (build / "vendor" / "identity" / "__init__.py").is_file()
    assert (build / "app.py").read_text() == (src / "app.py").read_text()
    assert not list((build / "vendor").rglob("__pycache__"))
    config = json.loads((build / ".chalice" / "config.json").read_text())
    assert config["stages"]["ci"]["environment_variables"]["CASPR_STAGE"] == "ci"
    assert not (src / "vendor").exists() and not (src / ".chalice" / "deployments").exists()
    assert "ci" not in json.loads((src / ".chalice" / "config.json").read_text())["stages"]
    shutil.rmtree(build)


def test_deploy_dotted_bucket_uses_path_style_template_urls(tmp_path, monkeypatch):
    monkeypatch.delenv("CASPR_API_DOMAIN", raising=False)
    out = _fake_package(tmp_path)
    aws = FakeAWS()
    seen = []
    original = aws.create_change_set

    def record(**kw):
        seen.append(kw["TemplateURL"])
        return original(**kw)

    aws.create_change_set = record
    deploy.Deployer(deploy.build_plan(out, "ci", "my.bucket"), aws.client, "us-east-1", out=lambda m: None).run()
    assert seen and all(u.startswith("https://s3.us-east-1.amazonaws.com/my.bucket/caspr/ci/templates/")
                        for u in seen)


@pytest.mark.integration
def test_packaging_match_ships_its_compiled_engine_for_python313(tmp_path):
    """The match Lambda gets match/domain/_native built for python3.13 (not the local
    interpreter's build), and it loads and solves under python3.13."""
    python313 = package.find_python313()
    if python313 is None:
        pytest.skip("no python3.13 on this machine")
    svc = package.ServiceBuild(name="match", base_path="match", has_table=True, has_queue=True,
                               queue_name="q", queue_visibility=60, out=tmp_path / "out")
    build = package.prepare_build_dir(svc, "ci", tmp_path, python313=python313)
    domain = build / "vendor" / "match" / "domain"
    built = sorted(p.name for p in domain.glob("*.so"))
    assert built == ["_native.cpython-313-x86_64-linux-gnu.so"]  # the local cp311 build is not shipped
    assert not list(domain.glob("*.c"))
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from match.domain import engine, snapshot;"
        "s = snapshot.loads_snapshot(b'{\"applicants\": {\"A\": [\"T\"]}, \"tracks\": {\"T\": {\"positions\": 1, \"ranks\": [\"A\"]}}}');"
        "print(engine.IMPLEMENTATION, engine.solve(s).matches)"
    )
    import subprocess

    proc = subprocess.run([python313, "-S", "-c", probe, str(build / "vendor")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "native (C) {'A': 'T'}"


def test_packaging_refuses_a_compiled_module_needing_a_newer_glibc(tmp_path):
    ok = tmp_path / "ok.so"
    ok.write_bytes(b"\x7fELF...GLIBC_2.2.5\x00GLIBC_2.14\x00GLIBC_2.34\x00")
    package.check_glibc(ok)
    new = tmp_path / "new.so"
    new.write_bytes(b"\x7fELF...GLIBC_2.2.5\x00GLIBC_2.38\x00")
    with pytest.raises(package.PackageError, match=r"needs glibc 2\.38"):
        package.check_glibc(new)


def test_packaging_lets_applications_scores_and_interviews_reach_the_documents_bucket_only():
    from scripts.package import ServiceBuild, service_policy

    def document_statements(name: str) -> list[dict]:
        svc = ServiceBuild(name=name, base_path=name, has_table=True, has_queue=True, queue_name=f"caspr-dev-{name}-events",
                           queue_visibility=180, out=Path("/tmp"))
        return [s for s in service_policy(svc, "dev")["Statement"] if s.get("Sid") == "Documents"]

    [scores] = document_statements("scores")
    assert scores["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert [r["Fn::Sub"] for r in scores["Resource"]] == [
        "arn:${AWS::Partition}:s3:::caspr-dev-documents-${AWS::AccountId}/scores/*"]
    [interviews] = document_statements("interviews")  # I1: the events' PDFs, under interviews/ only
    assert [r["Fn::Sub"] for r in interviews["Resource"]] == [
        "arn:${AWS::Partition}:s3:::caspr-dev-documents-${AWS::AccountId}/interviews/*"]
    assert document_statements("applications") and not document_statements("registration")
