"""`portsync study`: capacity studies. `portsync study month` lives one month of the study (its
traffic model, option, growth and seed) through re-run FCFS and a portsync live plan and prints the
realized KPIs per port and planner."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from optimizer.study.month import MonthCheckFailed, MonthLimits, live_month
from optimizer.study.options import OptionError, parse_option
from optimizer.study.records import MonthKey, MonthResult
from optimizer.study.traffic import PORT_NAMES, TrafficConfigError, TrafficModel, load_model

study_app = typer.Typer(help="Capacity studies: traffic growth, options, both planners, lived months.",
                        no_args_is_help=True, pretty_exceptions_enable=False)
out = Console()
err = Console(stderr=True)
EXIT_BAD_INPUT, EXIT_CHECK_FAILED = 2, 1


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
