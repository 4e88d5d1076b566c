"""DCSA JIT 2.0, portsync as the Service Consumer of BERTH services: the carrier's messages
answered 204, its EST / ACT handed to the live plan as events, portsync's REQ replying to the
preceding timestamp, GETs as exact JSON arrays, errors as the standard's ErrorResponse. Every body
portsync returns or sends is validated against the standard's own schemas."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.jit import include_jit
from api.jit.gateway import CallRef, EventsRefused
from api.jit.mapping import derived_ids, local_time
from api.jit.publish import decline_service, publish_requests
from api.jit.schemas import dump
from optimizer.live.events import EVENTS
from tests.api.conftest import make_settings
from tests.api.jit_support import (
    FakeGateway,
    assert_valid,
    berth_service,
    new_id,
    port_call,
    terminal_call,
    timestamp,
)

AKTAU = CallRef("LP1", "C1", "KZAAU", "Asia/Aqtau", vessel_imo="9321483", vessel_name="Aktau Trader")
T11 = "2026-12-03T11:00:00+05:00"
BAKU = CallRef("LP1", "C2", "AZBAK", "Asia/Baku", vessel_mmsi="423000001", vessel_name="Alat Star")


@dataclass
class Jit:
    client: TestClient
    gateway: FakeGateway
    app: FastAPI

    def put(self, path: str, body: dict[str, Any], status: int = 204, **headers: str) -> Any:
        r = self.client.put(f"/v2/{path}", json=body, headers=headers)
        assert r.status_code == status, r.text
        assert r.headers["API-Version"] == "2.0.0"
        return r

    def post(self, path: str, body: dict[str, Any], status: int = 204) -> Any:
        r = self.client.post(f"/v2/{path}", json=body)
        assert r.status_code == status, r.text
        assert r.headers["API-Version"] == "2.0.0"
        return r

    def get(self, path: str, plural: str, **params: str) -> list[dict[str, Any]]:
        r = self.client.get(f"/v2/{path}", params=params)
        assert r.status_code == 200, r.text
        assert r.headers["API-Version"] == "2.0.0"
        data: list[dict[str, Any]] = r.json()
        assert isinstance(data, list)
        assert_valid(data, plural)
        return data

    def publish(self, *changes: tuple[str, datetime, str]) -> list[dict[str, Any]]:
        reqs = [dump(t) for t in publish_requests(self.app.state.db, self.gateway, "LP1", list(changes))]
        for r in reqs:
            assert_valid(r, "Timestamp", sent=True)
        return reqs


@pytest.fixture
def jit(tmp_path: Path) -> Iterator[Jit]:
    app = create_app(make_settings(tmp_path))
    gateway = FakeGateway(calls=[AKTAU, BAKU], times={
        "C1": datetime(2026, 12, 3, 6, tzinfo=UTC), "C2": datetime(2026, 12, 4, 6, tzinfo=UTC)})
    include_jit(app, app.state.db, lambda: gateway)
    yield Jit(TestClient(app), gateway, app)
    app.state.runner.stop()
    app.state.db.dispose()


def carrier_berth(jit: Jit, reference: str | None = "C1", locode: str = "KZAAU", imo: str | None = "9321483",
                  mmsi: str | None = None, event: str = "ARRI") -> tuple[str, str, str]:
    """The carrier's port call, terminal call and BERTH service: their ids."""
    pid, tid, sid = new_id(), new_id(), new_id()
    jit.put(f"port-calls/{pid}", port_call(pid, locode, imo, mmsi))
    jit.put(f"terminal-calls/{tid}", terminal_call(tid, pid, reference))
    jit.put(f"port-call-services/{sid}", berth_service(sid, tid, event, locode))
    return pid, tid, sid


