"""Serve in exact time what the model's grid could not: a last pass over the unserved calls.

On a coarse time step (say 60 min) a call whose window is only a little longer than its
handling may not fit the grid although it fits in exact time. For each unserved call this tries
the starts that can matter (its earliest exact start, and the ends of whatever blocks each
compatible berth), in exact time, and keeps the first one the independent checker passes with
the rest of the plan unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from optimizer.budget import Deadline
from optimizer.checker import check
from optimizer.domain import Problem, berth_fits, handling_hours
from optimizer.params import RepairParameters
from optimizer.plan import CallAssignment


def serve_in_exact_time(problem: Problem, assignments: list[CallAssignment], unserved: list[str],
                        deadline: Deadline, params: RepairParameters | None = None) -> list[CallAssignment]:
    """The assignments, with as many of the unserved calls added as fit in exact time."""
    params = params or RepairParameters()
    if not unserved or len(problem.calls) > params.max_calls:
        return assignments
    calls = problem.call_map()
    vessels = problem.vessel_map()
    order = problem.voyage_order()
    plan = list(assignments)
    for cid in unserved:
        if deadline.expired():
            break
        c = calls[cid]
        voyage, k = order[cid]
        by_call = {a.call_id: a for a in plan}
        vessel = vessels[c.vessel_id]
        if k == 0:
            lo, hi = voyage.eta, voyage.eta
        else:
            prev = by_call.get(voyage.call_ids[k - 1])
            if prev is None:
                continue
            nm = problem.distance_nm(calls[prev.call_id].port_id, c.port_id) or 0.0
            lo = prev.berth_end + timedelta(hours=nm / vessel.max_speed_kn)
            hi = prev.berth_end + timedelta(hours=nm / vessel.min_speed_kn)
        port = problem.port(c.port_id)
        first = max(lo, c.earliest_start or lo)
        for link in problem.links:
            if link.after == cid and (before := by_call.get(link.before)) is not None:
                first = max(first, before.berth_end + timedelta(hours=link.min_gap_hours))
        found = _first_fit(problem, plan, cid, lo, hi, first, port.berths, vessel, port.closures,
                           params.max_trials)
        if found is not None:
            plan.append(found)
    return plan


def _first_fit(problem: Problem, plan: list[CallAssignment], cid: str, lo: datetime, hi: datetime,
               first: datetime, berths: list, vessel: object, closures: list,
               max_trials: int) -> CallAssignment | None:
    c = problem.call_map()[cid]
    trials = 0
    for b in berths:
        if not berth_fits(c, vessel, b):  # type: ignore[arg-type]
            continue
        hours = handling_hours(c, b)
        assert hours is not None
        ends = sorted({a.berth_end for a in plan if a.berth_id == b.id and a.berth_end > first}
                      | {w.end for w in b.unavailable if w.end > first}
                      | {w.end for w in closures if w.end > first})
        for start in [first, *ends]:
            if c.latest_departure is not None and start + timedelta(hours=hours) > c.latest_departure:
                break
            trials += 1
            if trials > max_trials:
                return None
            trial = CallAssignment(call_id=cid, berth_id=b.id, arrival=min(start, hi), berth_start=start,
                                   berth_end=start + timedelta(hours=hours))
            if trial.arrival < lo:
                continue
            # calls still unserved show as missing here; anything else breaks a rule
            if all(v.kind == "missing_call" for v in check(problem, [*plan, trial]).violations):
                return trial
    return None
