"""A time-indexed linear relaxation: the lower bound that proves berth plans optimal.

x[c, b, t] = 1 when call c starts at berth b at step t. Each call starts once; at each step a
berth holds at most one call; the objective is the model's, with a call's end = t + handling.
CP-SAT's own bound on the interval model is weak for sums of completion times; this relaxation
is known to be tight for berth allocation. It is built only when it is small enough to solve in
seconds: the start steps of each call are limited to those a plan better than the incumbent
can use (no call can dwell longer than the incumbent's objective leaves room for).

The relaxation keeps only what holds for every plan: start windows, hard latest departures,
maintenance, closures at berthing, one call per berth at a time, voyage sailing and link
precedences; a call that stays moored through a closure occupies at least its handling time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from optimizer.compiled import CompiledProblem
from optimizer.params import MipParameters, ObjectiveWeights
from optimizer.steps import earliest_end, earliest_fit, merged


def _free_starts(cp: CompiledProblem, maintenance: list[tuple[int, int]], port: int, first: int, last: int,
                 steps: int) -> Iterator[int]:
    """The starts from `first` to `last` where a stay of `steps` meets no maintenance and the port
    is open for berthing (a departure in a closure waits moored)."""
    t = earliest_fit(cp, maintenance, port, first, steps, moored_through_closures=True)
    while t <= last:
        yield t
        t = earliest_fit(cp, maintenance, port, t + 1, steps, moored_through_closures=True)


@dataclass
class TimeIndexed:
    bound: float
    starts: dict[int, tuple[int, int]] | None  # call -> (berth, start) of the MIP's best plan


Columns = dict[int, list[tuple[pywraplp.Variable, int, int]]]  # call -> (x, start, end) per column


def time_indexed_bound(cp: CompiledProblem, w: ObjectiveWeights, lower: list[int], incumbent: float,
                       time_limit_s: float, integer: bool = False,
                       max_nonzeros: int = MipParameters().max_nonzeros) -> TimeIndexed | None:
    """A lower bound on the objective of every plan, or None when the LP is too big or unsolved.

    With `integer`, x is binary and a MIP solver (SCIP) branches on it: its bound is at least the
    LP's and, given the time, proves the optimum; its best plan comes back as berth and start per
    call (for single-call voyages without closures it is an exact model of the problem)."""
    t0 = time.monotonic()
    if cp.previous or any(c.frozen is not None for c in cp.calls):
        return None  # change costs and frozen calls: not modelled here; CP-SAT's bound stands
    unit = {c.index: w.dwell * c.weight * cp.step for c in cp.calls}
    latest_end = _latest_ends(cp, unit, incumbent)
    nonzeros = sum(max(0, latest_end[c.index] - o.steps - lower[c.index] + 1) * o.steps
                   for c in cp.calls for o in c.options)
    if nonzeros > max_nonzeros:
        return None
    lp = pywraplp.Solver.CreateSolver("SCIP" if integer else "GLOP")
    if lp is None:
        return None
    objective = lp.Objective()
    built = _start_columns(lp, cp, unit, lower, latest_end, integer,
                           lambda: time.monotonic() - t0 > time_limit_s)
    if built is None:
        return None
    columns_of, berth_of = built
    _voyage_link_and_lateness_rows(lp, cp, w, unit, columns_of)
    objective.SetMinimization()
    left = time_limit_s - (time.monotonic() - t0)
    if left <= 0:
        return None
    lp.SetTimeLimit(int(left * 1000))
    status = lp.Solve()
    if integer and status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        starts = {i: next((berth_of[x], s) for x, s, _ in cols if x.solution_value() > 0.5)
                  for i, cols in columns_of.items()}
        best_bound = objective.BestBound()
        return TimeIndexed(min(incumbent, best_bound if math.isfinite(best_bound) else 0.0), starts)
    if integer and status == pywraplp.Solver.NOT_SOLVED:
        best_bound = objective.BestBound()
        return TimeIndexed(min(incumbent, best_bound), None) if math.isfinite(best_bound) else None
    if status != pywraplp.Solver.OPTIMAL:
        return None
    return TimeIndexed(min(incumbent, objective.Value()), None)


def _latest_ends(cp: CompiledProblem, unit: dict[int, int], incumbent: float) -> dict[int, int]:
    """The latest end of each call in any plan better than the incumbent, along voyage chains:
    what prunes the start-time columns."""
    least = {c.index: unit[c.index] * min(o.steps for o in c.options) for c in cp.calls}
    slack = incumbent - sum(least.values())
    latest_end: dict[int, int] = {}
    for i in cp.topological_order():
        c = cp.calls[i]
        max_dwell = math.floor((slack + least[i]) / unit[i]) if unit[i] else cp.horizon
        base = c.eta if c.prev is None and c.eta is not None else latest_end.get(c.prev or -1, cp.horizon)
        if c.prev is not None:
            base += cp.calls[i].sail_max
        end = min(cp.horizon, base + max_dwell)
        if c.latest_end is not None:
            end = min(end, c.latest_end)
        latest_end[i] = end
    return latest_end


def _start_columns(lp: pywraplp.Solver, cp: CompiledProblem, unit: dict[int, int], lower: list[int],
                   latest_end: dict[int, int], integer: bool, late: Callable[[], bool],
                   ) -> tuple[Columns, dict[pywraplp.Variable, int]] | None:
    """One column per call, berth and free start: each call once, each berth step at most once;
    a first call's dwell on its column. None when a call has no start or time runs out."""
    inf = lp.infinity()
    objective = lp.Objective()
    capacity: dict[tuple[int, int], pywraplp.Constraint] = {}
    columns_of: Columns = {}
    berth_of: dict[pywraplp.Variable, int] = {}
    maintenance = [merged(windows) for windows in cp.unavailable]
    for c in cp.calls:
        one = lp.Constraint(1, 1)
        cols: list[tuple[pywraplp.Variable, int, int]] = []
        for o in c.options:
            for t in _free_starts(cp, maintenance[o.berth], c.port, lower[c.index],
                                  latest_end[c.index] - o.steps, o.steps):
                x = lp.IntVar(0, 1, "") if integer else lp.NumVar(0, 1, "")
                one.SetCoefficient(x, 1)
                for u in range(t, t + o.steps):
                    key = (o.berth, u)
                    row = capacity.get(key)
                    if row is None:
                        row = capacity[key] = lp.Constraint(-inf, 1)
                    row.SetCoefficient(x, 1)
                end = t + o.steps
                if c.prev is None and c.eta is not None:  # later calls' dwell: variable d, see below
                    objective.SetCoefficient(x, unit[c.index] * (end - c.eta))
                cols.append((x, t, end))
                berth_of[x] = o.berth
        if not cols:
            return None  # no start at all: no plan is better than the incumbent
        columns_of[c.index] = cols
        if late():
            return None
    return columns_of, berth_of


