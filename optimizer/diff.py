"""What changed between two plans of one problem: per call, berth moves and time shifts; the
stability figures a planner weighs a replan by (berth changes, start shifts, RTAs moved); and the
change of the headline KPIs. A live plan reports these per version; `portsync diff` prints them."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from optimizer.domain import Problem
from optimizer.kpis import compute_kpis, first_assignments, minutes
from optimizer.plan import CallAssignment, Kpis, Out

RTA_MOVED_MINUTES = 30.0  # an RTA that moves more than this is news to the vessel


class CallChange(Out):
    """One call that the second plan treats differently from the first."""

    call_id: str
    port_id: str | None = None
    berth_before: str | None = Field(description="None: the first plan leaves the call unserved.")
    berth_after: str | None = Field(description="None: the second plan leaves the call unserved.")
    start_shift_minutes: float | None = Field(
        default=None, description="Berth start, second minus first (served in both).")
    rta_shift_minutes: float | None = Field(
        default=None, description="Requested time of arrival, second minus first (served in both).")


class Stability(Out):
    """How much of the first plan the second one keeps."""

    berth_changes: int = Field(description="Calls served in both on another berth.")
    total_start_shift_minutes: float = Field(description="Sum of |start shift| over calls served in both.")
    rta_moved: int = Field(description="Calls served in both whose RTA moved more than the threshold.")
    rta_threshold_minutes: float
    newly_unserved: int
    newly_served: int


class KpiChange(Out):
    """Headline figures of both plans, in hours (the second minus the first is the change)."""

    total_dwell_hours: tuple[float, float]
    total_waiting_hours: tuple[float, float]
    total_lateness_hours: tuple[float, float]
    objective: tuple[float, float]


class PlanDiff(Out):
    changes: list[CallChange] = Field(description="Calls that moved, in the second plan's berth-start order.")
    stability: Stability
    kpis: KpiChange


def plan_diff(problem: Problem, before: Iterable[CallAssignment], after: Iterable[CallAssignment],
              rta_threshold_minutes: float = RTA_MOVED_MINUTES, after_kpis: Kpis | None = None) -> PlanDiff:
    """The difference between two plans of `problem` (a call missing from a plan is unserved
    there). A call counts as changed when its berth or served state differs, or a time moved.
    `after_kpis`: the second plan's KPIs under the default weights, when made already."""
    first, second = list(before), list(after)
    a, b = first_assignments(problem, first), first_assignments(problem, second)
    calls = problem.call_map()
    changes: list[CallChange] = []
    berth_changes = rta_moved = newly_unserved = newly_served = 0
    total_shift = 0.0
    order = sorted(calls, key=lambda cid: (cid not in b, b[cid].berth_start if cid in b else None, cid))
    for cid in order:
        old, new = a.get(cid), b.get(cid)
        if old is None and new is None:
            continue
        change = CallChange(call_id=cid, port_id=calls[cid].port_id,
                            berth_before=old.berth_id if old else None,
                            berth_after=new.berth_id if new else None)
        if old is None:
            newly_served += 1
        elif new is None:
            newly_unserved += 1
        else:
            shift, rta = minutes(new.berth_start - old.berth_start), minutes(new.arrival - old.arrival)
            if old.berth_id == new.berth_id and shift == 0 and rta == 0 and old.berth_end == new.berth_end:
                continue
            change.start_shift_minutes, change.rta_shift_minutes = shift, rta
            berth_changes += old.berth_id != new.berth_id
            total_shift += abs(shift)
            rta_moved += abs(rta) > rta_threshold_minutes
        changes.append(change)
    ka, kb = compute_kpis(problem, first), after_kpis or compute_kpis(problem, second)
    return PlanDiff(
        changes=changes,
        stability=Stability(berth_changes=berth_changes, total_start_shift_minutes=total_shift,
                            rta_moved=rta_moved, rta_threshold_minutes=rta_threshold_minutes,
                            newly_unserved=newly_unserved, newly_served=newly_served),
        kpis=KpiChange(total_dwell_hours=(ka.total_dwell_hours, kb.total_dwell_hours),
                       total_waiting_hours=(ka.total_waiting_hours, kb.total_waiting_hours),
                       total_lateness_hours=(ka.total_lateness_hours, kb.total_lateness_hours),
                       objective=(ka.objective, kb.objective)),
    )
