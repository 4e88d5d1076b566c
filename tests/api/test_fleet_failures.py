"""The fleet's outages against the machine's real RabbitMQ and PostgreSQL: the broker drops every
connection of the fleet while jobs are queued and solving; PostgreSQL drops a worker's connections
again and again while it solves; a worker is killed while a live plan's version 1 is built.

What a user relies on: every job accepted ends once (one final plan, clean under the checker),
whatever the broker or the store did meanwhile; a live plan's version 1 is made once.

The outages are confined to the test's own fleet, the broker and the database being shared with
other work: `rabbitmqctl close_all_connections --vhost <the test's vhost>` (not stop_app), and a
relay between one worker and PostgreSQL that the test cuts (cutting its connections with
pg_terminate_backend is not an outage: the worker's pool reconnects within milliseconds, and its
heartbeats get through between the cuts).
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.db import ImprovementRow, JobRow
from api.db.models import LivePlanRow
from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.generator import generate
from optimizer.loading import load_problem
from optimizer.plan import Plan
from tests.api.conftest import PG_URL, long_problem
from tests.api.fleet_support import CuttableLink, Fleet, Worker, rabbitmqctl, submit

pytestmark = [pytest.mark.fleet, pytest.mark.slow, pytest.mark.postgres]

TERMINAL = ("done", "stopped", "failed")


def problem_of(calls: int, seed: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(generate(calls=calls, days=4, seed=seed).model_dump_json())
    return data


def job_rows(c: TestClient, ids: list[str]) -> dict[str, JobRow]:
    with c.app.state.db.session() as s:  # type: ignore[attr-defined]
        return {r.id: r for r in s.execute(select(JobRow).where(JobRow.id.in_(ids))).scalars().all()}


def wait_all(c: TestClient, ids: list[str], timeout: float) -> dict[str, JobRow]:
    deadline = time.monotonic() + timeout
    while True:
        found = job_rows(c, ids)
        if len(found) == len(ids) and all(r.status in TERMINAL for r in found.values()):
            return found
        if time.monotonic() > deadline:
            left = {i: (r.status, r.attempt) for i, r in found.items() if r.status not in TERMINAL}
            raise AssertionError(f"{len(left)} job(s) not finished after {timeout} s: {left}")
        time.sleep(0.1)


def improvements(c: TestClient, job_id: str) -> list[ImprovementRow]:
    return list(c.app.state.db.improvements(job_id))  # type: ignore[attr-defined]


def assert_ended_once(c: TestClient, problems: dict[str, dict[str, Any]], found: dict[str, JobRow]) -> None:
    """Each job done, with exactly one final plan, written by its last attempt, clean under the
    independent checker."""
    for job_id, row in found.items():
        assert row.status == "done", (job_id, row.status, row.error)
        history = improvements(c, job_id)
        assert [h.attempt for h in history if h.final] == [row.attempt], job_id
        plan = Plan.model_validate(c.get(f"/v1/schedules/{job_id}").json()["plan"])
        report = check(load_problem(problems[job_id]), plan)
        assert report.ok, (job_id, report.violations[:3])


def vhost_of(fleet: Fleet) -> str:
    return fleet.broker_url.rsplit("/", 1)[-1]


def test_jobs_queued_and_solving_while_the_broker_drops_every_connection_end_once(fleet: Fleet) -> None:
    """Two workers, twelve jobs: the broker closes every connection of the fleet's vhost (the
    workers' consumers, the API's publisher) twice, once while two jobs solve and the rest are
    queued, once while more jobs are being submitted. Every job ends once."""
    workers = [fleet.start_worker("wa@brk"), fleet.start_worker("wb@brk")]
    for w in workers:
        w.wait_ready()
    problems: dict[str, dict[str, Any]] = {}
    with TestClient(create_app(fleet.settings())) as c:
        for seed in range(8):
            p = problem_of(20, seed)
            problems[submit(c, p, 1.5)] = p
        deadline = time.monotonic() + 30
        while sum(r.status == "solving" for r in job_rows(c, list(problems)).values()) < 2:
            assert time.monotonic() < deadline, "the workers took no job"
            time.sleep(0.05)
        rabbitmqctl("close_all_connections", "--vhost", vhost_of(fleet), "portsync test: broker outage")
        for seed in range(8, 12):  # the API's publishing connection was closed too
            p = problem_of(20, seed)
            problems[submit(c, p, 1.5)] = p
            if seed == 9:
                rabbitmqctl("close_all_connections", "--vhost", vhost_of(fleet), "portsync test: again")
        found = wait_all(c, list(problems), timeout=120)
        assert_ended_once(c, problems, found)
        assert all(w.proc.poll() is None for w in workers), "a worker exited on the lost connection"
        assert all(r.crashes == 0 for r in found.values()), {i: r.crashes for i, r in found.items()}


def wait_held(c: TestClient, job_id: str, timeout: float = 30.0) -> JobRow:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = job_rows(c, [job_id])[job_id]
        if row.status == "solving" and row.lease_owner:
            return row
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} was not claimed within {timeout} s")


@pytest.mark.parametrize("outage_s", [1.0, 5.0])
def test_a_worker_that_loses_the_store_mid_solve_neither_loses_nor_repeats_its_job(
        fleet: Fleet, outage_s: float) -> None:
    """The worker holding a job loses PostgreSQL (its connections cut, new ones refused) for 1 s,
    shorter than its 3 s lease: the job stays its and ends once; or for 5 s, longer than the
    lease: the job is queued again and the other worker ends it, once, the first attempt's
    writes refused when it gets the store back."""
    assert PG_URL is not None
    links = {f"w{x}@pg": CuttableLink(PG_URL) for x in "ab"}  # each worker's own path to the store
    try:
        workers = {n: fleet.start_worker(n, database_url=link.url) for n, link in links.items()}
        for w in workers.values():
            w.wait_ready()
        lose_the_store(fleet, workers, links, outage_s)
    finally:
        for link in links.values():
            link.close()


def lose_the_store(fleet: Fleet, workers: dict[str, Worker], links: dict[str, CuttableLink],
                   outage_s: float) -> None:
    problem = long_problem()
    with TestClient(create_app(fleet.settings())) as c:
        job_id = submit(c, problem, 15.0)
        first = wait_held(c, job_id)
        assert first.lease_owner is not None
        holder = first.lease_owner.split("/")[0]
        deadline = time.monotonic() + 20
        while not improvements(c, job_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job_rows(c, [job_id])[job_id].status == "solving"
        links[holder].cut()
        time.sleep(outage_s)
        links[holder].restore()
        found = wait_all(c, [job_id], timeout=90)
        assert_ended_once(c, {job_id: problem}, found)
        row = found[job_id]
        history = improvements(c, job_id)
        if outage_s < 3.0:
            assert row.attempt == first.attempt and row.crashes == 0, (row.attempt, row.crashes)
            assert row.lease_owner is not None and row.lease_owner.startswith(f"{holder}/")
        else:
            assert row.attempt > first.attempt and row.crashes >= 1
            assert row.lease_owner is not None and not row.lease_owner.startswith(f"{holder}/")
            # the cut-off attempt wrote nothing once it had lost the job
            handed = min(h.created_at for h in history if h.attempt != first.attempt)
            assert all(h.created_at <= handed for h in history if h.attempt == first.attempt)
        assert all(w.proc.poll() is None for w in workers.values())


def test_a_worker_killed_while_version_1_is_built_leaves_it_to_another_once(fleet: Fleet) -> None:
    """A live plan's version 1 takes seconds; the worker building it is SIGKILLed (its process
    group) midway: the other worker builds version 1, once, clean under the checker; no version 2."""
    workers = {w.name: w for w in (fleet.start_worker("wa@v1"), fleet.start_worker("wb@v1"))}
    for w in workers.values():
        w.wait_ready()
    problem = long_problem()
    with TestClient(create_app(fleet.settings(live_batch_window_s=0.05))) as c:
        r = c.post("/v1/live-plans?time_limit_s=6&replan_time_limit_s=1", json=problem)
        assert r.status_code == 201, r.text
        path, plan_id = r.headers["Location"], r.json()["id"]
        db = c.app.state.db  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        holder = None
        while holder is None:
            assert time.monotonic() < deadline, "no worker took the live plan"
            with db.session() as s:
                owner = s.scalar(select(LivePlanRow.lease_owner).where(LivePlanRow.id == plan_id))
            holder = workers.get(owner.split("/")[0]) if owner else None
            time.sleep(0.02)
        assert c.get(path).json()["replanning"] is True
        time.sleep(1.5)  # into the search
        holder.signal(signal.SIGKILL)
        holder.proc.wait(timeout=10)
        other = next(w for w in workers.values() if w is not holder)
        deadline = time.monotonic() + 60
        while (body := c.get(path).json())["version"] < 1:
            assert body["status"] != "failed", body
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
        time.sleep(1.0)  # a second build, if there were one, would show now
        body = c.get(path).json()
        assert body["version"] == 1 and body["status"] == "live", body
        assert c.get(f"{path}/versions/2").status_code == 404
        v1 = c.get(f"{path}/versions/1").json()
        report = check(Problem.model_validate(v1["problem"]), Plan.model_validate(v1["plan"]))
        assert report.ok, report.violations[:3]
        made = f"live plan {plan_id}: version 1"
        assert other.text().count(made) == 1 and made not in holder.text()
