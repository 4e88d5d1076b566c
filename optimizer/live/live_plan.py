"""A live plan in memory: its facts, its versions and the events waiting for the next one.

The API keeps the same three in its store and replans in a solver process; `portsync replay`
and the tests use this class directly. Events are checked when they are submitted, against the
facts with every waiting event applied, so that a batch that was accepted always applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from optimizer.domain import Problem
from optimizer.live.events import Event
from optimizer.live.replan import Planner, ReplanSettings, Version, first_version, replan, search_planner
from optimizer.live.state import DEFAULT_FROZEN_WINDOW_MINUTES, LiveState, apply_events, new_events
from optimizer.params import SearchParameters


class LivePlan:
    #: How versions are planned: the search (optimizer.live.replan), or a yardstick's rule.
    planner: Planner = staticmethod(search_planner)

    def __init__(self, state: LiveState, versions: list[Version], settings: ReplanSettings,
                 params: SearchParameters | None = None):
        self.state = state
        self.versions = versions
        self.settings = settings
        self.params = params
        self.pending: list[Event] = []
        self._pending_state = state

    @classmethod
    def create(cls, problem: Problem, settings: ReplanSettings | None = None, now: datetime | None = None,
               frozen_window_minutes: float = DEFAULT_FROZEN_WINDOW_MINUTES,
               params: SearchParameters | None = None) -> LivePlan:
        settings = settings or ReplanSettings()
        state, v1 = first_version(problem, settings, now, frozen_window_minutes, planner=cls.planner,
                                  params=params)
        return cls(state, [v1], settings, params)

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def next_version(self) -> int:
        return self.current.number + 1

    def submit(self, events: Sequence[Event]) -> list[Event]:
        """Queue a batch for the next version: the events not seen before, checked against the
        facts with every waiting event applied (EventsRefused / EventConflict: nothing queued)."""
        seen = self._pending_state
        fresh = new_events(seen, events)
        if fresh:
            self._pending_state = apply_events(seen, events).state
            self.pending.extend(fresh)
        return fresh

    def replan(self) -> Version | None:
        """The next version from every waiting event (None when none waits)."""
        if not self.pending:
            return None
        self.state, version = replan(self.state, self.current, self.pending, self.settings, self.params,
                                     planner=self.planner)
        self.versions.append(version)
        self.pending = []
        self._pending_state = self.state
        return version

    def advance(self, events: Sequence[Event]) -> Version:
        """Apply a batch and make its version in one step, when no event waits (a replay that
        batches its own events: the batch is applied once, not checked first and applied again).
        EventsRefused / EventConflict: nothing changes."""
        if self.pending:
            raise RuntimeError("events are waiting: replan() them first")
        self.state, version = replan(self.state, self.current, events, self.settings, self.params,
                                     planner=self.planner)
        self.versions.append(version)
        self._pending_state = self.state
        return version

    def version(self, number: int) -> Version:
        if not 1 <= number <= len(self.versions):
            raise KeyError(number)
        return self.versions[number - 1]


def replay(first: Version, state: LiveState, batches: Sequence[Sequence[Event]], settings: ReplanSettings,
           params: SearchParameters | None = None) -> list[Version]:
    """The versions a stored event log gives from version 1 and its facts: an audit of a live
    plan (the same settings and seed give the same versions)."""
    versions = [first]
    for batch in batches:
        state, v = replan(state, versions[-1], batch, settings, params)
        versions.append(v)
    return versions
