"""First come, first served: how the ports plan today, the yardstick every plan is measured by.

Each vessel sails at service speed. Each port serves vessels in order of arrival, each at the
compatible berth where it can start earliest, after the calls already placed there (no
overtaking into earlier gaps). Closures, maintenance, earliest starts, links and frozen calls
are respected; hard latest departures and link max gaps are not looked at, so the FCFS plan may
break them (the checker says so).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from optimizer.compiled import CompiledProblem, compile_problem
from optimizer.domain import Problem
from optimizer.plan import CallAssignment


@dataclass(frozen=True)
class Placement:
    """A call's decision in model steps."""

    berth: int
    arrival: int
    start: int
    end: int


def earliest_fit(cp: CompiledProblem, busy: list[tuple[int, int]], port: int, lb: int, steps: int) -> int:
    """Earliest start >= lb on a berth with `busy` intervals, avoiding closures at start and end."""
    t = lb
    while True:
        moved = False
        for a, b in cp.closed[port]:
            if a <= t <= b:
                t, moved = b + 1, True
            if a <= t + steps <= b:
                t, moved = b + 1 - steps, True
        for a, b in busy:
            if t < b and a < t + steps:
                t, moved = b, True
        if not moved:
            return t


def precedences(cp: CompiledProblem) -> tuple[list[list[tuple[int, int]]], list[list[int]]]:
    """Per call: its predecessors (voyage and links) with the min gap after their end, and its
    successors."""
    preds: list[list[tuple[int, int]]] = [[] for _ in cp.calls]
    succs: list[list[int]] = [[] for _ in cp.calls]
    for c in cp.calls:
        if c.prev is not None:
            preds[c.index].append((c.prev, 0))
            succs[c.prev].append(c.index)
    for link in cp.links:
        preds[link.after].append((link.before, link.min_gap))
        succs[link.before].append(link.after)
    return preds, succs


