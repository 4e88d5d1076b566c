"""`portsync bench planted`: problems with a complete plan known to exist (optimizer.generator.planted),
solved per size and seed; every call should be served and the objective be no worse than the planted
plan's. The checker judges every plan."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from optimizer.checker import check
from optimizer.generator.planted import PlantedSpec, planted
from optimizer.kpis import objective
from optimizer.params import SolveOptions
from optimizer.plan import UnservedKind
from optimizer.solver import Progress, solve


def run_planted(spec: PlantedSpec, time_limit_s: float, workers: int | None = None) -> dict[str, Any]:
    """Solve one planted problem; its figures against the planted plan."""
    made = planted(spec)
    problem = made.problem
    options = SolveOptions(time_limit_s=time_limit_s, seed=spec.seed)
    if workers is not None:
        options.workers = workers
    complete: list[float] = []

    def progress(p: Progress) -> None:
        if p.unserved == 0 and not complete:
            complete.append(p.seconds)

    t0 = time.monotonic()
    result = solve(problem, options, on_progress=progress)
    wall = time.monotonic() - t0
    report = check(problem, result.assignments)
    breaches = [v for v in report.violations if v.kind != "missing_call"]
    value = objective(problem, result.assignments, options.weights) if result.assignments else None
    history = result.history
    return {
        "calls": spec.calls, "seed": spec.seed, "limited": made.limited, "links": len(problem.links),
        "frozen": made.frozen,
        "served": len(result.assignments), "unserved": len(result.unserved),
        "proven": sum(1 for u in result.unserved if u.kind == UnservedKind.PROVEN),
        "not_found": sum(1 for u in result.unserved if u.kind == UnservedKind.NOT_FOUND),
        "objective": value, "planted_objective": made.objective,
        "to_planted": value / made.objective if value is not None and made.objective else None,
        "first_s": history[0].seconds if history else None,
        "complete_s": complete[0] if complete else None,
        "best_s": history[-1].seconds if history else None,
        "gap": history[-1].gap if history else None,
        "violations": len(breaches), "seconds": wall, "status": result.status.value,
    }


def _f(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def planted_table(rows: list[dict[str, Any]], time_limit: float) -> Table:
    """Per size, over its seeds: how many were served completely, the unserved calls by kind, the
    objective against the planted plan (mean / min / max), the times to the first, the first
    complete and the best plan (mean), the gap (mean) and the checker."""
    table = Table(title=f"Planted problems (a complete plan exists), {time_limit:g} s each")
    for col in ("calls", "seeds", "all served", "unserved (proven / not found)", "objective / planted mean",
                "min", "max", "first plan s", "complete s", "best s", "gap", "checker"):
        table.add_column(col, justify="left" if col == "checker" else "right")
    for n in sorted({r["calls"] for r in rows}):
        rs = [r for r in rows if r["calls"] == n]
        ratios = [r["to_planted"] for r in rs if r["to_planted"] is not None and not r["unserved"]]
        complete = [r["complete_s"] for r in rs if r["complete_s"] is not None]
        gaps = [r["gap"] for r in rs if r["gap"] is not None]
        bad = sum(r["violations"] for r in rs)
        table.add_row(
            str(n), str(len(rs)), f"{sum(1 for r in rs if not r['unserved'])}/{len(rs)}",
            f"{sum(r['unserved'] for r in rs)} "
            f"({sum(r['proven'] for r in rs)} / {sum(r['not_found'] for r in rs)})",
            _f(statistics.mean(ratios), 3) if ratios else "-", _f(min(ratios), 3) if ratios else "-",
            _f(max(ratios), 3) if ratios else "-",
            _f(statistics.mean(r["first_s"] for r in rs if r["first_s"] is not None)),
            _f(statistics.mean(complete)) if complete else "-",
            _f(statistics.mean(r["best_s"] for r in rs if r["best_s"] is not None)),
            f"{statistics.mean(gaps):.1%}" if gaps else "-",
            "[green]ok[/green]" if not bad else f"[red]{bad} violations[/red]")
    return table


def planted_command(
    calls: str = typer.Option("40,100,200,400", "--calls", help="Comma-separated numbers of calls."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds 0..N-1 per size."),
    first_seed: int = typer.Option(0, "--first-seed", min=0, help="The first seed."),
    time_limit: float = typer.Option(20.0, "--time-limit", min=0.1, help="Seconds per problem."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="CP-SAT workers."),
    tight_share: float = typer.Option(0.6, "--tight-share", min=0.0, max=1.0,
                                      help="Share of calls with a hard latest departure."),
    replan: bool = typer.Option(False, "--replan", help="Freeze the planted plan's first calls and keep "
                                "the rest as a previous plan."),
    dense: bool = typer.Option(False, "--dense", help="Plant a packed plan in a shuffled order (tight: "
                               "little room beside it)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per problem per line."),
) -> None:
    """Planted problems: every call should be served, at no more than the planted plan's objective."""
    from optimizer.bench import _int_list

    sizes = _int_list(calls, "--calls")
    err = Console(stderr=True)
    rows = []
    for n in sizes:
        for seed in range(first_seed, first_seed + seeds):
            row = run_planted(PlantedSpec(calls=n, seed=seed, tight_share=tight_share, replan=replan,
                                          dense=dense),
                              time_limit, workers)
            rows.append(row)
            if as_json:
                typer.echo(json.dumps(row))
            else:
                err.print(f"{n} calls, seed {seed}: {row['unserved']} unserved, objective/planted "
                          f"{_f(row['to_planted'], 3)}, complete at {_f(row['complete_s'])} s")
    if not as_json:
        Console().print(planted_table(rows, time_limit))
    if any(r["unserved"] or r["violations"] for r in rows):
        raise typer.Exit(1)
