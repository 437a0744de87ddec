"""S7: a previous graduate's self-reported Part II result: unofficial until an administrator
verifies it against the uploaded PDF score report (pure rules)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from scores.domain.results import CSPE, PART2_WRITTEN
from shared.errors import Conflict, FieldError, RuleViolation, ValidationFailed

PENDING, VERIFIED, REJECTED = "pending", "verified", "rejected"
SELF_REPORTABLE = (PART2_WRITTEN, CSPE)
PDF_MAGIC = b"%PDF-"
MAX_PDF_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class SelfReport:
    report_id: str
    applicant_id: str
    season: str
    exam: str
    exam_date: date
    result: str
    status: str
    pdf_key: str
    created_at: datetime
    decided_at: datetime | None = None
    version: int = 0


def check_previous_graduate(graduation_year: int | None, season: str) -> None:
    """S7: only a previous graduate (a class before the season's Match year) self-reports."""
    if graduation_year is None or graduation_year >= int(season):
        raise RuleViolation(f"only previous graduates may upload their own Part II result (S7); the class of "
                            f"{graduation_year} is not a previous graduate in season {season}: its results come "
                            "from the NBPME", rule="S7")


def check_report(exam: str, exam_date: date, result: str, today: date) -> None:
    errors = []
    if exam not in SELF_REPORTABLE:
        errors.append(FieldError("exam", f"one of {', '.join(SELF_REPORTABLE)}: only Part II results are "
                                 "self-reported (S7)"))
    if result not in ("pass", "fail"):
        errors.append(FieldError("result", "pass or fail"))
    if exam_date > today:
        errors.append(FieldError("exam_date", "must not be in the future"))
    if errors:
        raise ValidationFailed("the self-reported result has invalid fields", rule="S7", errors=errors)


def check_pdf(head: bytes | None, size: int | None) -> None:
    """S7: the score report is a PDF of at most 5 MB, checked by its bytes."""
    if head is None:
        raise RuleViolation("no PDF score report was uploaded for this result yet: upload it to the form given "
                            "when the result was reported (S7)", rule="S7",
                            errors=[FieldError("pdf", "is required")])
    if not head.startswith(PDF_MAGIC):
        raise RuleViolation("the uploaded score report is not a PDF (its bytes do not begin with %PDF-) (S7)",
                            rule="S7", errors=[FieldError("pdf", "must be a PDF")])
    if size is not None and size > MAX_PDF_BYTES:
        raise RuleViolation(f"the uploaded score report has {size} bytes; at most {MAX_PDF_BYTES} (5 MB) (S7)",
                            rule="S7", errors=[FieldError("pdf", "at most 5 MB")])


def decide(report: SelfReport, verified: bool, now: datetime) -> SelfReport:
    if report.status != PENDING:
        raise Conflict(f"this self-reported result was already {report.status} (S7)", rule="S7")
    return replace(report, status=VERIFIED if verified else REJECTED, decided_at=now)
