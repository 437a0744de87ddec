"""Contract tests (DESIGN rule 7): the JSON shape of every event on the bus is pinned by
a checked-in snapshot (tests/contracts/snapshots/<detail-type>.json), and every
subscription and every consumer names only contracts that exist.

A changed shape fails here. How to proceed:
- a new contract, or an additive optional field (old consumers ignore it: contracts are
  `extra="ignore"`; new consumers default it): record it with
      CASPR_RECORD_CONTRACTS=1 .venv/bin/pytest tests/contracts
  and commit the snapshot with the code;
- anything else (a field removed, renamed, retyped or newly required) breaks consumers
  in flight: publish it as a new detail-type with the next version suffix (`.v2`) instead.
  The recorder refuses to overwrite a snapshot with a breaking change."""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path

import pytest

from shared.contracts import REGISTRY, Contract
from shared.contracts.subscriptions import SUBSCRIPTIONS
from shared.settings import SERVICES

SNAPSHOTS = Path(__file__).parent / "snapshots"
RECORD = os.environ.get("CASPR_RECORD_CONTRACTS") == "1"
VERSIONED = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[1-9][0-9]*$")


def _strip(node):
    """The schema without prose (titles, descriptions): prose is not the contract."""
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in ("title", "description")}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def shape(model: type[Contract]) -> dict:
    schema = _strip(model.model_json_schema(mode="validation"))
    return {
        "detail_type": model.detail_type,
        "source": model.source,
        "required": sorted(schema.get("required", [])),
        "properties": sorted(schema.get("properties", {})),
        "schema": schema,
    }


def snapshot_path(detail_type: str) -> Path:
    return SNAPSHOTS / f"{detail_type}.json"


def breaking_changes(old: dict, new: dict) -> list[str]:
    """What a consumer built against `old` would trip over in `new`."""
    problems = []
    if old["source"] != new["source"]:
        problems.append(f"source changed {old['source']} -> {new['source']}")
    for name in old["properties"]:
        if name not in new["properties"]:
            problems.append(f"field {name!r} removed")
        elif old["schema"]["properties"][name] != new["schema"]["properties"][name]:
            problems.append(f"field {name!r} changed type")
    for name in set(new["required"]) - set(old["required"]):
        problems.append(f"field {name!r} is newly required")
    if old["schema"].get("$defs", {}) != {k: v for k, v in new["schema"].get("$defs", {}).items()
                                          if k in old["schema"].get("$defs", {})}:
        problems.append("a nested model changed")
    return problems


