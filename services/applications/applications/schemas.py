"""Request and response models of the applications service (the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import Health

__all__ = ["Health"]

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PROGRAM_CODE = r"^[0-9]{3}$"


class Upload(BaseModel):
    url: str
    method: str = Field(description="POST: a multipart form with `fields` then the file as `file`")
    fields: dict[str, str] = Field(default_factory=dict)


# ----------------------------------------------------------------------------- documents
class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["personal_statement", "cv", "supplemental"]
    filename: str = Field(min_length=1, max_length=200)
    size: int = Field(ge=1, le=5 * 1024 * 1024, description="bytes; at most 5 MB")


class DocumentOut(BaseModel):
    document_id: str
    kind: str
    filename: str
    size: int
    status: str = Field(description="pending (upload not checked yet) | present")
    created_at: datetime | None = None
    completed_at: datetime | None = None
    locked: bool = Field(False, description="A7: core documents lock on submission")


class DocumentUploadOut(BaseModel):
    document_id: str
    upload: Upload


# ----------------------------------------------------------------------------- letters
class LetterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    writer_name: str = Field(min_length=1, max_length=100)
    writer_email: str = Field(pattern=EMAIL, max_length=254)
    label: str = Field("", max_length=100, description="e.g. 'Clinical rotation, surgery'")
    waived: bool = Field(description="the applicant waives the right to see the letter (FERPA-style)")


class LetterOut(BaseModel):
    """What the applicant sees of a letter: its status, never its content (A1)."""

    letter_id: str
    writer_name: str
    writer_email: str
    label: str
    waived: bool
    status: Literal["requested", "accepted", "declined", "received"]
    requested_at: datetime | None = None
    responded_at: datetime | None = None
    received_at: datetime | None = None
    reminded_at: datetime | None = None


class TokenQuery(BaseModel):
    token: str = Field(min_length=1, max_length=2000, description="the signed token of the writer's email link")


class LetterResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool


class WriterLetterOut(BaseModel):
    """What the writer's link shows: the request, not the applicant's other data."""

    letter_id: str
    applicant_name: str
    label: str
    waived: bool
    status: str
    replaceable: bool = Field(description="the letter may still be uploaded or replaced")


class WriterUploadOut(BaseModel):
    upload: Upload


# ----------------------------------------------------------------------------- designations
class DesignationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    program_code: str = Field(pattern=PROGRAM_CODE)


class DesignationOut(BaseModel):
    program_code: str
    round: str = Field(description="match | mpii (M7)")
    designated_at: datetime
    delivered_at: datetime | None = Field(None, description="A5: visible to the program from then; null until "
                                                            "applications_delivered")
    deadline: datetime | None = Field(None, description="A4: the program's application deadline")
    credits_left: int | None = None


class DesignationList(BaseModel):
    applicant_id: str
    credits_left: int
    credits_total: int
    designations: list[DesignationOut]


# ----------------------------------------------------------------------------- the application
class ApplicationOut(BaseModel):
    applicant_id: str
    season: str
    status: Literal["draft", "submitted"]
    submitted_at: datetime | None = None
    documents: list[DocumentOut]
    letters: list[LetterOut]
    college_record: CollegeRecordOut | None = None
    designations: list[DesignationOut]
    credits_left: int
    credits_total: int
    may_apply: bool = Field(description="A3: APMLE Part I passed")
    complete: bool
    missing: list[str]


# ----------------------------------------------------------------------------- the review desk (A6)
class ReviewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    season: str | None = Field(None, pattern=r"^[0-9]{4}$")
    review_status: Literal["new", "reviewing", "invite", "hold", "declined"] | None = None
    tag: str | None = Field(None, max_length=40)
    rating_min: int | None = Field(None, ge=1, le=5)
    q: str | None = Field(None, max_length=100)
    sort: Literal["name", "-name", "rating", "-rating", "delivered_at", "-delivered_at", "code_number"] | None = None


class ReviewPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: list[str] | None = Field(None, max_length=20)
    rating: int | None = Field(None, ge=1, le=5)
    review_status: Literal["new", "reviewing", "invite", "hold", "declined"] | None = None
    notes: str | None = Field(None, max_length=5000)


class ExamResult(BaseModel):
    exam: str = Field(description="part1 | part2_written | cspe")
    exam_date: str
    result: str = Field(description="pass | fail")
    official: bool


class ReviewRow(BaseModel):
    applicant_id: str
    gpa: float | None = None
    class_rank: int | None = None
    class_size: int | None = None
    results: list[ExamResult] = Field(default_factory=list, description="S6: pass/fail of every attempt visible "
                                                                        "to programs")
    first_name: str
    last_name: str
    code_number: str | None = None
    college: str
    round: str
    delivered_at: datetime | None = None
    letters_received: int
    tags: list[str]
    rating: int | None = None
    review_status: str
    notes: str


class ReviewList(BaseModel):
    program_code: str
    season: str
    applications: list[ReviewRow]


class ReviewedDocument(BaseModel):
    document_id: str
    kind: str
    filename: str
    size: int
    download_url: str


class ReviewedLetter(BaseModel):
    letter_id: str
    writer_name: str
    label: str
    waived: bool
    received_at: datetime | None = None
    download_url: str


class ReviewedApplication(ReviewRow):
    college_record: CollegeRecordOut | None = None
    email: str
    release_explanation: str = ""
    documents: list[ReviewedDocument]
    letters: list[ReviewedLetter]


# ----------------------------------------------------------------------------- college records (A2)
class ClinicalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: str = Field(min_length=1, max_length=200)
    specialty: str = Field(min_length=1, max_length=100)
    weeks: int = Field(ge=1, le=104)


class CollegeRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gpa: float = Field(ge=0, le=4.0)
    class_rank: int | None = Field(None, ge=1, le=10_000)
    class_size: int | None = Field(None, ge=1, le=10_000)
    clinicals: list[ClinicalIn] = Field(default_factory=list, max_length=50)


class CollegeDocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["transcript", "deans_letter"]
    filename: str = Field(min_length=1, max_length=200)
    size: int = Field(ge=1, le=5 * 1024 * 1024)


class CollegeRecordOut(BaseModel):
    college: str
    gpa: float | None = None
    class_rank: int | None = None
    class_size: int | None = None
    clinicals: list[dict] = Field(default_factory=list)
    documents: list[dict] = Field(default_factory=list)
    updated_at: datetime | None = None


class StudentsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    season: str = Field(pattern=r"^[0-9]{4}$")


class StudentRow(BaseModel):
    applicant_id: str
    first_name: str
    last_name: str
    code_number: str | None = None
    registered: bool
    withdrawn: bool
    score_release_done: bool
    documents: list[str]
    letters_requested: int
    letters_received: int
    submitted: bool
    programs_designated: list[str]
    college_record: CollegeRecordOut | None = None


class StudentList(BaseModel):
    college: str
    season: str
    students: list[StudentRow]


class PacketQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    season: str | None = Field(None, pattern=r"^[0-9]{4}$")
    redirect: bool = Field(True, description="false: answer 200 {url} instead of a 303 (for pages that fetch)")


class PacketOut(BaseModel):
    url: str = Field(description="a short-lived download link of the packet PDF")
