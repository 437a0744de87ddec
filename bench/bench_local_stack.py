"""Benchmark of the local stack's event delivery: N applicants register and pay at once over
HTTP, then every event they cause is delivered to every consumer (match, scores,
applications, interviews) and every outbox relayed.

    python bench/bench_local_stack.py [--applicants 200] [--workers 16]

Each variant runs in a fresh process (moto's backends are process-wide):

* ``baseline``: the stack as it was before the speed-ups (same run): every AWS call over the
  emulator's HTTP server (CASPR_EMULATOR_TRANSPORT=http) and moto's own Query, SQS and
  UpdateExpression code (CASPR_MOTO_SPEEDUPS=off);
* ``moto patched, HTTP``: caspr_local.emulator's fast_queries, fast_queues and
  fast_update_expressions, calls still over HTTP;
* ``as shipped``: the stack as `make run` and the e2e tests run it (also the in-process
  transport, caspr_local.emulator.InProcessTransport).

Printed per variant: the time to register and pay N, the time until everything settled, and
how many times faster than the baseline the whole is.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(applicants: int, workers: int) -> dict:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from e2e.conftest import Stack
    from e2e.test_registration_e2e import _sessions, pay, registration

    from caspr_local.host import LocalStack
    from caspr_local.seed import create_admin

    local = LocalStack(port=0).start()
    try:
        stack = Stack(local, create_admin(local))
        season, _ = stack.new_season()
        session = _sessions(stack)
        url = f"{stack.url}/registration/applicants"

        def register_and_pay(i: int) -> None:
            r = session().post(url, json=registration(season, f"b{i}-{uuid.uuid4().hex[:6]}@bench.caspr"),
                               timeout=300)
            assert r.status_code == 201, r.text
            p = pay(session(), stack, r.json()["applicant_id"], f"k-{i}")
            assert p.status_code == 201, p.text

        register_and_pay(0)
        assert local.settle(120)
        started = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(register_and_pay, range(1, applicants + 1)))
        registered = time.monotonic() - started
        settled_ok = local.settle(3600)
        settled = time.monotonic() - started - registered
        return {"registered_s": registered, "settled_s": settled, "settled": settled_ok}
    finally:
        local.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.applicants, args.workers)))
        return
    results = {}
    variants = (("baseline", "http", "off"), ("moto patched, HTTP", "http", ""), ("as shipped", "", ""))
    for name, transport, speedups in variants:
        env = {**os.environ, "CASPR_EMULATOR_TRANSPORT": transport, "CASPR_MOTO_SPEEDUPS": speedups,
               "POWERTOOLS_LOG_LEVEL": "ERROR"}
        out = subprocess.run([sys.executable, __file__, "--child", "--applicants", str(args.applicants),
                              "--workers", str(args.workers)], env=env, capture_output=True, text=True,
                             check=True, cwd=ROOT)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["baseline"]
    print(f"{args.applicants} applicants register and pay at once ({args.workers} workers), "
          f"then every event reaches every consumer")
    print(f"{'variant':24} {'register+pay':>13} {'until settled':>14} {'total':>8} {'vs baseline':>12}")
    for name, r in results.items():
        total = r["registered_s"] + r["settled_s"]
        ratio = (base["registered_s"] + base["settled_s"]) / total
        print(f"{name:24} {r['registered_s']:12.1f}s {r['settled_s']:13.1f}s {total:7.1f}s {ratio:11.2f}x"
              + ("" if r["settled"] else "  (did not settle)"))


if __name__ == "__main__":
    main()
