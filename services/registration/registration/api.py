"""HTTP routes of the registration service (base path /registration): parse, call a use
case, serialize. Nothing else."""

from __future__ import annotations

from chalice import Response

from registration import bootstrap, handlers
from registration.domain.ledger import balance_cents
from registration.domain.programs import Program
from registration.domain.rules import Applicant
from registration.schemas import (
    ApplicantList,
    ApplicantOut,
    ApplicantQuery,
    CreditsIn,
    CreditsOut,
    Health,
    LedgerEntryOut,
    LedgerOut,
    PaymentIn,
    PaymentOut,
    ProfilePatch,
    ProgramGetQuery,
    ProgramIn,
    ProgramList,
    ProgramOut,
    ProgramPatch,
    ProgramQuery,
    RegistrationIn,
    RegistrationOut,
    SeasonCalendarIn,
    SeasonOut,
    TrackOut,
    WithdrawalIn,
)
from shared import health
from shared.web import ANY_ROLE, PUBLIC, ApiBlueprint, optional_body

bp = ApiBlueprint(__name__, tag="registration", verifier=lambda: bootstrap.container().verifier)
APPLICANT = ("applicant",)
ADMIN = ("admin",)


def svc() -> bootstrap.Registration:
    return bootstrap.container()


def applicant_out(a: Applicant, notes: list[str] | None = None) -> ApplicantOut:
    return ApplicantOut(
        applicant_id=a.applicant_id, season=a.season, status=a.status, code_number=a.code_number,
        credits_total=a.credits_total, credits_used=a.credits_used, credits_left=a.credits_left,
        amount_due_cents=a.amount_due_cents, timezone=a.timezone, first_name=a.first_name, last_name=a.last_name,
        email=a.email, cms_id=a.cms_id, college=a.college, graduation_year=a.graduation_year, address=a.address,
        phone=a.phone, warnings=a.warnings, created_at=a.created_at, registered_at=a.registered_at,
        withdrawal_reason=a.withdrawal_reason, withdrawn_at=a.withdrawn_at, match_withdrawn=a.match_withdrawn,
        match_withdrawal_reason=a.match_withdrawal_reason, match_withdrawn_at=a.match_withdrawn_at,
        notes=notes or [])


def program_out(p: Program) -> ProgramOut:
    return ProgramOut(
        season=p.season, program_code=p.program_code, name=p.name, city=p.city, state=p.state, coth=p.coth,
        crip=p.crip, crip_section=p.crip_section, application_deadline=p.application_deadline,
        effective_application_deadline=handlers.effective_deadline(svc(), p), requirements=p.requirements,
        contact=p.contact, tracks=[TrackOut(track_code=t.track_code, name=t.name, positions=t.positions,
                                            withdrawn=t.withdrawn, withdrawal_reason=t.withdrawal_reason)
                                   for t in p.tracks])


