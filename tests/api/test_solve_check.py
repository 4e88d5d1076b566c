"""POST /v1/solve (synchronous) and POST /v1/check (the optimizer's checker)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from optimizer.checker import check
from optimizer.loading import load_problem
from optimizer.plan import Plan
from tests.api.conftest import ON_FLEET, Backend, long_problem, tiny_problem
from tests.builders import at, call, voyage


@pytest.fixture(scope="module")
def solver(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app whose synchronous solves run: in its solver processes, or on the fleet's workers."""
    with backend.app(tmp_path_factory.mktemp("solve")) as c:
        yield c


def test_solve_returns_a_checked_plan_and_the_applied_time_limit(solver: TestClient) -> None:
    r = solver.post("/v1/solve", json={"problem": tiny_problem(), "options": {"time_limit_s": 60}})
    assert r.status_code == 200, r.text
    assert r.headers["x-time-limit-s"] == "2"  # capped by PORTSYNC_SYNC_TIME_LIMIT_CAP_S
    plan = Plan.model_validate(r.json())
    assert plan.solver is not None and plan.solver.status == "optimal"
    assert plan.kpis is not None and plan.baseline_kpis is not None
    assert check(load_problem(tiny_problem()), plan).ok


def test_solve_takes_a_bare_problem(solver: TestClient) -> None:
    r = solver.post("/v1/solve?time_limit_s=1", json=tiny_problem())
    assert r.status_code == 200 and r.headers["x-time-limit-s"] == "1"
    assert len(r.json()["calls"]) == 2


@pytest.mark.skipif(ON_FLEET, reason="the embedded runner's synchronous solver process; on a fleet the "
                    "solve is a worker's task (test_fleet.py kills whole workers)")
