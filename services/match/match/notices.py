"""Use cases of the Match's emails to its participants (issue 12, "Emails"; the pure part is
match.domain.notices): the ROL reminders (a scheduled function), "your result is available"
(the run's release steps), the recipients of the seal (the snapshot step), and the projection
they need (program contacts, applicants' time zones).

Every email is an outbox item committed with a marker item of its participant and notice
(MatchStore.notify_once: first write wins), so a redelivered event, a retried step or a
re-run of the scheduled function sends nothing twice. Nothing here sends directly."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from match.bootstrap import Match
from match.domain import notices as n
from match.domain.season import MATCH, MPII
from shared.contracts import ApplicantProfileUpdated, ApplicantRegistered, ProgramRegistered, ProgramUpdated
from shared.web import error_summary

logger = Logger(service="match")


# ----------------------------------------------------------------------------- projection
def on_program_contact(svc: Match, e: ProgramRegistered | ProgramUpdated) -> None:
    svc.store.upsert_program_contact(n.ProgramContact(e.season, e.program_code, e.name, e.contact_email),
                                     version=e.version)


def on_applicant_timezone(svc: Match, e: ApplicantRegistered | ApplicantProfileUpdated) -> None:
    if not e.timezone:
        return
    if isinstance(e, ApplicantProfileUpdated):  # a change: the newest profile version wins
        version = getattr(e, "version", None)  # additive, optional (an older producer: none)
        svc.store.set_applicant_timezone(e.season, e.applicant_id, e.timezone,
                                         version=version if version is not None else 0)
    else:  # the registration's: kept only while no profile change is held
        svc.store.set_applicant_timezone(e.season, e.applicant_id, e.timezone)


def _site(svc: Match) -> str:
    return f"{svc.platform.settings.public_base_url.rstrip('/')}/"


# ----------------------------------------------------------------------------- ROL reminders
def send_rol_reminders(svc: Match) -> int:
    """Runs on a schedule (AWS: every 5 minutes; the local stack: every few seconds and on
    every clock move): for each season whose reminder (3 or 1 days before a round's list
    deadline) is due, a reminder to each participant of the round whose list is not certified,
    once. Returns how many participants were reminded now."""
    now, sent, failed = svc.platform.clock.now(), 0, None
    for season, calendar in sorted(svc.store.calendars().items()):
        for reminder in n.due_reminders(calendar, now):
            try:
                sent += _remind(svc, season, reminder)
            except Exception as exc:  # one season's failure does not hold back the others' reminders
                logger.error("ROL reminders of a season failed; the next run resumes them",
                             extra={"season": season, "round": reminder.round, **error_summary(exc)})
                failed = failed or exc
    if failed is not None:
        raise failed  # the function fails (its errors alarm); what was committed stays sent once
    return sent


def _remind(svc: Match, season: str, reminder: n.Reminder) -> int:
    done = f"{reminder.key}#done"
    if svc.store.noticed(season, done) or svc.store.round_state(season, reminder.round).locked:
        return 0
    participants = None
    if reminder.round == MPII:
        participants = svc.store.mpii(season)
        if participants is None:  # MPII's participants are known from Match Status Day
            return 0
    people, programs = n.uncertified(svc.store.applicants(season), svc.store.tracks(season),
                                     svc.store.rols(season, reminder.round), participants)
    notices = n.reminder_notices(season, reminder, people, programs, svc.store.program_contacts(season), _site(svc))
    sent = svc.store.notify_once(season, notices, svc.platform.clock.now())
    # every participant reminded: later runs of the schedule skip the season at once
    svc.store.notify_once(season, [n.Notice(done, ())], svc.platform.clock.now())
    return sent


# ----------------------------------------------------------------------------- results
def announce_results(svc: Match, season: str, what: str) -> int:
    """After a release step (Match Status Day: n.STATUS; Match Day: n.RESULTS): every applicant
    with a certified list and every program with a certified track list (Match Day: of either
    round) learns that its result is on the page. Once each, whatever retries the step."""
    rounds = (MATCH,) if what == n.STATUS else (MATCH, MPII)
    rols = [r for rnd in rounds for r in svc.store.rols(season, rnd)]
    people, programs = n.certified(svc.store.applicants(season), svc.store.tracks(season), rols)
    notices = n.result_notices(season, what, people, programs, svc.store.program_contacts(season), _site(svc))
    return svc.store.notify_once(season, notices, svc.platform.clock.now())


# ----------------------------------------------------------------------------- the seal
def seal_recipients(svc: Match, season: str, rnd: str) -> list[str]:
    """The round's participants: applicants with a certified list, contacts of programs with a
    certified track list."""
    people, programs = n.certified(svc.store.applicants(season), svc.store.tracks(season), svc.store.rols(season, rnd))
    return n.seal_recipients(people, programs, svc.store.program_contacts(season))
