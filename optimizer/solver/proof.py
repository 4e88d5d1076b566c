"""Proofs that no plan can serve a call the search left unserved, and the kind of every unserved call.

A plan leaves a call unserved either because no plan can serve it (`proven`: its own limits, see
optimizer.explain.unplannable_reasons, or a proof from the model here) or because the search
found no plan serving it in its time (`not_found`: one may exist). After the search, each
unserved call without a static proof is tried with CP-SAT on a relaxation of the problem in which
the call must be served; a relaxation without a solution proves the call cannot be served.

The relaxation keeps the call with the part of its voyage that can bind it (the calls since the
last frozen call before it, each served or passing its port, the vessel sailing at max speed, and
the next call when that one is frozen), the links of those calls among themselves and with frozen
calls, the frozen calls and maintenance on every berth they fit, and the closures of their ports.
Every other call is left out, which loses no proof: a plan may leave unserved any call with a hard
deadline or before one (CompiledCall.optional), and any other call (optional False, not frozen)
has no deadline of its own nor after it, so a plan can always serve it after this call, however
it crowds the berths. Times are whole seconds from the horizon start, every exact time floored:
each plan of the problem maps to a solution of the relaxation, so "no solution" holds in exact
time too.

Budgets are counted on CP-SAT's deterministic clock with one worker, each solve at least
`per_solve_s`, so a seed gives the same kinds run after run; a wall-clock cap (twice the budget)
only guards against a loaded machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ortools.sat.python import cp_model

from optimizer.domain import (
    Call,
    FrozenAssignment,
    Link,
    Problem,
    TimeWindow,
    berth_fits,
    handling_hours,
)
from optimizer.explain import unserved_reasons
from optimizer.kpis import fmt_local
from optimizer.params import ProofParameters
from optimizer.plan import CallAssignment, ProofRule, UnservedCall, UnservedKind


@dataclass(frozen=True)
class ProofBudget:
    """CP-SAT's deterministic seconds for all proofs of one plan, and for one call."""

    seconds: float
    per_call_s: float
    per_solve_s: float = ProofParameters.per_solve_s

    @classmethod
    def of(cls, params: ProofParameters, time_limit_s: float) -> ProofBudget:
        """The share of a solve's time limit the proofs may take, capped."""
        return cls(min(params.share * time_limit_s, params.max_s), params.per_call_s, params.per_solve_s)


@dataclass
class _Spent:
    """What the proofs of one plan have used so far."""

    budget: ProofBudget
    deterministic_s: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def left(self) -> float:
        return self.budget.seconds - self.deterministic_s

    def wall_left(self) -> float:
        return 2 * self.budget.seconds - (time.monotonic() - self.started)


def searched_note(time_limit_s: float, what: str = "the search") -> str:
    """How a not_found call's reasons end: what looked for a plan serving it, and for how long."""
    return f"{what} did not find one in {time_limit_s:g} s"


def explain_unserved(problem: Problem, assignments: Sequence[CallAssignment], call_ids: Sequence[str],
                     static: Mapping[str, UnservedCall], budget: ProofBudget, note: str
                     ) -> list[UnservedCall]:
    """Every call of `call_ids` (left unserved by `assignments`) with its kind and reasons.

    `static` holds the calls proven by their own limits (unplannable_reasons); the others are
    tried with the relaxation, in the order given, while `budget` lasts (nothing when it is zero):
    proven ones get the proof and what would make them servable, the rest what holds in this plan
    and `note` (why no plan serving them was found)."""
    spent = _Spent(budget)
    proofs: dict[str, str] = {}
    facts: _Facts | None = None
    for cid in call_ids:
        if cid in static or spent.left() <= 0 or spent.wall_left() <= 0:
            continue
        facts = facts or _Facts.of(problem)
        sentence = _prove(facts, cid, spent)
        if sentence is not None:
            proofs[cid] = sentence
    rest = [cid for cid in call_ids if cid not in static]
    why = unserved_reasons(problem, assignments, rest, proven=set(proofs), note=note)
    out: list[UnservedCall] = []
    for cid in call_ids:
        if cid in static:
            out.append(static[cid])
        elif cid in proofs:
            out.append(UnservedCall(call_id=cid, kind=UnservedKind.PROVEN, rule=ProofRule.RELAXED_MODEL,
                                    reasons=[proofs[cid], *why[cid]]))
        else:
            out.append(UnservedCall(call_id=cid, kind=UnservedKind.NOT_FOUND, reasons=why[cid]))
    return out


