"""The CP-SAT berth-allocation model: variables, constraints and objective put together."""

from __future__ import annotations

from ortools.sat.python import cp_model

from optimizer.budget import Deadline
from optimizer.compiled import CompiledProblem
from optimizer.params import ObjectiveWeights
from optimizer.solver.constraints import Constraints
from optimizer.solver.objective import add_objective
from optimizer.solver.variables import Variables
from optimizer.steps import UNSERVED, Placement, earliest_starts


class BerthModel:
    def __init__(self, cp: CompiledProblem, weights: ObjectiveWeights, deadline: Deadline | None = None):
        """Building a model of thousands of calls takes seconds: the deadline is checked between
        constraint families (TimeUp when it has passed)."""
        self.cp = cp
        self.m = cp_model.CpModel()
        self.lower, self.arrival_lower = earliest_starts(cp)
        check = deadline.check if deadline is not None else (lambda every=64: None)
        self.v = Variables.build(self.m, cp, self.lower, self.arrival_lower, tick=check)
        check(1)
        Constraints(self.m, cp, self.v, tick=check).add_all(lambda: check(1))
        self.objective = add_objective(self.m, cp, self.v, weights)
        check(1)

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
        seen: set[int] = set()

        def add(var: cp_model.IntVar, value: int) -> None:
            dom = variables[var.index].domain
            if len(dom) == 2 and dom[0] == dom[1]:  # constants are shared; never hint them
                return
            if var.index not in seen:
                seen.add(var.index)
                idx.append(var.index)
                val.append(value)

        for i, p in placed.items():
            cv = self.v.calls[i]
            c = self.cp.calls[i]
            served = p.served
            add(cv.served, int(served))
            add(cv.arrival, p.arrival)
            add(cv.start, p.start)
            add(cv.end, p.end)
            for b, lit in cv.at_berth.items():
                add(lit, int(b == p.berth))
            for b, stay in cv.stays.items():
                steps = c.option_steps(b)
                assert steps is not None
                add(stay, p.end - p.start if b == p.berth else steps)
            if i in self.v.dwell:
                add(self.v.dwell[i], p.end - p.arrival if served else 0)
            if i in self.v.lateness:
                assert c.due is not None
                add(self.v.lateness[i], max(0, p.end - c.due) if served else 0)
            if i in self.v.start_shift:
                add(self.v.start_shift[i], abs(p.start - self.cp.previous[i][1]) if served else 0)
        hint.vars.extend(idx)
        hint.values.extend(val)

    def read(self, value: cp_model.CpSolver | cp_model.CpSolverSolutionCallback) -> dict[int, Placement]:
        out = {}
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            if c.frozen is not None:
                berth = c.frozen.berth
            else:
                berth = next((b for b, lit in cv.at_berth.items() if value.value(lit)), UNSERVED)
            out[c.index] = Placement(
                berth, value.value(cv.arrival), value.value(cv.start), value.value(cv.end)
            )
        return out
