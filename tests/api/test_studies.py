"""POST /v1/studies: a capacity study whose months are jobs, lived in parallel by the solver
processes (or the fleet's workers with PORTSYNC_TEST_BACKEND=fleet), gathered by GET: the figures
over the months done, the knees, the CSVs and plots; the same months as the CLI lives."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from optimizer.study.records import MonthKey, MonthResult
from optimizer.study.runner import StudySettings, live
from tests.api.conftest import wait_finished

A = {"X-API-Key": "key-a"}
B = {"X-API-Key": "key-b"}
#: Two and a half lived days after one of warm-up, short budgets: a month takes seconds.
SETTINGS: dict[str, Any] = {"traffic": {"days": 2, "warmup_days": 1, "tail_days": 0.5},
                            "limits": {"first_budget_s": 0.5, "replan_budget_s": 0.05}}


def test_a_study_lives_its_months_as_jobs_and_gathers_them(live: TestClient) -> None:
    r = live.post("/v1/studies", headers=A, json={"name": "two levels", "growth": [1.0, 2.0], "seeds": [3],
                                                 "settings": SETTINGS})
    assert r.status_code == 202, r.text
    loc = r.headers["location"]
    first = r.json()
    assert [m["key"] for m in first["months"]] == [{"option": "base", "growth": 1.0, "seed": 3},
                                                   {"option": "base", "growth": 2.0, "seed": 3}]
    body = wait_finished(live, loc, A, 180.0)
    assert body["counts"] == {"done": 2}, body["months"]
    # the figures are those of the same month lived here, directly (the months are deterministic)
    direct = live_direct(MonthKey(option="base", growth=2.0, seed=3))
    served = {(p["port_id"], p["planner"]): p for p in body["summary"] if p["growth"] == 2.0}
    for p in direct.ports:
        got = served[(p.port_id, p.planner.value)]["figures"]
        assert got["wait_mean_h"]["mean"] == p.wait_mean_h and got["calls"]["mean"] == p.calls
        assert got["wait_mean_h"]["half_width"] is None  # one seed: no interval claimed
    assert {(k["port_id"], k["planner"]) for k in body["knees"]} == set(served)
    points = live.get(body["files"]["points.csv"], headers=A)
    assert points.status_code == 200 and points.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(points.text)))
    assert len(rows) == 2 * 2 * 3  # levels x planners x ports
    svg = live.get(body["files"]["congestion.svg"], headers=A)
    assert svg.status_code == 200 and svg.text.lstrip().startswith("<?xml") and "M/E2/" in svg.text
    png = live.get(body["files"]["demand.png"], headers=A)
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    listed = live.get("/v1/studies", headers=A).json()["items"]
    assert [s["name"] for s in listed if s["id"] == body["id"]] == ["two levels"]
    # another client sees nothing of it, and its months are not anyone's schedules
    assert live.get(loc, headers=B).status_code == 404
    assert live.get(body["files"]["points.csv"], headers=B).status_code == 404
    assert all(j["problem_name"] != "study" for j in live.get("/v1/schedules", headers=A).json()["items"])
    month_job = body["months"][0]["job_id"]
    assert live.get(f"/v1/schedules/{month_job}", headers=A).status_code == 404


def live_direct(key: MonthKey) -> MonthResult:
    return live(key, StudySettings.model_validate(SETTINGS))


def test_a_bad_study_is_refused_naming_the_field_and_nothing_is_stored(live: TestClient) -> None:
    before = live.get("/v1/studies", headers=A).json()["items"]
    for bad, field in [({"growth": [1.0], "seeds": [0], "options": ["add-berth:NOPE-1"]}, "options"),
                       ({"growth": [0], "seeds": [0]}, "growth"),
                       ({"growth": [1.0], "seeds": [0], "settings": {"traffic": {"days": -3}}}, "traffic"),
                       ({"growth": [1.0], "seeds": [0], "settings": {"limits": {"replan_budget_s": 0}}},
                        "limits"),
                       ({"growth": [1.0] * 1, "seeds": list(range(101))}, "seeds")]:
        r = live.post("/v1/studies", headers=A, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert field in r.text, (field, r.text)
    assert live.get("/v1/studies", headers=A).json()["items"] == before


def test_a_stopped_study_ends_its_queued_months_stopped(live: TestClient) -> None:
    r = live.post("/v1/studies", headers=A, json={"growth": [1.0, 1.5, 2.0], "seeds": [0, 1, 2],
                                                 "settings": SETTINGS})
    assert r.status_code == 202
    stopped = live.post(f"{r.headers['location']}/stop", headers=A)
    assert stopped.status_code == 200
    body = wait_finished(live, r.headers["location"], A, 180.0)
    assert body["counts"].get("stopped", 0) >= 5  # 9 months, at most 2 (one per process) already started
    assert set(body["counts"]) <= {"stopped", "done"}
