"""The problem in whole time steps from the horizon start, as the model and the baseline see it.

Rounding is always to the safe side, so a plan that is feasible here is feasible in exact time:
earliest times and minimum sailing times round up, latest times and maximum sailing times round
down, handling times round up, closed and unavailable windows grow to whole steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from graphlib import TopologicalSorter

from optimizer.domain import (
    Berth,
    FrozenAssignment,
    PreviousAssignment,
    Problem,
    Vessel,
    berth_fits,
    fit_key,
    handling_hours,
)
from optimizer.plan import CallAssignment


@dataclass(frozen=True)
class Option:
    """A berth the call can use and how many steps it occupies it."""

    berth: int
    steps: int


@dataclass(frozen=True)
class FrozenSteps:
    """A frozen call's exact times on the grid, each rounded both ways.

    The berth is blocked over [start, end) (rounded outwards); constraints that other calls must
    keep against the frozen call use whichever rounding is on the safe side for them, so the
    exact times, which are what the plan reports, satisfy every constraint.
    """

    berth: int
    start: int  # rounded down: the berth is blocked from here
    end: int  # rounded up: ... until here
    start_up: int
    end_down: int
    arrival_down: int | None  # the given arrival, when the problem says it
    arrival_up: int | None


@dataclass
class CompiledCall:
    index: int
    id: str
    port: int
    vessel: str
    weight: int
    options: list[Option]
    earliest: int  # no berthing before (cargo ready); already includes the ETA for first calls
    latest_end: int | None  # hard latest departure
    due: int | None  # requested departure (soft)
    prev: int | None  # previous call of the voyage
    sail_min: int = 0  # steps from previous departure to arrival, at max speed
    sail_max: int = 0  # ... at min speed
    sail_service: int = 0  # ... at service speed
    sail_minutes: tuple[float, float] = (0.0, 0.0)  # exact fastest and slowest leg, minutes
    eta: int | None = None  # fixed arrival of a first call
    frozen: FrozenSteps | None = None
    optional: bool = False  # may be left unserved: it or a call after it has a hard deadline
    can_serve: bool = True  # False when no plan can serve it whatever the others do

    def option_steps(self, berth: int) -> int | None:
        for o in self.options:
            if o.berth == berth:
                return o.steps
        return None


@dataclass
class CompiledLink:
    before: int
    after: int
    min_gap: int
    max_gap: int | None


@dataclass
class CompiledProblem:
    problem: Problem
    step: int
    calls: list[CompiledCall]
    berth_ids: list[str]
    berth_port: list[int]
    port_ids: list[str]
    closed: list[list[tuple[int, int]]]  # per port: closed start/end steps [a, b] inclusive
    unavailable: list[list[tuple[int, int]]]  # per berth: [start, end) busy steps
    links: list[CompiledLink]
    horizon: int  # an upper bound on every time in a feasible plan
    previous: dict[int, tuple[int, int]] = field(default_factory=dict)  # call -> (berth, start)
    call_index: dict[str, int] = field(default_factory=dict)
    berth_index: dict[str, int] = field(default_factory=dict)
    # The precedence graph (voyage order and links), per call, built once by compile_problem:
    next_call: list[int | None] = field(default_factory=list)  # next call of the voyage
    links_into: list[list[CompiledLink]] = field(default_factory=list)  # links with `after` = call
    links_from: list[list[CompiledLink]] = field(default_factory=list)  # links with `before` = call
    preds: list[list[tuple[int, int]]] = field(default_factory=list)  # (call before, min gap after its
    #   end): the voyage's previous call (gap 0) first, then the links into the call
    succs: list[list[int]] = field(default_factory=list)  # calls after: the voyage's next, then links
    order: list[int] = field(default_factory=list)  # every call after its predecessors

    # -- time conversion ------------------------------------------------------------------------

    def up(self, t: datetime) -> int:
        return math.ceil(round(self.problem.minutes(t) / self.step, 9))

    def down(self, t: datetime) -> int:
        return math.floor(round(self.problem.minutes(t) / self.step, 9))

    def steps_up(self, minutes: float) -> int:
        return math.ceil(round(minutes / self.step, 9))

    def steps_down(self, minutes: float) -> int:
        return math.floor(round(minutes / self.step, 9))

    def time(self, steps: int) -> datetime:
        return self.problem.horizon_start + timedelta(minutes=steps * self.step)

    def longest_closure(self, port: int) -> int:
        """Steps of the port's longest closure (0 when it has none)."""
        return max((b - a + 1 for a, b in self.closed[port]), default=0)

    def topological_order(self) -> list[int]:
        """Calls in an order where voyage and link predecessors come first (validation has
        refused cycles); shared: do not change it."""
        return self.order

    def mark_unservable(self, call_ids: set[str]) -> None:
        """Calls that no plan can serve (static reasons): the plan leaves them unserved."""
        for cid in call_ids:
            c = self.calls[self.call_index[cid]]
            if c.frozen is None:
                c.can_serve, c.optional = False, True

    def preferred(self, plan: Iterable[PreviousAssignment | CallAssignment]) -> dict[int, tuple[int, int]]:
        """Call -> (berth, start step) of a plan given in exact time (a previous or an initial
        plan); entries for calls or berths this problem does not have are left out."""
        out: dict[int, tuple[int, int]] = {}
        for a in plan:
            call, berth = self.call_index.get(a.call_id), self.berth_index.get(a.berth_id)
            if call is not None and berth is not None:
                out[call] = (berth, self.up(a.berth_start))
        return out

    def assignment(self, call: int, berth: int, arrival: int, start: int, end: int,
                   passed: Sequence[int] = ()) -> CallAssignment:
        """The exact-time assignment of a placement: frozen calls keep their exact given times.

        `passed`: the calls its vessel passes without stopping since its last served call (in
        voyage order). The arrival is kept within the way's slowest sailing from that call's
        exact departure, or from the exact ETA when it passed its first call: the grid rounds
        those (a frozen call's end, an ETA) to the late side (see latest_arrival)."""
        c = self.calls[call]
        f = self.problem.calls[call].frozen
        if c.frozen is not None:
            assert f is not None
            berth_id, berth_start, berth_end = f.berth_id, f.berth_start, f.berth_end
        else:
            berth_id, berth_start, berth_end = self.berth_ids[berth], self.time(start), self.time(end)
        if f is not None and f.arrival is not None:
            arr = f.arrival  # a fact
        elif c.prev is None:  # a first call arrives at its ETA, exactly: the grid only rounds its berthing
            arr = min(self.problem.voyage_order()[c.id][0].eta, berth_start)
        else:
            arr = min(self.time(arrival), berth_start)
            # (a frozen call straight after a frozen call: two facts, the leg between is theirs)
            latest = self.latest_arrival(call, passed) if c.frozen is None or passed else None
            if latest is not None:
                arr = min(arr, latest)
        return CallAssignment(call_id=c.id, berth_id=berth_id, arrival=arr, berth_start=berth_start,
                              berth_end=berth_end)

    def latest_arrival(self, call: int, passed: Sequence[int] = ()) -> datetime | None:
        """The latest exact arrival of call (not its voyage's first) sailing at min speed from
        its vessel's last served call, over the calls `passed` since, when that departure is off
        the grid: a frozen call's exact end, or the exact ETA when the vessel passed its first
        call. None when it is on the grid (the model's slowest sailing is then safe as it is)."""
        route = [*passed, call]  # each leg is the one into its call
        origin_call = self.calls[route[0]].prev
        if origin_call is None:  # from the ETA at the first call's port
            origin = self.problem.voyage_order()[self.calls[route[0]].id][0].eta
            route = route[1:]
        else:
            of = self.problem.calls[origin_call].frozen
            if of is None:
                return None
            origin = of.berth_end
        legs = [self.calls[i].sail_minutes for i in route]
        return _slowest_arrival(origin, sum(fast for fast, _ in legs), sum(slow for _, slow in legs))


