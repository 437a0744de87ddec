"""The shared CloudFormation stack, built from code so that `make package` (AWS) and
`make run` (the local stack) use one definition of every resource."""

from __future__ import annotations

import json
from pathlib import Path

from shared.contracts.subscriptions import SUBSCRIPTIONS
from shared.settings import SERVICES, resource_name

HERE = Path(__file__).parent
STATE_MACHINES = HERE / "statemachines"
MAX_RECEIVE_COUNT = 5
GROUPS = ("applicant", "program", "college", "admin")


def _cf_name(*parts: str) -> str:
    return "".join(p[:1].upper() + p[1:] for part in parts for p in part.replace("_", "-").split("-"))


def table(stage: str, service: str) -> dict:
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": resource_name(stage, service),
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
            # the outbox relay reads new outbox items from the stream (shared.relay)
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    }


def alarm(description: str, metric: str, namespace: str, dimensions: list[dict], period: int = 300) -> dict:
    """A CloudWatch alarm on metric > 0 that notifies the shared alarm topic."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": "Maximum" if metric.startswith("Approximate") else "Sum",
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def alarms(stage: str) -> dict[str, dict]:
    """Alarms of the shared stack (the service stacks add one per function on Lambda errors):
    any message in a dead-letter queue, an event the outbox relay could not deliver, a failed
    match/MPII execution. They notify one SNS topic (AlarmEmail subscribes to it)."""
    resources: dict[str, dict] = {
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": resource_name(stage, "alarms"),
                           "DisplayName": f"CASPR {stage} alarms"},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                           "Endpoint": {"Ref": "AlarmEmail"}},
        },
    }
    for service in SERVICES:
        svc = _cf_name(service)
        resources[f"{svc}DeadLetterAlarm"] = alarm(
            f"CASPR {stage}: an event {service} could not consume is in its dead-letter queue "
            f"({resource_name(stage, service, 'events-dlq')}); see `caspr-ops dlq list {service}`",
            "ApproximateNumberOfMessagesVisible", "AWS/SQS",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [f"{svc}DeadLetterQueue", "QueueName"]}}], period=60)
        resources[f"{svc}RelayDeadLetterAlarm"] = alarm(
            f"CASPR {stage}: an event the {service} outbox relay could not deliver "
            f"({resource_name(stage, service, 'relay-dlq')}); the sweep retries it, see "
            f"`caspr-ops dlq list {service}`",
            "ApproximateNumberOfMessagesVisible", "AWS/SQS",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [f"{svc}RelayDeadLetterQueue", "QueueName"]}}],
            period=60)
    for path in state_machine_files():
        cf = _cf_name(path.name.removesuffix(".asl.json"))
        resources[f"{cf}ExecutionsFailedAlarm"] = alarm(
            f"CASPR {stage}: a {path.name.removesuffix('.asl.json')} execution failed, timed out or was aborted",
            "ExecutionsFailed", "AWS/States",
            [{"Name": "StateMachineArn", "Value": {"Ref": f"{cf}StateMachine"}}])
    return resources


def state_machine_files() -> list[Path]:
    return sorted(STATE_MACHINES.glob("*.asl.json"))


def build_shared_template(stage: str = "local") -> dict:
    bus_name = resource_name(stage, "bus")
    resources: dict[str, dict] = {
        "EventBus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": bus_name}},
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            "Properties": {
                "UserPoolName": resource_name(stage, "users"),
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireNumbers": True,
                                                "RequireLowercase": True, "RequireUppercase": False,
                                                "RequireSymbols": False}},
            },
        },
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "ClientName": resource_name(stage, "web"),
                "UserPoolId": {"Ref": "UserPool"},
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            },
        },
        "EmailIdentity": {
            "Type": "AWS::SES::EmailIdentity",
            "Properties": {"EmailIdentity": {"Ref": "EmailSender"}},
        },
        "SchedulerGroup": {
            "Type": "AWS::Scheduler::ScheduleGroup",
            "Properties": {"Name": resource_name(stage, "calendar")},
        },
        "SchedulerRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": resource_name(stage, "scheduler"),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}],
                },
                "Policies": [{
                    "PolicyName": "put-calendar-events",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "events:PutEvents",
                         "Resource": {"Fn::GetAtt": ["EventBus", "Arn"]}}]},
                }],
            },
        },
    }
    for group in GROUPS:
        resources[f"Group{_cf_name(group)}"] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"GroupName": group, "UserPoolId": {"Ref": "UserPool"}},
        }
    outputs: dict[str, dict] = {
        "EventBusName": {"Value": {"Ref": "EventBus"}},
        "UserPoolId": {"Value": {"Ref": "UserPool"}},
        "UserPoolClientId": {"Value": {"Ref": "UserPoolClient"}},
        "SchedulerRoleArn": {"Value": {"Fn::GetAtt": ["SchedulerRole", "Arn"]}},
    }
    for service in SERVICES:
        svc = _cf_name(service)
        resources[f"{svc}Table"] = table(stage, service)
        resources[f"{svc}DeadLetterQueue"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": resource_name(stage, service, "events-dlq"),
                           "MessageRetentionPeriod": 1209600},
        }
        resources[f"{svc}RelayDeadLetterQueue"] = {  # batches the outbox relay gave up on (the sweep delivers them)
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": resource_name(stage, service, "relay-dlq"),
                           "MessageRetentionPeriod": 1209600},
        }
        resources[f"{svc}Queue"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": resource_name(stage, service, "events"),
                "VisibilityTimeout": 180,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [f"{svc}DeadLetterQueue", "Arn"]},
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
            },
        }
        resources[f"{svc}QueuePolicy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": f"{svc}Queue"}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": [f"{svc}Queue", "Arn"]},
                    "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [f"{svc}Rule", "Arn"]}}},
                }]},
            },
        }
        resources[f"{svc}Rule"] = {
            "Type": "AWS::Events::Rule",
            "DependsOn": "EventBus",
            "Properties": {
                "Name": resource_name(stage, service, "events"),
                "EventBusName": bus_name,
                "EventPattern": {"detail-type": SUBSCRIPTIONS[service]},
                "State": "ENABLED",
                "Targets": [{"Id": f"{service}-queue", "Arn": {"Fn::GetAtt": [f"{svc}Queue", "Arn"]}}],
            },
        }
        outputs[f"{svc}QueueUrl"] = {"Value": {"Ref": f"{svc}Queue"}}
        outputs[f"{svc}TableName"] = {"Value": {"Ref": f"{svc}Table"}}
        outputs[f"{svc}TableStreamArn"] = {"Value": {"Fn::GetAtt": [f"{svc}Table", "StreamArn"]}}
        outputs[f"{svc}RelayDeadLetterQueueArn"] = {"Value": {"Fn::GetAtt": [f"{svc}RelayDeadLetterQueue", "Arn"]}}
    for path in state_machine_files():
        name = path.name.removesuffix(".asl.json")
        cf = _cf_name(name)
        resources[f"{cf}StateMachineRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}],
                },
                "Policies": [{
                    "PolicyName": "tasks",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": ["sqs:SendMessage", "events:PutEvents"],
                         "Resource": "*"}]},
                }],
            },
        }
        resources[f"{cf}StateMachine"] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": resource_name(stage, name),
                "DefinitionString": {"Fn::Sub": [path.read_text(), state_machine_substitutions(stage)]},
                "RoleArn": {"Fn::GetAtt": [f"{cf}StateMachineRole", "Arn"]},
            },
        }
        outputs[f"{cf}StateMachineArn"] = {"Value": {"Ref": f"{cf}StateMachine"}}
    # A1, A2, A7: the applications' PDFs (uploaded by browsers to presigned POSTs, read by the
    # applications and scores services, and the interviews events' PDFs under interviews/ (I1);
    # shared.adapters.storage.documents_bucket names it)
    resources["DocumentsBucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketName": {"Fn::Sub": f"{resource_name(stage, 'documents')}-${{AWS::AccountId}}"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET", "POST", "PUT"], "AllowedOrigins": ["*"],
                                                 "AllowedHeaders": ["*"], "MaxAge": 3600}]},
        },
    }
    outputs["DocumentsBucketName"] = {"Value": {"Ref": "DocumentsBucket"}}
    resources.update(alarms(stage))
    outputs["AlarmTopicArn"] = {"Value": {"Ref": "AlarmTopic"}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"CASPR shared resources ({stage})",
        "Parameters": {
            "EmailSender": {"Type": "String", "Default": "no-reply@caspr.example"},
            "AlarmEmail": {"Type": "String", "Default": "",
                           "Description": "email address subscribed to the alarms topic (empty: none)"},
        },
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
        "Outputs": outputs,
    }


def state_machine_substitutions(stage: str) -> dict:
    """Values an ASL file may reference as ${Name} (queue URLs of the services)."""
    subs = {}
    for service in SERVICES:
        svc = _cf_name(service)
        subs[f"{svc}QueueUrl"] = {"Ref": f"{svc}Queue"}
    subs["EventBusName"] = {"Ref": "EventBus"}
    return subs


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="print the shared stack template")
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args()
    print(json.dumps(build_shared_template(args.stage), indent=2))


if __name__ == "__main__":
    main()
