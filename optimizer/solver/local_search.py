"""A fast local search on berth sequences, for problems too big for CP-SAT to improve alone.

A plan is a sequence of calls per berth. A move (relocate one call, or swap two) changes one or two
sequences; the calls after the change are re-timed at their earliest start (after the previous
call on the berth, the vessel's arrival, its earliest start, its voyage and link predecessors,
maintenance and closures). Every constraint that touches a re-timed call is then checked against
the rest of the plan as it stands (latest departures, sailing windows to the next call, link gaps),
and a move that breaks one is rejected: the current plan is always complete and feasible.
Only the re-timed calls (and the next calls of their voyages) are re-costed, so a move costs a few
dozen operations, not a pass over the plan.

Most moves start from the costliest of a few random calls (above what the call costs with no
wait at its fastest berth): on a month of traffic most calls already berth on arrival, and moves
of those rarely pay.

Acceptance is late-acceptance hill climbing: a move is taken when it is no worse than the current
plan or than the plan of a few hundred moves ago, which lets the search walk across plateaus and
out of shallow local optima without a temperature to tune.
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Callable

from optimizer.compiled import CompiledProblem
from optimizer.params import LocalSearchParameters, ObjectiveWeights
from optimizer.steps import (
    UNSERVED,
    Placement,
    arrival,
    blocked_windows,
    call_cost,
    earliest_fit,
    passing,
    unserved_penalty,
)

NEG = -(10**9)
Times = tuple[int, int, int]  # berth, start, end
Changes = dict[int, tuple[list[int], int, int]]  # berth -> new sequence, first changed, unchanged tail


class LocalSearch:
    """Berth-sequence local search over a complete feasible plan (see the module docstring)."""

    def __init__(self, cp: CompiledProblem, weights: ObjectiveWeights, placed: dict[int, Placement],
                 seed: int = 0, history: int = 300, params: LocalSearchParameters | None = None):
        self.cp, self.w = cp, weights
        self.params = params or LocalSearchParameters()
        self.rng = random.Random(seed)
        self.steps: list[dict[int, int]] = [{o.berth: o.steps for o in c.options} for c in cp.calls]
        self.penalty = unserved_penalty(cp, weights)
        self.all_movable = [c.index for c in cp.calls if c.frozen is None and c.options]
        # berth blocked by maintenance or frozen calls; the sequences hold the movable calls only
        self.blocked = blocked_windows(cp)
        # cost of each call with no wait and its shortest handling, lateness aside: what a move can
        # at best bring it down to
        self.floor = [weights.dwell * c.weight * cp.step * min((o.steps for o in c.options), default=0)
                      for c in cp.calls]
        self.history = history
        self.load(placed)

    # -- state ------------------------------------------------------------------------------------

    def load(self, placed: dict[int, Placement]) -> None:
        """Take `placed` as the current (and best) plan."""
        cp = self.cp
        self.berth = [p.berth for _, p in sorted(placed.items())]
        self.start = [p.start for _, p in sorted(placed.items())]
        self.end = [p.end for _, p in sorted(placed.items())]
        # unserved calls stay unserved here (CP-SAT rounds may serve them); they pass their port
        self.movable = [i for i in self.all_movable if placed[i].served]
        self.seq: list[list[int]] = [[] for _ in cp.berth_ids]
        for i in sorted(self.movable, key=lambda k: self.start[k]):
            self.seq[self.berth[i]].append(i)
        self.starts: list[list[int]] = [[self.start[i] for i in s] for s in self.seq]
        self.cost = [self.call_cost(i, self.berth[i], self.start[i], self.end[i], self.end) for i in
                     range(len(cp.calls))]
        self.value = sum(self.cost)
        self.best_value = self.value
        self.best: dict[int, Placement] = self.placements()
        self.best_saved = True
        self.late: list[int] = [self.value] * self.history
        self.moves = 0

    def call_cost(self, i: int, berth: int, start: int, end: int, ends: list[int] | dict[int, int]) -> int:
        """Call i's cost placed so, arriving as late as its voyage allows after `ends`."""
        if berth == UNSERVED:
            return self.penalty
        arr = arrival(self.cp.calls[i], start, ends)
        return call_cost(self.cp, self.w, i, berth, arr, start, end, self.penalty)

    def placements(self) -> dict[int, Placement]:
        """The plan; an unserved call passes its port (arrival = start = end), which the moves
        keep within its voyage's speed limits (see _evaluate)."""
        start, end = self.start, self.end
        return {c.index: Placement(self.berth[c.index], arrival(c, start[c.index], end), start[c.index],
                                   end[c.index]) if self.berth[c.index] != UNSERVED
                else passing(start[c.index]) for c in self.cp.calls}

    # -- evaluation -------------------------------------------------------------------------------

    def _evaluate(self, changed: Changes) -> tuple[int, dict[int, Times]] | None:
        """Re-time berths given as berth -> (new sequence, first changed position, first position
        of the unchanged tail); the cost change and the new times, or None when infeasible."""
        cp = self.cp
        new: dict[int, Times] = {}
        start, end = self.start, self.end

        def end_of(k: int) -> int:
            t = new.get(k)
            return t[2] if t is not None else end[k]

        for b, (seq, first, tail) in changed.items():
            t = end_of(seq[first - 1]) if first > 0 else NEG
            port = cp.berth_port[b]
            blocked = self.blocked[b]
            for q in range(first, len(seq)):
                i = seq[q]
                c = cp.calls[i]
                lb = c.earliest if c.earliest > t else t
                if c.prev is not None:
                    lb = max(lb, end_of(c.prev) + c.sail_min)
                for link in cp.links_into[i]:
                    if self.berth[link.before] != UNSERVED:
                        lb = max(lb, end_of(link.before) + link.min_gap)
                steps = self.steps[i][b]
                s = earliest_fit(cp, blocked, port, lb, steps) if (blocked or cp.closed[port]) else lb
                e = s + steps
                if q >= tail and s == start[i] and e == end[i]:
                    break
                new[i] = (b, s, e)
                t = e
        delta = 0
        recost: set[int] = set()
        for i, (_, s, e) in list(new.items()):  # passed calls re-timed below join `new`
            c = cp.calls[i]
            if c.latest_end is not None and e > c.latest_end:
                return None
            if c.prev is not None and s < end_of(c.prev) + c.sail_min:
                return None
            for link in cp.links_into[i]:
                k, gap, max_gap = link.before, link.min_gap, link.max_gap
                if self.berth[k] == UNSERVED:
                    continue
                fk = cp.calls[k].frozen
                ek = end_of(k)
                if s < ek + gap or (max_gap is not None and s > (fk.end_down if fk else ek) + max_gap):
                    return None
            if e != end[i]:
                j = cp.next_call[i]
                after = (j, e) if j is not None else None
                if j is not None and self.berth[j] == UNSERVED:
                    after = self._pass_on(j, e, new)  # the ports it passes, then its next served call
                if after is not None:
                    j, t = after
                    cj = cp.calls[j]
                    sj = new[j][1] if j in new else start[j]
                    if sj < t + cj.sail_min:
                        return None
                    fj = cj.frozen
                    if fj is not None and fj.arrival_down is not None and (
                            t + cj.sail_min > fj.arrival_down or t + cj.sail_max < (fj.arrival_up or 0)):
                        return None
                    recost.add(j)
                for link in cp.links_from[i]:
                    j, gap, max_gap = link.after, link.min_gap, link.max_gap
                    if self.berth[j] == UNSERVED:
                        continue
                    fj = cp.calls[j].frozen
                    sj = new[j][1] if j in new else start[j]
                    if sj < e + gap or (max_gap is not None and (fj.start_up if fj else sj) > e + max_gap):
                        return None
            recost.add(i)
        ends: dict[int, int] | list[int]
        if new:
            ends = {k: v[2] for k, v in new.items()}
            for i in recost:
                c = cp.calls[i]
                if c.prev is not None and c.prev not in ends:
                    ends[c.prev] = end[c.prev]
        else:
            ends = end
        for i in recost:
            b, s, e = new[i] if i in new else (self.berth[i], start[i], end[i])
            delta += self.call_cost(i, b, s, e, ends) - self.cost[i]
        return delta, new

    def _pass_on(self, j: int, departure: int, new: dict[int, Times]) -> tuple[int, int] | None:
        """Re-time the calls the vessel passes after leaving at `departure` (j the first): each
        passed when it was where the vessel's speed limits still allow, else as near as they do
        (arrival = start = end, so the whole way keeps them). Adds the changes to `new`. Returns
        the vessel's next served call and when it passes the last port before it, or None when
        the change does not reach it (a passage keeps its time, or the voyage ends)."""
        cp = self.cp
        t = departure
        k: int | None = j
        while k is not None and self.berth[k] == UNSERVED:
            ck = cp.calls[k]
            was = self.start[k]
            p = min(max(was, t + ck.sail_min), t + ck.sail_max)
            if p == was:
                return None
            new[k] = (UNSERVED, p, p)
            t = p
            k = cp.next_call[k]
        return None if k is None else (k, t)

    def _commit(self, changed: Changes, delta: int, new: dict[int, Times]) -> None:
        cp = self.cp
        for i, (b, s, e) in new.items():
            self.berth[i], self.start[i], self.end[i] = b, s, e
        for b, (seq, _, _) in changed.items():
            self.seq[b] = seq
            self.starts[b] = [self.start[i] for i in seq]
        recost = set(new)
        for i in new:
            j = cp.next_call[i]
            if j is not None:
                recost.add(j)
        for i in recost:
            self.cost[i] = self.call_cost(i, self.berth[i], self.start[i], self.end[i], self.end)
        self.value += delta
        del cp

    # -- moves ------------------------------------------------------------------------------------

    def _position(self, b: int, t: int) -> int:
        return bisect.bisect_left(self.starts[b], t)

    def _relocate(self, i: int) -> tuple[Changes, int, dict[int, Times]] | None:
        """Best of a few insertions of call i near its current time, on a random compatible berth."""
        b1 = self.berth[i]
        berths = list(self.steps[i])
        b2 = self.rng.choice(berths)
        old = self.seq[b1]
        p1 = old.index(i)
        removed = old[:p1] + old[p1 + 1:]
        target = removed if b2 == b1 else self.seq[b2]
        anchor = self.cp.calls[i].earliest if self.rng.random() < 0.3 else self.start[i]
        p0 = bisect.bisect_left([self.start[k] for k in target], anchor) if b2 == b1 \
            else self._position(b2, anchor)
        best: tuple[Changes, int, dict[int, Times]] | None = None
        for p in range(max(0, p0 - 2), min(len(target), p0 + 2) + 1):
            if b2 == b1:
                if p == p1:
                    continue
                seq = [*removed[:p], i, *removed[p:]]
                lo, hi = min(p, p1), max(p, p1) + 1
                changed = {b1: (seq, lo, hi)}
            else:
                seq = [*target[:p], i, *target[p:]]
                changed = {b1: (removed, p1, p1), b2: (seq, p, p + 1)}
            res = self._evaluate(changed)
            if res is not None and (best is None or res[0] < best[1]):
                best = (changed, res[0], res[1])
        return best

    def _swap(self, i: int) -> tuple[Changes, int, dict[int, Times]] | None:
        """Swap call i with a call near it in time on a compatible berth (or its own)."""
        b1 = self.berth[i]
        b2 = self.rng.choice(list(self.steps[i]))
        seq2 = self.seq[b2]
        if not seq2:
            return None
        p0 = self._position(b2, self.start[i])
        lo, hi = max(0, p0 - 2), min(len(seq2) - 1, p0 + 2)
        if lo > hi:
            return None
        j = seq2[self.rng.randint(lo, hi)]
        if j == i or b1 not in self.steps[j]:
            return None
        p1 = self.seq[b1].index(i)
        p2 = seq2.index(j)
        if b1 == b2:
            seq = list(seq2)
            seq[p1], seq[p2] = j, i
            changed = {b1: (seq, min(p1, p2), max(p1, p2) + 1)}
        else:
            s1, s2 = list(self.seq[b1]), list(seq2)
            s1[p1], s2[p2] = j, i
            changed = {b1: (s1, p1, p1 + 1), b2: (s2, p2, p2 + 1)}
        res = self._evaluate(changed)
        return None if res is None else (changed, res[0], res[1])

    # -- search -----------------------------------------------------------------------------------

    def _pick(self) -> int:
        """A call to move: mostly (params.pick_greedy) the one of a few random calls that costs most
        above its floor (waiting, lateness), so that moves go where the plan loses most; else any."""
        rng, movable = self.rng, self.movable
        if rng.random() < self.params.pick_greedy:
            cost, floor = self.cost, self.floor
            best, excess = movable[0], -1
            for _ in range(self.params.pick_tournament):
                k = movable[int(rng.random() * len(movable))]
                if cost[k] - floor[k] > excess:
                    best, excess = k, cost[k] - floor[k]
            return best
        return movable[int(rng.random() * len(movable))]

    def step(self) -> bool:
        """One move attempt; True when the best plan improved."""
        if not self.movable:
            return False
        self.moves += 1
        i = self._pick()
        found = self._relocate(i) if self.rng.random() < 0.6 else self._swap(i)
        if found is None:
            return False
        changed, delta, new = found
        slot = self.moves % self.history
        candidate = self.value + delta
        if delta <= 0 or candidate <= self.late[slot]:
            if delta > 0 and not self.best_saved:
                self.best, self.best_saved = self.placements(), True
            self._commit(changed, delta, new)
        if self.value < self.late[slot]:
            self.late[slot] = self.value
        if self.value < self.best_value:
            self.best_value, self.best_saved = self.value, False
            return True
        return False

    def best_plan(self) -> dict[int, Placement]:
        if not self.best_saved:
            self.best, self.best_saved = self.placements(), True
        return self.best

    def run(self, deadline: float, should_stop: Callable[[], bool],
            on_improve: Callable[[int], None] | None = None, patience: int | None = None,
            max_moves: int | None = None) -> int:
        """Search until `deadline` (time.monotonic), a stop request, `patience` moves without a
        new best, or `max_moves` moves in all (a budget that does not depend on the machine's
        speed); `on_improve(best value)` after each new best. Returns the best value."""
        since = 0
        k = 0
        while True:
            k += 1
            if max_moves is not None and self.moves >= max_moves:
                break
            if k % 64 == 0 and (time.monotonic() >= deadline or should_stop()):
                break
            if self.step():
                since = 0
                if on_improve is not None:
                    on_improve(self.best_value)
            else:
                since += 1
                if patience is not None and since >= patience:
                    break
        return self.best_value
