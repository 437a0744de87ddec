"""Step Functions: starting and describing a season's run, and answering the state
machine's task tokens (the .waitForTaskToken SQS pattern)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from match.domain.errors import TransientStoreError
from shared.settings import Settings, resource_name


@dataclass(frozen=True)
class Execution:
    arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    error: str | None = None
    cause: str | None = None


def state_machine_arn(settings: Settings) -> str:
    import os

    return os.environ.get("CASPR_MATCH_STATE_MACHINE_ARN") or (
        f"arn:aws:states:{settings.region}:{settings.account_id}:stateMachine:{resource_name(settings.stage, 'match')}")


class RunEngine(ABC):
    @abstractmethod
    def start(self, name: str, payload: dict) -> Execution:
        """Starts the execution `name`; when it exists already, returns that one (never a second)."""

    @abstractmethod
    def describe(self, arn: str) -> Execution: ...


class TaskCallbacks(ABC):
    @abstractmethod
    def succeed(self, token: str, output: dict) -> bool:
        """False when the token is no longer waited for (a stale retry)."""

    @abstractmethod
    def fail(self, token: str, error: str, cause: str) -> bool: ...


_STALE = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


class StepFunctionsRunEngine(RunEngine):
    def __init__(self, arn: str, client=None):
        import boto3

        self.arn = arn
        self._sfn = client or boto3.client("stepfunctions")

    def _execution_arn(self, name: str) -> str:
        return self.arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, name, payload):
        try:
            out = self._sfn.start_execution(stateMachineArn=self.arn, name=name,
                                            input=json.dumps(payload, sort_keys=True))
            arn = out["executionArn"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise TransientStoreError(f"Step Functions refused to start {name}: {exc}") from exc
            arn = self._execution_arn(name)
        except BotoCoreError as exc:
            raise TransientStoreError(f"Step Functions unreachable: {exc}") from exc
        return self.describe(arn)

    def describe(self, arn):
        try:
            d = self._sfn.describe_execution(executionArn=arn)
        except (ClientError, BotoCoreError) as exc:
            raise TransientStoreError(f"Step Functions could not describe {arn}: {exc}") from exc
        return Execution(arn=d["executionArn"], status=d["status"], started_at=d.get("startDate"),
                         stopped_at=d.get("stopDate"), error=d.get("error"), cause=d.get("cause"))


class StepFunctionsCallbacks(TaskCallbacks):
    def __init__(self, client=None):
        import boto3

        self._sfn = client or boto3.client("stepfunctions")

    def _call(self, fn, **kwargs) -> bool:
        try:
            fn(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _STALE:
                return False
            raise
        return True

    def succeed(self, token, output):
        return self._call(self._sfn.send_task_success, taskToken=token, output=json.dumps(output, sort_keys=True))

    def fail(self, token, error, cause):
        return self._call(self._sfn.send_task_failure, taskToken=token, error=error[:256], cause=cause[:32000])
