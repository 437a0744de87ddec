"""R8: programs, their tracks, and the program directory.

The program is an aggregate that raises its events: register/update/withdraw_track/
reinstate_track return a `shared.outbox.Change` (the new state, its `version` still the one
read; events carry version + 1, the version the repository's save writes). Building the
event contracts (shared.contracts, pydantic) here is an accepted exception to "no pydantic
in the domain" (see rules.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from registration.domain.calendar import SeasonCalendar
from shared.contracts import (
    Contract,
    ProgramRegistered,
    ProgramUpdated,
    TrackInfo,
    TrackPositionsChanged,
    TrackReinstated,
    TrackWithdrawn,
)
from shared.errors import Conflict, FieldError, NotFound, RuleViolation, ValidationFailed
from shared.outbox import Change

PROGRAM_CODE = re.compile(r"^[0-9]{3}\Z")
TRACK_CODE = re.compile(r"^[0-9]{4}\Z")
MAX_POSITIONS = 99


@dataclass(frozen=True)
class Track:
    track_code: str
    name: str
    positions: int
    withdrawn: bool = False  # M3: takes no part in runs snapshotted while withdrawn
    withdrawal_reason: str | None = None


@dataclass(frozen=True)
class Program:
    season: str
    program_code: str
    name: str
    city: str
    state: str
    coth: bool
    crip: bool
    crip_section: str | None
    application_deadline: datetime | None
    requirements: str | None
    contact: dict
    tracks: tuple[Track, ...] = field(default_factory=tuple)
    version: int = 0

    def effective_deadline(self, calendar: SeasonCalendar) -> datetime:
        """A4: the program's own deadline, else the season's application_deadline_default."""
        return self.application_deadline or calendar["application_deadline_default"]

    def track(self, code: str) -> Track | None:
        return next((t for t in self.tracks if t.track_code == code), None)

    # --- the changes (R8, M3): each returns the new state and what it announces ------------
    @property
    def contact_email(self) -> str | None:
        """The program contact's email (I5: the daily digest of interview changes goes there)."""
        return (self.contact or {}).get("email") or None

    def register(self, calendar: SeasonCalendar) -> Change[Program]:
        """R8: a new program of the season (version 0: never stored)."""
        check_program(self, calendar)
        return Change(self, (ProgramRegistered(
            season=self.season, program_code=self.program_code, name=self.name, coth=self.coth, crip=self.crip,
            crip_section=self.crip_section, application_deadline=self.effective_deadline(calendar),
            tracks=self._track_infos(), version=self.version + 1, contact_email=self.contact_email),))

    def update(self, fields: dict, tracks: list[Track], calendar: SeasonCalendar) -> Change[Program]:
        """R8: details and tracks (upserted by code); positions changes are announced one track
        at a time, the other changes as the whole program. Nothing changed: no events."""
        after = replace(self, **fields)
        changed: list[Track] = []
        if tracks:
            after, changed = apply_track_changes(after, tracks)
        if after == self:
            return Change(self)
        check_program(after, calendar)
        version = self.version + 1
        events: list[Contract] = [TrackPositionsChanged(
            season=after.season, program_code=after.program_code, track_code=t.track_code, name=t.name,
            positions=t.positions, version=version, withdrawn=t.withdrawn) for t in changed]
        if replace(after, tracks=self.tracks) != self or any(self.track(t.track_code) is None for t in changed):
            events.append(ProgramUpdated(
                season=after.season, program_code=after.program_code, name=after.name, coth=after.coth,
                crip=after.crip, crip_section=after.crip_section,
                application_deadline=after.effective_deadline(calendar), tracks=after._track_infos(),
                contact_email=after.contact_email, version=version))
        return Change(after, tuple(events))

    def withdraw_track(self, code: str, reason: str | None) -> Change[Program]:
        """M3: see withdraw_track."""
        after, track = withdraw_track(self, code, reason)
        return Change(after, (TrackWithdrawn(
            season=after.season, program_code=after.program_code, track_code=track.track_code, name=track.name,
            positions=track.positions, reason=track.withdrawal_reason, version=self.version + 1),))

    def reinstate_track(self, code: str, calendar: SeasonCalendar, now: datetime) -> Change[Program]:
        """M3: see reinstate_track."""
        after, track = reinstate_track(self, code, calendar, now)
        return Change(after, (TrackReinstated(
            season=after.season, program_code=after.program_code, track_code=track.track_code, name=track.name,
            positions=track.positions, version=self.version + 1),))

    def _track_infos(self) -> list[TrackInfo]:
        return [TrackInfo(track_code=t.track_code, name=t.name, positions=t.positions) for t in self.tracks]


