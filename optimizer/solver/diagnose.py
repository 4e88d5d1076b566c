"""Why a problem cannot be planned: which calls cannot be served, and why.

The hard limits a planner sets (latest departures, link max gaps) are relaxed into penalties;
the relaxed plan shows which of them cannot all hold together and by how much each is missed.
"""

from __future__ import annotations

from datetime import timedelta

from ortools.sat.python import cp_model

from optimizer.baseline import fcfs_steps
from optimizer.compiled import CompiledProblem
from optimizer.params import SolveOptions
from optimizer.plan import UnservedCall
from optimizer.solver.model import BerthModel


def diagnose_infeasible(cp: CompiledProblem, options: SolveOptions) -> list[UnservedCall]:
    model = BerthModel(cp, options.weights, relax=True)
    model.hint(fcfs_steps(cp))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = min(10.0, options.time_limit_s)
    solver.parameters.num_workers = options.workers
    solver.parameters.random_seed = options.seed
    code = solver.solve(model.m)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        frozen = [c.id for c in cp.calls if c.frozen is not None]
        why = (
            "frozen calls, closures, maintenance and sailing-time windows conflict; "
            "no berth plan exists even with latest departures and link gaps relaxed"
        )
        ids = frozen or [c.id for c in cp.calls]
        return [UnservedCall(call_id=cid, reasons=[why]) for cid in ids]
    out: dict[str, list[str]] = {}
    for i, over in model.v.overdue.items():
        late = solver.value(over)
        if late > 0:
            c = cp.calls[i]
            assert c.latest_end is not None
            earliest = cp.time(solver.value(model.v.calls[i].end))
            out.setdefault(c.id, []).append(
                f"cannot leave by its latest departure {cp.time(c.latest_end).isoformat()}: together with "
                f"the other calls the earliest departure is about {earliest.isoformat()} "
                f"({timedelta(minutes=late * cp.step)} late)"
            )
    for k, over in model.v.link_overrun.items():
        gap = solver.value(over)
        if gap > 0:
            link = cp.links[k]
            before, after = cp.calls[link.before].id, cp.calls[link.after].id
            out.setdefault(after, []).append(
                f"cannot start within the max gap after call {before}: "
                f"{timedelta(minutes=gap * cp.step)} too late"
            )
    return [UnservedCall(call_id=cid, reasons=r) for cid, r in out.items()]
