"""Benchmark of the booking write under contention (issue 11, "Contention and speed"): on the
local stack, N invited applicants book at once the seats of a few events; bookings per second,
latency, and exactly as many bookings as seats.

    python bench/bench_interviews.py [--applicants 1000] [--events 10] [--capacity 10] [--workers 32]

It starts the local stack in this process (``LocalStack(port=0)``, as the e2e tests do) and
builds, phase by phase (each phase's time is printed), the way tests/e2e/test_interviews_e2e.py
does: one season, one program; the clock past ``invitations_open``; N applicants registered and
paid over HTTP by the administrator (a thread pool of ``--workers``); their applications
delivered to the program by putting ``application.delivered.v1`` on the bus (what the
applications service announces), then one ``settle`` of the stack (every event delivered); one
interview type and ``--events`` events of ``--capacity`` seats; one invitation per applicant
over HTTP (thread pool); the booking links read from the emails sent.

The burst: every applicant's ``POST /interviews/invitations/{id}/bookings?token=...`` (no
sign-in, the emailed link), applicant i on event i mod E, from ``--workers`` threads (one HTTP
keep-alive session each) released together. Printed: attempts/s and successful bookings/s over
the burst (first request sent to last answer), p50/p99 of an attempt's latency (and of the
successful and refused ones), the check that exactly E x C bookings were made (201s, and the
program's schedule: no event over capacity) and that every other attempt is a 409 naming I4.

Baselines, in the same run and the same process, with the same thread pool:

* ``conditional write``: the local stack's ceiling for a single conditional write: N
  ``UpdateItem`` calls through boto3 (one client, shared) against the embedded emulator, each
  ``SET booked = booked + 1`` conditioned ``booked < capacity`` on one of E items of a table of
  their own (capacity high enough that every write succeeds);
* ``HTTP round trip``: N ``GET /_local/clock`` through the local gateway (no service code, no
  AWS call): the gateway's own ceiling.

Ratios: burst rate / baseline rate. The goal of the issue: >= 100 bookings/s locally (attempts:
the rate at which the stack answers a rush). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import local_env  # noqa: F401  (first: the repository on the path, region, credentials, quiet logs)
import requests

GOAL_PER_S = 100.0


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * len(xs)) - 1))] if xs else float("nan")


def run_burst(calls, workers: int) -> tuple[list, list[float], float]:
    """Each call once, from `workers` threads released together; (results, latencies, wall seconds
    from the release to the last answer)."""
    workers = min(workers, len(calls))
    gate = threading.Barrier(workers + 1)
    local = threading.local()
    latencies = [0.0] * len(calls)

    def one(k):
        if not getattr(local, "ready", False):
            local.ready = True
            gate.wait(timeout=120)
        t0 = time.perf_counter()
        out = calls[k]()
        latencies[k] = time.perf_counter() - t0
        return out

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(one, k) for k in range(len(calls))]
        gate.wait(timeout=120)
        t0 = time.perf_counter()
        results = [f.result() for f in futures]
        wall = time.perf_counter() - t0
    return results, latencies, wall


def ms(x: float) -> str:
    return f"{x * 1000:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=10)
    parser.add_argument("--workers", type=int, default=32)
    args = parser.parse_args()
    n, n_events, capacity, workers = args.applicants, args.events, args.capacity, args.workers
    seats = n_events * capacity

    from caspr_local.host import LocalStack
    from caspr_local.seed import create_admin
    from shared.clock import parse_instant
    from tests.e2e.conftest import Stack
    from tests.e2e.test_interviews_e2e import (
        add_events,
        deliver,
        invite_all,
        links_by_invitation,
        make_type_and_event,
        program,
        register_paid,
    )

    t_start = time.perf_counter()
    last = [t_start]

    def phase(name: str) -> None:
        now = time.perf_counter()
        print(f"  {name:44} {now - last[0]:7.1f} s", flush=True)
        last[0] = now

    local = LocalStack(port=0).start()
    try:
        stack = Stack(local, create_admin(local))
        season, cal = stack.new_season()
        code = "951"
        r = stack.admin.post(f"{stack.url}/registration/programs", json=program(season, code), timeout=60)
        assert r.status_code == 201, r.text
        stack.at(cal, "invitations_open")  # first: the instants before it fire with nobody registered yet
        phase("local stack, season, program, invitations_open")
        applicants = register_paid(stack, season, n, workers=workers)
        phase(f"{n} registered + paid (HTTP, {workers} threads)")
        deliver(stack, season, [(a["id"], code) for a in applicants])
        phase(f"{n} deliveries put on the bus")
        assert local.settle(1800), "the registrations' and deliveries' events did not settle"
        phase("settle (every event delivered)")
        day = parse_instant(cal["non_crip_interviews_from"]) + timedelta(days=1)
        type_id, e0 = make_type_and_event(stack, code, day, capacity=capacity)
        events = [e0, *add_events(stack, code, type_id, day + timedelta(hours=1), n_events - 1, capacity)]
        phase(f"1 type + {n_events} events of {capacity} seats")
        invitations = invite_all(stack, code, type_id, [a["id"] for a in applicants], workers=workers)
        assert len(invitations) == n
        phase(f"{n} invitations (HTTP, {workers} threads)")
        assert local.settle(1800), "the invitations' events and emails did not settle"
        phase(f"settle (the {n} invitation emails sent)")
        links = links_by_invitation(stack)
        assert all(i in links for i in invitations.values()), "an invitation email is missing"
        phase(f"{n} booking links read from the emails")
        setup = time.perf_counter() - t_start
        print(f"setup: {setup:.0f} s", flush=True)

        # ---------------------------------------------------------------- the burst
        sessions = threading.local()

        def http() -> requests.Session:
            if not hasattr(sessions, "s"):
                sessions.s = requests.Session()
            return sessions.s

        def attempt(i: int, inv: str):
            return http().post(f"{stack.url}/interviews/invitations/{inv}/bookings", params={"token": links[inv]},
                               json={"type_id": type_id, "event_id": events[i % n_events]}, timeout=300)

        calls = [lambda i=i, inv=inv: attempt(i, inv) for i, inv in enumerate(invitations.values())]
        outcomes, latencies, wall = run_burst(calls, workers)
        statuses = Counter(r.status_code for r in outcomes)
        refused = [r.json() for r in outcomes if r.status_code == 409]
        clean = all(p.get("rule") == "I4" and p.get("type", "").endswith("/I4") for p in refused)
        kinds = Counter(p.get("i4") or p.get("reason") or "?" for p in refused)
        schedule = stack.admin.get(f"{stack.url}/interviews/programs/{code}/schedule", timeout=60).json()["events"]
        per_event = sorted((e["booked"], len(e["bookings"])) for e in schedule)
        over = [e for e in schedule if e["booked"] > e["capacity"] or len(e["bookings"]) > e["capacity"]]
        exact = statuses.get(201, 0) == seats and sum(b for b, _ in per_event) == seats and not over
        ok_lat = [t for t, r in zip(latencies, outcomes, strict=True) if r.status_code == 201]
        no_lat = [t for t, r in zip(latencies, outcomes, strict=True) if r.status_code == 409]
        settled = local.settle(600)

        # ---------------------------------------------------------------- baselines (same run)
        import boto3

        ddb = boto3.client("dynamodb")
        table = f"bench-seats-{uuid.uuid4().hex[:8]}"
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        for k in range(n_events):
            ddb.put_item(TableName=table, Item={"pk": {"S": f"event#{k}"}, "booked": {"N": "0"},
                                                "capacity": {"N": str(10 * n)}})

        def write(i: int):
            return ddb.update_item(TableName=table, Key={"pk": {"S": f"event#{i % n_events}"}},
                                   UpdateExpression="SET booked = booked + :one", ConditionExpression="booked < :cap",
                                   ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": str(10 * n)}})

        _, w_lat, w_wall = run_burst([lambda i=i: write(i) for i in range(n)], workers)
        written = sum(int(ddb.get_item(TableName=table, Key={"pk": {"S": f"event#{k}"}})["Item"]["booked"]["N"])
                      for k in range(n_events))
        clock_url = f"{stack.url}/_local/clock"
        rt, h_lat, h_wall = run_burst([lambda: http().get(clock_url, timeout=60) for _ in range(n)], workers)
        assert all(r.status_code == 200 for r in rt) and written == n

        # ---------------------------------------------------------------- figures
        attempts_s, booked_s = n / wall, statuses.get(201, 0) / wall
        write_s, rt_s = n / w_wall, n / h_wall
        try:
            load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        except OSError:
            load = "load average n/a"
        print(f"\nburst: {n} applicants booking {seats} seats ({n_events} events x {capacity}) at once, "
              f"{workers} threads, {os.cpu_count()} cores, {load}")
        print(f"  {'':34} {'rate':>10} {'p50':>10} {'p99':>10} {'wall':>8}")
        print(f"  {'booking attempts':34} {attempts_s:8.1f}/s {ms(pct(latencies, .5))} {ms(pct(latencies, .99))} "
              f"{wall:6.2f} s")
        print(f"  {'  successful bookings (201)':34} {booked_s:8.1f}/s {ms(pct(ok_lat, .5))} {ms(pct(ok_lat, .99))}")
        print(f"  {'  refused (409)':34} {len(no_lat) / wall:8.1f}/s {ms(pct(no_lat, .5))} {ms(pct(no_lat, .99))}")
        print(f"  {'baseline: conditional UpdateItem':34} {write_s:8.1f}/s {ms(pct(w_lat, .5))} "
              f"{ms(pct(w_lat, .99))} {w_wall:6.2f} s   (boto3 -> emulator, same threads)")
        print(f"  {'baseline: HTTP GET /_local/clock':34} {rt_s:8.1f}/s {ms(pct(h_lat, .5))} {ms(pct(h_lat, .99))} "
              f"{h_wall:6.2f} s   (local gateway, no service)")
        print(f"ratios: attempts / conditional write = {attempts_s / write_s:.3f}; attempts / HTTP round trip = "
              f"{attempts_s / rt_s:.3f}; p50 attempt / p50 conditional write = "
              f"{pct(latencies, .5) / pct(w_lat, .5):.1f}x")
        print(f"goal >= {GOAL_PER_S:.0f} attempts/s: {'met' if attempts_s >= GOAL_PER_S else 'MISSED'}; "
              f"successful bookings/s: {booked_s:.1f} (bounded by the {seats} seats)")
        print(f"statuses: {dict(statuses)}; refusals: {dict(kinds)}; every refusal a 409 naming I4: {clean}")
        print(f"exactly {seats}: {'yes' if exact else 'NO'} (201s: {statuses.get(201, 0)}; schedule booked/bookings "
              f"per event: {per_event}); nothing left queued after the burst: {settled}")
        return 0 if exact and clean and statuses.get(409, 0) == n - seats else 1
    finally:
        local.stop()


if __name__ == "__main__":
    sys.exit(main())
