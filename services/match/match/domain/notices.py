"""The emails the Match sends to its participants (issue 12, "Emails"), pure: who receives
which notice and what it says. The use cases (match.notices) commit each notice with a marker
item in one transaction (first write wins), so every participant gets each notice once.

- ROL reminders: REMINDER_DAYS (3 and 1) days before a round's list deadline (`rol_deadline`,
  `mpii_rol_deadline`), to every participant of the round whose list is not certified: the
  applicants (not withdrawn; MPII: its participants) and, per program, the contact of a program
  with a track (not withdrawn; MPII: in MPII) whose list is not certified (one email naming its
  tracks). The 3-day reminder is due from deadline - 3 days until deadline - 1 day, the 1-day
  one from deadline - 1 day until the deadline, both only once the lists are open. A reminder
  is keyed by its deadline: when the calendar moves, the reminders follow the new deadline.
- "Your result is available": on Match Status Day (status) and Match Day (results), to every
  applicant with a certified list and every program with a certified track list. The result
  itself is only on the page, never in the email (M6: an email may be read by others).
- The seal: its email (match.domain.audit.seal_email_body) to the same certified participants
  of the round.

Deadlines are written in the applicant's time zone (its registration's), else America/Chicago.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from match.domain.mpii import MpiiParticipants
from match.domain.rol import APPLICANT, TRACK, ApplicantInfo, RankOrderList, TrackInfo
from match.domain.season import ROUNDS, Calendar
from shared.clock import iso
from shared.email import Email

REMINDER_DAYS = (3, 1)  # days before the deadline, latest first in time order: 3 then 1
DEFAULT_TIMEZONE = "America/Chicago"
STATUS = "status"  # Match Status Day
RESULTS = "results"  # Match Day
# the web pages (web/rol.js, web/rol-program.js, web/results.js) the emails point to, under the site
APPLICANT_LIST_PAGE, PROGRAM_LISTS_PAGE = "#/rank-list", "#/program-lists"
APPLICANT_RESULT_PAGE, PROGRAM_RESULTS_PAGE = "#/results", "#/program-results"


@dataclass(frozen=True)
class ProgramContact:
    """The match service's projection of a program's contact (program.registered/updated)."""

    season: str
    program_code: str
    name: str = ""
    contact_email: str | None = None


@dataclass(frozen=True)
class Notice:
    """One participant's notice: its emails commit with the item named `marker`, once."""

    marker: str
    emails: tuple[Email, ...]


@dataclass(frozen=True)
class Reminder:
    round: str
    days: int
    deadline: datetime

    @property
    def key(self) -> str:
        """Names the reminder and the deadline it is for: a moved deadline is a new reminder."""
        return f"rol-reminder#{self.round}#{self.days}d#{iso(self.deadline)}"


# ----------------------------------------------------------------------------- when
def due_reminders(calendar: Calendar, now: datetime) -> list[Reminder]:
    """The reminders due at `now`: at most one per round (the latest one whose instant passed)."""
    due = []
    for rnd in ROUNDS.values():
        deadline = calendar.instants.get(rnd.deadline)
        opens = calendar.instants.get(rnd.opens)
        if deadline is None or now >= deadline or (opens is not None and now < opens):
            continue
        ends = deadline
        for days in sorted(REMINDER_DAYS):  # 1, then 3: each is due until the next one starts
            starts = deadline - timedelta(days=days)
            if starts <= now < ends:
                due.append(Reminder(rnd.name, days, deadline))
                break
            ends = starts
    return due


# ----------------------------------------------------------------------------- who
def _certified(rols: Iterable[RankOrderList]) -> set[tuple[str, str]]:
    return {(r.kind, r.owner) for r in rols if r.certified}


def uncertified(applicants: Iterable[ApplicantInfo], tracks: Mapping[str, TrackInfo], rols: Iterable[RankOrderList],
                participants: MpiiParticipants | None = None
                ) -> tuple[list[ApplicantInfo], dict[str, list[TrackInfo]]]:
    """The round's participants whose list is not certified: applicants (not withdrawn; in MPII
    only its participants) and, by program, tracks (not withdrawn; in MPII only its tracks)."""
    done = _certified(rols)
    people = sorted((a for a in applicants if not a.withdrawn and (APPLICANT, a.applicant_id) not in done
                     and (participants is None or a.code_number in participants.applicant_codes)),
                    key=lambda a: a.code_number)
    by_program: dict[str, list[TrackInfo]] = {}
    for code in sorted(tracks):
        t = tracks[code]
        if t.withdrawn or (TRACK, code) in done:
            continue
        if participants is not None and code not in participants.track_positions:
            continue
        by_program.setdefault(t.program_code, []).append(t)
    return people, by_program


def certified(applicants: Iterable[ApplicantInfo], tracks: Mapping[str, TrackInfo], rols: Iterable[RankOrderList]
              ) -> tuple[list[ApplicantInfo], dict[str, list[TrackInfo]]]:
    """Those with a certified list (in any of the rounds `rols` come from), not withdrawn:
    applicants, and by program its tracks."""
    done = _certified(rols)
    people = sorted((a for a in applicants if not a.withdrawn and (APPLICANT, a.applicant_id) in done),
                    key=lambda a: a.code_number)
    by_program: dict[str, list[TrackInfo]] = {}
    for code in sorted(tracks):
        if not tracks[code].withdrawn and (TRACK, code) in done:
            by_program.setdefault(tracks[code].program_code, []).append(tracks[code])
    return people, by_program