def test_e_r_p_a_for_a_berth_service(jit: Jit) -> None:
    pid, tid, sid = carrier_berth(jit)
    est = new_id()
    jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", "2026-12-03T11:00:00+05:00"))
    assert jit.gateway.events == [("LP1", [{
        "event_id": f"jit-{est}", "type": "eta", "call_id": "C1", "eta": "2026-12-03T11:00:00+05:00",
        "source": "DCSA JIT EST"}])]
    EVENTS.validate_python(jit.gateway.events[0][1])  # the live plans' own vocabulary

    [req] = jit.publish(("C1", datetime(2026, 12, 3, 7, 30, tzinfo=UTC), "Asia/Aqtau"))
    assert req == {"timestampID": req["timestampID"], "replyToTimestampID": est, "portCallServiceID": sid,
                   "classifierCode": "REQ", "dateTime": "2026-12-03T12:30:00+05:00"}
    assert jit.get("timestamps", "Timestamps", timestampID=req["timestampID"]) == [req]

    pln = new_id()
    jit.put(f"timestamps/{pln}", timestamp(pln, sid, "PLN", req["dateTime"], reply_to=req["timestampID"]))
    assert len(jit.gateway.events) == 1  # PLN is the agreed time, stored, not an event

    act = new_id()
    jit.put(f"timestamps/{act}", timestamp(act, sid, "ACT", "2026-12-03T12:41:00+05:00", reply_to=pln))
    assert jit.gateway.events[-1] == ("LP1", [{
        "event_id": f"jit-{act}", "type": "actual_arrival", "call_id": "C1",
        "time": "2026-12-03T12:41:00+05:00", "source": "DCSA JIT ACT"}])
    EVENTS.validate_python(jit.gateway.events[-1][1])

    stamps = jit.get("timestamps", "Timestamps", portCallServiceID=sid)
    assert [(t["timestampID"], t["classifierCode"]) for t in stamps] == [
        (est, "EST"), (req["timestampID"], "REQ"), (pln, "PLN"), (act, "ACT")]
    assert stamps[1] == req and stamps[2]["dateTime"] == req["dateTime"]
    assert [t["timestampID"] for t in jit.get("timestamps", "Timestamps", portCallServiceID=sid,
                                              classifierCode="REQ")] == [req["timestampID"]]
    assert jit.get("timestamps", "Timestamps", timestampID=pln, classifierCode="EST") == []
    assert jit.get("timestamps", "Timestamps", portCallServiceID=new_id()) == []

    [pc] = jit.get("port-calls", "PortCalls", portCallID=pid)
    assert pc == port_call(pid)
    assert [t["terminalCallID"] for t in jit.get("terminal-calls", "TerminalCalls", portCallID=pid)] == [tid]
    assert jit.get("terminal-calls", "TerminalCalls", terminalCallReference="C1")[0]["terminalCallID"] == tid
    [svc] = jit.get("port-call-services", "PortCallServices", terminalCallID=tid)
    assert svc == berth_service(sid, tid)
    assert jit.get("port-call-services", "PortCallServices", portCallServiceTypeCode="PILOTAGE") == []


def test_act_on_a_departure_service_is_an_actual_departure(jit: Jit) -> None:
    _, _, sid = carrier_berth(jit, event="DEPA")
    est, act = new_id(), new_id()
    jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", "2026-12-03T20:00:00+05:00"))
    assert jit.gateway.events == []  # an ETD is not an event of the live plans
    jit.put(f"timestamps/{act}", timestamp(act, sid, "ACT", "2026-12-03T21:15:00+05:00", reply_to=est))
    assert jit.gateway.events == [("LP1", [{"event_id": f"jit-{act}", "type": "actual_departure",
                                            "call_id": "C1", "time": "2026-12-03T21:15:00+05:00",
                                            "source": "DCSA JIT ACT"}])]


