"""Large-problem search: local search and LNS keep every plan complete and feasible, and stop on request."""

from __future__ import annotations

import threading
import time

import pytest

from optimizer.baseline import fcfs_steps
from optimizer.checker import check
from optimizer.compiled import compile_problem
from optimizer.domain import Problem
from optimizer.generator import generate
from optimizer.params import ObjectiveWeights, SolveOptions
from optimizer.solver import Progress, SearchParameters, start_plan
from optimizer.solver.local_search import LocalSearch
from optimizer.steps import plan_objective, to_assignments
from tests.builders import solve_plan


@pytest.fixture(scope="module")
def month() -> Problem:
    problem = generate(200, 7, seed=11)
    assert len(problem.calls) > SearchParameters().full_model_calls  # the large-problem path
    assert problem.links and any(len(v.call_ids) > 1 for v in problem.voyages)
    return problem


def test_local_search_keeps_voyages_links_and_closures(month: Problem) -> None:
    cp = compile_problem(month)
    w = ObjectiveWeights()
    start = fcfs_steps(cp)
    ls = LocalSearch(cp, w, start, seed=3)
    ls.run(time.monotonic() + 1.5, lambda: False)
    best = ls.best_plan()
    assert ls.moves > 1000
    assert ls.best_value == plan_objective(cp, w, best) < plan_objective(cp, w, start)
    report = check(month, to_assignments(cp, best), w)
    assert report.ok, report.violations[:3]


def test_solve_improves_on_its_start_plan(month: Problem) -> None:
    options = SolveOptions(time_limit_s=3, workers=2, seed=0)
    seen: list[float] = []
    plan = solve_plan(month, options, on_progress=lambda p: seen.append(p.objective))
    assert plan.solver is not None
    cp = compile_problem(month)
    start, _ = start_plan(cp, options)
    assert check(month, plan, options.weights).ok
    assert plan.solver.objective is not None
    assert plan.solver.objective < plan_objective(cp, options.weights, start)
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == len(seen)  # each report improves
    assert seen[-1] == plan.solver.objective


def test_stop_during_search_returns_best_plan_promptly(month: Problem) -> None:
    stop = threading.Event()
    best: list[Progress] = []

    def on_progress(p: Progress) -> None:
        best.append(p)
        if len(best) == 3:
            stop.set()

    t0 = time.monotonic()
    plan = solve_plan(month, SolveOptions(time_limit_s=60, workers=2), on_progress=on_progress, stop=stop)
    assert time.monotonic() - t0 < 20
    assert plan.solver is not None and plan.solver.stopped
    assert check(month, plan).ok
    assert plan.solver.objective is not None and plan.solver.objective <= best[-1].objective


def test_local_search_floors_bound_each_calls_cost(month: Problem) -> None:
    """The floor that steers move selection is what a call costs at best (no wait, fastest berth)."""
    cp = compile_problem(month)
    ls = LocalSearch(cp, ObjectiveWeights(), fcfs_steps(cp), seed=1)
    assert all(cost >= floor for cost, floor in zip(ls.cost, ls.floor, strict=True))
    assert any(cost > floor for cost, floor in zip(ls.cost, ls.floor, strict=True))
