"""Measure the API as a client sees it: `.venv/bin/python tools/loadcheck.py [--burst 100] [--json]`.

Starts its own server (uvicorn, a fresh SQLite file, loopback only) unless `--url` names one on
this machine, then measures:

1. the time from POST of instances/caspian/week.json to the first plan visible in GET;
2. the GET latency of a job (with its plan, and summary only) while two jobs keep both solver
   processes busy, over `--gets` sequential requests on one keep-alive connection;
3. a burst of `--burst` jobs submitted at once from 20 threads: how many were accepted, stored
   (listed by GET /v1/schedules) and finished.

Every request loop is bounded in count and time; nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
WEEK = ROOT / "instances" / "caspian" / "week.json"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Client:
    """A keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, base: str, key: str | None = None):
        parts = urlsplit(base)
        if parts.hostname not in LOOPBACK:
            raise SystemExit(f"refusing to load {parts.hostname}: loopback addresses only")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"X-API-Key": key} if key else {}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        h = {**self.headers, **(headers or {})}
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        status, headers, raw = self.request(method, path, data)
        return status, headers, json.loads(raw) if raw else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(workdir: Path, workers: int, database_url: str | None = None,
                 schema: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSYNC_")}
    env.update(PORTSYNC_DATABASE_URL=database_url or f"sqlite:///{workdir / 'loadcheck.db'}",
               PORTSYNC_WORKERS=str(workers), PORTSYNC_LOG_LEVEL="warning", PYTHONPATH=str(ROOT))
    if schema:
        env["PORTSYNC_DATABASE_SCHEMA"] = schema
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the server and its solver processes if it does not end in 20 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(workdir: Path, workers: int, database_url: str | None = None,
                   schema: str | None = None) -> Iterator[str]:
    """A started server's base URL, ready; stopped on leaving."""
    proc, base = start_server(workdir, workers, database_url, schema)
    try:
        wait_ready(base)
        yield base
    finally:
        stop_server(proc)


def wait_ready(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if Client(base).request("GET", "/readyz")[0] == 200:
                return
        time.sleep(0.1)
    raise SystemExit("server not ready")


def wait_for(c: Client, path: str, predicate: Any, timeout: float, every: float = 0.02) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = c.json("GET", path)[2]
        if predicate(job) or time.monotonic() > deadline:
            return job
        time.sleep(every)


def time_to_first_plan(c: Client, body: bytes, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        status, headers, _ = c.request("POST", "/v1/schedules?time_limit_s=60", body)
        assert status == 202, status
        loc = headers["location"]
        wait_for(c, f"{loc}?summary=true", lambda j: j["has_plan"], timeout=60)
        out.append(time.perf_counter() - t0)
        c.request("POST", f"{loc}/stop")
    return out


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


def latency_while_busy(c: Client, body: bytes, gets: int) -> dict[str, Any]:
    locs = []
    for _ in range(2):
        status, headers, _ = c.request("POST", "/v1/schedules?time_limit_s=120", body)
        assert status == 202
        locs.append(headers["location"])
    for loc in locs:
        wait_for(c, f"{loc}?summary=true", lambda j: j["has_plan"] and j["status"] == "solving", timeout=60)
    full, short = [], []
    plan_bytes = 0
    for i in range(gets):
        loc = locs[i % 2]
        t0 = time.perf_counter()
        status, _, raw = c.request("GET", loc)
        full.append(time.perf_counter() - t0)
        assert status == 200
        plan_bytes = len(raw)
        t0 = time.perf_counter()
        status, _, _ = c.request("GET", f"{loc}?summary=true")
        short.append(time.perf_counter() - t0)
    still = [c.json("GET", f"{loc}?summary=true")[2]["status"] for loc in locs]
    for loc in locs:
        c.request("POST", f"{loc}/stop")
    ms = 1000.0
    return {
        "requests": gets, "both_jobs_still_solving": all(s == "solving" for s in still),
        "job_with_plan_bytes": plan_bytes,
        "full_median_ms": statistics.median(full) * ms, "full_p99_ms": percentile(full, 99) * ms,
        "summary_median_ms": statistics.median(short) * ms, "summary_p99_ms": percentile(short, 99) * ms,
    }


def burst(base: str, n: int, time_limit: float, timeout: float) -> dict[str, Any]:
    from optimizer.generator import generate

    bodies = [json.dumps({"problem": json.loads(generate(calls=12, days=3, seed=i).model_dump_json()),
                          "options": {"time_limit_s": time_limit}}).encode() for i in range(n)]

    def post(body: bytes) -> tuple[int, str | None]:
        status, headers, _ = Client(base).request("POST", "/v1/schedules", body)
        return status, headers.get("location")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(post, bodies))
    submit_s = time.perf_counter() - t0
    accepted = [loc for status, loc in results if status == 202 and loc]
    c = Client(base)
    ids = {loc.rsplit("/", 1)[1] for loc in accepted}
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        statuses = {}
        cursor = ""
        while True:
            page = c.json("GET", f"/v1/schedules?limit=100{cursor}")[2]
            statuses.update({j["id"]: j["status"] for j in page["items"]})
            if not page["next_cursor"]:
                break
            cursor = f"&cursor={page['next_cursor']}"
        if all(statuses.get(i) in ("done", "stopped", "failed") for i in ids):
            break
        time.sleep(0.5)
    finished = sum(1 for i in ids if statuses.get(i) == "done")
    return {"submitted": n, "accepted_202": len(accepted), "stored": len(ids & set(statuses)),
            "finished_done": finished, "failed": sum(1 for i in ids if statuses.get(i) == "failed"),
            "submit_s": submit_s, "all_finished_s": time.perf_counter() - t0, "time_limit_s": time_limit}


def main() -> None:
    ap = argparse.ArgumentParser(prog="tools/loadcheck.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server on this machine (default: start one)")
    ap.add_argument("--key", help="API key for --url")
    ap.add_argument("--workers", type=int, default=2, help="solver processes of the started server")
    ap.add_argument("--database-url", help="database of the started server (default: a fresh SQLite file)")
    ap.add_argument("--database-schema", help="PostgreSQL schema of the started server (use a fresh one)")
    ap.add_argument("--first-plan-runs", type=int, default=3)
    ap.add_argument("--gets", type=int, default=250, help="GETs (each with and without the plan)")
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--burst-time-limit", type=float, default=1.0)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    if not WEEK.exists():
        raise SystemExit(f"{WEEK} is missing")
    body = WEEK.read_bytes()
    workdir = Path(tempfile.mkdtemp(prefix="portsync-loadcheck-"))
    proc = None
    try:
        if args.url:
            base = args.url.rstrip("/")
        else:
            proc, base = start_server(workdir, args.workers, args.database_url, args.database_schema)
        wait_ready(base)
        c = Client(base, args.key)
        first = time_to_first_plan(c, body, args.first_plan_runs)
        busy = latency_while_busy(c, body, args.gets)
        b = burst(base, args.burst, args.burst_time_limit, timeout=max(120.0, args.burst * 3.0))
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(workdir, ignore_errors=True)
    figures = {"first_plan_s": first, "get_latency_while_solving": busy, "burst": b, "cores": os.cpu_count()}
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"POST week.json -> first plan in GET: {', '.join(f'{x:.2f}' for x in first)} s "
          f"(median {statistics.median(first):.2f} s)")
    print(f"GET while both solver processes solve the week ({busy['requests']} requests each, "
          f"job with plan {busy['job_with_plan_bytes'] / 1000:.0f} kB):")
    print(f"  with plan:    median {busy['full_median_ms']:.1f} ms, p99 {busy['full_p99_ms']:.1f} ms")
    print(f"  summary only: median {busy['summary_median_ms']:.1f} ms, p99 {busy['summary_p99_ms']:.1f} ms")
    print(f"burst of {b['submitted']} jobs ({b['time_limit_s']:g} s limit each): "
          f"{b['accepted_202']} accepted "
          f"in {b['submit_s']:.1f} s, {b['stored']} stored, {b['finished_done']} finished done, "
          f"{b['failed']} failed; all finished after {b['all_finished_s']:.0f} s")


if __name__ == "__main__":
    main()
