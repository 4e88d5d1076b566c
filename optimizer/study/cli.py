"""`portsync study`: capacity studies (`capacity`), one lived month of them (`month`: its traffic
model, option, growth and seed lived through re-run FCFS and a portsync live plan, the realized KPIs
per port and planner), and the queueing textbook they are checked against (`textbook`).

Progress goes to stderr, tables to stdout.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from optimizer.study.month import MonthCheckFailed, MonthLimits, live_month
from optimizer.study.options import OptionError, parse_option
from optimizer.study.queueing import erlang_c_scaled_wait_ratio
from optimizer.study.records import MonthKey, MonthResult
from optimizer.study.textbook import (
    ABS_TOLERANCE,
    LITTLE_TOLERANCE,
    REL_TOLERANCE,
    REL_TOLERANCE_HIGH,
    WARMUP_SHARE,
    TextbookPoint,
    check_textbook_point,
    default_calls,
    service_minutes,
    textbook_point,
)
from optimizer.study.traffic import PORT_NAMES, TrafficConfigError, TrafficModel, load_model

study_app = typer.Typer(help="Capacity studies: when the ports choke, with FCFS and with portsync; "
                        "the queueing textbook they are checked against.", no_args_is_help=True,
                        pretty_exceptions_enable=False)
out = Console()
err = Console(stderr=True)
EXIT_BAD_INPUT, EXIT_CHECK_FAILED = 2, 1


def _list(text: str, option: str, kind: type[int] | type[float]) -> list[Any]:
    try:
        values = [kind(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        what = "whole numbers" if kind is int else "numbers"
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of {what}",
                                 param_hint=option) from None
    if not values:
        raise typer.BadParameter(f"{text!r}: give one or more values", param_hint=option)
    if len(set(values)) != len(values):
        raise typer.BadParameter(f"{text!r}: a value is given twice", param_hint=option)
    return values


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def textbook_table(points: list[TextbookPoint]) -> Table:
    """Simulated Wq/S beside the theory, one row per point (calls, S and time in the caption)."""
    t = Table(title="Textbook M/E2/n: portsync's FCFS plans against queueing theory, Wq/S",
              caption="n berths, rho offered occupancy (meas.: from the plans); sim: mean over seeds, "
                      "95 % t-interval; exact: the M/E2/n Markov chain; closed form: P-K (n = 1) or "
                      "Erlang C x (1 + Cs^2) / 2; err: sim vs exact; approx: closed form vs exact; "
                      "Little: largest |L_q - lambda W_q| / L_q over seeds")
    for name in ("n", "rho", "meas.", "sim [95 % CI]", "exact", "closed form", "err", "approx",
                 "Little", "ok"):
        t.add_column(name, justify="center" if name == "ok" else "right")
    for p in points:
        ci = f" [{_fmt(p.ci_low)}, {_fmt(p.ci_high)}]" if p.ci_low is not None else ""
        t.add_row(str(p.berths), f"{p.occupancy:g}", f"{p.occupancy_measured:.3f}", f"{p.simulated:.3f}{ci}",
                  f"{p.exact:.4f}", f"{p.literature:.4f}", f"{p.rel_error:+.1%}",
                  f"{(p.literature - p.exact) / p.exact:+.1%}", f"{p.littles_law_gap:.2%}",
                  "[green]yes[/]" if p.within else "[red]no[/]")
    return t


def runs_line(points: list[TextbookPoint]) -> str:
    """How long the runs were and took: calls per seed, mean handling, wall time."""
    calls = sorted({p.calls for p in points})
    s_min = min(p.service_minutes for p in points)
    s_max = max(p.service_minutes for p in points)
    seconds = sum(p.seconds for p in points)
    return (f"{len(points)} points x {len(points[0].seeds)} seeds, {'/'.join(map(str, calls))} calls "
            "per seed, "
            f"mean handling {s_min:.1f}-{s_max:.1f} min (compressed time), {seconds:.0f} s "
            f"(build + validate, FCFS, checker, measure).")


CSV_POINT_FIELDS = ["berths", "service_minutes", "simulated", "ci_low", "ci_high",
                    "exact", "literature_name", "literature", "rel_error", "within", "tolerance"]


def write_csv(path: Path, points: list[TextbookPoint]) -> None:
    """One row per point, seed and planner: the run's KPIs (PortKpis) and its point's figures beside
    theory (the point's figures are FCFS's: the textbook's)."""
    rows = []
    for p in points:
        head = {"occupancy_offered": p.occupancy, "calls_per_seed": p.calls,
                **{f: getattr(p, f) for f in CSV_POINT_FIELDS}}
        rows += [{**head, "seed": m.key.seed, "warmup_h": m.warmup_h, "hours": m.hours,
                  "plans_checked": m.plans_checked,
                  **{f"{key}_measured" if key == "occupancy" else key: value
                     for key, value in k.model_dump(mode="json").items()}}
                 for m in p.months for k in m.ports]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@study_app.command("textbook")
def textbook_command(
    berths: Annotated[str, typer.Option("--berths", help="Identical berths, comma-separated.")] = "1,2,3,4",
    occupancy: Annotated[str, typer.Option("--occupancy", help="Berth occupancies rho (0-1, "
                                           "exclusive), comma-separated.")] = "0.3,0.5,0.7,0.8",
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds, comma-separated; one run each.")] = "0,1,2",
    calls: Annotated[int | None, typer.Option("--calls", min=100, help="Calls per seed (default: enough "
                                              "for the stated tolerance, 20,000 up to rho 0.8).")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write one row per point and seed.")] = None,
    portsync_s: Annotated[float | None, typer.Option(
        "--portsync-time-limit", min=0.1, max=3600,
        help="Also plan each run with portsync (one worker, this many seconds) and show its Wq/S beside: "
        "a clairvoyant static plan of the whole run, a comparison, not the textbook's FCFS.")] = None,
) -> None:
    """The queueing textbook (one port, n identical berths, Poisson arrivals, Erlang-2 handling, first
    come first served) built as a portsync problem, planned by portsync's FCFS, every plan checked,
    its Wq/S measured after a warm-up beside the exact M/E2/n value, Pollaczek-Khinchine (one
    berth) or Erlang C scaled (several). Exit 0 when every point is within tolerance, 1 otherwise."""
    berth_list = _list(berths, "--berths", int)
    rho_list = _list(occupancy, "--occupancy", float)
    seed_list = _list(seeds, "--seeds", int)
    if any(s < 0 for s in seed_list):
        raise typer.BadParameter(f"{seeds!r}: seeds are whole numbers >= 0", param_hint="--seeds")
    points_asked = [(n, rho) for n in berth_list for rho in rho_list]
    for n, rho in points_asked:
        try:
            check_textbook_point(n, rho)
        except ValueError as exc:
            hint = "--berths" if "berths" in str(exc) else "--occupancy"
            raise typer.BadParameter(str(exc), param_hint=hint) from None
        if calls is not None:
            try:
                service_minutes(n, rho, calls)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--calls") from None
    err.print(f"Warm-up: the first {WARMUP_SHARE:.0%} of each run's arrivals not counted. Tolerance: "
              f"{REL_TOLERANCE:.0%} (rho <= 0.8) or {REL_TOLERANCE_HIGH:.0%} (above) of the exact Wq/S, "
              f"or {ABS_TOLERANCE:g} absolute; Little's law within {LITTLE_TOLERANCE:.0%} on every run.")
    points: list[TextbookPoint] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("textbook", total=len(points_asked))
        for n, rho in points_asked:
            bar.update(task, description=f"M/E2/{n} rho {rho:g}, "
                       f"{calls or default_calls(n, rho)} calls x {len(seed_list)} seeds")
            points.append(textbook_point(n, rho, seed_list, calls, portsync_s))
            bar.advance(task)
    out.print(textbook_table(points))
    out.print(runs_line(points))
    if portsync_s is not None:
        out.print("portsync (not the textbook): Wq/S of portsync's own plans of the same runs, "
                  f"{portsync_s:g} s each, one worker; it plans each run whole, knowing every arrival: "
                  + ", ".join(f"M/E2/{p.berths} rho {p.occupancy:g}: {_fmt(p.portsync)} against FCFS "
                              f"{p.simulated:.3f}" for p in points))
    multi = [p for p in points if p.berths > 1]
    if multi:
        worst = max(multi, key=lambda p: abs(erlang_c_scaled_wait_ratio(p.berths, p.occupancy) - p.exact)
                    / p.exact)
        gap = (worst.literature - worst.exact) / worst.exact
        out.print(f"Erlang C scaled against the exact chain: at most {gap:+.1%} (M/E2/{worst.berths} at "
                  f"rho {worst.occupancy:g}).")
    if csv_path is not None:
        write_csv(csv_path, points)
        out.print(f"Wrote {csv_path}")
    failed = [p for p in points if not p.within]
    if failed:
        err.print(f"[red]{len(failed)} of {len(points)} points outside tolerance:[/] "
                  + "; ".join(f"M/E2/{p.berths} rho {p.occupancy:g} (Wq/S {p.rel_error:+.1%} against "
                              f"{p.tolerance}, Little's law gap {p.littles_law_gap:.1%} against "
                              f"{LITTLE_TOLERANCE:.0%})" for p in failed))
        raise typer.Exit(1)


def month_table(r: MonthResult) -> Table:
    k = r.key
    t = Table(title=f"{k.option}, growth {k.growth:g}, seed {k.seed}: {r.hours / 24:g} days counted after "
              f"{r.warmup_h / 24:g} days of warm-up, {r.calls} calls, {r.plans_checked} plan versions "
              "checked",
              title_justify="left")
    for col in ("port", "planner", "berths", "calls", "unserv.", "occupancy", "wait h", "wait p95 h",
                "at anchor h", "service h", "Wq/S", "dwell h", "late h", "L_q", "lambda/h", "Little gap"):
        t.add_column(col, justify="left" if col in ("port", "planner") else "right")
    order = list(PORT_NAMES)
    for p in sorted(r.ports, key=lambda p: (order.index(p.port_id) if p.port_id in order else 9,
                                            p.planner.value)):
        t.add_row(PORT_NAMES.get(p.port_id, p.port_id), p.planner.value, str(p.berths), str(p.calls),
                  str(p.unservable), f"{p.occupancy:.0%}", f"{p.wait_mean_h:.2f}", f"{p.wait_p95_h:.1f}",
                  f"{p.anchorage_wait_mean_h:.2f}", f"{p.service_mean_h:.1f}", f"{p.wq_over_s:.3f}",
                  f"{p.dwell_mean_h:.1f}", f"{p.lateness_mean_h:.2f}", f"{p.queue_mean:.2f}",
                  f"{p.arrivals_per_h:.3f}", f"{p.littles_law_gap:.3f}")
    return t


def _bad(msg: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(msg)}", soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


@study_app.command("month")
def month_command(
    growth: Annotated[float, typer.Option(min=0.01, max=20, help="Traffic as a multiple of today's.")] = 1.0,
    seed: Annotated[int, typer.Option(min=0, help="The month's seed: traffic, weather, noise, actuals.")] = 0,
    option: Annotated[str, typer.Option("--option", help="A decision: base, add-berth:KZAAU-CT, "
                                        "add-berth:KZKUR:rail_ferry, remove-berth:AZBAK-B07, "
                                        "productivity:AZBAK-B03:1.25, storms:1.5, ferries:+2.")] = "base",
    config: Annotated[Path | None, typer.Option("--config", help="TOML or JSON overriding figures of the "
                                                "traffic model (field = value).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the MonthResult as JSON here.")
                        ] = None,
    first_budget: Annotated[float, typer.Option("--first-budget", min=0.1, max=600,
                                                help="Version 1's work budget, seconds.")
                            ] = MonthLimits().first_budget_s,
    replan_budget: Annotated[float, typer.Option("--replan-budget", min=0.02, max=60,
                                                 help="Each later version's work budget, seconds.")
                             ] = MonthLimits().replan_budget_s,
    show_model: Annotated[bool, typer.Option("--show-model", help="Print every figure of the traffic model "
                                             "with its source.")] = False,
) -> None:
    """Live one month (warm-up, counted days, tail) through re-run FCFS and a portsync live plan on
    the same events; print the realized KPIs per port and planner. Exit 1 when a plan version
    fails the checker, 2 for bad input."""
    try:
        opt = parse_option(option)
        model = load_model(config) if config is not None else TrafficModel()
        limits = MonthLimits(first_budget_s=first_budget, replan_budget_s=replan_budget)
    except (OptionError, TrafficConfigError) as exc:
        raise _bad(str(exc)) from None
    if show_model:
        t = Table(title="traffic model (growth 1.0)", title_justify="left")
        for col in ("figure", "value", "source"):
            t.add_column(col)
        for name, value, source in model.figures():
            t.add_row(name, value, escape(source))
        out.print(t)
    key = MonthKey(option=opt.name, growth=growth, seed=seed)
    err.print(f"living {key.slug()}: {model.warmup_days:g} + {model.days} + {model.tail_days:g} days, "
              f"{opt.describe()} ...", markup=False, highlight=False)
    started = time.monotonic()
    try:
        result = live_month(model, key, limits)
    except OptionError as exc:
        raise _bad(str(exc)) from None
    except MonthCheckFailed as exc:
        err.print(f"[bold red]CHECK FAILED:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    wall = time.monotonic() - started
    wide = out if out.is_terminal else Console(file=out.file, width=190, no_color=out.no_color)
    wide.print(month_table(result))
    out.print(f"wall time {wall:.0f} s (both planners); wait = berthing - ready (the vessel could be there "
              "at service speed, its cargo ready); at anchor = berthing - actual arrival.", highlight=False)
    if json_out is not None:
        try:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise _bad(f"{json_out}: cannot write: {exc.strerror or exc}") from None
        err.print(f"month written to {json_out}", markup=False, highlight=False)


def _register_capacity() -> None:
    from optimizer.study.capacity_cli import capacity_command

    study_app.command("capacity")(capacity_command)


_register_capacity()