@pytest.mark.parametrize("detail_type", sorted(REGISTRY))
def test_contract_shape_matches_its_snapshot(detail_type):
    current = shape(REGISTRY[detail_type])
    path = snapshot_path(detail_type)
    if not path.exists():
        if RECORD:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
            return
        pytest.fail(f"{detail_type} has no snapshot: record it with CASPR_RECORD_CONTRACTS=1 and commit "
                    f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    pinned = json.loads(path.read_text())
    if pinned == current:
        return
    breaking = breaking_changes(pinned, current)
    if RECORD and not breaking:
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        return
    assert current["required"] == pinned["required"], (
        f"{detail_type}: required fields changed; publish a new version ({_next(detail_type)})")
    assert current["properties"] == pinned["properties"], (
        f"{detail_type}: fields changed {breaking or '(additive)'}; a breaking change needs a new version "
        f"({_next(detail_type)}); an additive optional field can be recorded (CASPR_RECORD_CONTRACTS=1)")
    assert current == pinned, f"{detail_type}: {breaking or 'shape changed'}; new version: {_next(detail_type)}"


def _next(detail_type: str) -> str:
    stem, _, version = detail_type.rpartition(".v")
    return f"{stem}.v{int(version) + 1}"


def test_every_snapshot_belongs_to_a_contract():
    orphans = sorted(p.name.removesuffix(".json") for p in SNAPSHOTS.glob("*.json")
                     if p.name.removesuffix(".json") not in REGISTRY)
    assert not orphans, f"snapshots of contracts that no longer exist (delete them): {orphans}"


def test_detail_types_carry_a_version_suffix_and_a_caspr_source():
    for detail_type, model in REGISTRY.items():
        assert VERSIONED.match(detail_type), f"{detail_type} must look like noun.verb.v1"
        assert model.detail_type == detail_type
        assert model.source.startswith("caspr."), model.source


def test_contracts_tolerate_unknown_fields_and_are_frozen():
    # consumers must keep working when a producer adds an optional field
    for model in REGISTRY.values():
        assert model.model_config.get("extra") == "ignore", model.__name__
        assert model.model_config.get("frozen") is True, model.__name__


def test_breaking_change_detection():
    """The recorder's guard itself: additions pass, removals/retypes/new required fail."""
    base = {"source": "caspr.x", "required": ["a"], "properties": ["a", "b"],
            "schema": {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}}
    added = {**base, "properties": ["a", "b", "c"],
             "schema": {"properties": {**base["schema"]["properties"], "c": {"type": "string"}}}}
    assert breaking_changes(base, added) == []
    removed = {**base, "properties": ["a"], "schema": {"properties": {"a": {"type": "string"}}}}
    assert breaking_changes(base, removed) == ["field 'b' removed"]
    retyped = {**base, "schema": {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}}
    assert breaking_changes(base, retyped) == ["field 'a' changed type"]
    required = {**base, "required": ["a", "b"]}
    assert breaking_changes(base, required) == ["field 'b' is newly required"]


# --- subscriptions and consumers -----------------------------------------------------------
def test_subscriptions_cover_exactly_the_services():
    assert set(SUBSCRIPTIONS) == set(SERVICES)


@pytest.mark.parametrize("service", sorted(SUBSCRIPTIONS))
def test_every_subscribed_detail_type_exists(service):
    unknown = [d for d in SUBSCRIPTIONS[service] if d not in REGISTRY]
    assert not unknown, f"{service} subscribes to detail-types no contract declares: {unknown}"
    assert len(set(SUBSCRIPTIONS[service])) == len(SUBSCRIPTIONS[service]), "duplicate subscription"


def test_every_service_hears_the_calendar():
    for service, detail_types in SUBSCRIPTIONS.items():
        assert "season.deadline_reached.v1" in detail_types, service


def test_the_event_rules_follow_the_subscriptions():
    from infra.stack import build_shared_template

    resources = build_shared_template("local")["Resources"]
    patterns = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        for target in resource["Properties"]["Targets"]:
            patterns[target["Id"].removesuffix("-queue")] = resource["Properties"]["EventPattern"]["detail-type"]
    for service in SERVICES:
        assert sorted(patterns.get(service, [])) == sorted(SUBSCRIPTIONS[service]), service


def _consumer_of(service: str):
    """The EventConsumer of a service's consumers module (module-level `consumer`: a
    shared.wiring.LazyConsumer or a function returning the EventConsumer)."""
    from shared.consumer import EventConsumer
    from shared.wiring import LazyConsumer

    module = importlib.import_module(f"{service}.consumers")
    consumer = module.consumer
    if isinstance(consumer, LazyConsumer):
        return consumer.get()
    built = consumer()
    assert isinstance(built, EventConsumer)
    return built


@pytest.fixture
def isolated_wiring(aws, monkeypatch):
    """Builds consumers inside moto, then forgets them, so no other test (or the e2e
    stack in the same process) inherits clients made for this moto."""
    from shared.wiring import LazyConsumer

    # a bootstrap may build its token verifier eagerly: give it a (never fetched) JWKS URL
    monkeypatch.setenv("CASPR_USER_POOL_ID", "us-east-1_CONTRACTS")
    monkeypatch.setenv("CASPR_USER_POOL_CLIENT_ID", "contracts-client")
    monkeypatch.setenv("CASPR_JWKS_URL", "http://127.0.0.1:9/jwks.json")
    for service in SERVICES:
        module = importlib.import_module(f"{service}.consumers")
        if isinstance(module.consumer, LazyConsumer):
            monkeypatch.setattr(module.consumer, "_consumer", None)
        elif hasattr(module, "_consumer"):
            monkeypatch.setattr(module, "_consumer", None)
    yield
    for service in SERVICES:
        importlib.import_module(f"{service}.bootstrap").override(None)


@pytest.mark.integration
def test_every_consumer_handles_only_what_its_service_subscribes_to(isolated_wiring):
    for service in SERVICES:
        handled = set(_consumer_of(service).handlers)
        subscribed = set(SUBSCRIPTIONS[service])
        assert handled <= subscribed, (
            f"{service} handles {sorted(handled - subscribed)} but its queue never receives them: "
            "add them to shared/contracts/subscriptions.py")
        assert "season.deadline_reached.v1" in handled, service
        for detail_type, (model, _fn) in _consumer_of(service).handlers.items():
            assert REGISTRY[detail_type] is model
