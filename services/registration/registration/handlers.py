"""Use cases of the registration service (R1-R8). Each one reads the aggregate with its
repository's `get`, checks who may act, calls the domain method that returns the change (the
new state, its events and emails), and hands it to the repository's versioned `save`: one
transaction writes the state and its outbox items, so nothing is published or mailed outside
it (see shared.outbox). A stale save is a 409; the payment and deadline paths, which must
finish what a card charge or a deadline started, reload and apply their change again."""

from __future__ import annotations

import contextlib
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from registration.adapters.repositories import AlreadyInLedger, CodeNumberTaken
from registration.bootstrap import Registration
from registration.domain import emails as registration_emails
from registration.domain.calendar import SeasonCalendar, check_season_id, parse_calendar
from registration.domain.cms import normalize_cms_id
from registration.domain.ledger import (
    REFUND,
    credit_entries,
    fee_charge_ref,
    interview_fee_refund,
    interview_fee_refund_id,
    registration_entries,
)
from registration.domain.programs import Program, Track, matches
from registration.domain.rules import (
    PENDING,
    REGISTERED,
    Applicant,
    check_can_buy_credits,
    check_payment,
    check_payment_window,
    credits_charge_cents,
    registration_fee_cents,
)
from shared.auth import Principal, require_admin, require_program
from shared.contracts import (
    ApplicationDesignated,
    InterviewFeeRefundDue,
    ScoresWithdrawalDue,
    SeasonDeadlineReached,
)
from shared.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    TemporarilyUnavailable,
    ValidationFailed,
)
from shared.money import INTERVIEW_FEE_CENTS
from shared.runtime import LAMBDA_CONTEXT

logger = Logger(service="registration")
IDEMPOTENCY_SECONDS = 24 * 3600
STALE_INTENT_SECONDS = 120
RETRIES = 5  # reloads of a path that must finish what it started (a charge, a deadline)
NO_REFUND_NOTE = ("Withdrawal refunds nothing now: the $300 applicant fee and credits are non-refundable (R2, R4); "
                  "the $250 interview scheduling fee is refunded when the interview season closes if no interview "
                  "was scheduled through the system (R2, I8).")


# ----------------------------------------------------------------------------- plumbing
def _idempotent(svc: Registration, name: str, fn, payload_fields: str):
    """powertools idempotency keyed by applicant id + Idempotency-Key; the same key with
    another body is refused. One persistence layer per use case (powertools configures a
    layer once, for the first function that uses it)."""
    key = f"idempotent:{name}"
    if key not in svc.cache:
        if svc.idempotency_store is None:
            svc.cache[key] = lambda request: fn(request)
        else:
            config = IdempotencyConfig(event_key_jmespath="[applicant_id, idempotency_key]",
                                       payload_validation_jmespath=payload_fields,
                                       raise_on_no_idempotency_key=True, expires_after_seconds=IDEMPOTENCY_SECONDS)
            wrapped = idempotent_function(data_keyword_argument="request", persistence_store=svc.idempotency_store(),
                                          config=config, key_prefix=f"registration.{name}")(
                lambda request: fn(request))

            def run(request, wrapped=wrapped, config=config):
                context = LAMBDA_CONTEXT.get()
                if context is not None:  # "in progress" ends with this invocation, should it die
                    config.register_lambda_context(context)
                return wrapped(request=request)

            svc.cache[key] = run
    return svc.cache[key]


def _run_idempotent(svc: Registration, name: str, fn, payload_fields: str, request: dict) -> dict:
    try:
        return _idempotent(svc, name, fn, payload_fields)(request)
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is in progress; retry in a moment with the same key",
                       extra={"retry": True}) from exc
    except IdempotencyValidationError as exc:
        raise ValidationFailed("this Idempotency-Key was used with a different request body; use a new key for a "
                               "new request", errors=[FieldError("Idempotency-Key", "already used with another body")]
                               ) from exc


