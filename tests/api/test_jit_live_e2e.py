"""The whole DCSA JIT chain with the real live-plan gateway, through a real server, on SQLite and on
PostgreSQL: a live plan of vessels with IMO numbers; the carrier PUTs its port call, terminal call
(`terminalCallReference` = the call id) and BERTH / ARRI service, then an EST: every answer 204, the
EST an `eta` event of the live plan and the next version's ETA; portsync's REQ replies to the EST,
valid against the standard, in the port's offset; the carrier's PLN echoes it (stored), its ACT
becomes an `actual_arrival` and the next version's fact. An EST for an unknown service is the
standard's 400. No answer is a 5xx (the EST was a 500 "database is locked" on SQLite while the JIT
store held its transaction open across the live plan's write)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import ON_FLEET, fleet_backend
from tests.api.jit_support import (
    assert_valid,
    berth_service,
    new_id,
    port_call,
    terminal_call,
    timestamp,
)
from tests.api.live_server import LiveServer
from tests.api.test_e2e import server_env
from tests.builders import corridor_dict

pytestmark = pytest.mark.slow

IMO_V2 = "9321483"  # V2 calls at Aktau (V2-A), the first and only call of its voyage
CALL = "V2-A"
AKTAU = timedelta(hours=5)  # Asia/Aqtau, no DST


def corridor_with_imos() -> dict[str, Any]:
    """The live-plan tests' corridor (Aktau and Baku), its vessels named by IMO / MMSI."""
    p = corridor_dict()
    ids = {"V1": {"imo": "9074729"}, "V2": {"imo": IMO_V2}, "V3": {"mmsi": "423000001"}}
    for v in p["vessels"]:
        v.update(ids[v["id"]])
    return p


