"""Use cases of the match service: its projection of registration and the calendar,
rank order lists (M1, M3, M7), starting and following runs (M4), results (M5, M6, M8).
The steps of a run are in match.workflow."""

from __future__ import annotations

import dataclasses
import re

from match.adapters.stepfunctions import Execution
from match.adapters.store import NAMED_TRACKS, ListReads
from match.bootstrap import Match
from match.domain import release as rel
from match.domain.mpii import MpiiParticipants, require_applied_applicants, require_applied_tracks
from match.domain.rol import (
    APPLICANT,
    REGISTERED,
    TRACK,
    WITHDRAWN,
    ApplicantInfo,
    RankOrderList,
    TrackInfo,
    flagged_entries,
    require_certifiable,
    require_may_rank,
    resolve_applicants,
    validate_applicant_entries,
)
from match.domain.runs import AWAIT, PLAN, RunRecord, run_id, step_key
from match.domain.season import MATCH, MPII, ROUNDS, round_named
from shared.auth import Principal, require_program
from shared.contracts import (
    ApplicantMatchWithdrawn,
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    ApplicationDelivered,
    ProgramRegistered,
    SeasonCalendarSet,
    SeasonDeadlineReached,
    TrackPositionsChanged,
    TrackReinstated,
    TrackWithdrawn,
)
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed

ME = "me"
TRACK_CODE = re.compile(r"\d{4}", re.ASCII)  # a track code: program code + track digit (match.schemas.TRACK_CODE)
FINISHED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")


# ----------------------------------------------------------------------------- projection
def on_calendar_set(svc: Match, e: SeasonCalendarSet) -> None:
    svc.store.put_calendar(e.season, dict(e.calendar), svc.platform.clock.now(), version=e.version)


def on_applicant_registered(svc: Match, e: ApplicantRegistered) -> None:
    svc.store.upsert_applicant(ApplicantInfo(
        season=e.season, applicant_id=e.applicant_id, code_number=e.code_number, status=REGISTERED,
        email=e.email.strip().lower(), first_name=e.first_name, last_name=e.last_name, owner_sub=e.owner_sub,
        timezone=e.timezone or None), version=e.version)


def on_applicant_withdrawn(svc: Match, e: ApplicantWithdrawn) -> None:
    svc.store.set_applicant_status(e.season, e.applicant_id, e.code_number, WITHDRAWN, version=e.version)


def on_applicant_reinstated(svc: Match, e: ApplicantReinstated) -> None:
    svc.store.set_applicant_status(e.season, e.applicant_id, e.code_number, REGISTERED, version=e.version)


def on_applicant_match_withdrawn(svc: Match, e: ApplicantMatchWithdrawn) -> None:
    """S5 / M3: withdrawn from the Match (the registration stays): flagged on others' lists,
    named in the snapshot's ``withdrawn``, skipped by the run, not in MPII."""
    svc.store.set_match_withdrawn(e.season, e.applicant_id, e.code_number, e.version)


def on_program_registered(svc: Match, e: ProgramRegistered) -> None:
    for t in e.tracks:
        svc.store.upsert_track(TrackInfo(season=e.season, track_code=t.track_code, program_code=e.program_code,
                                         program_name=e.name, name=t.name, positions=t.positions),
                              version=e.version)


def on_application_delivered(svc: Match, e: ApplicationDelivered) -> None:
    """M7: MPII lists are limited to MPII applications; a Match-round delivery changes nothing here."""
    if e.round == MPII:
        svc.store.add_mpii_application(e.season, e.applicant_id, e.program_code, e.delivered_at)


def _track_changed(svc: Match, e: TrackPositionsChanged | TrackWithdrawn | TrackReinstated,
                   withdrawn: bool | None) -> None:
    """Each track event carries the whole track at the program's version (None: an older
    producer that did not say whether the track is withdrawn: kept as held)."""
    known = svc.store.track(e.season, e.track_code)
    if withdrawn is None:
        withdrawn = bool(known and known.withdrawn)
    svc.store.upsert_track(TrackInfo(season=e.season, track_code=e.track_code, program_code=e.program_code,
                                     program_name=known.program_name if known else "", name=e.name,
                                     positions=e.positions, withdrawn=withdrawn), version=e.version)


