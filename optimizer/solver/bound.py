"""Lower bounds on the objective: what a plan's gap is measured against.

Small problems: a time-indexed relaxation (time_indexed_bound), the lower bound that proves
berth plans optimal.

x[c, b, t] = 1 when call c starts at berth b at step t. Each call starts once; at each step a
berth holds at most one call; the objective is the model's, with a call's end = t + handling.
CP-SAT's own bound on the interval model is weak for sums of completion times; this relaxation
is known to be tight for berth allocation. It is built only when it is small enough to solve in
seconds: the start steps of each call are limited to those a plan better than the incumbent
can use (no call can dwell longer than the incumbent's objective leaves room for).

The relaxation keeps only what holds for every plan: start windows, hard latest departures,
maintenance, closures at berthing, one call per berth at a time, voyage sailing and link
precedences; a call that stays moored through a closure occupies at least its handling time.

Large problems (above SearchParameters.full_model_calls), where CP-SAT's own bound stays near the
contention-free one (each call alone at its fastest berth) and so reports gaps of a quarter on a
generated month: contention_bound, an LP in coarse buckets of berth time. Per port the berths
that take the same calls for the same time form a group of parallel machines; each call picks,
fractionally, a group and a start from its release (voyages, links and closures chained) over a
window, and in each bucket a group's calls cannot hold more berth time than its berths have
outside maintenance. Dwell follows voyages (a later call's dwell counts from its previous call's
end plus the slowest sailing), closures hold a vessel moored, lateness counts at requested
departures. Every relaxation is on the safe side (see its docstring), and the value is taken
from the LP's duals, so it holds for every plan that serves every call. On the generated
2,000-call month it lifts the bound from 33.4 M (simple_bound in solve.py) to 40.4 M in 4-5 s:
the gap reported on a 120 s plan falls from 28.7 % to 13.7 %. Most of the lift is voyages and
closures (40.2 M with unlimited berth time); berth contention adds the rest on that month, and
all of it on a queue at one berth (tests/test_bound.py: there it meets the shortest-first
optimum).
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import linear_solver_pb2 as pb
from ortools.linear_solver import pywraplp

from optimizer.budget import Deadline
from optimizer.compiled import CompiledCall, CompiledProblem
from optimizer.params import ContentionBoundParameters, MipParameters, ObjectiveWeights
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
                if len(cols) % 256 == 0 and late():  # a long call's columns alone take a while
                    return None
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


# -- the contention bound on large problems --------------------------------------------------------


def berth_groups(cp: CompiledProblem) -> tuple[list[list[int]], list[dict[int, int]]]:
    """Each port's berths grouped by the calls they take and how long each call takes there (so
    the berths of a group are identical parallel machines), and per call its groups with its
    handling steps in each. Frozen calls are facts, not in any group's list."""
    takes: dict[int, list[tuple[int, int]]] = {}
    for c in cp.calls:
        if c.frozen is None:
            for o in c.options:
                takes.setdefault(o.berth, []).append((c.index, o.steps))
    group_of: dict[tuple[int, tuple[tuple[int, int], ...]], int] = {}
    groups: list[list[int]] = []
    per_call: list[dict[int, int]] = [{} for _ in cp.calls]
    for berth in sorted(takes):
        key = (cp.berth_port[berth], tuple(takes[berth]))
        g = group_of.get(key)
        if g is None:
            g = group_of[key] = len(groups)
            groups.append([])
            for i, steps in takes[berth]:
                per_call[i][g] = steps
        groups[g].append(berth)
    return groups, per_call


