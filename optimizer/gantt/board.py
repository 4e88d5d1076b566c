"""The berth board's data: the chart's layout (ports, berth rows, calls, closures, maintenance) as
compact JSON for the browser, from the same layout functions as the static chart.

Times are Unix seconds (UTC): the page draws them in UTC or in a port's zone, named on screen. Keys
are short and empty values are left out, so a 2,000-call month stays well under 1.5 MB. A plan
written by hand (only call, berth and times) or naming berths the problem lacks is shown as it
is: the layout puts unknown berths in a group of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from optimizer.domain import Problem
from optimizer.gantt.layout import LiveMarks, cargo_label, make_bars, make_groups, view_span
from optimizer.params import ObjectiveWeights
from optimizer.plan import CallAssignment, Plan, UnservedCall, UnservedKind
from optimizer.report import (
    kpi_headline,
    kpi_table_columns,
    kpi_table_sections,
    solver_summary,
    unserved_kind_text,
    yardstick_notes,
)

#: The board data's format; bumped when a key changes meaning.
BOARD_FORMAT = 1

STATUSES = ("departed", "at_berth", "frozen", "planned")


def ts(t: datetime | None) -> int | None:
    """Unix seconds, or None."""
    return None if t is None else int(t.timestamp())


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    """Leave out None, empty lists and False: the page reads a missing key as 'none'."""
    return {k: v for k, v in d.items() if v is not None and v != [] and v is not False}


def call_status(call_id: str, berth_start: datetime, berth_end: datetime, frozen: bool,
                live: LiveMarks | None) -> str:
    """departed / at_berth (facts of a live plan: solid bars), frozen (a job's fixed call: solid
    too), planned (outlined)."""
    if live is not None and call_id in live.actual:
        return "departed" if berth_end <= live.now else "at_berth"
    if frozen:
        return "frozen"
    return "planned"


def _links(problem: Problem) -> dict[str, list[dict[str, Any]]]:
    """Each call's links, from its side: the call it waits for (before) or that waits for it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for lk in problem.links:
        common = {"min_h": lk.min_gap_hours, "max_h": lk.max_gap_hours, "reason": lk.reason or None}
        out.setdefault(lk.after, []).append(_compact({"role": "after", "other": lk.before, **common}))
        out.setdefault(lk.before, []).append(_compact({"role": "before", "other": lk.after, **common}))
    return out


def _kpis(plan: Plan) -> dict[str, Any] | None:
    """The KPI table as the CLI and the static page write it (strings), total then per port."""
    if plan.kpis is None:
        return None
    sections = kpi_table_sections(plan)
    columns = kpi_table_columns(plan)
    return {
        "headline": "".join(text for text, _ in kpi_headline(plan)),
        "columns": list(columns),
        "sections": [{"title": title, "rows": [list(r[: len(columns)]) for r in rows]}
                     for title, rows in sections],
        "notes": yardstick_notes(plan),
    }


def _solver(plan: Plan) -> dict[str, Any]:
    s = plan.solver
    proven = sum(u.kind == UnservedKind.PROVEN for u in plan.unserved)
    facts: dict[str, Any] = {
        "summary": solver_summary(plan),
        "served": len(plan.calls),
        "unserved": len(plan.unserved),
        "proven": proven,
        "not_found": len(plan.unserved) - proven,
    }
    if s is not None:
        facts.update(status=s.status.value, gap=s.gap, objective=s.objective, bound=s.best_bound,
                     seconds=round(s.seconds, 2), solutions=s.solutions, stopped=s.stopped)
    return _compact(facts)