def on_track_positions_changed(svc: Match, e: TrackPositionsChanged) -> None:
    _track_changed(svc, e, e.withdrawn)


def on_track_withdrawn(svc: Match, e: TrackWithdrawn) -> None:
    _track_changed(svc, e, True)


def on_track_reinstated(svc: Match, e: TrackReinstated) -> None:
    _track_changed(svc, e, False)


def on_deadline_reached(svc: Match, e: SeasonDeadlineReached) -> None:
    """Record the instant first, then wake the runs waiting for it (a wait step stores its
    token first and then looks at the instants: one of the two always sees the other)."""
    svc.deadlines.record(e.season, e.key, e.at)
    if e.key == ROUNDS[MATCH].deadline and any(r.certified for r in svc.store.rols(e.season, MATCH)):
        # M4: the run starts by itself at list lock (a season without a single certified list has
        # nothing to match; an administrator may still start it with POST .../runs)
        start_run(svc, e.season, by="schedule:rol_deadline")
    release_waits(svc, e.season, e.key)


def release_waits(svc: Match, season: str, key: str) -> int:
    woken = 0
    for waiting_run, token in svc.store.open_waits(season, key):
        svc.callbacks.succeed(token, {"reached": key})
        now = svc.platform.clock.now()
        svc.store.close_wait(season, key, waiting_run, token, now)
        svc.store.step_finished(season, waiting_run, step_key(AWAIT, key=key), "succeeded",
                                f'{{"reached": "{key}"}}', now)
        woken += 1
    return woken


# ----------------------------------------------------------------------------- who is who
def _applicant_of_principal(svc: Match, season: str, principal: Principal) -> ApplicantInfo | None:
    found = svc.store.applicant_for_account(season, principal.sub)
    if found is None:
        email = svc.accounts.email_of(principal)
        if email:
            found = svc.store.applicant_for_email(season, email)
            if found is not None:  # next time without asking the user pool
                svc.store.link_account(season, principal.sub, found.applicant_id)
    return found


def _require_applicant_role(principal: Principal) -> None:
    if principal.role != "applicant":
        raise Forbidden("rank order lists and results of applicants are for the applicant themself")


def _own(applicant_id: str, mine: ApplicantInfo) -> ApplicantInfo:
    if applicant_id not in (ME, mine.applicant_id, mine.code_number):
        raise Forbidden("you may only access your own rank order list and results", rule="M6")
    return mine


def _admin_applicant(svc: Match, season: str, applicant_id: str) -> ApplicantInfo:
    if applicant_id == ME:
        raise ValidationFailed("administrators name the applicant: use its id or code number, not 'me'")
    found = svc.store.applicant(season, applicant_id) or svc.store.applicant_by_code(season, applicant_id)
    if found is None:
        raise NotFound(f"no applicant {applicant_id} is registered in season {season}")
    return found


def _no_registration(season: str) -> NotFound:
    return NotFound(f"your account has no completed registration in season {season}")


def applicant_for(svc: Match, season: str, applicant_id: str, principal: Principal) -> ApplicantInfo:
    """`applicant_id` is an applicant id, a code number, or `me`. An applicant reaches only
    its own registration; administrators any (M6)."""
    if principal.is_admin:
        return _admin_applicant(svc, season, applicant_id)
    _require_applicant_role(principal)
    mine = _applicant_of_principal(svc, season, principal)
    if mine is None:
        raise _no_registration(season)
    return _own(applicant_id, mine)


def track_for(svc: Match, season: str, track_code: str, principal: Principal) -> TrackInfo:
    return _known_track(season, track_code, svc.store.track(season, track_code), principal)


def _known_track(season: str, track_code: str, track: TrackInfo | None, principal: Principal) -> TrackInfo:
    if track is None:
        raise NotFound(f"no track {track_code} in season {season}; a track code is 4 digits, e.g. 1011")
    require_program(principal, track.program_code)
    return track


