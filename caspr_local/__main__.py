"""`make run`: the whole system on this machine (see README)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="caspr-local", description="Run CASPR locally on an embedded AWS emulator")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--empty", action="store_true", default=os.environ.get("EMPTY") not in (None, "", "0"),
                        help="no demo season")
    parser.add_argument("--demo", default=os.environ.get("DEMO") or "small",
                        help="small (the demo season) or large (a season of 500 applicants and 60 programs played "
                             "to Match Day by caspr-season; or APPLICANTS/PROGRAMS, e.g. 100/12)")
    args = parser.parse_args(argv)
    large = None if args.empty or args.demo == "small" else _size(parser, args.demo)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from caspr_local.host import LocalStack
    from caspr_local.seed import seed

    # a large demo is played by the simulator: moto answers in a process of its own (both cores)
    stack = LocalStack(port=args.port, separate_emulator=True if large else None).start()
    admin = seed(stack, demo=not args.empty and large is None)
    if large:  # DEMO=large: the season simulator seeds instead (README, "Play a season")
        from caspr_season.simulate import seed_demo

        admin["demo"] = seed_demo(stack.url, admin, *large)
    print(banner(stack.url, stack.clock.now().isoformat(), admin), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    stack.stop()
    return 0


def _size(parser, demo: str) -> tuple[int, int]:
    if demo == "large":
        return 500, 60
    n, _, m = demo.partition("/")
    if not (n.isdigit() and m.isdigit() and int(n) >= 1 and 1 <= int(m) <= 899):
        parser.error(f"DEMO={demo}: small, large or APPLICANTS/PROGRAMS (e.g. 100/12)")
    return int(n), int(m)


def banner(url: str, now: str, admin: dict) -> str:
    """The text `make run` prints once the stack is up (and the demo season seeded)."""
    return f"""
CASPR is running (data lives in memory: it is gone when this process stops).

  Web pages      {url}/
  API docs       {url}/docs      (OpenAPI: {url}/openapi.json)
  Email outbox   {url}/outbox.html (JSON: {url}/_local/outbox)
  Clock          {url}/_local/clock   (now {now})

  Administrator  {admin['email']} / {admin['password']}
{admin.get('demo', '')}
Press Ctrl-C to stop."""


if __name__ == "__main__":
    raise SystemExit(main())
