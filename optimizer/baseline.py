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
from collections.abc import Iterable
from dataclasses import dataclass

from optimizer.budget import Deadline
from optimizer.compiled import CompiledCall, CompiledProblem, Option, compile_problem
from optimizer.domain import Problem
from optimizer.plan import CallAssignment

UNSERVED = -1  # the berth of a call the plan leaves unserved


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


def breaks_deadline(cp: CompiledProblem, placed: dict[int, Placement], i: int, start: int, end: int,
                    next_of: list[int | None]) -> bool:
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
    j = next_of[i]
    if j is not None and (f := cp.calls[j].frozen) is not None:
        nxt = cp.calls[j]
        latest_arrival = f.arrival_down if f.arrival_down is not None else f.start
        if end + nxt.sail_min > latest_arrival:
            return True
        if f.arrival_up is not None and end + nxt.sail_max < f.arrival_up:
            return True
    return False


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


def earliest_fit(cp: CompiledProblem, busy: list[tuple[int, int]], port: int, lb: int, steps: int) -> int:
    """Earliest start >= lb on a berth whose `busy` windows are sorted and disjoint (keep them so
    with bisect.insort), avoiding closures at start and end. Logarithmic in the busy windows."""
    t = lb
    closed = cp.closed[port]
    while True:
        moved = False
        for a, b in closed:
            if a <= t <= b:
                t, moved = b + 1, True
            if a <= t + steps <= b:
                t, moved = b + 1 - steps, True
        k = bisect.bisect_left(busy, (t + steps,)) - 1  # the last window starting before the stay ends
        if k >= 0 and busy[k][1] > t:
            t, moved = busy[k][1], True
        if not moved:
            return t


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
    preds, succs = cp.preds, cp.succs
    waiting = [len(p) for p in preds]
    busy = blocked_windows(cp)
    free = [-(10**9)] * len(cp.berth_ids)
    placed: dict[int, Placement] = {}

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
    next_of = cp.next_call
    while heap:
        if deadline is not None:
            deadline.check()
        _, i = heapq.heappop(heap)
        c = cp.calls[i]
        arr = arrival_of(i)
        if c.frozen is not None:
            f = c.frozen
            arr = f.arrival_down if f.arrival_down is not None else arr
            placed[i] = Placement(f.berth, min(arr, f.start), f.start, f.end)
        else:
            lb = max(arr, c.earliest)
            for p, gap in preds[i]:
                if placed[p].served:
                    lb = max(lb, placed[p].end + gap)
            options = c.options
            if i in prefer:
                lb = max(lb, prefer[i][1])
                options = [o for o in c.options if o.berth == prefer[i][0]] or c.options
            def slots(options: list[Option], lb: int, i: int = i,
                      c: CompiledCall = c) -> list[tuple[int, int, int]]:
                found = []
                for o in options:
                    t = earliest_fit(cp, busy[o.berth], c.port, max(lb, free[o.berth]), o.steps)
                    if not respect_limits or not breaks_deadline(cp, placed, i, t, t + o.steps, next_of):
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
        for j in succs[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                release(j)
    return placed


def to_assignments(cp: CompiledProblem, placed: dict[int, Placement]) -> list[CallAssignment]:
    """The served calls' exact-time assignments."""
    return [cp.assignment(i, p.berth, p.arrival, p.start, p.end) for i, p in sorted(placed.items())
            if p.served]


def unserved_calls(placed: dict[int, Placement]) -> list[int]:
    return sorted(i for i, p in placed.items() if not p.served)


def fcfs(problem: Problem) -> list[CallAssignment]:
    """The first-come-first-served plan of `problem` (DESIGN section 3)."""
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
    preds, succs = cp.preds, cp.succs
    waiting = [len(p) for p in preds]
    busy = blocked_windows(cp)
    placed: dict[int, Placement] = {}
    released: dict[int, tuple[int, int]] = {}  # call -> (arrival, lower bound on start)
    # candidate start per (call, berth), recomputed only when that berth gets a new call
    cand: dict[tuple[int, int], int] = {}
    next_of = cp.next_call

    def release(i: int) -> None:
        c = cp.calls[i]
        if c.prev is None:
            assert c.eta is not None
            arr = c.eta
        else:
            arr = placed[c.prev].end + c.sail_service
        if c.frozen is not None:
            f = c.frozen
            place(i, Placement(f.berth, min(f.arrival_down if f.arrival_down is not None else arr, f.start),
                               f.start, f.end))
            return
        if not c.can_serve:
            place(i, passing(arr))
            return
        lb = max(arr, c.earliest)
        for p, gap in preds[i]:
            if placed[p].served:
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
        if respect_limits and breaks_deadline(cp, placed, i, s, s + steps, next_of):
            ok = [(cand[(i, o.berth)] + o.steps, o.berth) for o in c.options
                  if not breaks_deadline(cp, placed, i, cand[(i, o.berth)], cand[(i, o.berth)] + o.steps,
                                         next_of)]
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
