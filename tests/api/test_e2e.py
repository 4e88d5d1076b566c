"""End to end against a real server: uvicorn in a subprocess on a free loopback port.

Submit the Caspian week, watch the best plan improve, stop it, fetch the Gantt page (and open it
in headless Chromium); kill the server with SIGKILL while a job is solving, start it again, and
see the job finish with a plan that passes the checker, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from optimizer.checker import check
from optimizer.loading import load_problem
from optimizer.plan import Plan
from tests.api.conftest import ON_FLEET, WEEK, Backend, long_problem
from tests.api.live_server import LiveServer, alive

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def server_env(tmp: Path, database: str = "sqlite", pg: tuple[str, str] | None = None) -> dict[str, str]:
    env = {"PORTSYNC_WORKERS": "2", "PORTSYNC_PROGRESS_INTERVAL_S": "0.5", "PORTSYNC_LOG_LEVEL": "info"}
    if database == "sqlite":
        env["PORTSYNC_DATABASE_URL"] = f"sqlite:///{tmp / 'portsync.db'}"
    else:
        assert pg is not None
        env["PORTSYNC_DATABASE_URL"], env["PORTSYNC_DATABASE_SCHEMA"] = pg
    return env


def poll(url: str, until: Any, timeout: float, every: float = 0.1) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = httpx.get(url, timeout=10).json()
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last seen: status {job['status']}, progress {job['progress']}")
        time.sleep(every)


@pytest.fixture(scope="module")
def week_job(backend: Backend,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, dict[str, Any]]]:
    """A server that solved the week until a client stopped it: (server, job URL, what was seen);
    with PORTSYNC_TEST_BACKEND=fleet the server is the API only and the fleet's workers solve."""
    tmp = tmp_path_factory.mktemp("e2e")
    server = LiveServer(backend.server_env(server_env(tmp)), tmp / "server.log")
    server.start()
    try:
        body = WEEK.read_bytes() if WEEK.exists() else json.dumps(long_problem()).encode()
        t0 = time.monotonic()
        r = httpx.post(f"{server.url}/v1/schedules?time_limit_s=120", content=body,
                       headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 202, r.text
        url = server.url + r.headers["location"]
        first = poll(url, lambda j: j["plan"] is not None, timeout=30, every=0.05)
        first_plan_s = time.monotonic() - t0
        objectives = [first["plan"]["kpis"]["objective"]]
        improved = poll(url, lambda j: j["progress"]["improvements"] >= 3, timeout=30, every=0.2)
        objectives.append(improved["plan"]["kpis"]["objective"])
        t_stop = time.monotonic()
        stopped = httpx.post(f"{url}/stop", timeout=30).json()
        stop_s = time.monotonic() - t_stop
        seen = {"first_plan_s": first_plan_s, "objectives": objectives, "stop_s": stop_s,
                "stopped": stopped, "problem": json.loads(body)}
        yield server, url, seen
    finally:
        server.stop()


def test_week_is_solved_improved_and_stopped(week_job: tuple[LiveServer, str, dict[str, Any]]) -> None:
    server, url, seen = week_job
    assert seen["first_plan_s"] < 10
    assert seen["objectives"][1] < seen["objectives"][0], "the best plan did not improve"
    assert seen["stopped"]["status"] == "stopped" and seen["stop_s"] < 2.0
    job = httpx.get(url, timeout=10).json()
    assert job["status"] == "stopped" and job["plan"]["solver"]["stopped"] is True
    history = httpx.get(f"{url}/improvements", timeout=10).json()
    assert len(history) >= 3 and history[-1]["final"] is True
    assert check(load_problem(seen["problem"]), Plan.model_validate(job["plan"])).ok
    listing = httpx.get(f"{server.url}/v1/schedules", timeout=10).json()
    assert listing["items"][0]["id"] == job["id"]


def test_gantt_page_of_the_stopped_job(week_job: tuple[LiveServer, str, dict[str, Any]]) -> None:
    _, url, _ = week_job
    r = httpx.get(f"{url}/gantt", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    plan = httpx.get(url, timeout=10).json()["plan"]
    for c in plan["calls"]:
        assert f'data-call-id="{c["call_id"]}"' in r.text
    assert 'http-equiv="refresh"' not in r.text  # no more reloading once stopped


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_gantt_page_renders_in_headless_chromium(week_job: tuple[LiveServer, str, dict[str, Any]],
                                                 tmp_path: Path) -> None:
    _, url, seen = week_job
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=3000", "--dump-dom", f"{url}/gantt"],
        capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    assert console == [], console
    problem = seen["problem"]
    plan = httpx.get(url, timeout=10).json()["plan"]
    berths = {b["id"] for p in problem["ports"] for b in p["berths"]}
    rendered_berths = set(re.findall(r'data-berth-id="([^"]+)"', dom))
    rendered_calls = set(re.findall(r'data-call-id="([^"]+)"', dom))
    assert berths <= rendered_berths
    assert {c["call_id"] for c in plan["calls"]} <= rendered_calls


@pytest.mark.skipif(ON_FLEET, reason="the embedded server's own solver processes die with it; on a fleet the "
                    "solves run on workers, and test_fleet.py kills those")
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_job_survives_sigkill_of_the_server(database: str, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    pg = request.getfixturevalue("pg_schema") if database == "postgres" else None
    env = server_env(tmp_path, database, pg)
    problem = long_problem()
    server = LiveServer(env, tmp_path / "server.log")
    server.start()
    try:
        r = httpx.post(f"{server.url}/v1/schedules",
                       json={"problem": problem, "options": {"time_limit_s": 8}}, timeout=30)
        assert r.status_code == 202
        path = r.headers["location"]
        before = poll(server.url + path, lambda j: j["plan"] is not None, timeout=30, every=0.05)
        assert before["status"] == "solving"
        solvers = server.kill()
        assert solvers, "the server had no solver processes"
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in solvers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in solvers), "solver processes outlived their server"

        server.start()
        job = poll(server.url + path, lambda j: j["status"] in ("done", "stopped", "failed"), timeout=40)
        assert job["status"] == "done", job
        assert job["restarts"] == 1
        assert job["plan"]["kpis"]["objective"] <= before["plan"]["kpis"]["objective"]
        report = check(load_problem(problem), Plan.model_validate(job["plan"]))
        assert report.ok, report.violations[:3]
    finally:
        server.stop()
