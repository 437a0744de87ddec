"""One OpenAPI 3.1 document, generated from the routes' declared pydantic models."""

from __future__ import annotations

import re

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.web import PUBLIC, Endpoint

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "rule": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
STATUS_TEXT = {400: "Bad request", 401: "Not signed in", 402: "Payment declined", 403: "Forbidden",
               404: "Not found", 409: "Conflict", 422: "Invalid input or refused by a rule",
               429: "Throttled", 503: "Temporarily unavailable, retry"}


def build(mounts: dict[str, list[Endpoint]], *, title: str = "CASPR", version: str = "0.1.0") -> dict:
    models: set[type[BaseModel]] = set()
    for endpoints in mounts.values():
        for e in endpoints:
            for m in (e.body, e.response, e.query):
                if m is not None:
                    models.add(m)
    ordered = sorted(models, key=lambda m: (m.__module__, m.__name__))
    keys, schema = models_json_schema(
        [(m, "validation" if _is_input(m, mounts) else "serialization") for m in ordered],
        ref_template="#/components/schemas/{model}",
    )
    refs = {m: keys[(m, mode)]["$ref"] for (m, mode) in keys}
    components = schema.get("$defs", {})
    components["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict] = {}
    for base, endpoints in mounts.items():
        for e in endpoints:
            path = f"/{base}{e.path}" if e.path != "/" else f"/{base}"
            op: dict = {"summary": e.summary, "tags": e.tags or [base],
                        "operationId": _operation_id(e.method, path)}
            params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                      for n in re.findall(r"{(\w+)}", e.path)]
            if e.query is not None:
                for name, field in e.query.model_fields.items():
                    prop = e.query.model_json_schema()["properties"].get(name, {"type": "string"})
                    params.append({"name": name, "in": "query", "required": field.is_required(),
                                   "schema": prop, "description": field.description or ""})
            if e.idempotency_key:
                params.append({"name": "Idempotency-Key", "in": "header", "required": True,
                               "schema": {"type": "string", "minLength": 1, "maxLength": 128}})
            if params:
                op["parameters"] = params
            if e.body is not None:
                op["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": {"$ref": refs[e.body]}}}}
            ok = {"description": "OK"}
            if e.response is not None:
                ok["content"] = {"application/json": {"schema": {"$ref": refs[e.response]}}}
            responses = {str(e.status): ok}
            errors = set(e.errors) | {422} if (e.body or e.query) else set(e.errors)
            if e.roles is not PUBLIC:
                errors |= {401, 403}
            for status in sorted(errors):
                responses[str(status)] = {"description": STATUS_TEXT.get(status, "Error"), "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status, spec in e.responses.items():  # declared as they are (CSV, redirects)
                responses[str(status)] = spec
            op["responses"] = responses
            if e.roles is not PUBLIC:
                op["security"] = [{"bearer": []}]
            paths.setdefault(path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "CASPR: applications, interview scheduling and the residency Match. "
                                "Errors are RFC 9457 application/problem+json."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _is_input(model, mounts) -> bool:
    return any(model in (e.body, e.query) for es in mounts.values() for e in es)


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[{}]", "", path).strip("/").replace("/", "_").replace("-", "_")
    return f"{method.lower()}_{words}"
