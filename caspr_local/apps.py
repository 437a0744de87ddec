"""Load the Chalice apps of every service side by side in this process."""

from __future__ import annotations

import importlib.util
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig
from chalice.config import Config
from chalice.local import LocalGateway

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / "services"
# base path -> service directory
MOUNTS = {
    "auth": "identity",
    "registration": "registration",
    "applications": "applications",
    "scores": "scores",
    "interviews": "interviews",
    "match": "match",
}


@dataclass
class LoadedApp:
    base_path: str
    service: str
    app: Chalice
    gateway: LocalGateway

    def sqs_handlers(self) -> dict[str, object]:
        """queue name -> the very handler Lambda would call."""
        out = {}
        for source in self.app.event_sources:
            if isinstance(source, SQSEventConfig):
                out[source.queue] = self.app.handler_map[source.name]
        return out

    def stream_handlers(self) -> dict[str, object]:
        """table name -> the handler of each `on_dynamodb_record` function (the outbox relay)."""
        out = {}
        for source in self.app.event_sources:
            if isinstance(source, DynamoDBEventConfig):
                table = source.stream_arn.split(":table/", 1)[1].split("/", 1)[0]
                out[table] = (self.app.handler_map[source.name], source.batch_size)
        return out

    def scheduled_handlers(self) -> dict[str, object]:
        """name -> the handler of each `@schedule` function (run by the local host's tick)."""
        return {source.name: self.app.handler_map[source.name] for source in self.app.event_sources
                if isinstance(source, ScheduledEventConfig)}


def _thread_local_requests(app: Chalice) -> None:
    """Chalice keeps the request being handled on the app object (`current_request`,
    `lambda_context`): right in Lambda, one request per process at a time. The local
    gateway serves requests concurrently, so there each thread needs its own, or one
    request's handler reads another's body and headers."""
    local = threading.local()

    def slot(name: str) -> property:
        return property(lambda self: getattr(local, name, None), lambda self, value: setattr(local, name, value))

    app.__class__ = type(f"ThreadLocal{type(app).__name__}", (type(app),),
                         {"current_request": slot("current_request"), "lambda_context": slot("lambda_context")})
    for name in ("current_request", "lambda_context"):
        app.__dict__.pop(name, None)


def load_app(service: str) -> Chalice:
    path = SERVICES_DIR / service / "app.py"
    module_name = f"caspr_app_{service}"
    if module_name in sys.modules:
        return sys.modules[module_name].app
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    _thread_local_requests(module.app)
    return module.app


def load_all() -> dict[str, LoadedApp]:
    loaded = {}
    for base, service in MOUNTS.items():
        app = load_app(service)
        config = Config(chalice_stage="local", config_from_disk={"lambda_timeout": 60})
        loaded[base] = LoadedApp(base, service, app, LocalGateway(app, config))
    return loaded
