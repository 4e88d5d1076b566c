"""Hard constraints of DESIGN section 4, one method per family."""

from __future__ import annotations

from ortools.sat.python import cp_model

from optimizer.compiled import CompiledProblem
from optimizer.solver.variables import Variables


class Constraints:
    def __init__(self, m: cp_model.CpModel, cp: CompiledProblem, v: Variables, relax: bool = False):
        """With `relax`, hard latest departures and link max gaps get slack variables
        (`v.overdue`, `v.link_overrun`), so an infeasible problem can say which calls break."""
        self.m, self.cp, self.v, self.relax = m, cp, v, relax

    def add_all(self) -> None:
        self.one_berth_per_call()
        self.one_vessel_per_berth()
        self.closures()
        self.earliest_start()
        self.latest_departure()
        self.voyage_sailing()
        self.links()

    def one_berth_per_call(self) -> None:
        """Each call uses exactly one compatible berth for at least that berth's handling time
        (exactly, unless it must stay through a closure: see Variables)."""
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            if c.frozen is not None:
                continue
            if len(cv.at_berth) > 1:
                self.m.add_exactly_one(cv.at_berth.values())
            handling = sum(o.steps * cv.at_berth[o.berth] for o in c.options)
            if self.cp.longest_closure(c.port):
                self.m.add(cv.end >= cv.start + handling)
            else:
                self.m.add(cv.end == cv.start + handling)

    def one_vessel_per_berth(self) -> None:
        """No two calls at a berth at once; maintenance windows block the berth too."""
        per_berth: list[list[cp_model.IntervalVar]] = [[] for _ in self.cp.berth_ids]
        for cv in self.v.calls:
            for b, iv in cv.intervals.items():
                per_berth[b].append(iv)
        for b, ivs in enumerate(per_berth):
            for k, (s, e) in enumerate(self.cp.unavailable[b]):
                ivs.append(self.m.new_fixed_size_interval_var(s, e - s, f"maint_{b}_{k}"))
            if len(ivs) > 1:
                self.m.add_no_overlap(ivs)

    def closures(self) -> None:
        """No berthing and no departure while the port is closed."""
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            closed = self.cp.closed[c.port]
            if not closed or c.frozen is not None:
                continue
            allowed = cp_model.Domain.from_intervals([[a, b] for a, b in closed]).complement()
            self.m.add_linear_expression_in_domain(cv.start, allowed)
            self.m.add_linear_expression_in_domain(cv.end, allowed)

    def earliest_start(self) -> None:
        """No berthing before the vessel arrives or before the cargo is ready."""
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            if c.frozen is not None:
                continue
            self.m.add(cv.start >= cv.arrival)
            if c.earliest > -(10**8):
                self.m.add(cv.start >= c.earliest)

    def latest_departure(self) -> None:
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            if c.latest_end is not None and c.frozen is None:
                if self.relax:
                    over = self.m.new_int_var(0, self.cp.horizon, f"overdue_{c.id}")
                    self.v.overdue[c.index] = over
                    self.m.add(cv.end <= c.latest_end + over)
                else:
                    self.m.add(cv.end <= c.latest_end)

    def voyage_sailing(self) -> None:
        """Arrival = previous departure + sailing time between max speed and min speed."""
        for c, cv in zip(self.cp.calls, self.v.calls, strict=True):
            if c.prev is None:
                continue
            prev_end = self.v.calls[c.prev].end
            self.m.add(cv.arrival >= prev_end + c.sail_min)
            self.m.add(cv.arrival <= prev_end + c.sail_max)
            if c.frozen is not None:
                self.m.add(cv.arrival <= cv.start)

    def links(self) -> None:
        for k, link in enumerate(self.cp.links):
            before, after = self.v.calls[link.before], self.v.calls[link.after]
            self.m.add(after.start >= before.end + link.min_gap)
            if link.max_gap is not None:
                if self.relax:
                    over = self.m.new_int_var(0, 2 * self.cp.horizon, f"link_overrun_{k}")
                    self.v.link_overrun[k] = over
                    self.m.add(after.start <= before.end + link.max_gap + over)
                else:
                    self.m.add(after.start <= before.end + link.max_gap)
