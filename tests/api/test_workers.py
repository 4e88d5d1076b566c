"""GET /v1/workers with the embedded runner: this server's solver processes and what they hold."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.api.conftest import long_problem

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
        assert mine["backend"] == "embedded"
        [w] = mine["workers"]
        assert w["processes"] == 2 and w["holding"] >= 1 and w["answering"] is True
        assert [j["job_id"] for j in w["jobs"]] == [r.json()["id"]]
        theirs = live.get("/v1/workers", headers=KEY_B).json()
        assert theirs["workers"][0]["jobs"] == [] and theirs["workers"][0]["holding"] >= 1
        assert live.get("/v1/workers").status_code == 401
    finally:
        live.post(f"{job}/stop", headers=KEY_A)
