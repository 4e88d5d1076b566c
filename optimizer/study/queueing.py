"""Queueing theory a port planner checks waiting at anchorage against: M/E2/n, exact and approximate.

The port-planning literature (UNCTAD, "Port development: a handbook for planners in developing
countries", 1985; PIANC's berth-capacity reports) tabulates the average waiting time at anchorage
in units of the average service time, Wq/S, for Poisson arrivals, Erlang-2 handling times and n
identical berths served first come, first served (M/E2/n), against the berth occupancy
rho = lambda * S / n. This module gives those values three ways:

- exactly, by solving the continuous-time Markov chain of the queue (:func:`solve_chain`,
  :func:`me2n_wait_ratio`): each busy berth is in handling phase 1 or 2 (Erlang-2 is two
  exponential phases of mean S/2), a level is the number of vessels waiting; the queue is cut at a
  length whose stationary probability is below 1e-12 (the cut is reported), and the chain is
  solved level by level (linear level reduction), so it stays small however long the queue;
- for one berth by Pollaczek-Khinchine (M/G/1, exact): Wq/S = rho (1 + Cs^2) / (2 (1 - rho)),
  Cs^2 = 1/2 for Erlang-2;
- for several berths by Erlang C (M/M/n, exact for exponential handling) scaled by (1 + Cs^2) / 2,
  the Allen-Cunneen (Lee-Longton) approximation the tables are often filled from.

Times are in units of the mean service time (S = 1). At an occupancy of 1 or more the queue
grows without bound: the waiting functions return ``math.inf`` there (a curve can be drawn up to
it); a berth count below 1 or an occupancy that is negative or not a number is a ValueError.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Erlang-2 handling: squared coefficient of variation of the service time.
ERLANG2_CS2 = 0.5
#: The chain's queue is cut where the stationary probability of the longest queue kept is below this.
TAIL_MASS = 1e-12
_MAX_QUEUE = 2_000_000  # a cut beyond this means an occupancy so close to 1 the table has no use for it


def check_point(berths: int, occupancy: float) -> None:
    """A clear error for a point the theory cannot take (the occupancy itself may be >= 1: infinite)."""
    if isinstance(berths, bool) or not isinstance(berths, numbers.Integral) or berths < 1:
        raise ValueError(f"berths must be a whole number of at least 1 (got {berths!r})")
    if not isinstance(occupancy, numbers.Real) or math.isnan(occupancy) or occupancy < 0:
        raise ValueError(f"occupancy must be a number of at least 0 (got {occupancy!r})")


def pk_wait_ratio(occupancy: float, cs2: float = ERLANG2_CS2) -> float:
    """Wq/S of one berth (M/G/1), Pollaczek-Khinchine: rho (1 + Cs^2) / (2 (1 - rho))."""
    check_point(1, occupancy)
    if occupancy >= 1:
        return math.inf
    return occupancy * (1 + cs2) / (2 * (1 - occupancy))


def erlang_c(berths: int, occupancy: float) -> float:
    """Probability that a vessel waits at anchorage in M/M/n (Erlang C), from the Erlang B
    recursion (stable for any number of berths)."""
    check_point(berths, occupancy)
    if occupancy >= 1:
        return 1.0
    a = berths * occupancy  # offered load, in berths
    b = 1.0
    for k in range(1, berths + 1):
        b = a * b / (k + a * b)
    return berths * b / (berths - a * (1 - b))


def mmn_wait_ratio(berths: int, occupancy: float) -> float:
    """Wq/S of M/M/n (exponential handling): C(n, a) / (n (1 - rho))."""
    check_point(berths, occupancy)
    if occupancy >= 1:
        return math.inf
    return erlang_c(berths, occupancy) / (berths * (1 - occupancy))


def erlang_c_scaled_wait_ratio(berths: int, occupancy: float, cs2: float = ERLANG2_CS2) -> float:
    """Wq/S of M/G/n by Allen-Cunneen (Lee-Longton): (1 + Cs^2) / 2 times the M/M/n wait; exact for
    one berth (it is then Pollaczek-Khinchine), an approximation for several."""
    return (1 + cs2) / 2 * mmn_wait_ratio(berths, occupancy)


@dataclass(frozen=True)
class ChainSolution:
    """The stationary M/Ek/n queue: the waiting figures and where the queue was cut."""

    berths: int
    occupancy: float
    phases: int
    wait_ratio: float  # Wq / S
    prob_wait: float  # probability an arriving vessel finds every berth busy
    queue_mean: float  # time-averaged number waiting, L_q
    queue_cut: int  # longest queue kept in the chain
    tail_mass: float  # stationary probability of that longest queue (the cut's error is below it)


def _configs(busy: int, phases: int) -> list[tuple[int, ...]]:
    """How `busy` berths can be spread over the handling phases (counts per phase)."""
    return [c for c in itertools.product(range(busy + 1), repeat=phases) if sum(c) == busy]


class _Chain:
    """The generator's blocks by level: level l < n has l busy berths and none waiting, level
    n + q has every berth busy and q waiting. Service time has mean 1: each phase has rate k."""

    def __init__(self, berths: int, occupancy: float, phases: int) -> None:
        self.n, self.k, self.lam = berths, phases, berths * occupancy
        self.configs = [_configs(min(level, berths), phases) for level in range(berths + 1)]
        self.index = [{c: i for i, c in enumerate(cs)} for cs in self.configs]
        self.up = [self._up(level) for level in range(berths + 1)]
        self.down = [np.zeros((0, 0))] + [self._down(level) for level in range(1, berths + 2)]
        self.local = [self._local(level) for level in range(berths + 1)]

    def _size(self, level: int) -> int:
        return len(self.configs[min(level, self.n)])

    def _up(self, level: int) -> np.ndarray:
        """Arrivals: a vessel berths in phase 1 when a berth is free, else joins the queue."""
        m = np.zeros((self._size(level), self._size(level + 1)))
        for i, c in enumerate(self.configs[min(level, self.n)]):
            if level < self.n:
                m[i, self.index[level + 1][(c[0] + 1, *c[1:])]] = self.lam
            else:
                m[i, i] = self.lam
        return m

    def _down(self, level: int) -> np.ndarray:
        """Departures: the last phase ends; the first vessel waiting, if any, berths in phase 1."""
        m = np.zeros((self._size(level), self._size(level - 1)))
        last = self.k - 1
        for i, c in enumerate(self.configs[min(level, self.n)]):
            if c[last] == 0:
                continue
            left = (*c[:last], c[last] - 1)
            if level > self.n:  # a waiting vessel takes the berth
                left = (left[0] + 1, *left[1:])
            m[i, self.index[min(level - 1, self.n)][left]] = self.k * c[last]
        return m

    def _local(self, level: int) -> np.ndarray:
        """Phase changes within a level, and the diagonal (every rate out, arrivals included)."""
        size = self._size(level)
        m = np.zeros((size, size))
        idx = self.index[min(level, self.n)]
        for i, c in enumerate(self.configs[min(level, self.n)]):
            for j in range(self.k - 1):
                if c[j]:
                    nxt = list(c)
                    nxt[j] -= 1
                    nxt[j + 1] += 1
                    m[i, idx[tuple(nxt)]] = self.k * c[j]
            m[i, i] = -(self.lam + self.k * sum(c))
        return m

    def solve(self, cut: int) -> list[np.ndarray]:
        """Stationary probabilities per level of the chain cut at level `cut` (arrivals refused
        there), by linear level reduction: pi_l = pi_(l-1) R_l from the top level down."""
        n = self.n
        top_local = self.local[n] + np.diag(np.full(self._size(n), self.lam))  # no arrival at the cut
        rates: list[np.ndarray] = [np.zeros((0, 0))] * (cut + 1)
        below = top_local
        for level in range(cut, 0, -1):
            up = self.up[min(level - 1, n)]
            rates[level] = -np.linalg.solve(below.T, up.T).T  # -up @ inv(below)
            if level > 1:
                below = self.local[min(level - 1, n)] + rates[level] @ self.down[min(level, n + 1)]
        base = self.local[0] + rates[1] @ self.down[1]
        # pi_0 base = 0, pi_0 1 = 1 (before normalising over every level)
        a = np.vstack([base.T, np.ones((1, base.shape[0]))])
        rhs = np.zeros(base.shape[0] + 1)
        rhs[-1] = 1.0
        pi = [np.linalg.lstsq(a, rhs, rcond=None)[0]]
        for level in range(1, cut + 1):
            pi.append(pi[-1] @ rates[level])
        total = sum(float(p.sum()) for p in pi)
        return [p / total for p in pi]


def solve_chain(berths: int, occupancy: float, phases: int = 2) -> ChainSolution:
    """The exact stationary M/E_k/n queue (phases = 2: M/E2/n; phases = 1: M/M/n), its queue cut
    where the probability of the longest queue kept falls below TAIL_MASS (doubled until it does)."""
    check_point(berths, occupancy)
    if phases < 1:
        raise ValueError(f"phases must be at least 1 (got {phases})")
    if occupancy >= 1:
        return ChainSolution(berths, occupancy, phases, math.inf, 1.0, math.inf, 0, 1.0)
    chain = _Chain(berths, occupancy, phases)
    queue_cut = 64
    while True:
        cut = berths + queue_cut
        pi = chain.solve(cut)
        tail = float(pi[cut].sum())
        if tail < TAIL_MASS or queue_cut >= _MAX_QUEUE:
            break
        queue_cut *= 2
    if tail >= TAIL_MASS:
        raise ValueError(f"occupancy {occupancy} is too close to 1 for the chain: its queue does not "
                         f"fall below {TAIL_MASS:g} within {_MAX_QUEUE} vessels")
    lam = berths * occupancy
    queue_mean = sum(q * float(pi[berths + q].sum()) for q in range(1, queue_cut + 1))
    accepted = lam * (1 - tail)  # arrivals at the cut are refused (a negligible share)
    prob_wait = sum(float(pi[level].sum()) for level in range(berths, cut + 1))
    return ChainSolution(berths, occupancy, phases, queue_mean / accepted, prob_wait, queue_mean,
                         queue_cut, tail)


@lru_cache(maxsize=4096)
def me2n_wait_ratio(berths: int, occupancy: float) -> float:
    """Wq/S of M/E2/n, exact (the Markov chain): what the port-planning tables give, and the theory
    curve the study's plots draw beside the simulated points. ``math.inf`` at occupancy >= 1."""
    check_point(berths, occupancy)
    return solve_chain(int(berths), float(occupancy), phases=2).wait_ratio


def literature_wait_ratio(berths: int, occupancy: float) -> tuple[str, float]:
    """The closed form a planner would look up beside the exact value: Pollaczek-Khinchine for one
    berth, Erlang C scaled by (1 + Cs^2) / 2 for several; with its name."""
    if berths == 1:
        return "P-K", pk_wait_ratio(occupancy)
    return "Erlang C scaled", erlang_c_scaled_wait_ratio(berths, occupancy)