def test_a_sync_solver_process_that_dies_answers_503_and_is_replaced(
        app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(sync_time_limit_cap_s=30)
    runner = c.app.state.runner  # type: ignore[attr-defined]
    answers: list[Any] = []
    t = threading.Thread(target=lambda: answers.append(
        c.post("/v1/solve?time_limit_s=30", json=long_problem())))
    t.start()
    deadline = time.monotonic() + 60
    while not (runner.sync_solvers and runner.sync_solvers[0].task is not None):
        assert time.monotonic() < deadline, "the solve did not start"
        time.sleep(0.05)
    proc = runner.sync_solvers[0].proc
    time.sleep(0.5)  # let it search
    os.kill(proc.pid, signal.SIGKILL)
    t.join(timeout=30)
    assert answers and answers[0].status_code == 503, answers
    assert answers[0].headers["retry-after"] == "1"
    assert "ended unexpectedly" in answers[0].json()["detail"]
    r = c.post("/v1/solve", json=tiny_problem())
    assert r.status_code == 200, r.text
    assert runner.sync_solvers[0].proc.pid != proc.pid


def test_solve_refuses_a_problem_too_large_for_waiting(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(sync_max_calls=1)
    r = c.post("/v1/solve", json=tiny_problem())
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "calls"]
    assert "POST /v1/schedules" in r.json()["detail"]


def test_solve_validates_the_problem(client: TestClient) -> None:
    bad = tiny_problem()
    bad["voyages"][0] = voyage("V1", 1, "C1", "C9")
    r = client.post("/v1/solve", json={"problem": bad})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "problem.voyages.0.call_ids.1"


def test_solve_of_an_overfull_problem_plans_the_rest_and_explains_the_unserved(solver: TestClient) -> None:
    p = tiny_problem()
    p["calls"][0] = call("C1", "V1", "KZAAU", 10, latest_departure=at(30))
    p["calls"][1] = call("C2", "V2", "KZAAU", 10, latest_departure=at(30))
    p["calls"].append(call("C3", "V3", "KZAAU", 10, latest_departure=at(30)))
    p["vessels"].append({**p["vessels"][0], "id": "V3"})
    p["voyages"].append(voyage("V3", 1, "C3"))
    r = solver.post("/v1/solve", json=p)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["solver"]["status"] == "partial"
    assert plan["solver"]["served_calls"] == len(plan["calls"]) == 2
    assert [u["call_id"] for u in plan["unserved"]] == ["C3"] and plan["unserved"][0]["reasons"]
    assert all(c["berth_start"].endswith("Z") for c in plan["calls"])
    # any two of the three fit before 30 h: a plan serving C3 exists, so it is only not found
    assert (plan["unserved"][0]["kind"], plan["unserved"][0]["rule"]) == ("not_found", None)
    assert plan["solver"]["proven_unserved_calls"] == 0


def test_solve_says_which_unserved_calls_are_proven(solver: TestClient) -> None:
    # C1 holds the berth, frozen, from 0 h to 20 h; C2 must leave by 12 h: no plan can serve it.
    p = tiny_problem()
    p["calls"][0]["frozen"] = {"berth_id": "A1", "berth_start": at(0), "berth_end": at(20)}
    p["voyages"][0]["eta"] = at(0)
    p["calls"][1]["latest_departure"] = at(12)
    r = solver.post("/v1/solve", json=p)
    assert r.status_code == 200, r.text
    plan = r.json()
    got = [(u["call_id"], u["kind"], u["rule"]) for u in plan["unserved"]]
    assert got == [("C2", "proven", "relaxed_model")]
    assert plan["solver"]["proven_unserved_calls"] == 1
    schema = solver.get("/openapi.json").json()["components"]["schemas"]
    assert schema["UnservedKind"]["enum"] == ["proven", "not_found"]
    assert "relaxed_model" in schema["ProofRule"]["enum"]


def _plan_by_hand(overlap: bool) -> list[dict[str, Any]]:
    second = 5 if overlap else 11
    return [
        {"call_id": "C1", "berth_id": "A1", "arrival": at(1), "berth_start": at(1), "berth_end": at(11)},
        {"call_id": "C2", "berth_id": "A1", "arrival": at(1), "berth_start": at(second),
         "berth_end": at(second + 4)},
    ]


def test_check_a_clean_plan(client: TestClient) -> None:
    r = client.post("/v1/check", json={"problem": tiny_problem(), "plan": {"calls": _plan_by_hand(False)}})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["ok"] is True and report["violations"] == []
    assert report["kpis"]["calls"] == 2


def test_check_lists_violations_of_bare_assignments(client: TestClient) -> None:
    r = client.post("/v1/check", json={"problem": tiny_problem(), "plan": _plan_by_hand(True),
                                       "weights": {"dwell": 1}})
    assert r.status_code == 200
    report = r.json()
    assert report["ok"] is False
    assert "berth_overlap" in {v["kind"] for v in report["violations"]}


def test_check_names_a_bad_plan_field(client: TestClient) -> None:
    plan = _plan_by_hand(False)
    del plan[1]["berth_end"]
    r = client.post("/v1/check", json={"problem": tiny_problem(), "plan": plan})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "plan.1.berth_end"
    r = client.post("/v1/check", json={"problem": tiny_problem(), "plan": {"calls": plan}})
    assert r.json()["errors"][0]["field"] == "plan.calls.1.berth_end"


def test_check_validates_the_problem(client: TestClient) -> None:
    bad = tiny_problem()
    bad["calls"][0]["vessel_id"] = "nobody"
    r = client.post("/v1/check", json={"problem": bad, "plan": []})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][:3] == ["body", "problem", "calls"]


def test_check_needs_a_plan(client: TestClient) -> None:
    r = client.post("/v1/check", json={"problem": tiny_problem()})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "plan"


def test_check_refuses_a_plan_made_for_another_problem_unless_forced(solver: TestClient) -> None:
    solved = solver.post("/v1/solve", json=tiny_problem())
    assert solved.status_code == 200, solved.text
    plan = solved.json()
    assert plan["problem_digest"]
    assert solver.post("/v1/check", json={"problem": tiny_problem(), "plan": plan}).json()["ok"] is True
    other = tiny_problem()
    other["calls"][0]["handling"] = {"hours": 30}
    r = solver.post("/v1/check", json={"problem": other, "plan": plan})
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "plan.problem_digest"
    forced = solver.post("/v1/check", json={"problem": other, "plan": plan, "force": True})
    assert forced.status_code == 200 and forced.json()["ok"] is False
