"""moto's server, embedded in this process, with every request serialized.

moto's backends do not serialize DynamoDB writes; real DynamoDB makes each item write
atomic. One lock around the WSGI app restores that, so conditional writes behave as in
AWS and the concurrency guarantees are really tested (DESIGN.md)."""

from __future__ import annotations

import os
import threading

from moto.core.config import default_user_config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

MOTO_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per AWS call drowns the console
        pass


class SerializedApp:
    def __init__(self, app):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            # the body is produced inside the lock too: moto builds it eagerly, but be sure
            return list(self._app(environ, start_response))


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        for key, value in MOTO_CONFIG.items():
            default_user_config.setdefault(key, {}).update(value)  # type: ignore[attr-defined]
        app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()


def point_sdk_at(endpoint_url: str, region: str = "us-east-1") -> None:
    """Every boto3/botocore/PynamoDB client in this process talks to the emulator."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    # moto's Step Functions calls its service integrations (sqs:sendMessage of the Match state
    # machine) through boto3 at localhost:$MOTO_PORT: point it at this emulator's port
    os.environ["MOTO_PORT"] = str(endpoint_url.rsplit(":", 1)[-1].strip("/"))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region
