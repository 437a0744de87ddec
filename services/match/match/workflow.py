"""The steps of a season's run (M4), as the state machine asks for them.

Each Task of infra/statemachines/match.asl.json sends one SQS message
``{"caspr_task": "match", "step", "round"|"key", "season", "run_id", "task_token"}``
to the match service's queue and waits for its task token. ``run_task`` performs the
step and answers with ``send_task_success`` or ``send_task_failure(error=<exception
class name>)``, so the state machine retries ``TransientStoreError`` and stops on
``VerificationFailed`` by name.

Every step is idempotent, keyed by season + round + step (not by run): the lock,
the snapshot, the stored result, the releases, the MPII participants and a run's
failure are first-write-wins DynamoDB conditions. A step's events (and the alert's
email) are outbox items written in the same transaction as its state (shared.outbox):
the attempt that writes the state announces it, a retry that finds it written announces
nothing, and a process that dies right after the commit loses nothing (the relay
delivers the items). A retried step, a redelivered message or a later attempt of a
failed run repeats nothing that was done. Nothing here publishes or sends directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aws_lambda_powertools import Logger

from match import notices
from match.bootstrap import Match
from match.domain import runs as steps
from match.domain.audit import result_sha256, seal_email_body
from match.domain.errors import StepNotReady, TransientStoreError, VerificationFailed
from match.domain.lists import snapshot_document
from match.domain.mpii import mpii_participants, post_match_list
from match.domain.notices import RESULTS, STATUS
from match.domain.release import TrackOutcome, run_statistics
from match.domain.season import MATCH, MPII, ROUNDS, round_named
from match.domain.snapshot import (
    canonical_json,
    dumps_result,
    loads_json,
    loads_snapshot,
    parse_result,
    parse_snapshot,
    snapshot_sha256,
    snapshot_to_json,
)
from shared.clock import iso
from shared.contracts import MatchResultsReleased, MatchRunCompleted, MatchStatusReleased, MpiiOpened
from shared.email import Email

logger = Logger(service="match")
TASK_MARKER = "caspr_task"
PENDING = object()  # a wait step whose instant has not come: the token stays with the store


def is_task(body: object) -> bool:
    return isinstance(body, dict) and body.get(TASK_MARKER) == "match" and "task_token" in body


# ----------------------------------------------------------------------------- dispatcher
def run_task(svc: Match, message: dict) -> str:
    """Performs one step and answers its task token. Returns the outcome ('succeeded', 'failed',
    'waiting'). Raises only when the answer itself cannot be sent (the message is then
    redelivered and the step, being idempotent, runs again)."""
    step = message["step"]
    season, rid, token = message["season"], message["run_id"], message["task_token"]
    key = steps.step_key(step, message.get("round"), message.get("key"))
    store = svc.store
    try:
        store.step_started(season, rid, key, svc.platform.clock.now())
        fn = STEPS.get(step)
        if fn is None:
            raise StepNotReady(f"unknown step {step!r}")
        output = fn(svc, message)
    except Exception as exc:  # every failure goes back to the state machine, named by its class
        error = type(exc).__name__
        cause = getattr(exc, "detail", None) or str(exc) or error
        if isinstance(exc, VerificationFailed) and exc.violations:
            cause = f"{cause}: " + "; ".join(exc.violations[:20])
        logger.warning("match step failed", extra={"step": key, "season": season, "run_id": rid, "error": error})
        try:
            store.step_finished(season, rid, key, "failed", f"{error}: {cause}", svc.platform.clock.now())
        except TransientStoreError:
            pass  # the log is a courtesy; the answer below is what matters
        svc.callbacks.fail(token, error, cause)
        return "failed"
    if output is PENDING:
        store.step_finished(season, rid, key, "waiting", f"waiting for {message.get('key')}", svc.platform.clock.now())
        return "waiting"
    store.step_finished(season, rid, key, "succeeded", json.dumps(output, sort_keys=True, default=str),
                        svc.platform.clock.now())
    svc.callbacks.succeed(token, output)
    return "succeeded"


# ----------------------------------------------------------------------------- waits
def await_instant(svc: Match, m: dict) -> object:
    """Waits for a calendar instant: the token is stored first; then, if the instant has
    passed (by the service's clock) or its season.deadline_reached.v1 was seen, the step
    completes at once; otherwise on_deadline_reached completes it. Never wall-clock waits."""
    season, key = m["season"], m["key"]
    now = svc.platform.clock.now()
    svc.store.put_wait(season, key, m["run_id"], m["task_token"], now)
    if key in svc.deadlines.seen(season) or svc.store.calendar(season).passed(key, now):
        svc.store.close_wait(season, key, m["run_id"], m["task_token"], now)
        return {"reached": key}
    return PENDING


# ----------------------------------------------------------------------------- one round
def _round(m: dict) -> str:
    return round_named(m["round"]).name


def lock_lists(svc: Match, m: dict) -> dict:
    rnd = _round(m)
    if rnd == MPII and svc.store.mpii(m["season"]) is None:
        raise StepNotReady("MPII lists cannot be locked before MPII opened")
    state = svc.store.lock_round(m["season"], rnd, svc.platform.clock.now(), m["run_id"])
    return {"round": rnd, "locked_at": state.locked_at.isoformat()}


def _document(svc: Match, season: str, rnd: str) -> dict:
    people = svc.store.applicants(season)
    tracks = svc.store.tracks(season)
    if rnd == MATCH:
        positions = {code: t.positions for code, t in tracks.items()}
    else:
        participants = svc.store.mpii(season)
        if participants is None:
            raise StepNotReady("no MPII participants stored")
        allowed = set(participants.applicant_codes)
        people = [a for a in people if a.code_number in allowed]  # M7: MPII lists limited to participants
        positions = dict(participants.track_positions)
    return snapshot_document(people, positions, svc.store.rols(season, rnd),
                             withdrawn_tracks=[code for code, t in tracks.items() if t.withdrawn])


SEAL_BATCH = 90  # emails per transaction (with its marker item: within DynamoDB's 100 items)


def _seal_emails(season: str, rnd: str, sha: str, sealed_at, addresses: list[str]) -> list[Email]:
    subject, body = seal_email_body(season, ROUNDS[rnd].label, sha, iso(sealed_at))
    return [Email(to=to, subject=subject, body=body) for to in addresses]


def take_snapshot(svc: Match, m: dict) -> dict:
    """M4 + issue 12: the snapshot is taken once, after the lock, and sealed: its SHA-256 is
    recorded with the administrators' email in one transaction, then published by email to every
    participant of the round in batches (each batch commits with its marker: a retried step sends
    only the batches not yet sent, none twice; the step succeeds once every batch is sent)."""
    season, rnd = m["season"], _round(m)
    state = svc.store.round_state(season, rnd)
    if not state.locked:
        raise StepNotReady(f"the {rnd} lists are not locked; no snapshot before the lock")
    if state.snapshot_sha256 is None:
        snapshot = parse_snapshot(_document(svc, season, rnd))
        text = canonical_json(snapshot_to_json(snapshot))
        sha, now = snapshot_sha256(snapshot), svc.platform.clock.now()
        subject, body = seal_email_body(season, ROUNDS[rnd].label, sha, iso(now))
        admins = [Email(to=to, subject=subject, body=body) for to in svc.admin_emails]
        taken = sha
        sha = svc.store.save_snapshot(season, rnd, text, sha, now, emails=admins)
        state = svc.store.round_state(season, rnd)
        if sha != taken:  # another attempt sealed first: its snapshot is the round's
            snapshot, sha = _load_snapshot(svc, season, rnd)
    else:
        sha = state.snapshot_sha256  # taken already: the first snapshot stays the round's snapshot (M4)
        snapshot, sha = _load_snapshot(svc, season, rnd)
    # the seal goes to the round's participants: applicants with a certified list (in the snapshot)
    # and the contacts of programs with a certified track list
    emails = _seal_emails(season, rnd, sha, state.snapshot_taken_at, notices.seal_recipients(svc, season, rnd))
    for batch, start in enumerate(range(0, len(emails), SEAL_BATCH)):
        svc.store.notify_seal(season, rnd, batch, emails[start:start + SEAL_BATCH], svc.platform.clock.now())
    return {"round": rnd, "snapshot_sha256": sha}


def _load_snapshot(svc: Match, season: str, rnd: str):
    loaded = svc.store.load_snapshot(season, rnd)
    if loaded is None:
        raise StepNotReady(f"no {rnd} snapshot stored")
    text, sha = loaded
    return loads_snapshot(text), sha


def solve(svc: Match, m: dict) -> dict:
    season, rnd = m["season"], _round(m)
    snapshot, sha = _load_snapshot(svc, season, rnd)
    result = svc.solve(snapshot)
    svc.store.save_candidate(season, rnd, sha, dumps_result(result).decode("ascii"))
    return {"round": rnd, "matched": sum(1 for t in result.matches.values() if t is not None)}


def verify(svc: Match, m: dict) -> dict:
    """M2, M4: the stored result must be a stable matching of exactly this snapshot (the
    independent verifier) and a re-run of the snapshot must give the same bytes."""
    season, rnd = m["season"], _round(m)
    snapshot, sha = _load_snapshot(svc, season, rnd)
    text = svc.store.load_candidate(season, rnd, sha)
    if text is None:
        raise StepNotReady(f"no {rnd} result to verify")
    result = parse_result(loads_json(text), snapshot)
    violations = list(svc.verify(snapshot, result))
    if dumps_result(svc.solve(snapshot)).decode("ascii") != text:
        violations.append("a re-run of the same snapshot gave a different result (not reproducible)")
    if violations:
        raise VerificationFailed(f"the {rnd} result of season {season} failed verification "
                                 f"({len(violations)} violation(s)); nothing was stored or published", violations)
    svc.store.mark_verified(season, rnd, svc.platform.clock.now())
    return {"round": rnd, "snapshot_sha256": sha, "violations": 0}


def store(svc: Match, m: dict) -> dict:
    season, rnd = m["season"], _round(m)
    state = svc.store.round_state(season, rnd)
    if state.verified_at is None:
        raise StepNotReady(f"the {rnd} result is not verified; an unverified result is never stored")
    if state.stored_at is None:
        snapshot, sha = _load_snapshot(svc, season, rnd)
        text = svc.store.load_candidate(season, rnd, sha)
        result = parse_result(loads_json(text or "null"), snapshot)
        document = snapshot_to_json(snapshot)
        held: dict[str, list[str]] = {code: [] for code in snapshot.tracks}
        for code, track in result.matches.items():
            if track is not None:
                held[track].append(code)
        outcomes = {code: TrackOutcome(code, t.positions, int(result.unfilled[code]),
                                       tuple(sorted(held[code], key=t.rank_of.__getitem__)))
                    for code, t in snapshot.tracks.items()}
        stats = run_statistics(document, result.matches, result.unfilled)
        completed = MatchRunCompleted(
            season=season, round=rnd, run_id=m["run_id"], snapshot_sha256=sha, matched=int(stats.get("matched", 0)),
            unmatched=int(stats.get("unmatched", 0)), unfilled_positions=int(stats.get("unfilled_positions", 0)))
        state = svc.store.store_results(season, rnd, m["run_id"], dict(result.matches), outcomes, stats,
                                        svc.platform.clock.now(), events=[completed],
                                        result_sha256=result_sha256(text))  # the bytes stored
    s = state.statistics
    return {"round": rnd, **{k: s.get(k) for k in ("matched", "unmatched", "unfilled_positions")}}


# ----------------------------------------------------------------------------- releases
def _require_stored(svc: Match, season: str, rnd: str) -> None:
    if svc.store.round_state(season, rnd).stored_at is None:
        raise StepNotReady(f"the {rnd} result of season {season} is not stored")


def release_status(svc: Match, m: dict) -> dict:
    """M5: Match Status Day (results/me shows matched/unmatched from now on)."""
    season = m["season"]
    _require_stored(svc, season, MATCH)
    state = svc.store.mark_released(season, "status", svc.platform.clock.now(),
                                    events=[MatchStatusReleased(season=season, run_id=m["run_id"])])
    notices.announce_results(svc, season, STATUS)  # issue 12: "your Match status is available", once each
    return {"status_released_at": state.status_released_at.isoformat()}


def open_mpii(svc: Match, m: dict) -> dict:
    """M7: registered, not withdrawn, unmatched applicants and tracks with unfilled positions."""
    season = m["season"]
    _require_stored(svc, season, MATCH)
    matched = [o.code_number for o in svc.store.applicant_outcomes(season, MATCH) if o.track_code is not None]
    unfilled = {code: t.unfilled for code, t in svc.store.track_outcomes(season, MATCH).items()}
    withdrawn = [code for code, t in svc.store.tracks(season).items() if t.withdrawn]
    applicants = svc.store.applicants(season)
    participants = mpii_participants(applicants, matched, unfilled, withdrawn)
    people = {a.code_number: a.applicant_id for a in applicants}
    opened = MpiiOpened(season=season, applicant_ids=[people[c] for c in participants.applicant_codes if c in people],
                        track_codes=list(participants.track_codes))
    participants = svc.store.save_mpii(season, participants, svc.platform.clock.now(), events=[opened])
    return {"applicants": len(participants.applicant_codes), "tracks": len(participants.track_codes),
            "positions": sum(participants.track_positions.values())}


def release_results(svc: Match, m: dict) -> dict:
    """M5: Match Day: Match and MPII results."""
    season = m["season"]
    _require_stored(svc, season, MATCH)
    _require_stored(svc, season, MPII)
    state = svc.store.mark_released(season, "results", svc.platform.clock.now(),
                                    events=[MatchResultsReleased(season=season, run_id=m["run_id"])])
    notices.announce_results(svc, season, RESULTS)  # issue 12: "your Match results are available", once each
    return {"results_released_at": state.results_released_at.isoformat()}


def publish_post_match(svc: Match, m: dict) -> dict:
    """M8: the positions still open after MPII."""
    season = m["season"]
    _require_stored(svc, season, MPII)
    unfilled = {code: t.unfilled for code, t in svc.store.track_outcomes(season, MPII).items()}
    entries, _ = svc.store.save_post_match(season, post_match_list(unfilled, svc.store.tracks(season)),
                                           svc.platform.clock.now())
    return {"tracks": len(entries), "open_positions": sum(e["open_positions"] for e in entries)}


# ----------------------------------------------------------------------------- failure
def alert(svc: Match, m: dict) -> dict:
    """The run stops: the administrator learns why, by email, once per run (the email commits
    with the run's failure; a retry finds the failure recorded and sends nothing again)."""
    season, rid = m["season"], m["run_id"]
    failure = m.get("failure") or {}
    error = str(failure.get("Error") or "unknown error")
    cause = str(failure.get("Cause") or "")
    failed = [s for s in svc.store.steps(season, rid) if s.status == "failed" and s.step != steps.ALERT]
    if failed and not cause:  # the step log keeps the whole story (moto drops send_task_failure's cause)
        cause = failed[-1].detail or ""
    if failed:
        cause = f"step {failed[-1].step}: {cause}"
    emails = [Email(to=to, subject=f"CASPR Match run {rid} of season {season} stopped: {error}",
                    body=(f"The Match run {rid} of season {season} stopped and published nothing.\n\n"
                          f"Error: {error}\nCause: {cause}\n\n"
                          f"Progress: GET /match/seasons/{season}/runs/{rid}\n"
                          f"Once the cause is fixed, POST /match/seasons/{season}/runs starts a new attempt; "
                          "steps already done (lock, snapshot, stored results) are kept, not repeated."))
              for to in svc.admin_emails]
    svc.store.mark_run_failed(season, rid, error, cause, svc.platform.clock.now(), emails=emails)
    return {"alerted": list(svc.admin_emails), "error": error}


STEPS: dict[str, Callable[[Match, dict], object]] = {
    steps.AWAIT: await_instant,
    steps.LOCK_LISTS: lock_lists,
    steps.TAKE_SNAPSHOT: take_snapshot,
    steps.SOLVE: solve,
    steps.VERIFY: verify,
    steps.STORE: store,
    steps.RELEASE_STATUS: release_status,
    steps.OPEN_MPII: open_mpii,
    steps.RELEASE_RESULTS: release_results,
    steps.PUBLISH_POST_MATCH: publish_post_match,
    steps.ALERT: alert,
}