# ----------------------------------------------------------------------------- rank order lists
# A list request reads each item it needs once, in as few calls as it can: one BatchGetItem for
# the calendar, the round's state, the MPII participants, the account's pointer / the track and
# the list; the applicant behind an account's pointer in a second one; one Query of the season's
# tracks or applicants; and what it writes is not read back (the transaction wrote exactly that).
def _applicant_reads(svc: Match, season: str, rnd: str, applicant_id: str, principal: Principal,
                     track_codes: tuple[str, ...] = ()) -> tuple[ApplicantInfo, ListReads]:
    """The applicant (as applicant_for finds it: M6), its list of the round, the round's window
    and the tracks `track_codes` (at most NAMED_TRACKS)."""
    if principal.is_admin:
        a = _admin_applicant(svc, season, applicant_id)
        return a, svc.store.list_reads(season, rnd, rol=(APPLICANT, a.applicant_id), track_codes=track_codes)
    _require_applicant_role(principal)
    first = svc.store.list_reads(season, rnd, account=principal.sub)
    mine = None
    if first.account_applicant_id:
        second = svc.store.list_reads(season, rnd, applicant_id=first.account_applicant_id,
                                      rol=(APPLICANT, first.account_applicant_id), window=False,
                                      track_codes=track_codes)
        mine = second.applicant
    if mine is None:  # first visit (found by email, then linked) or no registration: as applicant_for
        mine = _applicant_of_principal(svc, season, principal)
        if mine is None:
            raise _no_registration(season)
        second = svc.store.list_reads(season, rnd, rol=(APPLICANT, mine.applicant_id), window=False,
                                      track_codes=track_codes)
    return _own(applicant_id, mine), dataclasses.replace(first, applicant=mine, rol=second.rol, tracks=second.tracks)


def _named_tracks(entries: list[str]) -> tuple[str, ...]:
    """The well-formed track codes a list names, when few enough to read by key with the list's other
    items (none otherwise: the season's tracks are queried)."""
    codes = tuple(sorted({e for e in entries if TRACK_CODE.fullmatch(e)}))
    return codes if len(codes) <= NAMED_TRACKS else ()


def _track_reads(svc: Match, season: str, rnd: str, track_code: str, principal: Principal
                 ) -> tuple[TrackInfo, ListReads]:
    reads = svc.store.list_reads(season, rnd, track_code=track_code, rol=(TRACK, track_code))
    return _known_track(season, track_code, reads.track, principal), reads


def _window(reads: ListReads, rnd: str) -> dict:
    r = ROUNDS[rnd]
    return {"opens_at": reads.calendar.instants.get(r.opens), "locks_at": reads.calendar.instants.get(r.deadline),
            "locked": reads.round.locked}


def _require_open(svc: Match, season: str, rnd: str, reads: ListReads) -> MpiiParticipants | None:
    from match.domain.season import require_lists_open

    require_lists_open(reads.calendar, round_named(rnd), svc.platform.clock.now(), locked=reads.round.locked)
    if rnd != MPII:
        return None
    if reads.mpii is None:
        raise RuleViolation(f"MPII of season {season} has not opened: its participants are known once the "
                            "Match status is released", rule="M7")
    return reads.mpii


def _rol_view(svc: Match, rol: RankOrderList, reads: ListReads, *, tracks: dict[str, TrackInfo] | None = None,
              people: list[ApplicantInfo] | None = None, **extra) -> dict:
    """The list as shown back; `tracks` / `people`: those of its entries, when the request read them already."""
    season = rol.season
    if rol.kind == TRACK:
        people = svc.store.applicants_named(season, rol.entries) if people is None else people
        entries = flagged_entries(rol, {a.code_number: a for a in people}, {})
    else:
        entries = flagged_entries(rol, {}, svc.store.tracks(season) if tracks is None else tracks)
    return {"season": season, "round": rol.round, "version": rol.version, "certified": rol.certified,
            "counts": rol.counts, "updated_at": rol.updated_at, "certified_at": rol.certified_at,
            **_window(reads, rol.round), **extra,
            ("tracks" if rol.kind == APPLICANT else "applicants"): entries}


def _applicant_extra(a: ApplicantInfo) -> dict:
    return {"applicant_id": a.applicant_id, "code_number": a.code_number, "withdrawn": a.withdrawn}


