"""Bad input that costs memory: a request body over 1 MB is refused with 413 problem+json
before it is parsed (shared.web), and the local gateway refuses it before reading it whole
(caspr_local.host: by Content-Length without reading a byte; a chunked body is read to at
most 1 MB + 1)."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from chalice import Chalice
from chalice.test import Client
from pydantic import BaseModel, ConfigDict, Field

from shared.web import MAX_BODY_BYTES, PROBLEM_JSON, PUBLIC, ApiBlueprint, optional_body
from tests.fakes import FakeVerifier

PACKAGE = "caspr_body_limit_test"


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2_000_000)


def _app() -> Chalice:
    bp = ApiBlueprint(f"{PACKAGE}.api", tag="test", verifier=lambda: FakeVerifier({}))
    parsed = []

    @bp.endpoint("/notes", "POST", summary="a note", body=NoteIn, roles=PUBLIC)
    def post_note(body: NoteIn):
        parsed.append(body)
        return {"length": len(body.text)}

    @bp.endpoint("/optional", "POST", summary="optional body", roles=PUBLIC)
    def post_optional(request):
        return {"length": len(optional_body(request, NoteIn).text)} if request.raw_body else {"length": 0}

    app = Chalice(app_name=PACKAGE)
    app.register_blueprint(bp)
    app.parsed = parsed
    return app


@pytest.fixture(scope="module")
def app():
    yield _app()
    ApiBlueprint.all.pop(PACKAGE, None)


def _body(size: int) -> str:
    """A valid JSON note of exactly `size` bytes."""
    overhead = len(json.dumps({"text": ""}))
    return json.dumps({"text": "x" * (size - overhead)})


def test_a_body_of_1_mb_is_read(app):
    with Client(app) as client:
        r = client.http.post("/notes", body=_body(MAX_BODY_BYTES), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.body
    assert r.json_body["length"] == MAX_BODY_BYTES - len(json.dumps({"text": ""}))


@pytest.mark.parametrize("path", ["/notes", "/optional"])
def test_a_body_over_1_mb_is_413_problem_json_and_never_parsed(app, path):
    before = len(app.parsed)
    with Client(app) as client:
        r = client.http.post(path, body=_body(MAX_BODY_BYTES + 1), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["Content-Type"] == PROBLEM_JSON
    problem = json.loads(r.body)
    assert problem["status"] == 413 and problem["title"] == "Payload too large"
    assert problem["max_bytes"] == MAX_BODY_BYTES
    assert len(r.body) < 1000  # the refusal stays small
    assert len(app.parsed) == before


def test_a_declared_content_length_over_1_mb_is_413_before_the_body_is_looked_at(app):
    with Client(app) as client:
        r = client.http.post("/notes", body=_body(100),
                             headers={"Content-Type": "application/json", "Content-Length": str(64 << 20)})
    assert r.status_code == 413


# ------------------------------------------------------------------------ the local gateway

class _EchoGateway:
    def __init__(self):
        self.bodies = []

    def handle_request(self, method, path, headers, body):
        self.bodies.append(body or b"")
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"received": len(body or b"")})}


class _Loaded:
    base_path = "echo"

    def __init__(self):
        self.gateway = _EchoGateway()


class _Stack:
    def __init__(self):
        self.apps = {"echo": _Loaded()}


@pytest.fixture
def gateway():
    from caspr_local.host import GatewayHandler, GatewayServer

    stack = _Stack()
    handler = type("Handler", (GatewayHandler,), {"stack": stack})
    server = GatewayServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], stack.apps["echo"].gateway
    server.shutdown()
    server.server_close()


def _exchange(port: int, head: bytes, body: bytes = b"") -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        header, _, rest = data.partition(b"\r\n\r\n")
        lines = header.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(rest) < int(headers.get("content-length", 0)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(lines[0].split()[1]), headers, rest


def test_the_local_gateway_refuses_a_content_length_over_1_mb_without_reading_it(gateway):
    port, echo = gateway
    # 64 MB announced, 10 bytes sent: the answer comes at once, so nothing waited for the rest
    status, headers, body = _exchange(
        port, b"POST /echo/x HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
              b"Content-Length: 67108864\r\n\r\n", b"{\"a\": 1}  ")
    assert status == 413
    assert headers["content-type"] == PROBLEM_JSON
    assert json.loads(body)["status"] == 413
    assert echo.bodies == []


def test_the_local_gateway_reads_a_chunked_body_only_up_to_the_limit(gateway):
    port, echo = gateway
    head = b"POST /echo/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    small = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    status, _, body = _exchange(port, head, small)
    assert status == 200 and json.loads(body) == {"received": 11}
    assert echo.bodies == [b"hello world"]
    piece = 256 * 1024
    chunks = (f"{piece:x}\r\n".encode() + b"x" * piece + b"\r\n") * 5  # 1.25 MB in 5 chunks
    status, _, body = _exchange(port, head, chunks + b"0\r\n\r\n")
    assert status == 413 and json.loads(body)["title"] == "Payload too large"
    assert len(echo.bodies) == 1


def test_the_local_gateway_passes_a_body_within_the_limit(gateway):
    port, echo = gateway
    payload = b"{\"text\": \"" + b"y" * 1000 + b"\"}"
    status, _, body = _exchange(port, b"POST /echo/x HTTP/1.1\r\nHost: t\r\nContent-Length: "
                                + str(len(payload)).encode() + b"\r\n\r\n", payload)
    assert status == 200 and json.loads(body) == {"received": len(payload)}
