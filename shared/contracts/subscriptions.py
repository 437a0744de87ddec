"""Which detail-types each service consumes: the EventBridge rules of infra/ are built
from this table, and each service's consumer is tested against it."""

SUBSCRIPTIONS: dict[str, list[str]] = {
    "registration": ["season.deadline_reached.v1", "scores.withdrawal_due.v1", "application.designated.v1",
                     "interview.fee_refund_due.v1"],
    # applications, scores and interviews get their features (and subscriptions) in later issues
    "applications": [
        "season.deadline_reached.v1",
        "season.calendar_set.v1",
        "applicant.registered.v1",
        "credits.purchased.v1",
        "applicant.withdrawn.v1",
        "applicant.reinstated.v1",
        "program.registered.v1",
        "program.updated.v1",
        "scores.may_apply.v1",
        "scores.released.v1",
        "scores.release_missing.v1",
        "scores.result_recorded.v1",
        "mpii.opened.v1",
    ],
    "scores": [
        "season.deadline_reached.v1",
        "season.calendar_set.v1",
        "applicant.registered.v1",
        "applicant.withdrawn.v1",
        "applicant.reinstated.v1",
    ],
    "interviews": [
        "season.deadline_reached.v1",
        "season.calendar_set.v1",
        "applicant.registered.v1",
        "applicant.profile_updated.v1",
        "program.registered.v1",
        "program.updated.v1",
        "application.delivered.v1",
    ],
    "match": [
        "season.deadline_reached.v1",
        "season.calendar_set.v1",
        "applicant.registered.v1",
        "applicant.withdrawn.v1",
        "applicant.reinstated.v1",
        "applicant.match_withdrawn.v1",
        "applicant.profile_updated.v1",
        "program.registered.v1",
        "program.updated.v1",
        "track.positions_changed.v1",
        "track.withdrawn.v1",
        "track.reinstated.v1",
        "application.delivered.v1",
    ],
}
