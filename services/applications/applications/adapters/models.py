"""PynamoDB models of the applications table (one table, pk/sk, index gsi1).

| item                      | pk                       | sk                          | gsi1pk / gsi1sk                          |
| applicant facts + credits | applicant#{id}           | facts                       | college#{c}#season#{s} / {id}            |
| application (aggregate)   | applicant#{id}           | application                 |                                          |
| designation               | applicant#{id}           | designation#{round}#{code}  | undelivered#{season} / {id}#{round}#{code}|
|   (once delivered)        |                          |                             | delivered#{season}#{code} / {id}#{round} |
| college record            | applicant#{id}           | college_record              |                                          |
| exam attempt              | applicant#{id}           | result#{result id}          |                                          |
| letter pointer            | letter#{letter id}       | letter                      |                                          |
| program facts             | program#{code}           | season#{season}             | season#{s}#programs / {code}             |
| season calendar           | season#{season}          | calendar                    |                                          |
| deadline seen             | season#{season}          | deadline#{key}              |                                          |
| desk row (one program's)  | desk#{code}#{season}     | applicant#{id}              |                                          |
| outbox item               | outbox#{stream}          | {ns}#{n}                    | (shared.adapters.outbox)                 |

The desk row is the program's list and CSV row of one delivered application and the
program's private review of it: written by the delivery, and updated in the transaction of
every change of what the list shows (the review, letters received, the college record's GPA
and class rank, the exam attempts), so the list is one Query on desk#{code}#{season}.

Outbox streams: applicant#{id} (one applicant's application and designations, in order).
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)

from shared.adapters.dynamo import BaseItem, Gsi1, table_meta

META = table_meta("applications")


class FactsItem(BaseItem):
    """The applicant as registration and scores announced it, and its credit counter."""

    Meta = META
    applicant_id = UnicodeAttribute(null=True)
    season = UnicodeAttribute(null=True)
    owner_sub = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    code_number = UnicodeAttribute(null=True)
    college = UnicodeAttribute(null=True)
    withdrawn = BooleanAttribute(null=True)
    status_version = NumberAttribute(null=True)  # registration's status_version applied last
    profile_version = NumberAttribute(null=True)  # registration's version of the name/college applied last
    may_apply = BooleanAttribute(null=True)
    in_mpii = BooleanAttribute(null=True)
    scores_released = BooleanAttribute(null=True)  # S1 (scores.released.v1)
    release_explanation = UnicodeAttribute(null=True)  # shown to programs with the results
    release_missing = BooleanAttribute(null=True)  # S2: no release by the deadline
    results_json = UnicodeAttribute(null=True)  # the exam attempts (S6) as JSON, for the review desk's list
    results_count = NumberAttribute(null=True)
    results_version = NumberAttribute(null=True)  # + 1 on every write of results_json (desk rows' guard)
    credits_total = NumberAttribute(null=True)
    credits_used = NumberAttribute(null=True)
    # the programs designated (each added in its designation's transaction): the college's
    # progress list reads it with the facts, not one query per student
    programs_designated = UnicodeSetAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()


class DocumentMap(MapAttribute):
    document_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    filename = UnicodeAttribute()
    size = NumberAttribute()
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute(null=True)
    completed_at = UTCDateTimeAttribute(null=True)


class LetterMap(MapAttribute):
    letter_id = UnicodeAttribute()
    writer_name = UnicodeAttribute()
    writer_email = UnicodeAttribute()
    label = UnicodeAttribute()
    waived = BooleanAttribute()
    status = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute(null=True)
    responded_at = UTCDateTimeAttribute(null=True)
    received_at = UTCDateTimeAttribute(null=True)
    reminded_at = UTCDateTimeAttribute(null=True)
    size = NumberAttribute(null=True)
    upload_id = UnicodeAttribute(null=True)
    file_id = UnicodeAttribute(null=True)


class ApplicationItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    status = UnicodeAttribute()
    submitted_at = UTCDateTimeAttribute(null=True)
    documents = ListAttribute(of=DocumentMap, null=True)
    letters = ListAttribute(of=LetterMap, null=True)
    version = NumberAttribute()


class DesignationItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    program_code = UnicodeAttribute()
    round = UnicodeAttribute()
    designated_at = UTCDateTimeAttribute()
    delivered_at = UTCDateTimeAttribute(null=True)
    credit_number = NumberAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()


class LetterPointerItem(BaseItem):
    """Which application holds a letter (the writer's routes name the letter only)."""

    Meta = META
    applicant_id = UnicodeAttribute()


class ProgramFactsItem(BaseItem):
    Meta = META
    season = UnicodeAttribute()
    program_code = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    application_deadline = UTCDateTimeAttribute(null=True)
    track_codes = ListAttribute(of=UnicodeAttribute, null=True)
    mpii_tracks = ListAttribute(of=UnicodeAttribute, null=True)
    version = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()


class CalendarItem(BaseItem):
    Meta = META
    season = UnicodeAttribute()
    calendar = MapAttribute(null=True)  # key -> ISO 8601 UTC instant
    version = NumberAttribute(null=True)
    mpii_tracks = ListAttribute(of=UnicodeAttribute, null=True)


class DeskRowItem(BaseItem):
    """pk desk#{code}#{season}, sk applicant#{id}: the program's row of one delivered application
    (what the list and CSV show) and the program's review of it (A6). One attribute per writer,
    each a JSON text (or a number): a Query of 300 rows answers ~6 values a row, not ~20 (the
    emulator's cost, and DynamoDB's read size, follow the values)."""

    Meta = META
    who = UnicodeAttribute(null=True)  # the delivery: name, Code Number, college, round, delivered_at
    record = UnicodeAttribute(null=True)  # the college record: gpa, class_rank, class_size
    letters_received = NumberAttribute(null=True)  # the application
    results_json = UnicodeAttribute(null=True)  # the exam attempts (with visible_from)
    review = UnicodeAttribute(null=True)  # the program: tags, rating, review_status, notes, updated_at


class ClinicalMap(MapAttribute):
    site = UnicodeAttribute()
    specialty = UnicodeAttribute()
    weeks = NumberAttribute()


class CollegeRecordItem(BaseItem):
    """pk applicant#{id}, sk college_record: the college's part of the application (A2)."""

    Meta = META
    applicant_id = UnicodeAttribute()
    college = UnicodeAttribute()
    gpa = NumberAttribute(null=True)
    class_rank = NumberAttribute(null=True)
    class_size = NumberAttribute(null=True)
    clinicals = ListAttribute(of=ClinicalMap, null=True)
    documents = ListAttribute(of=DocumentMap, null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    version = NumberAttribute(null=True)


class ResultItem(BaseItem):
    """pk applicant#{id}, sk result#{result id}: one exam attempt (S3, S6) as scores announced it."""

    Meta = META
    exam = UnicodeAttribute()
    exam_date = UnicodeAttribute()
    result = UnicodeAttribute()
    official = BooleanAttribute()
    visible_from = UTCDateTimeAttribute(null=True)
