"""The programs' review desk (A6): a program's private review of an application delivered
to it, and the filters of its list."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

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