def get_applicant_rol(svc: Match, season: str, rnd: str, applicant_id: str, principal: Principal) -> dict:
    a, reads = _applicant_reads(svc, season, rnd, applicant_id, principal)
    return _rol_view(svc, reads.rol, reads, tracks=svc.store.tracks_named(season, reads.rol.entries),
                     **_applicant_extra(a))


def _version_read(version: int | None, reads: ListReads) -> int:
    """M1: a list is saved over the version its editor read (the one the client names, else
    the one read now): of two concurrent edits one wins, the other is a 409, none is lost."""
    return version if version is not None else reads.rol.version


def put_applicant_rol(svc: Match, season: str, rnd: str, applicant_id: str, tracks: list[str],
                      principal: Principal, version: int | None = None) -> dict:
    named = _named_tracks(tracks)
    a, reads = _applicant_reads(svc, season, rnd, applicant_id, principal, named)
    require_may_rank(a)
    participants = _require_open(svc, season, rnd, reads)
    if participants is not None and a.code_number not in participants.applicant_codes:
        raise RuleViolation("only applicants unmatched in the Match (registered, not withdrawn) take part in "
                            "MPII", rule="M7")
    # M1: every entry must be a track of the season: those it names, read by key (a code not found is
    # not a track of the season), or every track when the list names many
    known = reads.tracks if named else svc.store.tracks(season) if tracks else {}
    entries = validate_applicant_entries(
        tracks, known, season=season, mpii_tracks=participants.track_codes if participants is not None else None)
    if participants is not None:  # M7: MPII lists are limited to MPII applications
        require_applied_tracks(entries, known,
                               svc.store.mpii_applications(season, a.applicant_id).get(a.applicant_id, ()))
    rol = svc.store.save_rol(season, rnd, APPLICANT, a.applicant_id, entries, svc.platform.clock.now(),
                             principal.sub, _version_read(version, reads))
    return _rol_view(svc, rol, reads, tracks=known, **_applicant_extra(a))


def certify_applicant_rol(svc: Match, season: str, rnd: str, applicant_id: str, version: int | None,
                          principal: Principal) -> dict:
    a, reads = _applicant_reads(svc, season, rnd, applicant_id, principal)
    require_may_rank(a)
    _require_open(svc, season, rnd, reads)
    current = reads.rol
    require_certifiable(current, version)
    rol = svc.store.certify_rol(season, rnd, APPLICANT, a.applicant_id, current.version,
                                svc.platform.clock.now(), principal.sub, current=current)
    return _rol_view(svc, rol, reads, tracks=svc.store.tracks_named(season, rol.entries), **_applicant_extra(a))


def get_track_rol(svc: Match, season: str, rnd: str, track_code: str, principal: Principal) -> dict:
    t, reads = _track_reads(svc, season, rnd, track_code, principal)
    return _rol_view(svc, reads.rol, reads, track_code=t.track_code, program_code=t.program_code)


def put_track_rol(svc: Match, season: str, rnd: str, track_code: str, applicants: list[str],
                  principal: Principal, version: int | None = None) -> dict:
    t, reads = _track_reads(svc, season, rnd, track_code, principal)
    require_may_rank(t)
    participants = _require_open(svc, season, rnd, reads)
    if participants is not None and t.track_code not in participants.track_positions:
        raise RuleViolation(f"track {t.track_code} has no unfilled positions after the Match, so it takes no part "
                            "in MPII", rule="M7")
    people = svc.store.applicants_named(season, applicants)  # every applicant an entry may name
    entries = resolve_applicants(
        applicants, {a.applicant_id: a for a in people}, {a.code_number: a for a in people}, season=season,
        mpii_codes=participants.applicant_codes if participants is not None else None)
    if participants is not None:  # M7: MPII lists are limited to MPII applications
        applied = svc.store.mpii_applications(season)
        require_applied_applicants(entries, t.program_code,
                                   {a.code_number: applied.get(a.applicant_id, ()) for a in people})
    rol = svc.store.save_rol(season, rnd, TRACK, t.track_code, entries, svc.platform.clock.now(), principal.sub,
                             _version_read(version, reads))
    return _rol_view(svc, rol, reads, people=people, track_code=t.track_code, program_code=t.program_code)


