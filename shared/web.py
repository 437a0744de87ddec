"""The HTTP edge every service shares: a Chalice Blueprint whose routes declare their
request/response pydantic models and roles. One wrapper parses, authenticates,
authorizes, calls the use case and serializes; errors become RFC 9457 problem+json
here and nowhere else. The declared models feed the OpenAPI document (shared.openapi)."""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from shared.auth import Principal, TokenVerifier, bearer_token, require_role
from shared.errors import DomainError, FieldError, ValidationFailed
from shared.runtime import LAMBDA_CONTEXT

PUBLIC = None
ANY_ROLE = ()
PROBLEM_JSON = "application/problem+json"
# No request of this API needs more; API Gateway itself allows 10 MB, which json.loads and
# pydantic would turn into far more memory. The local gateway refuses the same before reading.
MAX_BODY_BYTES = 1024 * 1024
logger = Logger(service="caspr")


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


def too_large(size: int | None = None) -> PayloadTooLarge:
    said = f" ({size} bytes)" if size is not None else ""
    return PayloadTooLarge(f"the request body{said} is over the limit of {MAX_BODY_BYTES} bytes (1 MB)",
                           errors=[FieldError("body", f"at most {MAX_BODY_BYTES} bytes")],
                           extra={"max_bytes": MAX_BODY_BYTES})


def error_summary(exc: BaseException, frames: int = 15) -> dict:
    """What a log line may say about an unexpected error: its class and where it was raised
    (file:line in function), never its message, which can quote the input (names, emails,
    Code Numbers, bodies): no personal data in log lines."""
    import traceback

    stack = traceback.extract_tb(exc.__traceback__)[-frames:]
    return {"error_type": type(exc).__name__,
            "stack": [f"{'/'.join(f.filename.split('/')[-2:])}:{f.lineno} in {f.name}" for f in stack]}


def _checked_raw_body(request) -> bytes | str | None:
    """The body, refused (413) when it is over MAX_BODY_BYTES: by its declared Content-Length
    first, then by what arrived, before anything parses it."""
    declared = (request.headers.get("content-length") or "").strip() if request.headers else ""
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large(int(declared))
    raw = request.raw_body
    if raw and len(raw) > MAX_BODY_BYTES:
        raise too_large(len(raw))
    return raw


@dataclass
class Endpoint:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    roles: tuple[str, ...] | None = ANY_ROLE
    idempotency_key: bool = False
    tags: list[str] = field(default_factory=list)
    errors: tuple[int, ...] = ()
    # OpenAPI response objects by status, for answers that are not the JSON `response` model
    # (a CSV body, a 303 redirect); each replaces or adds that status in the document
    responses: dict[int, dict] = field(default_factory=dict)


def problem(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(body=json.dumps(body, default=str), status_code=status,
                    headers={"Content-Type": PROBLEM_JSON, **(headers or {})})


def problem_from(exc: DomainError) -> Response:
    headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
    return problem(exc.status, exc.to_problem(), headers)


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or prefix.rstrip(".") or "body"
        message = err["msg"]
        if err.get("type") == "missing":
            message = "is required"
        out.append(FieldError(f"{prefix}{loc}" if prefix and not loc.startswith(prefix) else loc, message))
    return out


def _json_body(request) -> Any:
    raw = _checked_raw_body(request)
    if not raw:
        raise ValidationFailed("the request needs a JSON body", errors=[FieldError("body", "is required")])
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"the body is not valid JSON: {exc}",
                               errors=[FieldError("body", "must be a JSON object")]) from exc
    except RecursionError as exc:  # nested deeper than the parser goes: no request needs that
        raise ValidationFailed("the body is nested too deeply to be read",
                               errors=[FieldError("body", "must be a JSON object of the documented shape")]) from exc


