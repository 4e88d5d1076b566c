"""Solver behaviour a planner relies on: start plans, previous plans, stopping, time limits, quality."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from optimizer.checker import check
from optimizer.compiled import compile_problem
from optimizer.domain import PreviousAssignment, Problem
from optimizer.generator import generate
from optimizer.generator.planted import random_plan
from optimizer.kpis import objective
from optimizer.loading import load_problem
from optimizer.solver import Progress, SolveOptions
from optimizer.solver.bound import contention_free_dwell
from optimizer.steps import earliest_starts
from tests.builders import at, berth, call, port, problem_dict, solve_plan, vessel, voyage

PORTS = ("KZAAU", "KZKUR", "AZBAK")


@st.composite
def multi_port_problems(draw: st.DrawFn) -> Problem:
    """Random small problems over the three ports: voyages, closures, maintenance, links, frozen calls."""
    ports = []
    for pid in PORTS:
        n = draw(st.integers(1, 2))
        berths = [
            berth(
                f"{pid}-{k}",
                length=180 if k == 0 else draw(st.sampled_from([120, 180])),
                kinds=("general", "rail_ferry"),
                productivity=draw(st.sampled_from([1.0, 1.5])),
            )
            for k in range(n)
        ]
        closures = []
        if draw(st.booleans()):
            s = draw(st.integers(0, 60))
            closures.append({"start": at(s), "end": at(s + draw(st.integers(2, 20)))})
        if draw(st.booleans()):
            s = draw(st.integers(0, 60))
            berths[0]["unavailable"] = [{"start": at(s), "end": at(s + draw(st.integers(2, 10)))}]
        ports.append(port(pid, berths, tz="Asia/Baku" if pid == "AZBAK" else "Asia/Aqtau", closures=closures))
    vessels, calls, voyages = [], [], []
    for v in range(draw(st.integers(2, 5))):
        vid = f"V{v}"
        vessels.append(vessel(vid, length=draw(st.sampled_from([100, 150]))))
        route = draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=3))
        ids = []
        for k, pid in enumerate(route):
            cid = f"{vid}-{k}"
            extra: dict[str, Any] = {"weight": draw(st.integers(1, 3))}
            if draw(st.integers(0, 3)) == 0:
                extra["requested_departure"] = at(draw(st.integers(10, 90)))
            if draw(st.integers(0, 4)) == 0:
                extra["earliest_start"] = at(draw(st.integers(0, 50)))
            calls.append(
                call(
                    cid,
                    vid,
                    pid,
                    draw(st.integers(2, 12)),
                    cargo=draw(st.sampled_from(["general", "rail_ferry"])),
                    **extra,
                )
            )
            ids.append(cid)
        voyages.append(voyage(vid, draw(st.integers(0, 40)), *ids))
    links = []
    if len(calls) >= 2 and draw(st.booleans()):
        a, b = draw(
            st.sampled_from(
                [(x["id"], y["id"]) for x in calls for y in calls if x["vessel_id"] != y["vessel_id"]]
            )
        )
        links.append({"before": a, "after": b, "min_gap_hours": draw(st.integers(0, 4))})
    # 30-minute steps make the problem small enough for the time-indexed MIP bound and plan
    step = draw(st.sampled_from([1, 30]))
    return load_problem(problem_dict(ports, vessels, calls, voyages, days=6, links=links,
                                     time_step_minutes=step))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(multi_port_problems())
def test_every_plan_passes_the_checker_and_never_loses_to_fcfs(problem: Problem) -> None:
    plan = solve_plan(problem, SolveOptions(time_limit_s=5, workers=1))
    assert plan.solver is not None
    assert plan.solver.status.value in ("optimal", "feasible")
    report = check(problem, plan)
    assert report.ok, report.violations
    cp = compile_problem(problem)
    no_contention = contention_free_dwell(cp, earliest_starts(cp)[0]) * cp.step / 60
    assert report.kpis.total_dwell_hours >= no_contention - 1e-6
    # no worse than plans the solver never saw: random ones that keep every rule
    for seed in range(3):
        other = random_plan(problem, seed)
        if check(problem, other).ok:
            assert report.kpis.objective <= objective(problem, other) + 1e-6


def _week() -> Problem:
    return generate(calls=60, days=7, seed=3)


def test_previous_plan_is_used_as_start_and_changes_are_penalised() -> None:
    problem = _week()
    first = solve_plan(problem, SolveOptions(time_limit_s=5, workers=1))
    previous = [
        PreviousAssignment(call_id=c.call_id, berth_id=c.berth_id, berth_start=c.berth_start)
        for c in first.calls
    ]
    again = problem.model_copy(update={"previous_plan": previous})
    plan = solve_plan(again, SolveOptions(time_limit_s=5, workers=1))
    assert plan.solver is not None and plan.solver.hint_used
    assert check(again, plan).ok
    moved = sum(
        1 for c in plan.calls if next(p for p in previous if p.call_id == c.call_id).berth_id != c.berth_id
    )
    assert moved <= len(previous) // 10


def test_time_limit_and_parameters_reach_cp_sat(monkeypatch: pytest.MonkeyPatch) -> None:
    """What CP-SAT is given, read from its parameters as it starts (not from its log)."""
    handed: list[dict[str, float]] = []
    fields = ("max_time_in_seconds", "random_seed", "linearization_level", "num_workers")
    real_solve = cp_model.CpSolver.solve

    def spy(self: cp_model.CpSolver, *args: Any, **kwargs: Any) -> Any:
        handed.append({f: getattr(self.parameters, f) for f in fields})
        return real_solve(self, *args, **kwargs)

    monkeypatch.setattr(cp_model.CpSolver, "solve", spy)
    solve_plan(_week(), SolveOptions(time_limit_s=1.5, workers=1, seed=7, cp_sat={"linearization_level": 0}))
    assert handed, "CP-SAT never ran"
    params = handed[-1]
    assert 1.0 < params["max_time_in_seconds"] <= 1.5  # counts from the call: start plans used some
    assert params["random_seed"] == 7
    assert params["linearization_level"] == 0
    assert params["num_workers"] == 1


def test_unknown_cp_sat_parameter_names_the_field() -> None:
    import pytest

    with pytest.raises(ValueError, match=r"options\.cp_sat\.no_such_thing"):
        solve_plan(_week(), SolveOptions(time_limit_s=1, cp_sat={"no_such_thing": 1}))


def test_stop_returns_the_best_plan_so_far() -> None:
    problem = generate(calls=150, days=7, seed=5)
    stop = threading.Event()
    seen: list[Progress] = []

    def on_progress(p: Progress) -> None:
        seen.append(p)
        stop.set()

    plan = solve_plan(problem, SolveOptions(time_limit_s=120, workers=2), on_progress=on_progress, stop=stop)
    assert plan.solver is not None and plan.solver.stopped
    assert plan.solver.seconds < 60
    assert seen and len(plan.calls) == len(problem.calls)
    assert check(problem, plan).ok
    assert plan.solver.objective is not None and plan.solver.objective <= seen[0].objective


def test_progress_reports_improving_solutions() -> None:
    seen: list[Progress] = []
    solve_plan(_week(), SolveOptions(time_limit_s=3, workers=2), on_progress=seen.append)
    assert seen
    objectives = [p.objective for p in seen]
    assert objectives == sorted(objectives, reverse=True)
    assert all(p.best_bound is None or p.best_bound <= p.objective + 1e-6 for p in seen)
    assert all(len(p.assignments) == 60 for p in seen)


def test_jit_arrival_saves_waiting_against_fcfs() -> None:
    """The headline: slow steaming into a busy port replaces anchorage waiting."""
    problem = _week()
    plan = solve_plan(problem, SolveOptions(time_limit_s=5, workers=2))
    assert plan.kpis is not None and plan.baseline_kpis is not None
    assert plan.kpis.total_dwell_hours <= plan.baseline_kpis.total_dwell_hours
    assert plan.kpis.total_waiting_hours <= plan.baseline_kpis.total_waiting_hours
    assert all(
        c.arrival_local is not None
        and c.arrival_local.utcoffset() in (timedelta(hours=4), timedelta(hours=5))
        for c in plan.calls
    )