def certify_track_rol(svc: Match, season: str, rnd: str, track_code: str, version: int | None,
                      principal: Principal) -> dict:
    t, reads = _track_reads(svc, season, rnd, track_code, principal)
    require_may_rank(t)
    _require_open(svc, season, rnd, reads)
    current = reads.rol
    require_certifiable(current, version)
    rol = svc.store.certify_rol(season, rnd, TRACK, t.track_code, current.version, svc.platform.clock.now(),
                                principal.sub, current=current)
    return _rol_view(svc, rol, reads, track_code=t.track_code, program_code=t.program_code)


def season_tracks(svc: Match, season: str) -> list[dict]:
    participants = svc.store.mpii(season)
    return [{"track_code": t.track_code, "track_name": t.name, "program_code": t.program_code,
             "program_name": t.program_name, "positions": t.positions,
             "in_mpii": bool(participants and t.track_code in participants.track_positions),
             "withdrawn": t.withdrawn}
            for t in sorted(svc.store.tracks(season).values(), key=lambda t: t.track_code)]


def mpii_view(svc: Match, season: str, principal: Principal) -> dict:
    """M7: who takes part in MPII. Tracks are public to signed-in users once MPII opens; the
    applicants (who is unmatched) only to administrators and to programs with a track in MPII
    (M6: nobody else learns who did not match); an applicant learns whether it takes part."""
    participants = svc.store.mpii(season)
    if participants is None:
        raise Forbidden(f"MPII of season {season} has not opened yet; it opens on Match Status Day", rule="M6")
    tracks = svc.store.tracks(season)
    view: dict = {"season": season, "tracks": [
        {"track_code": c, "track_name": tracks[c].name if c in tracks else None,
         "program_code": tracks[c].program_code if c in tracks else c[:3],
         "program_name": tracks[c].program_name if c in tracks else None, "positions": n}
        for c, n in sorted(participants.track_positions.items())]}
    in_mpii = principal.role == "program" and any(
        (tracks[c].program_code if c in tracks else c[:3]) == principal.program_code
        for c in participants.track_positions)
    if principal.is_admin or in_mpii:
        people = {a.code_number: a for a in svc.store.applicants(season)}
        view["applicants"] = [{"code_number": c, "applicant_id": people[c].applicant_id if c in people else None,
                               "name": people[c].name if c in people else None,
                               "withdrawn": bool(c in people and people[c].withdrawn)}
                              for c in participants.applicant_codes]
    elif principal.role != "program":
        mine = _applicant_of_principal(svc, season, principal)
        view["participant"] = bool(mine and mine.code_number in participants.applicant_codes)
    return view


# ----------------------------------------------------------------------------- runs
def _payload(season: str, rid: str) -> dict:
    return {"season": season, "run_id": rid}


def start_run(svc: Match, season: str, by: str) -> tuple[RunRecord, Execution, bool]:
    """M4: one execution per season (and attempt). Its name derives from the season, so a second
    start, however it races the first, returns the same execution. A new attempt is made only
    when the previous one ended badly (failed, timed out, aborted)."""
    if not by.startswith("schedule:"):  # an administrator: the season must be one the service knows
        svc.store.calendar(season).get(ROUNDS[MATCH].deadline)  # Conflict naming the missing calendar
    runs = svc.store.runs(season)
    attempt = 1
    if runs:
        latest = runs[-1]
        execution = svc.runs.start(latest.run_id, _payload(season, latest.run_id))  # same name+input: same run
        if execution.status not in FINISHED_BADLY:
            if latest.execution_arn != execution.arn:
                svc.store.set_execution(season, latest.run_id, execution.arn)
            return latest, execution, False
        attempt = latest.attempt + 1
    rid = run_id(season, attempt)
    record = RunRecord(season=season, run_id=rid, attempt=attempt, started_at=svc.platform.clock.now(), started_by=by)
    created = svc.store.create_run(record)
    execution = svc.runs.start(rid, _payload(season, rid))
    svc.store.set_execution(season, rid, execution.arn)
    return (record if created else svc.store.run(season, rid) or record), execution, created


