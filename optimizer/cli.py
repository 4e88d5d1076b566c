"""`portsync`: solve a scenario, compare with FCFS, check a plan, run benchmarks (the API is served
by `portsync-api`, in the api package: optimizer never imports api)."""

from __future__ import annotations

import sys
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from optimizer.bench import bench_app
from optimizer.bench_planted import planted_command
from optimizer.domain import Problem
from optimizer.loading import MAX_INPUT_ENV, load_plan_file, load_problem_file
from optimizer.params import ObjectiveWeights, SolveOptions
from optimizer.plan import Plan
from optimizer.report import fcfs_table_rows, kpi_table_columns, kpi_table_rows, solver_summary
from optimizer.study.cli import study_app
from optimizer.validation import InvalidInput, Issue, issues_from_pydantic

app = typer.Typer(
    help="portsync: one berth plan for Aktau, Kuryk and the Port of Baku at Alat.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_BAD_INPUT = 0, 1, 2
EXIT_NO_PLAN, EXIT_PARTIAL = 1, 3  # solve: no plan at all; a plan that leaves calls unserved


class ProgressMode(StrEnum):
    AUTO = "auto"
    LIVE = "live"
    PLAIN = "plain"
    NONE = "none"


#: Set by the app's callback from --max-input-bytes / PORTSYNC_MAX_INPUT_BYTES.
_input_limit: dict[str, int | None] = {"max_bytes": None}


@app.callback()
def main(
    max_input_bytes: Annotated[
        int | None,
        typer.Option("--max-input-bytes", envvar=MAX_INPUT_ENV, min=1,
                     help="Largest problem or plan file read, in bytes (default 20 MiB)."),
    ] = None,
) -> None:
    """portsync: one berth plan for Aktau, Kuryk and the Port of Baku at Alat."""
    _input_limit["max_bytes"] = max_input_bytes


def _fail_input(what: str, issues: list[Issue]) -> typer.Exit:
    """Every issue on stderr, the file named once, each with its field path; exit 2."""
    if len(issues) == 1 and not issues[0].loc:
        err.print(f"[bold red]error:[/] {escape(what)}: {escape(issues[0].msg)}", soft_wrap=True)
        return typer.Exit(EXIT_BAD_INPUT)
    err.print(f"[bold red]{escape(what)} is not valid[/] "
              f"({len(issues)} problem{'s' if len(issues) != 1 else ''}):", soft_wrap=True)
    for issue in issues[:50]:
        err.print(f"  [yellow]{escape(issue.path or '(file)')}[/]: {escape(issue.msg)}", soft_wrap=True)
    if len(issues) > 50:
        err.print(f"  ... and {len(issues) - 50} more")
    return typer.Exit(EXIT_BAD_INPUT)


def _load(path: Path) -> Problem:
    try:
        return load_problem_file(path, _input_limit["max_bytes"])
    except InvalidInput as exc:
        raise _fail_input(str(path), exc.issues) from None


def _load_plan(path: Path) -> Plan:
    """A plan file: a Plan as `portsync solve --out` writes it, or a bare list of assignments."""
    try:
        return load_plan_file(path, _input_limit["max_bytes"])
    except InvalidInput as exc:
        raise _fail_input(str(path), exc.issues) from None


def kpi_table(plan: Plan, title: str) -> Table:
    columns = kpi_table_columns(plan)
    table = Table(title=escape(title), title_justify="left")
    table.add_column(columns[0])
    for column in columns[1:]:
        table.add_column(column, justify="right")
    for row in kpi_table_rows(plan):
        table.add_row(*row[: len(columns)])
    return table


def fcfs_table(plan: Plan, violations: int, title: str) -> Table:
    """The KPIs of an FCFS plan alone (one column), and how many hard limits it breaks."""
    table = Table(title=escape(title), title_justify="left")
    table.add_column("KPI")
    table.add_column("FCFS", justify="right")
    for row in fcfs_table_rows(plan, violations):
        table.add_row(*row)
    return table


def _write_outputs(problem: Problem, plan: Plan, out_path: Path | None, gantt: Path | None) -> None:
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(plan.model_dump_json(indent=2), encoding="utf-8")
        err.print(f"plan written to {escape(str(out_path))}", soft_wrap=True)
    if gantt is not None:
        from optimizer.gantt import write_gantt

        gantt.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_gantt(gantt, problem, plan)
        except ValueError as exc:
            err.print(f"[red]--gantt {escape(str(gantt))}: {escape(str(exc))}[/]", soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        err.print(f"Gantt chart written to {escape(str(gantt))}", soft_wrap=True)


def _print_unserved(plan: Plan) -> None:
    """The calls the plan leaves unserved: whether no plan can serve each (proven, and the rule
    that proves it) or the search found none (not found), then its reasons."""
    from optimizer.report import unserved_kind_text, unserved_summary

    if plan.unserved:
        err.print(f"[bold red]{escape(unserved_summary(plan))}:[/]", soft_wrap=True)
        for u in plan.unserved:
            for r in u.reasons:  # a reason a line, unbroken: people grep logs for a call
                err.print(f"  [yellow]{escape(u.call_id)}[/] ({escape(unserved_kind_text(u))}): {escape(r)}",
                          soft_wrap=True)


def _solve_showing_progress(problem: Problem, options: SolveOptions, mode: str) -> Plan:
    """Solve in a thread while the progress shows: a live line on a terminal, plain lines on
    stderr otherwise (each improvement, and every 5 s), or nothing."""
    from optimizer.report import plan_from_result
    from optimizer.solver import Progress
    from optimizer.solver import solve as run_solve

    time_limit = options.time_limit_s
    state: dict[str, Any] = {"objective": None, "gap": None, "solutions": 0, "unserved": 0}
    t0 = time.monotonic()
    if mode == "auto":
        mode = "live" if err.is_terminal else "plain"

    def on_progress(p: Progress) -> None:
        state.update(objective=p.objective, gap=p.gap, solutions=p.solutions, unserved=p.unserved)
        if mode == "plain":
            err.print(status_line(), markup=False, highlight=False)

    def status_line() -> str:
        el = time.monotonic() - t0
        if state["objective"] is None:
            return f"solving {problem.name}: {el:5.1f}/{time_limit:g} s, no plan yet"
        gap_txt = ", no bound yet" if state["gap"] is None else f", gap {100 * state['gap']:.1f} %"
        left = f", {state['unserved']} calls unserved" if state["unserved"] else ""
        return (
            f"solving {problem.name}: {el:5.1f}/{time_limit:g} s, {state['solutions']} plans, "
            f"best objective {state['objective']:,.0f}{gap_txt}{left}"
        )

    result: dict[str, Plan] = {}
    failure: list[BaseException] = []

    def run() -> None:
        try:
            found = run_solve(problem, options, on_progress=on_progress)
            result["plan"] = plan_from_result(problem, found, options.weights)
        except BaseException as exc:  # re-raised in the main thread
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    if mode == "live":
        with Live(status_line(), console=err, refresh_per_second=4, transient=True) as live:
            while worker.is_alive():
                worker.join(0.25)
                live.update(status_line())
    else:
        while worker.is_alive():
            worker.join(5.0)
            if worker.is_alive() and mode == "plain":
                err.print(status_line(), markup=False, highlight=False)
    if failure:
        if isinstance(failure[0], ValueError):
            err.print(f"[red]{failure[0]}[/]")
            raise typer.Exit(EXIT_BAD_INPUT)
        raise failure[0]
    return result["plan"]


@app.command()
def solve(
    problem_file: Annotated[Path, typer.Argument(help="Problem JSON (see instances/caspian/).")],
    time_limit: Annotated[float, typer.Option("--time-limit", "-t", help="Seconds.")] = 30.0,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write the plan as JSON.")] = None,
    gantt: Annotated[
        Path | None, typer.Option("--gantt", help="Write a Gantt chart (.html or .svg).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="CP-SAT workers (default: cores).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    gap: Annotated[float, typer.Option(help="Stop at this relative gap.")] = 0.0,
    dwell_weight: Annotated[int, typer.Option(help="Objective weight of dwell.")] = ObjectiveWeights().dwell,
    lateness_weight: Annotated[int, typer.Option(help="Objective weight of lateness.")] = (
        ObjectiveWeights().lateness
    ),
    log: Annotated[bool, typer.Option(help="Print CP-SAT's search log.")] = False,
    progress: Annotated[ProgressMode, typer.Option(
        help="auto: a live line on a terminal, plain lines otherwise; plain: a line on stderr per "
             "improvement and every 5 s; none.")] = ProgressMode.AUTO,
) -> None:
    """Solve a scenario: KPI table beside FCFS, plan JSON, Gantt chart.

    Exit 0 with every call planned, 3 with a partial plan (the calls that cannot be served are
    listed with their reasons), 1 when there is no plan, 2 for bad input."""
    problem = _load(problem_file)
    try:
        options = SolveOptions(
            time_limit_s=time_limit,
            seed=seed,
            relative_gap=gap,
            log_search=log,
            weights=ObjectiveWeights(dwell=dwell_weight, lateness=lateness_weight),
            **({"workers": workers} if workers else {}),
        )
    except ValidationError as exc:
        raise _fail_input("options", issues_from_pydantic(exc)) from None
    plan = _solve_showing_progress(problem, options, progress.value)
    err.print(solver_summary(plan), markup=False, highlight=False)
    _print_unserved(plan)
    for w in plan.warnings:
        err.print(f"warning {w.kind}: {w.detail}", markup=False, highlight=False)
    if not plan.has_plan:
        why = plan.message or "no call can be served"
        err.print(f"no plan: {why}; nothing written, no comparison shown", markup=False, style="bold red")
        raise typer.Exit(EXIT_NO_PLAN)
    out.print(kpi_table(plan, f"{problem.name}: optimized plan vs first come, first served"))
    from optimizer.report import yardstick_notes

    for note in yardstick_notes(plan):
        err.print(note, markup=False, highlight=False)
    _write_outputs(problem, plan, out_path, gantt)
    if plan.unserved:
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def baseline(
    problem_file: Annotated[Path, typer.Argument(help="Problem JSON.")],
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write the FCFS plan as JSON.")] = None,
    gantt: Annotated[
        Path | None, typer.Option("--gantt", help="Write a Gantt chart (.html or .svg).")
    ] = None,
) -> None:
    """The first-come-first-served plan and its KPIs (how the ports plan today), and how many hard
    limits it breaks (the checker's verdict; FCFS does not look at latest departures)."""
    from optimizer.baseline import fcfs
    from optimizer.checker import check, summary
    from optimizer.report import build_plan

    problem = _load(problem_file)
    assignments = fcfs(problem)
    plan = build_plan(problem, assignments, baseline=assignments)
    report = check(problem, assignments)
    out.print(fcfs_table(plan, len(report.violations), f"{problem.name}: first come, first served"))
    if not report.ok:
        err.print(f"[yellow]FCFS breaks hard limits: {escape(summary(report))}; e.g. "
                  f"{escape(report.violations[0].detail)}[/]", soft_wrap=True)
    _write_outputs(problem, plan, out_path, gantt)


@app.command("check")
def check_plan(
    problem_file: Annotated[Path, typer.Argument(help="Problem JSON.")],
    plan_file: Annotated[
        Path, typer.Argument(help="Plan JSON (from solve --out, or a list of assignments).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print violations and KPIs as JSON.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Check a plan made for another problem.")] = False,
) -> None:
    """Check any plan against a problem. Exit 0 no violation (warnings about frozen facts and
    unserved calls are printed), 1 violations, 2 unreadable input or a plan made for another
    problem (unless --force)."""
    from optimizer.checker import check, summary
    from optimizer.report import problem_digest

    problem = _load(problem_file)
    plan = _load_plan(plan_file)
    if plan.problem_digest is not None and plan.problem_digest != problem_digest(problem) and not force:
        err.print(f"{plan_file} was made for another problem than {problem_file} (its problem_digest "
                  "differs); check it anyway with --force", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    report = check(problem, plan)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        if report.ok:
            head = "[green]plan is clean[/]" if report.clean else "[yellow]no violations[/]"
            out.print(f"{head}: {len(plan.calls)} calls; {escape(summary(report))}")
            for w in report.warnings:
                out.print(f"  warning {w.kind}: {escape(w.detail)}")
        else:
            table = Table(title=f"{len(report.violations)} violation(s)", title_justify="left")
            for col in ("kind", "call", "berth", "detail"):
                table.add_column(col)
            for v in report.violations:
                table.add_row(v.kind, v.call_id or "", v.berth_id or "", escape(v.detail))
            out.print(table)
        for sw in report.waiting_at_sea:
            out.print(f"  waiting at sea, call {sw.call_id}: {escape(sw.detail)}")
        k = report.kpis
        out.print(
            f"total dwell {k.total_dwell_hours:,.1f} h, waiting {k.total_waiting_hours:,.1f} h, "
            f"waiting at sea {k.total_waiting_at_sea_hours:,.1f} h, "
            f"lateness {k.total_lateness_hours:,.1f} h, objective {k.objective:,.0f}"
        )
    raise typer.Exit(EXIT_CLEAN if report.ok else EXIT_VIOLATIONS)


@app.command()
def diff(
    problem_file: Annotated[Path, typer.Argument(help="Problem JSON.")],
    before_file: Annotated[Path, typer.Argument(help="The first plan (from solve --out).")],
    after_file: Annotated[Path, typer.Argument(help="The second plan of the same problem.")],
    rta_minutes: Annotated[float, typer.Option("--rta-minutes", min=0,
                                               help="An RTA moved by more than this counts.")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> None:
    """What the second plan changes: calls moved (berth, start, RTA), the stability figures
    (berth changes, start shifts, RTAs moved) and the KPI change. Exit 0, or 2 on bad input or
    a plan made for another problem."""
    from optimizer.diff import plan_diff
    from optimizer.report import problem_digest

    problem = _load(problem_file)
    plans = [_load_plan(before_file), _load_plan(after_file)]
    digest = problem_digest(problem)
    for path, plan in zip((before_file, after_file), plans, strict=True):
        if plan.problem_digest is not None and plan.problem_digest != digest:
            err.print(f"{path} was made for another problem than {problem_file} (its problem_digest "
                      "differs)", markup=False, highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT)
    d = plan_diff(problem, plans[0].calls, plans[1].calls, rta_minutes)
    if as_json:
        sys.stdout.write(d.model_dump_json(indent=2) + "\n")
        raise typer.Exit(EXIT_CLEAN)
    s = d.stability
    out.print(f"{len(d.changes)} call(s) changed: {s.berth_changes} berth change(s), start shifts "
              f"{s.total_start_shift_minutes:,.0f} min in all, {s.rta_moved} RTA(s) moved more than "
              f"{s.rta_threshold_minutes:g} min, {s.newly_unserved} newly unserved, "
              f"{s.newly_served} newly served")
    if d.changes:
        table = Table(title_justify="left")
        for col in ("call", "port", "berth", "start shift", "RTA shift"):
            table.add_column(col, justify="right" if "shift" in col else "left")
        for c in d.changes:
            before, after = c.berth_before or "unserved", c.berth_after or "unserved"
            berth = after if before == after else f"{before} -> {after}"
            table.add_row(c.call_id, c.port_id or "", berth,
                          fmt_minutes_signed(c.start_shift_minutes), fmt_minutes_signed(c.rta_shift_minutes))
        out.print(table)
    k = d.kpis
    out.print(f"dwell {k.total_dwell_hours[0]:,.1f} -> {k.total_dwell_hours[1]:,.1f} h, waiting "
              f"{k.total_waiting_hours[0]:,.1f} -> {k.total_waiting_hours[1]:,.1f} h, lateness "
              f"{k.total_lateness_hours[0]:,.1f} -> {k.total_lateness_hours[1]:,.1f} h, objective "
              f"{k.objective[0]:,.0f} -> {k.objective[1]:,.0f}")
    raise typer.Exit(EXIT_CLEAN)


def fmt_minutes_signed(m: float | None) -> str:
    if m is None:
        return ""
    return "0" if m == 0 else f"{m:+,.0f} min"


@app.command()
def generate(
    calls: Annotated[int, typer.Option("--calls", "-n", min=1, help="Number of calls.")],
    days: Annotated[int, typer.Option("--days", "-d", min=1, help="Horizon in days.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same problem.")] = 0,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the problem JSON here (default: stdout).")
    ] = None,
) -> None:
    """A Caspian-like problem (Aktau, Kuryk, Alat: ferries, feeders, tankers, grain ships, storms,
    maintenance), validated, as problem JSON for solve, baseline and check."""
    from optimizer.generator import generate as make_problem
    from optimizer.generator import traffic_text

    try:
        problem = make_problem(calls, days, seed)
    except ValueError as exc:  # the generator refuses what it cannot build, e.g. more calls than days hold
        err.print(f"[bold red]error:[/] cannot generate: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    text = problem.model_dump_json(indent=2, exclude_none=True) + "\n"
    if out_path is None:
        sys.stdout.write(text)
        return
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        err.print(f"[bold red]error:[/] {escape(str(out_path))}: cannot write: {escape(reason)}",
                  soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    err.print(f"{escape(problem.name)}: {len(problem.calls)} calls over {days} days "
              f"({escape(traffic_text(problem))}) written to {escape(str(out_path))}", soft_wrap=True)


@app.command()
def replay(
    problem_file: Annotated[Path, typer.Argument(help="Problem JSON (version 1 plans it whole).")],
    events_file: Annotated[Path, typer.Argument(help="Events, one JSON object a line (blank lines and "
                                                     "# comments allowed).")],
    first_time_limit: Annotated[float, typer.Option("--first-time-limit", min=0.1, max=3600,
                                                    help="Seconds for version 1 (and the clairvoyant).")
                        ] = 30.0,
    replan_time_limit: Annotated[float, typer.Option("--replan-time-limit", min=0.05, max=600,
                                                     help="Seconds per later version.")] = 3.0,
    seed: Annotated[int, typer.Option(min=0, help="Search seed and the simulator's berthing delays.")] = 0,
    clairvoyant_time_limit: Annotated[float | None, typer.Option(
        "--clairvoyant-time-limit", min=0.1, max=3600,
        help="Seconds for the clairvoyant's one solve (default: --first-time-limit).")] = None,
    no_baselines: Annotated[bool, typer.Option("--no-baselines", help="Skip re-run FCFS and the "
                                               "clairvoyant.")] = False,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write every step and the KPIs as JSON.")] = None,
    gantt: Annotated[Path | None, typer.Option(
        "--gantt", help="Write the live chart (.html or .svg).")] = None,
    gantt_at_event: Annotated[int | None, typer.Option("--gantt-at-event", min=0,
                                                       help="Chart the version after this event line "
                                                            "(1-based; default: the last).")] = None,
) -> None:
    """Replay an event stream against a live plan: one version per event line (the simulator's
    actuals go with each clock event: the vessels follow the plan in force, ~20 % berth 10-60 min
    late), then the clock runs on until every call has departed; realized KPIs beside re-run FCFS
    and a clairvoyant plan. Exit 0, 1 when a version fails the checker, 2 for bad input or an event
    the live plan refuses."""
    from optimizer.live.replay_report import replay_command
    from optimizer.live.replaying import EventFileError, ReplayRefused, read_event_file

    problem = _load(problem_file)
    try:
        lines = read_event_file(events_file, _input_limit["max_bytes"])
    except EventFileError as exc:
        raise _fail_input(str(events_file), exc.issues) from None
    try:
        code = replay_command(problem, lines, out, err, first_time_limit=first_time_limit,
                              replan_time_limit=replan_time_limit, seed=seed, baselines=not no_baselines,
                              clairvoyant_time_limit=clairvoyant_time_limit,
                              json_out=json_out, gantt=gantt, gantt_at_event=gantt_at_event)
    except ReplayRefused as exc:
        err.print(f"[bold red]{escape(str(events_file))}: the live plan refused line {exc.line} "
                  f"({escape(exc.event_id)}):[/]", soft_wrap=True)
        for r in exc.reasons:
            err.print(f"  {escape(r)}", soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    raise typer.Exit(code)


bench_app.command("planted")(planted_command)
app.add_typer(bench_app, name="bench", help="Benchmarks: standard BAP instances and Caspian scale.")
app.add_typer(study_app, name="study", help="Capacity studies: traffic growth and options, lived months, "
              "the queueing textbook.")


def _register_worker() -> None:
    """`portsync worker`: a worker of the service's fleet; it lives with the service (api.jobs.worker),
    which imports its engine (Celery) only when the command runs."""
    from api.jobs.worker import worker_command

    app.command("worker", help="Start a worker of the fleet: solve the API's jobs taken from the broker "
                "(PORTSYNC_BROKER_URL, PORTSYNC_DATABASE_URL; README, 'A worker fleet').")(worker_command)


_register_worker()

if __name__ == "__main__":  # pragma: no cover
    app()