@bp.endpoint("/health", "GET", summary="Health of the registration service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("registration", svc().platform.settings)


# ----------------------------------------------------------------------------- seasons
@bp.endpoint("/seasons/{season}", "PUT", summary="Set a season's calendar (administrators); arms one "
             "scheduled trigger per instant", body=SeasonCalendarIn, response=SeasonOut, roles=ADMIN,
             errors=(401, 403, 422))
def put_season(season: str, body: SeasonCalendarIn):
    created, calendar, schedules = handlers.set_calendar(svc(), season, body.model_dump())
    out = SeasonOut(season=season, calendar=calendar.instants, version=calendar.version, schedules=schedules)
    return Response(body=out.model_dump_json(), status_code=201 if created else 200,
                    headers={"Content-Type": "application/json"})


@bp.endpoint("/seasons/{season}", "GET", summary="A season's calendar", response=SeasonOut, roles=ANY_ROLE,
             errors=(401, 404, 422))
def get_season(season: str):
    calendar = handlers.get_calendar(svc(), season)
    return SeasonOut(season=season, calendar=calendar.instants, version=calendar.version)


# ----------------------------------------------------------------------------- applicants
@bp.endpoint("/applicants", "POST", summary="Register for a season (R1, R5, R6): the applicant itself, with "
             "its account's email, or an administrator on anyone's behalf", body=RegistrationIn,
             response=RegistrationOut, status=201, roles=APPLICANT, errors=(401, 403, 409, 422))
def post_applicant(body: RegistrationIn, principal):
    a = handlers.register(svc(), principal, **body.model_dump())
    return RegistrationOut(applicant_id=a.applicant_id, status=a.status, amount_due_cents=a.amount_due_cents,
                           warnings=a.warnings, season=a.season, cms_id=a.cms_id, email=a.email)


@bp.endpoint("/applicants", "GET", summary="Your registrations (applicants) or a season's (administrators)",
             query=ApplicantQuery, response=ApplicantList, roles=APPLICANT, errors=(401, 403, 422))
def list_applicants(query: ApplicantQuery, principal):
    found = handlers.list_applicants(svc(), principal, query.season, query.status)
    return ApplicantList(applicants=[applicant_out(a) for a in found])


@bp.endpoint("/applicants/{applicant_id}", "GET", summary="A registration (its applicant or an administrator)",
             response=ApplicantOut, roles=APPLICANT, errors=(401, 403, 404))
def get_applicant(applicant_id: str, principal):
    return applicant_out(handlers.get_applicant(svc(), principal, applicant_id))


@bp.endpoint("/applicants/{applicant_id}", "PATCH", summary="Update profile and account: name, address, "
             "phone, time zone (R7, I6)", body=ProfilePatch, response=ApplicantOut, roles=APPLICANT,
             errors=(401, 403, 404, 422))
def patch_applicant(applicant_id: str, body: ProfilePatch, principal):
    changes = body.model_dump(exclude_unset=True)
    return applicant_out(handlers.update_profile(svc(), principal, applicant_id, changes))


@bp.endpoint("/applicants/{applicant_id}/payments", "POST", summary="Pay the $550 registration fee (R2, R3); "
             "send an Idempotency-Key: a retry never charges twice", body=PaymentIn, response=PaymentOut,
             status=201, roles=APPLICANT, idempotency_key=True, errors=(401, 402, 403, 404, 409, 422, 503))
def post_payment(applicant_id: str, body: PaymentIn, principal, idempotency_key: str):
    return handlers.pay_registration(svc(), principal, applicant_id, idempotency_key=idempotency_key,
                                     amount_cents=body.amount_cents, card_number=body.card_number)


@bp.endpoint("/applicants/{applicant_id}/credits", "POST", summary="Buy application credits, $15 each (R4)",
             body=CreditsIn, response=CreditsOut, status=201, roles=APPLICANT, idempotency_key=True,
             errors=(401, 402, 403, 404, 409, 422, 503))
def post_credits(applicant_id: str, body: CreditsIn, principal, idempotency_key: str):
    return handlers.buy_credits(svc(), principal, applicant_id, idempotency_key=idempotency_key,
                                quantity=body.quantity, card_number=body.card_number)


@bp.endpoint("/applicants/{applicant_id}/ledger", "GET", summary="The registration's money movements "
             "(append-only ledger, R2)", response=LedgerOut, roles=APPLICANT, errors=(401, 403, 404))
def get_ledger(applicant_id: str, principal):
    entries = handlers.ledger(svc(), principal, applicant_id)
    return LedgerOut(applicant_id=applicant_id, balance_cents=balance_cents(entries), entries=[
        LedgerEntryOut(entry_id=e.entry_id, kind=e.kind, part=e.part, amount_cents=e.amount_cents,
                       payment_id=e.payment_id, at=e.at, quantity=e.quantity, note=e.note) for e in entries])


@bp.endpoint("/applicants/{applicant_id}/withdrawal", "POST", summary="Withdraw (R7); optional body "
             "{reason}. Refunds nothing now (R2: the interview fee refund follows I8)", response=ApplicantOut,
             roles=APPLICANT, errors=(401, 403, 404, 409, 422))
def post_withdrawal(applicant_id: str, principal, request):
    body = optional_body(request, WithdrawalIn)
    a = handlers.withdraw(svc(), principal, applicant_id, body.reason)
    return applicant_out(a, notes=[handlers.NO_REFUND_NOTE])


@bp.endpoint("/applicants/{applicant_id}/reinstatement", "POST", summary="Reinstate a withdrawn registration, "
             "before registration_final (R7)", response=ApplicantOut, roles=APPLICANT,
             errors=(401, 403, 404, 409, 422))
def post_reinstatement(applicant_id: str, principal):
    return applicant_out(handlers.reinstate(svc(), principal, applicant_id))


# ----------------------------------------------------------------------------- programs
@bp.endpoint("/programs", "POST", summary="Register a program with its tracks (administrators, R8)",
             body=ProgramIn, response=ProgramOut, status=201, roles=ADMIN, errors=(401, 403, 409, 422))
def post_program(body: ProgramIn, principal):
    return program_out(handlers.register_program(svc(), principal, body.model_dump()))


@bp.endpoint("/programs", "GET", summary="The program directory (R8): filter by state, coth, crip, text q; "
             "one season (default the latest)", query=ProgramQuery, response=ProgramList, roles=ANY_ROLE,
             errors=(401, 422))
def list_programs(query: ProgramQuery):
    season, programs = handlers.list_programs(svc(), season=query.season, state=query.state, coth=query.coth,
                                              crip=query.crip, q=query.q)
    return ProgramList(season=season, programs=[program_out(p) for p in programs])


@bp.endpoint("/programs/{program_code}", "GET", summary="A program (default: its latest season)",
             query=ProgramGetQuery, response=ProgramOut, roles=ANY_ROLE, errors=(401, 404, 422))
def get_program(program_code: str, query: ProgramGetQuery):
    return program_out(handlers.get_program(svc(), program_code, query.season))


@bp.endpoint("/programs/{program_code}", "PATCH", summary="Change a program (its own accounts or an "
             "administrator): details, deadline, tracks and positions (R8)", query=ProgramGetQuery,
             body=ProgramPatch, response=ProgramOut, roles=("program",), errors=(401, 403, 404, 409, 422))
def patch_program(program_code: str, body: ProgramPatch, query: ProgramGetQuery, principal):
    changes = body.model_dump(exclude_unset=True)
    return program_out(handlers.update_program(svc(), principal, program_code, query.season, changes))


@bp.endpoint("/programs/{program_code}/tracks/{track_code}/withdrawal", "POST", summary="Withdraw a track (its "
             "program's own accounts or an administrator; optional body {reason}): it stays on applicants' lists, "
             "flagged, and the runs snapshotted from now on skip it (M3)", query=ProgramGetQuery,
             response=ProgramOut, roles=("program",), errors=(401, 403, 404, 409, 422))
def post_track_withdrawal(program_code: str, track_code: str, query: ProgramGetQuery, principal, request):
    body = optional_body(request, WithdrawalIn)
    return program_out(handlers.withdraw_track(svc(), principal, program_code, track_code, query.season,
                                               body.reason))


@bp.endpoint("/programs/{program_code}/tracks/{track_code}/reinstatement", "POST", summary="Reinstate a "
             "withdrawn track, until the Match lists lock at rol_deadline (M3)", query=ProgramGetQuery,
             response=ProgramOut, roles=("program",), errors=(401, 403, 404, 409, 422))
def post_track_reinstatement(program_code: str, track_code: str, query: ProgramGetQuery, principal):
    return program_out(handlers.reinstate_track(svc(), principal, program_code, track_code, query.season))
