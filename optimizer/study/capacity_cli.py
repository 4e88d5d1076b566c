"""`portsync study capacity`: the study on this machine's cores, with a progress bar, continuing
from the months already stored in its directory."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from optimizer.study.capacity import (
    Interval,
    Knee,
    StudySpec,
    SummaryRow,
    knees,
    run_study,
    summarize,
    write_csvs,
)
from optimizer.study.records import MonthKey

EXIT_BAD_INPUT = 2
out = Console()
err = Console(stderr=True)


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{what}: numbers separated by commas, got {text!r}") from None
    if not values or any(v <= 0 or v > 10 for v in values):
        raise typer.BadParameter(f"{what}: each level above 0 and at most 10, got {text!r}")
    return sorted(dict.fromkeys(values))


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{what}: whole numbers separated by commas, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise typer.BadParameter(f"{what}: one or more seeds >= 0, got {text!r}")
    return list(dict.fromkeys(values))


def capacity_command(
    growth: Annotated[str, typer.Option(help="Traffic levels, multiples of today's.")] = "1.0,1.5,2.0,2.5",
    seeds: Annotated[
        str, typer.Option(help="Seeded months per level (two or more for intervals).")
    ] = "0,1,2",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            help="An option compared with the ports as they are (repeat): add-berth:<berth>, "
            "add-berth:<port>:<cargo>, remove-berth:<berth>, productivity:<berth>:<factor>, storms:<factor>, "
            "ferries:+<a day>.",
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Traffic model overrides (TOML or JSON).")] = None,
    days: Annotated[
        int | None,
        typer.Option(
            min=1, max=92, help="Days counted per month, after the warm-up (default: the traffic model's)."
        ),
    ] = None,
    first_budget: Annotated[
        float | None, typer.Option("--first-budget", min=0.1, max=600, help="Version 1's work budget, s.")
    ] = None,
    replan_budget: Annotated[
        float | None,
        typer.Option("--replan-budget", min=0.01, max=60, help="Each later version's budget, s."),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="The study's directory: months stored as they end, CSVs and plots.")
    ] = Path("out/study"),
    jobs: Annotated[int, typer.Option(min=0, help="Months lived at once (0: the cores).")] = 0,
) -> None:
    """A capacity study: every option x level x seed month lived with FCFS re-planning and with a
    portsync live plan on the same events; per port, planner and level the realized figures with
    95 % intervals over seeds, the knee (Wq/S 0.1 and 0.3, waiting doubled), points/summary/knees
    CSVs and plots. Months already in --out are reused: an interrupted study continues."""
    from optimizer.study.options import OptionError, parse_option
    from optimizer.study.queueing import me2n_wait_ratio
    from optimizer.study.runner import StudySettings, live
    from optimizer.study.traffic import TrafficConfigError, load_model

    levels, seed_list = _floats(growth, "--growth"), _ints(seeds, "--seeds")
    options = ["base", *(o for o in (option or []) if o != "base")]
    try:
        for o in options:
            parse_option(o)
        traffic = load_model(config).model_dump(mode="json") if config else {}
        if days is not None:
            traffic["days"] = days
        limits = {
            k: v
            for k, v in (("first_budget_s", first_budget), ("replan_budget_s", replan_budget))
            if v is not None
        }
        settings = StudySettings(traffic=traffic, limits=limits)
        settings.validated()
    except (OptionError, TrafficConfigError, ValueError) as exc:
        err.print(f"[bold red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    spec = StudySpec(
        options=options, growth=levels, seeds=seed_list, settings=settings.model_dump(mode="json")
    )
    total = len(spec.months())
    workers = jobs or max(1, os.cpu_count() or 1)
    out.print(
        f"Study: {len(options)} option(s) x {len(levels)} level(s) x {len(seed_list)} seed(s) = {total} "
        f"months, {workers} at a time, in {out_dir}"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("months lived", total=total)

        def seen(key: MonthKey, reused: bool) -> None:
            bar.update(task, advance=1, description=f"{'reused' if reused else 'lived'} {key.slug()}")

        run = run_study(
            spec, out_dir, functools.partial(live, settings=settings), jobs=workers, on_month=seen
        )
    files = list(write_csvs(run.months, out_dir))
    summary = summarize(run.months)
    found = knees(summary)
    from optimizer.study.plots import write_plots

    files += write_plots(summary, found, out_dir, theory=me2n_wait_ratio)
    out.print(summary_table(summary))
    out.print(knee_table(found))
    out.print(
        f"{run.lived} month(s) lived now, {run.reused} reused. Files: " + ", ".join(str(f) for f in files)
    )


def summary_table(summary: list[SummaryRow]) -> Table:
    t = Table(title="Realized per level, port and planner (mean ± 95 % over seeds; summary.csv has all)")
    for c in ("option", "x", "port", "planner", "occupancy", "wait h", "Wq/S", "dwell h"):
        t.add_column(c, justify="left" if c in ("option", "port", "planner") else "right")
    for r in summary:
        f = r.figures
        t.add_row(
            r.option,
            f"{r.growth:g}",
            r.port_id,
            r.planner.value,
            _pm(f["occupancy"], "{:.2f}"),
            _pm(f["wait_mean_h"]),
            _pm(f["wq_over_s"], "{:.2f}"),
            _pm(f["dwell_mean_h"]),
        )
    return t


def knee_table(found: list[Knee]) -> Table:
    t = Table(title="The knee: traffic (x today's) and occupancy at which each threshold is crossed")
    for c in ("option", "port", "planner", "Wq/S 0.1", "Wq/S 0.3", "waiting x2"):
        t.add_column(c)
    for k in found:
        cells = []
        for name in ("wq/s=0.1", "wq/s=0.3", "wait x2"):
            g, o = k.growth_at.get(name), k.occupancy_at.get(name)
            cells.append(
                "below the levels"
                if name in k.below_lowest
                else "not reached"
                if g is None
                else f"x{g:.2f} (occ. {o:.2f})"
                if o is not None
                else f"x{g:.2f}"
            )
        t.add_row(k.option, k.port_id, k.planner.value, *cells)
    return t


def _pm(i: Interval, fmt: str = "{:.1f}") -> str:
    mean, half = i.mean, i.half_width
    return fmt.format(mean) + ("" if half is None else " ± " + fmt.format(half))
