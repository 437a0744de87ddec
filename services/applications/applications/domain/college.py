"""College records (A2): per student, the college supplies transcript, GPA, clinicals, class
rank and the Dean's letter (where applicable). Only the student's own college writes it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from applications.domain.application import DEANS_LETTER, PENDING, PRESENT, TRANSCRIPT, Document, check_pdf
from shared.errors import FieldError, NotFound, ValidationFailed

COLLEGE_KINDS = (TRANSCRIPT, DEANS_LETTER)


@dataclass(frozen=True)
class Clinical:
    site: str
    specialty: str
    weeks: int


@dataclass(frozen=True)
class CollegeRecord:
    applicant_id: str
    college: str
    gpa: float | None = None
    class_rank: int | None = None
    class_size: int | None = None
    clinicals: tuple[Clinical, ...] = ()
    documents: tuple[Document, ...] = ()
    updated_at: datetime | None = None
    version: int = 0

    def set_facts(self, gpa: float, class_rank: int | None, class_size: int | None,
                  clinicals: list[Clinical], now: datetime) -> CollegeRecord:
        errors = []
        if not 0 <= gpa <= 4.0:
            errors.append(FieldError("gpa", "must be 0.0 to 4.0"))
        if class_rank is not None and class_size is not None and class_rank > class_size:
            errors.append(FieldError("class_rank", "cannot be larger than class_size"))
        if errors:
            raise ValidationFailed("the college record has invalid fields (A2)", rule="A2", errors=errors)
        return replace(self, gpa=gpa, class_rank=class_rank, class_size=class_size, clinicals=tuple(clinicals),
                       updated_at=now)

    def document(self, document_id: str) -> Document:
        for d in self.documents:
            if d.document_id == document_id:
                return d
        raise NotFound(f"no document {document_id} in this college record")

    def offer_upload(self, document_id: str, kind: str, filename: str, size: int, now: datetime) -> CollegeRecord:
        if kind not in COLLEGE_KINDS:
            raise ValidationFailed(f"kind must be one of {', '.join(COLLEGE_KINDS)}",
                                   errors=[FieldError("kind", "unknown kind")])
        kept = tuple(d for d in self.documents if not (d.kind == kind and d.status == PENDING))
        return replace(self, documents=(*kept, Document(document_id, kind, filename, size, PENDING, created_at=now)))

    def complete_upload(self, document_id: str, head: bytes | None, size: int | None, now: datetime) -> CollegeRecord:
        doc = self.document(document_id)
        check_pdf(head, size, "A2")
        done = replace(doc, status=PRESENT, size=size, completed_at=now)
        others = tuple(d for d in self.documents if not (d.kind == doc.kind and d.status == PRESENT))
        return replace(self, documents=tuple(done if d.document_id == document_id else d for d in others),
                       updated_at=now)

    def object_keys(self) -> frozenset[str]:
        """Every stored PDF the record refers to (a replaced transcript is no longer needed)."""
        return frozenset(d.object_key for d in self.documents)

    @property
    def present_kinds(self) -> list[str]:
        return sorted({d.kind for d in self.documents if d.status == PRESENT})

    @property
    def supplied(self) -> bool:
        """The facts and the transcript are there (the Dean's letter only where applicable)."""
        return self.gpa is not None and TRANSCRIPT in self.present_kinds
