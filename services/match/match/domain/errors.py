"""Errors of the Match run that Step Functions tells apart by class name (DESIGN rule 6).

The state machine (infra/statemachines/match.asl.json) retries a task on
``TransientStoreError`` and stops the run on ``VerificationFailed``: a task that
fails sends ``send_task_failure(error=<exception class name>)``, never message text.
"""

from __future__ import annotations

from shared.errors import DomainError, TemporarilyUnavailable


class TransientStoreError(TemporarilyUnavailable):
    """The store (or another AWS dependency) failed in a way a retry may cure."""


class VerificationFailed(DomainError):
    """The result of a run is not a stable, reproducible matching of its snapshot (M2, M4):
    nothing is stored or published; the administrator is alerted and the run stops."""

    status = 500
    title = "Match verification failed"
    slug = "verification-failed"

    def __init__(self, detail: str, violations: list[str] | None = None):
        super().__init__(detail, rule="M2")
        self.violations = list(violations or [])


class StepNotReady(DomainError):
    """A step found state an earlier step should have left (e.g. no snapshot to solve)."""

    status = 409
    title = "Step not ready"
    slug = "step-not-ready"
