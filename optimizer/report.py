"""The plan as people and integrators read it: per call times, waits and speeds, KPIs, the FCFS
comparison, and the text of the KPI table, the headline and the solver line, made once here so that
the CLI (rich tables) and the Gantt page (HTML) render the same words and numbers."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence

from optimizer.checker import check, check_rules
from optimizer.domain import Problem
from optimizer.explain import why_waited
from optimizer.kpis import call_metrics, compute_kpis, fmt_hours, fmt_num, fmt_percent, fmt_time, local_time
from optimizer.params import ObjectiveWeights
from optimizer.plan import (
    CallAssignment,
    CallPlan,
    Kpis,
    Plan,
    PlanWarning,
    PortKpis,
    SolverFacts,
    UnservedCall,
    UnservedKind,
)
from optimizer.result import Result

NO_VALUE = "—"


def problem_digest(problem: Problem) -> str:
    """SHA-256 of the problem's canonical JSON: which problem a plan was made for."""
    return hashlib.sha256(problem.model_dump_json().encode()).hexdigest()


def plan_warnings(problem: Problem, items: Sequence[CallAssignment]) -> list[PlanWarning]:
    """Frozen calls that break a hard rule (the checker's warnings) and ignored previous-plan
    entries."""
    out: list[PlanWarning] = []
    if any(c.frozen is not None for c in problem.calls):  # only frozen facts give warnings
        out = [PlanWarning(kind=w.kind, call_id=w.call_id, detail=w.detail)
               for w in check_rules(problem, items)[1]]
    kept = {id(a) for a in problem.previous_in_horizon()}  # by identity: == on records is slow
    for a in problem.previous_plan or []:
        if id(a) not in kept:
            out.append(PlanWarning(kind="previous_plan_ignored", call_id=a.call_id,
                                   detail=f"previous-plan entry for call {a.call_id} starts at "
                                          f"{fmt_time(a.berth_start)}, outside the horizon: ignored"))
    return out


def build_plan(problem: Problem, assignments: Iterable[CallAssignment], *,
               weights: ObjectiveWeights | None = None, solver: SolverFacts | None = None,
               baseline: Sequence[CallAssignment] | None = None,
               feasible_baseline: tuple[Sequence[CallAssignment], list[str]] | None = None,
               unserved: list[UnservedCall] | None = None) -> Plan:
    """A full Plan from bare assignments: derived fields per call (in berth-start order), KPIs,
    warnings, the baselines' KPIs (and what FCFS breaks) when given, and the solver facts and
    unserved calls as they are."""
    items = sorted(assignments, key=lambda a: (a.berth_start, a.call_id))
    metrics = call_metrics(problem, items)
    waits = why_waited(problem, items)
    calls = problem.call_map()
    vessels = problem.vessel_map()
    out: list[CallPlan] = []
    seen: set[str] = set()
    for a in items:
        base = {f: getattr(a, f) for f in CallAssignment.model_fields}
        c = calls.get(a.call_id)
        m = metrics.get(a.call_id)
        if c is None or m is None or a.call_id in seen:
            out.append(CallPlan(**base))  # unknown or repeated call: nothing to derive
            continue
        seen.add(a.call_id)
        vessel = vessels.get(c.vessel_id)
        out.append(CallPlan(
            **base,
            vessel_id=c.vessel_id,
            vessel_name=vessel.name or vessel.id if vessel is not None else None,
            port_id=c.port_id,
            arrival_local=local_time(problem, c.port_id, a.arrival),
            berth_start_local=local_time(problem, c.port_id, a.berth_start),
            berth_end_local=local_time(problem, c.port_id, a.berth_end),
            waiting_minutes=m.waiting_minutes,
            waiting_at_sea_minutes=m.waiting_at_sea_minutes,
            dwell_minutes=m.dwell_minutes,
            lateness_minutes=m.lateness_minutes,
            inbound_speed_kn=m.inbound_speed_kn,
            inbound_distance_nm=m.inbound_distance_nm,
            fuel_saved_t=m.fuel_saved_t,
            waited_for=waits.get(a.call_id, []),
        ))
    plan = Plan(
        problem_name=problem.name,
        problem_digest=problem_digest(problem),
        calls=out,
        unserved=list(unserved or []),
        warnings=plan_warnings(problem, items),
        kpis=compute_kpis(problem, items, weights),
        solver=solver,
    )
    if baseline is not None:
        report = check(problem, baseline, weights)
        plan.baseline_kpis = report.kpis
        plan.baseline_violations = dict(sorted(report.kinds().items()))
    if feasible_baseline is not None:
        plan.feasible_baseline_kpis = compute_kpis(problem, feasible_baseline[0], weights)
        plan.feasible_baseline_unserved = list(feasible_baseline[1])
    return plan


