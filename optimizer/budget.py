"""One time budget for a whole solve: a deadline on the monotonic clock and a stop request.

Every phase (start plans, model building, bounds, search) reads the same object, so a solve ends
within its time limit, or soon after a stop, whichever phase it is in.
"""

from __future__ import annotations

import threading
import time


class TimeUp(Exception):
    """Raised inside a phase when the budget is spent or a stop was requested."""


class Deadline:
    def __init__(self, seconds: float, stop: threading.Event | None = None):
        self.t0 = time.monotonic()
        self.at = self.t0 + seconds
        self.stop = stop
        self._calls = 0

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def expired(self) -> bool:
        return self.stopped() or time.monotonic() >= self.at

    def check(self, every: int = 64) -> None:
        """Raise TimeUp when the budget is spent; cheap enough for inner loops (the clock is read
        every `every` calls)."""
        self._calls += 1
        if self._calls % every == 0 and self.expired():
            raise TimeUp
