"""GET /v1/workers: the solver processes (embedded, or the fleet's workers) and what they hold."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.api.conftest import BACKEND, long_problem

KEY_A = {"X-API-Key": "key-a"}
KEY_B = {"X-API-Key": "key-b"}


def test_workers_lists_the_solver_processes_and_only_your_jobs(live: TestClient) -> None:
    r = live.post("/v1/schedules?time_limit_s=20", json=long_problem(), headers=KEY_A)
    assert r.status_code == 202, r.text
    job = r.headers["location"]
    deadline = time.monotonic() + 20
    while live.get(job, headers=KEY_A).json()["status"] != "solving" and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        mine = live.get("/v1/workers", headers=KEY_A).json()
        assert mine["backend"] == BACKEND
        assert sum(w["processes"] for w in mine["workers"]) == 2
        assert all(w["answering"] for w in mine["workers"])
        assert sum(w["holding"] for w in mine["workers"]) >= 1
        assert [j["job_id"] for w in mine["workers"] for j in w["jobs"]] == [r.json()["id"]]
        theirs = live.get("/v1/workers", headers=KEY_B).json()
        assert [j for w in theirs["workers"] for j in w["jobs"]] == []
        assert sum(w["holding"] for w in theirs["workers"]) >= 1
        assert live.get("/v1/workers").status_code == 401
    finally:
        live.post(f"{job}/stop", headers=KEY_A)