def _slowest_arrival(departure: datetime, fastest: float, slowest: float) -> datetime:
    """The latest arrival sailing `slowest` minutes from an exact departure, in whole seconds
    (plans carry whole seconds) unless that would be faster than `fastest`."""
    whole = timedelta(seconds=math.floor(slowest * 60))
    return departure + (whole if whole.total_seconds() >= fastest * 60 else timedelta(minutes=slowest))


def compile_problem(p: Problem, tick: Callable[[], None] = lambda: None) -> CompiledProblem:
    """Translate a validated problem into integer steps; `tick` runs once per call (a deadline
    check: thousands of calls take seconds)."""
    step = p.time_step_minutes
    port_ids = [x.id for x in p.ports]
    port_index = {pid: i for i, pid in enumerate(port_ids)}
    berth_ids: list[str] = []
    berth_port: list[int] = []
    for pi, port in enumerate(p.ports):
        for b in port.berths:
            berth_ids.append(b.id)
            berth_port.append(pi)
    berth_index = {b: i for i, b in enumerate(berth_ids)}
    berths = p.berths()
    ports = {x.id: x for x in p.ports}
    vessels = p.vessel_map()
    order = p.voyage_order()
    cp = CompiledProblem(
        problem=p,
        step=step,
        calls=[],
        berth_ids=berth_ids,
        berth_port=berth_port,
        port_ids=port_ids,
        closed=[],
        unavailable=[],
        links=[],
        horizon=0,
        berth_index=berth_index,
    )

    steps_up, steps_down = cp.steps_up, cp.steps_down
    for port in p.ports:
        # A start or end at step s happens at minute s*step; it is closed when that minute lies in
        # a closure [a, b).
        cp.closed.append(
            sorted(
                (cp.up(w.start), steps_up(p.minutes(w.end)) - 1)
                for w in port.closures
                if steps_up(p.minutes(w.end)) - 1 >= cp.up(w.start)
            )
        )
    for bid in berth_ids:
        cp.unavailable.append(sorted((cp.down(w.start), cp.up(w.end)) for w in berths[bid].unavailable))

    cp.call_index = {c.id: i for i, c in enumerate(p.calls)}
    latest_anchor = cp.up(p.horizon_end)
    total = 0
    fitting: dict[tuple[object, ...], list[Berth]] = {}
    for i, c in enumerate(p.calls):
        tick()
        vessel = vessels[c.vessel_id]
        port = ports[c.port_id]
        key = fit_key(c, vessel)
        fit = fitting.get(key)
        if fit is None:
            fit = fitting[key] = [b for b in port.berths if berth_fits(c, vessel, b)]
        options = [Option(berth_index[b.id], max(1, steps_up(hours * 60))) for b in fit
                   if (hours := handling_hours(c, b)) is not None]
        voyage, k = order[c.id]
        earliest = cp.up(c.earliest_start) if c.earliest_start else -(10**9)
        cc = CompiledCall(
            index=i,
            id=c.id,
            port=port_index[c.port_id],
            vessel=c.vessel_id,
            weight=c.weight,
            options=options,
            earliest=earliest,
            latest_end=cp.down(c.latest_departure) if c.latest_departure else None,
            due=cp.up(c.requested_departure) if c.requested_departure else None,
            prev=None,
        )
        if k == 0:
            cc.eta = cp.up(voyage.eta)
            cc.earliest = max(cc.earliest, cc.eta)
        else:
            cc.prev = cp.call_index[voyage.call_ids[k - 1]]
            nm = p.distance_nm(p.calls[cc.prev].port_id, c.port_id)
            assert nm is not None
            _sailing(cp, cc, nm, vessel)
        if c.frozen is not None:
            cc.frozen = _frozen_steps(cp, c.frozen)
            cc.options = [Option(cc.frozen.berth, cc.frozen.end - cc.frozen.start)]
            cc.earliest = min(cc.earliest, cc.frozen.start)
            latest_anchor = max(latest_anchor, cc.frozen.end)
        for t in (c.earliest_start, c.latest_departure, c.requested_departure):
            if t is not None:
                latest_anchor = max(latest_anchor, cp.up(t))
        total += max((o.steps for o in cc.options), default=0) + cc.sail_max
        cp.calls.append(cc)

    for link in p.links:
        cp.links.append(
            CompiledLink(
                before=cp.call_index[link.before],
                after=cp.call_index[link.after],
                min_gap=steps_up(link.min_gap_hours * 60),
                max_gap=steps_down(link.max_gap_hours * 60) if link.max_gap_hours is not None else None,
            )
        )
        total += steps_up(link.min_gap_hours * 60)
    _index_precedences(cp)
    closed_total = sum(b - a + 1 for port in cp.closed for a, b in port)
    maint_total = sum(b - a for w in cp.unavailable for a, b in w)
    cp.horizon = latest_anchor + total + closed_total + maint_total + 1
    cp.previous = cp.preferred(p.previous_in_horizon())
    _mark_optional(cp)
    return cp