class Carrier:
    """A carrier's JIT client and a live-plan reader on one server; every answer is kept."""

    def __init__(self, server: LiveServer):
        self.base = server.url
        self.answers: list[tuple[str, str, int]] = []

    def _do(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = httpx.request(method, self.base + path, timeout=90, **kw)
        self.answers.append((method, path, r.status_code))
        return r

    def put(self, path: str, body: dict[str, Any], schema: str, status: int = 204) -> httpx.Response:
        assert_valid(body, schema, sent=True)  # the carrier's body is the standard's
        r = self._do("PUT", f"/v2/{path}", json=body)
        assert r.status_code == status, (path, r.status_code, r.text)
        assert r.headers["API-Version"] == "2.0.0"
        return r

    def get(self, path: str, **params: Any) -> Any:
        r = self._do("GET", path, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    def until(self, what: str, read: Callable[[], Any], ok: Callable[[Any], bool],
              timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            got = read()
            if ok(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not seen in {timeout} s; last: {got}")
            time.sleep(0.2)


def aktau(t: datetime) -> str:
    """`t` in Aktau's local time with its offset, as a carrier writes it."""
    return (t + AKTAU).strftime("%Y-%m-%dT%H:%M:%S+05:00")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.mark.parametrize("database", ["fleet"] if ON_FLEET else [
    "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_carriers_e_r_p_a_through_the_live_plan(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """On the fleet (PORTSYNC_TEST_BACKEND=fleet) the server runs the API only; two workers make the
    versions and store their REQs."""
    with contextlib.ExitStack() as stack:
        fleet = stack.enter_context(fleet_backend(tmp_path, "jit-e2e", live_batch_window_s=0.2)) \
            if database == "fleet" else None
        pg = request.getfixturevalue("pg_schema") if database == "postgres" else None
        base = server_env(tmp_path, "sqlite" if database == "fleet" else database, pg)
        env = {**(fleet.server_env(base) if fleet is not None else base), "PORTSYNC_WORKERS": "1",
               "PORTSYNC_SOLVER_THREADS": "1", "PORTSYNC_LIVE_BATCH_WINDOW_S": "0.2"}
        server = LiveServer(env, tmp_path / "server.log")
        server.start()
        stack.callback(server.stop)
        carrier_session(server)
    text = (tmp_path / "server.log").read_text(errors="replace")
    assert "database is locked" not in text and "Traceback" not in text, text[-3000:]


def carrier_session(server: LiveServer) -> None:
    c = Carrier(server)
    r = c._do("POST", "/v1/live-plans?time_limit_s=3&replan_time_limit_s=2", json=corridor_with_imos())
    assert r.status_code == 201, r.text
    live = r.headers["location"]

    def plan() -> Any:
        return c.get(live)

    def settled(n: int) -> Callable[[Any], bool]:
        return lambda b: b["status"] == "live" and b["version"] >= n and b["pending_events"] == 0

    v1 = c.until("version 1", plan, settled(1))
    planned_v1 = utc(next(x for x in v1["plan"]["calls"] if x["call_id"] == CALL)["arrival"])

    # the carrier's records: port call, terminal call naming the call, BERTH / ARRI service
    pid, tid, sid = new_id(), new_id(), new_id()
    c.put(f"port-calls/{pid}", port_call(pid, "KZAAU", IMO_V2), "PortCall")
    c.put(f"terminal-calls/{tid}", terminal_call(tid, pid, reference=CALL), "TerminalCall")
    c.put(f"port-call-services/{sid}", berth_service(sid, tid, "ARRI", "KZAAU"), "PortCallService")

    # EST: 4 h later than planned, in Aktau's local time as a carrier sends it
    eta = planned_v1 + timedelta(hours=4)
    est = new_id()
    c.put(f"timestamps/{est}", timestamp(est, sid, "EST", aktau(eta)), "Timestamp")
    v2 = c.until("the EST's version", plan, settled(2))
    log = c.get(f"{live}/events")
    (est_event,) = [e for e in log if e["event_id"] == f"jit-{est}"]
    assert est_event["type"] == "eta" and est_event["event"]["call_id"] == CALL
    assert utc(est_event["event"]["eta"]) == eta
    applied = est_event["version"]
    assert applied is not None and applied >= 2
    version = c.get(f"{live}/versions/{applied}")
    assert f"jit-{est}" in version["event_ids"]
    (voyage,) = [v for v in version["problem"]["voyages"] if v["call_ids"][0] == CALL]
    assert utc(voyage["eta"]) == eta  # the version carries the carrier's ETA
    arrival = utc(next(x for x in version["plan"]["calls"] if x["call_id"] == CALL)["arrival"])
    assert arrival >= eta
    assert v2["version"] >= applied

    # portsync's REQ (RTA-Berth) replies to the EST, valid, in Aktau's offset
    def stamps() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = c.get("/v2/timestamps", portCallServiceID=sid)
        return got

    got = c.until("the REQ", stamps, lambda ts: any(t["classifierCode"] == "REQ" for t in ts))
    assert_valid(got, "Timestamps")
    req = next(t for t in got if t["classifierCode"] == "REQ")
    assert req["replyToTimestampID"] == est and req["portCallServiceID"] == sid
    assert req["dateTime"].endswith("+05:00") and utc(req["dateTime"]) == arrival
    assert [t["timestampID"] for t in got[:2]] == [est, req["timestampID"]]

    # PLN: the carrier agrees, echoing the REQ's dateTime; stored, readable
    pln = new_id()
    c.put(f"timestamps/{pln}", timestamp(pln, sid, "PLN", req["dateTime"], reply_to=req["timestampID"]),
          "Timestamp")
    (stored,) = c.get("/v2/timestamps", timestampID=pln)
    assert stored["classifierCode"] == "PLN" and stored["dateTime"] == req["dateTime"]
    assert_valid(stored, "Timestamp")

    # ACT: the vessel arrived, 20 min after the agreed time; a fact of the next version
    ata = arrival + timedelta(minutes=20)
    act = new_id()
    before = plan()["version"]
    c.put(f"timestamps/{act}", timestamp(act, sid, "ACT", aktau(ata)), "Timestamp")
    c.until("the ACT's version", plan, settled(before + 1))
    (act_event,) = [e for e in c.get(f"{live}/events") if e["event_id"] == f"jit-{act}"]
    assert act_event["type"] == "actual_arrival" and utc(act_event["event"]["time"]) == ata
    assert act_event["version"] is not None
    after = c.get(f"{live}/versions/{act_event['version']}")
    assert utc(after["now"]) >= ata  # an actual ahead of the clock moves it
    (voyage,) = [v for v in after["problem"]["voyages"] if v["call_ids"][0] == CALL]
    assert utc(voyage["eta"]) == ata
    assert utc(next(x for x in after["plan"]["calls"] if x["call_id"] == CALL)["arrival"]) == ata
    order = [t["classifierCode"] for t in stamps()]
    assert order[:4] == ["EST", "REQ", "PLN", "ACT"], order

    # an EST for a service portsync does not know: the standard's 400
    ghost, unknown = new_id(), new_id()
    r = c._do("PUT", f"/v2/timestamps/{ghost}", json=timestamp(ghost, unknown, "EST", aktau(eta)))
    assert r.status_code == 400, r.text
    assert_valid(r.json(), "ErrorResponse")
    assert r.json()["errors"][0]["property"] == "portCallServiceID"

    assert not [a for a in c.answers if a[2] >= 500], c.answers
