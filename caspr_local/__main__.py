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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from caspr_local.host import LocalStack
    from caspr_local.seed import seed

    stack = LocalStack(port=args.port).start()
    admin = seed(stack, demo=not args.empty)
    print(banner(stack.url, stack.clock.now().isoformat(), admin), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    stack.stop()
    return 0


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
