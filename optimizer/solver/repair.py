"""Serve in exact time what the model's grid could not: a last pass over the unserved calls.

On a coarse time step (say 60 min) a call whose window is only a little longer than its
handling may not fit the grid although it fits in exact time. For each unserved call this tries
the starts that can matter (its earliest exact start, and the ends of whatever blocks each
compatible berth), in exact time, and keeps the first one the independent checker passes with
the rest of the plan unchanged and no more waiting at sea: a call after ports its vessel passes
arrives within the whole way's speed limits from its last served call (or its ETA), and serving
it must not leave the vessel's way on to its next served call longer than it can sail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from optimizer.budget import Deadline
from optimizer.checker import check
from optimizer.domain import Problem, berth_fits, handling_hours
from optimizer.kpis import TOLERANCE_MINUTES, first_assignments, passages
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
            # from the last served call's departure, or the ETA, over the ports passed between
            j = next((j for j in range(k - 1, -1, -1) if voyage.call_ids[j] in by_call), None)
            origin = by_call[voyage.call_ids[j]].berth_end if j is not None else voyage.eta
            ports = [calls[x].port_id for x in voyage.call_ids[(j or 0):k + 1]]
            nm = sum(problem.distance_nm(a, b) or 0.0 for a, b in pairwise(ports))
            lo = origin + timedelta(hours=nm / vessel.max_speed_kn)
            hi = origin + timedelta(hours=nm / vessel.min_speed_kn)
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
    at_sea = _waiting_at_sea_hours(problem, plan)
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
            report = check(problem, [*plan, trial])
            if all(v.kind == "missing_call" for v in report.violations) and \
                    report.kpis.total_waiting_at_sea_hours <= at_sea + TOLERANCE_MINUTES / 60:
                return trial
    return None


def _waiting_at_sea_hours(problem: Problem, plan: list[CallAssignment]) -> float:
    ways = passages(problem, first_assignments(problem, plan))
    return sum(w.waiting_at_sea_minutes for w in ways.values()) / 60
