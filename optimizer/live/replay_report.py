"""`portsync replay`'s work and tables: the live plan's versions, event by event, and what really
happened beside re-run FCFS and a clairvoyant plan."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from optimizer.domain import Problem
from optimizer.live.baselines import FcfsLivePlan
from optimizer.live.replan import ReplanSettings
from optimizer.live.replaying import EventLine, ReplayRun, Step, realized_kpis, run_replay, timing
from optimizer.live.simulate import final_facts_problem, seeded_delay
from optimizer.params import SolveOptions
from optimizer.plan import Kpis


def steps_table(steps: Sequence[Step], title: str) -> Table:
    t = Table(title=escape(title), title_justify="left")
    for col, right in (("#", True), ("event", False), ("replan s", True), ("berth chg", True),
                       ("shift>30m", True), ("Σ|shift| min", True), ("RTAs moved", True),
                       ("forced / chosen", True),
                       ("dwell so far h", True), ("planned dwell h", True), ("waiting so far h", True),
                       ("actuals", True), ("check", False)):
        t.add_column(col, justify="right" if right else "left", no_wrap=not right)
    for s in steps:
        t.add_row(str(s.line) if s.line else "end", escape(s.label), f"{s.replan_s:.2f}",
                  str(s.berth_changes),
                  str(s.shifted), f"{s.shift_minutes:,.0f}", str(s.rta_moved), f"{s.forced}/{s.chosen}",
                  f"{s.dwell_so_far_h:,.1f}",
                  f"{s.planned_dwell_h:,.1f}", f"{s.waiting_so_far_h:,.1f}", str(s.actuals),
                  "ok" if s.check_ok else "[bold red]FAILED[/]")
    return t


def _kpi_cells(k: Kpis | None) -> list[str]:
    if k is None:
        return ["-"] * 4
    return [f"{k.total_dwell_hours:,.1f}", f"{k.total_waiting_hours:,.1f}", f"{k.total_lateness_hours:,.1f}",
            str(k.calls)]


def kpis_table(columns: dict[str, Kpis | None], title: str) -> Table:
    t = Table(title=escape(title), title_justify="left")
    t.add_column("KPI (realized)")
    for name in columns:
        t.add_column(escape(name), justify="right")
    cells = [_kpi_cells(k) for k in columns.values()]
    for r, label in enumerate(("total dwell h", "waiting h", "lateness h", "calls served")):
        t.add_row(label, *(c[r] for c in cells))
    return t


def clairvoyant_kpis(run: ReplayRun, settings: ReplanSettings, time_limit_s: float | None = None
                     ) -> tuple[Kpis | None, bool]:
    """The final facts solved once (version 1's time and workers); and whether its plan is clean."""
    from optimizer.checker import check
    from optimizer.report import plan_from_result
    from optimizer.solver import solve

    problem = final_facts_problem(run.live.state)
    options = SolveOptions(time_limit_s=time_limit_s or settings.first_time_limit_s,
                           workers=settings.first_workers,
                           seed=settings.seed, weights=settings.weights)
    plan = plan_from_result(problem, solve(problem, options), settings.weights)
    if not plan.has_plan:
        return None, True
    return plan.kpis, check(problem, plan, settings.weights).ok


def replay_command(problem: Problem, lines: Sequence[EventLine], out: Console, err: Console, *,
                   first_time_limit: float, replan_time_limit: float, seed: int, baselines: bool,
                   json_out: Path | None, gantt: Path | None, gantt_at_event: int | None,
                   clairvoyant_time_limit: float | None = None) -> int:
    settings = ReplanSettings(first_time_limit_s=first_time_limit, replan_time_limit_s=replan_time_limit,
                              seed=seed)
    delay = seeded_delay(seed)

    def show(s: Step) -> None:
        err.print(f"line {s.line or 'end'}: version {s.version} in {s.replan_s:.2f} s, "
                  f"{s.berth_changes} berth change(s), {s.shifted} shifted", markup=False, highlight=False)

    err.print(f"{problem.name}: version 1 ({first_time_limit:g} s), then {len(lines)} event line(s)",
              markup=False, highlight=False)
    run = run_replay(problem, lines, settings, delay, on_step=show)
    # The table is read in a log as often as on a terminal: off a terminal it gets 160 columns.
    wide = out if out.is_terminal else Console(file=out.file, width=160, no_color=out.no_color)
    wide.print(steps_table(run.steps, f"{problem.name}: live plan, one version per event"))
    columns: dict[str, Kpis | None] = {"portsync live": realized_kpis(run.live.state)}
    failed = list(run.failed_checks)
    fcfs_run: ReplayRun | None = None
    if baselines:
        err.print("re-run FCFS on the same stream ...", markup=False, highlight=False)
        fcfs_run = run_replay(problem, lines, settings, delay, make=FcfsLivePlan.create)
        columns["re-run FCFS"] = realized_kpis(fcfs_run.live.state)
        failed += [(v, f"re-run FCFS: {s}") for v, s in fcfs_run.failed_checks]
        seconds = clairvoyant_time_limit or first_time_limit
        err.print(f"clairvoyant: the final facts solved once ({seconds:g} s) ...", markup=False,
                  highlight=False)
        kc, ok = clairvoyant_kpis(run, settings, seconds)
        columns["clairvoyant"] = kc
        if not ok:
            failed.append((0, "clairvoyant plan fails the checker"))
    out.print(kpis_table(columns, "What really happened (every call departed)"))
    tm = timing(run)
    out.print(f"event -> version: p50 {tm['p50_s']:.2f} s, p95 {tm['p95_s']:.2f} s, "
              f"max {tm['max_s']:.2f} s over {tm['events']:.0f} event lines; mean per event "
              f"{tm['mean_berth_changes']:.2f} berth change(s), "
              f"{tm['mean_shifted']:.2f} call(s) shifted > 30 min; {len(run.live.versions)} versions",
              highlight=False)
    if baselines:
        out.print("re-run FCFS: each port re-plans first come, first served on every event, from the same "
                  "facts. clairvoyant: the final facts (ETAs, trains, closures, calls added and cancelled) "
                  f"known from the start, solved once for {clairvoyant_time_limit or first_time_limit:g} s "
                  "(a yardstick, not a bound: that one solve may search less than all the replans do); "
                  "berthing delays are not in it.", highlight=False)
    if json_out is not None:
        body: dict[str, Any] = {
            "problem": problem.name, "settings": settings.model_dump(mode="json"),
            "steps": [asdict(s) for s in run.steps], "timing": tm,
            "realized_kpis": {k: (v.model_dump(mode="json", exclude={"per_port"}) if v else None)
                              for k, v in columns.items()},
            "failed_checks": failed,
        }
        if fcfs_run is not None:
            body["fcfs_timing"] = timing(fcfs_run)
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
        err.print(f"replay written to {json_out}", markup=False, highlight=False)
    if gantt is not None:
        from optimizer.gantt import write_live_gantt

        k = gantt_at_event if gantt_at_event is not None else len(run.steps) + 1
        v = run.version_after_line(k) if gantt_at_event is not None else run.live.current
        gantt.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_live_gantt(gantt, v, run.live.state.problem)
        except ValueError as exc:
            err.print(f"[red]--gantt {escape(str(gantt))}: {escape(str(exc))}[/]", soft_wrap=True)
            return 2
        err.print(f"live chart (version {v.number}, now {v.now:%Y-%m-%d %H:%M} UTC) written to {gantt}",
                  markup=False, highlight=False)
    if failed:
        err.print(f"[bold red]CHECK FAILED: {len(failed)} version(s) break hard rules:[/]")
        for num, text in failed[:20]:
            err.print(f"  [red]version {num}: {escape(text)}[/]")
        return 1
    return 0
