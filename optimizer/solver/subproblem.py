"""A neighbourhood as a problem of its own, for CP-SAT rounds on large problems.

A round re-plans a few dozen calls and keeps every other call where the plan has it. Cloning the
whole model and fixing the rest (optimizer.solver.lns.Lns._fixed_outside) gives the same problem,
but CP-SAT then loads and presolves the whole of it each round: on a 2,000-call month that is most
of a one-second round, and a 15-call neighbourhood is not even solved. Here the round's problem is
built small instead: the free calls; their fixed voyage and link neighbours as frozen calls at
their current times (the context: what the free calls must keep to); every other call only as the
berth time it blocks, on the berths the free calls can use. Its plans are exactly the plans of the
fixed-outside model (tests/test_subproblem.py compares both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from optimizer.compiled import CompiledLink, CompiledProblem, FrozenSteps, Option, _index_precedences
from optimizer.params import ObjectiveWeights
from optimizer.solver.model import BerthModel
from optimizer.steps import Placement, earliest_starts, merged


@dataclass
class Neighbourhood:
    """The sub-problem, and which calls of the whole problem its calls are (the free ones first)."""

    cp: CompiledProblem
    calls: list[int]  # sub-problem index -> index in the whole problem
    free: int  # the first `free` of them are re-planned; the rest are context, fixed
    legs: list[int]  # context calls a free call sails into that were not frozen in the whole problem

    def placements(self, placed: dict[int, Placement]) -> dict[int, Placement]:
        """The whole plan's placements in sub-problem indices (a hint)."""
        return {k: placed[i] for k, i in enumerate(self.calls)}

    def model(self, placed: dict[int, Placement], weights: ObjectiveWeights) -> BerthModel:
        """The sub-problem's CP-SAT model, hinted with `placed`. The legs into fixed calls are kept
        as the whole model keeps them, whether the free call before is served or passed (a frozen
        call alone would let them go when no passage could reach it: reality's exception)."""
        model = BerthModel(self.cp, weights)
        for k in self.legs:
            c = self.cp.calls[k]
            f = c.frozen
            assert c.prev is not None and f is not None and f.arrival_down is not None
            end = model.v.calls[c.prev].end
            model.m.add(end + c.sail_min <= f.arrival_down)
            model.m.add(end + c.sail_max >= f.arrival_down)
        model.hint(self.placements(placed))
        return model

    def merge(self, placed: dict[int, Placement], sub: dict[int, Placement]) -> dict[int, Placement] | None:
        """The whole plan with the free calls as the sub-problem's plan has them; None when a
        fixed call's arrival is out of reach of the free call before it. (A frozen call relaxes
        that leg when the call before it passes its port and no passage could reach the frozen
        arrival, as reality may; a fixed call of a plan does not.)"""
        out = dict(placed)
        for k in range(self.free):
            out[self.calls[k]] = sub[k]
        for k in self.legs:
            c = self.cp.calls[k]
            assert c.prev is not None
            leg = out[self.calls[k]].arrival - out[self.calls[c.prev]].end
            if not c.sail_min <= leg <= c.sail_max:
                return None
        return out


def _neighbours(cp: CompiledProblem, i: int) -> Iterable[int]:
    c = cp.calls[i]
    if c.prev is not None:
        yield c.prev
    nxt = cp.next_call[i]
    if nxt is not None:
        yield nxt
    for link in (*cp.links_into[i], *cp.links_from[i]):
        yield link.before
        yield link.after


def restrict(cp: CompiledProblem, placed: dict[int, Placement], free: Iterable[int],
             margin: int = 10**9) -> Neighbourhood:
    """The sub-problem of re-planning `free` (frozen calls among them stay fixed) with every other
    call where `placed` has it. A fixed neighbour that the plan leaves unserved joins the free calls:
    a frozen call is served by definition, so it could not stand for a vessel passing a port.
    `margin`: steps after the latest end among these calls that a round may use (default: all)."""
    movable = {i for i in free if cp.calls[i].frozen is None}
    todo = list(movable)
    context: set[int] = set()
    while todo:
        i = todo.pop()
        for j in _neighbours(cp, i):
            if j in movable or j in context:
                continue
            if cp.calls[j].frozen is None and not placed[j].served:
                movable.add(j)
                todo.append(j)
            else:
                context.add(j)
    order = sorted(movable) + sorted(context)
    index = {old: k for k, old in enumerate(order)}
    calls = []
    for k, old in enumerate(order):
        c = cp.calls[old]
        if old in movable:
            calls.append(replace(c, index=k, prev=None if c.prev is None else index[c.prev]))
            continue
        p = placed[old]
        # a call fixed here keeps its arrival too, as the fixed-outside model has it; a frozen call
        # stays as the whole model has it
        f = c.frozen or FrozenSteps(p.berth, p.start, p.end, p.start, p.end, p.arrival, p.arrival)
        # its leg from a free call stays (the sailing constraints); from a fixed one, both are facts here
        prev = index[c.prev] if c.prev is not None and c.prev in movable else None
        calls.append(replace(c, index=k, prev=prev, eta=None, frozen=f,
                             options=[Option(f.berth, f.end - f.start)], optional=False, can_serve=True))
    inside = movable | context
    links = [CompiledLink(index[link.before], index[link.after], link.min_gap, link.max_gap)
             for link in cp.links
             if link.before in inside and link.after in inside
             and (link.before in movable or link.after in movable)]
    # Times are capped a margin after the latest end in it (a round may not push a call further),
    # so that the berth time blocked by the other calls is needed only from the earliest start of a
    # free call to that cap: a few windows instead of a month's.
    cap = max(max(placed[i].end for i in inside), 0) + margin
    sub = CompiledProblem(
        problem=cp.problem, step=cp.step, calls=calls, berth_ids=cp.berth_ids, berth_port=cp.berth_port,
        port_ids=cp.port_ids, closed=cp.closed, unavailable=[[] for _ in cp.berth_ids], links=links,
        horizon=min(cp.horizon, cap), previous={index[i]: v for i, v in cp.previous.items() if i in movable},
        call_index={c.id: c.index for c in calls}, berth_index=cp.berth_index,
    )
    _index_precedences(sub)
    lower, arrival_lower = earliest_starts(sub)
    first = min((min(lower[k], arrival_lower[k]) for k in range(len(movable))), default=0)
    berths = {o.berth for i in movable for o in cp.calls[i].options}
    busy: dict[int, list[tuple[int, int]]] = {b: [w for w in cp.unavailable[b] if w[1] > first and w[0] < cap]
                                              for b in berths}
    for i, p in placed.items():
        if i in inside:
            continue
        fixed = cp.calls[i].frozen
        if fixed is not None:
            berth, start, end = fixed.berth, fixed.start, fixed.end
        else:
            berth, start, end = p.berth, p.start, p.end
        if (fixed is not None or p.served) and berth in busy and end > first and start < sub.horizon:
            busy[berth].append((start, end))
    for b, windows in busy.items():
        sub.unavailable[b] = merged(windows)
    legs = [k for k, c in enumerate(calls) if c.frozen is not None and c.prev is not None
            and cp.calls[order[k]].frozen is None]
    return Neighbourhood(sub, order, len(movable), legs)