def run_view(svc: Match, season: str, rid: str) -> dict:
    record = svc.store.run(season, rid)
    if record is None:
        raise NotFound(f"no run {rid} in season {season}")
    execution = svc.runs.describe(record.execution_arn) if record.execution_arn else None
    steps = svc.store.steps(season, rid)
    done = [s.step for s in steps if s.status == "succeeded"]
    current = next((s.step for s in reversed(steps) if s.status in ("running", "waiting", "failed")), None)
    return {
        "season": season, "run_id": rid, "attempt": record.attempt, "started_at": record.started_at,
        "started_by": record.started_by, "execution_arn": record.execution_arn,
        "status": execution.status if execution else "STARTING",
        "stopped_at": execution.stopped_at if execution else None,
        "error": (execution.error if execution else None) or record.failed_error,
        "cause": (execution.cause if execution else None) or record.failed_cause,
        "current_step": current, "completed_steps": len([p for p in PLAN if p in done]), "planned_steps": len(PLAN),
        "steps": [{"step": s.step, "status": s.status, "attempts": s.attempts, "started_at": s.started_at,
                   "finished_at": s.finished_at, "detail": s.detail} for s in steps],
    }


def runs_view(svc: Match, season: str) -> list[dict]:
    return [run_view(svc, season, r.run_id) for r in svc.store.runs(season)]


# ----------------------------------------------------------------------------- results
def _stage(svc: Match, season: str) -> str:
    return rel.require_released(svc.store.release_state(season), svc.store.calendar(season), svc.platform.clock.now())


def applicant_result(svc: Match, season: str, applicant_id: str, principal: Principal) -> dict:
    a = applicant_for(svc, season, applicant_id, principal)
    current = _stage(svc, season)  # M6: nothing before Match Status Day
    participants = svc.store.mpii(season)
    in_mpii = bool(participants and a.code_number in participants.applicant_codes)
    return rel.applicant_view(current, a, svc.store.applicant_outcome(season, MATCH, a.code_number), in_mpii,
                              svc.store.applicant_outcome(season, MPII, a.code_number) if in_mpii else None,
                              svc.store.tracks(season))


def program_result(svc: Match, season: str, program_code: str, principal: Principal) -> dict:
    require_program(principal, program_code)
    tracks = [t for t in svc.store.tracks(season).values() if t.program_code == program_code]
    if not tracks:
        raise NotFound(f"program {program_code} has no tracks in season {season}")
    current = _stage(svc, season)
    people = {a.code_number: a for a in svc.store.applicants(season)} if current == rel.RESULTS else {}
    participants = svc.store.mpii(season)
    return rel.program_view(current, program_code, season, tracks, svc.store.track_outcomes(season, MATCH),
                            svc.store.track_outcomes(season, MPII) if current == rel.RESULTS else {}, people,
                            mpii_tracks=participants.track_codes if participants is not None else None)


def my_result(svc: Match, season: str, principal: Principal) -> dict:
    if principal.is_admin:
        raise ValidationFailed(f"administrators see every result at GET /match/seasons/{season}/results")
    if principal.role == "program":
        if not principal.program_code:
            raise Forbidden("this program account is not tied to a program")
        return {"program": program_result(svc, season, principal.program_code, principal)}
    return {"applicant": applicant_result(svc, season, ME, principal)}


def admin_results(svc: Match, season: str) -> dict:
    """Administrators: everything of every stored round, with statistics (M6: only them)."""
    release = svc.store.release_state(season)
    people = {a.code_number: a for a in svc.store.applicants(season)}
    rounds = {}
    for rnd in (MATCH, MPII):
        state = svc.store.round_state(season, rnd)
        if state.stored_at is None:
            rounds[rnd] = {"stored": False, "locked_at": state.locked_at, "snapshot_sha256": state.snapshot_sha256}
            continue
        rounds[rnd] = {
            "stored": True, "run_id": state.stored_by_run, "snapshot_sha256": state.snapshot_sha256,
            "locked_at": state.locked_at, "stored_at": state.stored_at, "statistics": state.statistics,
            "matches": [{"code_number": o.code_number,
                         "applicant_id": people[o.code_number].applicant_id if o.code_number in people else None,
                         "track_code": o.track_code}
                        for o in sorted(svc.store.applicant_outcomes(season, rnd), key=lambda o: o.code_number)],
            "tracks": [{"track_code": t.track_code, "positions": t.positions, "unfilled": t.unfilled,
                        "matched": list(t.matched)}
                       for t in sorted(svc.store.track_outcomes(season, rnd).values(), key=lambda t: t.track_code)],
        }
    post = svc.store.post_match(season)
    return {"season": season, "status_released_at": release.status_released_at,
            "results_released_at": release.results_released_at, "rounds": rounds,
            "post_match": post[0] if post else None}