# ----------------------------------------------------------------------------- the calendar
def set_calendar(svc: Registration, season: str, raw: dict) -> tuple[bool, SeasonCalendar, list[str]]:
    """Stores the season calendar as the season's next version, with its event (consumers keep
    the newest version), and arms one schedule per instant. A PUT replaces the whole calendar:
    when another PUT stored a version meanwhile, this one becomes the version after it."""
    new = parse_calendar(season, raw)
    for attempt in range(RETRIES):
        try:
            calendar = svc.seasons.save(new.set(svc.seasons.get(season)))
            break
        except Conflict:
            if attempt == RETRIES - 1:
                raise
    svc.cache[f"calendar:{season}"] = (time.monotonic() + svc.calendar_cache_seconds, calendar)
    return calendar.version == 1, calendar, _arm_newest(svc, calendar)


def _arm_newest(svc: Registration, calendar: SeasonCalendar) -> list[str]:
    """Two PUTs of one season at once may arm their schedules in either order: whoever finds a
    newer calendar stored after arming arms that one too, so the last schedules armed are the
    stored calendar's."""
    while True:
        schedules = svc.calendar_scheduler.arm(calendar)
        stored = svc.seasons.get(calendar.season)
        if stored is None or stored.version <= calendar.version:
            return schedules
        calendar = stored


def get_calendar(svc: Registration, season: str) -> SeasonCalendar:
    check_season_id(season)
    calendar = season_calendar(svc, season)
    if calendar is None:
        raise NotFound(f"season {season} has no calendar yet; an administrator sets it with "
                       f"PUT /registration/seasons/{season}")
    return calendar


def season_calendar(svc: Registration, season: str) -> SeasonCalendar | None:
    """The calendar, cached for a few seconds per process (it is read by every request)."""
    cached = svc.cache.get(f"calendar:{season}")
    if cached and cached[0] > time.monotonic():
        return cached[1]
    calendar = svc.seasons.get(season)
    if calendar is not None:
        svc.cache[f"calendar:{season}"] = (time.monotonic() + svc.calendar_cache_seconds, calendar)
    return calendar


def _calendar_for_body(svc: Registration, season: str) -> SeasonCalendar:
    calendar = season_calendar(svc, season)
    if calendar is None:
        raise ValidationFailed(f"season {season} is not open: it has no calendar yet",
                               errors=[FieldError("season", "no such season (an administrator sets its calendar "
                                                            f"with PUT /registration/seasons/{season})")])
    return calendar


# ----------------------------------------------------------------------------- applicants
def _authorize(svc: Registration, principal: Principal, applicant: Applicant) -> None:
    """An applicant reaches only its own registration (owned by its account's sub, or, when
    an administrator registered it, by the account with the registration's email)."""
    if principal.is_admin:
        return
    if principal.role == "applicant":
        if applicant.owner_sub is not None and applicant.owner_sub == principal.sub:
            return
        if applicant.owner_sub is None and svc.accounts.email_of(principal) == applicant.email:
            return
    raise Forbidden("you may only access your own registration")


def get_applicant(svc: Registration, principal: Principal, applicant_id: str) -> Applicant:
    applicant = svc.applicants.get(applicant_id)
    _authorize(svc, principal, applicant)
    return applicant


def list_applicants(svc: Registration, principal: Principal, season: str | None,
                    status: str | None) -> list[Applicant]:
    if principal.is_admin:
        if not season:
            raise ValidationFailed("administrators list one season at a time",
                                   errors=[FieldError("season", "is required, e.g. 2024")])
        return svc.applicants.in_season(season, status)
    if principal.role != "applicant":
        raise Forbidden("only applicants and administrators list registrations")
    found = svc.applicants.for_owner(principal.sub)
    return [a for a in found if (not season or a.season == season) and (not status or a.status == status)]


def register(svc: Registration, principal: Principal, *, season: str, first_name: str, last_name: str,
             email: str, cms_id: str, college: str, graduation_year: int) -> Applicant:
    """R1 (fields, CMS ID form), R5 (once per season), R6 (window). An applicant registers
    itself with its account's email; an administrator may register anyone."""
    cms = normalize_cms_id(cms_id)
    email = email.strip().lower()
    calendar = _calendar_for_body(svc, season)
    if not principal.is_admin:
        account_email = svc.accounts.email_of(principal)
        if account_email is None:
            raise Forbidden("confirm your account's email address first: open the link emailed to you at sign-up "
                            "(a new one: POST /auth/verification/resend) (R1: a registration carries the email "
                            "you have proven is yours)", rule="R1")
        if account_email != email:
            raise ValidationFailed(
                "the registration's email must be your account's email", rule="R1",
                errors=[FieldError("email", f"must be {account_email}")])
    change = Applicant.register(
        applicant_id=str(uuid.uuid4()), season=season, first_name=first_name, last_name=last_name, email=email,
        cms_id=cms, college=college, graduation_year=graduation_year,
        owner_sub=None if principal.is_admin else principal.sub, calendar=calendar, now=svc.clock.now())
    return svc.applicants.save(change, rule="R5")


