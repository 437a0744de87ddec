"""Request and response models of the scores service (the edge)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from shared.schemas import Health

__all__ = ["Health"]

ATT = "ATT number: nine digits beginning with 00, e.g. 007885050"
CMS = "CMS ID: three letters, a dash and nine letters or digits (PRO-2T8P48F5H), or N/A"
EXAM = Literal["part1", "part2_written", "cspe"]


class ReleaseIn(BaseModel):
    """S1: the APMLE score release form."""

    model_config = ConfigDict(extra="forbid")
    att_number: str = Field(max_length=200, description=ATT)
    cms_id: str = Field(max_length=200, description=CMS)
    name_at_exam: str = Field(max_length=1000, description="your name when you took the exam: stored, never "
                              "shown back (every response carries it blank, on purpose)")
    explanation: str | None = Field(default=None, max_length=10000,
                                    description="optional, at most 2,000 characters, shown to programs")
    authorize_part1: StrictBool = Field(description="the release signed for Part I (must be true)")
    authorize_part2: StrictBool = Field(description="the release signed for Part II Written and Clinical/CSPE "
                                        "(must be true)")


class ReleaseOut(BaseModel):
    applicant_id: str
    att_number: str
    cms_id: str
    name_at_exam: Literal[""] = Field(default="", description="always blank: stored, never shown back (S1)")
    explanation: str
    authorize_part1: bool
    authorize_part2: bool
    released_at: datetime
    on_time: bool = Field(description="false when released after score_release_deadline (S2)")


class UnmatchedRow(BaseModel):
    row: int
    att_number: str
    cms_id: str
    reason: str


class InvalidRow(BaseModel):
    row: int
    field: str
    message: str


class UploadOut(BaseModel):
    upload_id: str
    rows: int
    recorded: int
    duplicates: int
    unmatched: list[UnmatchedRow]
    invalid: list[InvalidRow]


class KeptRow(BaseModel):
    row: int = Field(description="its line in the upload it came from")
    att_number: str
    cms_id: str
    exam: EXAM
    exam_date: date
    result: Literal["pass", "fail"]
    reason: str


class KeptRows(BaseModel):
    season: str
    unmatched: list[KeptRow]


class AttemptOut(BaseModel):
    exam: EXAM
    exam_date: date
    result: Literal["pass", "fail"]
    official: bool


class ResultsOut(BaseModel):
    attempts: list[AttemptOut]


class CspeRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    class_from: int = Field(ge=1900, le=2200, description="first graduating class (year) of the range")
    class_to: int = Field(ge=1900, le=2200, description="last graduating class (year) of the range")
    cspe: Literal["required", "exempt", "not_eligible"]


class CspeRulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[CspeRuleIn] = Field(max_length=200)


class CspeRulesOut(BaseModel):
    season: str
    rules: list[CspeRuleIn]
    version: int = Field(description="0 while the season has no table")


class EligibilityOut(BaseModel):
    part1_passed: bool
    part2_written_passed: bool
    cspe: Literal["required", "exempt", "not_eligible"]
    cspe_passed: bool
    may_apply: bool = Field(description="A3: applications may be sent once Part I is passed")
    match_eligible: bool
    reasons: list[str]


class SelfReportIn(BaseModel):
    """S7: a previous graduate's own Part II result (the PDF score report goes to the form returned)."""

    model_config = ConfigDict(extra="forbid")
    exam: str = Field(max_length=40, description="part2_written or cspe")
    exam_date: date
    result: str = Field(max_length=10, description="pass or fail")


class UploadForm(BaseModel):
    url: str
    method: str
    fields: dict[str, str]


class SelfReportOut(BaseModel):
    self_reported_id: str
    applicant_id: str
    exam: str
    exam_date: date
    result: str
    official: bool = Field(description="false until an administrator verifies it (S7)")
    status: Literal["pending", "verified", "rejected"]
    upload: UploadForm | None = Field(default=None, description="the presigned POST for the PDF score report "
                                      "(PDF only, at most 5 MB)")


class SelfReportList(BaseModel):
    self_reported: list[SelfReportOut]


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verified: StrictBool
