"""Seeded generator of realistic Match snapshots for the benchmark (and the tests).

Model (a common-popularity / common-score market, the shape of real residency
matches):

* every track has a positions count drawn from 1..10 and a common
  popularity (log-normal);
* every applicant lists about ``list_len`` distinct tracks drawn with
  probability proportional to popularity, ordered by popularity plus personal
  noise;
* every track ranks everyone who listed it, by a common applicant score plus
  program-specific noise;
* a small share of applicants and tracks is withdrawn (M3).

``generate(n_applicants, n_tracks, seed)`` returns a SNAPSHOT document (plain
dicts and lists, ready for ``json.dumps``). Same arguments, same document.
"""

from __future__ import annotations

import itertools
import math
import random

SIZES = {
    "1k": (1_000, 150),
    "10k": (10_000, 1_500),
    "45k": (45_000, 6_000),
}


def generate(
    n_applicants: int,
    n_tracks: int,
    seed: int = 2024,
    list_len: int = 12,
    withdrawn_share: float = 0.01,
) -> dict:
    rng = random.Random(seed)
    gauss = rng.gauss
    if n_tracks > 9_000 or n_applicants > 89_999:
        raise ValueError("codes are 4-digit tracks and 5-digit applicants")
    # 4-digit track codes: program code (3 digits) + track digit; 5-digit applicant codes.
    track_codes = [f"{n:04d}" for n in sorted(rng.sample(range(1000, 10000), n_tracks))]
    applicant_codes = [str(n) for n in rng.sample(range(10000, 100000), n_applicants)]

    log_pop = {t: gauss(0.0, 1.0) for t in track_codes}
    cum = list(itertools.accumulate(math.exp(log_pop[t]) for t in track_codes))
    score = {a: gauss(0.0, 1.0) for a in applicant_codes}

    listed_by: dict[str, list[str]] = {t: [] for t in track_codes}
    applicants: dict[str, list[str]] = {}
    want_max = min(n_tracks, list_len + 4)
    for a in applicant_codes:
        want = min(n_tracks, max(1, list_len + rng.randint(-4, 4)))
        want = min(want, want_max)
        chosen: dict[str, None] = {}
        while len(chosen) < want:
            for t in rng.choices(track_codes, cum_weights=cum, k=want + 6):
                chosen[t] = None
                if len(chosen) == want:
                    break
        prefs = sorted(chosen, key=lambda t: log_pop[t] + gauss(0.0, 0.7), reverse=True)
        applicants[a] = prefs
        for t in prefs:
            listed_by[t].append(a)

    tracks = {}
    for t in track_codes:
        ranked = sorted(listed_by[t], key=lambda a: score[a] + gauss(0.0, 0.5), reverse=True)
        tracks[t] = {"positions": rng.randint(1, 10), "ranks": ranked}

    withdrawn = rng.sample(applicant_codes, int(n_applicants * withdrawn_share))
    withdrawn += rng.sample(track_codes, int(n_tracks * withdrawn_share / 2))
    return {"applicants": applicants, "tracks": tracks, "withdrawn": withdrawn}


def entries(doc: dict) -> int:
    """Number of applicant list entries of a SNAPSHOT document."""
    return sum(len(v) for v in doc["applicants"].values())
