"""Fan-out: POST /v1/batches spawns one job per seed or item, solved in parallel by the solver
processes (or the fleet's workers with PORTSYNC_TEST_BACKEND=fleet), gathered by GET."""

from __future__ import annotations

import json
import statistics
from typing import Any

from fastapi.testclient import TestClient

from optimizer.checker import check
from optimizer.generator import generate
from optimizer.loading import load_problem
from optimizer.plan import Plan
from tests.api.conftest import tiny_problem, wait_finished

A = {"X-API-Key": "key-a"}
B = {"X-API-Key": "key-b"}


def small(seed: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(generate(calls=8, days=2, seed=seed).model_dump_json())
    return data


def test_seeds_of_one_problem_gathered_into_one_result(live: TestClient) -> None:
    """Four seeds of one problem: four jobs, each with its seed, all done with clean plans; the
    batch's best and its objective figures are those of the jobs."""
    problem = small(1)
    r = live.post("/v1/batches", json={"problem": problem, "options": {"time_limit_s": 1},
                                       "seeds": [0, 1, 2, 3]}, headers=A)
    assert r.status_code == 202, r.text
    loc = r.headers["location"]
    assert loc == f"/v1/batches/{r.json()['id']}" and len(r.json()["items"]) == 4
    batch = wait_finished(live, loc, A, 60.0)
    assert batch["counts"] == {"done": 4}
    assert [it["options"]["seed"] for it in batch["items"]] == [0, 1, 2, 3]
    objectives = []
    for it in batch["items"]:
        job = live.get(it["links"]["self"], headers=A).json()
        assert check(load_problem(problem), Plan.model_validate(job["plan"])).ok
        objectives.append(job["progress"]["objective"])
    assert batch["objective"] == {"min": min(objectives), "median": statistics.median(objectives),
                                  "max": max(objectives), "items": 4}
    assert batch["best"]["objective"] == min(objectives)
    assert live.get(loc, headers=B).status_code == 404  # another client's batch is not found


def test_items_of_different_problems_keep_their_order(live: TestClient) -> None:
    items = [{"problem": small(2), "options": {"time_limit_s": 1}},
             {"problem": tiny_problem("tiny-batch"), "options": {"time_limit_s": 1}},
             {"problem": small(3), "options": {"time_limit_s": 1}}]
    r = live.post("/v1/batches", json={"items": items}, headers=A)
    assert r.status_code == 202, r.text
    batch = wait_finished(live, r.headers["location"], A, 60.0)
    assert [it["problem_name"] for it in batch["items"]] == [i["problem"]["name"] for i in items]
    assert batch["counts"] == {"done": 3} and batch["objective"]["items"] == 3


def test_a_bad_item_is_named_and_nothing_is_stored(live: TestClient) -> None:
    before = len(live.get("/v1/schedules?limit=100", headers=A).json()["items"])
    bad = small(4)
    bad["calls"][0]["vessel_id"] = "NO-SUCH-VESSEL"
    r = live.post("/v1/batches", json={"items": [{"problem": small(5)}, {"problem": bad}]}, headers=A)
    assert r.status_code == 422, r.text
    assert all(e["loc"][:4] == ["body", "items", 1, "problem"] for e in r.json()["errors"]), r.json()
    r = live.post("/v1/batches", json={"problem": small(5), "seeds": list(range(101))}, headers=A)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "seeds"], r.text
    r = live.post("/v1/batches", json={"problem": small(5)}, headers=A)
    assert r.status_code == 422 and "seeds" in r.text
    r = live.post("/v1/batches", json={"items": [], "seeds": [1]}, headers=A)
    assert r.status_code == 422
    assert len(live.get("/v1/schedules?limit=100", headers=A).json()["items"]) == before
    assert live.get("/v1/batches/no-such-batch", headers=A).status_code == 404