def _sailing(cp: CompiledProblem, cc: CompiledCall, nm: float, vessel: Vessel) -> None:
    """The inbound leg's sailing times: fastest rounded up, slowest down (safe side), service."""
    fastest, slowest = nm / vessel.max_speed_kn * 60, nm / vessel.min_speed_kn * 60
    cc.sail_minutes = (fastest, slowest)
    cc.sail_min = cp.steps_up(fastest)
    cc.sail_max = max(cc.sail_min, cp.steps_down(slowest))
    cc.sail_service = min(cc.sail_max, max(cc.sail_min, round(nm / vessel.service_speed_kn * 60 / cp.step)))


def _frozen_steps(cp: CompiledProblem, f: FrozenAssignment) -> FrozenSteps:
    return FrozenSteps(
        berth=cp.berth_index[f.berth_id], start=cp.down(f.berth_start), end=cp.up(f.berth_end),
        start_up=cp.up(f.berth_start), end_down=cp.down(f.berth_end),
        arrival_down=cp.down(f.arrival) if f.arrival else None,
        arrival_up=cp.up(f.arrival) if f.arrival else None,
    )


def _index_precedences(cp: CompiledProblem) -> None:
    """The precedence graph: each call's next call of its voyage, the links into and out of it,
    its predecessors and successors (voyage first, then links), and a topological order."""
    cp.next_call = [None] * len(cp.calls)
    cp.preds = [[] for _ in cp.calls]
    cp.succs = [[] for _ in cp.calls]
    for cc in cp.calls:
        if cc.prev is not None:
            cp.next_call[cc.prev] = cc.index
            cp.preds[cc.index].append((cc.prev, 0))
            cp.succs[cc.prev].append(cc.index)
    cp.links_into = [[] for _ in cp.calls]
    cp.links_from = [[] for _ in cp.calls]
    for cl in cp.links:
        cp.links_into[cl.after].append(cl)
        cp.links_from[cl.before].append(cl)
        cp.preds[cl.after].append((cl.before, cl.min_gap))
        cp.succs[cl.before].append(cl.after)
    graph = {c.index: [p for p, _ in cp.preds[c.index]] for c in cp.calls}
    cp.order = list(TopologicalSorter(graph).static_order())