def post_match_view(svc: Match, season: str) -> dict:
    """M8: after MPII, the positions still open; published with the results on Match Day."""
    post = svc.store.post_match(season)
    current = rel.stage(svc.store.release_state(season), svc.store.calendar(season), svc.platform.clock.now())
    if post is None or current != rel.RESULTS:
        raise Forbidden(f"the Post-Match list of season {season} is published after the MPII results are released "
                        "on Match Day", rule="M8")
    entries, published_at = post
    return {"season": season, "published_at": published_at, "positions": entries,
            "open_positions": sum(e["open_positions"] for e in entries)}


# ----------------------------------------------------------------------------- audit (issue 12)
def audit_view(svc: Match, season: str) -> dict:
    """The seal of each round: the snapshot's SHA-256 from the lock, the result's from its storing."""
    rounds = []
    for rnd in (MATCH, MPII):
        state = svc.store.round_state(season, rnd)
        rounds.append({"round": rnd, "snapshot_sha256": state.snapshot_sha256, "sealed_at": state.snapshot_taken_at,
                       "result_sha256": state.result_sha256 if state.stored_at else None,
                       "published_at": state.stored_at if state.result_sha256 else None})
    return {"season": season, "rounds": rounds}


def audit_file(svc: Match, season: str, rnd: str, what: str) -> tuple[str, str]:
    """Administrators: (file name, exact text) of a round's snapshot or stored result; its bytes'
    SHA-256 is the one published at /audit."""
    if rnd not in ROUNDS:
        raise NotFound(f"no round {rnd}; the rounds are {' and '.join(ROUNDS)}")
    if what == "snapshot":
        loaded = svc.store.load_snapshot(season, rnd)
        if loaded is None:
            raise NotFound(f"the {rnd} snapshot of season {season} is taken when its lists lock; not yet")
        return f"caspr-{season}-{rnd}-snapshot.json", loaded[0]
    text = svc.store.load_result(season, rnd)
    if text is None:
        raise NotFound(f"the {rnd} result of season {season} is not stored yet")
    return f"caspr-{season}-{rnd}-result.json", text


def _explained_rounds(svc: Match, season: str):
    """(round, snapshot, result) of every stored round, once results are released to applicants
    (Match Day, M5); before that a 409 naming when."""
    if rel.stage(svc.store.release_state(season), svc.store.calendar(season),
                 svc.platform.clock.now()) != rel.RESULTS:
        when = svc.store.calendar(season).instants.get("match_day")
        raise Conflict(f"explanations of season {season} are available once the results are released to applicants "
                       f"on Match Day{f' ({when.isoformat()})' if when else ''}", rule="M5")
    yield from _stored_rounds(svc, season)


def applicant_explanation(svc: Match, season: str, applicant_id: str, principal: Principal) -> dict:
    """Issue 12: for each track the applicant ranked above its match (all, if unmatched): why not."""
    from match.domain import audit

    a = applicant_for(svc, season, applicant_id, principal)
    tracks = svc.store.tracks(season)
    rounds = []
    for rnd, snapshot, result in _explained_rounds(svc, season):
        if a.code_number not in snapshot.applicants:
            continue
        lines = []
        for line in audit.explain_applicant(snapshot, result, a.code_number):
            t = tracks.get(line.track_code)
            lines.append({"track_code": line.track_code, "track_name": t.name if t else None,
                          "program_code": t.program_code if t else line.track_code[:3],
                          "program_name": t.program_name if t else None, "reason": line.reason, "text": line.text})
        rounds.append({"round": rnd, "matched_track_code": result.matches.get(a.code_number), "lines": lines})
    return {"season": season, "applicant_id": a.applicant_id, "code_number": a.code_number, "rounds": rounds}


