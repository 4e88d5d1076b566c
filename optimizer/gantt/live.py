"""A live plan's version on the chart: what happened (the version's history and the calls frozen
at their actual times: solid bars), what is planned (outlined bars) and a vertical now-line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.domain import Problem
from optimizer.gantt.layout import LiveMarks
from optimizer.gantt.page import write_gantt
from optimizer.kpis import compute_kpis
from optimizer.params import ObjectiveWeights
from optimizer.plan import CallPlan, Plan

if TYPE_CHECKING:  # optimizer.live imports the solver; the chart needs only the version's data
    from optimizer.live.replan import Version


def live_chart(version: Version, full_problem: Problem | None = None, weights: ObjectiveWeights | None = None
               ) -> tuple[Problem, Plan, LiveMarks]:
    """The problem, plan and marks that draw `version`: its planning view with the history's calls
    (looked up in `full_problem`, e.g. the live plan's state, for their vessels and cargo; with it,
    the KPIs cover history and plan together)."""
    view = version.problem
    known = view.call_map()
    full = full_problem.call_map() if full_problem is not None else {}
    history_ids = {h.call_id for h in version.history}
    extra = [full[cid] for cid in sorted(history_ids) if cid in full and cid not in known]
    problem = view.model_copy(update={"calls": [*view.calls, *extra]})
    calls = problem.call_map()
    history = []
    for h in version.history:
        c = calls.get(h.call_id)
        history.append(CallPlan(**h.model_dump(), port_id=c.port_id if c else None,
                                vessel_id=c.vessel_id if c else None))
    plan = version.plan.model_copy(update={"calls": [*history, *version.plan.calls]})
    if full_problem is not None and version.history:
        # the headline figures of what happened and what is planned, not of the planning view alone
        kpis = compute_kpis(full_problem, plan.calls, weights)
        plan = plan.model_copy(update={"kpis": kpis})
    actual = set(history_ids) | {c.id for c in view.calls
                                 if c.frozen is not None and c.frozen.berth_start <= version.now}
    return problem, plan, LiveMarks(now=version.now, actual=actual)


def write_live_gantt(path: str | Path, version: Version, full_problem: Problem | None = None,
                     title: str | None = None) -> Path:
    problem, plan, marks = live_chart(version, full_problem)
    heading = title or (f"Live plan · {problem.name} · version {version.number} · "
                        f"now {version.now:%a %d %b %H:%M} UTC")
    return write_gantt(path, problem, plan, heading, marks)
