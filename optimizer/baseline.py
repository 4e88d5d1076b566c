"""First come, first served: how the ports plan today, the yardstick every plan is measured by.

Each vessel sails at service speed. Each port serves vessels in order of arrival, each at the
compatible berth where it can start earliest, after the calls already placed there (no
overtaking into earlier gaps). Closures, maintenance, earliest starts, links and frozen calls
are respected; hard latest departures and link max gaps are not looked at, so the FCFS plan may
break them (the checker says so).
"""

from __future__ import annotations

import bisect
import heapq

from optimizer.budget import Deadline
from optimizer.compiled import CompiledCall, CompiledProblem, Option, compile_problem
from optimizer.domain import Problem
from optimizer.plan import CallAssignment
from optimizer.steps import (
    Placement,
    blocked_windows,
    earliest_fit,
    frozen_placement,
    passing,
    service_arrival,
    to_assignments,
)


def breaks_deadline(cp: CompiledProblem, placed: dict[int, Placement], i: int, start: int, end: int) -> bool:
    """Whether serving call i at [start, end) breaks a hard deadline against what is placed (its
    latest departure, a link's max gap, a frozen call after it); calls placed later are checked
    when they are placed."""
    c = cp.calls[i]
    if c.latest_end is not None and end > c.latest_end:
        return True
    for link in cp.links_into[i]:
        p = placed.get(link.before)
        if p is None or not p.served or link.max_gap is None:
            continue
        fb = cp.calls[link.before].frozen
        before_end = fb.end_down if fb is not None else p.end
        if start > before_end + link.max_gap:
            return True
    for link in cp.links_from[i]:
        f = cp.calls[link.after].frozen
        if f is None:
            continue
        if end + link.min_gap > f.start or (link.max_gap is not None and f.start_up > end + link.max_gap):
            return True
    # the vessel's next frozen call, over the calls between (at best passed at max speed: served,
    # they take longer still), and straight after it no slower than min speed either
    j, sailing, direct = cp.next_call[i], 0, True
    while j is not None and (cp.calls[j].optional or cp.calls[j].frozen is not None):
        nxt = cp.calls[j]
        sailing += nxt.sail_min
        if (f := nxt.frozen) is not None:
            latest_arrival = f.arrival_down if f.arrival_down is not None else f.start
            if end + sailing > latest_arrival:
                return True
            if direct and f.arrival_up is not None and end + nxt.sail_max < f.arrival_up:
                return True
            break
        j, direct = cp.next_call[j], False
    return False


def ready(cp: CompiledProblem, i: int, arrival: int, placed: dict[int, Placement]) -> int:
    """The earliest start of call i by its arrival, its earliest start and its predecessors as
    placed (an unserved one holds nothing up)."""
    lb = max(arrival, cp.calls[i].earliest)
    for p, gap in cp.preds[i]:
        if placed[p].served:
            lb = max(lb, placed[p].end + gap)
    return lb


