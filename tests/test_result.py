"""The solver's answer before any report: a lean Result, a start from a given plan, and the
user's Plan built from it at the edge."""

from __future__ import annotations

import pytest

from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.generator import generate
from optimizer.plan import PlanSource, SolveStatus
from optimizer.report import plan_from_result
from optimizer.solver import Result, SolveOptions, solve

FAST = SolveOptions(time_limit_s=3, workers=1, seed=0)


@pytest.fixture(scope="module")
def problem() -> Problem:
    return generate(calls=40, days=7, seed=3)


@pytest.fixture(scope="module")
def first(problem: Problem) -> Result:
    return solve(problem, FAST)


def test_result_carries_a_checked_plan_with_its_figures(problem: Problem, first: Result) -> None:
    report = check(problem, first.assignments)
    assert report.ok, report.violations[:3]
    assert first.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    assert first.objective == pytest.approx(report.kpis.objective)
    assert first.bound is not None and first.bound <= first.objective + 1e-6
    assert first.gap is not None and 0 <= first.gap <= 1
    assert 0 < first.seconds <= FAST.time_limit_s + 2


def test_history_lists_every_improvement_in_order(first: Result) -> None:
    assert len(first.history) == first.solutions >= 1
    times = [h.seconds for h in first.history]
    assert times == sorted(times)
    assert first.history[0].source in (PlanSource.FCFS, PlanSource.DISPATCH_SPT, PlanSource.DISPATCH_ECT)
    assert first.history[-1].source == first.source
    served_first = [h.objective for h in first.history if h.unserved == 0]
    assert served_first == sorted(served_first, reverse=True)  # each one better than the one before


def test_a_search_from_a_plan_keeps_it_unless_it_finds_better(problem: Problem, first: Result) -> None:
    again = solve(problem, SolveOptions(time_limit_s=1, workers=1, seed=1), initial_plan=first.assignments)
    assert again.history[0].source == PlanSource.INITIAL_PLAN
    assert again.history[0].objective == pytest.approx(first.history[-1].objective)
    assert again.objective is not None and first.objective is not None
    assert again.objective <= first.objective + 1e-6
    assert check(problem, again.assignments).ok


def test_an_initial_plan_for_other_calls_is_ignored_where_it_does_not_apply(problem: Problem) -> None:
    other = generate(calls=40, days=7, seed=4)
    stray = solve(other, SolveOptions(time_limit_s=1, workers=1)).assignments
    result = solve(problem, SolveOptions(time_limit_s=1, workers=1), initial_plan=stray)
    assert check(problem, result.assignments).ok
    assert len(result.assignments) + len(result.unserved) == len(problem.calls)


def test_the_plan_built_at_the_edge_says_what_the_result_says(problem: Problem, first: Result) -> None:
    plan = plan_from_result(problem, first, FAST.weights)
    assert plan.solver is not None and plan.kpis is not None
    assert plan.solver.objective == first.objective == pytest.approx(plan.kpis.objective)
    assert plan.solver.best_bound == first.bound and plan.solver.status == first.status
    assert {c.call_id for c in plan.calls} == {a.call_id for a in first.assignments}
    assert plan.baseline_kpis is not None  # the yardstick came with the result
