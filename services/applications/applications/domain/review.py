"""The programs' review desk (A6): a program's private review of an application delivered
to it, and the filters of its list."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from applications.domain.application import RECEIVED
from shared.errors import FieldError, ValidationFailed

REVIEW_STATUSES = ("new", "reviewing", "invite", "hold", "declined")
MAX_TAGS, MAX_TAG, MAX_NOTES = 20, 40, 5000


@dataclass(frozen=True)
class Review:
    program_code: str
    season: str
    applicant_id: str
    tags: tuple[str, ...] = ()
    rating: int | None = None
    review_status: str = "new"
    notes: str = ""
    updated_at: datetime | None = None

    def patch(self, changes: dict, now: datetime) -> Review:
        """A6: tags, rating (1-5), review status, notes; private to the program."""
        errors = []
        out = self
        if "tags" in changes:
            tags = tuple(dict.fromkeys(t.strip() for t in changes["tags"] or [] if t and t.strip()))
            if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
                errors.append(FieldError("tags", f"at most {MAX_TAGS} tags of {MAX_TAG} characters"))
            out = replace(out, tags=tags)
        if "rating" in changes:
            rating = changes["rating"]
            if rating is not None and not (1 <= rating <= 5):
                errors.append(FieldError("rating", "must be 1 to 5"))
            out = replace(out, rating=rating)
        if "review_status" in changes:
            status = changes["review_status"] or "new"
            if status not in REVIEW_STATUSES:
                errors.append(FieldError("review_status", f"must be one of {', '.join(REVIEW_STATUSES)}"))
            out = replace(out, review_status=status)
        if "notes" in changes:
            notes = changes["notes"] or ""
            if len(notes) > MAX_NOTES:
                errors.append(FieldError("notes", f"at most {MAX_NOTES} characters"))
            out = replace(out, notes=notes)
        if errors:
            raise ValidationFailed("the review has invalid fields (A6)", rule="A6", errors=errors)
        return replace(out, updated_at=now)


def matches(row: dict, review: Review, *, review_status: str | None, tag: str | None, rating_min: int | None,
            q: str | None) -> bool:
    """A6's filters of a program's list."""
    if review_status and review.review_status != review_status:
        return False
    if tag and tag not in review.tags:
        return False
    if rating_min is not None and (review.rating is None or review.rating < rating_min):
        return False
    if q:
        needle = q.strip().lower()
        hay = " ".join(str(row.get(k) or "") for k in ("first_name", "last_name", "code_number", "college")).lower()
        if needle not in hay:
            return False
    return True


# ----------------------------------------------------------------------------- the desk's list
@dataclass(frozen=True)
class DeskRow:
    """One application as a program's list and CSV show it: kept per program, updated in the
    same transaction as every change of what it shows (delivery, the review, letters received,
    the college's GPA and class rank, the exam attempts), so the list reads one item per
    application."""

    program_code: str
    season: str
    applicant_id: str
    round: str
    delivered_at: datetime | None
    first_name: str = ""
    last_name: str = ""
    code_number: str | None = None
    college: str = ""
    gpa: float | None = None
    class_rank: int | None = None
    class_size: int | None = None
    letters_received: int = 0
    results: tuple[dict, ...] = ()  # every attempt with its visible_from; shown per visible_results
    review: Review | None = None

    def review_or_new(self) -> Review:
        return self.review or Review(self.program_code, self.season, self.applicant_id)


def visible_results(results, at: datetime) -> list[dict]:
    """S6, A6: pass/fail of every attempt, each only from its visible_from (Part I from
    scores_uploaded, Part II from part2_uploaded)."""
    return [{"exam": r["exam"], "exam_date": r["exam_date"], "result": r["result"], "official": r["official"]}
            for r in results if r.get("visible_from") is None or r["visible_from"] <= at]


def list_row(row: DeskRow, at: datetime) -> dict:
    """The list's (and the CSV's) row of one delivered application."""
    review = row.review_or_new()
    return {"gpa": row.gpa, "class_rank": row.class_rank, "class_size": row.class_size,
            "results": visible_results(row.results, at), "applicant_id": row.applicant_id,
            "first_name": row.first_name, "last_name": row.last_name, "code_number": row.code_number,
            "college": row.college, "round": row.round, "delivered_at": row.delivered_at,
            "letters_received": row.letters_received, "tags": list(review.tags), "rating": review.rating,
            "review_status": review.review_status, "notes": review.notes}


SORTS = {"name": lambda r: (r["last_name"].lower(), r["first_name"].lower()),
         "delivered_at": lambda r: r["delivered_at"] or datetime.min.replace(tzinfo=UTC),
         "code_number": lambda r: r["code_number"] or ""}


def desk_list(rows, at: datetime, *, review_status: str | None = None, tag: str | None = None,
              rating_min: int | None = None, q: str | None = None, sort: str | None = None) -> list[dict]:
    """A6: the program's list: its delivered applications filtered and sorted (name by default;
    `-` for descending; the unrated last when sorting by rating either way)."""
    out = []
    seen: set[str] = set()
    for row in rows:
        if row.delivered_at is None or row.applicant_id in seen:
            continue
        seen.add(row.applicant_id)
        shown = list_row(row, at)
        if matches(shown, row.review_or_new(), review_status=review_status, tag=tag, rating_min=rating_min, q=q):
            out.append(shown)
    key, descending = (sort or "name").lstrip("-"), (sort or "").startswith("-")
    if key == "rating":
        out.sort(key=lambda r: (r["rating"] is None, -(r["rating"] or 0) if descending else (r["rating"] or 0)))
    else:
        out.sort(key=SORTS[key], reverse=descending)
    return out


def desk_row(program_code: str, season: str, applicant_id: str, round_: str, delivered_at: datetime | None,
             facts, app, record, review: Review | None = None) -> DeskRow:
    """The desk row of one delivery, from the applicant's facts (ApplicantFacts), application
    (Application) and college record (CollegeRecord or None)."""
    return DeskRow(program_code=program_code, season=season, applicant_id=applicant_id, round=round_,
                   delivered_at=delivered_at, first_name=facts.first_name, last_name=facts.last_name,
                   code_number=facts.code_number, college=facts.college,
                   gpa=record.gpa if record else None, class_rank=record.class_rank if record else None,
                   class_size=record.class_size if record else None,
                   letters_received=letters_received(app) if app is not None else 0,
                   results=tuple(facts.results), review=review)


def letters_received(app) -> int:
    return len([x for x in app.letters if x.status == RECEIVED])


def record_shown(record) -> tuple:
    """What the list shows of a college record (a change of anything else leaves the rows be)."""
    return (record.gpa, record.class_rank, record.class_size) if record is not None else (None, None, None)
