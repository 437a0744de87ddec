"""Benchmark of the programs' review desk (issue 10, "Speed"): on the local stack, a program
with 300 delivered applications; the list with a filter, the CSV export and one packet each
under 1 s.

    python bench/bench_applications.py [--applications 300] [--repeat 20] [--workers 8]

It starts the local stack in this process (``LocalStack(port=0)``, as the e2e tests do),
builds one season and one program, and sends it N applications over HTTP the way applicants
do: account (sign-up + the emailed confirmation link), registration + payment, score release,
one NBPME upload with every Part I pass, personal statement and CV as PDFs through presigned
POSTs (one small PDF reused), three letter requests (submission needs requests, not received
letters), submission, designation (every phase on a pool of ``--workers`` threads; each phase's
end is printed with the seconds since the start); then the clock is moved past
``applications_delivered``.

Then, as the program account over HTTP, each measured ``--repeat`` times (after one warm-up):

* ``list``: ``GET /applications/programs/{code}/applications?season=&review_status=new``
  (every application is still ``new``: the filter keeps all N rows, the worst case);
* ``csv``: ``GET .../applications.csv?season=&review_status=new``;
* ``packet``: ``GET .../applications/{id}/packet.pdf?redirect=false`` then GET of the URL;

and, as baselines in the same run, ``GET /applications/health`` (the stack's round trip)
and ``GET .../applications/{id}`` (one application). Prints median and p95 per figure, the
goal (< 1 s at the p95: met / MISSED) and the ratio of each median to the health round trip.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import local_env  # noqa: F401  (first: the repository on the path, region, credentials, quiet logs)
import requests

GOAL_S = 1.0
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CARD = "4242424242424242"
PROGRAM = "901"


def wait_for(fn, what: str, timeout: float = 600.0, every: float = 1.0):
    """Polls gently: the stack is one process, and busy polling starves its event pollers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise RuntimeError(f"timed out waiting for {what}")


def ok(r: requests.Response, *codes: int) -> requests.Response:
    if r.status_code not in (codes or (200, 201)):
        raise RuntimeError(f"{r.request.method} {r.url} -> {r.status_code}: {r.text[:300]}")
    return r