def _prove(facts: _Facts, call_id: str, spent: _Spent) -> str | None:
    """A sentence proving that no plan can serve the call, or None when the relaxation has a
    solution or CP-SAT ran out of its budget."""
    problem = facts.problem
    relaxed = _Relaxation(facts, call_id)
    if relaxed.until is None:
        return None  # nothing bounds when it leaves: some plan serves it after every fixed stay
    if relaxed.solve(spent, keep_latest=True)[0] != cp_model.INFEASIBLE:
        return None
    sentence = (f"no plan can serve it: CP-SAT proved it cannot be served {relaxed.kept()}, even with "
                f"every other call left out")
    c = relaxed.call
    if c.latest_departure is not None and spent.left() > 0 and spent.wall_left() > 0:
        status, end = relaxed.solve(spent, keep_latest=False)
        if status == cp_model.OPTIMAL and end is not None:
            sentence += (f"; without its latest departure "
                         f"{fmt_local(problem, c.port_id, c.latest_departure)}, no plan lets it leave before "
                         f"{fmt_local(problem, c.port_id, end)}")
    return sentence


@dataclass(frozen=True)
class _Facts:
    """What every call's relaxation reads, looked up once per plan: the frozen stays per berth and
    the links per call."""

    problem: Problem
    frozen_on: dict[str, list[Call]]
    links_of: dict[str, list[Link]]

    @classmethod
    def of(cls, problem: Problem) -> _Facts:
        frozen_on: dict[str, list[Call]] = {}
        for c in problem.calls:
            if c.frozen is not None:
                frozen_on.setdefault(c.frozen.berth_id, []).append(c)
        links_of: dict[str, list[Link]] = {}
        for link in problem.links:
            links_of.setdefault(link.before, []).append(link)
            links_of.setdefault(link.after, []).append(link)
        return cls(problem, frozen_on, links_of)


