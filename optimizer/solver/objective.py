"""The objective (formula in ObjectiveWeights' docstring), in weighted minutes, plus a penalty
for every unserved call that outweighs all the rest, so that a plan serves as many calls as it
can and is optimal in the rest among plans that serve that many."""

from __future__ import annotations

from ortools.sat.python import cp_model

from optimizer.compiled import CompiledProblem
from optimizer.params import ObjectiveWeights
from optimizer.solver.variables import Variables
from optimizer.steps import unserved_penalty


def exact_slack(cp: CompiledProblem, w: ObjectiveWeights) -> float:
    """How much lower the exact-time objective of a plan can be than its model value: frozen
    calls keep exact times the grid rounds, and previous starts round up. Subtracted from the
    model's bound, it gives a bound on the exact objective the checker computes."""
    step = cp.step
    slack = 0.0
    for c in cp.calls:
        if c.frozen is not None:
            slack += (w.dwell + w.lateness) * c.weight * 2 * step
    given = {a.call_id: a.berth_start for a in cp.problem.previous_in_horizon()}
    for i, (_, start) in cp.previous.items():
        f = cp.problem.calls[i].frozen
        exact = cp.problem.minutes(given[cp.calls[i].id])
        slack += w.start_change * max(0.0, start * step - exact) + (2 * step * w.start_change if f else 0)
    return slack


def add_objective(
    m: cp_model.CpModel, cp: CompiledProblem, v: Variables, w: ObjectiveWeights
) -> cp_model.LinearExprT:
    step = cp.step
    h = cp.horizon
    penalty = unserved_penalty(cp, w)
    terms: list[cp_model.LinearExprT] = []
    for c, cv in zip(cp.calls, v.calls, strict=True):
        if c.optional:
            dwell = m.new_int_var(0, 3 * (h + 1), f"dwell_{c.id}")
            m.add(dwell >= cv.end - cv.arrival).only_enforce_if(cv.served)
            v.dwell[c.index] = dwell
            terms.append(w.dwell * c.weight * step * dwell)
            terms.append(penalty * (1 - cv.served))
        else:
            terms.append(w.dwell * c.weight * step * (cv.end - cv.arrival))
        if c.due is not None and w.lateness > 0:
            late = m.new_int_var(0, max(0, h - c.due), f"late_{c.id}")
            m.add(late >= cv.end - c.due).only_enforce_if(cv.served)
            v.lateness[c.index] = late
            terms.append(w.lateness * c.weight * step * late)
    for i, (berth, start) in cp.previous.items():
        cv = v.calls[i]
        if w.berth_change > 0:
            kept = cv.at_berth.get(berth)
            moved = cv.served - kept if kept is not None else cv.served
            terms.append(w.berth_change * moved)
        if w.start_change > 0:
            shift = m.new_int_var(0, 2 * h + abs(start) + 1, f"shift_{cp.calls[i].id}")
            m.add(shift >= cv.start - start).only_enforce_if(cv.served)
            m.add(shift >= start - cv.start).only_enforce_if(cv.served)
            v.start_shift[i] = shift
            terms.append(w.start_change * step * shift)
    objective = sum(terms)
    m.minimize(objective)
    return objective