def update_profile(svc: Registration, principal: Principal, applicant_id: str, changes: dict) -> Applicant:
    """R7 / I6: name, address, phone, time zone; CMS ID, email and season never change."""
    a = get_applicant(svc, principal, applicant_id)
    return svc.applicants.save(a.update_profile(changes), rule="R7")


# ----------------------------------------------------------------------------- payments (R2, R3)
_prefetched: ContextVar[Applicant | None] = ContextVar("registration_prefetched", default=None)


def pay_registration(svc: Registration, principal: Principal, applicant_id: str, *, idempotency_key: str,
                     amount_cents: int, card_number: str) -> dict:
    """R2: pays the $550 fee; a retry with the same Idempotency-Key never charges twice and
    returns the same result; R3: completion gives a unique Code Number and an email."""
    a = get_applicant(svc, principal, applicant_id)  # 404 / 403 before anything is recorded
    request = {"applicant_id": applicant_id, "idempotency_key": idempotency_key, "amount_cents": amount_cents,
               "card_number": card_number}
    token = _prefetched.set(a)  # read a moment ago: every transition below is conditional anyway
    try:
        return _run_idempotent(svc, "payments", lambda r: _pay_once(svc, r), "[amount_cents, card_number]",
                               request)
    finally:
        _prefetched.reset(token)


def _stale(intent: str) -> bool:
    stamp = intent.split("-", 1)[0]
    return time.time() - (int(stamp) if stamp.isdigit() else 0) >= STALE_INTENT_SECONDS


def _pay_once(svc: Registration, request: dict) -> dict:
    applicant_id, key = request["applicant_id"], request["idempotency_key"]
    a = _prefetched.get()
    if a is None or a.applicant_id != applicant_id:
        a = svc.applicants.get(applicant_id)
    if a.status == REGISTERED and a.payment_key == key:
        return _payment_result(a)  # this very request completed before (its idempotency record expired)
    check_payment(a, request["amount_cents"])
    check_payment_window(_calendar_for_body(svc, a.season), svc.clock.now())
    if a.payment_intent and not _stale(a.payment_intent):
        raise Conflict("another payment of this registration is in progress; retry in a moment", rule="R2",
                       extra={"retry": True})
    if a.payment_intent:
        # an attempt abandoned mid-way (its process died): take it over with the same provider
        # idempotency key, so the card is charged at most once whatever the old attempt did
        intent = a.payment_intent
    else:
        intent = f"{int(time.time())}-{uuid.uuid4().hex[:20]}"  # wall-clock stamp: see _stale
        a = _reserve(svc, a, intent, request["amount_cents"])  # one payment in flight, only while pending
    try:
        charge = svc.payments.charge(amount_cents=registration_fee_cents(), card_number=request["card_number"],
                                     idempotency_key=f"registration-{applicant_id}-{intent}",
                                     description=f"CASPR registration fee, season {a.season}")
    except DomainError:
        _release(svc, applicant_id, intent)  # declined or transient: nothing charged
        raise
    return _complete(svc, a, intent, key, charge.charge_id)


def _reserve(svc: Registration, a: Applicant, intent: str, amount_cents: int) -> Applicant:
    """R2: the payment intent is a versioned save of the applicant: of two payments started at
    once, one reserves, the other is told a payment is in progress."""
    for _ in range(RETRIES):
        change = a.reserve_payment(intent)  # refused when another payment is in flight
        try:
            return svc.applicants.save(change, rule="R2")
        except Conflict:
            a = svc.applicants.get(a.applicant_id)  # changed meanwhile (a profile update, another payment)
            check_payment(a, amount_cents)
    raise Conflict("the registration changed meanwhile; retry", rule="R2", extra={"retry": True})