def fcfs_steps(cp: CompiledProblem, prefer: dict[int, tuple[int, int]] | None = None) -> dict[int, Placement]:
    """FCFS in model steps.

    With `prefer` (call -> (berth, start), e.g. a previous plan), those calls are queued by their
    preferred start and keep their preferred berth and start when still possible, later otherwise:
    a complete plan that stays close to the previous one.
    """
    prefer = prefer or {}
    n = len(cp.calls)
    preds, succs = precedences(cp)
    waiting = [len(p) for p in preds]
    busy: list[list[tuple[int, int]]] = [list(w) for w in cp.unavailable]
    free = [-(10**9)] * len(cp.berth_ids)
    placed: dict[int, Placement] = {}

    for c in cp.calls:
        if c.frozen is not None:
            b, s, e, _ = c.frozen
            busy[b].append((s, e))

    def arrival_of(i: int) -> int:
        c = cp.calls[i]
        if c.prev is None:
            assert c.eta is not None
            return c.eta
        return placed[c.prev].end + c.sail_service

    heap: list[tuple[int, int]] = []

    def release(i: int) -> None:
        key = arrival_of(i)
        if i in prefer:
            key = max(key, prefer[i][1])
        heapq.heappush(heap, (key, i))

    for i in range(n):
        if waiting[i] == 0:
            release(i)
    while heap:
        _, i = heapq.heappop(heap)
        c = cp.calls[i]
        arr = arrival_of(i)
        if c.frozen is not None:
            b, s, e, a = c.frozen
            placed[i] = Placement(b, min(a if a is not None else arr, s), s, e)
        else:
            lb = max(arr, c.earliest)
            for p, gap in preds[i]:
                lb = max(lb, placed[p].end + gap)
            options = c.options
            if i in prefer:
                lb = max(lb, prefer[i][1])
                options = [o for o in c.options if o.berth == prefer[i][0]] or c.options
            best: tuple[int, int, int] | None = None
            for o in options:
                t = earliest_fit(cp, busy[o.berth], c.port, max(lb, free[o.berth]), o.steps)
                cand = (t, t + o.steps, o.berth)
                if best is None or cand < best:
                    best = cand
            assert best is not None
            s, e, b = best
            busy[b].append((s, e))
            free[b] = max(free[b], e)
            placed[i] = Placement(b, arr, s, e)
        for j in succs[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                release(j)
    return placed


def to_assignments(cp: CompiledProblem, placed: dict[int, Placement]) -> list[CallAssignment]:
    return [cp.assignment(i, p.berth, p.arrival, p.start, p.end) for i, p in sorted(placed.items())]


def fcfs(problem: Problem) -> list[CallAssignment]:
    """The first-come-first-served plan of `problem` (DESIGN section 3)."""
    cp = compile_problem(problem)
    return to_assignments(cp, fcfs_steps(cp))


def dispatch_steps(cp: CompiledProblem, rule: str = "spt") -> dict[int, Placement]:
    """A dispatch-rule plan, used as a better start than FCFS (never as the baseline).

    Builds a non-delay schedule: the next (call, berth) pair is one that can start earliest;
    among those, "spt" takes the shortest handling per unit of priority weight, "ect" the
    earliest completion. Vessels sail at service speed, as in FCFS.
    """
    n = len(cp.calls)
    preds, succs = precedences(cp)
    waiting = [len(p) for p in preds]
    busy: list[list[tuple[int, int]]] = [list(w) for w in cp.unavailable]
    placed: dict[int, Placement] = {}
    for c in cp.calls:
        if c.frozen is not None:
            busy[c.frozen[0]].append((c.frozen[1], c.frozen[2]))
    released: dict[int, tuple[int, int]] = {}  # call -> (arrival, lower bound on start)
    # candidate start per (call, berth), recomputed only when that berth gets a new call
    cand: dict[tuple[int, int], int] = {}

    def release(i: int) -> None:
        c = cp.calls[i]
        if c.prev is None:
            assert c.eta is not None
            arr = c.eta
        else:
            arr = placed[c.prev].end + c.sail_service
        if c.frozen is not None:
            b, s, e, a = c.frozen
            place(i, Placement(b, min(a if a is not None else arr, s), s, e))
            return
        lb = max(arr, c.earliest)
        for p, gap in preds[i]:
            lb = max(lb, placed[p].end + gap)
        released[i] = (arr, lb)
        for o in c.options:
            cand[(i, o.berth)] = earliest_fit(cp, busy[o.berth], c.port, lb, o.steps)

    def place(i: int, p: Placement) -> None:
        placed[i] = p
        for j in succs[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                release(j)

    for i in range(n):
        if waiting[i] == 0:
            release(i)
    while released:
        best_key: tuple[float, ...] | None = None
        best_pair = (-1, -1)
        t_min = min(cand[(i, o.berth)] for i in released for o in cp.calls[i].options)
        for i in released:
            c = cp.calls[i]
            for o in c.options:
                s = cand[(i, o.berth)]
                if rule == "spt":
                    if s != t_min:
                        continue
                    key: tuple[float, ...] = (o.steps / c.weight, s, i)
                else:
                    key = (s + o.steps, o.steps / c.weight, i)
                if best_key is None or key < best_key:
                    best_key, best_pair = key, (i, o.berth)
        i, b = best_pair
        c = cp.calls[i]
        steps = c.option_steps(b)
        assert steps is not None
        s = cand[(i, b)]
        arr, _ = released.pop(i)
        for o in c.options:
            cand.pop((i, o.berth), None)
        busy[b].append((s, s + steps))
        for j, (_, lb) in released.items():
            if (j, b) in cand:
                o_steps = cp.calls[j].option_steps(b)
                assert o_steps is not None
                cand[(j, b)] = earliest_fit(cp, busy[b], cp.calls[j].port, lb, o_steps)
        place(i, Placement(b, arr, s, s + steps))
    return placed


def breaks_limits(cp: CompiledProblem, placed: dict[int, Placement]) -> bool:
    """True when a plan misses a hard latest departure or a link's max gap (the two limits the
    constructive plans do not look at)."""
    if any(c.latest_end is not None and placed[c.index].end > c.latest_end for c in cp.calls):
        return True
    return any(
        link.max_gap is not None and placed[link.after].start > placed[link.before].end + link.max_gap
        for link in cp.links
    )
