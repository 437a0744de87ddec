"""The local stack: emulator, resources, the services' apps, one HTTP gateway, event
pollers, the scheduler with a movable clock, the outbox. `make run` starts it;
the e2e tests start it in-process on a free port."""

from __future__ import annotations

import importlib.util
import json
import logging
import mimetypes
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from caspr_local.emulator import Emulator, fewer_collections, point_sdk_at
from shared.clock import ControlledClock, install_default_clock, iso, parse_instant

log = logging.getLogger("caspr.local")
ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
DEFAULT_START = datetime(2023, 7, 24, 16, 0, tzinfo=UTC)  # 2024 CASPR registration opens, 12:00 ET
SCHEDULED_EVERY_SECONDS = 5.0  # `@schedule` functions (rate(5 minutes) on AWS) run this often locally...
# ...when a relay failed a delivery since the last run (the outbox sweep has work), else this often:
# the sweep's pending-index queries read the whole table in moto (not on DynamoDB), which a long
# local session with thousands of items felt as a constant load
SCHEDULED_IDLE_EVERY_SECONDS = 60.0


def _swagger_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


DOCS_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>CASPR API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script></body></html>"""


class LocalStack:
    def __init__(self, *, port: int = 8000, host: str = "127.0.0.1", start: datetime | None = None,
                 stage: str = "local", separate_emulator: bool | None = None):
        self.host = host
        # the emulator in a process of its own (caspr_local.emulator.EmulatorProcess): both cores for
        # a big season; CASPR_SEPARATE_EMULATOR=1 asks for it where the caller does not say
        self.separate_emulator = (os.environ.get("CASPR_SEPARATE_EMULATOR", "") not in ("", "0")
                                  if separate_emulator is None else separate_emulator)
        self.port = port
        self.stage = stage
        self.clock = ControlledClock(start or DEFAULT_START)
        self.stop_event = threading.Event()
        self.pollers = []
        self.relays = []  # the outbox relays: one stream poller per service table
        self.scheduled: dict[str, object] = {}
        self.apps = {}
        self._server: ThreadingHTTPServer | None = None
        self._openapi: dict | None = None

    # ---------------------------------------------------------------- start / stop
    def start(self) -> LocalStack:
        import warnings

        # Lambda gives powertools the remaining time; the local pollers have no Lambda context
        warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
        warnings.filterwarnings("ignore", message=".*not supported by moto.s CloudFormation.*")
        # moto's CloudFormation logs (on the "moto" logger) each resource it cannot create locally:
        # QueuePolicy, CloudWatch alarms, SNS subscriptions are AWS-only
        logging.getLogger("moto").setLevel(logging.ERROR)
        if self.separate_emulator:
            from caspr_local.emulator import EmulatorProcess

            self.emulator = EmulatorProcess().start()
        else:
            self.emulator = Emulator().start()
        point_sdk_at(self.emulator.endpoint_url)
        os.environ["CASPR_STAGE"] = self.stage
        # the sweep (every SCHEDULED_EVERY_SECONDS here) delivers what the stream relay gave up on
        os.environ.setdefault("CASPR_OUTBOX_SWEEP_GRACE_SECONDS", "5")
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        from caspr_local import resources

        self.resources = resources.create(self.stage)
        pool = self.resources.user_pool_id
        os.environ["CASPR_USER_POOL_ID"] = pool
        os.environ["CASPR_USER_POOL_CLIENT_ID"] = self.resources.user_pool_client_id
        os.environ["CASPR_JWKS_URL"] = f"{self.emulator.endpoint_url}/{pool}/.well-known/jwks.json"
        os.environ["CASPR_TOKEN_ISSUER"] = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
        os.environ["CASPR_EMAIL_SENDER"] = self.resources.email_sender
        install_default_clock(self.clock)

        from caspr_local.apps import load_all
        from caspr_local.pollers import QueuePoller, StreamPoller
        from caspr_local.scheduler import LocalScheduler
        from shared.relay import RELAY_MAX_RETRIES
        from shared.settings import Settings

        self.apps = load_all()
        if self.separate_emulator:  # the simulator's stack (see caspr_local.emulator.fewer_collections)
            fewer_collections()
        for loaded in self.apps.values():
            for queue, handler in loaded.sqs_handlers().items():
                self.pollers.append(QueuePoller(queue, handler, self.stop_event))
            for table, (handler, batch_size) in loaded.stream_handlers().items():
                self.relays.append(StreamPoller(
                    table, handler, self.stop_event, batch_size=batch_size, max_retries=RELAY_MAX_RETRIES,
                    failure_queue=Settings.from_env().relay_dlq_name(loaded.service)))
            self.scheduled.update({f"{loaded.service}.{name}": handler
                                   for name, handler in loaded.scheduled_handlers().items()})
        for p in self.pollers + self.relays:
            p.thread.start()
        self.scheduler = LocalScheduler(self.clock)
        self._ticker = threading.Thread(target=self._tick, name="scheduler", daemon=True)
        self._ticker.start()

        handler = type("Handler", (GatewayHandler,), {"stack": self})
        self._server = GatewayServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        os.environ["CASPR_PUBLIC_BASE_URL"] = self.url
        threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.stop_event.set()
        if self._server:
            self._server.shutdown()
        for p in self.pollers + self.relays:  # let each finish its poll before the emulator goes away
            p.kick()
            p.thread.join(timeout=5)
        if getattr(self, "_ticker", None) is not None:
            self._ticker.join(timeout=30)  # a scheduled run (the sweep) in progress finishes first
        self.emulator.stop()

    # ---------------------------------------------------------------- clock & events
    def _tick(self) -> None:
        last, failures = time.monotonic(), 0
        while not self.stop_event.wait(1.0):
            try:
                self.scheduler.fire_due()
            except Exception:
                log.exception("scheduler tick")
            since = time.monotonic() - last
            failed = sum(r.failures for r in self.relays)
            if since >= SCHEDULED_IDLE_EVERY_SECONDS or (since >= SCHEDULED_EVERY_SECONDS and failed != failures):
                last, failures = time.monotonic(), failed
                self.run_scheduled()

    def run_scheduled(self) -> dict[str, object]:
        """Runs every `@schedule` function once, as its rule would (on AWS every few minutes;
        here every SCHEDULED_EVERY_SECONDS and whenever the clock moves)."""
        out = {}
        for name, handler in self.scheduled.items():
            event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                     "source": "aws.events", "account": "000000000000", "time": iso(self.clock.now()),
                     "region": "us-east-1", "resources": [f"local:{name}"], "detail": {}}
            try:
                out[name] = handler(event, None)
            except Exception:
                log.exception("scheduled function %s failed", name)
        return out

    def move_clock(self, when: datetime) -> dict:
        if when < self.clock.now():
            raise ValueError(f"the clock only moves forward; it is {iso(self.clock.now())}")
        self.clock.set(when)
        fired = self.scheduler.fire_due()
        self.run_scheduled()
        self.settle()
        return {"now": iso(self.clock.now()), "fired": fired}

    def settle(self, timeout: float = 60.0) -> bool:
        """Waits until every outbox is relayed, every queue is empty and every consumer idle
        (events delivered)."""
        return self._quiet(self.pollers + self.relays, timeout)

    def drain_outboxes(self, timeout: float = 30.0) -> bool:
        """Waits until every outbox item written so far is relayed (events on the bus, emails sent)."""
        return self._quiet(self.relays, timeout)

    def _quiet(self, pollers: list, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for p in pollers:
            p.kick()
        quiet = 0
        while time.monotonic() < deadline:
            # idle flags first: asking a queue its depth costs the emulator a pass over its messages
            busy = not all(p.idle.is_set() for p in pollers) or any(p.depth() for p in pollers)
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:  # twice in a row: an event that produced another event is caught too
                return True
            time.sleep(0.1)
        return False

    # ---------------------------------------------------------------- outbox & docs
    def outbox(self, to: str | None = None) -> list[dict]:
        """Every email SES "sent" (after the services' outboxes are relayed)."""
        self.drain_outboxes()
        return [m for m in self.emulator.sent_emails()
                if not to or to.lower() in [r.lower() for r in m["to"]]]

    def openapi(self) -> dict:
        if self._openapi is None:
            from shared.openapi import build
            from shared.web import ApiBlueprint

            mounts = {}
            for base, loaded in self.apps.items():
                mounts[base] = [e for bp in ApiBlueprint.all.get(loaded.service, []) for e in bp.endpoints]
            self._openapi = build(mounts)
        return self._openapi


class GatewayServer(ThreadingHTTPServer):
    # http.server's default listen backlog is 5: a burst of 100 clients connecting at once
    # (what API Gateway absorbs) got connection resets before a thread could accept them
    request_queue_size = 512
    daemon_threads = True


class GatewayHandler(BaseHTTPRequestHandler):
    stack: LocalStack
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # chalice's local server stalls ~40 ms per request otherwise

    def log_message(self, format, *args):  # noqa: A002
        log.debug(format, *args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            if k.lower() not in ("content-length", "content-type"):
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data, content_type="application/json"):
        self._send(status, json.dumps(data, default=str).encode(), content_type)

    def _problem(self, status: int, title: str, detail: str):
        self._json(status, {"type": "about:blank", "title": title, "status": status, "detail": detail},
                   "application/problem+json")

    def _dispatch(self):
        from shared.web import MAX_BODY_BYTES

        url = urlsplit(self.path)
        body = self._read_body(MAX_BODY_BYTES)
        if body is None:  # over the limit: refused before it is read whole (API Gateway would take 10 MB)
            self.close_connection = True  # the rest of the body is still on the socket
            return self._problem(413, "Payload too large",
                                 f"the request body is over the limit of {MAX_BODY_BYTES} bytes (1 MB)")
        if body is False:
            self.close_connection = True
            return self._problem(400, "Bad request", "the Content-Length header or the chunked body is malformed")
        parts = url.path.strip("/").split("/", 1)
        head = parts[0]
        try:
            if url.path == "/_local/aws":  # where the emulator listens (caspr-ops --local finds it here)
                return self._json(200, {"endpoint_url": self.stack.emulator.endpoint_url, "stage": self.stack.stage})
            if head == "_local":
                return self._local(parts[1] if len(parts) > 1 else "", url, body)
            if url.path == "/openapi.json":
                return self._json(200, self.stack.openapi())
            if url.path in ("/docs", "/docs/"):
                return self._send(200, DOCS_HTML.encode(), "text/html; charset=utf-8")
            if url.path.startswith("/docs/static/"):
                return self._static(_swagger_dir(), url.path.removeprefix("/docs/static/"))
            loaded = self.stack.apps.get(head)
            if loaded is not None:
                return self._service(loaded, "/" + (parts[1] if len(parts) > 1 else ""), url.query, body)
            return self._static(WEB, url.path.lstrip("/") or "index.html")
        except (BrokenPipeError, ConnectionResetError):
            return None  # the client went away (a browser cancelling a request): nothing to answer
        except Exception as exc:
            from shared.web import error_summary

            log.error("gateway: %s", error_summary(exc))  # where, not the message (it may quote the input)
            return self._problem(500, "Internal error", f"the local gateway failed: {type(exc).__name__}")

    def _read_body(self, limit: int) -> bytes | None | bool:
        """The request body, read only while it stays within `limit` bytes: None when it is over
        (a Content-Length over the limit is refused without reading a byte; a chunked body is
        read to at most limit + 1 bytes), False when malformed. No length and no chunking: no
        body (HTTP/1.1)."""
        length = (self.headers.get("Content-Length") or "").strip()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1026)
                try:
                    size = int(line.split(b";", 1)[0].strip() or b"x", 16)
                except ValueError:
                    return False
                if size == 0:
                    while self.rfile.readline(65537).strip():  # trailers, then the blank line
                        pass
                    return b"".join(chunks)
                if total + size > limit:
                    self.rfile.read(min(size, limit + 1 - total))  # never more than limit + 1 in all
                    return None
                chunks.append(self.rfile.read(size))
                total += size
                self.rfile.readline(3)  # the CRLF after the chunk
        if not length:
            return b""
        if not length.isdigit():
            return False
        if int(length) > limit:
            return None
        return self.rfile.read(int(length))

    def _service(self, loaded, path: str, query: str, body: bytes):
        from chalice.local import LocalGatewayException

        full = path + (f"?{query}" if query else "")
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            response = loaded.gateway.handle_request(self.command, full, headers, body or None)
        except LocalGatewayException as exc:
            status = 404 if exc.CODE == 403 else exc.CODE
            return self._problem(status, "Not found" if status == 404 else "Refused",
                                 f"no route {self.command} /{loaded.base_path}{path}; see /docs")
        payload = response.get("body") or b""
        if isinstance(payload, str):
            if response.get("isBase64Encoded"):
                import base64

                payload = base64.b64decode(payload)
            else:
                payload = payload.encode()
        hdrs = dict(response.get("headers") or {})
        for k, vs in (response.get("multiValueHeaders") or {}).items():
            hdrs[k] = ", ".join(vs)
        self._send(response["statusCode"], payload, hdrs.get("Content-Type", "application/json"), hdrs)

    def _local(self, what: str, url, body: bytes):
        if what == "clock":
            if self.command == "GET":
                return self._json(200, {"now": iso(self.stack.clock.now())})
            try:
                data = json.loads(body or b"{}")
                when = parse_instant(data["now"])
            except (ValueError, KeyError, TypeError, AttributeError):
                return self._json(422, {"type": "about:blank", "title": "Validation failed", "status": 422,
                                        "detail": "send {\"now\": \"<ISO 8601 instant with offset>\"}",
                                        "errors": [{"field": "now", "message": "ISO 8601 instant with offset"}]},
                                  "application/problem+json")
            try:
                return self._json(200, self.stack.move_clock(when))
            except ValueError as exc:
                return self._problem(409, "Conflict", str(exc))
        if what == "outbox":
            to = parse_qs(url.query).get("to", [None])[0]
            return self._json(200, {"messages": self.stack.outbox(to)})
        if what == "settle":
            return self._json(200, {"settled": self.stack.settle()})
        return self._problem(404, "Not found", f"no local route /_local/{what}")

    def _static(self, base: Path, rel: str):
        target = (base / rel).resolve()
        if base.resolve() not in target.parents and target != base.resolve() or not target.is_file():
            return self._problem(404, "Not found", f"nothing at /{rel}")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        return self._send(200, target.read_bytes(), ctype)

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (malformed request line, a method no handler has)
        are problem+json too."""
        body = json.dumps({"type": "about:blank", "title": message or "Error", "status": code,
                           "detail": explain or message or "the request was refused"}).encode()
        self.send_response(code, message)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch
    do_TRACE = do_QUERY = do_CONNECT = _dispatch
