"""PynamoDB models of the registration table (one table, pk/sk, index gsi1).

| item                | pk                              | sk                 | gsi1pk / gsi1sk                        |
| season calendar     | season#{season}                 | calendar           | seasons / {season}                     |
| deadline seen       | season#{season}                 | deadline#{key}     |                                        |
| applicant           | applicant#{id}                  | applicant          | season#{s}#applicants / {status}#{id}  |
| one CMS ID a season | season#{s}#cms#{CMS}            | unique             |                                        |
| one email a season  | season#{s}#email#{email}        | unique             |                                        |
| owner's pointer     | owner#{sub}                     | applicant#{id}     |                                        |
| code number         | code#{n}                        | code               |                                        |
| ledger entry        | ledger#{applicant id}           | entry#{entry id}   |                                        |
| program             | program#{code}                  | season#{season}    | season#{s}#programs / {code}           |
| idempotency records | idempotency#registration        | (powertools)       |                                        |
| outbox item         | outbox#{stream}                 | {ns}#{n}           | (shared.adapters.outbox)               |

Streams of the outbox (one per aggregate: the relay keeps each one's order):
applicant#{id}, program#{code}#season#{season}, season#{season}.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from shared.adapters.dynamo import BaseItem, Gsi1, table_meta

META = table_meta("registration")


class SeasonItem(BaseItem):
    Meta = META
    season = UnicodeAttribute()
    calendar = MapAttribute()  # key -> ISO 8601 UTC instant
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(null=True)  # 1, 2, ... each time the calendar is set (every save: +1)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()


class ApplicantItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    owner_sub = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    email = UnicodeAttribute()
    cms_id = UnicodeAttribute()
    college = UnicodeAttribute()
    graduation_year = NumberAttribute()
    status = UnicodeAttribute()
    code_number = UnicodeAttribute(null=True)
    credits_total = NumberAttribute(default=0)
    credits_used = NumberAttribute(default=0)
    timezone = UnicodeAttribute()
    address = MapAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    warnings = ListAttribute(of=UnicodeAttribute, null=True)
    created_at = UTCDateTimeAttribute()
    registered_at = UTCDateTimeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    payment_key = UnicodeAttribute(null=True)
    payment_intent = UnicodeAttribute(null=True)
    status_before_withdrawal = UnicodeAttribute(null=True)
    withdrawal_reason = UnicodeAttribute(null=True)
    withdrawn_at = UTCDateTimeAttribute(null=True)
    s5_withdrawn = BooleanAttribute(null=True)  # S5 at part1_pass_by applied (absent: False)
    match_withdrawn = BooleanAttribute(null=True)  # S5 at part2_pass_by (absent: False)
    match_withdrawal_reason = UnicodeAttribute(null=True)
    match_withdrawn_at = UTCDateTimeAttribute(null=True)
    status_version = NumberAttribute(null=True)  # +1 with every status change (absent: 0)
    version = NumberAttribute(null=True)  # +1 with every save (optimistic concurrency; absent: 0)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()


class UniqueItem(BaseItem):
    """Holds one CMS ID, email or code number for one applicant (R3, R5)."""

    Meta = META
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute(null=True)


class OwnerItem(BaseItem):
    Meta = META
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()


class LedgerItem(BaseItem):
    Meta = META
    entry_id = UnicodeAttribute()
    applicant_id = UnicodeAttribute()
    season = UnicodeAttribute()
    kind = UnicodeAttribute()
    part = UnicodeAttribute()
    amount_cents = NumberAttribute()
    payment_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    provider_ref = UnicodeAttribute(null=True)
    quantity = NumberAttribute(null=True)
    note = UnicodeAttribute(null=True)
    recorded_ns = NumberAttribute(null=True)  # when written (wall clock): orders entries of one instant


class TrackMap(MapAttribute):
    track_code = UnicodeAttribute()
    name = UnicodeAttribute()
    positions = NumberAttribute()
    withdrawn = BooleanAttribute(null=True)
    withdrawal_reason = UnicodeAttribute(null=True)


class ProgramItem(BaseItem):
    Meta = META
    season = UnicodeAttribute()
    program_code = UnicodeAttribute()
    name = UnicodeAttribute()
    city = UnicodeAttribute()
    state = UnicodeAttribute()
    coth = BooleanAttribute()
    crip = BooleanAttribute()
    crip_section = UnicodeAttribute(null=True)
    application_deadline = UTCDateTimeAttribute(null=True)
    requirements = UnicodeAttribute(null=True)
    contact = MapAttribute(null=True)
    tracks = ListAttribute(of=TrackMap)
    version = VersionAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi1 = Gsi1()
