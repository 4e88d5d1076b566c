"""Hard constraints, one method per family.

Frozen calls are facts: their berth is blocked over their exact stay (rounded outwards) and
nothing is asked of them; what other calls must keep against a frozen call uses the rounding of
its exact times that is on the safe side for that constraint. Constraints of an optional call
hold only when it is served, except its voyage timing, which the vessel keeps either way: an
unserved call is its vessel passing the port without stopping (arrival = start = end), so the
way from its last served call over the passed ports to the next keeps the route's speed limits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from ortools.sat.python import cp_model

from optimizer.compiled import CompiledProblem
from optimizer.solver.variables import CallVariables, Variables
from optimizer.steps import blocked_windows, earliest_starts


class Constraints:
    def __init__(self, m: cp_model.CpModel, cp: CompiledProblem, v: Variables,
                 tick: Callable[[], None] = lambda: None):
        """`tick` runs once per call in each family (the solve's deadline check)."""
        self.m, self.cp, self.v, self.tick = m, cp, v, tick
        self._arrival_lower: list[int] | None = None  # when a frozen call needs them

    def add_all(self, between: Callable[[], None] = lambda: None) -> None:
        """Every family; `between` runs after each (the solve's deadline check)."""
        for family in (self.one_berth_per_call, self.one_vessel_per_berth, self.closures,
                       self.earliest_start, self.latest_departure, self.voyage_sailing, self.passing,
                       self.links):
            family()
            between()

    def _movable(self) -> Iterator[tuple[int, CallVariables]]:
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            self.tick()
            if c.frozen is None:
                yield c.index, cv

    def one_berth_per_call(self) -> None:
        """A served call uses exactly one compatible berth for at least that berth's handling time
        (exactly, unless it must stay through a closure: see Variables); an unserved one none."""
        for i, cv in self._movable():
            c = self.cp.calls[i]
            if len(cv.at_berth) > 1:
                self.m.add(sum(cv.at_berth.values()) == cv.served)
            handling = sum(o.steps * cv.at_berth[o.berth] for o in c.options)
            if self.cp.longest_closure(c.port):
                self.m.add(cv.end >= cv.start + handling)
            else:
                self.m.add(cv.end == cv.start + handling)

    def one_vessel_per_berth(self) -> None:
        """No two calls at a berth at once; maintenance windows and frozen calls block it too
        (as one set of fixed windows, so that reality may overlap maintenance)."""
        per_berth: list[list[cp_model.IntervalVar]] = [[] for _ in self.cp.berth_ids]
        fixed = blocked_windows(self.cp)
        for _, cv in self._movable():
            for b, iv in cv.intervals.items():
                per_berth[b].append(iv)
        for b, ivs in enumerate(per_berth):
            if not ivs:
                continue
            for k, (s, e) in enumerate(fixed[b]):
                ivs.append(self.m.new_fixed_size_interval_var(s, e - s, f"blocked_{b}_{k}"))
            if len(ivs) > 1:
                self.m.add_no_overlap(ivs)

    def closures(self) -> None:
        """No berthing and no departure while the port is closed."""
        for i, cv in self._movable():
            closed = self.cp.closed[self.cp.calls[i].port]
            if not closed:
                continue
            allowed = cp_model.Domain.from_intervals([[a, b] for a, b in closed]).complement()
            self.m.add_linear_expression_in_domain(cv.start, allowed).only_enforce_if(cv.served)
            self.m.add_linear_expression_in_domain(cv.end, allowed).only_enforce_if(cv.served)

    def earliest_start(self) -> None:
        """No berthing before the vessel arrives or before the cargo is ready."""
        for i, cv in self._movable():
            c = self.cp.calls[i]
            self.m.add(cv.start >= cv.arrival)
            if c.earliest > -(10**8):
                self.m.add(cv.start >= c.earliest).only_enforce_if(cv.served)

    def latest_departure(self) -> None:
        for i, cv in self._movable():
            c = self.cp.calls[i]
            if c.latest_end is not None:
                self.m.add(cv.end <= c.latest_end).only_enforce_if(cv.served)

    def _end(self, i: int, safe_high: bool) -> cp_model.LinearExprT:
        """Call i's end; for a frozen call its exact end rounded up (`safe_high`) or down."""
        f = self.cp.calls[i].frozen
        if f is None:
            return self.v.calls[i].end
        return f.end if safe_high else f.end_down

    def _start(self, i: int, safe_high: bool) -> cp_model.LinearExprT:
        f = self.cp.calls[i].frozen
        if f is None:
            return self.v.calls[i].start
        return f.start_up if safe_high else f.start

    def voyage_sailing(self) -> None:
        """Arrival = previous departure + sailing time between max speed and min speed."""
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            if c.prev is None:
                continue
            prev = self.cp.calls[c.prev]
            pv = self.v.calls[c.prev]
            f = c.frozen
            if f is None:
                self.m.add(cv.arrival >= self._end(c.prev, True) + c.sail_min)
                # after a frozen call the exact arrival is clamped to its exact slowest sailing
                self.m.add(cv.arrival <= self._end(c.prev, True) + c.sail_max)
                continue
            if prev.frozen is not None:
                continue  # both facts
            # Served, the previous call keeps the speed limits into the frozen call. Passed (its end
            # is when it passes: see passing), so does the way from the call before it, unless the
            # facts make that impossible whatever the plan does (an ETA or a frozen departure too
            # early or too late for the frozen arrival): then the facts stand, and the checker shows
            # what they imply.
            passing_lo, passing_hi = self._passing_window(c.prev)
            if f.arrival_down is not None:
                assert f.arrival_up is not None
                keeps = (passing_lo + c.sail_min <= f.arrival_down and passing_hi + c.sail_max >= f.arrival_up
                         and f.arrival_up - c.sail_max <= f.arrival_down - c.sail_min)
                when = [] if keeps else [pv.served]
                self.m.add(pv.end + c.sail_min <= f.arrival_down).only_enforce_if(when)
                self.m.add(pv.end + c.sail_max >= f.arrival_up).only_enforce_if(when)
            else:
                when = [] if passing_lo + c.sail_min <= f.start else [pv.served]
                self.m.add(cv.arrival >= pv.end + c.sail_min).only_enforce_if(when)
                self.m.add(cv.arrival <= pv.end + c.sail_max).only_enforce_if(when)

    def _passing_window(self, i: int) -> tuple[float, float]:
        """The earliest and the latest its vessel can pass call i's port, over every choice of
        serving or passing the calls before it (a served call may leave late, up to its latest
        departure)."""
        if self._arrival_lower is None:
            self._arrival_lower = earliest_starts(self.cp)[1]
        chain = [i]
        while (j := self.cp.calls[chain[-1]].prev) is not None and self.cp.calls[j].frozen is None:
            chain.append(j)
        first = self.cp.calls[chain[-1]]
        if first.prev is None:
            assert first.eta is not None
            latest: float = first.eta
        else:
            fp = self.cp.calls[first.prev].frozen
            assert fp is not None
            latest = fp.end + first.sail_max
        for k in reversed(chain[:-1]):  # each passed after the one before it, served or passed
            prev = self.cp.calls[k].prev
            assert prev is not None
            before = self.cp.calls[prev]
            leaves = -math.inf
            if before.can_serve and before.options:
                leaves = math.inf if before.latest_end is None else before.latest_end
            latest = max(leaves, latest) + self.cp.calls[k].sail_max
        return self._arrival_lower[i], latest

    def passing(self) -> None:
        """An unserved call passes its port instantly: start = end = arrival. Else the vessel could
        linger at a port it never berths at, and the time would be counted nowhere (the next
        arrival is timed from this end); with it every leg of the way keeps [max, min] speed, so the
        whole way over the passed ports lies between the route's fastest and slowest sailing."""
        for i, cv in self._movable():
            if not self.cp.calls[i].optional or self.cp.next_call[i] is None:
                continue  # always served, or nothing after it is timed from its passage
            passes = cv.served.Not()
            self.m.add(cv.start == cv.arrival).only_enforce_if(passes)
            self.m.add(cv.end == cv.arrival).only_enforce_if(passes)

    def links(self) -> None:
        for link in self.cp.links:
            a, b = self.cp.calls[link.after], self.cp.calls[link.before]
            if a.frozen is not None and b.frozen is not None:
                continue
            both = [self.v.calls[link.before].served, self.v.calls[link.after].served]
            self.m.add(self._start(link.after, False) >= self._end(link.before, True)
                       + link.min_gap).only_enforce_if(both)
            if link.max_gap is not None:
                self.m.add(self._start(link.after, True) <= self._end(link.before, False)
                           + link.max_gap).only_enforce_if(both)