def check_program(program: Program, calendar: SeasonCalendar) -> Program:
    """R8: 3-digit code, 4-digit track codes = program code + one digit, positions 0..99,
    CRIP section iff CRIP, own application deadline no later than match_application_last."""
    errors: list[FieldError] = []
    if not PROGRAM_CODE.match(program.program_code):
        errors.append(FieldError("program_code", "3 digits, e.g. 101"))
    if not program.tracks:
        errors.append(FieldError("tracks", "at least one track"))
    seen: set[str] = set()
    for i, t in enumerate(program.tracks):
        if not TRACK_CODE.match(t.track_code) or not t.track_code.startswith(program.program_code):
            errors.append(FieldError(f"tracks.{i}.track_code",
                                     f"4 digits: the program code then one digit, e.g. {program.program_code}1"))
        if t.track_code in seen:
            errors.append(FieldError(f"tracks.{i}.track_code", f"track {t.track_code} appears twice"))
        seen.add(t.track_code)
        if isinstance(t.positions, bool) or not isinstance(t.positions, int) or not 0 <= t.positions <= MAX_POSITIONS:
            errors.append(FieldError(f"tracks.{i}.positions", f"an integer from 0 to {MAX_POSITIONS}"))
        if not (t.name or "").strip():
            errors.append(FieldError(f"tracks.{i}.name", "is required, e.g. PMSR/RRA"))
    if program.crip and not (program.crip_section or "").strip():
        errors.append(FieldError("crip_section", "is required when the program takes part in CRIP"))
    if not program.crip and program.crip_section:
        errors.append(FieldError("crip_section", "only programs at CRIP have a CRIP section (set crip: true)"))
    last = calendar["match_application_last"]
    if program.application_deadline is not None and program.application_deadline > last:
        errors.append(FieldError("application_deadline",
                                 f"must be no later than the season's match_application_last ({last.isoformat()})"))
    if errors:
        raise ValidationFailed("the program is invalid", rule="R8", errors=errors)
    return program


def apply_track_changes(program: Program, changes: list[Track]) -> tuple[Program, list[Track]]:
    """Upserts tracks by code; returns the program and the tracks whose positions (or
    existence) changed, in code order."""
    tracks = {t.track_code: t for t in program.tracks}
    changed: list[Track] = []
    for t in changes:
        before = tracks.get(t.track_code)
        if before is not None:  # a PATCH changes name and positions; withdrawal has its own routes
            t = replace(t, withdrawn=before.withdrawn, withdrawal_reason=before.withdrawal_reason)
        if before is None or before.positions != t.positions:
            changed.append(t)
        tracks[t.track_code] = t
    return replace(program, tracks=tuple(sorted(tracks.values(), key=lambda t: t.track_code))), changed


def _with_track(program: Program, code: str, change) -> tuple[Program, Track]:
    track = program.track(code)
    if track is None:
        raise NotFound(f"program {program.program_code} has no track {code} in season {program.season}")
    track = change(track)
    return replace(program, tracks=tuple(track if t.track_code == code else t for t in program.tracks)), track


def withdraw_track(program: Program, code: str, reason: str | None) -> tuple[Program, Track]:
    """M3: a program (or an administrator) withdraws one of its tracks: it stays on applicants'
    lists, flagged, and the runs snapshotted from now on skip it (results already stored stand)."""
    def change(t: Track) -> Track:
        if t.withdrawn:
            raise Conflict(f"track {code} is withdrawn already", rule="M3")
        return replace(t, withdrawn=True, withdrawal_reason=(reason or "").strip() or None)
    return _with_track(program, code, change)


def reinstate_track(program: Program, code: str, calendar: SeasonCalendar, now: datetime) -> tuple[Program, Track]:
    """M3: a withdrawn track comes back, before the Match lists lock (rol_deadline)."""
    lock = calendar["rol_deadline"]
    if now > lock:
        raise RuleViolation(f"a track can be reinstated only until the Match lists lock at {lock.isoformat()} "
                            f"(rol_deadline of season {calendar.season})", rule="M3")

    def change(t: Track) -> Track:
        if not t.withdrawn:
            raise Conflict(f"track {code} is not withdrawn", rule="M3")
        return replace(t, withdrawn=False, withdrawal_reason=None)
    return _with_track(program, code, change)


def matches(program: Program, *, state: str | None = None, coth: bool | None = None, crip: bool | None = None,
            q: str | None = None) -> bool:
    """The directory's filters (R8): state, COTH, CRIP, free text in name/city/code."""
    if state and program.state.upper() != state.strip().upper():
        return False
    if coth is not None and program.coth != coth:
        return False
    if crip is not None and program.crip != crip:
        return False
    if q:
        needle = q.strip().lower()
        haystack = " ".join([program.name, program.city, program.program_code,
                             *[t.track_code for t in program.tracks]]).lower()
        if needle not in haystack:
            return False
    return True
