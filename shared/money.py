"""Money is integer cents, always (R2, R4)."""

APPLICANT_FEE_CENTS = 30_000  # R2: non-refundable, includes 12 credits, Match and MPII
INTERVIEW_FEE_CENTS = 25_000  # R2: refundable when no interview is scheduled (I8)
REGISTRATION_FEE_CENTS = APPLICANT_FEE_CENTS + INTERVIEW_FEE_CENTS
CREDIT_PRICE_CENTS = 1_500  # R4
INCLUDED_CREDITS = 12  # R2


def dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"
