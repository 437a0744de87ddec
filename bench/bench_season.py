"""Benchmark of the season simulator (issue 12, "A season simulator"): a whole season played
through the HTTP API of a local stack started in this process (``caspr-season simulate`` without
``--url``), at the goal's size and at a named baseline size, in the same run.

    python bench/bench_season.py [--applicants 500] [--programs 60] [--baseline 100/12] [--seed 1]
                                 [--workers 12] [--limit 3600]

Each size runs in a process of its own with a fresh stack (``LocalStack(port=0, separate_emulator=True)``,
the emulator in a process of its own as ``caspr-season simulate`` starts it; ``--in-process``: in the stack's; as the e2e
tests do; one per process, moto's backends being process-wide; its start is printed but not
counted), the goal size first, each stopped after ``--limit`` seconds, and plays every phase of ``caspr_season.simulate``: season, accounts,
registration, scores, applications, letters, designations, interviews, rank lists, match, mpii,
match day. Printed per size: the time of each phase as it ends, with its requests, the part of it
spent moving the clock and settling and the load average (``os.getloadavg``; the machine is
shared), then the report, the total and requests/s. Then the goal (the goal size in under
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


def play_here(applicants: int, programs: int, seed: int, workers: int, separate: bool = True) -> int:
    """One size in this process (one local stack per process: moto's backends are process-wide).
    Prints each phase as it ends (a size stopped at its time limit still shows how far it got),
    then the report."""
    import logging

    from caspr_local.host import LocalStack
    from caspr_local.seed import create_admin
    from caspr_season.simulate import Simulation

    logging.disable(logging.CRITICAL)  # the scheduler's "fired ..." lines
    before = load()
    t0 = time.perf_counter()
    local = LocalStack(port=0, separate_emulator=separate).start()
    try:
        admin = create_admin(local)
        started = time.perf_counter() - t0
        where = "in a process of its own" if separate else "in the stack's process"
        print(f"\n{applicants} applicants / {programs} programs, the emulator {where}  (stack start {started:.1f} s, "
              f"not counted; at the start: {before})", flush=True)
        cpu = [time.process_time(), local.emulator.cpu_seconds()]

        def phase(name, secs, reqs, wait):
            now = [time.process_time(), local.emulator.cpu_seconds()]
            used = f"CPU {now[0] - cpu[0]:6.1f} s stack" + (f" + {now[1] - cpu[1]:6.1f} s emulator" if separate else "")
            cpu[:] = now
            print(f"  phase {name:14} {secs:7.1f} s  {reqs:6d} requests  (clock and settling {wait:5.1f} s)  {used}  "
                  f"{load()}", flush=True)

        sim = Simulation(local.url, admin["email"], admin["password"], applicants=applicants, programs=programs,
                         seed=seed, workers=workers, quiet=True)
        sim.on_phase = phase
        report = sim.run()
    finally:
        local.stop()
    print(f"  at the end: {load()}")
    for line in report.text().splitlines():
        print(f"  {line}")
    print(f"  {report.requests / report.seconds:.1f} requests/s")
    print(f"TOTAL {report.seconds:.3f}", flush=True)
    return 0


def play(applicants: int, programs: int, seed: int, workers: int, limit: float,
         separate: bool = True) -> float | None:
    """One size in a child process, its lines passed through; its total, or None when it did not
    finish within `limit` seconds (the child is then stopped)."""
    import subprocess
    import threading

    cmd = [sys.executable, __file__, "--one", f"{applicants}/{programs}", "--seed", str(seed),
           "--workers", str(workers)] + ([] if separate else ["--in-process"])
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    total: list[float] = []

    def relay():
        for line in child.stdout:
            if line.startswith("TOTAL "):
                total.append(float(line.split()[1]))
            else:
                print(line, end="", flush=True)

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    try:
        child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        print(f"  stopped: not finished after {limit:.0f} s ({load()})", flush=True)
    reader.join(timeout=10)
    return total[0] if total else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=500)
    parser.add_argument("--programs", type=int, default=60)
    parser.add_argument("--baseline", default="100/12", help="the baseline size, applicants/programs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--limit", type=float, default=3600.0, help="seconds a size may take before it is stopped")
    parser.add_argument("--in-process", action="store_true",
                        help="the emulator in the stack's process (default: a process of its own, as caspr-season "
                             "simulate starts it)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child: one size, APPLICANTS/PROGRAMS
    args = parser.parse_args()
    if args.one:
        n, m = (int(x) for x in args.one.split("/"))
        return play_here(n, m, args.seed, args.workers, not args.in_process)
    base_n, base_m = (int(x) for x in args.baseline.split("/"))
    print(f"season simulator bench: {os.cpu_count()} cores, {args.workers} threads, seed {args.seed}, "
          f"a process per size; {load()}", flush=True)
    goal = play(args.applicants, args.programs, args.seed, args.workers, args.limit, not args.in_process)
    baseline = play(base_n, base_m, args.seed, args.workers, args.limit, not args.in_process)
    shown = lambda t: f"{t:.1f} s" if t is not None else f"not finished in {args.limit:.0f} s"  # noqa: E731
    print(f"\ngoal size ({args.applicants}/{args.programs}): {shown(goal)}; baseline ({base_n}/{base_m}): "
          f"{shown(baseline)}")
    if goal is not None and baseline is not None:
        print(f"ratio goal/baseline: total time {goal / baseline:.2f}x for {args.applicants / base_n:.1f}x the "
              f"applicants; time per applicant {goal / args.applicants:.3f} s vs {baseline / base_n:.3f} s "
              f"({goal / args.applicants / (baseline / base_n):.2f}x)")
    met = goal is not None and goal < GOAL_SECONDS
    print(f"goal {args.applicants} applicants / {args.programs} programs in under {GOAL_SECONDS:.0f} s: "
          f"{'met' if met else 'MISSED'} ({shown(goal)}; {load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
