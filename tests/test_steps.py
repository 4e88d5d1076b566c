"""The step-grid rules: earliest fit and earliest end against a step-by-step search."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

from optimizer.steps import earliest_end, earliest_fit, merged


def grid(rng: random.Random) -> Any:
    """A stand-in compiled problem of one port and one berth: closures [a, b] inclusive,
    maintenance [a, b) possibly overlapping."""
    closed = sorted((a, a + rng.randint(0, 8)) for a in rng.sample(range(60), rng.randint(0, 3)))
    unavailable = sorted((a, a + rng.randint(1, 10)) for a in rng.sample(range(60), rng.randint(0, 4)))
    return SimpleNamespace(closed=[closed], unavailable=[unavailable])


def is_closed(cp: Any, t: int) -> bool:
    return any(a <= t <= b for a, b in cp.closed[0])


def overlaps(windows: list[tuple[int, int]], t: int, steps: int) -> bool:
    return any(t < b and a < t + steps for a, b in windows)


def test_earliest_fit_is_the_first_start_that_keeps_every_rule() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        cp = grid(rng)
        busy = merged(cp.unavailable[0])
        lb, steps = rng.randint(-5, 50), rng.randint(1, 12)
        leave = next(t for t in range(lb, 200) if not is_closed(cp, t) and not is_closed(cp, t + steps)
                     and not overlaps(busy, t, steps))
        assert earliest_fit(cp, busy, 0, lb, steps) == leave
        moored = next(t for t in range(lb, 200) if not is_closed(cp, t) and not overlaps(busy, t, steps))
        assert earliest_fit(cp, busy, 0, lb, steps, moored_through_closures=True) == moored


def test_earliest_end_waits_moored_for_a_closure_to_end() -> None:
    rng = random.Random(8)
    for _ in range(3000):
        cp = grid(rng)
        lb, steps = rng.randint(-5, 50), rng.randint(1, 12)
        start = next(t for t in range(lb, 200)
                     if not is_closed(cp, t) and not overlaps(cp.unavailable[0], t, steps))
        end = next(e for e in range(start + steps, 300) if not is_closed(cp, e))
        assert earliest_end(cp, 0, 0, lb, steps) == end
