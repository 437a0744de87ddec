"""`caspr-season simulate --applicants N --programs M [--seed S] [--url URL]` (README, "Play a season")."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="caspr-season", description="Play a whole CASPR season through the API")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="plays a season: calendar, programs, registration, scores, applications, "
                                          "letters, interviews, rank lists, the Match, MPII, Match Day")
    sim.add_argument("--applicants", type=int, required=True)
    sim.add_argument("--programs", type=int, required=True)
    sim.add_argument("--seed", type=int, default=1, help="draws the preferences (default 1)")
    sim.add_argument("--url", help="a running local stack (make run: http://localhost:8000); without it a stack "
                                   "is started in this process")
    sim.add_argument("--season", help="season id (default: the first from 2024 the stack does not know)")
    sim.add_argument("--workers", type=int, default=12, help="threads for the per-applicant requests (default 12)")
    sim.add_argument("--admin-email", default=os.environ.get("CASPR_ADMIN_EMAIL", "admin@caspr.example"),
                     help="with --url: the administrator make run printed (env CASPR_ADMIN_EMAIL)")
    sim.add_argument("--admin-password", default=os.environ.get("CASPR_ADMIN_PASSWORD"),
                     help="with --url (env CASPR_ADMIN_PASSWORD)")
    sim.add_argument("--json", action="store_true", help="print the report as JSON")
    sim.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.applicants < 1 or not 1 <= args.programs <= 899:
        parser.error("--applicants at least 1, --programs 1 to 899")
    if args.url and not args.admin_password:
        parser.error("--url needs the administrator's password (--admin-password or CASPR_ADMIN_PASSWORD)")
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3", "moto", "caspr"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    from caspr_season.simulate import Simulation, SimulationError, run_in_process

    kw = {"applicants": args.applicants, "programs": args.programs, "seed": args.seed, "season": args.season,
          "workers": args.workers, "quiet": args.quiet}
    try:
        if args.url:
            report = Simulation(args.url, args.admin_email, args.admin_password, **kw).run()
        else:
            report, _ = run_in_process(**kw)
    except SimulationError as exc:
        print(f"caspr-season: the season stopped: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