# ----------------------------------------------------------------------------- what
def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local_time(at: datetime, zone: str | None) -> str:
    """'Friday, January 10, 2031, 6:00 AM CST (America/Chicago)'."""
    tz = zone_of(zone)
    t = at.astimezone(tz)
    hour = t.hour % 12 or 12
    return (f"{t:%A}, {t:%B} {t.day}, {t.year}, {hour}:{t:%M} {'AM' if t.hour < 12 else 'PM'} "
            f"{t.tzname()} ({tz.key})")


def _applicant_marker(prefix: str, a: ApplicantInfo) -> str:
    return f"{prefix}#applicant#{a.applicant_id}"


def _program_marker(prefix: str, program_code: str) -> str:
    return f"{prefix}#program#{program_code}"


def _track_lines(tracks: list[TrackInfo]) -> str:
    return "\n".join(f"  - {t.track_code} {t.name}".rstrip() for t in tracks)


def reminder_notices(season: str, reminder: Reminder, applicants: list[ApplicantInfo],
                     programs: Mapping[str, list[TrackInfo]], contacts: Mapping[str, ProgramContact],
                     site: str) -> list[Notice]:
    """One notice per applicant and per program (with a contact email) of `uncertified`."""
    r = ROUNDS[reminder.round]
    when = "in 3 days" if reminder.days == 3 else "tomorrow" if reminder.days == 1 else f"in {reminder.days} days"
    notices = []
    for a in applicants:
        if not a.email:
            continue
        deadline = local_time(reminder.deadline, a.timezone)
        notices.append(Notice(_applicant_marker(reminder.key, a), (Email(
            to=a.email, subject=f"CASPR {season}: certify your {r.label} rank order list by {deadline}",
            body=(f"Dear {a.name or 'applicant'},\n\n"
                  f"your {r.label} rank order list of the {season} CASPR season is not certified. Only a certified "
                  f"list takes part in the {r.label} ({r.rule}). The lists lock {when}, on {deadline}; after that "
                  "they can no longer be changed or certified.\n\n"
                  f"Sign in at {site}{APPLICANT_LIST_PAGE} to review and certify your list.\n\nCASPR\n")),)))
    for code in sorted(programs):
        contact = contacts.get(code)
        if contact is None or not contact.contact_email:
            continue
        deadline = local_time(reminder.deadline, None)
        tracks = programs[code]
        name = contact.name or (tracks[0].program_name if tracks else "") or f"program {code}"
        notices.append(Notice(_program_marker(reminder.key, code), (Email(
            to=contact.contact_email,
            subject=f"CASPR {season}: certify the {r.label} rank order lists of {name} by {deadline}",
            body=(f"Dear program contact of {name} ({code}),\n\n"
                  f"the {r.label} rank order lists of these tracks are not certified:\n{_track_lines(tracks)}\n\n"
                  f"Only a certified list takes part in the {r.label} ({r.rule}). The lists lock {when}, on "
                  f"{deadline}; after that they can no longer be changed or certified.\n\n"
                  f"Sign in at {site}{PROGRAM_LISTS_PAGE} to review and certify them.\n\nCASPR\n")),)))
    return notices


def result_notices(season: str, what: str, applicants: list[ApplicantInfo], programs: Mapping[str, list[TrackInfo]],
                   contacts: Mapping[str, ProgramContact], site: str) -> list[Notice]:
    """'Your result is available' (what: STATUS on Match Status Day, RESULTS on Match Day): to
    each certified participant, saying where to read it; never the result itself (M6)."""
    prefix = f"result-available#{what}"
    if what == STATUS:
        subject = f"CASPR {season}: your Match status is available"
        news = f"your Match status of the {season} CASPR season is available"
        tracks_news = f"the Match status of your tracks of the {season} CASPR season is available"
    else:
        subject = f"CASPR {season}: your Match results are available"
        news = f"your Match results (Match and MPII) of the {season} CASPR season are available"
        tracks_news = f"the Match results (Match and MPII) of your tracks of the {season} CASPR season are available"
    private = ("For your privacy this email does not say what it is: it is shown only on the page, to you, "
               "once you sign in.")
    notices = [Notice(_applicant_marker(prefix, a), (Email(
        to=a.email, subject=subject,
        body=(f"Dear {a.name or 'applicant'},\n\n{news}. Sign in at {site}{APPLICANT_RESULT_PAGE} to read it.\n\n"
              f"{private}\n\nCASPR\n")),))
        for a in applicants if a.email]
    for code in sorted(programs):
        contact = contacts.get(code)
        if contact is None or not contact.contact_email:
            continue
        name = contact.name or f"program {code}"
        notices.append(Notice(_program_marker(prefix, code), (Email(
            to=contact.contact_email, subject=subject,
            body=(f"Dear program contact of {name} ({code}),\n\n{tracks_news}:\n{_track_lines(programs[code])}\n\n"
                  f"Sign in at {site}{PROGRAM_RESULTS_PAGE} to read them.\n\n{private}\n\nCASPR\n")),)))
    return notices


def seal_recipients(applicants: list[ApplicantInfo], programs: Mapping[str, list[TrackInfo]],
                    contacts: Mapping[str, ProgramContact]) -> list[str]:
    """The addresses the seal goes to: certified applicants by code number, then the contacts of
    programs with a certified track list by program code (each address once)."""
    addresses = [a.email for a in applicants] + [contacts[c].contact_email if c in contacts else None
                                                  for c in sorted(programs)]
    return list(dict.fromkeys(a for a in addresses if a))
