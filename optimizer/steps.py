"""The plan on the step grid: placements, earliest fit, arrivals, costs.

The rules every planner in model steps shares (FCFS and the dispatch rules in
optimizer.baseline, the CP-SAT model, local search, LNS, the bounds): how a call is placed, the
earliest start a berth leaves it, when its vessel arrives, and what it costs in the objective
(optimizer.solver.objective states the same objective to CP-SAT). The checker and explain work in
exact time and keep their own rules on purpose: they judge what these produce.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from optimizer.compiled import CompiledCall, CompiledProblem
from optimizer.params import ObjectiveWeights
from optimizer.plan import CallAssignment

UNSERVED = -1  # the berth of a call the plan leaves unserved

#: CP-SAT needs the objective's range to fit in 64 bits; the penalty is capped well below that.
MAX_OBJECTIVE = 2**60

# -- placements -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """A call's decision in model steps.

    An unserved call (berth UNSERVED) takes no berth; its times are the vessel passing the port
    (arrival = start = end), so that the rest of its voyage stays timed.
    """

    berth: int
    arrival: int
    start: int
    end: int

    @property
    def served(self) -> bool:
        return self.berth != UNSERVED


def passing(arrival: int) -> Placement:
    return Placement(UNSERVED, arrival, arrival, arrival)


def frozen_placement(c: CompiledCall, arrival: int) -> Placement:
    """A frozen call where it is: its berth and times, arriving when given, else at `arrival`;
    never after berthing."""
    f = c.frozen
    assert f is not None
    arr = f.arrival_down if f.arrival_down is not None else arrival
    return Placement(f.berth, min(arr, f.start), f.start, f.end)


def to_assignments(cp: CompiledProblem, placed: dict[int, Placement]) -> list[CallAssignment]:
    """The served calls' exact-time assignments, each arrival kept within the way from its
    vessel's last served call over the ports it passes (CompiledProblem.assignment)."""
    return [cp.assignment(i, p.berth, p.arrival, p.start, p.end, passed_before(cp, placed, i))
            for i, p in sorted(placed.items()) if p.served]


def passed_before(cp: CompiledProblem, placed: dict[int, Placement], i: int) -> list[int]:
    """The calls call i's vessel passes since its last served call, in voyage order."""
    out: list[int] = []
    j = cp.calls[i].prev
    while j is not None and j in placed and not placed[j].served:
        out.append(j)
        j = cp.calls[j].prev
    return out[::-1]


def unserved_calls(placed: dict[int, Placement]) -> list[int]:
    return sorted(i for i, p in placed.items() if not p.served)


# -- busy berths and earliest fit -----------------------------------------------------------------


