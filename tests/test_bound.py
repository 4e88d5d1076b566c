"""The contention bound: never above the objective of a plan that serves every call, and well
above the contention-free bound when calls queue for one berth."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings, target
from hypothesis import strategies as st

from optimizer.budget import Deadline
from optimizer.compiled import compile_problem
from optimizer.domain import Problem
from optimizer.kpis import objective
from optimizer.loading import load_problem
from optimizer.params import ContentionBoundParameters, ObjectiveWeights, SearchParameters, SolveOptions
from optimizer.plan import SolveStatus
from optimizer.solver import solve
from optimizer.solver.bound import contention_bound
from optimizer.solver.solve import simple_bound
from optimizer.steps import earliest_starts
from tests.builders import at, berth, call, port, problem_dict, vessel, voyage

PORTS = ("KZAAU", "AZBAK")


def _bound(problem: Problem, w: ObjectiveWeights, params: ContentionBoundParameters) -> float | None:
    cp = compile_problem(problem)
    return contention_bound(cp, w, earliest_starts(cp)[0], Deadline(60), 60, params)


@st.composite
def queued_problems(draw: st.DrawFn) -> Problem:
    """Small problems where vessels queue: few berths, close ETAs, voyages between two ports,
    berth-dependent handling, closures, maintenance, a link, a frozen call, dues and weights."""
    ports = []
    for pid in PORTS:
        berths = [berth(f"{pid}-{k}", productivity=draw(st.sampled_from([1.0, 1.5])))
                  for k in range(draw(st.integers(1, 2)))]
        closures = []
        if draw(st.booleans()):
            s = draw(st.integers(0, 30))
            closures.append({"start": at(s), "end": at(s + draw(st.integers(2, 12)))})
        if draw(st.booleans()):
            s = draw(st.integers(0, 30))
            berths[0]["unavailable"] = [{"start": at(s), "end": at(s + draw(st.integers(2, 8)))}]
        ports.append(port(pid, berths, tz="Asia/Baku" if pid == "AZBAK" else "Asia/Aqtau", closures=closures))
    vessels, calls, voyages = [], [], []
    for v in range(draw(st.integers(2, 6))):
        vid = f"V{v}"
        vessels.append(vessel(vid))
        ids = []
        for k, pid in enumerate(draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=2))):
            extra: dict[str, Any] = {"weight": draw(st.integers(1, 3))}
            if draw(st.integers(0, 2)) == 0:
                extra["requested_departure"] = at(draw(st.integers(5, 60)))
            if draw(st.integers(0, 4)) == 0:
                extra["earliest_start"] = at(draw(st.integers(0, 20)))
            calls.append(call(f"{vid}-{k}", vid, pid, draw(st.integers(2, 10)), **extra))
            ids.append(f"{vid}-{k}")
        voyages.append(voyage(vid, draw(st.integers(0, 12)), *ids))
    if draw(st.booleans()):  # a call already at berth, alone on its voyage
        vessels.append(vessel("F"))
        calls.append(call("F-0", "F", "KZAAU", 6, frozen={
            "berth_id": "KZAAU-0", "berth_start": at(draw(st.integers(0, 12))),
            "berth_end": at(draw(st.integers(13, 20)))}))
        voyages.append(voyage("F", 0, "F-0"))
    links = []
    pairs = [(x["id"], y["id"]) for x in calls for y in calls
             if x["vessel_id"] != y["vessel_id"] and "frozen" not in x and "frozen" not in y]
    if pairs and draw(st.booleans()):
        before, after = draw(st.sampled_from(pairs))
        links.append({"before": before, "after": after, "min_gap_hours": draw(st.integers(0, 4))})
    step = draw(st.sampled_from([1, 30]))
    return load_problem(problem_dict(ports, vessels, calls, voyages, days=5, links=links,
                                     time_step_minutes=step))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queued_problems(), st.sampled_from([0.5, 1.0, 4.0]), st.sampled_from([3.0, 48.0]))
def test_bound_never_exceeds_the_optimum(problem: Problem, bucket_hours: float, window_hours: float) -> None:
    """Buckets, start windows (a short one exercises the column for later starts), closures,
    maintenance, frozen stays and voyages: each rounded to the safe side, or the bound would pass
    the objective of a proven optimal plan."""
    w = ObjectiveWeights()
    result = solve(problem, SolveOptions(time_limit_s=20, workers=1, seed=0))
    assume(result.status == SolveStatus.OPTIMAL and not result.unserved)
    optimum = objective(problem, result.assignments, w)
    params = ContentionBoundParameters(bucket_hours=bucket_hours, window_hours=window_hours)
    bound = _bound(problem, w, params)
    assert bound is not None
    if optimum:
        target(bound / optimum)  # steer the search to problems where the bound is tight
    assert bound <= optimum + 1e-6


def _one_berth_queue(hours: list[int], step: int = 1) -> Problem:
    vessels = [vessel(f"V{k}") for k in range(len(hours))]
    calls = [call(f"C{k}", f"V{k}", "KZAAU", h) for k, h in enumerate(hours)]
    voyages = [voyage(f"V{k}", 0, f"C{k}") for k in range(len(hours))]
    return load_problem(problem_dict([port("KZAAU", [berth("B1")])], vessels, calls, voyages, days=5,
                                     time_step_minutes=step))


def test_one_berth_queue_reaches_the_shortest_first_total() -> None:
    """Eight vessels due at once at one berth: the best any plan does is shortest handling first,
    each dwelling until its own end; the contention-free bound counts handling alone."""
    hours = [2, 3, 5, 7, 8, 11, 13, 6]
    problem = _one_berth_queue(hours)
    w = ObjectiveWeights()
    ends, t = [], 0
    for h in sorted(hours):
        t += h
        ends.append(t)
    shortest_first = w.dwell * 60 * sum(ends)  # 10 per minute of dwell, priority 1
    cp = compile_problem(problem)
    contention_free = simple_bound(cp, w, earliest_starts(cp)[0])
    assert contention_free == w.dwell * 60 * sum(hours)
    bound = _bound(problem, w, ContentionBoundParameters(bucket_hours=1))
    assert bound is not None
    assert contention_free < bound <= shortest_first
    assert bound >= shortest_first * (1 - 1e-6)
    coarse = _bound(problem, w, ContentionBoundParameters())  # 4-hour buckets: close, below
    assert coarse is not None
    assert 0.98 * shortest_first <= coarse <= shortest_first


def test_no_bound_when_a_call_cannot_be_served() -> None:
    """A call whose latest departure comes before it can finish: no plan serves every call."""
    data = problem_dict([port("KZAAU", [berth("B1")])], [vessel("V0")],
                        [call("C0", "V0", "KZAAU", 10, latest_departure=at(5))], [voyage("V0", 0, "C0")])
    problem = load_problem(data)
    cp = compile_problem(problem)
    assert contention_bound(cp, ObjectiveWeights(), earliest_starts(cp)[0], Deadline(60), 60) is None


def test_no_bound_beyond_its_budget() -> None:
    """Too big for the seconds it is given: not attempted (the simple bound stands)."""
    problem = _one_berth_queue([4] * 30)
    cp = compile_problem(problem)
    assert contention_bound(cp, ObjectiveWeights(), earliest_starts(cp)[0], Deadline(60), 1e-4) is None


def test_a_large_solve_reports_the_contention_bound() -> None:
    """Above full_model_calls the solve's bound is the contention bound, not the contention-free
    one: ninety vessels arriving every half hour at two berths, each taking 2 to 4 hours."""
    hours = [2 + k % 3 for k in range(90)]
    vessels = [vessel(f"V{k}") for k in range(len(hours))]
    calls = [call(f"C{k}", f"V{k}", "KZAAU", h) for k, h in enumerate(hours)]
    voyages = [voyage(f"V{k}", k / 2, f"C{k}") for k in range(len(hours))]
    problem = load_problem(problem_dict([port("KZAAU", [berth("B1"), berth("B2")])], vessels, calls, voyages,
                                        days=10, time_step_minutes=5))
    params = SearchParameters(contention=ContentionBoundParameters(share=0.5))
    assert len(problem.calls) > params.full_model_calls
    result = solve(problem, SolveOptions(time_limit_s=4, workers=1, seed=0), params=params)
    assert result.objective is not None and result.bound is not None and not result.unserved
    w = ObjectiveWeights()
    cp = compile_problem(problem)
    contention_free = simple_bound(cp, w, earliest_starts(cp)[0])
    contention = _bound(problem, w, ContentionBoundParameters())
    assert contention is not None and contention > 1.5 * contention_free  # the queue grows all day
    assert result.bound >= min(contention, result.objective) - 1e-6
