"""Soak the live plans as ports and carriers use them: `.venv/bin/python -m tools.soak [--seconds 180]
[--store sqlite|postgres] [--plans 3] [--clients 4] [--json]`.

Starts its own server (uvicorn on loopback, a fresh SQLite file or a fresh PostgreSQL schema),
subscribes a signed webhook receiver to every live plan, and for `--seconds` lets each live plan's
ports report as they really do (optimizer.live.simulate.ReportingWorld: actuals that follow the
plan in force, shuffled, some a round late, some resent, berthings at other berths, ETAs, storms
and their lifts, maintenance, late trains, handling updates, calls added and cancelled), each
round split over `--clients` concurrent clients, with duplicates posted by another client; a
DCSA JIT carrier per plan sends its EST timestamps through /v2 at the same time. Then it waits
for every event to be planned and checks: no answer 5xx, no batch refused, every accepted event
in the log once and applied by exactly one version, every version clean under the independent
checker, every version delivered to the webhook receiver with a valid signature. It prints the
figures: events, versions, answers by class, event -> version p50 / p95 as a client sees it,
replan p50 / p95. Every request loop is bounded in count and time; nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from api.live.webhooks import verify_signature
from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.generator import generate
from optimizer.live.events import EVENT, Event
from optimizer.live.replan import Version
from optimizer.live.simulate import ReportingWorld
from optimizer.live.state import LiveState, apply_events
from tools.loadcheck import running_server

SECRET = "soak-secret-0123456789abcdef"


class Receiver:
    """A webhook receiver on a free loopback port: every delivery (headers, body, whether its
    signature verified with `secret`)."""

    def __init__(self, secret: str) -> None:
        self.got: list[tuple[dict[str, str], dict[str, Any], bool]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                with outer.lock:
                    outer.got.append((headers, json.loads(body), verify_signature(secret, headers, body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def versions(self, plan_id: str | None = None) -> set[int]:
        """The versions delivered as version.created (of one live plan, or of any), once each."""
        with self.lock:
            unique = {h["X-Portsync-Delivery"]: b for h, b, _ in self.got}
        return {b["data"]["version"] for b in unique.values() if b["kind"] == "version.created"
                and plan_id in (None, b["live_plan_id"])}


@dataclass
class PlanOutcome:
    """One live plan after the soak: what was sent, what the server made of it."""

    plan_id: str
    problem: dict[str, Any]
    rounds: int = 0
    posted: int = 0
    accepted: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)
    jit_messages: int = 0
    jit_req: int = 0
    latencies_s: list[float] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)


@dataclass
class SoakReport:
    store: str
    seconds: float
    plans: int
    clients: int
    answers: dict[str, int]
    outcomes: list[PlanOutcome]
    errors: list[str] = field(default_factory=list)

    def faults(self) -> list[str]:
        # the soak sends only well-formed messages: any 4xx is a refusal of one
        out = [f"{n} answers {k}" for k, n in self.answers.items() if k in ("4xx", "5xx", "dropped") and n]
        for o in self.outcomes:
            out += [f"{o.plan_id}: {f}" for f in [*o.refused, *o.faults]]
        return out

    def figures(self) -> dict[str, Any]:
        lat = sorted(x for o in self.outcomes for x in o.latencies_s)
        replans = sorted(v.get("replan_s", 0.0) for o in self.outcomes for v in o.versions[1:])
        return {
            "store": self.store, "seconds": round(self.seconds, 1), "plans": self.plans,
            "clients": self.clients,
            "rounds": sum(o.rounds for o in self.outcomes),
            "events_posted": sum(o.posted for o in self.outcomes),
            "events_accepted": sum(o.accepted for o in self.outcomes),
            "duplicates_answered": sum(o.duplicates for o in self.outcomes),
            "versions": sum(len(o.versions) for o in self.outcomes),
            "reconciliations": dict(Counter(r["kind"] for o in self.outcomes for v in o.versions
                                            for r in v.get("reconciliations", []))),
            "jit_messages": sum(o.jit_messages for o in self.outcomes),
            "jit_req": sum(o.jit_req for o in self.outcomes),
            "answers": dict(self.answers),
            "event_to_version_p50_s": _pct(lat, 0.5), "event_to_version_p95_s": _pct(lat, 0.95),
            "replan_p50_s": _pct(replans, 0.5), "replan_p95_s": _pct(replans, 0.95),
            "faults": self.faults(),
            "errors_4xx_5xx": self.errors[:10],
        }


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3)


class Soak:
    def __init__(self, base: str, clients: int, seed: int, days: int = 7,
                 hours_per_round: tuple[float, float] = (0.25, 1.5)):
        self.base = base
        self.days, self.hours_per_round = days, hours_per_round
        self.answers: Counter[str] = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.pool = [httpx.Client(base_url=base, timeout=60) for _ in range(max(1, clients))]
        self.seed = seed

    def call(self, k: int, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request; a connection the server dropped is counted and tried once more."""
        for attempt in range(2):
            try:
                r = self.pool[k % len(self.pool)].request(method, path, **kw)
            except httpx.TransportError:
                with self.lock:
                    self.answers["dropped"] += 1
                if attempt:
                    raise
                continue
            with self.lock:
                self.answers[f"{r.status_code // 100}xx"] += 1
                if r.status_code >= 400 and len(self.errors) < 50:
                    self.errors.append(f"{method} {path.split('/')[1:3]} {r.status_code} {r.text[:200]}")
            return r
        raise AssertionError("unreachable")

    def create(self, i: int, calls: int, receiver: Receiver) -> PlanOutcome:
        problem = generate(calls, self.days, self.seed + i, links=True)
        body = problem.model_dump(mode="json", exclude_none=True)
        r = self.call(i, "POST", "/v1/live-plans", params={"time_limit_s": 3, "replan_time_limit_s": 1},
                      json=body)
        r.raise_for_status()
        plan_id = r.headers["location"].rsplit("/", 1)[-1]
        self.call(i, "POST", "/v1/webhooks", json={"url": receiver.url, "live_plan_id": plan_id,
                                                   "secret": SECRET}).raise_for_status()
        return PlanOutcome(plan_id=plan_id, problem=body)

    def current(self, plan_id: str, k: int = 0) -> dict[str, Any]:
        return self.call(k, "GET", f"/v1/live-plans/{plan_id}").json()  # type: ignore[no-any-return]

    def wait_planned(self, plan_id: str, timeout: float) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            cur = self.current(plan_id)
            if cur.get("version", 0) >= 1 and not cur.get("pending_events") and not cur.get("replanning"):
                return cur
            if time.monotonic() > end:
                raise TimeoutError(f"live plan {plan_id} still planning after {timeout:.0f} s")
            time.sleep(0.1)

    def feed(self, o: PlanOutcome, deadline: float, seed: int) -> None:
        """The ports of one live plan report round after round until the deadline."""
        rng = random.Random(seed)
        world = ReportingWorld(seed)
        state = LiveState.start(Problem.model_validate(o.problem))
        while time.monotonic() < deadline:
            cur = self.wait_planned(o.plan_id, 120)
            version = Version.model_validate(self._version(o.plan_id, cur["version"]))
            until = state.now + timedelta(hours=rng.uniform(*self.hours_per_round))
            batch = world.reports(state, version, until)
            chunks = _split(batch, len(self.pool), rng)
            if chunks and rng.random() < 0.3:
                chunks.append(rng.choice(chunks))  # the same list posted twice, by another client
            started = time.monotonic()
            with ThreadPoolExecutor(len(chunks) or 1) as ex:
                answers = list(ex.map(lambda kc: self._post(o, kc[0], kc[1]), enumerate(chunks)))
            o.rounds += 1
            o.posted += sum(len(c) for c in chunks)
            if any(a is None for a in answers):
                return  # a refusal is reported; the world can no longer follow the plan
            want = max(a for a in answers if a is not None)
            self._await_version(o, want, started)
            state = apply_events(state, batch).state
            world.accepted(batch)

    def _post(self, o: PlanOutcome, k: int, chunk: list[Event]) -> int | None:
        body = [EVENT.dump_python(e, mode="json", exclude_none=True) for e in chunk]
        r = self.call(k, "POST", f"/v1/live-plans/{o.plan_id}/events", json=body)
        if r.status_code != 202:
            with self.lock:
                o.refused.append(f"{r.status_code} {r.text[:300]}")
            return None
        data = r.json()
        with self.lock:
            o.accepted += len(data["accepted"])
            o.duplicates += len(data["duplicates"])
        return int(data["version"])

    def _await_version(self, o: PlanOutcome, number: int, started: float) -> None:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            if self.current(o.plan_id).get("version", 0) >= number:
                o.latencies_s.append(time.monotonic() - started)
                return
            time.sleep(0.05)
        o.faults.append(f"version {number} not made within 120 s")

    def _version(self, plan_id: str, n: int) -> dict[str, Any]:
        r = self.call(0, "GET", f"/v1/live-plans/{plan_id}/versions/{n}")
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def carrier(self, o: PlanOutcome, deadline: float, seed: int) -> None:
        """A DCSA JIT 2.0 carrier: for a few calls of the plan, the port call, the terminal call
        (naming the call), the BERTH/ARRI service, then its EST now and then; REQs read back."""
        rng = random.Random(seed)
        k = len(self.pool) - 1
        first = Version.model_validate(self._version(o.plan_id, 1))
        zones = {p.id: ZoneInfo(p.timezone) for p in first.problem.ports}
        calls = {c.id: c for c in first.problem.calls}
        vessels = first.problem.vessel_map()
        named = sorted(c for c in first.plan.by_call() if vessels[calls[c].vessel_id].imo
                       or vessels[calls[c].vessel_id].mmsi)
        picked = rng.sample(named, min(3, len(named)))
        services = {}
        for cid in picked:
            pid, tid, sid = (str(uuid.uuid4()) for _ in range(3))
            port = calls[cid].port_id
            v = vessels[calls[cid].vessel_id]
            ident = {"vesselIMONumber": v.imo} if v.imo else {"MMSINumber": v.mmsi}
            vessel = {"name": v.name or v.id, **ident}
            steps = [
                (f"/v2/port-calls/{pid}", {"portCallID": pid, "UNLocationCode": port, "vessel": vessel}),
                (f"/v2/terminal-calls/{tid}", {"terminalCallID": tid, "portCallID": pid,
                                               "terminalCallReference": cid, "carrierServiceName": "Soak",
                                               "carrierServiceCode": "SOAK"}),
                (f"/v2/port-call-services/{sid}", {
                    "terminalCallID": tid, "portCallServiceID": sid, "portCallServiceTypeCode": "BERTH",
                    "portCallServiceEventTypeCode": "ARRI", "portCallPhaseTypeCode": "INBD",
                    "portCallServiceLocation": {"UNLocationCode": port}}),
            ]
            for path, body in steps:
                self.call(k, "PUT", path, json=body)
                o.jit_messages += 1
            services[cid] = sid
        while picked and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.5, 2.0))
            cid = rng.choice(picked)
            cur = self.current(o.plan_id, k)
            planned = {c["call_id"]: c for c in (cur.get("plan") or {}).get("calls", [])}
            if cid not in planned:
                continue
            shift = timedelta(minutes=rng.choice([-30, 15, 60]))
            zone = zones[calls[cid].port_id]
            when = (datetime.fromisoformat(planned[cid]["arrival"]) + shift).astimezone(zone)
            tsid = str(uuid.uuid4())
            self.call(k, "PUT", f"/v2/timestamps/{tsid}", json={
                "timestampID": tsid, "portCallServiceID": services[cid], "classifierCode": "EST",
                "dateTime": when.isoformat(timespec="seconds")})
            o.jit_messages += 1
        for sid in services.values():
            r = self.call(k, "GET", "/v2/timestamps", params={"portCallServiceID": sid})
            if r.status_code == 200:
                o.jit_req += sum(1 for t in r.json() if t.get("classifierCode") == "REQ")

    def collect(self, o: PlanOutcome, receiver: Receiver) -> None:
        """The log and every version, checked: each accepted event once, in exactly one version;
        every version clean; every version delivered."""
        cur = self.wait_planned(o.plan_id, 180)
        o.log = self.call(0, "GET", f"/v1/live-plans/{o.plan_id}/events").json()
        o.versions = [self._version(o.plan_id, n) for n in range(1, cur["version"] + 1)]
        ids = [e["event_id"] for e in o.log]
        if len(ids) != len(set(ids)):
            o.faults.append("an event id is in the log twice")
        applied = [eid for v in o.versions for eid in v.get("event_ids", [])]
        if sorted(applied) != sorted(ids):
            o.faults.append(f"versions applied {len(applied)} events ({len(set(applied))} distinct), "
                            f"the log holds {len(ids)}")
        if any(e["version"] is None for e in o.log):
            o.faults.append("an event of the log was never applied")
        for body in o.versions:
            v = Version.model_validate(body)
            report = check(v.problem, v.plan)
            if not report.ok:
                o.faults.append(f"version {v.number}: {[str(x) for x in report.violations][:3]}")
        end = time.monotonic() + 60
        want = set(range(2, len(o.versions) + 1))
        while not want <= receiver.versions(o.plan_id) and time.monotonic() < end:
            time.sleep(0.2)
        with receiver.lock:
            unsigned = sum(1 for _, b, ok in receiver.got if b["live_plan_id"] == o.plan_id and not ok)
        if unsigned:
            o.faults.append(f"{unsigned} webhook deliveries failed their signature")
        if missing := want - receiver.versions(o.plan_id):
            o.faults.append(f"versions {sorted(missing)[:10]} not delivered to the webhook")