def solver_facts(result: Result) -> SolverFacts:
    """The solver part of a Plan: a Result's figures, named as integrators read them."""
    return SolverFacts(
        status=result.status, objective=result.objective, best_bound=result.bound, gap=result.gap,
        seconds=result.seconds, solutions=result.solutions, stopped=result.stopped,
        hint_used=result.hint_used, source=result.source,
        repaired_in_exact_time=result.repaired_in_exact_time,
        proven_optimal=result.proven_optimal, served_calls=len(result.assignments),
        unserved_calls=len(result.unserved),
        proven_unserved_calls=sum(u.kind == UnservedKind.PROVEN for u in result.unserved),
    )


def plan_from_result(problem: Problem, result: Result, weights: ObjectiveWeights | None = None) -> Plan:
    """The user-facing Plan of a solve: the result's assignments with everything derived from
    them, the yardsticks' KPIs, and the solver facts."""
    facts = solver_facts(result)
    if not result.has_plan:
        return Plan(problem_name=problem.name, unserved=list(result.unserved), solver=facts,
                    message=result.message)
    y = result.yardsticks
    plan = build_plan(
        problem, result.assignments, weights=weights, solver=facts, unserved=list(result.unserved),
        baseline=y.fcfs if y is not None else None,
        feasible_baseline=(y.fcfs_keeping_limits, y.fcfs_keeping_limits_unserved) if y is not None else None)
    assert plan.kpis is not None and math.isclose(plan.kpis.objective, facts.objective or 0.0, abs_tol=1e-6)
    return plan


# -- the KPI table, the headline and the solver line -------------------------------------------


def saving_pct(plan_value: float, fcfs_value: float | None) -> float | None:
    """How much lower the plan is than FCFS, in % of FCFS; None without an FCFS value to compare."""
    if fcfs_value is None or fcfs_value == 0:
        return None
    return (fcfs_value - plan_value) / fcfs_value * 100


def _saving(plan_value: float, fcfs_value: float | None) -> str:
    pct = saving_pct(plan_value, fcfs_value)
    return NO_VALUE if pct is None else fmt_percent(pct)


Metric = tuple[str, Callable[[Kpis | PortKpis], float], str, bool]

_METRICS: list[Metric] = [
    # label, value, format, whether "saving %" makes sense (lower is better)
    ("total dwell h", lambda k: k.total_dwell_hours, "{:.1f}", True),
    ("mean dwell h", lambda k: k.mean_dwell_hours, "{:.2f}", True),
    ("total waiting h", lambda k: k.total_waiting_hours, "{:.1f}", True),
    ("mean waiting h", lambda k: k.mean_waiting_hours, "{:.2f}", True),
    ("waiting at sea h", lambda k: k.total_waiting_at_sea_hours, "{:.1f}", True),
    ("lateness h", lambda k: k.total_lateness_hours, "{:.1f}", True),
    ("late calls", lambda k: k.late_calls, "{:.0f}", True),
    ("berth utilization %", lambda k: k.berth_utilization * 100, "{:.1f}", False),
]


Row = tuple[str, ...]  # metric, plan, FCFS, saving, FCFS keeping limits, saving


