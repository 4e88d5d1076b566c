"""For the JIT tests: the standard's file (skip when absent), validators of its schemas, a fake
live-plan gateway, and bodies as a carrier sends them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from api.jit.gateway import CallRef, EventsRefused

ROOT = Path(__file__).resolve().parents[2]
#: ../shared/standards/ beside the repository (a worktree), as the standards README has it.
STANDARD = (ROOT / ".." / "shared" / "standards" / "dcsa-jit-2.0.0" / "JIT_v2.0.0.yaml").resolve()


@cache
def _spec() -> dict[str, Any] | None:
    if not STANDARD.exists():
        return None
    import yaml

    data: dict[str, Any] = yaml.safe_load(STANDARD.read_text(encoding="utf-8"))
    return data


def spec() -> dict[str, Any]:
    data = _spec()
    if data is None:
        pytest.skip(f"the DCSA JIT standard is not at {STANDARD}")
    return data


def assert_valid(instance: Any, schema_name: str, *, sent: bool = False) -> None:
    """`instance` is valid against components/schemas/<schema_name> of the standard ($refs resolved,
    formats checked); `sent`: as a request body (no readOnly fields), else as a response (no
    writeOnly)."""
    from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

    doc = spec()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    cls = OAS30WriteValidator if sent else OAS30ReadValidator
    errors = sorted(cls(schema, format_checker=oas30_format_checker).iter_errors(instance), key=str)
    assert not errors, f"not a valid {schema_name}: " + "; ".join(
        f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def known_properties(schema_name: str) -> set[str]:
    props: dict[str, Any] = spec()["components"]["schemas"][schema_name]["properties"]
    return set(props)


@dataclass
class FakeGateway:
    """The live plans as the JIT module sees them: calls to find, events received (or refused)."""

    calls: list[CallRef] = field(default_factory=list)
    events: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    refuse: EventsRefused | None = None
    queries: list[dict[str, Any]] = field(default_factory=list)
    #: call id -> its planned arrival, for "nearest in time"
    times: dict[str, datetime] = field(default_factory=dict)

    def find_call(self, *, terminal_call_reference: str | None, un_location_code: str | None,
                  imo: str | None, mmsi: str | None, near: datetime | None) -> CallRef | None:
        self.queries.append({"terminal_call_reference": terminal_call_reference,
                             "un_location_code": un_location_code, "imo": imo, "mmsi": mmsi, "near": near})
        for c in self.calls:
            if terminal_call_reference is not None and c.call_id == terminal_call_reference:
                return c
        def same_vessel(c: CallRef) -> bool:
            return (imo is not None and c.vessel_imo == imo) or (mmsi is not None and c.vessel_mmsi == mmsi)

        fits = [c for c in self.calls if c.port_id == un_location_code and same_vessel(c)]
        if not fits:
            return None
        if near is None:
            return fits[0]
        return min(fits, key=lambda c: abs((self.times[c.call_id] - near).total_seconds()))

    def post_events(self, live_plan_id: str, events: list[dict[str, Any]]) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.events.append((live_plan_id, events))


def new_id() -> str:
    return str(uuid.uuid4())


def port_call(pid: str, locode: str = "KZAAU", imo: str | None = "9321483",
              mmsi: str | None = None) -> dict[str, Any]:
    vessel: dict[str, Any] = {"name": "Aktau Trader"}
    if imo:
        vessel["vesselIMONumber"] = imo
    if mmsi:
        vessel["MMSINumber"] = mmsi
    return {"portCallID": pid, "UNLocationCode": locode, "vessel": vessel}


def terminal_call(tid: str, pid: str, reference: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"terminalCallID": tid, "portCallID": pid, "carrierServiceName": "Caspian Shuttle",
                            "carrierServiceCode": "CSP1"}
    if reference is not None:
        body["terminalCallReference"] = reference
    return body


def berth_service(sid: str, tid: str, event: str = "ARRI", locode: str = "KZAAU") -> dict[str, Any]:
    return {"terminalCallID": tid, "portCallServiceID": sid, "portCallServiceTypeCode": "BERTH",
            "portCallServiceEventTypeCode": event, "portCallPhaseTypeCode": "INBD",
            "portCallServiceLocation": {"UNLocationCode": locode}}


def timestamp(tsid: str, sid: str, classifier: str, when: str, reply_to: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"timestampID": tsid, "portCallServiceID": sid, "classifierCode": classifier,
                            "dateTime": when}
    if reply_to is not None:
        body["replyToTimestampID"] = reply_to
    return body
