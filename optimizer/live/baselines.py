"""Replan strategies to measure a live plan by: re-run first come, first served.

How the ports work today: on every event each port re-plans its queue first-come-first-served
(optimizer.baseline.fcfs_steps, keeping every hard limit), from the same facts the live plan has
(the planning view: the past as fact, the frozen window pinned, nothing berthing before now). No
optimization, no memory of the last plan beyond what is frozen.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from optimizer.baseline import fcfs_steps
from optimizer.compiled import compile_problem
from optimizer.domain import Problem
from optimizer.live.events import Event
from optimizer.live.live_plan import LivePlan
from optimizer.live.replan import (
    ReplanSettings,
    Version,
    View,
    concerned_calls,
    planning_view,
    version_changes,
)
from optimizer.live.state import DEFAULT_FROZEN_WINDOW_MINUTES, LiveState, apply_events
from optimizer.params import SearchParameters
from optimizer.plan import Plan, UnservedCall
from optimizer.report import build_plan
from optimizer.steps import to_assignments, unserved_calls

FCFS_UNSERVED = "first come, first served cannot serve it within its hard limits"


def fcfs_plan(view: View, settings: ReplanSettings) -> Plan:
    """The planning view planned first-come-first-served, keeping every hard limit."""
    cp = compile_problem(view.problem)
    placed = fcfs_steps(cp, respect_limits=True)
    unserved = [UnservedCall(call_id=cp.calls[i].id, reasons=[FCFS_UNSERVED]) for i in unserved_calls(placed)]
    return build_plan(view.problem, to_assignments(cp, placed), weights=settings.weights, unserved=unserved)


def fcfs_first_version(problem: Problem, settings: ReplanSettings, now: datetime | None = None,
                       frozen_window_minutes: float = DEFAULT_FROZEN_WINDOW_MINUTES
                       ) -> tuple[LiveState, Version]:
    started = time.monotonic()
    state = LiveState.start(problem, now, frozen_window_minutes)
    view = planning_view(state, {}, set())
    plan = fcfs_plan(view, settings)
    return state, Version(number=1, now=state.now, problem=view.problem, plan=plan, history=view.history,
                          freed_calls=len(view.problem.calls) - len(view.fixed),
                          replan_s=time.monotonic() - started)


def fcfs_replan(state: LiveState, last: Version, events: Sequence[Event], settings: ReplanSettings,
                params: SearchParameters | None = None) -> tuple[LiveState, Version]:
    """As optimizer.live.replan.replan, with each port re-planning FCFS instead of the search."""
    started = time.monotonic()
    applied = apply_events(state, events)
    new = applied.state
    previous = {a.call_id: a for a in last.timeline()}
    causes = concerned_calls(applied.touched, applied.events, state, previous)
    view = planning_view(new, previous, set(causes))
    plan = fcfs_plan(view, settings)
    version = Version(number=last.number + 1, now=new.now, event_ids=[e.event_id for e in applied.events],
                      problem=view.problem, plan=plan, history=view.history,
                      cancelled=[c for c in new.cancelled if c not in state.cancelled],
                      freed_calls=len(view.problem.calls) - len(view.fixed))
    version.changes, version.stability = version_changes(last, version, causes)
    version.replan_s = time.monotonic() - started
    return new, version


class FcfsLivePlan(LivePlan):
    """A LivePlan whose every version is re-run FCFS."""

    @classmethod
    def create(cls, problem: Problem, settings: ReplanSettings | None = None, now: datetime | None = None,
               frozen_window_minutes: float = DEFAULT_FROZEN_WINDOW_MINUTES,
               params: SearchParameters | None = None) -> LivePlan:
        settings = settings or ReplanSettings()
        state, v1 = fcfs_first_version(problem, settings, now, frozen_window_minutes)
        return cls(state, [v1], settings, params)

    def replan(self) -> Version | None:
        if not self.pending:
            return None
        self.state, version = fcfs_replan(self.state, self.current, self.pending, self.settings, self.params)
        self.versions.append(version)
        self.pending = []
        self._pending_state = self.state
        return version