def fcfs_steps(cp: CompiledProblem, prefer: dict[int, tuple[int, int]] | None = None,
               respect_limits: bool = False, deadline: Deadline | None = None) -> dict[int, Placement]:
    """FCFS in model steps.

    With `prefer` (call -> (berth, start), e.g. a previous plan), those calls are queued by their
    preferred start and keep their preferred berth and start when still possible, later otherwise:
    a complete plan that stays close to the previous one.

    With `respect_limits`, a call that cannot be served by its hard deadlines where FCFS would put
    it is left unserved (the vessel passes the port) instead of breaking them: a plan that breaks
    no hard rule, the start of every search.
    """
    prefer = prefer or {}
    n = len(cp.calls)
    waiting = [len(p) for p in cp.preds]
    busy = blocked_windows(cp)
    free = [-(10**9)] * len(cp.berth_ids)
    placed: dict[int, Placement] = {}
    heap: list[tuple[int, int]] = []

    def release(i: int) -> None:
        key = service_arrival(cp.calls[i], placed)
        if i in prefer:
            key = max(key, prefer[i][1])
        heapq.heappush(heap, (key, i))

    for i in range(n):
        if waiting[i] == 0:
            release(i)
    while heap:
        if deadline is not None:
            deadline.check()
        _, i = heapq.heappop(heap)
        c = cp.calls[i]
        arr = service_arrival(c, placed)
        if c.frozen is not None:
            placed[i] = frozen_placement(c, arr)
        else:
            lb = ready(cp, i, arr, placed)
            options = c.options
            if i in prefer:
                lb = max(lb, prefer[i][1])
                options = [o for o in c.options if o.berth == prefer[i][0]] or c.options
            def slots(options: list[Option], lb: int, i: int = i,
                      c: CompiledCall = c) -> list[tuple[int, int, int]]:
                found = []
                for o in options:
                    t = earliest_fit(cp, busy[o.berth], c.port, max(lb, free[o.berth]), o.steps)
                    if not respect_limits or not breaks_deadline(cp, placed, i, t, t + o.steps):
                        found.append((t, t + o.steps, o.berth))
                return sorted(found)

            cands = slots(options, lb)
            if not cands and respect_limits and options is not c.options:
                cands = slots(c.options, lb)  # the previous berth cannot make it: any berth
            if not cands or (respect_limits and not c.can_serve):
                placed[i] = passing(arr)
            else:
                s, e, b = cands[0]
                bisect.insort(busy[b], (s, e))
                free[b] = max(free[b], e)
                placed[i] = Placement(b, arr, s, e)
        for j in cp.succs[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                release(j)
    return placed


def fcfs(problem: Problem) -> list[CallAssignment]:
    """The first-come-first-served plan of `problem`: the baseline every plan is compared with."""
    cp = compile_problem(problem)
    return to_assignments(cp, fcfs_steps(cp))


def dispatch_steps(cp: CompiledProblem, rule: str = "spt", respect_limits: bool = False,
                   deadline: Deadline | None = None) -> dict[int, Placement]:
    """A dispatch-rule plan, used as a better start than FCFS (never as the baseline).

    Builds a non-delay schedule: the next (call, berth) pair is one that can start earliest;
    among those, "spt" takes the shortest handling per unit of priority weight, "ect" the
    earliest completion. Vessels sail at service speed, as in FCFS. With `respect_limits`, a call
    whose chosen start would break a hard deadline is left unserved, as in FCFS.
    """
    n = len(cp.calls)
    waiting = [len(p) for p in cp.preds]
    busy = blocked_windows(cp)
    placed: dict[int, Placement] = {}
    released: dict[int, tuple[int, int]] = {}  # call -> (arrival, lower bound on start)
    # candidate start per (call, berth), recomputed only when that berth gets a new call
    cand: dict[tuple[int, int], int] = {}

    def release(i: int) -> None:
        c = cp.calls[i]
        arr = service_arrival(c, placed)
        if c.frozen is not None:
            place(i, frozen_placement(c, arr))
            return
        if not c.can_serve:
            place(i, passing(arr))
            return
        lb = ready(cp, i, arr, placed)
        released[i] = (arr, lb)
        for o in c.options:
            cand[(i, o.berth)] = earliest_fit(cp, busy[o.berth], c.port, lb, o.steps)

    def place(i: int, p: Placement) -> None:
        placed[i] = p
        for j in cp.succs[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                release(j)

    for i in range(n):
        if waiting[i] == 0:
            release(i)
    while released:
        if deadline is not None:
            deadline.check(8)
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
        if respect_limits and breaks_deadline(cp, placed, i, s, s + steps):
            ok = [(cand[(i, o.berth)] + o.steps, o.berth) for o in c.options
                  if not breaks_deadline(cp, placed, i, cand[(i, o.berth)], cand[(i, o.berth)] + o.steps)]
            if not ok:
                for o in c.options:
                    cand.pop((i, o.berth), None)
                place(i, passing(arr))
                continue
            _, b = min(ok)
            steps = c.option_steps(b)
            assert steps is not None
            s = cand[(i, b)]
        for o in c.options:
            cand.pop((i, o.berth), None)
        bisect.insort(busy[b], (s, s + steps))
        for j, (_, lb) in released.items():
            if (j, b) in cand:
                o_steps = cp.calls[j].option_steps(b)
                assert o_steps is not None
                cand[(j, b)] = earliest_fit(cp, busy[b], cp.calls[j].port, lb, o_steps)
        place(i, Placement(b, arr, s, s + steps))
    return placed
