"""The CP-SAT berth-allocation model: variables, constraints and objective put together."""

from __future__ import annotations

from graphlib import TopologicalSorter

from ortools.sat.python import cp_model

from optimizer.baseline import Placement
from optimizer.compiled import CompiledProblem
from optimizer.params import ObjectiveWeights
from optimizer.solver.constraints import Constraints
from optimizer.solver.objective import add_objective
from optimizer.solver.variables import Variables


def earliest_starts(cp: CompiledProblem) -> list[int]:
    """A lower bound on each call's start from ETAs, earliest starts, voyages and links."""
    preds: dict[int, list[tuple[int, int]]] = {c.index: [] for c in cp.calls}
    for c in cp.calls:
        if c.prev is not None:
            preds[c.index].append((c.prev, c.sail_min))
    for link in cp.links:
        preds[link.after].append((link.before, link.min_gap))
    lower = [0] * len(cp.calls)
    order = TopologicalSorter({i: [p for p, _ in ps] for i, ps in preds.items()}).static_order()
    for i in order:
        c = cp.calls[i]
        if c.frozen is not None:
            lower[i] = c.frozen[1]
            continue
        lo = c.earliest if c.earliest > -(10**8) else -cp.horizon
        for p, gap in preds[i]:
            lo = max(lo, lower[p] + min(o.steps for o in cp.calls[p].options) + gap)
        lower[i] = lo
    return lower


class BerthModel:
    def __init__(self, cp: CompiledProblem, weights: ObjectiveWeights, relax: bool = False):
        self.cp = cp
        self.m = cp_model.CpModel()
        self.lower = earliest_starts(cp)
        self.v = Variables.build(self.m, cp, self.lower)
        Constraints(self.m, cp, self.v, relax=relax).add_all()
        self.objective = add_objective(self.m, cp, self.v, weights)

    def hint(self, placed: dict[int, Placement], target: cp_model.CpModel | None = None) -> None:
        """Give a complete start plan: every decision variable gets a value.

        `target` is this model (default) or a clone of it, as the LNS rounds use.
        """
        m = target if target is not None else self.m
        m.clear_hints()
        variables = m.proto.variables
        hint = m.proto.solution_hint
        idx: list[int] = []
        val: list[int] = []

        def add(var: cp_model.IntVar, value: int) -> None:
            dom = variables[var.index].domain
            if not (len(dom) == 2 and dom[0] == dom[1]):  # constants are shared; never hint them
                idx.append(var.index)
                val.append(value)

        for i, p in placed.items():
            cv = self.v.calls[i]
            c = self.cp.calls[i]
            add(cv.arrival, p.arrival)
            add(cv.start, p.start)
            add(cv.end, p.end)
            for b, lit in cv.at_berth.items():
                add(lit, int(b == p.berth))
            for b, stay in cv.stays.items():
                steps = c.option_steps(b)
                assert steps is not None
                add(stay, p.end - p.start if b == p.berth else steps)
            if i in self.v.lateness:
                assert c.due is not None
                add(self.v.lateness[i], max(0, p.end - c.due))
            if i in self.v.start_shift:
                add(self.v.start_shift[i], abs(p.start - self.cp.previous[i][1]))
            if i in self.v.overdue:
                assert c.latest_end is not None
                add(self.v.overdue[i], max(0, p.end - c.latest_end))
        for k, over in self.v.link_overrun.items():
            link = self.cp.links[k]
            if link.max_gap is not None and link.before in placed and link.after in placed:
                add(over, max(0, placed[link.after].start - placed[link.before].end - link.max_gap))
        hint.vars.extend(idx)
        hint.values.extend(val)

    def read(self, value: cp_model.CpSolver | cp_model.CpSolverSolutionCallback) -> dict[int, Placement]:
        out = {}
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            berth = next(b for b, lit in cv.at_berth.items() if value.value(lit))
            out[c.index] = Placement(
                berth, value.value(cv.arrival), value.value(cv.start), value.value(cv.end)
            )
        return out