def _cells(fmt: str, v: float, other: float | None, lower_is_better: bool) -> tuple[str, str]:
    if other is None:
        return NO_VALUE, NO_VALUE
    return fmt_num(fmt, other), _saving(v, other) if lower_is_better else NO_VALUE


def _rows(prefix: str, mine: Kpis | PortKpis, fcfs: Kpis | PortKpis | None,
          kept: Kpis | PortKpis | None) -> list[Row]:
    rows: list[Row] = []
    for label, value, fmt, lower_is_better in _METRICS:
        v = value(mine)
        rows.append((prefix + label, fmt_num(fmt, v),
                     *_cells(fmt, v, value(fcfs) if fcfs is not None else None, lower_is_better),
                     *_cells(fmt, v, value(kept) if kept is not None else None, lower_is_better)))
    return rows


KPI_COLUMNS: Row = ("KPI", "plan", "FCFS", "saving", "FCFS keeping limits", "saving")


def kpi_table_columns(plan: Plan) -> Row:
    """The headers of the KPI table; a row is cut to as many cells. The second yardstick is shown
    only when it differs from FCFS, that is when FCFS breaks a hard limit."""
    both = bool(plan.baseline_violations) and plan.feasible_baseline_kpis is not None
    return KPI_COLUMNS if both else KPI_COLUMNS[:4]


def kpi_table_rows(plan: Plan) -> list[Row]:
    """(metric, plan, FCFS, saving %, FCFS keeping every hard limit, saving %) rows: calls
    served, totals, then each port."""
    return [row for _, rows in kpi_table_sections(plan) for row in rows]


def kpi_table_sections(plan: Plan) -> list[tuple[str, list[Row]]]:
    """The rows of kpi_table_rows by scope, for a page that folds the ports away: ("all", calls
    served and totals), then (port id, that port's rows) for each port."""
    k, b, f = plan.kpis, plan.baseline_kpis, plan.feasible_baseline_kpis
    if k is None:
        return []
    rows: list[Row] = [("calls served", f"{k.calls}", f"{b.calls}" if b else NO_VALUE, NO_VALUE,
                        f"{f.calls}" if f else NO_VALUE, NO_VALUE)]
    rows += _rows("", k, b, f)
    rows.append(("fuel saved t (estimate)", fmt_num("{:.1f}", k.fuel_saved_t),
                 fmt_num("{:.1f}", b.fuel_saved_t) if b is not None else NO_VALUE, NO_VALUE,
                 fmt_num("{:.1f}", f.fuel_saved_t) if f is not None else NO_VALUE, NO_VALUE))
    base_ports = {p.port_id: p for p in b.per_port} if b is not None else {}
    kept_ports = {p.port_id: p for p in f.per_port} if f is not None else {}
    return [("all", rows)] + [
        (pk.port_id, _rows(f"{pk.port_id} ", pk, base_ports.get(pk.port_id), kept_ports.get(pk.port_id)))
        for pk in k.per_port
    ]


def yardstick_notes(plan: Plan) -> list[str]:
    """What the comparison with FCFS means: how many hard limits FCFS breaks (savings against it
    compare with a plan that is not allowed) and how many calls the limit-keeping FCFS serves."""
    notes = []
    if plan.baseline_violations is not None:
        n = sum(plan.baseline_violations.values())
        if n:
            kinds = ", ".join(f"{k} x{c}" for k, c in plan.baseline_violations.items())
            notes.append(f"FCFS breaks {n} hard limits ({kinds}): the savings against it compare with a "
                         "plan that is not allowed")
        else:
            notes.append("FCFS breaks no hard limit")
    if plan.feasible_baseline_kpis is not None and plan.kpis is not None:
        left = len(plan.feasible_baseline_unserved or [])
        notes.append(f"FCFS keeping every hard limit serves {plan.feasible_baseline_kpis.calls} calls "
                     f"({left} left unserved); this plan serves {plan.kpis.calls} "
                     f"({len(plan.unserved)} unserved"
                     f"{f', {_proven(plan)} of them proven unservable' if plan.unserved else ''})")
    return notes


