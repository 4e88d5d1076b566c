"""Large-neighbourhood search around the CP-SAT model, for problems too big to solve whole.

Each round frees the calls of one port inside a time window (or on a few berths), fixes every
other call where the best plan has it, and lets CP-SAT re-plan the freed calls for a moment.
Fixed calls keep all constraints satisfied, so every round's plan is a complete, feasible plan;
a round only replaces the best plan when it is strictly better. The neighbourhood grows while
CP-SAT closes rounds quickly and shrinks when it does not.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from optimizer.params import ObjectiveWeights
from optimizer.solver.model import BerthModel
from optimizer.solver.subproblem import restrict
from optimizer.solver.variables import Variables
from optimizer.steps import Placement, plan_objective


@dataclass
class _Sub:
    """A round's CP-SAT model and how to read its plan back into the whole problem's."""

    m: cp_model.CpModel
    v: Variables
    free: dict[int, int]  # model call index -> whole-problem call index, of the calls it re-plans
    read: Callable[[cp_model.CpSolver], dict[int, Placement] | None]  # the whole plan; None: refused


@dataclass
class LnsStats:
    rounds: int = 0
    improvements: int = 0
    last_improvement_s: float = 0.0


class Lns:
    def __init__(self, model: BerthModel, weights: ObjectiveWeights, seed: int, workers: int,
                 compact_calls: int = 300):
        self.model, self.cp, self.w = model, model.cp, weights
        self.rng = random.Random(seed)
        self.workers = workers
        self.size = 12.0
        self.by_port: list[list[int]] = [[] for _ in self.cp.port_ids]
        for c in self.cp.calls:
            if c.frozen is None:
                self.by_port[c.port].append(c.index)
        self.stats = LnsStats()
        self.proven_out = False  # the last serving round proved its neighbourhood cannot serve more
        # from this size a round builds its neighbourhood as a small problem of its own (subproblem.py)
        self.compact_calls = compact_calls
        self.margin_hours = 48.0  # ... in which no call is pushed more than this past the latest end

    def neighbourhood(self, placed: dict[int, Placement]) -> set[int]:
        """Calls to re-plan: those of one port nearest in time to a random call there (half the
        time an unserved one, when the plan has some), optionally only on a random subset of
        that port's berths, plus voyage neighbours of a random vessel."""
        ports = [p for p, calls in enumerate(self.by_port) if calls]
        port = self.rng.choice(ports)
        pool = self.by_port[port]
        unserved = [i for i in pool if not placed[i].served and self.cp.calls[i].can_serve]
        if unserved and self.rng.random() < 0.5:
            anchor = placed[self.rng.choice(unserved)].start
        else:
            if self.rng.random() < 0.5:
                berths = sorted({placed[i].berth for i in pool if placed[i].served})
                k = max(1, min(len(berths), self.rng.randint(2, 4)))
                chosen = set(self.rng.sample(berths, k)) if berths else set()
                pool = [i for i in pool if placed[i].berth in chosen] or pool
            anchor = placed[self.rng.choice(pool)].start
        ordered = sorted(pool, key=lambda i: abs(placed[i].start - anchor))
        free = set(ordered[: max(2, int(self.size))])
        for i in list(free):
            c = self.cp.calls[i]
            if c.prev is not None and self.cp.calls[c.prev].frozen is None and self.rng.random() < 0.3:
                free.add(c.prev)
        return free

    def serving_neighbourhood(self, placed: dict[int, Placement], u: int, radius: int,
                              max_free: int = 400, wide: bool = False) -> set[int]:
        """Calls to re-plan so that unserved call u may be served: u's voyage from its previous
        call on, the calls linked to those, and every call on u's compatible berths (and the berths
        of the calls linked to it) whose stay meets the window u could use, widened by `radius`
        steps on both sides; `wide`, u's whole voyage and the voyage neighbours of all those too."""
        cp = self.cp
        free: set[int] = set()
        c = cp.calls[u]
        first = c.prev if c.prev is not None and cp.calls[c.prev].frozen is None else u
        while wide and (before := cp.calls[first].prev) is not None and cp.calls[before].frozen is None:
            first = before  # the whole voyage
        k: int | None = first
        while k is not None:
            if cp.calls[k].frozen is None:
                free.add(k)
            k = cp.next_call[k]
        for i in list(free):
            for link in (*cp.links_into[i], *cp.links_from[i]):
                for j in (link.before, link.after):
                    if cp.calls[j].frozen is None and j not in free:
                        free.add(j)
                        free.update(self._voyage_neighbours(j))
        windows: dict[int, tuple[int, int]] = {}
        for i in free:
            ci = cp.calls[i]
            lo = self.model.lower[i] - radius
            hi = (ci.latest_end if ci.latest_end is not None else self.model.lower[i] + 2 * radius) + radius
            for o in ci.options:
                a, b = windows.get(o.berth, (lo, hi))
                windows[o.berth] = (min(a, lo), max(b, hi))
        near: list[tuple[int, int]] = []
        anchor = self.model.lower[u]
        for i, p in placed.items():
            if p.served and cp.calls[i].frozen is None and p.berth in windows and i not in free:
                lo, hi = windows[p.berth]
                if p.start < hi and p.end > lo:
                    near.append((abs(p.start - anchor), i))
        near.sort()
        free.update(i for _, i in near[: max(0, max_free - len(free))])
        if wide:
            for i in list(free):
                free.update(self._voyage_neighbours(i))
        return free

    def slab_neighbourhood(self, placed: dict[int, Placement], u: int, radius: int,
                           max_free: int = 400) -> set[int]:
        """Every movable call, on any berth, whose stay meets the window u could use widened by
        `radius` steps (the nearest to u's earliest start when more than `max_free`), with u's whole
        voyage: for a call whose own berths hold no way, the blockers are on other berths."""
        cp = self.cp
        c = cp.calls[u]
        lo = self.model.lower[u] - radius
        hi = (c.latest_end if c.latest_end is not None else self.model.lower[u]) + radius
        free = set(self._voyage(u))
        anchor = self.model.lower[u]
        near = sorted((abs(p.start - anchor), i) for i, p in placed.items()
                      if i not in free and cp.calls[i].frozen is None
                      and (p.start < hi and p.end > lo if p.served else lo <= self.model.lower[i] < hi))
        free.update(i for _, i in near[: max(0, max_free - len(free))])
        return free

    def _voyage(self, i: int) -> list[int]:
        """The movable calls of call i's voyage."""
        cp = self.cp
        first = i
        while (before := cp.calls[first].prev) is not None:
            first = before
        out: list[int] = []
        k: int | None = first
        while k is not None:
            if cp.calls[k].frozen is None:
                out.append(k)
            k = cp.next_call[k]
        return out

    def _voyage_neighbours(self, i: int) -> list[int]:
        """The movable calls just before and after call i on its voyage."""
        c = self.cp.calls[i]
        out = [k for k in (c.prev, self.cp.next_call[i]) if k is not None and self.cp.calls[k].frozen is None]
        return out

    def round(
        self, placed: dict[int, Placement], best: int, seconds: float, run: Callable[..., int],
        deterministic_time: float | None = None, free: set[int] | None = None,
    ) -> tuple[dict[int, Placement], int] | None:
        """One round of at most `seconds`, re-planning `free` (default: a neighbourhood of the
        search's choosing); with `deterministic_time`, it ends on CP-SAT's deterministic clock
        instead (the same round on any machine), `seconds` only a safety."""
        if not any(self.by_port):  # every call is frozen (a live replan holding all): nothing to re-plan
            return None
        adaptive = free is None
        free = self.neighbourhood(placed) if free is None else free
        sub = self._sub(placed, free, margin=round(self.margin_hours * 60 / self.cp.step))
        solver = self._solver(seconds, deterministic_time)
        t0 = time.monotonic()
        code = run(solver, sub.m)
        took = time.monotonic() - t0
        self.stats.rounds += 1
        if deterministic_time is not None:
            try:
                took, seconds = solver.deterministic_time, deterministic_time  # the machine's speed aside
            except RuntimeError:  # stopped before CP-SAT ran
                return None
        if adaptive:  # the search's own neighbourhoods grow while CP-SAT closes them quickly
            if code == cp_model.OPTIMAL and took < 0.5 * seconds:
                self.size = min(self.size * 1.1, 400)
            elif code != cp_model.OPTIMAL:
                self.size = max(self.size * 0.95, 6)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        new = sub.read(solver)
        if new is None:
            return None
        value = plan_objective(self.cp, self.w, new)
        if value < best:
            self.stats.improvements += 1
            return new, value
        return None

    def serve(
        self, placed: dict[int, Placement], best: int, free: set[int], seconds: float,
        run: Callable[..., int], deterministic_time: float | None = None,
    ) -> tuple[dict[int, Placement], int] | None:
        """Re-plan `free` to serve more of its calls than `placed` does: first any plan that does
        (CP-SAT stops at the first, or proves there is none in this neighbourhood), then a round
        that improves that plan's times keeping what it serves. None when it finds none;
        `proven_out` then says whether CP-SAT proved that this neighbourhood has none."""
        cp = self.cp
        self.proven_out = False
        sub = self._sub(placed, free)  # exact (no margin): a proof here is a proof for the whole model
        choice = [k for k, i in sub.free.items()
                  if cp.calls[i].optional and cp.calls[i].can_serve and cp.calls[i].frozen is None]
        now = sum(1 for k in choice if placed[sub.free[k]].served)
        if now == len(choice):
            return None
        sub.m.clear_objective()
        sub.m.add(sum(sub.v.calls[k].served for k in choice) >= now + 1)
        solver = self._solver(seconds, deterministic_time)
        code = run(solver, sub.m)
        self.stats.rounds += 1
        self.proven_out = code == cp_model.INFEASIBLE
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        first = sub.read(solver)
        if first is None:
            return None
        value = plan_objective(cp, self.w, first)
        if value >= best:
            return None
        better = self.round(first, value, seconds / 2, run,
                            None if deterministic_time is None else deterministic_time / 2,
                            free=set(sub.free.values()))
        return better if better is not None else (first, value)

    def _sub(self, placed: dict[int, Placement], free: set[int], margin: int | None = None) -> _Sub:
        """The model of a round re-planning `free`: from `compact_calls` calls a neighbourhood of
        its own (subproblem.py; `margin` caps how far past the latest end a call may go), else the
        whole model with every other call fixed."""
        if len(self.cp.calls) < self.compact_calls:
            return _Sub(self._fixed_outside(placed, free), self.model.v, {i: i for i in free},
                        self.model.read)
        nb = restrict(self.cp, placed, free) if margin is None else restrict(self.cp, placed, free, margin)
        small = nb.model(placed, self.w)
        return _Sub(small.m, small.v, dict(enumerate(nb.calls[: nb.free])),
                    lambda solver: nb.merge(placed, small.read(solver)))

    def _solver(self, seconds: float, deterministic_time: float | None) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.rng.randint(0, 2**20)
        if deterministic_time is not None:
            solver.parameters.max_deterministic_time = deterministic_time
        return solver

    def _fixed_outside(self, placed: dict[int, Placement], free: set[int]) -> cp_model.CpModel:
        """A copy of the model with every call outside `free` fixed where `placed` has it, hinted
        with `placed` (a feasible solution of it)."""
        sub = self.model.m.clone()
        variables = sub.proto.variables
        for i, p in placed.items():
            cv = self.model.v.calls[i]
            if i in free or self.cp.calls[i].frozen is not None:
                continue
            for var, value in ((cv.start, p.start), (cv.end, p.end), (cv.arrival, p.arrival)):
                dom = variables[var.index].domain
                dom[0] = value
                dom[1] = value
            for lit in (cv.served, *cv.at_berth.values()):
                dom = variables[lit.index].domain
                if not (len(dom) == 2 and dom[0] == dom[1]):
                    value = int(p.served) if lit is cv.served else int(lit is cv.at_berth.get(p.berth))
                    dom[0] = dom[1] = value
        # The current best plan is a feasible solution of the sub-problem: give it as the hint.
        sub.clear_hints()
        self.model.hint(placed, target=sub)
        return sub
