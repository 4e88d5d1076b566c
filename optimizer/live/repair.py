"""Repairing the last version after a batch of events, moving as little as it can.

Each call keeps its berth and start where it still can; where it cannot (its vessel is late, a
closure or maintenance is in the way, a call before it on the berth moved), it starts at the
earliest time its berth allows after that, on the same berth when that is possible, else on the
berth where it ends first. Calls are taken in the order of their old starts, so that the berth
queues keep their order: a right shift. Unlike FCFS with a preferred plan
(optimizer.baseline.fcfs_steps), vessels keep the speeds the plan gave them (an arrival as early
as the voyage allows, not at service speed), so a change stays where it is instead of rippling
through every later call.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping

from optimizer.baseline import breaks_deadline, ready
from optimizer.compiled import CompiledProblem, compile_problem
from optimizer.domain import Problem
from optimizer.plan import CallAssignment
from optimizer.steps import (
    Placement,
    arrival,
    blocked_windows,
    earliest_arrival,
    earliest_fit,
    frozen_placement,
    passing,
)


def _fit(cp: CompiledProblem, busy: list[tuple[int, int]], port: int, lb: int, steps: int) -> tuple[int, int]:
    """The earliest stay from `lb`: start and end, a departure that falls in a closure waiting
    moored for its end (as the model allows), the whole stay clear of the berth's busy windows."""
    t = lb
    while True:
        t = earliest_fit(cp, busy, port, t, steps, moored_through_closures=True)
        e = t + steps
        for a, b in cp.closed[port]:
            if a <= e <= b:
                e = b + 1
        k = bisect.bisect_left(busy, (e,)) - 1
        if k >= 0 and busy[k][1] > t:
            t = busy[k][1]
            continue
        return t, e


def shift_repair(cp: CompiledProblem, prefer: dict[int, tuple[int, int]]) -> dict[int, Placement]:
    """A plan that breaks no hard rule, as close to `prefer` (call -> (berth, start step)) as a
    right shift gets; calls that cannot make their hard deadlines are left unserved."""
    busy = blocked_windows(cp)
    placed: dict[int, Placement] = {}
    waiting = [len(p) for p in cp.preds]
    heap: list[tuple[int, int]] = []

    def release(i: int) -> None:
        key = prefer[i][1] if i in prefer else ready(cp, i, earliest_arrival(cp, i, placed), placed)
        heapq.heappush(heap, (key, i))

    for i in range(len(cp.calls)):
        if waiting[i] == 0:
            release(i)
    while heap:
        _, i = heapq.heappop(heap)
        c = cp.calls[i]
        lo_arrival = earliest_arrival(cp, i, placed)
        if c.frozen is not None:
            placed[i] = frozen_placement(c, lo_arrival)
        else:
            lb = ready(cp, i, lo_arrival, placed)
            ends = {j: p.end for j, p in placed.items()}

            def slot(berth: int, steps: int, lb: int, i: int = i,
                     ends: dict[int, int] = ends) -> Placement | None:
                t, e = _fit(cp, busy[berth], cp.calls[i].port, lb, steps)
                if breaks_deadline(cp, placed, i, t, e):
                    return None
                return Placement(berth, arrival(cp.calls[i], t, ends), t, e)

            found: Placement | None = None
            if c.can_serve and i in prefer:
                berth, start = prefer[i]
                steps = c.option_steps(berth)
                if steps is not None:
                    found = slot(berth, steps, max(lb, start))
            if c.can_serve and found is None:
                tries = [p for o in c.options if (p := slot(o.berth, o.steps, lb)) is not None]
                found = min(tries, key=lambda p: (p.end, p.start), default=None)
            if found is None:
                placed[i] = passing(lo_arrival)
            else:
                bisect.insort(busy[found.berth], (found.start, found.end))
                placed[i] = found
        for j in cp.succs[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                release(j)
    return placed


#: A repair: the compiled view, what it preferred (call -> (berth, start step)), where it put each call.
Repair = tuple[CompiledProblem, dict[int, tuple[int, int]], dict[int, Placement]]


def repair_last(problem: Problem, previous: Mapping[str, CallAssignment],
                compiled: CompiledProblem | None = None) -> Repair:
    """The repair of the last version (call id -> its assignment) in `problem`, the planning view:
    the compiled view (`compiled` when given: it must be of `problem`), what the repair preferred
    (call -> (berth, start step)) and where it put each call. The replan searches from it;
    optimizer.live.causes reads what it had to move. Neither changes what it returns."""
    cp = compiled if compiled is not None else compile_problem(problem)
    assert cp.problem is problem
    prefer = cp.preferred(a for cid, a in previous.items() if cid in cp.call_index)
    return cp, prefer, shift_repair(cp, prefer)
