"""Domain errors. Pure Python: domain code raises these; the HTTP edge maps them to
RFC 9457 problem+json once (shared.web), Step Functions by exception class name."""

from __future__ import annotations

from dataclasses import dataclass, field

PROBLEM_BASE = "https://caspr.example/problems/"
# a refusal stays small whatever was sent (a list of 100,000 bad entries must not come back
# as a 10 MB answer: API Gateway/Lambda cannot return more than 6 MB)
MAX_ERRORS = 20
MAX_DETAIL = 1000
MAX_FIELD = 200


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit - 1]}…"


@dataclass
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base of every refusal. `rule` is a SPEC rule id (R1, I4 ...) when a rule refuses."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, rule: str | None = None, errors: list[FieldError] | None = None,
                 extra: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.rule = rule
        self.errors = errors or []
        self.extra = extra or {}

    @property
    def type(self) -> str:
        if self.rule:
            return f"{PROBLEM_BASE}{self.rule}"
        return f"{PROBLEM_BASE}{self.slug}"

    def to_problem(self) -> dict:
        body = {"type": self.type, "title": self.title, "status": self.status,
                "detail": clip(self.detail, MAX_DETAIL)}
        if self.rule:
            body["rule"] = self.rule
        if self.errors:
            body["errors"] = [{"field": clip(e.field, MAX_FIELD), "message": clip(e.message, MAX_FIELD)}
                              for e in self.errors[:MAX_ERRORS]]
            if len(self.errors) > MAX_ERRORS:
                body["errors_total"] = len(self.errors)  # the first MAX_ERRORS are listed
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status = 422
    title = "Validation failed"
    slug = "validation"


class RuleViolation(DomainError):
    """A SPEC rule refuses the action (the rule id goes into the problem type)."""

    status = 422
    title = "Refused by rule"
    slug = "rule"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class PaymentDeclined(DomainError):
    status = 402
    title = "Payment declined"
    slug = "payment-declined"


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"
    slug = "throttled"


class TemporarilyUnavailable(DomainError):
    """A dependency failed transiently; the same request may be retried."""

    status = 503
    title = "Temporarily unavailable"
    slug = "retry"


@dataclass
class Violation:
    """Used by checks that collect several problems before refusing."""

    items: list[FieldError] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.items.append(FieldError(name, message))

    def raise_if_any(self, detail: str = "The request has invalid fields") -> None:
        if self.items:
            raise ValidationFailed(detail, errors=self.items)
