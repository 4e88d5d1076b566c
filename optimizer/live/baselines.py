"""Replan strategies to measure a live plan by: re-run first come, first served.

How the ports work today: on every event each port re-plans its queue first-come-first-served
(optimizer.baseline.fcfs_steps, keeping every hard limit), from the same facts the live plan has
(the planning view: the past as fact, the frozen window pinned, nothing berthing before now). No
optimization, no memory of the last plan beyond what is frozen.
"""

from __future__ import annotations

from optimizer.baseline import fcfs_steps
from optimizer.live.live_plan import LivePlan
from optimizer.live.replan import ReplanSettings, View
from optimizer.params import SearchParameters
from optimizer.plan import CallAssignment, Plan, UnservedCall
from optimizer.report import build_plan
from optimizer.steps import to_assignments, unserved_calls

FCFS_UNSERVED = "first come, first served cannot serve it within its hard limits"


def fcfs_planner(view: View, previous: dict[str, CallAssignment], concerned: set[str],
                 settings: ReplanSettings, params: SearchParameters | None) -> tuple[Plan, int]:
    """The planning view planned first-come-first-served, keeping every hard limit (a Planner)."""
    cp = view.compiled
    placed = fcfs_steps(cp, respect_limits=True)
    unserved = [UnservedCall(call_id=cp.calls[i].id, reasons=[FCFS_UNSERVED]) for i in unserved_calls(placed)]
    plan = build_plan(view.problem, to_assignments(cp, placed), weights=settings.weights, unserved=unserved)
    return plan, len(view.problem.calls) - len(view.fixed)


class FcfsLivePlan(LivePlan):
    """A LivePlan whose every version is re-run FCFS."""

    planner = staticmethod(fcfs_planner)