def error_body(r: Any, status: int, method: str, path: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["API-Version"] == "2.0.0"
    body: dict[str, Any] = r.json()
    assert_valid(body, "ErrorResponse")
    assert body["httpMethod"] == method and body["requestUri"] == path and body["statusCode"] == status
    assert body["errorDateTime"].endswith("Z")
    assert all(e["errorCodeText"] and e["errorCodeMessage"] for e in body["errors"])
    return body


def test_a_timestamp_for_an_unknown_service_is_a_400_error_response(jit: Jit) -> None:
    tsid, sid = new_id(), new_id()
    r = jit.client.put(f"/v2/timestamps/{tsid}", json=timestamp(tsid, sid, "EST", T11))
    body = error_body(r, 400, "PUT", f"/v2/timestamps/{tsid}")
    assert body["statusCodeText"] == "Bad Request"
    assert [e["property"] for e in body["errors"]] == ["portCallServiceID"]
    assert sid in body["errors"][0]["errorCodeMessage"]
    assert jit.get("timestamps", "Timestamps", timestampID=tsid) == []


def test_invalid_jit_bodies_are_400_error_responses_and_v1_keeps_problem_json(jit: Jit) -> None:
    _, _, sid = carrier_berth(jit)
    tsid = new_id()
    path = f"/v2/timestamps/{tsid}"
    bad = timestamp(tsid, sid, "EST", T11)
    del bad["classifierCode"]
    body = error_body(jit.client.put(path, json=bad), 400, "PUT", path)
    assert "classifierCode" in [e["property"] for e in body["errors"]]
    naive = timestamp(tsid, sid, "EST", "2026-12-03T11:00:00")
    error_body(jit.client.put(f"/v2/timestamps/{tsid}", json=naive), 400, "PUT", f"/v2/timestamps/{tsid}")
    other = timestamp(new_id(), sid, "EST", "2026-12-03T11:00:00+05:00")
    body = error_body(jit.client.put(path, json=other), 400, "PUT", path)
    assert body["errors"][0]["property"] == "timestampID"
    r = jit.client.put("/v2/port-calls/not-a-uuid", content=b"{not json",
                       headers={"Content-Type": "application/json"})
    error_body(r, 400, "PUT", "/v2/port-calls/not-a-uuid")
    wrong_pair = berth_service(sid, new_id(), event="STRT")
    r = jit.client.put(f"/v2/port-call-services/{sid}", json=wrong_pair)
    body = error_body(r, 400, "PUT", f"/v2/port-call-services/{sid}")
    assert "BERTH" in body["errors"][0]["errorCodeMessage"]
    no_vessel_id = port_call(new_id(), imo=None)
    r = jit.client.put(f"/v2/port-calls/{no_vessel_id['portCallID']}", json=no_vessel_id)
    error_body(r, 400, "PUT", f"/v2/port-calls/{no_vessel_id['portCallID']}")
    body = error_body(jit.client.put(path, json={**timestamp(tsid, sid, "EST", T11), "remark": "a\u0000b"}),
                      400, "PUT", path)
    assert body["errors"][0]["property"] == "remark"
    odd = port_call(new_id())
    odd["vessel"]["x\u0000y"] = "\ud800"  # an unknown key: still no text the error body cannot hold
    r = jit.client.put(f"/v2/port-calls/{odd['portCallID']}", content=json.dumps(odd).encode(),
                       headers={"Content-Type": "application/json"})
    error_body(r, 400, "PUT", f"/v2/port-calls/{odd['portCallID']}")
    req = timestamp(tsid, sid, "REQ", "2026-12-03T11:00:00+05:00")
    body = error_body(jit.client.put(path, json=req), 400, "PUT", path)
    assert body["errors"][0]["property"] == "classifierCode"
    assert jit.get("timestamps", "Timestamps", portCallServiceID=sid) == []
    # /v1 is untouched: its validation errors stay 422 problem+json
    r = jit.client.post("/v1/check", json={})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


def test_get_timestamps_needs_a_service_or_a_timestamp_id(jit: Jit) -> None:
    body = error_body(jit.client.get("/v2/timestamps?classifierCode=EST"), 400, "GET", "/v2/timestamps")
    assert body["errors"][0]["property"] == "portCallServiceID"
    error_body(jit.client.get("/v2/timestamps?portCallServiceID=nope"), 400, "GET", "/v2/timestamps")


def test_a_resent_timestamp_is_one_event_and_a_changed_one_another(jit: Jit) -> None:
    _, _, sid = carrier_berth(jit)
    est = new_id()
    for _ in range(2):
        jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", "2026-12-03T11:00:00+05:00"))
    assert len(jit.gateway.events) == 1
    jit.put(f"timestamps/{est}", {**timestamp(est, sid, "EST", T11), "remark": "swell"})
    assert len(jit.gateway.events) == 1  # only the remark changed
    jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", "2026-12-03T13:00:00+05:00"))
    assert jit.gateway.events[-1][1][0]["event_id"] == f"jit-{est}-r1"
    [stored] = jit.get("timestamps", "Timestamps", portCallServiceID=sid)
    assert stored["dateTime"] == "2026-12-03T13:00:00+05:00"


def test_a_refused_event_stores_nothing(jit: Jit) -> None:
    _, _, sid = carrier_berth(jit)
    jit.gateway.refuse = EventsRefused("C1 has departed already", "0.time")
    act = new_id()
    r = jit.client.put(f"/v2/timestamps/{act}", json=timestamp(act, sid, "ACT", "2026-12-03T11:00:00+05:00"))
    body = error_body(r, 400, "PUT", f"/v2/timestamps/{act}")
    assert body["errors"][0]["property"] == "0.time" and "departed" in body["errors"][0]["errorCodeMessage"]
    assert jit.get("timestamps", "Timestamps", portCallServiceID=sid) == []


def test_reqs_before_the_carrier_speaks_use_derived_records_then_the_carriers(jit: Jit) -> None:
    [first] = jit.publish(("C2", datetime(2026, 12, 4, 5, tzinfo=UTC), "Asia/Baku"))
    ids = derived_ids("LP1", "C2")
    assert first["portCallServiceID"] == str(ids.port_call_service_id)
    assert "replyToTimestampID" not in first and first["dateTime"] == "2026-12-04T09:00:00+04:00"
    [svc] = jit.get("port-call-services", "PortCallServices", portCallServiceID=str(ids.port_call_service_id))
    assert svc["portCallServiceTypeCode"] == "BERTH" and svc["portCallServiceEventTypeCode"] == "ARRI"
    assert svc["portCallServiceLocation"] == {"UNLocationCode": "AZBAK"}
    [tc] = jit.get("terminal-calls", "TerminalCalls", terminalCallReference="C2")
    assert tc["terminalCallID"] == str(ids.terminal_call_id)
    [pc] = jit.get("port-calls", "PortCalls", UNLocationCode="AZBAK")
    assert pc["vessel"] == {"MMSINumber": "423000001", "name": "Alat Star"}
    # The same RTA again (a version replayed) publishes nothing; a new one replies to the first REQ.
    assert jit.publish(("C2", datetime(2026, 12, 4, 5, tzinfo=UTC), "Asia/Baku")) == []
    [second] = jit.publish(("C2", datetime(2026, 12, 4, 6, tzinfo=UTC), "Asia/Baku"))
    assert second["replyToTimestampID"] == first["timestampID"]

    # The carrier sends its own records (by MMSI at AZBAK, no reference): its ids are used from now on.
    _, _, sid = carrier_berth(jit, reference=None, locode="AZBAK", imo=None, mmsi="423000001")
    est = new_id()
    jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", "2026-12-04T10:00:00+04:00"))
    assert jit.gateway.events[-1][1][0]["call_id"] == "C2"
    [third] = jit.publish(("C2", datetime(2026, 12, 4, 7, tzinfo=UTC), "Asia/Baku"))
    assert third["portCallServiceID"] == sid and third["replyToTimestampID"] == est
    assert len(jit.get("timestamps", "Timestamps", portCallServiceID=str(ids.port_call_service_id))) == 2


def test_without_a_reference_the_call_nearest_in_time_is_bound(jit: Jit) -> None:
    later = CallRef("LP1", "C9", "KZAAU", "Asia/Aqtau", vessel_imo="9321483")
    jit.gateway.calls.append(later)
    jit.gateway.times["C9"] = datetime(2026, 12, 10, 6, tzinfo=UTC)
    _, _, sid = carrier_berth(jit, reference="CARRIER-REF-77")
    est = new_id()
    jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", "2026-12-10T12:00:00+05:00"))
    assert jit.gateway.events[-1][1][0]["call_id"] == "C9"
    assert jit.gateway.queries[-1]["near"] == datetime(2026, 12, 10, 7, tzinfo=UTC)


def test_an_unbound_service_stores_its_timestamps_without_events(jit: Jit) -> None:
    _, _, sid = carrier_berth(jit, reference="nobody", locode="KZKUR")
    est = new_id()
    jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", "2026-12-03T11:00:00+05:00"))
    assert jit.gateway.events == []
    assert len(jit.get("timestamps", "Timestamps", portCallServiceID=sid)) == 1


def test_omit_cancel_and_vessel_status(jit: Jit) -> None:
    pid, tid, sid = carrier_berth(jit)
    jit.post(f"terminal-calls/{tid}/omit", {"reason": "vessel skips Aktau"})
    assert jit.gateway.events[-1] == ("LP1", [{"event_id": f"jit-omit-{tid}-C1", "type": "call_cancelled",
                                               "call_id": "C1", "source": "DCSA JIT omit"}])
    EVENTS.validate_python(jit.gateway.events[-1][1])
    assert jit.get("terminal-calls", "TerminalCalls", terminalCallID=tid)[0]["omitted"] is True
    jit.post(f"port-calls/{pid}/omit", {})
    assert jit.get("port-calls", "PortCalls", portCallID=pid)[0]["omitted"] is True
    jit.post(f"port-call-services/{sid}/cancel", {"reason": "no berth needed"})
    assert jit.get("port-call-services", "PortCallServices", portCallServiceID=sid)[0]["cancelled"] is True
    assert jit.publish(("C1", datetime(2026, 12, 3, 8, tzinfo=UTC), "Asia/Aqtau")) == []
    unknown = new_id()
    error_body(jit.client.post(f"/v2/port-calls/{unknown}/omit", json={}), 404, "POST",
               f"/v2/port-calls/{unknown}/omit")
    error_body(jit.client.post(f"/v2/port-call-services/{unknown}/cancel", json={}), 404, "POST",
               f"/v2/port-call-services/{unknown}/cancel")

    status = {"portCallServiceID": sid, "draft": 6.5, "dimensionUnit": "MTR", "milesToDestinationPort": 42.0,
              "vesselPosition": {"geoCoordinate": {"latitude": "43.6", "longitude": "51.2"}}}
    jit.put(f"vessel-statuses/{sid}", status)
    assert jit.get("vessel-statuses", "VesselStatuses", portCallServiceID=sid) == [status]
    r = jit.client.put(f"/v2/vessel-statuses/{unknown}", json={**status, "portCallServiceID": unknown})
    error_body(r, 404, "PUT", f"/v2/vessel-statuses/{unknown}")


def test_fyi_copies_and_proxy_headers(jit: Jit) -> None:
    _, _, sid = carrier_berth(jit)
    est = new_id()
    r = jit.put(f"timestamps/{est}", {**timestamp(est, sid, "EST", T11), "isFYI": True},
                **{"Request-Sending-Party": "Carrier-123", "Request-Receiving-Party": "Terminal-456"})
    assert r.headers["Response-Sending-Party"] == "Terminal-456"
    assert r.headers["Response-Receiving-Party"] == "Carrier-123"
    assert jit.gateway.events == []  # an FYI copy is meant for another party
    [stored] = jit.get("timestamps", "Timestamps", timestampID=est)
    assert "isFYI" not in stored  # writeOnly


def test_the_default_app_knows_no_calls(client: TestClient) -> None:
    pid, tid, sid = new_id(), new_id(), new_id()
    assert client.put(f"/v2/port-calls/{pid}", json=port_call(pid)).status_code == 204
    assert client.put(f"/v2/terminal-calls/{tid}", json=terminal_call(tid, pid, "C1")).status_code == 204
    assert client.put(f"/v2/port-call-services/{sid}", json=berth_service(sid, tid)).status_code == 204
    est = new_id()
    r = client.put(f"/v2/timestamps/{est}", json=timestamp(est, sid, "EST", "2026-12-03T11:00:00+05:00"))
    assert r.status_code == 204 and r.headers["API-Version"] == "2.0.0"
    other = new_id()
    r = client.put(f"/v2/timestamps/{other}", json=timestamp(other, new_id(), "EST", T11))
    assert r.status_code == 400


def test_api_keys_guard_v2_as_v1(app_factory: Any) -> None:
    c = app_factory(api_keys=["key-a"])
    r = c.get(f"/v2/timestamps?portCallServiceID={uuid.uuid4()}")
    error_body(r, 401, "GET", "/v2/timestamps")
    r = c.get(f"/v2/timestamps?portCallServiceID={uuid.uuid4()}", headers={"X-API-Key": "key-a"})
    assert r.status_code == 200 and r.json() == []


def test_local_time_is_the_ports_offset_and_the_plans_exact_time() -> None:
    moment = datetime(2026, 12, 3, 7, 30, 15, 999, tzinfo=UTC)
    assert local_time(moment, "Asia/Aqtau").isoformat() == "2026-12-03T12:30:15.000999+05:00"
    assert local_time(moment, "Asia/Baku").isoformat() == "2026-12-03T11:30:15.000999+04:00"
    assert local_time(moment, "Asia/Baku") == moment  # not rounded after the plan was checked


def test_a_declined_service_gets_no_more_reqs(jit: Jit) -> None:
    _, _, sid = carrier_berth(jit)
    sent: list[tuple[str, dict[str, Any]]] = []
    body = decline_service(jit.app.state.db, sid, "berth closed for dredging",
                           push=lambda i, b: sent.append((i, dump(b))))
    assert sent == [(sid, {"reason": "berth closed for dredging"})]
    assert_valid(dump(body), "Decline", sent=True)
    assert jit.get("port-call-services", "PortCallServices", portCallServiceID=sid)[0]["declined"] is True
    assert jit.publish(("C1", datetime(2026, 12, 3, 8, tzinfo=UTC), "Asia/Aqtau")) == []


def test_the_openapi_document_names_the_v2_operations_and_their_error_body(jit: Jit) -> None:
    doc = jit.client.get("/openapi.json").json()
    ops = {op["operationId"]: (path, method) for path, item in doc["paths"].items()
           for method, op in item.items() if path.startswith("/v2/")}
    assert set(ops) == {"putPortCall", "omitPortCall", "getPortCalls", "putTerminalCall", "omitTerminalCall",
                        "getTerminalCalls", "putPortCallService", "cancelPortCallService",
                        "getPortCallServices", "putTimestamp", "getTimestamps", "putVesselStatus",
                        "getVesselStatuses"}
    put = doc["paths"]["/v2/timestamps/{timestampID}"]["put"]
    assert put["tags"] == ["DCSA JIT 2.0"] and "422" not in put["responses"]
    assert put["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "application/problem+json" in doc["paths"]["/v1/check"]["post"]["responses"]["422"]["content"]


def test_a_call_that_cannot_be_derived_gets_no_req(jit: Jit) -> None:
    jit.gateway.calls.append(CallRef("LP1", "C5", "not-a-locode", "Asia/Aqtau", vessel_imo="9321483"))
    assert jit.publish(("C5", datetime(2026, 12, 3, 8, tzinfo=UTC), "Asia/Aqtau")) == []


@dataclass
class WritingGateway(FakeGateway):
    """A gateway that writes through its own connection, as the live plans do, with no busy wait: on
    SQLite it fails at once if a JIT transaction still holds the write lock."""

    db_path: str = ""

    def _write(self) -> None:
        conn = sqlite3.connect(self.db_path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the write lock, or "database is locked" now
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    def find_call(self, **kw: Any) -> CallRef | None:
        self._write()
        return super().find_call(**kw)

    def post_events(self, live_plan_id: str, events: list[dict[str, Any]]) -> None:
        self._write()
        super().post_events(live_plan_id, events)


def test_no_jit_transaction_is_open_while_the_gateway_writes(tmp_path: Path) -> None:
    """Every carrier message that reaches the gateway (binding, EST / ACT, omit) leaves it free to
    write: the JIT store's transactions have ended before it is called."""
    app = create_app(make_settings(tmp_path))
    gateway = WritingGateway(calls=[AKTAU], times={"C1": datetime(2026, 12, 3, 6, tzinfo=UTC)},
                             db_path=str(tmp_path / "portsync.db"))
    include_jit(app, app.state.db, lambda: gateway)
    try:
        jit = Jit(TestClient(app, raise_server_exceptions=True), gateway, app)
        pid, _, sid = carrier_berth(jit, reference=None)  # bound by port and IMO
        est, act = new_id(), new_id()
        jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", T11))
        jit.put(f"timestamps/{act}", timestamp(act, sid, "ACT", "2026-12-03T11:30:00+05:00"))
        jit.post(f"port-calls/{pid}/omit", {})
        assert [e["type"] for _, batch in gateway.events for e in batch] == \
            ["eta", "actual_arrival", "call_cancelled"]
        assert len(gateway.queries) >= 2
    finally:
        app.state.runner.stop()
        app.state.db.dispose()


def test_a_refused_omit_marks_nothing(jit: Jit) -> None:
    pid, tid, _ = carrier_berth(jit)
    jit.gateway.refuse = EventsRefused("C1 has arrived: it cannot be cancelled", "0.call_id")
    path = f"/v2/port-calls/{pid}/omit"
    error_body(jit.client.post(path, json={}), 400, "POST", path)
    assert "omitted" not in jit.get("port-calls", "PortCalls", portCallID=pid)[0]
    assert "omitted" not in jit.get("terminal-calls", "TerminalCalls", terminalCallID=tid)[0]


def test_a_timestamp_whose_store_was_lost_posts_the_same_event_when_re_sent(
        jit: Jit, monkeypatch: pytest.MonkeyPatch) -> None:
    """The events go to the live plan before the timestamp is stored; if the store never happens (a
    crash in between), the carrier's re-send posts the same event id (the live plan takes it once)
    and stores the timestamp."""
    _, _, sid = carrier_berth(jit)
    est = new_id()
    store = jit.app.state.jit_store
    real = store._write_timestamp
    monkeypatch.setattr(store, "_write_timestamp", lambda *a: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        jit.client.put(f"/v2/timestamps/{est}", json=timestamp(est, sid, "EST", T11))
    assert jit.get("timestamps", "Timestamps", portCallServiceID=sid) == []
    monkeypatch.setattr(store, "_write_timestamp", real)
    jit.put(f"timestamps/{est}", timestamp(est, sid, "EST", T11))
    assert [b[0]["event_id"] for _, b in jit.gateway.events] == [f"jit-{est}", f"jit-{est}"]
    assert [t["timestampID"] for t in jit.get("timestamps", "Timestamps", portCallServiceID=sid)] == [est]
