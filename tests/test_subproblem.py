"""A neighbourhood built as a small problem of its own (optimizer.solver.subproblem) must be the
same problem as the whole model with every other call fixed: the same best plan value, and plans
the independent checker accepts in the whole problem."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from optimizer.baseline import fcfs_steps
from optimizer.budget import Deadline
from optimizer.checker import ViolationKind, check
from optimizer.compiled import compile_problem
from optimizer.generator.planted import PlantedSpec, planted
from optimizer.params import ObjectiveWeights
from optimizer.solver.lns import Lns
from optimizer.solver.model import BerthModel
from optimizer.solver.subproblem import restrict
from optimizer.steps import plan_objective, to_assignments, unserved_calls


def _optimal(solver: cp_model.CpSolver, model: cp_model.CpModel) -> int:
    code = solver.solve(model)
    assert code == cp_model.OPTIMAL, solver.status_name(code)
    return code


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), calls=st.sampled_from([40, 80]), replan=st.booleans(),
       from_fcfs=st.booleans(), size=st.integers(3, 14))
def test_a_compact_neighbourhood_is_the_fixed_outside_model(seed: int, calls: int, replan: bool,
                                                            from_fcfs: bool, size: int) -> None:
    made = planted(PlantedSpec(calls=calls, seed=seed, replan=replan))
    problem = made.problem
    cp = compile_problem(problem)
    w = ObjectiveWeights()
    if from_fcfs:  # leaves calls unserved: vessels passing ports, around and inside the neighbourhood
        placed = fcfs_steps(cp, respect_limits=True)
    else:
        placed = {cp.call_index[a.call_id]: p for a, p in zip(made.plan, _steps(cp, made.plan), strict=True)}
    model = BerthModel(cp, w, Deadline(60))
    lns = Lns(model, w, seed=seed, workers=1)
    rng = random.Random(seed)
    movable = [c.index for c in cp.calls if c.frozen is None]
    anchor = placed[rng.choice(movable)].start
    free = set(sorted(movable, key=lambda i: abs(placed[i].start - anchor))[:size])
    if unserved_calls(placed) and rng.random() < 0.5:
        free.add(rng.choice(unserved_calls(placed)))

    nb = restrict(cp, placed, free)
    free = set(nb.calls[: nb.free])  # fixed neighbours left unserved join the free calls
    whole = lns._fixed_outside(placed, free)
    s1 = cp_model.CpSolver()
    s1.parameters.num_workers = 1
    s1.parameters.max_time_in_seconds = 30
    _optimal(s1, whole)
    by_whole = plan_objective(cp, w, model.read(s1))

    small = nb.model(placed, w)
    s2 = cp_model.CpSolver()
    s2.parameters.num_workers = 1
    s2.parameters.max_time_in_seconds = 30
    _optimal(s2, small.m)
    merged = nb.merge(placed, small.read(s2))
    assert merged is not None
    assert plan_objective(cp, w, merged) == by_whole
    breaches = [v for v in check(problem, to_assignments(cp, merged)).violations
                if v.kind != ViolationKind.MISSING_CALL]
    assert breaches == []
    # the calls outside the neighbourhood (and its context) are where they were
    inside = set(nb.calls[: nb.free])
    assert all(merged[i] == p for i, p in placed.items() if i not in inside)
    # a margin only narrows the round: never better than the whole, its plans still valid
    capped = restrict(cp, placed, free, margin=12)
    small = capped.model(placed, w)
    s3 = cp_model.CpSolver()
    s3.parameters.num_workers = 1
    _optimal(s3, small.m)
    narrow = capped.merge(placed, small.read(s3))
    assert narrow is not None
    assert by_whole <= plan_objective(cp, w, narrow) <= plan_objective(cp, w, placed)


def _steps(cp, plan):  # type: ignore[no-untyped-def]
    """The planted plan (exact times on the grid) as placements."""
    from optimizer.steps import Placement

    return [Placement(cp.berth_index[a.berth_id], cp.up(a.arrival), cp.up(a.berth_start), cp.up(a.berth_end))
            for a in plan]
