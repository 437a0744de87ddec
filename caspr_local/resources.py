"""Create every AWS resource of the local stack from infra/'s shared template.

moto's CloudFormation creates tables, queues, the bus, rules, IAM roles and state
machines from the template itself; Cognito pools, groups and clients, the scheduler
group and the SES identity it does not create, so they are made here through their
APIs from the same template's properties (one source of truth)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3

from infra.stack import build_shared_template

NOT_IN_MOTO_CFN = {
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::SES::EmailIdentity",
    "AWS::Scheduler::ScheduleGroup",
    # moto's CloudFormation puts state machines in its non-executing Step Functions backend;
    # with execute_state_machine (caspr_local.emulator) the API serves another one that runs ASL
    "AWS::StepFunctions::StateMachine",
}


@dataclass
class LocalResources:
    stage: str
    outputs: dict[str, str]
    user_pool_id: str
    user_pool_client_id: str
    email_sender: str

    @property
    def queue_urls(self) -> dict[str, str]:
        return {k.removesuffix("QueueUrl").lower(): v for k, v in self.outputs.items() if k.endswith("QueueUrl")}


def _strip_refs(template: dict, removed: set[str]) -> dict:
    """Outputs that point at resources created outside CloudFormation are dropped."""
    outputs = {}
    for name, out in template.get("Outputs", {}).items():
        text = json.dumps(out)
        if not any(f'"{r}"' in text for r in removed):
            outputs[name] = out
    template["Outputs"] = outputs
    return template


def _create_state_machines(template: dict, outside: dict, outputs: dict[str, str]) -> None:
    """Each state machine of the template, created through the Step Functions API with its
    ${...} substitutions resolved from the stack's outputs (queue URLs, bus name)."""
    import re

    refs = {}
    for name, out in template.get("Outputs", {}).items():
        value = out.get("Value")
        if isinstance(value, dict) and set(value) == {"Ref"} and name in outputs:
            refs[value["Ref"]] = outputs[name]
    roles = boto3.client("iam").list_roles().get("Roles", [])
    sfn = boto3.client("stepfunctions")
    for logical, res in outside.items():
        if res["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        props = res["Properties"]
        text, subs = props["DefinitionString"]["Fn::Sub"]
        values = {key: refs[ref["Ref"]] for key, ref in subs.items() if ref.get("Ref") in refs}
        definition = re.sub(r"\$\{(\w+)\}", lambda m, v=values: v[m.group(1)], text)
        role_logical = props["RoleArn"]["Fn::GetAtt"][0]
        role_arn = next((r["Arn"] for r in roles if role_logical in r["RoleName"]),
                        f"arn:aws:iam::123456789012:role/{role_logical}")
        arn = sfn.create_state_machine(name=props["StateMachineName"], definition=definition,
                                       roleArn=role_arn)["stateMachineArn"]
        outputs[f"{logical}Arn"] = arn


def create(stage: str = "local", email_sender: str = "no-reply@caspr.example") -> LocalResources:
    template = build_shared_template(stage)
    all_outputs = dict(template.get("Outputs", {}))
    outside = {k: v for k, v in template["Resources"].items() if v["Type"] in NOT_IN_MOTO_CFN}
    for name in outside:
        del template["Resources"][name]
    _strip_refs(template, set(outside))

    cfn = boto3.client("cloudformation")
    stack_name = f"caspr-{stage}-shared"
    cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(template),
                     Parameters=[{"ParameterKey": "EmailSender", "ParameterValue": email_sender}],
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"local stack {stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    cognito = boto3.client("cognito-idp")
    pool_props = outside["UserPool"]["Properties"]
    pool = cognito.create_user_pool(
        PoolName=pool_props["UserPoolName"],
        UsernameAttributes=pool_props["UsernameAttributes"],
        AutoVerifiedAttributes=pool_props["AutoVerifiedAttributes"],
        Policies=pool_props["Policies"],
    )["UserPool"]
    client_props = outside["UserPoolClient"]["Properties"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName=client_props["ClientName"], GenerateSecret=False,
        ExplicitAuthFlows=client_props["ExplicitAuthFlows"],
    )["UserPoolClient"]
    for res in outside.values():
        if res["Type"] == "AWS::Cognito::UserPoolGroup":
            cognito.create_group(UserPoolId=pool["Id"], GroupName=res["Properties"]["GroupName"])
    boto3.client("ses").verify_email_identity(EmailAddress=email_sender)
    boto3.client("scheduler").create_schedule_group(Name=outside["SchedulerGroup"]["Properties"]["Name"])
    _create_state_machines({"Outputs": all_outputs}, outside, outputs)
    return LocalResources(stage=stage, outputs=outputs, user_pool_id=pool["Id"],
                          user_pool_client_id=client["ClientId"], email_sender=email_sender)