def _voyage_link_and_lateness_rows(lp: pywraplp.Solver, cp: CompiledProblem, w: ObjectiveWeights,
                                   unit: dict[int, int], columns_of: Columns) -> None:
    """Later calls' dwell and sailing limits along voyages, link gaps, and lateness."""
    inf = lp.infinity()
    objective = lp.Objective()

    def start_of(i: int) -> list[tuple[pywraplp.Variable, int]]:
        return [(x, s) for x, s, _ in columns_of[i]]

    def end_of(i: int) -> list[tuple[pywraplp.Variable, int]]:
        return [(x, e) for x, _, e in columns_of[i]]

    for c in cp.calls:
        i = c.index
        if c.prev is not None:
            # dwell >= end - previous end - slowest sailing, and >= handling
            d = lp.NumVar(min(o.steps for o in c.options), inf, "")
            objective.SetCoefficient(d, unit[i])
            row = lp.Constraint(-inf, c.sail_max)  # end_i - end_prev - d <= sail_max
            for x, e in end_of(i):
                row.SetCoefficient(x, e)
            for x, e in end_of(c.prev):
                row.SetCoefficient(x, row.GetCoefficient(x) - e)
            row.SetCoefficient(d, -1)
            prec = lp.Constraint(c.sail_min, inf)  # start_i - end_prev >= sail_min
            for x, s in start_of(i):
                prec.SetCoefficient(x, s)
            for x, e in end_of(c.prev):
                prec.SetCoefficient(x, prec.GetCoefficient(x) - e)
        if c.due is not None and w.lateness:
            late = lp.NumVar(0, inf, "")
            objective.SetCoefficient(late, w.lateness * c.weight * cp.step)
            row = lp.Constraint(-inf, c.due)  # end - late <= due
            for x, e in end_of(i):
                row.SetCoefficient(x, e)
            row.SetCoefficient(late, -1)
    for link in cp.links:
        prec = lp.Constraint(link.min_gap, inf)
        for x, s in start_of(link.after):
            prec.SetCoefficient(x, s)
        for x, e in end_of(link.before):
            prec.SetCoefficient(x, prec.GetCoefficient(x) - e)


def contention_free_dwell(cp: CompiledProblem, lower: list[int]) -> int:
    """Total dwell (steps, unweighted) no plan can beat even with every voyage alone in the basin.

    Each call ends no earlier than alone at its fastest berth after its predecessors; within a
    voyage, the dwell of calls 1..k is at least call k's end - ETA - the slowest sailing times of
    the legs up to k (the plan can hide the rest of the wait at sea), and each call dwells at least
    its shortest handling. It tells how much of FCFS's dwell any plan can save at all.
    """
    ends: dict[int, int] = {}
    for i in cp.topological_order():
        c = cp.calls[i]
        lb = lower[i]
        if c.prev is not None:
            lb = max(lb, ends[c.prev] + c.sail_min)
        for link in cp.links_into[i]:
            lb = max(lb, ends[link.before] + link.min_gap)
        if c.frozen is not None:
            ends[i] = c.frozen.end
            continue
        ends[i] = min(earliest_end(cp, o.berth, c.port, lb, o.steps) for o in c.options)
    total = 0
    for c in cp.calls:
        if c.prev is not None:
            continue
        chain = [c.index]
        while (j := cp.next_call[chain[-1]]) is not None:
            chain.append(j)
        shortest = [min(o.steps for o in cp.calls[i].options) for i in chain]
        best = sum(shortest)
        eta = c.eta if c.eta is not None else lower[c.index]
        sailing = 0
        for k, i in enumerate(chain):
            if k:
                sailing += cp.calls[i].sail_max
            best = max(best, max(ends[i] - eta - sailing, sum(shortest[: k + 1])) + sum(shortest[k + 1:]))
        total += best
    return total
