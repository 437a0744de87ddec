"""The steps of a season's Match run (M4), in the order the state machine takes them,
and the names of runs. Pure: the state machine file and the task handlers both use these."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

AWAIT = "await"
LOCK_LISTS = "lock_lists"
TAKE_SNAPSHOT = "take_snapshot"
SOLVE = "solve"
VERIFY = "verify"
STORE = "store"
RELEASE_STATUS = "release_status"
OPEN_MPII = "open_mpii"
RELEASE_RESULTS = "release_results"
PUBLISH_POST_MATCH = "publish_post_match"
ALERT = "alert"

ROUND_STEPS = (LOCK_LISTS, TAKE_SNAPSHOT, SOLVE, VERIFY, STORE)
STEPS = (AWAIT, *ROUND_STEPS, RELEASE_STATUS, OPEN_MPII, RELEASE_RESULTS, PUBLISH_POST_MATCH, ALERT)

# the order a run passes its steps (for the progress a run reports)
PLAN = (
    "await:rol_deadline",
    "lock_lists:match", "take_snapshot:match", "solve:match", "verify:match", "store:match",
    "await:match_status_day", "release_status", "open_mpii",
    "await:mpii_rol_deadline",
    "lock_lists:mpii", "take_snapshot:mpii", "solve:mpii", "verify:mpii", "store:mpii",
    "await:match_day", "release_results", "publish_post_match",
)

_SEASON = re.compile(r"^[A-Za-z0-9_-]{1,40}\Z")


def step_key(step: str, round_name: str | None = None, key: str | None = None) -> str:
    suffix = key if step == AWAIT else round_name
    return f"{step}:{suffix}" if suffix else step


def run_id(season: str, attempt: int) -> str:
    """The execution name of a season's run: one execution per season and attempt, so a second
    start of the same attempt is refused by Step Functions itself (ExecutionAlreadyExists)."""
    if not _SEASON.match(season):
        raise ValueError(f"season {season!r} cannot name a run")
    return f"{season}-match-{attempt}"


# --- records a run leaves (returned by the store) ---------------------------------------


@dataclass(frozen=True)
class RoundState:
    season: str
    round: str
    locked_at: datetime | None = None
    snapshot_sha256: str | None = None
    snapshot_taken_at: datetime | None = None
    verified_at: datetime | None = None
    stored_at: datetime | None = None
    stored_by_run: str | None = None
    statistics: dict = field(default_factory=dict)
    result_sha256: str | None = None  # of the stored result file's bytes, recorded with the result

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


@dataclass(frozen=True)
class RunRecord:
    season: str
    run_id: str
    attempt: int
    started_at: datetime
    started_by: str | None = None
    execution_arn: str | None = None
    failed_error: str | None = None
    failed_cause: str | None = None
    failed_at: datetime | None = None


@dataclass(frozen=True)
class StepRecord:
    run_id: str
    step: str
    status: str  # running | succeeded | failed | waiting
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    detail: str | None = None