def fcfs_table_rows(plan: Plan, violations: int) -> list[tuple[str, str]]:
    """(metric, value) rows of an FCFS plan on its own (nothing to compare it with), and how many
    hard limits it breaks."""
    alone = plan.model_copy(update={"baseline_kpis": None, "feasible_baseline_kpis": None})
    rows = [(label, value) for label, value, *_ in kpi_table_rows(alone)
            if not label.startswith(("fuel saved", "calls served"))]
    rows.append(("hard limits broken", f"{violations:,}"))
    return rows


def kpi_headline(plan: Plan) -> list[tuple[str, bool]]:
    """The KPIs in one sentence, as (text, emphasised) pieces: total dwell, and how it compares
    with FCFS when there is one; empty without KPIs."""
    k, base = plan.kpis, plan.baseline_kpis
    if k is None:
        return []
    pieces = [("Total dwell ", False), (fmt_hours(k.total_dwell_hours), True),
              (f" over {k.calls} calls", False)]
    pct = saving_pct(k.total_dwell_hours, base.total_dwell_hours) if base is not None else None
    # waiting at sea is named only where there is some (a plan that makes vessels pass ports)
    at_sea = ([(f"; waiting at sea {fmt_hours(k.total_waiting_at_sea_hours)}", False)]
              if k.total_waiting_at_sea_hours > 0 else [])
    if base is None or pct is None:
        return [*pieces, (f"; waiting {fmt_hours(k.total_waiting_hours)}", False), *at_sea]
    return [
        *pieces,
        (", ", False),
        (f"{fmt_percent(abs(pct))} {'below' if pct >= 0 else 'above'}", True),
        (f" first come, first served ({fmt_hours(base.total_dwell_hours)}); waiting "
         f"{fmt_hours(k.total_waiting_hours)} against {fmt_hours(base.total_waiting_hours)}", False),
        *at_sea,
    ]


def solver_summary(plan: Plan) -> str:
    """What the solver did, in one line: status, source, time, plans found, objective, bound, gap."""
    s = plan.solver
    if s is None:
        return ""
    parts = [f"status {s.status.value}", f"source {s.source}", f"{s.seconds:.1f} s",
             f"{s.solutions} solutions"]
    if s.objective is not None:
        parts.append(f"objective {s.objective:,.0f}")
    if s.best_bound is not None:
        parts.append(f"bound {s.best_bound:,.0f}")
    if s.gap is not None:
        parts.append(f"gap {fmt_percent(100 * s.gap)}")
    if s.hint_used is not None:
        parts.append("start plan used" if s.hint_used else "start plan not used")
    if s.stopped:
        parts.append("stopped")
    return ", ".join(parts)


def _proven(plan: Plan) -> int:
    return sum(u.kind == UnservedKind.PROVEN for u in plan.unserved)


def unserved_kind_text(u: UnservedCall) -> str:
    """Whether no plan can serve the call (and what proves it) or only this plan does not."""
    return f"proven: {u.rule}" if u.kind == UnservedKind.PROVEN else "not found"


def unserved_summary(plan: Plan) -> str:
    """How many calls the plan leaves unserved, proven unservable or not found; empty for none."""
    if not plan.unserved:
        return ""
    proven = _proven(plan)
    return (f"{len(plan.unserved)} call(s) cannot be served: {proven} proven (no plan can "
            f"serve them), {len(plan.unserved) - proven} not found (the search found no plan serving "
            f"them; one may exist)")


def unserved_rows(plan: Plan) -> list[tuple[str, str, str]]:
    """(call, kind, why) for every call the plan leaves unserved."""
    return [(u.call_id, unserved_kind_text(u), "; ".join(u.reasons)) for u in plan.unserved]


def warning_rows(plan: Plan) -> list[tuple[str, str, str]]:
    """(call, kind, what) for every warning of the plan."""
    return [(w.call_id or "", w.kind, w.detail) for w in plan.warnings]
