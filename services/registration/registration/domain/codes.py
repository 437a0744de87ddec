"""R3: the 5-digit Code Number. Random candidates in 10000..99999; uniqueness is not
decided here but by the store (a conditional put per number): a taken number is
simply followed by another candidate. Random rather than a counter: no hot item that
every payment must update, and code numbers do not reveal how many registered."""

from __future__ import annotations

import random
from collections.abc import Iterator

LOWEST = 10_000
HIGHEST = 99_999


class CodeNumberPolicy:
    def __init__(self, rng: random.Random | None = None, attempts: int = 64):
        self._rng = rng or random.SystemRandom()
        self.attempts = attempts

    def candidates(self) -> Iterator[str]:
        """At most `attempts` distinct candidates, each a 5-digit number as text."""
        seen: set[int] = set()
        while len(seen) < min(self.attempts, HIGHEST - LOWEST + 1):
            n = self._rng.randint(LOWEST, HIGHEST)
            if n in seen:
                continue
            seen.add(n)
            yield str(n)


def is_code_number(value: str) -> bool:
    return value.isdigit() and len(value) == 5 and LOWEST <= int(value) <= HIGHEST
