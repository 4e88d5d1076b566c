"""A live plan end to end against a real server (SQLite and PostgreSQL): the Caspian week created,
40-odd events of every type posted as a port's systems would (duplicates and bad ones among
them), the server SIGKILLed while it replans and started again; then every version is clean
under the independent checker, every accepted event applied exactly once, the webhook receiver
got every version with valid signatures, the stream and the JIT timestamps follow, and the
event log replayed from version 1 gives the same versions."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.jit.mapping import derived_ids
from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.live.events import EVENTS
from optimizer.live.live_plan import replay
from optimizer.live.replan import ReplanSettings, Version
from optimizer.live.state import LiveState
from optimizer.plan import Plan
from tests.api.conftest import ON_FLEET, Backend, fleet_backend, long_problem
from tests.api.jit_support import assert_valid
from tests.api.live_server import LiveServer
from tests.api.test_e2e import server_env
from tools.soak import Receiver

pytestmark = pytest.mark.slow

SECRET = "live-e2e-secret-0123456789"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET)
    yield r
    r.server.shutdown()


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def actuals_until(
    version: dict[str, Any], reported: dict[str, set[str]], until: datetime
) -> list[dict[str, Any]]:
    """The ATA / ATB / ATD a port reports when the vessels follow the plan, up to `until`."""
    out: list[tuple[datetime, int, dict[str, Any]]] = []
    for c in version["plan"]["calls"]:
        cid = c["call_id"]
        done = reported.setdefault(cid, set())
        for kind, field, order in (  # listed by time, and at one minute the berthing first: a port's
            ("actual_arrival", "arrival", 0),  # systems do not care which vessel freed the berth
            ("actual_berthing", "berth_start", 1),
            ("actual_departure", "berth_end", 2),
        ):
            t = datetime.fromisoformat(c[field])
            if kind in done or t > until:
                continue
            e: dict[str, Any] = {
                "event_id": f"{kind}-{cid}",
                "type": kind,
                "call_id": cid,
                "time": iso(t),
                "source": "terminal",
            }
            if kind == "actual_berthing":
                e["berth_id"] = c["berth_id"]
            out.append((t, order, e))
    out.sort(key=lambda x: (x[0], x[1]))
    for _, _, e in out:
        reported[e["call_id"]].add(e["type"])
    return [e for _, _, e in out]


@contextlib.contextmanager
def hold_writes(env: dict[str, str]) -> Iterator[None]:
    """Hold the live plans' versions table against writes (readers go on): a replan under way can
    compute its version but not store it."""
    url = env["PORTSYNC_DATABASE_URL"]
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as pg:
        pg.execute(f'SET search_path TO "{env["PORTSYNC_DATABASE_SCHEMA"]}"')
        pg.execute("LOCK TABLE live_versions IN SHARE MODE")
        yield
        pg.rollback()


def live_version_rows(env: dict[str, str]) -> int:
    from api.db import Database

    db = Database(env["PORTSYNC_DATABASE_URL"], env.get("PORTSYNC_DATABASE_SCHEMA"))
    try:
        with db.session() as s:
            return int(s.execute(text("SELECT count(*) FROM live_versions")).scalar_one())
    finally:
        db.dispose()


class Client:
    def __init__(self, server: LiveServer, path: str):
        self.server, self.path = server, path

    @property
    def url(self) -> str:
        return self.server.url + self.path

    def get(self, rel: str = "") -> Any:
        r = httpx.get(self.url + rel, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, events: Any) -> httpx.Response:
        return httpx.post(self.url + "/events", json=events, timeout=30)

    def settle(self, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body: dict[str, Any] = self.get()
            assert body["status"] != "failed", body
            if body["version"] >= 1 and body["pending_events"] == 0:
                return body
            time.sleep(0.2)
        raise AssertionError(f"the live plan did not settle: {self.get()}")


class Replanners:
    """What makes the versions: the server's own replanner (embedded), or the fleet's workers
    behind a server that runs the API only. `crash` SIGKILLs it mid-replan, `restart` brings it
    back: the server, or new workers in place of the killed ones."""

    def __init__(self, server: LiveServer, backend: Backend | None, settings: dict[str, Any]):
        self.server, self.backend, self.settings = server, backend, settings
        self.restarts = 0

    def crash(self) -> None:
        if self.backend is None or self.backend.fleet is None:
            self.server.kill()
            return
        for w in self.backend.fleet.workers:
            if w.proc.poll() is None:
                w.signal(signal.SIGKILL)
                w.proc.wait(timeout=10)

    def restart(self) -> None:
        if self.backend is None or self.backend.fleet is None:
            self.server.start()
            return
        self.restarts += 1
        fleet = self.backend.fleet
        started = [fleet.start_worker(f"w{i}r{self.restarts}@live-e2e", poll_interval_s=0.1, **self.settings)
                   for i in range(2)]
        for w in started:
            w.wait_ready()


@pytest.mark.parametrize("database", ["fleet"] if ON_FLEET else ["sqlite", "postgres"])
def test_live_plan_end_to_end_with_a_sigkill_mid_replan(
    database: str, tmp_path: Path, receiver: Receiver, request: pytest.FixtureRequest
) -> None:
    """Embedded, the server is SIGKILLed mid-replan; on the fleet (PORTSYNC_TEST_BACKEND=fleet),
    the workers are, the server only serves the API."""
    with contextlib.ExitStack() as stack:
        worker_settings = {"live_batch_window_s": 1.0, "solver_threads": 2}
        fleet = (stack.enter_context(fleet_backend(tmp_path, "live-e2e", **worker_settings))
                 if database == "fleet" else None)
        pg = request.getfixturevalue("pg_schema") if database == "postgres" else None
        base = server_env(tmp_path, "sqlite" if database == "fleet" else database, pg)
        env = {
            **(fleet.server_env(base) if fleet is not None else base),
            "PORTSYNC_LIVE_BATCH_WINDOW_S": "1.0",
            "PORTSYNC_WEBHOOK_RETRY_BASE_S": "0.2",
            "PORTSYNC_SOLVER_THREADS": "2",
        }
        server = LiveServer(env, tmp_path / "server.log")
        server.start()
        stack.callback(server.stop)
        run_live_plan(server, env, Replanners(server, fleet, worker_settings), receiver)


def run_live_plan(server: LiveServer, env: dict[str, str], replanners: Replanners,
                  receiver: Receiver) -> None:
    """The port's and the carrier's session, the replanners crashed mid-replan at the second batch."""
    problem = long_problem()
    r = httpx.post(
        f"{server.url}/v1/live-plans?time_limit_s=5&replan_time_limit_s=2", json=problem, timeout=30
    )
    assert r.status_code == 201, r.text
    live = Client(server, r.headers["location"])
    plan_id = r.json()["id"]
    assert (
        httpx.post(
            f"{server.url}/v1/webhooks",
            json={"url": receiver.url, "live_plan_id": plan_id, "secret": SECRET},
            timeout=30,
        ).status_code
        == 201
    )
    live.settle()
    t0 = datetime.fromisoformat(problem["horizon_start"].replace("Z", "+00:00"))
    voyages = sorted(problem["voyages"], key=lambda v: v["eta"])
    grain = next(c["id"] for c in problem["calls"] if c["cargo"] == "grain")
    kuryk_berth = next(b["id"] for p in problem["ports"] if p["id"] == "KZKUR" for b in p["berths"])
    accepted: list[str] = []

    def send(events: Any, status: int = 202) -> dict[str, Any]:
        resp = live.post(events)
        assert resp.status_code == status, resp.text
        body: dict[str, Any] = resp.json()
        if status == 202:
            accepted.extend(body["accepted"])
        return body

    # ETAs, a late train, a storm announced 12 h ahead, maintenance; one duplicate in the list
    eta = {
        "event_id": "eta-a",
        "type": "eta",
        "call_id": voyages[10]["call_ids"][0],
        "eta": iso(
            datetime.fromisoformat(voyages[10]["eta"].replace("Z", "+00:00")) + timedelta(hours=4)
        ),
    }
    got = send(
        [
            eta,
            eta,
            {
                "event_id": "eta-b",
                "type": "eta",
                "call_id": voyages[20]["call_ids"][0],
                "eta": iso(
                    datetime.fromisoformat(voyages[20]["eta"].replace("Z", "+00:00")) + timedelta(hours=2)
                ),
                "confidence": 0.8,
                "source": "AIS",
            },
            {
                "event_id": "train-1",
                "type": "cargo_ready",
                "call_id": grain,
                "time": iso(t0 + timedelta(hours=30)),
            },
            {
                "event_id": "storm-1",
                "type": "closure",
                "port_id": "KZKUR",
                "start": iso(t0 + timedelta(hours=12)),
                "end": iso(t0 + timedelta(hours=20)),
                "reason": "storm",
            },
            {
                "event_id": "mnt-1",
                "type": "maintenance",
                "berth_id": kuryk_berth,
                "start": iso(t0 + timedelta(hours=40)),
                "end": iso(t0 + timedelta(hours=46)),
            },
        ]
    )
    assert got["version"] == 2 and got["accepted"] == ["eta-a", "eta-b", "train-1", "storm-1", "mnt-1"]
    # bad ones: refused with their field, nothing stored
    bad = live.post([{"event_id": "x1", "type": "eta", "call_id": "NO-SUCH-CALL", "eta": iso(t0)}])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "0.call_id"
    assert live.post({**eta, "eta": iso(t0 + timedelta(hours=9))}).status_code == 409
    assert (
        live.post({"event_id": "x2", "type": "closure_lifted", "closure_event_id": "nope"}).status_code
        == 422
    )
    current = live.settle()
    reported: dict[str, set[str]] = {}
    now = t0
    for step in range(1, 4):  # the clock moves on; the port reports what happened
        now = t0 + timedelta(hours=8 * step)
        version = live.get(f"/versions/{current['version']}")
        batch = [
            *actuals_until(version, reported, now),
            {"event_id": f"clock-{step}", "type": "clock", "now": iso(now)},
        ]
        if step == 2:  # a basin-wide squall: every port's next hours move
            batch.append(
                {
                    "event_id": "squall-1",
                    "type": "closure",
                    "start": iso(now + timedelta(hours=3)),
                    "end": iso(now + timedelta(hours=9)),
                    "reason": "squall",
                }
            )
        send(batch)
        if step == 2:  # SIGKILL while the server replans this batch, then start it again
            with hold_writes(env):  # the replan can run but not store its version
                deadline = time.monotonic() + 10
                while not (mid := live.get())["replanning"] and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert mid["replanning"] and mid["version"] == current["version"], mid
                time.sleep(0.5)
                replanners.crash()
            assert live_version_rows(env) == current["version"]  # the killed replan stored nothing
            replanners.restart()
        current = live.settle()
    at_berth = [cid for cid, kinds in reported.items() if kinds == {"actual_arrival", "actual_berthing"}]
    future = [
        c["call_id"]
        for c in live.get(f"/versions/{current['version']}")["plan"]["calls"]
        if datetime.fromisoformat(c["berth_start"]) > now + timedelta(hours=6) and c["call_id"] != grain
    ]
    back = next(v for v in reversed(voyages) if len(v["call_ids"]) >= 2)  # a vessel that calls again
    again = next(c for c in problem["calls"] if c["id"] == back["call_ids"][-2])
    extra = [
        {"event_id": "lift-1", "type": "closure_lifted", "closure_event_id": "storm-1"},
        {"event_id": "cancel-1", "type": "call_cancelled", "call_id": future[0]},
        {
            "event_id": "add-1",
            "type": "call_added",
            "after_call_id": back["call_ids"][-1],
            "call": {**again, "id": f"{again['id']}-AGAIN"},
        },
    ]
    if at_berth:
        extra.append(
            {
                "event_id": "slow-1",
                "type": "handling_update",
                "call_id": at_berth[0],
                "remaining_hours": 5,
            }
        )
    send(extra)
    if at_berth:  # ATD before its ATB
        atb = next(
            datetime.fromisoformat(c["berth_start"])
            for c in current["plan"]["calls"]
            if c["call_id"] == at_berth[0]
        )
        bad = live.post(
            {
                "event_id": "x3",
                "type": "actual_departure",
                "call_id": at_berth[0],
                "time": iso(atb - timedelta(hours=1)),
            }
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "time", bad.text
    current = live.settle()
    after_cancel = live.get(f"/versions/{current['version']}")
    assert "cancel-1" in after_cancel["event_ids"] and after_cancel["cancelled"] == [future[0]], (
        after_cancel["event_ids"]
    )
    assert future[0] not in {c["call_id"] for c in after_cancel["plan"]["calls"]}
    now += timedelta(hours=8)
    send(
        [
            *actuals_until(live.get(f"/versions/{current['version']}"), reported, now),
            {"event_id": "clock-4", "type": "clock", "now": iso(now)},
        ]
    )
    final = live.settle()

    # every version stored, clean, each accepted event applied exactly once
    log = live.get("/events")
    assert sorted(e["event_id"] for e in log) == sorted(accepted) and len(accepted) >= 30
    assert all(e["version"] is not None for e in log)
    applied: list[str] = []
    versions = []
    for n in range(1, final["version"] + 1):
        v = live.get(f"/versions/{n}")
        report = check(Problem.model_validate(v["problem"]), Plan.model_validate(v["plan"]))
        assert report.ok, (n, report.violations[:3])
        applied.extend(v["event_ids"])
        versions.append(v)
        if n > 1:
            diff = live.get(f"/versions/{n}/diff")
            assert diff["event_ids"] == v["event_ids"] and diff["stability"] is not None
    assert sorted(applied) == sorted(accepted)
    assert {e["type"] for e in log} >= {
        "eta",
        "cargo_ready",
        "closure",
        "maintenance",
        "clock",
        "actual_arrival",
        "actual_berthing",
        "actual_departure",
        "closure_lifted",
        "call_cancelled",
        "call_added",
    }
    # the webhook receiver hears of every version, signed
    deadline = time.monotonic() + 30
    while receiver.versions() != set(range(2, final["version"] + 1)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert receiver.versions() == set(range(2, final["version"] + 1))
    assert all(ok for _, _, ok in receiver.got)
    # the stream
    with httpx.stream("GET", f"{live.url}/stream?after={final['version'] - 1}", timeout=30) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                assert json.loads(line[5:])["version"] == final["version"]
                break
    # DCSA JIT: REQ timestamps for a call whose RTA moved, valid against the standard
    service = str(derived_ids(plan_id, eta["call_id"]).port_call_service_id)
    stamps = httpx.get(f"{server.url}/v2/timestamps", params={"portCallServiceID": service}, timeout=30)
    assert stamps.status_code == 200 and stamps.headers["API-Version"] == "2.0.0"
    reqs = stamps.json()
    assert len(reqs) >= 2 and all(t["classifierCode"] == "REQ" for t in reqs)  # version 1, then the ETA
    assert reqs[1]["replyToTimestampID"] == reqs[0]["timestampID"]
    for t in reqs:
        assert_valid(t, "Timestamp")
    # the audit: the event log replayed from version 1 gives the same versions
    settings = ReplanSettings.model_validate(final["settings"])
    first = Version.model_validate(versions[0])
    state = LiveState.start(Problem.model_validate(problem), None, final["frozen_window_minutes"])
    batches = [
        EVENTS.validate_python([e["event"] for e in log if e["version"] == n])
        for n in range(2, final["version"] + 1)
    ]
    again = replay(first, state, batches, settings)
    assert [v.plan.calls for v in again] == [Plan.model_validate(v["plan"]).calls for v in versions]
