"""portsync's JIT models against the standard's file itself: the same properties, required fields
and enums; every request example of the endpoints portsync implements is accepted, and what portsync
makes of it is valid against the schema (skipped when ../shared/standards is absent)."""

from __future__ import annotations

from enum import Enum
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from api.jit import schemas
from api.jit.schemas import dump
from tests.api.jit_support import assert_valid, spec

MODELS: dict[str, type[BaseModel]] = {
    name: getattr(schemas, name) for name in (
        "PortCall", "TerminalCall", "PortCallService", "Timestamp", "Vessel", "VesselStatus",
        "VesselPosition",
        "PortCallServiceLocation", "Facility", "GeoCoordinate", "Cancel", "Decline", "OmitPortCall",
        "OmitTerminalCall", "ErrorResponse", "DetailedError")}
#: The standard's schema a model stands for, where the names differ.
SCHEMA_OF = {"PortCallServiceLocation": "PortCallServiceLocation"}


def _enum_of(annotation: Any) -> type[Enum] | None:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    for arg in get_args(annotation):
        found = _enum_of(arg)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_models_have_the_standards_fields_required_fields_and_enums(name: str) -> None:
    schema = spec()["components"]["schemas"][SCHEMA_OF.get(name, name)]
    model = MODELS[name]
    assert set(model.model_fields) == set(schema["properties"])
    required = {f for f, info in model.model_fields.items() if info.is_required()}
    assert required == set(schema.get("required", []))
    for field, info in model.model_fields.items():
        prop = schema["properties"][field]
        enum = _enum_of(info.annotation)
        if "enum" in prop:
            assert enum is not None, f"{name}.{field} should be an enum"
            assert [e.value for e in enum] == prop["enum"], f"{name}.{field}"


def test_the_service_type_codes_are_the_ones_the_standard_lists() -> None:
    text = spec()["components"]["schemas"]["PortCallService"]["properties"]["portCallServiceTypeCode"][
        "description"]
    listed = {line.split("`")[1] for line in text.splitlines() if line.strip().startswith("- `")}
    assert {c.value for c in schemas.PortCallServiceTypeCode} == listed


def _examples() -> list[tuple[str, str, Any]]:
    """(operation, schema, example value) of every request body example of the endpoints a
    Service Consumer implements (and PUT /timestamps, which both roles do)."""
    out = []
    for ops in spec()["paths"].values():
        for op in ops.values():
            if "Port Call Service - Service Provider" in op["tags"] or "requestBody" not in op:
                continue
            content = op["requestBody"]["content"]["application/json"]
            name = content["schema"]["$ref"].rsplit("/", 1)[-1]
            for key, ex in (content.get("examples") or {}).items():
                if "value" in ex:
                    out.append((f"{op['operationId']}:{key}", name, ex["value"]))
    return out


def test_every_request_example_of_the_consumer_endpoints_is_taken_and_written_back_valid() -> None:
    examples = _examples()
    assert {name for _, name, _ in examples} >= {"PortCall", "TerminalCall"}
    for op, name, value in examples:
        assert_valid(value, name, sent=True)
        model = MODELS[name].model_validate(value)
        out = dump(model)
        assert_valid(out, name)
        assert set(out) <= set(value), op  # nothing added
        assert set(value) - set(out) <= {"isFYI"}, op  # nothing lost but the writeOnly flag