def voyage_order(cp: CompiledProblem) -> list[int]:
    """Calls with each voyage's earlier calls first (voyage by voyage, as the calls come)."""
    out: list[int] = []
    seen: set[int] = set()
    for c in cp.calls:
        chain = []
        i: int | None = c.index
        while i is not None and i not in seen:
            chain.append(i)
            i = cp.calls[i].prev
        for j in reversed(chain):
            seen.add(j)
            out.append(j)
    return out


def _mark_optional(cp: CompiledProblem) -> None:
    """Calls that a plan may have to leave unserved: those with a hard deadline of their own (a
    latest departure, a link's max gap, a frozen call after them) and every call before them (by
    voyage or link). Any other call can always be served, later if need be, so it stays a must."""
    todo: list[int] = []
    for c in cp.calls:
        if c.prev is not None and c.frozen is not None:
            todo.append(c.prev)
        if c.latest_end is not None:
            todo.append(c.index)
    for link in cp.links:
        if link.max_gap is not None:
            todo.extend((link.before, link.after))
        elif cp.calls[link.after].frozen is not None:
            todo.append(link.before)
    while todo:
        i = todo.pop()
        c = cp.calls[i]
        if c.optional or c.frozen is not None:
            continue
        c.optional = True
        todo.extend(p for p, _ in cp.preds[i])