def _release(svc: Registration, applicant_id: str, intent: str) -> None:
    for _ in range(RETRIES):
        a = svc.applicants.get(applicant_id)
        if a.payment_intent != intent:
            return
        try:
            svc.applicants.save(a.release_payment(intent), rule="R2")
            return
        except Conflict:
            continue
    logger.warning("payment intent left reserved; a later attempt takes it over", extra={"applicant_id": applicant_id})


def _payment_id(intent: str) -> str:
    return f"pay-{intent}"


def _payment_result(a: Applicant) -> dict:
    return {"payment_id": a.payment_id, "status": "succeeded", "code_number": a.code_number,
            "amount_cents": registration_fee_cents(), "registration_status": a.status,
            "credits_total": a.credits_total}


def _complete(svc: Registration, a: Applicant, intent: str, key: str, charge_id: str) -> dict:
    """One save: the registration completed with a free Code Number (R3: another one while the
    one offered is taken), its ledger charge entries (R2), its event and confirmation email."""
    payment_id = _payment_id(intent)
    now = svc.clock.now()
    charged = registration_entries(a.applicant_id, a.season, payment_id, charge_id, now)
    entries, codes, conflicts = charged, svc.codes.candidates(), 0
    code = next(codes, None)
    while code is not None and conflicts <= RETRIES:
        try:
            done = svc.applicants.save(a.complete_registration(code, payment_id=payment_id, payment_key=key, now=now),
                                       rule="R2", claim_code=code, ledger=entries)
            return _payment_result(done)
        except CodeNumberTaken:
            code = next(codes, None)
        except AlreadyInLedger:
            entries = []  # an earlier attempt recorded the charge already
        except Conflict:
            current = svc.applicants.get(a.applicant_id)
            if current.status == REGISTERED and current.payment_id == payment_id:
                return _payment_result(current)  # completed by a concurrent takeover of the same payment
            if current.status == PENDING and current.payment_intent == intent:
                a, conflicts = current, conflicts + 1  # changed otherwise meanwhile (a profile update):
                continue  # complete the fresh state
            _refund(svc, current, intent, payment_id, charge_id, charged, now)
        except Exception:
            # unexpected (the table unreachable): record the charge if possible; the payment intent
            # stays reserved and a later attempt takes it over without charging again
            with contextlib.suppress(Exception):
                svc.ledger.append(charged)
            raise
    with contextlib.suppress(Exception):
        svc.ledger.append(charged)
    raise TemporarilyUnavailable("the registration could not be completed now (no free code number, or it kept "
                                 "changing); retry with the same Idempotency-Key: the card is not charged again")


def _refund(svc: Registration, current: Applicant, intent: str, payment_id: str, charge_id: str,
            charged: list, now: datetime) -> None:
    """The registration left pending while the card was charged (closed at registration_final,
    withdrawn): the money goes back, and the ledger says so."""
    svc.ledger.append(charged)
    refund_ref = svc.payments.refund(charge_id, amount_cents=registration_fee_cents(),
                                     idempotency_key=f"refund-{payment_id}")
    svc.ledger.append(registration_entries(current.applicant_id, current.season, payment_id, refund_ref, now,
                                           kind=REFUND))
    _release(svc, current.applicant_id, intent)
    raise Conflict(f"the registration is {current.status} and can no longer be paid; the charge was refunded",
                   rule="R6")


# ----------------------------------------------------------------------------- credits (R4)
def buy_credits(svc: Registration, principal: Principal, applicant_id: str, *, idempotency_key: str,
                quantity: int, card_number: str) -> dict:
    get_applicant(svc, principal, applicant_id)
    credits_charge_cents(quantity)
    request = {"applicant_id": applicant_id, "idempotency_key": idempotency_key, "quantity": quantity,
               "card_number": card_number}
    return _run_idempotent(svc, "credits", lambda r: _buy_once(svc, r), "[quantity, card_number]", request)