def track_explanation(svc: Match, season: str, track_code: str, principal: Principal) -> dict:
    """Issue 12: for each applicant the track ranked above one it matched (with a free position:
    every ranked applicant it did not get): why not; no identities, grouped by reason."""
    from match.domain import audit

    t = track_for(svc, season, track_code, principal)
    rounds = []
    for rnd, snapshot, result in _explained_rounds(svc, season):
        if t.track_code not in snapshot.tracks:
            continue
        reasons = audit.explain_track(snapshot, result, t.track_code)
        counts: dict[str, int] = {}
        for r in reasons:
            counts[r] = counts.get(r, 0) + 1
        filled = sum(1 for m in result.matches.values() if m == t.track_code)
        rounds.append({"round": rnd, "positions": snapshot.tracks[t.track_code].positions, "filled": filled,
                       "lines": [{"reason": r, "text": audit.TEXTS[r]} for r in reasons], "counts": counts})
    return {"season": season, "track_code": t.track_code, "program_code": t.program_code, "rounds": rounds}


# ----------------------------------------------------------------------------- statistics (M5, M6, M8)
def _stored_rounds(svc: Match, season: str):
    """(round, snapshot, result) of every round whose result is stored, at any instant (the
    administrator's: no release gate)."""
    from match.domain.snapshot import loads_json, loads_snapshot, parse_result

    for rnd in (MATCH, MPII):
        loaded = svc.store.load_snapshot(season, rnd)
        text = svc.store.load_result(season, rnd)
        if loaded is not None and text is not None:
            snapshot = loads_snapshot(loaded[0])
            yield rnd, snapshot, parse_result(loads_json(text), snapshot)


def season_statistics(svc: Match, season: str) -> list:
    """Administrators: the figures of each stored round (match.domain.statistics), computed from the
    stored snapshot and result. 404 for a season the service does not know; 409 before the Match
    result is stored."""
    from match.domain.statistics import TrackLabel, round_statistics

    calendar = svc.store.calendar(season)
    if not calendar.instants:
        raise NotFound(f"season {season} is not known to the match service: it has no calendar")
    tracks = svc.store.tracks(season)
    labels = {code: TrackLabel(program_code=t.program_code, track_name=t.name, program_name=t.program_name)
              for code, t in tracks.items()}
    rounds = [round_statistics(rnd, snapshot, result, labels)
              for rnd, snapshot, result in _stored_rounds(svc, season)]
    if not rounds:
        lock = calendar.instants.get(ROUNDS[MATCH].deadline)
        raise Conflict(f"the Match of season {season} has not run yet: statistics are computed from its stored "
                       f"result, stored by the run after the rank order lists lock"
                       f"{f' ({lock.isoformat()})' if lock else ''}", rule="M4")
    return rounds


# ----------------------------------------------------------------------------- big audit files (issue 12)
# A Lambda response carries at most 6 MB (6,291,456 bytes) of JSON, and API Gateway's proxy
# response holds the body as a JSON string, so every quote of the file is escaped: the limit
# (Match.audit_inline_max, 6,000,000) is measured on the escaped body, with room left for the
# status and headers.


def audit_download(svc: Match, season: str, rnd: str, what: str) -> tuple[str, str | None, str | None]:
    """Administrators: (file name, text, None) when the file fits a Lambda response, else (file name,
    None, presigned URL) of the same exact bytes copied to the documents bucket under match/audit/,
    keyed by their SHA-256 (a second download reuses the copy; the bytes never differ)."""
    import hashlib
    import json

    name, text = audit_file(svc, season, rnd, what)
    if svc.audit_files is None or len(json.dumps(text)) <= svc.audit_inline_max:
        return name, text, None
    data = text.encode()
    key = f"match/audit/{season}/{rnd}/{what}-{hashlib.sha256(data).hexdigest()}.json"
    if svc.audit_files.inspect(key)[1] != len(data):
        svc.audit_files.write(key, data, content_type="application/json")
    return name, None, svc.audit_files.download_url(key, filename=name)
