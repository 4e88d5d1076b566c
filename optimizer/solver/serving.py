"""Serving rounds: CP-SAT looking for a way to serve the calls a plan leaves unserved, before and
during the search (optimizer.solver.solve)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimizer.plan import PlanSource
from optimizer.solver.lns import Lns
from optimizer.solver.model import BerthModel
from optimizer.steps import unserved_calls

if TYPE_CHECKING:
    from optimizer.solver.solve import CpSatRun, Search


class Serving:
    """CP-SAT rounds around each call the plan leaves unserved (its voyage, its links, the calls on
    its berths in the window it could use; every second try also their voyage neighbours, and a
    window twice as wide every two tries). A round that serves one more call beats any plan that
    does not (the penalty); one that finds none leaves the plan as it was.

    A berth neighbourhood proven to hold no way (everything outside it fixed) is a sign that the
    blockers are further off: on other berths, on the voyages of the calls that block. After
    `slab_after` such proofs for a call, its rounds free a time slab instead (every call on every
    berth whose stay meets the call's window, the window doubling at each proof), up to the whole
    plan. When a round that frees every call not frozen proves it cannot serve more, no plan can: the
    rounds end for good. On small problems (up to `full_model_calls`) the first round is that one.
    """

    def __init__(self, search: Search, model: BerthModel, run: CpSatRun):
        self.search, self.run = search, run
        self.params = search.params.serving
        self.lns = Lns(model, search.weights, search.options.seed, search.options.workers)
        self.tried: dict[int, int] = {}
        self.timeouts: dict[int, int] = {}
        self.proofs: dict[int, int] = {}  # rounds around a call proven to hold no way
        self.hour = max(1, round(60 / search.cp.step))
        self.movable = {c.index for c in search.cp.calls if c.frozen is None}
        self.exhausted = False  # proven: no plan serves more calls than the incumbent
        self.whole_first = len(search.cp.calls) <= search.params.full_model_calls

    def left(self, limit: int | None) -> list[int]:
        """The unserved calls a round may still try (each at most `limit` times)."""
        cp = self.search.cp
        if self.exhausted:
            return []
        return [i for i in unserved_calls(self.search.placed)
                if cp.calls[i].can_serve and (limit is None or self.tried.get(i, 0) < limit)]

    def rounds(self, limit: int | None = None, most: int | None = None) -> None:
        """Rounds until no call is left to try, `most` rounds, or the time is up."""
        search, params, done = self.search, self.params, 0
        while not search.deadline.expired() and (most is None or done < most):
            left = self.left(limit)
            if not left:
                return
            u = min(left, key=lambda i: (self.tried.get(i, 0), i))
            k = self.tried.get(u, 0)
            self.tried[u] = k + 1
            done += 1
            radius = round(params.radius_hours * self.hour * 2 ** min(k // 2, params.max_doublings))
            slab = self.proofs.get(u, 0) - params.slab_after
            if self.whole_first:
                free, self.whole_first = set(self.movable), False
            elif slab >= 0:
                free = self.lns.slab_neighbourhood(search.placed, u, radius * 2 ** (slab + 1),
                                                   params.max_free)
            else:
                free = self.lns.serving_neighbourhood(search.placed, u, radius, params.max_free,
                                                      wide=k % 2 == 1)
            # a round that runs out of time (rather than proving it cannot) gets twice the time next
            grow = 2 ** self.timeouts.get(u, 0)
            if search.options.workers == 1:
                found = self.lns.serve(search.placed, search.value, free, search.deadline.left(),
                                       self.run.run, deterministic_time=params.round_deterministic_s * grow)
            else:
                seconds = min(search.deadline.left(), params.round_s * grow)
                found = self.lns.serve(search.placed, search.value, free, seconds, self.run.run)
            if found is not None:
                search.offer(found[0], PlanSource.SERVING, found[1])
            elif self.lns.proven_out and free >= self.movable:
                self.exhausted = True
            elif self.lns.proven_out:
                self.proofs[u] = self.proofs.get(u, 0) + 1
            elif not self.lns.proven_out:
                self.timeouts[u] = min(self.timeouts.get(u, 0) + 1, params.max_doublings)