def _buy_once(svc: Registration, request: dict) -> dict:
    applicant_id, key, quantity = request["applicant_id"], request["idempotency_key"], request["quantity"]
    a = svc.applicants.get(applicant_id)
    check_can_buy_credits(a)
    cents = credits_charge_cents(quantity)
    # the payment id derives from (applicant, key): a retry long after the idempotency
    # record expired still cannot add a second ledger entry or a second set of credits
    payment_id = f"cr-{uuid.uuid5(uuid.NAMESPACE_URL, f'caspr:credits:{applicant_id}:{key}')}"
    charge = svc.payments.charge(amount_cents=cents, card_number=request["card_number"],
                                 idempotency_key=f"credits-{payment_id}",
                                 description=f"CASPR application credits x{quantity}, season {a.season}")
    now = svc.clock.now()
    entries = credit_entries(applicant_id, a.season, payment_id, charge.charge_id, now, quantity)

    def result(total: int) -> dict:
        return {"payment_id": payment_id, "quantity": quantity, "credits_total": total, "charged_cents": cents}

    for _ in range(RETRIES):
        if a.status == REGISTERED:
            try:
                return result(svc.applicants.save(a.add_credits(quantity), rule="R4", ledger=entries).credits_total)
            except AlreadyInLedger:
                return result(svc.applicants.get(applicant_id).credits_total)  # this purchase completed before
            except Conflict:
                a = svc.applicants.get(applicant_id)  # changed meanwhile: add to the fresh state
                continue
        # no longer registered (withdrawn while the card was charged): the money goes back
        refund_ref = svc.payments.refund(charge.charge_id, amount_cents=cents, idempotency_key=f"refund-{payment_id}")
        svc.ledger.append(entries + credit_entries(applicant_id, a.season, payment_id, refund_ref, now, quantity,
                                                   kind=REFUND))
        check_can_buy_credits(a)
    raise Conflict(f"registration {applicant_id} keeps changing; retry with the same Idempotency-Key", rule="R4",
                   extra={"retry": True})


def ledger(svc: Registration, principal: Principal, applicant_id: str):
    get_applicant(svc, principal, applicant_id)
    return svc.ledger.entries(applicant_id)


# ----------------------------------------------------------------------------- withdrawal (R7)
def withdraw(svc: Registration, principal: Principal, applicant_id: str, reason: str | None) -> Applicant:
    a = get_applicant(svc, principal, applicant_id)
    reason = (reason or "").strip() or ("withdrawn by an administrator" if principal.is_admin
                                        else "withdrawn by the applicant")
    return svc.applicants.save(a.withdraw(reason, svc.clock.now()), rule="R7")


def reinstate(svc: Registration, principal: Principal, applicant_id: str) -> Applicant:
    a = get_applicant(svc, principal, applicant_id)
    return svc.applicants.save(a.reinstate(_calendar_for_body(svc, a.season), svc.clock.now()), rule="R7")


# ----------------------------------------------------------------------------- the deadline (consumer)
def record_deadline(svc: Registration, event: SeasonDeadlineReached) -> None:
    """Every calendar instant is logged; registration_final closes the unpaid registrations (R6)."""
    svc.deadlines.record(event.season, event.key, event.at)
    if event.key == "registration_final":
        close_unpaid(svc, event.season)


def close_unpaid(svc: Registration, season: str) -> int:
    """R6: every registration still pending payment is closed, and its holder told by email."""
    closed = sum(_close_unpaid(svc, listed.applicant_id) for listed in svc.applicants.in_season(season, PENDING))
    logger.info("unpaid registrations closed", extra={"season": season, "closed": closed})
    return closed


def _close_unpaid(svc: Registration, applicant_id: str) -> bool:
    for attempt in range(RETRIES):
        a = svc.applicants.get(applicant_id)
        if a.status != PENDING:
            return False  # paid or withdrawn meanwhile
        try:
            svc.applicants.save(a.close_unpaid(), rule="R6")
            return True
        except Conflict:
            if attempt == RETRIES - 1:
                raise  # the deadline's event is retried
    return False


# ----------------------------------------------------------------------------- S5 and A5 (consumers)
def _apply(svc: Registration, applicant_id: str, change_of, rule: str) -> Applicant | None:
    """A change decided by another service's event: read, decide, versioned save; a 409 (the
    applicant changed meanwhile) reloads and decides again. A decision that changes nothing
    (already applied: a redelivery) writes nothing. None when the applicant is unknown here."""
    for attempt in range(RETRIES):
        try:
            a = svc.applicants.get(applicant_id)
        except NotFound:
            logger.warning("event for an applicant registration does not hold; ignored",
                           extra={"applicant_id": applicant_id, "rule": rule})
            return None
        change = change_of(a)
        if change.state == a and not change.events:
            return a
        try:
            return svc.applicants.save(change, rule=rule)
        except Conflict:
            if attempt == RETRIES - 1:
                raise  # the event is redelivered
    return None