def merged(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of [start, end) windows as sorted, disjoint windows."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(windows):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def blocked_windows(cp: CompiledProblem) -> list[list[tuple[int, int]]]:
    """Per berth: maintenance and frozen calls, as sorted disjoint windows."""
    fixed: list[list[tuple[int, int]]] = [list(w) for w in cp.unavailable]
    for c in cp.calls:
        if c.frozen is not None:
            fixed[c.frozen.berth].append((c.frozen.start, c.frozen.end))
    return [merged(w) for w in fixed]


def earliest_fit(cp: CompiledProblem, busy: list[tuple[int, int]], port: int, lb: int, steps: int,
                 moored_through_closures: bool = False) -> int:
    """Earliest start >= lb of a stay of `steps` on a berth whose `busy` windows are sorted and
    disjoint (keep them so with bisect.insort), not berthing while the port is closed and not
    leaving either, unless `moored_through_closures` (the vessel then waits at berth for the port
    to open: see earliest_end). Logarithmic in the busy windows."""
    t = lb
    closed = cp.closed[port]
    while True:
        moved = False
        for a, b in closed:
            if a <= t <= b:
                t, moved = b + 1, True
            if not moored_through_closures and a <= t + steps <= b:
                t, moved = b + 1 - steps, True
        k = bisect.bisect_left(busy, (t + steps,)) - 1  # the last window starting before the stay ends
        if k >= 0 and busy[k][1] > t:
            t, moved = busy[k][1], True
        if not moved:
            return t


def earliest_end(cp: CompiledProblem, berth: int, port: int, lb: int, steps: int) -> int:
    """The earliest end of a call alone at a berth, starting no earlier than `lb`: around
    maintenance and closed berthing times; a departure that falls in a closure waits moored for
    its end (the model allows such stays)."""
    s = earliest_fit(cp, merged(cp.unavailable[berth]), port, lb, steps, moored_through_closures=True)
    e = s + steps
    for a, b in cp.closed[port]:
        if a <= e <= b:
            e = b + 1
    return e


# -- arrivals -------------------------------------------------------------------------------------


def arrival(c: CompiledCall, start: int, ends: Sequence[int] | Mapping[int, int]) -> int:
    """When the vessel of call `c`, berthing at `start`, arrives: a frozen call's given arrival
    stands; else as late as its voyage allows (dwell counts from arrival, so the vessel sails as
    slowly as it may after its previous call's end, `ends[c.prev]`), never after berthing."""
    f = c.frozen
    if f is not None and f.arrival_down is not None:
        return min(f.arrival_down, f.start)
    if c.prev is None:
        assert c.eta is not None
        return min(c.eta, start)
    return min(start, ends[c.prev] + c.sail_max)


def service_arrival(c: CompiledCall, placed: Mapping[int, Placement]) -> int:
    """When the vessel arrives sailing at service speed from its previous call as placed (its ETA
    for a first call): how FCFS and the dispatch rules time voyages."""
    if c.prev is None:
        assert c.eta is not None
        return c.eta
    return placed[c.prev].end + c.sail_service


def earliest_arrival(cp: CompiledProblem, i: int, placed: Mapping[int, Placement]) -> int:
    """When the vessel of call i arrives at the earliest: at top speed from its previous call as
    placed (passing its port when unserved), or at its ETA for a first call."""
    c = cp.calls[i]
    if c.prev is None:
        assert c.eta is not None
        return c.eta
    return placed[c.prev].end + c.sail_min


def earliest_starts(cp: CompiledProblem) -> tuple[list[int], list[int]]:
    """Lower bounds on each call's start when served, and on its arrival, from ETAs, earliest
    starts, voyages and links. An optional predecessor may be unserved (the vessel passes its
    port without stopping) and an optional link end may not hold, so only what holds either way
    counts."""
    n = len(cp.calls)
    lower = [0] * n
    arrival = [0] * n
    for i in cp.topological_order():
        c = cp.calls[i]
        if c.prev is None:
            arr = c.eta if c.eta is not None else -cp.horizon
        else:
            p = cp.calls[c.prev]
            if p.frozen is not None:
                prev_end = p.frozen.end
            elif p.optional:
                prev_end = arrival[c.prev]
            else:
                prev_end = lower[c.prev] + min(o.steps for o in p.options)
            arr = prev_end + c.sail_min
        if c.frozen is not None:
            lower[i] = c.frozen.start
            arrival[i] = min(arr, c.frozen.start)
            continue
        arrival[i] = arr
        lo = max(arr, c.earliest if c.earliest > -(10**8) else -cp.horizon)
        for link in cp.links_into[i]:
            b = cp.calls[link.before]
            if b.frozen is not None:
                lo = max(lo, b.frozen.end + link.min_gap)
            elif not b.optional:
                lo = max(lo, lower[link.before] + min(o.steps for o in b.options) + link.min_gap)
        lower[i] = lo
    return lower, arrival


# -- costs ----------------------------------------------------------------------------------------


def unserved_penalty(cp: CompiledProblem, w: ObjectiveWeights) -> int:
    """What an unserved call costs: more than any plan's dwell, lateness and change costs
    together (every term of every call at its largest value in the model's domains, plus one)."""
    span = 3 * (cp.horizon + 1)
    total = 1
    for c in cp.calls:
        total += (w.dwell + w.lateness) * c.weight * cp.step * span
    total += len(cp.previous) * (w.berth_change + w.start_change * cp.step * span)
    optional = sum(1 for c in cp.calls if c.optional)
    if optional:
        total = min(total, MAX_OBJECTIVE // (2 * optional))
    return total


def call_cost(cp: CompiledProblem, w: ObjectiveWeights, i: int, berth: int, arrival: int, start: int,
              end: int, penalty: int) -> int:
    """Call i's share of the objective (formula in ObjectiveWeights) placed so; `penalty` when it
    is unserved (berth UNSERVED)."""
    if berth == UNSERVED:
        return penalty
    c = cp.calls[i]
    total = w.dwell * c.weight * cp.step * (end - arrival)
    if c.due is not None:
        total += w.lateness * c.weight * cp.step * max(0, end - c.due)
    prev = cp.previous.get(i)
    if prev is not None:
        total += w.berth_change * (berth != prev[0]) + w.start_change * cp.step * abs(start - prev[1])
    return total


def plan_objective(cp: CompiledProblem, w: ObjectiveWeights, placed: dict[int, Placement]) -> int:
    """The model's objective for a plan in steps (the CP-SAT model's, optimizer.solver.objective)."""
    penalty = unserved_penalty(cp, w) if any(not p.served for p in placed.values()) else 0
    return sum(call_cost(cp, w, i, p.berth, p.arrival, p.start, p.end, penalty) for i, p in placed.items())