class _SparseLp:
    """A linear program as arrays, solved by GLOP through its proto interface. Its value is
    recomputed from GLOP's duals by Lagrangian duality over boxed variables, so that it holds for
    whatever duals come back, whatever the solver's tolerances."""

    def __init__(self) -> None:
        self.var_lb: list[float] = []
        self.var_ub: list[float] = []
        self.cost: list[float] = []
        self.row_lb: list[float] = []
        self.row_ub: list[float] = []
        self.at_row: list[int] = []
        self.at_var: list[int] = []
        self.coef: list[float] = []
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (rows, vars, coefs)

    def var(self, lb: float, ub: float, cost: float = 0.0) -> int:
        self.var_lb.append(lb)
        self.var_ub.append(ub)
        self.cost.append(cost)
        return len(self.cost) - 1

    def vars(self, n: int, lb: float, ub: float) -> np.ndarray:
        first = len(self.cost)
        self.var_lb.extend([lb] * n)
        self.var_ub.extend([ub] * n)
        self.cost.extend([0.0] * n)
        return np.arange(first, first + n)

    def row(self, lb: float, ub: float, *entries: tuple[int, float]) -> int:
        self.row_lb.append(lb)
        self.row_ub.append(ub)
        r = len(self.row_lb) - 1
        for v, a in entries:
            self.add(r, v, a)
        return r

    def add(self, row: int, var: int, coef: float) -> None:
        self.at_row.append(row)
        self.at_var.append(var)
        self.coef.append(coef)

    def add_block(self, rows: np.ndarray, variables: np.ndarray, coefs: np.ndarray) -> None:
        self.blocks.append((rows, variables, coefs))

    def matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constraint matrix as (row, column, coefficient) triplets."""
        blocks = [(np.asarray(self.at_row, np.int64), np.asarray(self.at_var, np.int64),
                   np.asarray(self.coef, float)), *self.blocks]
        rows, cols, coef = (np.concatenate([b[k] for b in blocks]) for k in range(3))
        return rows.astype(np.int64), cols.astype(np.int64), coef.astype(float)

    def solve(self, seconds: float) -> float | None:
        """A lower bound on the LP's minimum, or None when GLOP does not solve it in time."""
        rows, cols, coef = self.matrix()
        request = pb.MPModelRequest(solver_type=pb.MPModelRequest.GLOP_LINEAR_PROGRAMMING,
                                    solver_time_limit_seconds=max(0.01, seconds))
        model = request.model
        for lb, ub, cost in zip(self.var_lb, self.var_ub, self.cost, strict=True):
            model.variable.add(lower_bound=lb, upper_bound=ub, objective_coefficient=cost)
        order = np.argsort(rows, kind="stable")
        cuts = np.searchsorted(rows[order], np.arange(len(self.row_lb) + 1)).tolist()
        by_var, by_coef = cols[order].tolist(), coef[order].tolist()
        for r, (lb, ub) in enumerate(zip(self.row_lb, self.row_ub, strict=True)):
            ct = model.constraint.add(lower_bound=lb, upper_bound=ub)
            ct.var_index.extend(by_var[cuts[r]:cuts[r + 1]])
            ct.coefficient.extend(by_coef[cuts[r]:cuts[r + 1]])
        response = pb.MPSolutionResponse()
        pywraplp.Solver.SolveWithProto(request, response)
        if response.status != pb.MPSOLVER_OPTIMAL or len(response.dual_value) != len(self.row_lb):
            return None
        return self.lagrangian(np.asarray(response.dual_value, dtype=float), rows, cols, coef)

    def lagrangian(self, y: np.ndarray, rows: np.ndarray, cols: np.ndarray, coef: np.ndarray) -> float:
        """min c'x >= sum_r y_r rhs_r + sum_j min over [lb_j, ub_j] of (c - A'y)_j x_j, for any
        duals y that are >= 0 on rows with a finite lower side and <= 0 on rows with a finite upper
        side (y is clipped to that)."""
        row_lb, row_ub = np.asarray(self.row_lb), np.asarray(self.row_ub)
        y = np.where(np.isfinite(row_lb), y, np.minimum(y, 0.0))
        y = np.where(np.isfinite(row_ub), y, np.maximum(y, 0.0))
        rhs = np.where(y > 0, np.where(np.isfinite(row_lb), row_lb, 0.0),
                       np.where(np.isfinite(row_ub), row_ub, 0.0))
        reduced = np.asarray(self.cost) - np.bincount(cols, weights=coef * y[rows], minlength=len(self.cost))
        var_lb, var_ub = np.asarray(self.var_lb), np.asarray(self.var_ub)
        terms = np.concatenate([y * rhs, np.minimum(reduced * var_lb, reduced * var_ub)])
        value = math.fsum(terms.tolist())
        return value - 1e-9 * float(np.abs(terms).sum()) - 1e-6  # rounding in the sums: safe side


def _closure_at(closed: list[tuple[int, int]], t: int) -> tuple[int, int] | None:
    """The closure [a, b] (steps, inclusive) holding step t, if any."""
    k = bisect.bisect_right(closed, (t, math.inf)) - 1
    return closed[k] if k >= 0 and closed[k][0] <= t <= closed[k][1] else None