def withdraw_for_scores(svc: Registration, event: ScoresWithdrawalDue) -> Applicant | None:
    """S5: scope "caspr" (part1_pass_by): withdrawn from CASPR as R7 does (status withdrawn, the
    reason naming S5, applicant.withdrawn.v1); scope "match" (part2_pass_by): the registration
    stays, marked withdrawn from the Match (applicant.match_withdrawn.v1, M3). Both idempotent."""
    now = svc.clock.now()
    if event.scope == "caspr":
        return _apply(svc, event.applicant_id, lambda a: a.withdraw_for_scores(event.reason, now), "S5")
    if event.scope == "match":
        return _apply(svc, event.applicant_id, lambda a: a.withdraw_from_match(event.reason, now), "S5")
    logger.warning("scores.withdrawal_due.v1 with an unknown scope; ignored",
                   extra={"applicant_id": event.applicant_id, "scope": event.scope})
    return None


def record_designation(svc: Registration, event: ApplicationDesignated) -> Applicant | None:
    """A5 / R4: the applications service spent a credit; credits_used keeps the highest count
    seen, so credits_left agrees in /registration and /applications once events settle. ONE
    conditional write (the count only goes up; the version moves, so no save from an older read
    can undo it): a redelivery or an older count writes nothing, which makes this consumer
    idempotent by nature (no idempotency record: see consumers). The applicant when its count
    went up; None when nothing was written (an older or redelivered count, an applicant unknown
    here)."""
    try:
        raised = svc.applicants.raise_credits_used(event.applicant_id, event.credits_used)
    except NotFound:
        logger.warning("event for an applicant registration does not hold; ignored",
                       extra={"applicant_id": event.applicant_id, "rule": "A5"})
        return None
    return raised


# ----------------------------------------------------------------------------- I8 (consumer)
def refund_interview_fee(svc: Registration, event: InterviewFeeRefundDue) -> bool:
    """I8 / R2: the interviews service found that the applicant booked no interview through the
    system by interviews_close. The $250 interview scheduling fee goes back: the card processor's
    refund (idempotent per season + applicant), then ONE transaction with the refund's ledger entry
    (keyed on season + applicant, conditioned on its absence: a redelivery writes nothing) and the
    applicant's email. Nothing when the fee was never paid or was refunded already. True when the
    refund was written now."""
    try:
        a = svc.applicants.get(event.applicant_id)
    except NotFound:
        logger.warning("interview fee refund for an applicant registration does not hold; ignored",
                       extra={"applicant_id": event.applicant_id, "rule": "I8"})
        return False
    if a.season != event.season:
        logger.warning("interview fee refund of another season than the registration's; ignored",
                       extra={"applicant_id": a.applicant_id, "season": event.season, "rule": "I8"})
        return False
    entries = svc.ledger.entries(a.applicant_id)
    now = svc.clock.now()
    if interview_fee_refund(a.applicant_id, a.season, entries, now) is None:
        logger.info("no interview fee to refund (never paid, or refunded already)",
                    extra={"applicant_id": a.applicant_id, "rule": "I8"})
        return False
    charge_ref = fee_charge_ref(entries, a.season)
    refund_ref = svc.payments.refund(charge_ref, amount_cents=INTERVIEW_FEE_CENTS,
                                     idempotency_key=f"{interview_fee_refund_id(a.season)}-{a.applicant_id}")
    entry = interview_fee_refund(a.applicant_id, a.season, entries, now, refund_ref)
    written = svc.ledger.append_announced(
        entry, now, emails=[registration_emails.interview_fee_refunded(a, entry.amount_cents, refund_ref)])
    logger.info("interview fee refunded" if written else "interview fee refund written before",
                extra={"applicant_id": a.applicant_id, "rule": "I8"})
    return written


