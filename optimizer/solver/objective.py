"""The objective of DESIGN section 4 (formula in ObjectiveWeights' docstring), in weighted minutes."""

from __future__ import annotations

from ortools.sat.python import cp_model

from optimizer.compiled import CompiledProblem
from optimizer.params import ObjectiveWeights
from optimizer.solver.variables import Variables


def add_objective(
    m: cp_model.CpModel, cp: CompiledProblem, v: Variables, w: ObjectiveWeights
) -> cp_model.LinearExprT:
    step = cp.step
    terms: list[cp_model.LinearExprT] = []
    for c, cv in zip(cp.calls, v.calls, strict=True):
        terms.append(w.dwell * c.weight * step * (cv.end - cv.arrival))
        if c.due is not None and w.lateness > 0:
            late = m.new_int_var(0, max(0, cp.horizon - c.due), f"late_{c.id}")
            m.add(late >= cv.end - c.due)
            v.lateness[c.index] = late
            terms.append(w.lateness * c.weight * step * late)
    for i, (berth, start) in cp.previous.items():
        cv = v.calls[i]
        if w.berth_change > 0:
            kept = cv.at_berth.get(berth)
            terms.append(w.berth_change * (1 - kept) if kept is not None else w.berth_change)
        if w.start_change > 0:
            shift = m.new_int_var(0, 2 * cp.horizon, f"shift_{cp.calls[i].id}")
            m.add_abs_equality(shift, cv.start - start)
            v.start_shift[i] = shift
            terms.append(w.start_change * step * shift)
    # In a relaxed model (diagnosis) breaking a hard limit costs far more than any plan quality.
    big = 1000 * max(1, w.dwell) * cp.step * max((c.weight for c in cp.calls), default=1)
    terms.extend(big * x for x in (*v.overdue.values(), *v.link_overrun.values()))
    objective = sum(terms)
    m.minimize(objective)
    return objective
