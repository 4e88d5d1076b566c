"""Jobs per minute on a worker fleet, and the API's latency while every worker solves:
`.venv/bin/python -m tools.fleetbench [--workers 1,2] [--jobs 20] [--time-limit 3]`.

For each fleet size it makes a fresh RabbitMQ vhost and PostgreSQL schema on this machine, starts
the API (`portsync-api` with PORTSYNC_BROKER_URL) and that many `portsync worker --concurrency 1`,
submits `--jobs` solves of instances/caspian/grain-rush.json (58 calls) and, while they run,
measures a client's submit (the same 58-call body, stopped at once so it adds no work) and GET
of a job with its plan. It prints jobs per minute, the mean service time of a job on a worker
process, the latencies, and the capacity a simple queueing model predicts for N processes.

Nothing leaves this machine (loopback only); every loop is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.loadcheck import ROOT, Client, free_port, percentile, stop_server, wait_ready

GRAIN = ROOT / "instances" / "caspian" / "grain-rush.json"
BIN = Path(sys.executable).parent


def _env(broker: str, database: str, schema: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSYNC_")}
    env.update(PORTSYNC_BROKER_URL=broker, PORTSYNC_DATABASE_URL=database, PORTSYNC_DATABASE_SCHEMA=schema,
               PORTSYNC_LOG_LEVEL="warning", PYTHONPATH=str(ROOT))
    return env


@contextlib.contextmanager
def fleet(workdir: Path, broker_base: str, database: str, workers: int) -> Iterator[str]:
    """API + `workers` workers on a fresh vhost and schema; the API's base URL."""
    vhost = f"portsync-bench-{uuid.uuid4().hex[:8]}"
    schema = f"portsync_bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True,
                   capture_output=True)
    env = _env(f"{broker_base}/{vhost}", database, schema)
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with (workdir / "api.log").open("wb") as log:
            procs.append(subprocess.Popen(
                [str(BIN / "python"), "-m", "uvicorn", "--factory", "api.app:create_app",
                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)  # the API has migrated the schema before the workers start
        for i in range(workers):
            with (workdir / f"worker{i}.log").open("wb") as log:
                procs.append(subprocess.Popen(
                    [str(BIN / "portsync"), "worker", "--concurrency", "1", "--name", f"bench{i}@local"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        c = Client(base)
        while time.monotonic() < deadline:
            seen = c.json("GET", "/v1/workers")[2]
            if sum(1 for w in seen.get("workers", []) if w.get("answering")) >= workers:
                break
            time.sleep(0.5)
        else:
            raise SystemExit("the workers did not start")
        yield base
    finally:
        for p in reversed(procs):
            stop_server(p)
        with contextlib.suppress(Exception):
            subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=60)
        with contextlib.suppress(Exception):
            import sqlalchemy as sa

            engine = sa.create_engine(database)
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


def measure(base: str, jobs: int, time_limit: float, probes: int) -> dict[str, Any]:
    body = GRAIN.read_bytes()
    c = Client(base)
    t0 = time.perf_counter()
    locs = []
    for _ in range(jobs):
        status, headers, _ = c.request("POST", f"/v1/schedules?time_limit_s={time_limit:g}", body)
        assert status == 202, status
        locs.append(headers["location"])
    # while every worker solves: a client's submits (stopped at once) and GETs of a job with its plan
    submits: list[float] = []
    gets: list[float] = []

    def probe() -> None:
        pc = Client(base)
        first = locs[0]
        for _ in range(200):
            if pc.json("GET", f"{first}?summary=true")[2]["has_plan"]:
                break
            time.sleep(0.05)
        for _ in range(probes):
            t = time.perf_counter()
            status, headers, _ = pc.request("POST", "/v1/schedules?time_limit_s=1", body)
            assert status == 202, status
            submits.append(time.perf_counter() - t)
            pc.request("POST", f"{headers['location']}/stop")
            for _ in range(10):
                t = time.perf_counter()
                pc.request("GET", first)
                gets.append(time.perf_counter() - t)

    prober = threading.Thread(target=probe)
    prober.start()
    pending = set(locs)
    rows: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 60 + jobs * (time_limit + 5)
    while pending and time.monotonic() < deadline:
        for loc in list(pending):
            job = c.json("GET", f"{loc}?summary=true")[2]
            if job["status"] in ("done", "stopped", "failed"):
                rows[loc] = job
                pending.discard(loc)
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    prober.join()
    service = [(_ts(j["finished_at"]) - _ts(j["started_at"])) for j in rows.values() if j["started_at"]]
    return {
        "jobs": jobs, "finished": sum(1 for j in rows.values() if j["status"] == "done"),
        "wall_s": wall, "jobs_per_min": 60.0 * len(rows) / wall,
        "service_mean_s": statistics.mean(service) if service else None,
        "submit_p50_ms": statistics.median(submits) * 1000 if submits else None,
        "submit_p99_ms": percentile(submits, 99) * 1000 if submits else None,
        "get_p50_ms": statistics.median(gets) * 1000 if gets else None,
        "get_p99_ms": percentile(gets, 99) * 1000 if gets else None,
        "probes": len(submits), "gets": len(gets),
    }


def _ts(s: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tools.fleetbench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default="1,2", help="fleet sizes to measure, comma-separated")
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--time-limit", type=float, default=3.0)
    ap.add_argument("--probes", type=int, default=20, help="submits measured (each with 10 GETs)")
    ap.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672", help="without a vhost")
    ap.add_argument("--database-url", default=os.environ.get(
        "PORTSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import tempfile

    results = {}
    for n in [int(x) for x in args.workers.split(",") if x.strip()]:
        with tempfile.TemporaryDirectory(prefix="fleetbench-") as tmp, \
                fleet(Path(tmp), args.broker, args.database_url, n) as base:
            results[n] = measure(base, args.jobs, args.time_limit, args.probes)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    cores = os.cpu_count() or 1
    print(f"{args.jobs} jobs of grain-rush (58 calls, time limit {args.time_limit:g} s) per fleet size; "
          f"{cores} cores, API, PostgreSQL and RabbitMQ on the same machine")
    print("workers  jobs/min  service s  submit p50/p99 ms  GET p50/p99 ms")
    for n, r in results.items():
        print(f"{n:>7}  {r['jobs_per_min']:8.1f}  {r['service_mean_s'] or 0:9.2f}  "
              f"{r['submit_p50_ms'] or 0:7.1f} / {r['submit_p99_ms'] or 0:6.1f}  "
              f"{r['get_p50_ms'] or 0:6.1f} / {r['get_p99_ms'] or 0:5.1f}")
    if results:
        one = results.get(1) or next(iter(results.values()))
        s = one["service_mean_s"] or 1.0
        print(f"\nModel: a job holds one worker process for S = {s:.2f} s (measured, 1 worker), so c busy "
              "processes finish c/S jobs a second while the queue is never empty; a machine gives at most "
              "one process per core. N workers of concurrency k on M machines of C cores: jobs/min = "
              f"60 * sum(min(k, C)) / S, e.g. 2 machines x 2 cores = {60 * 4 / s:.0f}/min, "
              f"8 x 8 = {60 * 64 / s:.0f}/min, as long as PostgreSQL and the broker keep up (each job "
              "costs a handful of row writes and one message).")
        for n, r in results.items():
            print(f"  {n} worker(s): predicted {60 * min(n, cores) / s:.1f}/min, "
                  f"measured {r['jobs_per_min']:.1f}/min")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        main()