def _split(batch: list[Event], n: int, rng: random.Random) -> list[list[Event]]:
    """A round's events over up to `n` lists, at random (so one call's actuals may come apart)."""
    if not batch:
        return []
    k = rng.randint(1, max(1, min(n, len(batch))))
    out: list[list[Event]] = [[] for _ in range(k)]
    for e in batch:
        out[rng.randrange(k)].append(e)
    return [c for c in out if c]


def soak(base: str, seconds: float, plans: int = 3, clients: int = 4, calls: int = 40, seed: int = 0,
         store: str = "sqlite", days: int = 7) -> SoakReport:
    """Run the soak against the server at `base` (see the module docstring): each plan a generated
    problem of `calls` calls over `days` days, its world's clock 0.25-1.5 h further each round."""
    receiver = Receiver(SECRET)
    s = Soak(base, clients, seed, days)
    try:
        outcomes = [s.create(i, calls, receiver) for i in range(plans)]
        for o in outcomes:
            s.wait_planned(o.plan_id, 120)
        started = time.monotonic()
        deadline = started + seconds
        threads = [threading.Thread(target=s.feed, args=(o, deadline, seed * 100 + i), daemon=True)
                   for i, o in enumerate(outcomes)]
        threads += [threading.Thread(target=s.carrier, args=(o, deadline, seed * 100 + 50 + i), daemon=True)
                    for i, o in enumerate(outcomes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 300)
        for o in outcomes:
            s.collect(o, receiver)
        return SoakReport(store=store, seconds=time.monotonic() - started, plans=plans, clients=clients,
                          answers=dict(s.answers), outcomes=outcomes, errors=s.errors)
    finally:
        receiver.server.shutdown()
        for c in s.pool:
            c.close()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                    help="PostgreSQL server for --store postgres (a fresh schema is made and dropped)")
    ap.add_argument("--plans", type=int, default=3)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--calls", type=int, default=40, help="calls of each live plan's generated problem")
    ap.add_argument("--days", type=int, default=7, help="days of each live plan's generated problem")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the server's folder (its log) and say where")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="portsync-soak-"))
    schema = f"portsync_soak_{uuid.uuid4().hex[:8]}" if args.store == "postgres" else None
    try:
        with running_server(workdir, 2, args.database_url if schema else None, schema) as base:
            report = soak(base, args.seconds, args.plans, args.clients, args.calls, args.seed, args.store,
                          args.days)
    finally:
        if schema:
            import sqlalchemy as sa

            with sa.create_engine(args.database_url).begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if args.keep:
            print(f"server folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    figures = report.figures()
    if args.json:
        print(json.dumps({**figures, "per_plan": [
            {k: v for k, v in asdict(o).items() if k not in ("problem", "log", "versions", "latencies_s")}
            for o in report.outcomes]}, indent=2))
    else:
        for k, v in figures.items():
            print(f"{k:>24}: {v}")
    raise SystemExit(1 if figures["faults"] else 0)


if __name__ == "__main__":
    main()