def optional_body(request, model: type[BaseModel]) -> BaseModel:
    """A body that may be left out (the model's defaults then), else read like any other."""
    raw = _checked_raw_body(request)
    if not raw or not raw.strip():
        return model()
    data = _json_body(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("the request body has invalid fields", errors=field_errors(exc)) from exc


def _dump(value: Any, model: type[BaseModel] | None) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if model is not None and value is not None:
        return model.model_validate(value).model_dump(mode="json")
    return value


class ApiBlueprint(Blueprint):
    """A Blueprint whose routes are typed. `verifier` is a callable returning the
    TokenVerifier (resolved lazily from the service's bootstrap). Every instance is
    listed in `ApiBlueprint.all` (by package) for the OpenAPI document."""

    all: dict[str, list[ApiBlueprint]] = {}

    def __init__(self, import_name: str, *, tag: str, verifier: Callable[[], TokenVerifier]):
        super().__init__(import_name)
        self.package = import_name.split(".")[0]
        ApiBlueprint.all.setdefault(self.package, []).append(self)
        self.tag = tag
        self.endpoints: list[Endpoint] = []
        self._verifier = verifier

    def endpoint(self, path: str, method: str = "GET", *, summary: str, body=None, query=None,
                 response=None, status: int = 200, roles: tuple[str, ...] | None = ANY_ROLE,
                 idempotency_key: bool = False, errors: tuple[int, ...] = (),
                 responses: dict[int, dict] | None = None):
        meta = Endpoint(method.upper(), path, summary, body, query, response, status, roles,
                        idempotency_key, [self.tag], errors, dict(responses or {}))
        self.endpoints.append(meta)

        def decorate(fn: Callable[..., Any]):
            wanted = set(inspect.signature(fn).parameters)

            def view(**path_params):
                return self._handle(meta, fn, wanted, path_params)

            view.__name__ = fn.__name__
            self.route(path, methods=[meta.method])(view)
            return fn

        return decorate

    def principal(self, request) -> Principal:
        return self._verifier().verify(bearer_token(request.headers))

    def _handle(self, meta: Endpoint, fn, wanted: set[str], path_params: dict) -> Response:
        request = self.current_request
        try:
            kwargs: dict[str, Any] = dict(path_params)
            if meta.roles is not PUBLIC:
                principal = self.principal(request)
                if meta.roles:
                    require_role(principal, *meta.roles)
                kwargs["principal"] = principal
            elif "principal" in wanted:
                kwargs["principal"] = self._optional_principal(request)
            if meta.body is not None:
                data = _json_body(request)
                try:
                    kwargs["body"] = meta.body.model_validate(data)
                except ValidationError as exc:
                    raise ValidationFailed("the request body has invalid fields",
                                           errors=field_errors(exc)) from exc
            if meta.query is not None:
                try:
                    kwargs["query"] = meta.query.model_validate(dict(request.query_params or {}))
                except ValidationError as exc:
                    raise ValidationFailed("the query string has invalid parameters",
                                           errors=field_errors(exc)) from exc
            if "idempotency_key" in wanted:
                kwargs["idempotency_key"] = _idempotency_key(request, required=meta.idempotency_key)
            if "request" in wanted:
                kwargs["request"] = request
            context = LAMBDA_CONTEXT.set(self._invocation_context())
            try:
                result = fn(**{k: v for k, v in kwargs.items() if k in wanted})
            finally:
                LAMBDA_CONTEXT.reset(context)
        except DomainError as exc:
            return problem_from(exc)
        except Exception as exc:  # a bug, never bad input: logged with the correlation id (no message: ids only)
            ref = str(uuid.uuid4())
            logger.error("unhandled error", extra={"error_ref": ref, "path": meta.path, **error_summary(exc)})
            return problem(500, {"type": "about:blank", "title": "Internal error", "status": 500,
                                 "detail": f"an unexpected error occurred (reference {ref})"})
        if isinstance(result, Response):
            return result
        return Response(body=json.dumps(_dump(result, meta.response), default=str), status_code=meta.status,
                        headers={"Content-Type": "application/json"})

    def _invocation_context(self):
        try:
            return self.lambda_context  # Lambda's (None on the local gateway and in chalice's test client)
        except RuntimeError:  # not registered on an app
            return None

    def _optional_principal(self, request) -> Principal | None:
        if not (request.headers.get("authorization") or "").strip():
            return None
        return self.principal(request)


CHALICE_ERROR_TITLES = {405: "Method not allowed", 415: "Unsupported media type"}


def chalice_error_as_problem(response: Response) -> Response:
    """Chalice refuses some requests itself, before any view runs (405 for a method the path
    does not have, 415 for a body that is not JSON), with its own {"Code", "Message"} JSON.
    The API promises problem+json for every refusal: rewrite those (called by the http
    middleware of shared.observability)."""
    if response.status_code < 400 or not isinstance(response.body, dict | str | bytes):
        return response
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return response
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return response
    status = response.status_code
    headers = {k: v for k, v in (response.headers or {}).items() if k.lower() != "content-type"}
    detail = str(body["Message"])
    if status == 415:
        detail += "; send the body as application/json"
    elif status == 405 and headers.get("Allow"):
        detail += f"; this path allows {headers['Allow']}"
    return problem(status, {"type": "about:blank", "title": CHALICE_ERROR_TITLES.get(status, str(body["Code"])),
                            "status": status, "detail": detail}, headers)


def _idempotency_key(request, *, required: bool) -> str | None:
    key = (request.headers.get("idempotency-key") or "").strip()
    if not key:
        if required:
            raise ValidationFailed(
                "this write moves money or books capacity: send an Idempotency-Key header",
                errors=[FieldError("Idempotency-Key", "header is required (any unique string, e.g. a UUID)")],
            )
        return None
    if len(key) > 128 or not key.isprintable():
        raise ValidationFailed("Idempotency-Key is invalid",
                               errors=[FieldError("Idempotency-Key", "must be 1-128 printable characters")])
    return key
