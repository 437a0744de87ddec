"""Benchmark of the season simulator (issue 12, "A season simulator"): a whole season played
through the HTTP API of a local stack started in this process (``caspr-season simulate`` without
``--url``), at the goal's size and at a named baseline size, in the same run.

    python bench/bench_season.py [--applicants 500] [--programs 60] [--baseline 100/12] [--seed 1]
                                 [--workers 12]

Each size gets a fresh stack (``LocalStack(port=0)``, as the e2e tests do; its start is printed
but not counted) and plays every phase of ``caspr_season.simulate``: season, accounts,
registration, scores, applications, letters, designations, interviews, rank lists, match, mpii,
match day. Printed per size: the time of each phase with its requests and the part of it spent
moving the clock and settling, the total, requests/s, and the load average (``os.getloadavg``) at
the start and the end of that size (the machine is shared). Then the goal (the goal size in under
5 minutes: met/MISSED) and the ratios goal/baseline of total time and of time per applicant.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import local_env  # noqa: F401  (first: the repository on the path, region, credentials, quiet logs)

GOAL_SECONDS = 300.0


def load() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load average n/a"


def play(applicants: int, programs: int, seed: int, workers: int):
    import logging

    from caspr_local.host import LocalStack
    from caspr_local.seed import create_admin
    from caspr_season.simulate import Simulation

    logging.disable(logging.CRITICAL)  # the scheduler's "fired ..." lines
    before = load()
    t0 = time.perf_counter()
    local = LocalStack(port=0).start()
    try:
        admin = create_admin(local)
        started = time.perf_counter() - t0
        sim = Simulation(local.url, admin["email"], admin["password"], applicants=applicants, programs=programs,
                         seed=seed, workers=workers, quiet=True)
        report = sim.run()
    finally:
        local.stop()
    after = load()
    print(f"\n{applicants} applicants / {programs} programs  (stack start {started:.1f} s, not counted)")
    print(f"  at the start: {before}; at the end: {after}")
    for line in report.text().splitlines():
        print(f"  {line}")
    print(f"  {report.requests / report.seconds:.1f} requests/s", flush=True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=500)
    parser.add_argument("--programs", type=int, default=60)
    parser.add_argument("--baseline", default="100/12", help="the baseline size, applicants/programs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=12)
    args = parser.parse_args()
    base_n, base_m = (int(x) for x in args.baseline.split("/"))
    print(f"season simulator bench: {os.cpu_count()} cores, {args.workers} threads, seed {args.seed}; {load()}",
          flush=True)
    baseline = play(base_n, base_m, args.seed, args.workers)
    goal = play(args.applicants, args.programs, args.seed, args.workers)
    met = goal.seconds < GOAL_SECONDS
    print(f"\nbaseline ({base_n}/{base_m}): {baseline.seconds:.1f} s; goal size ({args.applicants}/{args.programs}): "
          f"{goal.seconds:.1f} s")
    print(f"ratio goal/baseline: total time {goal.seconds / baseline.seconds:.2f}x for "
          f"{args.applicants / base_n:.1f}x the applicants; time per applicant "
          f"{goal.seconds / args.applicants:.3f} s vs {baseline.seconds / base_n:.3f} s "
          f"({goal.seconds / args.applicants / (baseline.seconds / base_n):.2f}x)")
    print(f"goal {args.applicants} applicants / {args.programs} programs in under {GOAL_SECONDS:.0f} s: "
          f"{'met' if met else 'MISSED'} ({goal.seconds:.1f} s; {load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