class _Relaxation:
    """The relaxed problem for one call (module docstring), built anew for each solve."""

    def __init__(self, facts: _Facts, call_id: str):
        problem = facts.problem
        self.p = problem
        self.calls = problem.call_map()
        self.call = self.calls[call_id]
        voyage, k = problem.voyage_order()[call_id]
        self.eta = voyage.eta
        first = max((j for j in range(k) if self.calls[voyage.call_ids[j]].frozen is not None), default=0)
        last = k + 1 if k + 1 < len(voyage.call_ids) and self.calls[voyage.call_ids[k + 1]].frozen else k
        self.chain = [self.calls[cid] for cid in voyage.call_ids[first:last + 1]]
        self.first_of_voyage = first == 0
        self.vessel = problem.vessel_map()[self.call.vessel_id]
        self.berths = problem.berths()
        self.berth_port = problem.berth_port()
        self.fits: dict[str, list[tuple[str, int]]] = {}  # call -> (berth, handling seconds)
        for c in self.chain:
            if c.frozen is None:
                self.fits[c.id] = [(b.id, math.floor(h * 3600)) for b in problem.port(c.port_id).berths
                                   if (h := _handling(problem, c, b.id)) is not None]
        ids = {c.id for c in self.chain}
        touching = {id(x): x for c in self.chain for x in facts.links_of.get(c.id, [])}.values()
        self.links = [link for link in touching
                      if ((link.before in ids or self.calls[link.before].frozen is not None)
                           and (link.after in ids or self.calls[link.after].frozen is not None))
                      and not (self.calls[link.before].frozen and self.calls[link.after].frozen)]
        self.berth_ids = sorted({b for fits in self.fits.values() for b, _ in fits})
        self.begin, self.until = self._window()
        # only what the call's chain can meet: fixed stays between its beginning and its deadline
        self.frozen_on = {b: [c for c in facts.frozen_on.get(b, []) if self._meets(c.frozen)]
                          for b in self.berth_ids}
        self.lo, self.hi = self._span()

    def s(self, t: datetime) -> int:
        """Whole seconds from the horizon start, floored (see the module docstring)."""
        return math.floor((t - self.p.horizon_start).total_seconds())

    def sail_s(self, a: Call, b: Call) -> int:
        nm = self.p.distance_nm(a.port_id, b.port_id) or 0.0
        return math.floor(nm / self.vessel.max_speed_kn * 3600)

    def _window(self) -> tuple[datetime, datetime | None]:
        """When the call's chain can begin (its ETA, or the end of the frozen call it starts from)
        and the latest the call can leave (None: nothing bounds it, so some plan serves it after
        every fixed window): its latest departure, its frozen next call, its links to frozen calls."""
        c, first = self.call, self.chain[0]
        begin = first.frozen.berth_end if first.frozen is not None else self.eta
        bounds = [c.latest_departure] if c.latest_departure is not None else []
        k = self.chain.index(c)
        if k + 1 < len(self.chain) and (f := self.chain[k + 1].frozen) is not None:
            nm = self.p.distance_nm(c.port_id, self.chain[k + 1].port_id) or 0.0
            bounds.append((f.arrival or f.berth_start) - timedelta(hours=nm / self.vessel.max_speed_kn))
        longest = max((h for _, h in self.fits.get(c.id, [])), default=0)
        hold = max((w.end - w.start for w in self.p.port(c.port_id).closures), default=timedelta(0))
        for link in self.links:
            other = self.calls[link.after if link.before == c.id else link.before].frozen
            if other is None or c.id not in (link.before, link.after):
                continue
            if link.before == c.id:
                bounds.append(other.berth_start - timedelta(hours=link.min_gap_hours))
            elif link.max_gap_hours is not None:
                bounds.append(other.berth_end + timedelta(hours=link.max_gap_hours, seconds=longest) + hold)
        return begin, min(bounds, default=None)

    def _span(self) -> tuple[int, int]:
        """Bounds on every time of the relaxation: before the earliest fact, and after the call's
        latest departure by more than anything in the chain can take."""
        times = [self.p.horizon_start, self.p.horizon_end, self.begin, *([self.until] if self.until else [])]
        for c in self.chain:
            times += [t for t in (c.earliest_start, c.latest_departure) if t is not None]
            if c.frozen is not None:
                times += [c.frozen.berth_start, c.frozen.berth_end]
        work = sum(max((h for _, h in fits), default=0) for fits in self.fits.values())
        work += sum(self.sail_s(a, b) for a, b in zip(self.chain, self.chain[1:], strict=False))
        work += sum(math.ceil(3600 * (link.min_gap_hours + (link.max_gap_hours or 0))) for link in self.links)
        day = 24 * 3600
        return self.s(min(times)) - day, self.s(max(times)) + work + 2 * day

    def kept(self) -> str:
        """What the relaxation keeps, in words, for the proof's sentence."""
        parts = [("on berth " if len(self.berth_ids) == 1 else "on berths ") + ", ".join(self.berth_ids)]
        k = [c.id for c in self.chain].index(self.call.id)
        if k > 0:
            parts.append("after its voyage's calls " + ", ".join(c.id for c in self.chain[:k]))
        if k + 1 < len(self.chain):
            parts.append(f"in time for its frozen next call {self.chain[k + 1].id}")
        if self.links:
            parts.append("keeping the links " + ", ".join(f"{x.before} -> {x.after}" for x in self.links))
        around = []
        frozen = sorted({c.id for cs in self.frozen_on.values() for c in cs})
        if frozen:
            around.append("the frozen calls " + ", ".join(frozen))
        kept = [b for b in self.berth_ids if self.berths[b].unavailable]
        if kept:
            around.append("the maintenance of berth " + ", ".join(kept))
        ports = sorted({self.berth_port[b].id for b in self.berth_ids if self.berth_port[b].closures})
        if ports:
            around.append("the closures of " + ", ".join(ports))
        if around:
            parts.append("around " + (", ".join(around[:-1]) + " and " + around[-1] if len(around) > 1
                                      else around[0]))
        return ", ".join(parts)

    def solve(self, spent: _Spent, keep_latest: bool) -> tuple[int, datetime | None]:
        """CP-SAT's status on the relaxation with the call served (and, without its latest
        departure, the earliest it can leave when that is proven optimal)."""
        m = cp_model.CpModel()
        end = self._build(m, keep_latest)
        if not keep_latest:
            m.minimize(end)
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = 1
        p.random_seed = 0
        p.max_deterministic_time = max(0.001, min(spent.budget.per_call_s, spent.left()))
        p.max_time_in_seconds = max(0.001, spent.wall_left())
        status = solver.solve(m)
        spent.deterministic_s += max(solver.deterministic_time, spent.budget.per_solve_s)
        if status == cp_model.OPTIMAL and not keep_latest:
            return int(status), self.p.horizon_start + timedelta(seconds=solver.value(end))
        return int(status), None

    def _build(self, m: cp_model.CpModel, keep_latest: bool) -> cp_model.IntVar:
        """The relaxation's variables and constraints; the call's departure."""
        lo, hi = self.lo, self.hi
        starts: dict[str, cp_model.IntVar | int] = {}
        ends: dict[str, cp_model.IntVar | int] = {}
        served: dict[str, cp_model.IntVar | int] = {}
        intervals: dict[str, list[cp_model.IntervalVar]] = {b: [] for b in self.berth_ids}
        prev: Call | None = None
        for c in self.chain:
            f = c.frozen
            if f is not None:
                starts[c.id], ends[c.id], served[c.id] = self.s(f.berth_start), self.s(f.berth_end), 1
                if prev is not None and prev.frozen is None:
                    # the vessel reaches a frozen call in time from a call it is served at
                    by = self.s(f.arrival if f.arrival is not None else f.berth_start)
                    m.add(ends[prev.id] + self.sail_s(prev, c) <= by).only_enforce_if(served[prev.id])
                prev = c
                continue
            arrival = m.new_int_var(lo, hi, f"arr_{c.id}")
            start = m.new_int_var(lo, hi, f"start_{c.id}")
            end = m.new_int_var(lo, hi, f"end_{c.id}")
            starts[c.id], ends[c.id] = start, end
            fits = self.fits[c.id]
            on = m.new_constant(1) if c.id == self.call.id else m.new_bool_var(f"served_{c.id}")
            if not fits:
                m.add(on == 0)
            served[c.id] = on
            m.add(start >= arrival)
            m.add(end >= start)  # passing: it may leave at once; served: see the stays
            if prev is None:
                if self.first_of_voyage:
                    m.add(arrival >= self.s(self.eta))
            else:
                m.add(arrival >= ends[prev.id] + self.sail_s(prev, c))
            chosen = []
            for b, handling in fits:
                x = m.new_bool_var(f"x_{c.id}_{b}")
                chosen.append(x)
                stay = m.new_int_var(handling, hi - lo, f"stay_{c.id}_{b}")
                intervals[b].append(m.new_optional_interval_var(start, stay, end, x, f"iv_{c.id}_{b}"))
            if chosen:
                m.add(sum(chosen) == on)
            if c.earliest_start is not None:
                m.add(start >= self.s(c.earliest_start)).only_enforce_if(on)
            if c.latest_departure is not None and (keep_latest or c.id != self.call.id):
                m.add(end <= self.s(c.latest_departure)).only_enforce_if(on)
            closed = self._closed(c)
            if closed is not None:
                m.add_linear_expression_in_domain(start, closed).only_enforce_if(on)
                m.add_linear_expression_in_domain(end, closed).only_enforce_if(on)
            prev = c
        for link in self.links:
            for cid in (link.before, link.after):
                f = self.calls[cid].frozen
                if cid not in starts and f is not None:
                    starts[cid], ends[cid], served[cid] = self.s(f.berth_start), self.s(f.berth_end), 1
            both = [v for v in (served[link.before], served[link.after]) if not isinstance(v, int)]
            gap = starts[link.after] - ends[link.before]
            m.add(gap >= math.floor(link.min_gap_hours * 3600)).only_enforce_if(both)
            if link.max_gap_hours is not None:
                m.add(gap <= math.ceil(link.max_gap_hours * 3600)).only_enforce_if(both)
        for b, ivs in intervals.items():
            for k, (a, z) in enumerate(self._blocked(b)):
                ivs.append(m.new_fixed_size_interval_var(a, z - a, f"blocked_{b}_{k}"))
            if len(ivs) > 1:
                m.add_no_overlap(ivs)
        end_of_call = ends[self.call.id]
        assert isinstance(end_of_call, cp_model.IntVar)
        return end_of_call

    def _meets(self, w: TimeWindow | FrozenAssignment | None) -> bool:
        """Whether a fixed stay lies where the chain may be: leaving it out elsewhere loses nothing
        (and leaving out any constraint keeps the relaxation a relaxation)."""
        if w is None:
            return False
        start, end = (w.berth_start, w.berth_end) if isinstance(w, FrozenAssignment) else (w.start, w.end)
        return end > self.begin and (self.until is None or start < self.until)

    def _blocked(self, berth_id: str) -> list[tuple[int, int]]:
        """The berth's maintenance and frozen stays as disjoint [start, end) seconds: reported facts
        may overlap one another (two vessels reported there), and they block the berth as one."""
        windows = [(w.start, w.end) for w in self.berths[berth_id].unavailable if self._meets(w)]
        windows += [(c.frozen.berth_start, c.frozen.berth_end) for c in self.frozen_on[berth_id] if c.frozen]
        merged: list[tuple[int, int]] = []
        for a, z in sorted((self.s(a), self.s(z)) for a, z in windows):
            if z <= a:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], z))
            else:
                merged.append((a, z))
        return merged

    def _closed(self, c: Call) -> cp_model.Domain | None:
        """The whole seconds a served call may berth or leave at: none inside a closure."""
        shut = []
        for w in self.p.port(c.port_id).closures:
            a = math.ceil((w.start - self.p.horizon_start).total_seconds())
            z = self.s(w.end) - 1
            if z >= a:
                shut.append([a, z])
        if not shut:
            return None
        return cp_model.Domain.from_intervals(shut).complement()


def _handling(problem: Problem, c: Call, berth_id: str) -> float | None:
    """Hours of handling at a berth the call fits, None when it does not fit it."""
    berth = problem.berths()[berth_id]
    vessel = problem.vessel_map()[c.vessel_id]
    if not berth_fits(c, vessel, berth):
        return None
    return handling_hours(c, berth)
