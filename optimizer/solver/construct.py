"""A feasibility-first start plan: built around the hard limits, not FCFS with the late calls dropped.

Calls are taken when their voyage and link predecessors are placed, most urgent first: urgency is
the slack between a call's latest departure (its own, or the latest that lets the rest of its
voyage and its links make theirs) and the earliest it could leave now. Calls with room to spare
go in order of the earliest start they can get, as a port would take them. Each goes to the
compatible berth, in any gap that fits, where it ends first among those that keep every hard limit
(its vessel sailing at top speed to get there, then arriving as late as it may: just in time).

A call that fits nowhere gets an ejection chain before it is given up: one to three calls that
block it on one of its berths are taken out, it goes in, and they are re-inserted elsewhere (each
may in turn eject others, to a small depth); if any cannot be, everything is put back. Only then
is the call left unserved, its vessel passing the port.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass

from optimizer.baseline import breaks_deadline, ready
from optimizer.budget import Deadline
from optimizer.compiled import CompiledProblem
from optimizer.steps import (
    Placement,
    arrival,
    blocked_windows,
    earliest_arrival,
    earliest_fit,
    frozen_placement,
    passing,
)

INF = 10**12


@dataclass(frozen=True)
class ConstructionParameters:
    urgent_hours: float = 12.0  # a call with less slack than this is placed before calls in time order
    eject_max: int = 3  # calls an ejection may take out of one berth
    eject_depth: int = 2  # ... and how deep the chain may go
    eject_tries: int = 6  # insertion points tried per call and level
    lookahead_hours: float = 24.0  # calls able to start this much after the front are compared


@dataclass
class _Undo:
    placed: list[tuple[int, Placement | None]]
    windows: list[tuple[int, tuple[int, int], bool]]  # berth, window, True when it was added


class Construction:
    """Builds the start plan (see the module docstring); `build()` returns it."""

    def __init__(self, cp: CompiledProblem, deadline: Deadline | None = None,
                 params: ConstructionParameters | None = None):
        self.cp, self.deadline = cp, deadline
        self.params = params or ConstructionParameters()
        self.fixed = blocked_windows(cp)
        self.busy = [list(w) for w in self.fixed]
        self.on_berth: list[list[tuple[int, int, int]]] = [[] for _ in cp.berth_ids]  # (start, end, call)
        self.placed: dict[int, Placement] = {}
        self.latest = self._latest_ends()
        self.urgent = max(1, round(self.params.urgent_hours * 60 / cp.step))
        self.undo: _Undo | None = None
        self.rank = {i: k for k, i in enumerate(cp.topological_order())}

    # -- what the limits imply --------------------------------------------------------------------

    def _latest_ends(self) -> list[int]:
        """Per call: the latest end that lets it and the calls after it (voyage, links) keep their
        latest departures, each at its fastest; INF when nothing limits it."""
        cp = self.cp
        shortest = [min((o.steps for o in c.options), default=0) for c in cp.calls]
        lat = [INF] * len(cp.calls)
        for i in reversed(cp.topological_order()):
            c = cp.calls[i]
            if c.frozen is not None:
                lat[i] = c.frozen.end
                continue
            bound = c.latest_end if c.latest_end is not None else INF
            j = cp.next_call[i]
            if j is not None:
                cj = cp.calls[j]
                if cj.frozen is not None:
                    f = cj.frozen
                    latest_arrival = f.arrival_down if f.arrival_down is not None else f.start
                    bound = min(bound, latest_arrival - cj.sail_min)
                elif lat[j] < INF:
                    bound = min(bound, lat[j] - shortest[j] - cj.sail_min)
            for link in cp.links_from[i]:
                cj = cp.calls[link.after]
                if cj.frozen is not None:
                    bound = min(bound, cj.frozen.start - link.min_gap)
                elif lat[link.after] < INF:
                    bound = min(bound, lat[link.after] - shortest[link.after] - link.min_gap)
            lat[i] = bound
        return lat

    def ready(self, i: int) -> tuple[int, int]:
        """Call i's earliest arrival (at top speed from its previous call as placed) and start."""
        arr = earliest_arrival(self.cp, i, self.placed)
        return arr, ready(self.cp, i, arr, self.placed)

    def fits(self, i: int, start: int, end: int) -> bool:
        """Whether call i at [start, end) keeps every hard limit against the calls placed, those
        after it included (which an ejection may have placed already)."""
        cp = self.cp
        if breaks_deadline(cp, self.placed, i, start, end):
            return False
        j = cp.next_call[i]
        if j is not None and j in self.placed and cp.calls[j].frozen is None:
            nxt = self.placed[j]
            if not nxt.served or nxt.start < end + cp.calls[j].sail_min:
                return False
        for link in cp.links_from[i]:
            pj = self.placed.get(link.after)
            if pj is None or not pj.served or cp.calls[link.after].frozen is not None:
                continue
            if pj.start < end + link.min_gap or (link.max_gap is not None and pj.start > end + link.max_gap):
                return False
        return True

    def _gap_slack(self, i: int, start: int) -> int:
        """How much later call i may start than `start` by the max gaps of links into it."""
        slack = INF
        for link in self.cp.links_into[i]:
            p = self.placed.get(link.before)
            if link.max_gap is not None and p is not None and p.served:
                slack = min(slack, p.end + link.max_gap - start)
        return slack

    def options(self, i: int, lb: int) -> list[tuple[int, int, int]]:
        """(end, start, berth) of each berth where call i can go now keeping its limits, best first."""
        c, cp = self.cp.calls[i], self.cp
        out = []
        for o in c.options:
            s = earliest_fit(cp, self.busy[o.berth], c.port, lb, o.steps)
            e = s + o.steps
            if self.fits(i, s, e):
                out.append((e, s, o.berth))
        out.sort()
        return out

    # -- changing the plan --------------------------------------------------------------------------

    def _set(self, i: int, p: Placement | None) -> None:
        old = self.placed.get(i)
        if self.undo is not None:
            self.undo.placed.append((i, old))
        if old is not None and old.served and self.cp.calls[i].frozen is None:
            self._window(old.berth, (old.start, old.end), add=False, call=i)
        if p is None:
            self.placed.pop(i, None)
            return
        self.placed[i] = p
        if p.served and self.cp.calls[i].frozen is None:
            self._window(p.berth, (p.start, p.end), add=True, call=i)

    def _window(self, b: int, w: tuple[int, int], add: bool, call: int, log: bool = True) -> None:
        if add:
            bisect.insort(self.busy[b], w)
            bisect.insort(self.on_berth[b], (w[0], w[1], call))
        else:
            self.busy[b].remove(w)
            self.on_berth[b].remove((w[0], w[1], call))
        if log and self.undo is not None:
            self.undo.windows.append((b, w, add))

    def _rollback(self, undo: _Undo) -> None:
        for i, old in reversed(undo.placed):
            cur = self.placed.get(i)
            if cur is not None and cur.served and self.cp.calls[i].frozen is None:
                self._window(cur.berth, (cur.start, cur.end), add=False, call=i, log=False)
            if old is None:
                self.placed.pop(i, None)
            else:
                self.placed[i] = old
                if old.served and self.cp.calls[i].frozen is None:
                    self._window(old.berth, (old.start, old.end), add=True, call=i, log=False)

    def place(self, i: int, berth: int, start: int, end: int) -> None:
        c = self.cp.calls[i]
        ends = {c.prev: self.placed[c.prev].end} if c.prev is not None else {}
        self._set(i, Placement(berth, arrival(c, start, ends), start, end))
        j = self.cp.next_call[i]
        if j is not None and j in self.placed and self.placed[j].served and self.cp.calls[j].frozen is None:
            pj = self.placed[j]  # the next call, placed by an ejection: it arrives as late as it may now
            self._set(j, Placement(pj.berth, arrival(self.cp.calls[j], pj.start, {i: end}), pj.start, pj.end))

    # -- ejection chains ------------------------------------------------------------------------------

    def _movable_blockers(self, b: int, s: int, e: int) -> list[int] | None:
        """The calls placed on berth b over [s, e), or None when one of them may not be moved (its
        next call passes its port: moving it would re-time a passage)."""
        out = []
        for (ws, we, k) in self.on_berth[b]:
            if ws >= e:
                break
            if we > s:
                j = self.cp.next_call[k]
                if j is not None and j in self.placed and not self.placed[j].served:
                    return None
                out.append(k)
        return out

    def eject_insert(self, i: int, depth: int, taboo: frozenset[int]) -> bool:
        """Insert call i (not placed) by taking out calls that block it, re-inserting them
        elsewhere; True when done (the plan keeps every limit), else the plan is as before."""
        cp, c = self.cp, self.cp.calls[i]
        if depth <= 0 or not c.can_serve:
            return False
        _, lb = self.ready(i)
        near = {p for p, _ in cp.preds[i]} | set(cp.succs[i]) | taboo
        candidates: list[tuple[int, int, int, int, list[int]]] = []
        for o in c.options:
            b = o.berth
            starts = {earliest_fit(cp, self.fixed[b], c.port, lb, o.steps)}
            for (_, we, _) in self.on_berth[b]:
                if we > lb:
                    starts.add(earliest_fit(cp, self.fixed[b], c.port, we, o.steps))
            for s in starts:
                e = s + o.steps
                if not self.fits(i, s, e):
                    continue
                blockers = self._movable_blockers(b, s, e)
                if blockers is None or not blockers or len(blockers) > self.params.eject_max \
                        or near.intersection(blockers):
                    continue
                weight = sum(cp.calls[k].weight for k in blockers)
                candidates.append((len(blockers), weight, e, b, blockers))
        candidates.sort(key=lambda x: x[:4])
        for _, _, e, b, blockers in candidates[: self.params.eject_tries]:
            if self.deadline is not None:
                self.deadline.check(1)
            steps = c.option_steps(b)
            assert steps is not None
            outer, self.undo = self.undo, _Undo([], [])
            for k in blockers:
                self._set(k, None)
            self.place(i, b, e - steps, e)
            ok = True
            for k in sorted(blockers, key=self.rank.__getitem__):  # voyage and link order
                if not self._reinsert(k, depth, taboo | {i}):
                    ok = False
                    break
            undo, self.undo = self.undo, outer
            if ok:
                if outer is not None:
                    outer.placed.extend(undo.placed)
                    outer.windows.extend(undo.windows)
                return True
            self._rollback(undo)
        return False

    def _reinsert(self, k: int, depth: int, taboo: frozenset[int]) -> bool:
        _, lb = self.ready(k)
        found = self.options(k, lb)
        if found:
            e, s, b = found[0]
            self.place(k, b, s, e)
            return True
        return self.eject_insert(k, depth - 1, taboo)

    # -- the construction ----------------------------------------------------------------------------

    def build(self) -> dict[int, Placement]:
        """Calls released (predecessors placed) wait in `pending` until the front of the plan
        (the earliest start among the calls being considered) comes within `lookahead_hours` of
        them; only those considered are compared and re-evaluated when their berths change."""
        cp = self.cp
        waiting = [len(p) for p in cp.preds]
        pending: list[tuple[int, int]] = []  # (earliest start when released, call)
        cache: dict[int, list[tuple[int, int, int]]] = {}  # considered call -> its options
        lbs: dict[int, int] = {}
        by_berth: list[set[int]] = [set() for _ in cp.berth_ids]
        lookahead = round(self.params.lookahead_hours * 60 / cp.step)

        def release(i: int) -> None:
            c = cp.calls[i]
            arr, lb = self.ready(i)
            if c.frozen is not None:
                self._set(i, frozen_placement(c, arr))
                done(i)
            elif not c.can_serve or not c.options:
                self._set(i, passing(arr))
                done(i)
            else:
                heapq.heappush(pending, (lb, i))

        def consider(i: int) -> None:
            _, lbs[i] = self.ready(i)
            cache[i] = self.options(i, lbs[i])
            for o in cp.calls[i].options:
                by_berth[o.berth].add(i)

        def done(i: int) -> None:
            for j in cp.succs[i]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    release(j)

        for i in range(len(cp.calls)):
            if waiting[i] == 0 and i not in self.placed:
                release(i)
        while cache or pending:
            if self.deadline is not None:
                self.deadline.check(8)
            front = min(lbs.values()) if lbs else pending[0][0]
            while pending and pending[0][0] <= front + lookahead:
                consider(heapq.heappop(pending)[1])
            pick, key = -1, (4, 0, 0)
            for i, found in cache.items():
                if not found:
                    k = (0, self.latest[i], i)
                else:
                    e, s, _ = found[0]
                    slack = min(self.latest[i] - e, self._gap_slack(i, s))
                    regret = found[1][0] - e if len(found) > 1 else self.urgent
                    k = (1, slack - regret, i) if slack <= self.urgent else (2, s, i)
                if k < key:
                    pick, key = i, k
            i = pick
            found = cache.pop(i)
            del lbs[i]
            for o in cp.calls[i].options:
                by_berth[o.berth].discard(i)
            again: set[int] = set()
            if found:
                e, s, b = found[0]
                self.place(i, b, s, e)
                again = set(by_berth[b])
            elif self.eject_insert(i, self.params.eject_depth, frozenset()):
                again = set(cache)  # an ejection moves calls whose successors may be considered
            else:
                arr, _ = self.ready(i)
                self._set(i, passing(arr))
            done(i)
            for j in again:
                consider(j)
        return self._timed()

    def _timed(self) -> dict[int, Placement]:
        """Arrivals as late as each voyage allows, now that every call is where it stays."""
        cp, out = self.cp, {}
        ends: dict[int, int] = {}
        for i in cp.topological_order():
            p, c = self.placed[i], cp.calls[i]
            if p.served and c.frozen is None:
                p = Placement(p.berth, arrival(c, p.start, ends), p.start, p.end)
            out[i] = p
            ends[i] = p.end
        return out


def construct(cp: CompiledProblem, deadline: Deadline | None = None,
              params: ConstructionParameters | None = None) -> dict[int, Placement]:
    """The feasibility-first start plan (module docstring)."""
    return Construction(cp, deadline, params).build()
