"""AWS calls per HTTP route, per event consumer and per outbox relay, in a small simulated season:
what each request or event costs in DynamoDB/SQS/EventBridge/S3/SES calls (the figures in the
services' READMEs, "calls per request").

    python bench/calls_per_route.py [APPLICANTS] [PROGRAMS]     (default 30 4)

Plays `caspr_season.simulate` on a local stack in this process (the emulator in-process) and
prints, per phase, each route / consumer / relay with its AWS calls and units (requests or
events) and the calls by operation@table. Not part of the test suite."""

from __future__ import annotations

import collections
import json
import logging
import re
import sys
import threading

import local_env  # noqa: F401  (first: the repository on the path, region, credentials, quiet logs)

from caspr_local import emulator as em
from caspr_local import host, pollers

ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27,}|/[0-9A-F]{6,}|/\d{3,}|\?.*$")


def main(n: int, m: int) -> int:
    from caspr_local.host import LocalStack
    from caspr_local.seed import create_admin
    from caspr_season.simulate import Simulation

    logging.disable(logging.CRITICAL)
    tag = threading.local()
    units: collections.Counter = collections.Counter()
    ops: dict = collections.defaultdict(collections.Counter)
    lock = threading.Lock()

    service, poll, stream_poll, call = (host.GatewayHandler._service, pollers.QueuePoller.poll_once,
                                        pollers.StreamPoller.poll_once, em.InProcessTransport.__call__)

    def tagged_service(self, loaded, path, query, body):
        tag.v = f"{self.command} /{loaded.base_path}{ID.sub('/{}', path)}"
        with lock:
            units[tag.v] += 1
        try:
            return service(self, loaded, path, query, body)
        finally:
            tag.v = None

    wrapped: set = set()

    def tagged_poll(self):
        if id(self) not in wrapped:
            wrapped.add(id(self))
            handler, name = self.handler, self.queue_name.rsplit("-", 2)[-2]

            def counted(event, context):
                kinds = sorted({json.loads(r["body"]).get("detail-type", "?") for r in event["Records"]})
                with lock:
                    for r in event["Records"]:
                        units[f"consume {name} {json.loads(r['body']).get('detail-type', '?')}"] += 1
                tag.v = f"consume {name} " + ",".join(kinds)
                try:
                    return handler(event, context)
                finally:
                    tag.v = None
            self.handler = counted
        return poll(self)

    def tagged_stream(self):
        tag.v = "relay " + self.table_name.rsplit("-", 1)[-1]
        try:
            return stream_poll(self)
        finally:
            tag.v = None

    def counting(self, request, **kw):
        target = request.headers.get("X-Amz-Target") or b""
        target = target.decode() if isinstance(target, bytes) else target
        op = target.split(".")[-1] if target else f"{request.method} {request.url.split('?')[0][-20:]}"
        table = ""
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        if isinstance(body, str) and '"TableName"' in body:
            table = json.loads(body).get("TableName", "").rsplit("-", 1)[-1]
        with lock:
            ops[getattr(tag, "v", None) or threading.current_thread().name[:20]][(op, table)] += 1
        return call(self, request, **kw)

    host.GatewayHandler._service, pollers.QueuePoller.poll_once = tagged_service, tagged_poll
    pollers.StreamPoller.poll_once, em.InProcessTransport.__call__ = tagged_stream, counting

    local = LocalStack(port=0, separate_emulator=False).start()
    admin = create_admin(local)
    sim = Simulation(local.url, admin["email"], admin["password"], applicants=n, programs=m, seed=1, quiet=True)

    def on_phase(name, secs, reqs, wait):
        with lock:
            snap, seen = {k: dict(v) for k, v in ops.items()}, dict(units)
            ops.clear()
            units.clear()
        print(f"== phase {name} {secs:.1f}s, {reqs} requests", flush=True)
        for who, calls in sorted(snap.items(), key=lambda kv: -sum(kv[1].values()))[:12]:
            total, count = sum(calls.values()), seen.get(who) or seen.get(who.split(",")[0]) or 0
            detail = " ".join(f"{o}{'@' + t if t else ''}:{v}" for (o, t), v in sorted(calls.items(), key=lambda x: -x[1])[:7])
            print(f"  {total:6d} calls / {count:5d} units  {who[:70]}\n        {detail}", flush=True)

    sim.on_phase = on_phase
    try:
        print(sim.run().text())
    finally:
        local.stop()
    return 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    sys.exit(main(*(args + [30, 4][len(args):])))