class Builder:
    def __init__(self, stack, season: str):
        self.stack, self.season = stack, season
        self.url = stack.url
        self.base = f"{stack.url}/applications"

    def register(self, n: int) -> dict:
        """Account (sign-up + the emailed link), registration + payment."""
        s, account = self.stack.new_account()
        cms = f"BEN-{uuid.uuid4().hex[:9].upper()}"
        body = {"season": self.season, "first_name": f"Bench{n}", "last_name": f"Applicant{n:03d}",
                "email": account["email"], "cms_id": cms, "college": "TUSPM", "graduation_year": 2024}
        aid = ok(s.post(f"{self.url}/registration/applicants", json=body, timeout=60)).json()["applicant_id"]
        ok(s.post(f"{self.url}/registration/applicants/{aid}/payments", json={"amount_cents": 55_000,
               "card_number": CARD}, headers={"Idempotency-Key": f"bench-{aid}"}, timeout=60))
        return {"session": s, "id": aid, "cms": cms, "n": n}

    def application(self, a: dict) -> dict:
        """Score release, documents, three letter requests, submission."""
        s, aid, cms, n = a["session"], a["id"], a["cms"], a["n"]
        att = f"{n + 1:09d}"
        release = {"att_number": att, "cms_id": cms.lower(), "name_at_exam": f"Bench{n}", "explanation": "",
                   "authorize_part1": True, "authorize_part2": True}
        wait_for(lambda: s.put(f"{self.url}/scores/applicants/{aid}/release", json=release,
                               timeout=60).status_code == 200, f"scores to know {aid}", every=2.0)
        wait_for(lambda: s.get(f"{self.base}/applicants/{aid}", timeout=60).status_code == 200,
                 f"applications to know {aid}", every=2.0)
        for kind in ("personal_statement", "cv"):
            doc = ok(s.post(f"{self.base}/applicants/{aid}/documents", json={"kind": kind, "filename": "x.pdf",
                                                                            "size": len(PDF)}, timeout=60)).json()
            form = doc["upload"]
            ok(requests.post(form["url"], data=form["fields"], files={"file": ("x.pdf", PDF, "application/pdf")},
                             timeout=60), 200, 201, 204)
            ok(s.post(f"{self.base}/applicants/{aid}/documents/{doc['document_id']}/completion", timeout=60))
        for i in range(3):
            ok(s.post(f"{self.base}/applicants/{aid}/letters", json={"writer_name": f"Dr {i}", "label": "clinical",
                      "writer_email": f"bench{i}-{aid}@test.caspr", "waived": True}, timeout=60))
        ok(s.post(f"{self.base}/applicants/{aid}/submission", timeout=60))
        if (n + 1) % 50 == 0:
            print(f"  {n + 1} applications submitted", flush=True)
        return {**a, "att": att}

    def designate(self, a: dict) -> None:
        s, aid = a["session"], a["id"]
        wait_for(lambda: s.get(f"{self.base}/applicants/{aid}", timeout=60).json()["may_apply"], "the Part I pass",
                 every=2.0)
        ok(s.post(f"{self.base}/applicants/{aid}/designations", json={"program_code": PROGRAM}, timeout=60))


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(0.95 * len(xs)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workers", type=int, default=6)
    args = parser.parse_args()

    from caspr_local.host import LocalStack
    from caspr_local.seed import create_admin
    from shared.clock import parse_instant
    from tests.e2e.conftest import Stack

    t_start = time.perf_counter()
    local = LocalStack(port=0).start()
    try:
        stack = Stack(local, create_admin(local))
        season, cal = stack.new_season()
        program = {"season": season, "program_code": PROGRAM, "name": "Bench program", "city": "Chicago",
                   "state": "IL", "coth": True, "crip": False, "contact": {"name": "Director"},
                   "tracks": [{"track_code": f"{PROGRAM}1", "name": "PMSR/RRA", "positions": 2}]}
        ok(stack.admin.post(f"{stack.url}/registration/programs", json=program, timeout=60))
        desk, _ = stack.new_account("program", program_code=PROGRAM)
        builder = Builder(stack, season)
        n = args.applications
        with ThreadPoolExecutor(args.workers) as pool:
            registered = list(pool.map(builder.register, range(n)))
            print(f"  {n} registered and paid ({time.perf_counter() - t_start:.0f} s)", flush=True)
            applicants = list(pool.map(builder.application, registered))
            print(f"  {n} applications submitted ({time.perf_counter() - t_start:.0f} s)", flush=True)
            csv = "att_number,cms_id,exam,exam_date,result\n" + "".join(
                f"{a['att']},{a['cms']},part1,2023-07-18,pass\n" for a in applicants)
            ok(stack.admin.post(f"{stack.url}/scores/seasons/{season}/results", data=csv.encode(),
                                headers={"Content-Type": "text/csv"}, timeout=600))
            # the designations in the pool too: each waits for its Part I pass to settle
            list(pool.map(builder.designate, applicants))
        print(f"  {n} designations ({time.perf_counter() - t_start:.0f} s)", flush=True)
        stack.move_clock(parse_instant(cal["applications_delivered"]) + timedelta(minutes=1))
        listing = f"{builder.base}/programs/{PROGRAM}/applications"
        params = {"season": season, "review_status": "new"}
        wait_for(lambda: len(desk.get(listing, params=params, timeout=60).json()["applications"]) == n,
                 f"{n} deliveries", every=3.0)
        setup_s = time.perf_counter() - t_start
        print(f"setup: local stack + {n} delivered applications to program {PROGRAM} in {setup_s:.0f} s "
              f"({args.workers} workers)")

        one = applicants[n // 2]["id"]

        def get_list():
            r = ok(desk.get(listing, params=params, timeout=60))
            assert len(r.json()["applications"]) == n

        def get_csv():
            r = ok(desk.get(f"{listing}.csv", params=params, timeout=60))
            assert r.text.count("\n") >= n

        def get_packet():
            r = ok(desk.get(f"{listing}/{one}/packet.pdf", params={"season": season, "redirect": "false"},
                            timeout=60))
            pdf = ok(requests.get(r.json()["url"], timeout=60))
            assert pdf.content.startswith(b"%PDF-")

        def get_health():
            ok(desk.get(f"{builder.base}/health", timeout=60))

        def get_one():
            ok(desk.get(f"{listing}/{one}", params={"season": season}, timeout=60))

        figures = {name: timed(fn, args.repeat) for name, fn in (
            ("health (baseline)", get_health), ("one application", get_one),
            (f"list review_status=new ({n} rows)", get_list), (f"csv review_status=new ({n} rows)", get_csv),
            ("packet (url + download)", get_packet))}
        base = statistics.median(figures["health (baseline)"])
        print(f"\n{'figure':36} {'median':>9} {'p95':>9}  goal < {GOAL_S:.0f} s   x health   (n={args.repeat})")
        for name, xs in figures.items():
            med, hi = statistics.median(xs), p95(xs)
            goal = "" if name in ("health (baseline)", "one application") else ("met" if hi < GOAL_S else "MISSED")
            print(f"{name:36} {med * 1000:7.1f}ms {hi * 1000:7.1f}ms  {goal:13} {med / base:7.1f}x")
        return 0
    finally:
        local.stop()


if __name__ == "__main__":
    sys.exit(main())