# ----------------------------------------------------------------------------- programs (R8)
def _tracks(raw: list[dict]) -> tuple[Track, ...]:
    return tuple(Track(t["track_code"], t["name"].strip(), t["positions"]) for t in raw)


def _instant(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(f"{name} needs a UTC offset", errors=[FieldError(
            name, "an ISO 8601 instant with offset, e.g. 2023-10-31T23:59:00-04:00")])
    return value.astimezone(UTC)


def register_program(svc: Registration, principal: Principal, data: dict) -> Program:
    require_admin(principal)
    data = {**data, "application_deadline": _instant(data.get("application_deadline"), "application_deadline")}
    calendar = _calendar_for_body(svc, data["season"])
    program = Program(
        season=data["season"], program_code=data["program_code"], name=data["name"].strip(),
        city=data["city"].strip(), state=data["state"].strip().upper(), coth=data["coth"], crip=data["crip"],
        crip_section=(data.get("crip_section") or None), application_deadline=data.get("application_deadline"),
        requirements=data.get("requirements"), contact={k: v for k, v in (data.get("contact") or {}).items()
                                                         if v is not None},
        tracks=tuple(sorted(_tracks(data["tracks"]), key=lambda t: t.track_code)))
    return svc.programs.save(program.register(calendar))


def get_program(svc: Registration, program_code: str, season: str | None) -> Program:
    return svc.programs.get(program_code, season)


def update_program(svc: Registration, principal: Principal, program_code: str, season: str | None,
                   changes: dict) -> Program:
    """R8: the program's own accounts or an administrator; positions changes are published."""
    require_program(principal, program_code)
    bad = [f for f in ("program_code", "season") if changes.get(f) is not None]
    if bad:
        raise ValidationFailed(f"{', '.join(bad)} cannot be changed", rule="R8",
                               errors=[FieldError(f, "cannot be changed") for f in bad])
    if changes.get("coth") is not None and not principal.is_admin:
        raise Forbidden("COTH membership is set by an administrator (I3)",
                        errors=[FieldError("coth", "administrators only")])
    before = svc.programs.get(program_code, season)
    fields = {k: v for k, v in changes.items() if v is not None and k not in ("tracks", "program_code", "season")}
    if "application_deadline" in fields:
        fields["application_deadline"] = _instant(fields["application_deadline"], "application_deadline")
    if "state" in fields:
        fields["state"] = fields["state"].strip().upper()
    if "contact" in fields:
        fields["contact"] = {k: v for k, v in fields["contact"].items() if v is not None}
    if fields.get("crip") is False and "crip_section" not in fields:
        fields["crip_section"] = None
    change = before.update(fields, list(_tracks(changes.get("tracks") or [])),
                           _calendar_for_body(svc, before.season))
    return before if change.state == before else svc.programs.save(change)


def withdraw_track(svc: Registration, principal: Principal, program_code: str, track_code: str,
                   season: str | None, reason: str | None) -> Program:
    """M3: the program's own accounts or an administrator."""
    require_program(principal, program_code)
    return svc.programs.save(svc.programs.get(program_code, season).withdraw_track(track_code, reason), rule="M3")


def reinstate_track(svc: Registration, principal: Principal, program_code: str, track_code: str,
                    season: str | None) -> Program:
    require_program(principal, program_code)
    program = svc.programs.get(program_code, season)
    change = program.reinstate_track(track_code, _calendar_for_body(svc, program.season), svc.clock.now())
    return svc.programs.save(change, rule="M3")


def list_programs(svc: Registration, *, season: str | None, state: str | None, coth: bool | None,
                  crip: bool | None, q: str | None) -> tuple[str | None, list[Program]]:
    """R8: the directory of one season (default: the latest), filtered and sorted by code."""
    if season is None:
        seasons = svc.seasons.seasons()
        if not seasons:
            return None, []
        season = seasons[-1]
    programs = [p for p in svc.programs.in_season(season) if matches(p, state=state, coth=coth, crip=crip, q=q)]
    return season, sorted(programs, key=lambda p: p.program_code)


def effective_deadline(svc: Registration, program: Program) -> datetime | None:
    calendar = season_calendar(svc, program.season)
    return program.effective_deadline(calendar) if calendar else program.application_deadline
