"""Constants and helpers of the scores tests, under a module name of their own (test modules
import them from here: `conftest` is not a unique module name across the test folders)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SEASON = "2024"
REPORTS_BUCKET = "caspr-local-documents-test"
START = datetime(2023, 8, 1, 12, 0, tzinfo=UTC)
CALENDAR = {
    "registration_opens": START - timedelta(days=10),
    "score_release_deadline": datetime(2023, 10, 26, 3, 59, tzinfo=UTC),
    "scores_uploaded": datetime(2023, 10, 26, 12, 0, tzinfo=UTC),
    "part1_pass_by": datetime(2023, 11, 1, 3, 59, tzinfo=UTC),
    "part2_pass_by": datetime(2024, 3, 1, 4, 59, tzinfo=UTC),
    "part2_uploaded": datetime(2024, 3, 2, 12, 0, tzinfo=UTC),
}


def deliver_outbox() -> int:
    """What the relay does after every change: the outbox items committed so far go to the
    wired publisher and mailer."""
    from scores import bootstrap

    total = 0
    while True:
        n = bootstrap.outbox().sweep(older_than=0, limit=1000)
        total += n
        if n == 0:
            return total


_n = iter(range(10000, 99999))


def register(svc, *, owner: str | None = None, graduation_year: int = 2024, season: str = SEASON,
             email: str | None = None) -> str:
    """An applicant registered (applicant.registered.v1 as registration publishes it)."""
    from scores import handlers
    from shared.contracts import ApplicantRegistered

    n = next(_n)
    applicant_id = f"app-{n}"
    handlers.on_applicant_registered(svc, ApplicantRegistered(
        season=season, applicant_id=applicant_id, code_number=str(n), cms_id=f"PRO-{n:09d}",
        email=email or f"{applicant_id}@test.caspr", first_name="Ada", last_name=f"Lee{n}", college="Temple",
        graduation_year=graduation_year, timezone="America/Chicago", credits_total=12, owner_sub=owner, version=1))
    return applicant_id