def board_data(problem: Problem, plan: Plan, *, title: str, live: LiveMarks | None = None,
               changes: Sequence[Mapping[str, Any]] = (),
               events: Mapping[str, Mapping[str, Any]] | None = None,
               extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything the board draws for one plan. `changes` are a live version's changes (each a
    VersionChange as a dict) and `events` the event bodies by id, so a call's panel can say what
    moved it and which event caused it; `extra` is merged in (the API's links and version facts)."""
    start, end = view_span(problem, plan)
    groups = make_groups(problem, plan, start, end)
    vessels = problem.vessel_map()
    links = _links(problem)
    ports: list[dict[str, Any]] = []
    maintenance: dict[str, list[list[Any]]] = {}
    for g in groups:
        port = g.port
        closures = [[ts(c.start), ts(c.end), c.reason] for c in port.closures] if port else []
        ports.append(_compact({
            "id": g.port_id, "title": g.title, "sub": g.sub, "tz": port.timezone if port else None,
            "closures": closures,
            "berths": [{"id": r.berth_id, "label": r.label, "sub": r.sub} for r in g.rows],
        }))
        for r in g.rows:
            if r.berth is not None and r.berth.unavailable:
                maintenance[r.berth_id] = [[ts(w.start), ts(w.end), w.reason] for w in r.berth.unavailable]
    calls: list[dict[str, Any]] = []
    for bar in make_bars(problem, plan):
        cp, call = bar.cp, bar.call
        vessel = vessels.get(cp.vessel_id or (call.vessel_id if call else ""))
        calls.append(_compact({
            "id": cp.call_id, "n": bar.name, "vid": vessel.id if vessel else cp.vessel_id,
            "imo": vessel.imo if vessel else None, "p": bar.port_id, "b": cp.berth_id,
            "k": bar.cargo or None, "a": ts(cp.arrival), "s": ts(cp.berth_start), "e": ts(cp.berth_end),
            "w": _r(cp.waiting_minutes), "sea": _r(cp.waiting_at_sea_minutes) or None,
            "l": _r(cp.lateness_minutes) or None, "sp": _r(cp.inbound_speed_kn),
            "nm": _r(cp.inbound_distance_nm), "fu": _r(cp.fuel_saved_t, 2),
            "es": ts(call.earliest_start) if call else None,
            "rd": ts(call.requested_departure) if call else None,
            "ld": ts(call.latest_departure) if call else None,
            "wf": [_compact({"kind": w.kind.value, "detail": w.detail, "call": w.blocking_call_id,
                             "until": ts(w.until)}) for w in cp.waited_for],
            "st": call_status(cp.call_id, cp.berth_start, cp.berth_end, bar.frozen, live),
            "lk": links.get(cp.call_id, []),
        }))
    call_map = problem.call_map()
    unserved = []
    for u in plan.unserved:
        c = call_map.get(u.call_id)
        v = vessels.get(c.vessel_id) if c else None
        unserved.append(_compact({
            "id": u.call_id, "kind": u.kind.value, "rule": u.rule.value if u.rule else None,
            "text": unserved_kind_text(u), "reasons": list(u.reasons),
            "n": (v.name or v.id) if v else (c.vessel_id if c else None), "imo": v.imo if v else None,
            "p": c.port_id if c else None, "k": c.cargo.value if c else None,
        }))
    data: dict[str, Any] = {
        "format": BOARD_FORMAT,
        "title": title,
        "problem": _compact({"name": problem.name, "description": problem.description or None,
                             "horizon": [ts(problem.horizon_start), ts(problem.horizon_end)]}),
        "view": [ts(start), ts(end)],
        "now": ts(live.now) if live else None,
        "ports": ports,
        "maintenance": maintenance,
        "cargo": {k: cargo_label(k) for k in sorted({c["k"] for c in calls if "k" in c})},
        "calls": calls,
        "unserved": unserved,
        "warnings": [_compact({"id": w.call_id, "kind": w.kind, "detail": w.detail}) for w in plan.warnings],
        "kpis": _kpis(plan),
        "solver": _solver(plan),
        "changes": {str(c["call_id"]): _change(c, events or {}) for c in changes},
    }
    if extra:
        data.update(extra)
    return data


def _change(c: Mapping[str, Any], events: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A call's change since the version before, with the events behind it (type and body)."""
    ids: Iterable[str] = c.get("cause_event_ids") or c.get("caused_by") or []
    return _compact({
        "cause": c.get("cause"), "reason": c.get("reason"), "forced": c.get("forced"),
        "berth_before": c.get("berth_before"), "berth_after": c.get("berth_after"),
        "start_shift": c.get("start_shift_minutes"), "rta_shift": c.get("rta_shift_minutes"),
        "call": c.get("cause_call_id"),
        "events": [dict(events[i], id=i) if i in events else {"id": i} for i in ids],
    })


def file_board_data(problem: Problem, given: Plan | Sequence[CallAssignment], *, title: str | None = None,
                    weights: ObjectiveWeights | None = None) -> dict[str, Any]:
    """The board's data for a plan made elsewhere (a Plan as `portsync solve --out` writes it, or
    bare assignments), drawn as it is: its waits, KPIs and FCFS beside them recomputed from its
    times, every rule it breaks as the independent checker finds it (`breaches`, and `br` on each
    breaching call), and every call it leaves out listed as unserved (its own reasons when the
    plan gives them, the checker's words otherwise). A call planned twice is drawn once (its first
    assignment): the breach list names the repeat."""
    from optimizer.baseline import fcfs
    from optimizer.checker import ViolationKind, check
    from optimizer.report import build_plan

    report = check(problem, given, weights)
    if isinstance(given, Plan):
        assignments: list[CallAssignment] = list(given.calls)
        declared, solver = list(given.unserved), given.solver
    else:
        assignments, declared, solver = list(given), [], None
    drawn: list[CallAssignment] = []
    served: set[str] = set()
    for a in assignments:
        if a.call_id not in served:
            served.add(a.call_id)
            drawn.append(a)
    unserved = [u for u in declared if u.call_id not in served]
    listed = {u.call_id for u in unserved}
    missing = {v.call_id: v.detail for v in report.violations
               if v.kind == ViolationKind.MISSING_CALL and v.call_id is not None}
    for c in problem.calls:
        if c.id not in served and c.id not in listed:
            unserved.append(UnservedCall(call_id=c.id, kind=UnservedKind.NOT_FOUND, reasons=[
                missing.get(c.id, f"call {c.id} is not in the plan")]))
    plan = build_plan(problem, drawn, weights=weights, solver=solver, baseline=fcfs(problem),
                      unserved=unserved)
    data = board_data(problem, plan, title=title or f"{problem.name} · plan from a file")
    breaches = [_compact({"kind": v.kind.value, "id": v.call_id, "b": v.berth_id, "detail": v.detail})
                for v in report.violations]
    by_call: dict[str, list[str]] = {}
    for v in report.violations:
        if v.call_id is not None:
            by_call.setdefault(v.call_id, []).append(v.kind.value)
    _mark_overlap_partners(drawn, report.violations, by_call)
    for c in data["calls"]:
        if c["id"] in by_call:
            c["br"] = by_call[c["id"]]
    data["breaches"] = breaches
    data["check"] = {"ok": report.ok, "violations": len(report.violations),
                     "kinds": dict(sorted(report.kinds().items())),
                     "frozen_facts": [_compact({"id": w.call_id, "kind": w.kind, "detail": w.detail})
                                      for w in report.warnings]}
    data["source"] = {"kind": "file", "shape": "plan" if isinstance(given, Plan) else "assignments",
                      "calls_given": len(assignments)}
    return data


def _mark_overlap_partners(drawn: Sequence[CallAssignment], violations: Iterable[Any],
                           by_call: dict[str, list[str]]) -> None:
    """The checker names an overlap by its later call; the call it overlaps breaks the same rule
    and is marked too, so that both bars of an overlap show it."""
    on_berth: dict[str, list[CallAssignment]] = {}
    for a in drawn:
        on_berth.setdefault(a.berth_id, []).append(a)
    stays = {a.call_id: a for a in drawn}
    for v in violations:
        if v.kind != "berth_overlap" or v.call_id not in stays:
            continue
        b = stays[v.call_id]
        for a in on_berth.get(b.berth_id, []):
            if a.call_id != b.call_id and a.berth_start < b.berth_end and b.berth_start < a.berth_end \
                    and "berth_overlap" not in by_call.get(a.call_id, []):
                by_call.setdefault(a.call_id, []).append("berth_overlap")