def _departure(closed: list[tuple[int, int]], t: int) -> int:
    """The earliest departure at or after t: a vessel whose handling ends in a closure stays
    moored until it ends."""
    while (window := _closure_at(closed, t)) is not None:
        t = window[1] + 1
    return t


class _Closures:
    """A port's closures as arrays, for many starts at once."""

    def __init__(self, closed: list[tuple[int, int]]):
        self.first = np.asarray([a for a, _ in closed], dtype=np.int64)
        self.last = np.asarray([b for _, b in closed], dtype=np.int64)

    def holding(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per time: whether a closure holds it, and that closure's index."""
        k = np.searchsorted(self.first, t, side="right") - 1
        inside = (k >= 0) & (t <= self.last[np.maximum(k, 0)]) if len(self.first) else np.zeros(len(t), bool)
        return inside, k

    def departures(self, t: np.ndarray) -> np.ndarray:
        """_departure for each time."""
        t = t.copy()
        while True:
            inside, k = self.holding(t)
            if not inside.any():
                return t
            t[inside] = self.last[k[inside]] + 1


def _blocked(cp: CompiledProblem) -> list[list[tuple[int, int]]]:
    """Per berth, the windows no call can use for sure: maintenance shrunk by a step at each end
    (its exact times lie within the model's outward rounding) and frozen calls' exact stays."""
    windows = [[(a + 1, b - 1) for a, b in w if b - a > 2] for w in cp.unavailable]
    for c in cp.calls:
        if c.frozen is not None and c.frozen.end_down > c.frozen.start_up:
            windows[c.frozen.berth].append((c.frozen.start_up, c.frozen.end_down))
    return [merged(w) for w in windows]


class _ContentionLp:
    """The relaxation contention_bound solves (see there), built call by call."""

    def __init__(self, cp: CompiledProblem, w: ObjectiveWeights, lower: list[int],
                 params: ContentionBoundParameters):
        self.cp, self.w, self.lower = cp, w, lower
        self.bucket = max(1, round(params.bucket_hours * 60 / cp.step))
        self.buckets = max(1, math.ceil(params.window_hours * 60 / cp.step / self.bucket))
        self.groups, self.call_groups = berth_groups(cp)
        self.closed = [sorted(port) for port in cp.closed]
        self.closures = [_Closures(port) for port in self.closed]
        self.lp = _SparseLp()
        self.top = float(cp.horizon + 1)  # every time in a plan lies within [-top, top]
        self.offset = cp.horizon // self.bucket + 2  # keeps bucket numbers in capacity keys positive
        # berth time used: (capacity key (bucket + offset) * groups + group, column, steps) per block
        self.occupancy: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.start: dict[int, int] = {}
        self.end: dict[int, int] = {}
        self.dwell: dict[int, int] = {}
        self.release = self.releases()

    def releases(self) -> list[int]:
        """Each call's earliest start from `lower`, tightened along voyages and links by closures:
        no berthing while closed, and a stay ending in a closure leaves when it ends."""
        cp, closed = self.cp, self.closed
        release = list(self.lower)
        ends: dict[int, int] = {}
        for i in cp.topological_order():
            c = cp.calls[i]
            if c.frozen is not None:
                ends[i] = c.frozen.end
                continue
            lb = release[i]
            if c.prev is not None:
                lb = max(lb, ends[c.prev] + c.sail_min)
            for link in cp.links_into[i]:
                lb = max(lb, ends[link.before] + link.min_gap)
            while (window := _closure_at(closed[c.port], lb)) is not None:
                lb = window[1] + 1
            release[i] = lb
            ends[i] = min(_departure(closed[c.port], lb + steps) for steps in self.call_groups[i].values())
        return release

    def estimated_nonzeros(self) -> int:
        """The LP's size before it is built: start columns per call and group, times the buckets
        a stay spans."""
        per_group = 2 * self.buckets + 4
        return sum(per_group * (steps // self.bucket + 5) for c in self.cp.calls if c.frozen is None
                   for steps in self.call_groups[c.index].values())

    def latest_start(self, c: CompiledCall, steps: int) -> float:
        """The last start from which a stay of `steps` leaves by the call's latest departure."""
        if c.latest_end is None:
            return math.inf
        t = c.latest_end
        while (window := _closure_at(self.closed[c.port], t)) is not None:
            t = window[0] - 1
        return t - steps

    def starts(self, c: CompiledCall, steps: int, first: int, last: int) -> np.ndarray:
        """Every start in [first, last] at which a stay's share of a bucket, or its departure,
        changes slope, open for berthing: between two neighbours each is linear in the start."""
        b = self.bucket
        grid = np.arange(first // b, (last + steps) // b + 2, dtype=np.int64) * b
        # around each closure [a, z]: the last and first open starts, and the starts whose
        # handling would end just before, at, and just after it (the departure jumps there)
        around = [(a - 1, z + 1, a - steps - 1, a - steps, z - steps, z + 1 - steps)
                  for a, z in self.closed[c.port]]
        points = np.unique(np.concatenate([grid, grid - steps, np.asarray([first, last], np.int64),
                                           np.asarray(around, np.int64).ravel()]))
        points = points[(points >= first) & (points <= last)]
        closed, _ = self.closures[c.port].holding(points)
        return points[~closed]

    def add_call(self, c: CompiledCall) -> bool:
        """A call's start columns (it starts once), its start, end, dwell and lateness; False
        when it has no start at all (no plan serves every call)."""
        lp, i, bucket = self.lp, c.index, self.bucket
        first = self.release[i]
        window_end = (first // bucket + self.buckets) * bucket  # later starts: one column
        start = self.start[i] = lp.var(first, self.top)
        end = self.end[i] = lp.var(first, self.top)
        once = lp.row(1, 1)
        at_start = lp.row(0, 0, (start, 1))  # start = sum_s s x_s + later
        at_end = lp.row(0, math.inf, (end, 1))  # end >= sum_s departure(s) x_s + later
        later = lp.var(0, 3 * self.top)
        lp.add(at_start, later, -1)
        lp.add(at_end, later, -1)
        columns = 0
        for g, steps in self.call_groups[i].items():
            last = min(window_end - 1, self.latest_start(c, steps))
            if last < first:
                continue
            s = self.starts(c, steps, first, int(last))
            if not len(s):
                continue
            e = self.closures[c.port].departures(s + steps)
            x = lp.vars(len(s), 0, 1)
            columns += len(s)
            lp.add_block(np.full(len(s), once), x, np.ones(len(s)))
            lp.add_block(np.full(len(s), at_start), x, -s)
            lp.add_block(np.full(len(s), at_end), x, -e)
            self.occupy(g, s, e, x)
        shortest = min(self.call_groups[i].values())
        if c.latest_end is None or window_end + shortest <= c.latest_end:  # any start after the window
            x_later = lp.var(0, 1)
            columns += 1
            lp.add(once, x_later, 1)
            lp.add(at_start, x_later, -window_end)
            lp.add(at_end, x_later, -(window_end + shortest))
        if not columns:
            return False
        unit = self.w.dwell * c.weight * self.cp.step
        dwell = self.dwell[i] = lp.var(0, 3 * self.top, unit)
        lp.row(0, math.inf, (dwell, 1), (end, -1), (start, 1))  # dwell >= end - start
        if c.prev is None and c.eta is not None:
            lp.row(-c.eta, math.inf, (dwell, 1), (end, -1))  # a first call arrives at its ETA
        if c.due is not None and self.w.lateness:
            late = lp.var(0, 3 * self.top + abs(c.due), self.w.lateness * c.weight * self.cp.step)
            lp.row(-c.due, math.inf, (late, 1), (end, -1))
        return True

    def occupy(self, group: int, s: np.ndarray, e: np.ndarray, x: np.ndarray) -> None:
        """Columns x (starts s, departures e) use |[s, e) ∩ bucket| of the group's berth time in
        each bucket: the berth is held until departure, through a closure too."""
        b = self.bucket
        first, span = s // b, (e - 1) // b - s // b + 1
        j = first[:, None] + np.arange(int(span.max()))[None, :]
        used = np.minimum(e[:, None], (j + 1) * b) - np.maximum(s[:, None], j * b)
        keep = used > 0
        self.occupancy.append(((j[keep] + self.offset) * len(self.groups) + group,
                               np.repeat(x, keep.sum(axis=1)), used[keep]))

    def add_voyages_and_links(self) -> None:
        """Sailing and link precedences; a later call's dwell counts from an arrival no later
        than its previous call's end plus the slowest sailing."""
        lp = self.lp
        for c in self.cp.calls:
            i = c.index
            if c.frozen is not None or c.prev is None:
                continue
            prev = self.cp.calls[c.prev]
            if prev.frozen is not None:  # the model times the next arrival from its rounded-up end
                lp.row(-(prev.frozen.end + c.sail_max), math.inf, (self.dwell[i], 1), (self.end[i], -1))
                continue
            lp.row(-c.sail_max, math.inf, (self.dwell[i], 1), (self.end[i], -1), (self.end[c.prev], 1))
            lp.row(c.sail_min, math.inf, (self.start[i], 1), (self.end[c.prev], -1))
        for link in self.cp.links:
            if link.after in self.start and link.before in self.end:
                lp.row(link.min_gap, math.inf, (self.start[link.after], 1), (self.end[link.before], -1))

    def add_capacities(self) -> None:
        """Per group and bucket, the berth time its calls use is at most its berths' time outside
        maintenance and frozen stays (a vessel may stay moored through a closure: closed time is
        berth time)."""
        if not self.occupancy:
            return
        keys = np.concatenate([k for k, _, _ in self.occupancy])
        buckets, row_of = np.unique(keys, return_inverse=True)
        first_row = len(self.lp.row_lb)
        blocked = _blocked(self.cp)
        size, n = self.bucket, len(self.groups)
        for key in buckets.tolist():
            j, g = divmod(key, n)
            lo, hi = (j - self.offset) * size, (j - self.offset + 1) * size
            free = sum(size - sum(min(b, hi) - max(a, lo) for a, b in blocked[berth] if a < hi and b > lo)
                       for berth in self.groups[g])
            self.lp.row(-math.inf, float(free))
        self.lp.add_block(first_row + row_of.astype(np.int64),
                          np.concatenate([x for _, x, _ in self.occupancy]),
                          np.concatenate([u for _, _, u in self.occupancy]))


def contention_bound(cp: CompiledProblem, w: ObjectiveWeights, lower: list[int], deadline: Deadline,
                     seconds: float, params: ContentionBoundParameters | None = None) -> float | None:
    """A lower bound on the model objective of every plan that serves every call, from berth
    contention, voyages and closures; None when it cannot be had within `seconds` (nor past the
    deadline), or when no plan can serve every call.

    An LP on the step grid with berth time counted in coarse buckets. Each port's berths are
    grouped by the calls they take and how long each call takes there (berth_groups): identical
    parallel machines. A call chooses, fractionally, a group and a start among the points where
    something its start implies changes slope, from its release (optimizer.steps.earliest_starts,
    tightened along voyages and links by closures) over a window; one more column stands for any
    later start, costed as at the window's end (no closure counted) and using no berth time.
    Between two neighbouring points each implied quantity is linear in the start, so every plan's
    start is a mix of its two neighbours at exactly its cost and berth time: the LP is a
    relaxation. A stay from start s holds the berth over [s, e): e is the end of handling, or the
    end of the closure it falls in (no departure while closed: the vessel stays moored); no start
    while closed. Capacity: in each bucket the berth time a group's calls hold is at most its
    berths' time outside maintenance (shrunk a step at each end: the safe side of rounding) and
    frozen calls' exact stays. Costs: dwell >= end - start; a first call's dwell >= end - ETA; a
    later call's >= end - (previous end + slowest sailing); start >= previous end + fastest
    sailing, and >= the end of a link's first call + its minimum gap; lateness >= end - requested
    departure. Left out, each of which only lowers the bound: change costs against a previous plan,
    frozen calls' own costs, link maximum gaps, which berth of a group a call takes (maintenance is
    pooled per group). The value is recomputed from GLOP's duals (Lagrangian duality over boxed
    variables), so the solver's tolerances cannot lift it above the LP's minimum.
    """
    params = params or ContentionBoundParameters()
    until = time.monotonic() + min(seconds, deadline.left())

    def late() -> bool:
        return deadline.expired() or time.monotonic() > until

    if any(not c.can_serve or not c.options for c in cp.calls):
        return None
    relaxation = _ContentionLp(cp, w, lower, params)
    if relaxation.estimated_nonzeros() > params.nonzeros_per_s * seconds:
        return None
    for c in cp.calls:
        if c.frozen is None and not relaxation.add_call(c):
            return None
        if late():
            return None
    relaxation.add_voyages_and_links()
    relaxation.add_capacities()
    left = until - time.monotonic()
    if left <= 0 or late():
        return None
    value = relaxation.lp.solve(left)
    return max(0.0, value) if value is not None else None
