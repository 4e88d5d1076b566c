"""Jobs solved by the solver processes: progress, best plan so far, stop, queueing, crash recovery."""

from __future__ import annotations

import os
import signal
import statistics
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from optimizer.checker import check
from optimizer.loading import load_problem
from optimizer.plan import Plan
from tests.api.conftest import BACKEND, long_problem, tiny_problem, wait_status

A = {"X-API-Key": "key-a"}
B = {"X-API-Key": "key-b"}


def submit(c: TestClient, problem: dict[str, Any], time_limit: float, headers: dict[str, str]) -> str:
    r = c.post("/v1/schedules", json={"problem": problem, "options": {"time_limit_s": time_limit}},
               headers=headers)
    assert r.status_code == 202, r.text
    loc: str = r.headers["location"]
    return loc


def wait_for_plan(c: TestClient, loc: str, headers: dict[str, str], timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = c.get(loc, headers=headers).json()
        if job["plan"] is not None:
            return job
        time.sleep(0.05)
    raise AssertionError("no plan in time")


def assert_clean(problem: dict[str, Any], plan: dict[str, Any]) -> None:
    report = check(load_problem(problem), Plan.model_validate(plan))
    assert report.ok, report.violations[:3]


def test_a_job_is_solved_to_a_checked_plan_with_its_history(live: TestClient) -> None:
    loc = submit(live, tiny_problem(), 5, A)
    job = wait_status(live, loc, headers=A)
    assert job["status"] == "done", job
    assert job["progress"]["solver_status"] == "optimal" and job["progress"]["gap"] == 0
    assert job["plan"]["baseline_kpis"] is not None and job["plan"]["kpis"]["calls"] == 2
    assert job["finished_at"] is not None and job["progress"]["elapsed_s"] >= 0
    assert job["progress"]["solver_s"] == job["plan"]["solver"]["seconds"]
    assert_clean(tiny_problem(), job["plan"])
    history = live.get(f"{loc}/improvements?assignments=true", headers=A).json()
    assert history[-1]["final"] is True and len(history[-1]["assignments"]) == 2
    assert history[-1]["solver_s"] == job["progress"]["solver_s"]
    page = live.get(f"{loc}/gantt", headers=A)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-call-id="C1"' in page.text and 'data-berth-id="A1"' in page.text


def test_best_plan_while_solving_then_stop_within_two_seconds(live: TestClient) -> None:
    problem = long_problem()
    loc = submit(live, problem, 60, A)
    job = wait_for_plan(live, loc, A)
    assert job["status"] == "solving"
    assert job["progress"]["objective"] is not None  # best_bound may still be null: no bound yet
    assert_clean(problem, job["plan"])
    page = live.get(f"{loc}/gantt", headers=A)
    assert 'http-equiv="refresh"' in page.text  # it follows the search while solving
    t0 = time.monotonic()
    r = live.post(f"{loc}/stop", headers=A)
    took = time.monotonic() - t0
    assert r.status_code == 200
    assert r.json()["status"] == "stopped", r.json()
    assert took < 2.0, f"stop took {took:.2f} s"
    final = live.get(loc, headers=A).json()
    assert final["plan"] is not None and final["plan"]["solver"]["stopped"] is True
    assert_clean(problem, final["plan"])


def test_extra_jobs_wait_queued_and_reads_stay_fast(live: TestClient) -> None:
    problem = long_problem()
    busy = [submit(live, problem, 60, B) for _ in range(2)]
    for loc in busy:
        wait_status(live, loc, ("solving",), headers=B)
    waiting = submit(live, tiny_problem(), 5, B)
    times = []
    for _ in range(40):
        t0 = time.perf_counter()
        job = live.get(waiting, headers=B).json()
        times.append(time.perf_counter() - t0)
        assert job["status"] == "queued"
    assert statistics.median(times) < 0.1
    for loc in busy:
        assert live.post(f"{loc}/stop", headers=B).json()["status"] == "stopped"
    assert wait_status(live, waiting, headers=B)["status"] == "done"


@pytest.mark.skipif(BACKEND == "fleet", reason="the embedded runner's processes; on a fleet, test_fleet.py "
                    "kills whole workers")
def test_a_solver_process_that_dies_is_replaced_and_its_job_resumed(live: TestClient) -> None:
    problem = long_problem()
    loc = submit(live, problem, 6, A)
    before = wait_for_plan(live, loc, A)
    runner = live.app.state.runner  # type: ignore[attr-defined]
    solver = next(s for s in runner.job_solvers if s.job_id == before["id"])
    assert solver.proc is not None and solver.proc.pid is not None
    os.kill(solver.proc.pid, signal.SIGKILL)
    job = wait_status(live, loc, headers=A, timeout=40)
    assert job["status"] == "done", job
    assert job["plan"]["kpis"]["objective"] <= before["plan"]["kpis"]["objective"]
    assert_clean(problem, job["plan"])
    attempts = {h["attempt"] for h in live.get(f"{loc}/improvements", headers=A).json()}
    assert len(attempts) == 2


def test_stop_of_a_finished_job_changes_nothing(live: TestClient) -> None:
    loc = submit(live, tiny_problem(), 5, B)
    done = wait_status(live, loc, headers=B)
    r = live.post(f"{loc}/stop", headers=B)
    assert r.json()["status"] == "done" and r.json()["finished_at"] == done["finished_at"]
