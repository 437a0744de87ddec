"""PynamoDB models of the scores table (one table, pk/sk, index gsi1).

| item                      | pk                              | sk                  | gsi1pk / gsi1sk                          |
| applicant (projection)    | applicant#{id}                  | applicant           | season#{s}#applicants / {id}             |
| score release (S1)        | applicant#{id}                  | release             | season#{s}#releases / {att}#{id}         |
| one ATT number a season   | season#{s}#att#{att}            | unique              |                                          |
| exam attempt (S3, S7)     | applicant#{id}                  | result#{result id}  | season#{s}#results / {result id}         |
| unmatched NBPME row (S3)  | season#{s}#unmatched#{att}      | row#{row id}        | season#{s}#unmatched / {row id}          |
| upload summary (S3)       | season#{s}#uploads              | upload#{id}         |                                          |
| self-reported (S7)        | self_reported#{id}              | self_reported       | self_reported#pending / {at}#{id}        |
| calendar (projection)     | season#{s}                      | calendar            | calendars / {s}                          |
| CSPE table (S4)           | season#{s}                      | cspe-rules          |                                          |
| notice sent (S2, S5)      | applicant#{id} or season#{s}    | notice#{kind}       |                                          |
| deadline seen             | season#{s}                      | deadline#{key}      | (shared.adapters.inbox)                  |
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from shared.adapters.dynamo import BaseItem, Gsi1, table_meta

META = table_meta("scores")


class ApplicantItem(BaseItem):
    """What scores knows of a registered applicant (from registration's events)."""

    Meta = META
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    owner_sub = UnicodeAttribute(null=True)
    cms_id = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    graduation_year = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)  # registered | withdrawn
    version = NumberAttribute(null=True)  # registration's status_version of the status
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()


class ReleaseItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    att_number = UnicodeAttribute()
    cms_id = UnicodeAttribute()
    name_at_exam = UnicodeAttribute()  # stored, never shown back (S1)
    explanation = UnicodeAttribute(null=True)
    authorize_part1 = BooleanAttribute()
    authorize_part2 = BooleanAttribute()
    released_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    on_time = BooleanAttribute()
    version = NumberAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()


class UniqueItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()


class ResultItem(BaseItem):
    Meta = META
    result_id = UnicodeAttribute()
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    exam = UnicodeAttribute()
    exam_date = UnicodeAttribute()  # YYYY-MM-DD
    result = UnicodeAttribute()
    official = BooleanAttribute()
    source = UnicodeAttribute()
    recorded_at = UTCDateTimeAttribute()
    att_number = UnicodeAttribute(null=True)
    cms_id = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()


class UnmatchedItem(BaseItem):
    Meta = META
    row_id = UnicodeAttribute()
    season = UnicodeAttribute()
    att_number = UnicodeAttribute()
    cms_id = UnicodeAttribute()
    exam = UnicodeAttribute()
    exam_date = UnicodeAttribute()
    result = UnicodeAttribute()
    reason = UnicodeAttribute()
    upload_id = UnicodeAttribute()
    row = NumberAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()


class UploadItem(BaseItem):
    Meta = META
    upload_id = UnicodeAttribute()
    season = UnicodeAttribute()
    uploaded_by = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    rows = NumberAttribute()
    recorded = NumberAttribute()
    duplicates = NumberAttribute()
    unmatched = NumberAttribute()
    invalid = NumberAttribute()


class CalendarItem(BaseItem):
    Meta = META
    season = UnicodeAttribute()
    calendar = MapAttribute()  # key -> ISO 8601 UTC instant
    version = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()


class CspeItem(BaseItem):
    Meta = META
    season = UnicodeAttribute()
    rules = UnicodeAttribute()  # JSON list of {class_from, class_to, cspe}
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute()


class NoticeItem(BaseItem):
    Meta = META
    kind = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class SelfReportItem(BaseItem):
    """S7: a previous graduate's own Part II result, until an administrator decides."""

    Meta = META
    report_id = UnicodeAttribute()
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    exam = UnicodeAttribute()
    exam_date = UnicodeAttribute()
    result = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | verified | rejected
    pdf_key = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    version = NumberAttribute()
    gsi1pk = UnicodeAttribute(null=True)  # self_reported#pending while pending
    gsi1sk = UnicodeAttribute(null=True)
    gsi1 = Gsi1()
