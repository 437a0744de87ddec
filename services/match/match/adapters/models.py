"""PynamoDB items of the match service's table (one table, pk/sk; see infra.stack.table).

| item                         | pk                 | sk                                         |
| ---------------------------- | ------------------ | ------------------------------------------ |
| calendar copy                | season#{s}         | calendar  (gsi1: calendars / {s})          |
| applicant (projection)       | season#{s}         | applicant#{applicant_id}                   |
| code number pointer          | season#{s}         | code#{code_number}                         |
| email pointer                | season#{s}         | email#{email}                              |
| account pointer              | account#{sub}      | season#{s}                                 |
| track (projection)           | season#{s}         | track#{track_code}                         |
| program contact (projection) | season#{s}         | program#{program_code}                     |
| notice sent (emails, once)   | season#{s}         | notice#{marker}                            |
| rank order list              | season#{s}         | rol#{round}#{applicant|track}#{owner}      |
| round state (lock, snapshot) | season#{s}         | round#{round}                              |
| snapshot / result chunks     | season#{s}         | blob#{round}#{kind}#{sha}[#{digest}]#{i:05d} |
| stored result of applicant   | season#{s}         | result#{round}#applicant#{code_number}     |
| stored result of track       | season#{s}         | result#{round}#track#{track_code}          |
| release state                | season#{s}         | release                                    |
| MPII participants            | season#{s}         | mpii                                       |
| MPII application (M7)        | season#{s}         | mpii-application#{applicant_id}#{program}  |
| Post-Match list              | season#{s}         | post-match                                 |
| run (one per attempt)        | season#{s}         | run#{run_id}                               |
| step log of a run            | season#{s}         | runstep#{run_id}#{step_key}                |
| waiting task token           | season#{s}         | wait#{calendar_key}#{run_id}               |
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from shared.adapters.dynamo import BaseItem, Gsi1, table_meta

META = table_meta("match")
CALENDARS = "calendars"  # gsi1pk of every calendar copy: the seasons the service knows


class CalendarItem(BaseItem):
    Meta = META
    instants = UnicodeAttribute()  # JSON {key: ISO instant}
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(null=True)  # registration's calendar version of these instants
    gsi1pk = UnicodeAttribute(null=True)  # CALENDARS (the reminders look at every season's calendar)
    gsi1sk = UnicodeAttribute(null=True)  # the season
    gsi1 = Gsi1()


class ApplicantItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()
    code_number = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    owner_sub = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)  # registration's status_version of the status held (M3)
    # S5 at part2_pass_by: withdrawn from the Match (M3), never undone; the status_version of the
    # applicant.match_withdrawn.v1 that said so (a stale, redelivered one changes nothing)
    match_withdrawn = BooleanAttribute(null=True)
    match_withdrawn_version = NumberAttribute(null=True)
    timezone = UnicodeAttribute(null=True)  # from registration (applicant.registered, profile_updated)
    timezone_version = NumberAttribute(null=True)  # the profile version of that time zone


class ProgramItem(BaseItem):
    """A program's contact (program.registered/updated): where its Match emails go."""

    Meta = META
    program_code = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    contact_email = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)  # registration's program version


class PointerItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()


class TrackItem(BaseItem):
    Meta = META
    track_code = UnicodeAttribute()
    program_code = UnicodeAttribute()
    program_name = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    positions = NumberAttribute()
    withdrawn = BooleanAttribute(null=True)  # M3
    version = NumberAttribute(null=True)  # registration's program version of these positions (M2)


class RolItem(BaseItem):
    Meta = META
    round = UnicodeAttribute()
    kind = UnicodeAttribute()
    owner = UnicodeAttribute()
    entries = ListAttribute(of=UnicodeAttribute, null=True)
    version = NumberAttribute(default=0)
    certified = BooleanAttribute(default=False)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    certified_at = UTCDateTimeAttribute(null=True)
    certified_version = NumberAttribute(null=True)
    certified_by = UnicodeAttribute(null=True)


class RoundItem(BaseItem):
    Meta = META
    locked_at = UTCDateTimeAttribute(null=True)
    locked_by_run = UnicodeAttribute(null=True)
    snapshot_sha256 = UnicodeAttribute(null=True)
    snapshot_chunks = NumberAttribute(null=True)
    snapshot_taken_at = UTCDateTimeAttribute(null=True)
    result_ref = UnicodeAttribute(null=True)  # {snapshot sha}#{result digest}:{chunks}
    result_sha256 = UnicodeAttribute(null=True)  # SHA-256 of the stored result file's bytes (the audit)
    verified_at = UTCDateTimeAttribute(null=True)
    stored_at = UTCDateTimeAttribute(null=True)
    stored_by_run = UnicodeAttribute(null=True)
    statistics = UnicodeAttribute(null=True)  # JSON


class BlobItem(BaseItem):
    Meta = META
    data = UnicodeAttribute()


class ApplicantResultItem(BaseItem):
    Meta = META
    code_number = UnicodeAttribute()
    track_code = UnicodeAttribute(null=True)


class TrackResultItem(BaseItem):
    Meta = META
    track_code = UnicodeAttribute()
    positions = NumberAttribute()
    unfilled = NumberAttribute()
    matched = ListAttribute(of=UnicodeAttribute, null=True)


class ReleaseItem(BaseItem):
    Meta = META
    status_released_at = UTCDateTimeAttribute(null=True)
    results_released_at = UTCDateTimeAttribute(null=True)


class DocumentItem(BaseItem):
    """MPII participants, Post-Match list: one JSON document, written once."""

    Meta = META
    document = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class MpiiApplicationItem(BaseItem):
    """M7: the applications service delivered this applicant's application to this program
    in the MPII round (application.delivered.v1, round "mpii")."""

    Meta = META
    applicant_id = UnicodeAttribute()
    program_code = UnicodeAttribute()
    delivered_at = UTCDateTimeAttribute()


class RunItem(BaseItem):
    Meta = META
    run_id = UnicodeAttribute()
    attempt = NumberAttribute()
    started_at = UTCDateTimeAttribute()
    started_by = UnicodeAttribute(null=True)
    execution_arn = UnicodeAttribute(null=True)
    failed_error = UnicodeAttribute(null=True)
    failed_cause = UnicodeAttribute(null=True)
    failed_at = UTCDateTimeAttribute(null=True)


class StepItem(BaseItem):
    Meta = META
    run_id = UnicodeAttribute()
    step = UnicodeAttribute()
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    detail = UnicodeAttribute(null=True)


class WaitItem(BaseItem):
    Meta = META
    key = UnicodeAttribute()
    run_id = UnicodeAttribute()
    task_token = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
