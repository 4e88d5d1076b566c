"""Benchmarks: standard berth-allocation instances (``bench bap``) and generated Caspian scale runs
(``bench scale``).

Every plan is judged by the independent checker, and the figures are given in the instances' own
terms: for ``bap`` the files' objective, the weighted total service time sum_i w_i (c_i - a_i) in
file units; for ``scale`` the total dwell hours against first come, first served (FCFS).

Progress goes to stderr, tables and JSON lines to stdout, so ``--json`` output can be piped.
The exit code is 1 when any instance could not be read or solved, or any plan fails the checker.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import queue as queue_mod
import resource
import statistics
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from optimizer.baseline import fcfs
from optimizer.checker import check
from optimizer.compiled import compile_problem
from optimizer.domain import Problem
from optimizer.formats.bap import BapFormatError, BapInstance, bap_objective, read_bap
from optimizer.generator.ports import CALLS_PER_DAY_AT_SCALE_1
from optimizer.params import ObjectiveWeights, SolveOptions
from optimizer.plan import CallAssignment, Plan, UnservedKind
from optimizer.report import plan_from_result
from optimizer.result import relative_gap
from optimizer.solver import Progress, solve
from optimizer.solver.bound import contention_free_dwell
from optimizer.steps import earliest_starts
from optimizer.validation import InvalidProblem

bench_app = typer.Typer(
    help="Benchmarks: standard berth-allocation (DBAP) instances, and generated Caspian problems at scale. "
    "Every plan is judged by the independent checker.",
    no_args_is_help=True,
)

#: Best known objective values (file units) where a source could be read, with that source.
#: Keyed by (format, instance name, ships, berths) so a file of another set with the same name
#: does not pick the value up.
BEST_KNOWN: dict[tuple[str, str, int, int], tuple[float, str]] = {
    ("cordeau", "i01", 60, 13): (
        1409.0,
        "shared/benchmarks/bap/cordeau_I3_partial/sol-i01.txt: a course checker's schedule (FO 1409), "
        "re-checked feasible by our checker; an upper bound, not proven optimal",
    ),
}


def best_known(instance: BapInstance) -> tuple[float, str] | None:
    return BEST_KNOWN.get((instance.format, instance.name, instance.n_vessels, instance.n_berths))


def bound_in_file_units(best_bound: float, weights: ObjectiveWeights) -> float:
    """CP-SAT's bound in the files' units.

    The model's objective is weights.dwell * sum_c weight_c * dwell_c in minutes (lateness and
    change terms are zero: the benchmark problems have no requested departures and no previous
    plan), and one file unit is one hour, hence the division by 60 * weights.dwell. The files'
    objective is an integer, so the bound is rounded up (after a small tolerance for the solver's
    floating-point bound).
    """
    raw = best_bound / (weights.dwell * 60.0)
    return float(math.ceil(raw - 1e-6))


def instance_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders give their ``*.txt`` files except solutions (``sol-*.txt``), sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.glob("*.txt") if f.is_file() and not f.name.startswith("sol-")))
        else:
            out.append(p)
    return out


# -- bap ---------------------------------------------------------------------------------------


@dataclass
class SeedRun:
    """One solve of one instance with one seed; objective and bound in file units."""

    seed: int
    status: str
    objective: float | None
    bound: float | None
    seconds: float
    time_to_best: float | None
    solutions: int
    feasible: bool
    violations: int
    note: str = ""


@dataclass
class BapResult:
    """One instance's figures, in file units; `feasible` is the checker's verdict on the best plan."""

    instance: str
    path: str
    format: str
    vessels: int
    berths: int
    fcfs: float | None = None
    fcfs_feasible: bool | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    time_to_best: float | None = None
    feasible: bool = False
    seeds: int = 0
    best_known: float | None = None
    best_known_source: str | None = None
    improvement_vs_fcfs: float | None = None
    error: str | None = None
    runs: list[SeedRun] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BapProgress:
    """An improving solution during a solve, in file units."""

    seed: int
    objective: float
    bound: float
    seconds: float
    solutions: int


ProgressHook = Callable[[BapProgress], None]


def solve_bap_instance(
    instance: BapInstance,
    *,
    time_limit_s: float,
    workers: int | None = None,
    seeds: int = 1,
    on_progress: ProgressHook | None = None,
) -> BapResult:
    """FCFS, then K seeded solves; the best plan, the best bound over all seeds, checker verdicts."""
    result = BapResult(instance=instance.name, path=instance.source, format=instance.format,
                       vessels=instance.n_vessels, berths=instance.n_berths, seeds=seeds)
    known = best_known(instance)
    if known is not None:
        result.best_known, result.best_known_source = known
    problem = instance.to_problem()

    baseline = fcfs(problem)
    try:
        result.fcfs = bap_objective(instance, baseline)
    except ValueError:
        result.fcfs = None
    result.fcfs_feasible = check(problem, baseline).ok

    best_plan: Plan | None = None
    for seed in range(seeds):
        options = SolveOptions(time_limit_s=time_limit_s, seed=seed)
        if workers is not None:
            options.workers = workers
        plan, run = _solve_seed(instance, problem, options, on_progress)
        result.runs.append(run)
        result.seconds += run.seconds
        if run.bound is not None:
            result.bound = run.bound if result.bound is None else max(result.bound, run.bound)
        if run.objective is not None and (result.objective is None or run.objective < result.objective):
            result.objective = run.objective
            result.time_to_best = run.time_to_best
            best_plan = plan

    result.feasible = best_plan is not None and all(
        r.feasible for r in result.runs if r.objective is not None)
    result.gap = relative_gap(result.objective, result.bound)
    if result.fcfs and result.objective is not None:
        result.improvement_vs_fcfs = (result.fcfs - result.objective) / result.fcfs
    return result


def _solve_seed(instance: BapInstance, problem: Problem, options: SolveOptions,
                on_progress: ProgressHook | None) -> tuple[Plan, SeedRun]:
    """One seeded solve; time to best = the time of the last improving solution reported."""
    scale = options.weights.dwell * 60.0
    improvements: list[float] = []
    best_seen = math.inf

    def progress(p: Progress) -> None:
        nonlocal best_seen
        if p.objective < best_seen:
            best_seen = p.objective
            improvements.append(p.seconds)
        if on_progress is not None:
            bound = bound_in_file_units(p.best_bound or 0.0, options.weights)
            on_progress(BapProgress(options.seed, p.objective / scale, bound, p.seconds, p.solutions))

    t0 = time.monotonic()
    plan = plan_from_result(problem, solve(problem, options, on_progress=progress), options.weights)
    seconds = time.monotonic() - t0
    run = _seed_run(instance, problem, plan, options.weights, options.seed, seconds,
                    improvements[-1] if improvements else None)
    return plan, run


def _seed_run(instance: BapInstance, problem: Problem, plan: Plan, weights: ObjectiveWeights, seed: int,
              seconds: float, time_to_best: float | None) -> SeedRun:
    facts = plan.solver
    status = facts.status.value if facts is not None else "unknown"
    run = SeedRun(seed=seed, status=status, objective=None, bound=None, seconds=seconds,
                  time_to_best=time_to_best, solutions=facts.solutions if facts else 0, feasible=False,
                  violations=0)
    if plan.unserved or not plan.calls:
        run.note = f"{len(plan.unserved)} calls unserved"
        return run
    report = check(problem, plan)
    run.feasible = bool(report.ok)
    run.violations = len(report.violations)
    run.objective = bap_objective(instance, plan)
    if facts is not None and facts.best_bound is not None:
        scale = weights.dwell * 60.0
        # The bound is converted only when the solver's own objective is the file objective times
        # `scale`; anything else means the model's objective has other terms and the bound would lie.
        if facts.objective is not None and abs(facts.objective / scale - run.objective) > 1e-6 * max(
                1.0, run.objective):
            run.note = (f"solver objective {facts.objective:g} is not {scale:g} x the file objective "
                        f"{run.objective:g}; bound not converted")
        else:
            run.bound = bound_in_file_units(facts.best_bound, weights)
            if run.bound > run.objective:
                run.note = f"bound {run.bound:g} above the checked objective {run.objective:g}: a model bug"
    return run


def _stdout() -> Console:
    """Stdout for tables: wide enough for every column when piped (rich assumes 80 then)."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def bap_table(results: list[BapResult]) -> Table:
    table = Table(title="DBAP benchmarks (objective = sum w (completion - arrival), file units)")
    for col in ("instance", "ships x berths", "FCFS", "best known", "objective", "bound", "gap", "vs FCFS",
                "time to best s", "seconds", "checker"):
        table.add_column(col, justify="left" if col in ("instance", "checker") else "right")
    for r in results:
        if r.error:
            table.add_row(r.instance, f"{r.vessels} x {r.berths}", "-", "-", "-", "-", "-", "-", "-", "-",
                          f"[red]error: {r.error}[/red]")
            continue
        why = f"{sum(x.violations for x in r.runs)} violations" if r.objective is not None else "no plan"
        verdict = "[green]ok[/green]" if r.feasible else f"[red]{why}[/red]"
        table.add_row(r.instance, f"{r.vessels} x {r.berths}", _fmt(r.fcfs), _fmt(r.best_known),
                      _fmt(r.objective), _fmt(r.bound), _pct(r.gap), _pct(r.improvement_vs_fcfs),
                      _fmt(r.time_to_best, 1), _fmt(r.seconds, 1), verdict)
    summary = bap_summary(results)
    table.add_section()
    table.add_row(f"summary ({summary['instances']})", "", "", "", "", "", _pct(summary["mean_gap"]),
                  _pct(summary["mean_improvement_vs_fcfs"]), "", _fmt(summary["seconds"], 1),
                  "[green]all ok[/green]" if summary["all_feasible"] else "[red]not all ok[/red]")
    return table


def bap_summary(results: list[BapResult]) -> dict[str, Any]:
    gaps = [r.gap for r in results if r.gap is not None]
    gains = [r.improvement_vs_fcfs for r in results if r.improvement_vs_fcfs is not None]
    return {
        "instances": len(results),
        "mean_gap": statistics.fmean(gaps) if gaps else None,
        "mean_improvement_vs_fcfs": statistics.fmean(gains) if gains else None,
        "all_feasible": bool(results) and all(r.feasible and not r.error for r in results),
        "seconds": sum(r.seconds for r in results),
    }


@bench_app.command("bap")
def bap_command(
    paths: list[Path] = typer.Argument(..., exists=True, help="Instance files or folders (their *.txt files "
                                       "except sol-*.txt), Cordeau or Kramer/Lalla-Ruiz format."),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.1, help="Seconds per solve (per seed)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="CP-SAT workers (default: the "
                                       "solver's default)."),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Solve each instance with seeds 0..K-1; best kept."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per instance per line."),
) -> None:
    """Solve DBAP benchmark files: their own objective against FCFS, the bound, the checker's verdict.

    Objective: sum w (completion - arrival), file units. Cordeau or Kramer/Lalla-Ruiz, detected.
    """
    out = _stdout()
    err = Console(stderr=True)
    files = instance_paths(paths)
    if not files:
        err.print("[red]no instance files found[/red] (folders are searched for *.txt, except sol-*.txt)")
        raise typer.Exit(2)
    results: list[BapResult] = []
    with err.status("starting") as status:
        for n, path in enumerate(files, start=1):
            head = f"[{n}/{len(files)}] {path.name}"
            status.update(f"{head}: reading")
            try:
                instance = read_bap(path)
            except BapFormatError as exc:
                res = BapResult(instance=path.stem, path=str(path), format="?", vessels=0, berths=0,
                                error=str(exc))
            else:

                def show(p: BapProgress, head: str = head) -> None:
                    status.update(f"{head} seed {p.seed}: {p.seconds:.1f} s, {p.solutions} solutions, "
                                  f"best {_fmt(p.objective)}, bound {_fmt(p.bound)}")

                status.update(f"{head}: solving ({seeds} x {time_limit:g} s)")
                try:
                    res = solve_bap_instance(instance, time_limit_s=time_limit, workers=workers, seeds=seeds,
                                             on_progress=show)
                except (InvalidProblem, ValueError) as exc:
                    res = BapResult(instance=instance.name, path=str(path), format=instance.format,
                                    vessels=instance.n_vessels, berths=instance.n_berths, error=str(exc))
            results.append(res)
            if as_json:
                typer.echo(json.dumps(res.as_json()))
            else:
                err.print(f"{head}: objective {_fmt(res.objective)}, bound {_fmt(res.bound)}, "
                          f"FCFS {_fmt(res.fcfs)}, {'checker ok' if res.feasible else 'NOT checker-clean'}"
                          + (f", error: {res.error}" if res.error else ""))
    summary = bap_summary(results)
    if as_json:
        err.print("summary: " + json.dumps(summary))
    else:
        out.print(bap_table(results))
    if not summary["all_feasible"]:
        raise typer.Exit(1)


# -- scale -------------------------------------------------------------------------------------


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of whole numbers",
                                 param_hint=option) from None
    if not values or any(v < 1 for v in values):
        raise typer.BadParameter(f"{text!r}: give one or more positive whole numbers", param_hint=option)
    return values


def scale_seeds(seeds: str | None, seed: int | None) -> list[int]:
    """The seeds of `bench scale`: --seeds as a comma-separated list ("0,1,2", "5,") or a count N
    (seeds 0..N-1), or --seed alone for one seed; 0,1,2 without either."""
    if seed is not None:
        if seeds is not None:
            raise typer.BadParameter("give --seeds or --seed, not both", param_hint="--seed")
        return [seed]
    text = "0,1,2" if seeds is None else seeds
    if "," in text:
        values = _seed_list(text)
        if len(set(values)) != len(values):
            raise typer.BadParameter(f"{text!r}: a seed is given twice", param_hint="--seeds")
        return values
    try:
        count = int(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is neither a count nor a comma-separated list of seeds",
                                 param_hint="--seeds") from None
    if count < 1:
        raise typer.BadParameter(f"{text!r}: a count of seeds is at least 1 (one seed S: --seed S)",
                                 param_hint="--seeds")
    return list(range(count))


def _scale_child(calls: int, days: int, seed: int, time_limit_s: float, workers: int | None,
                 out: Any, instance: str | None = None) -> None:
    """One scale run, in its own process so its peak memory is its own (ru_maxrss of the child):
    a generated problem of `calls` over `days`, or the problem file `instance`."""
    try:
        from optimizer.generator import berth_copies, generate
        from optimizer.loading import load_problem_file

        t0 = time.monotonic()
        if instance is None:
            problem = generate(calls, days, seed)
            made = "generated"
        else:
            problem = load_problem_file(instance)
            made = "read"
        generate_s = time.monotonic() - t0
        out.put(("stage", f"{made} {len(problem.calls)} calls in {generate_s:.1f} s; FCFS"))
        baseline: list[CallAssignment] = fcfs(problem)
        fcfs_report = check(problem, baseline)
        first: list[float] = []

        def progress(p: Progress) -> None:
            if not first:
                first.append(p.seconds)
            out.put(("progress", {"seconds": p.seconds, "solutions": p.solutions, "gap": p.gap}))

        options = SolveOptions(time_limit_s=time_limit_s, seed=seed)
        if workers is not None:
            options.workers = workers
        out.put(("stage", "solving"))
        result = solve(problem, options, on_progress=progress)
        plan = plan_from_result(problem, result, options.weights)
        report = check(problem, plan) if plan.calls else None
        facts = plan.solver
        served = bool(plan.calls) and not plan.unserved
        feasible = bool(report is not None and report.ok and served)
        first_feasible = first[0] if first else (facts.seconds if facts is not None and feasible else None)
        dwell = report.kpis.total_dwell_hours if report is not None and served else None
        fcfs_dwell = fcfs_report.kpis.total_dwell_hours
        cp = compile_problem(problem)
        dwell_bound = contention_free_dwell(cp, earliest_starts(cp)[0]) * cp.step / 60.0
        berths = sum(len(p.berths) for p in problem.ports)
        copies = berth_copies(problem.ports)
        horizon_days = (problem.horizon_end - problem.horizon_start).total_seconds() / 86400.0
        out.put(("result", {
            "instance": instance,
            "calls": calls if instance is None else len(problem.calls),
            "days": days if instance is None else (int(horizon_days) if horizon_days.is_integer()
                                                   else round(horizon_days, 2)),
            "seed": seed,
            "problem_calls": len(problem.calls), "berths": berths,
            # Copies of the real berths the generator added to carry the traffic (0: the real ports).
            "real_berths": berths - copies, "berth_copies": copies,
            "berth_scale": berths // (berths - copies) if copies and berths - copies else 1,
            "generate_seconds": generate_s,
            "first_feasible_seconds": first_feasible,
            # the last improvement: after it the search only spent its time proving or trying
            "best_seconds": result.history[-1].seconds if result.history else None,
            "seconds": facts.seconds if facts is not None else None,
            "status": facts.status.value if facts is not None else "unknown",
            "source": facts.source if facts is not None else None,
            "solutions": facts.solutions if facts is not None else 0,
            "dwell_hours": dwell,
            "fcfs_dwell_hours": fcfs_dwell,
            "fcfs_feasible": fcfs_report.ok,
            "below_fcfs": (fcfs_dwell - dwell) / fcfs_dwell if dwell is not None and fcfs_dwell else None,
            # no plan can have less dwell, even with every voyage alone in the basin
            "dwell_bound_hours": dwell_bound,
            "bound_below_fcfs": (fcfs_dwell - dwell_bound) / fcfs_dwell if fcfs_dwell else None,
            "objective": facts.objective if facts is not None else None,
            "bound": facts.best_bound if facts is not None else None,
            "gap": facts.gap if facts is not None else None,
            "served": len(plan.calls),
            "unserved": len(plan.unserved),
            "proven": sum(1 for u in plan.unserved if u.kind == UnservedKind.PROVEN),
            "not_found": sum(1 for u in plan.unserved if u.kind == UnservedKind.NOT_FOUND),
            "violations": len(report.violations) if report is not None else None,
            "feasible": feasible,
            # Linux reports ru_maxrss in KiB.
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }))
    except BaseException as exc:  # reported to the parent, which shows it per size
        out.put(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"))


def run_scale_size(calls: int, days: int, seed: int, time_limit_s: float, workers: int | None = None,
                   on_message: Callable[[str, Any], None] | None = None) -> dict[str, Any]:
    """Run one generated size in a fresh (spawned) process and return its figures."""
    return _run_scale_child({"calls": calls, "days": days, "seed": seed, "instance": None},
                            time_limit_s, workers, on_message)


def run_scale_instance(path: Path, seed: int, time_limit_s: float, workers: int | None = None,
                       on_message: Callable[[str, Any], None] | None = None) -> dict[str, Any]:
    """Run one problem file in a fresh (spawned) process and return its figures."""
    return _run_scale_child({"calls": 0, "days": 0, "seed": seed, "instance": str(path)},
                            time_limit_s, workers, on_message)


def _run_scale_child(what: dict[str, Any], time_limit_s: float, workers: int | None,
                     on_message: Callable[[str, Any], None] | None) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_scale_child, args=(what["calls"], what["days"], what["seed"], time_limit_s,
                                                  workers, q, what["instance"]), daemon=True)
    t0 = time.monotonic()
    proc.start()
    result: dict[str, Any] | None = None
    try:
        while result is None:
            try:
                kind, payload = q.get(timeout=0.5)
            except queue_mod.Empty:
                if not proc.is_alive():
                    result = {**what, "feasible": False,
                              "error": f"the solving process ended with exit code {proc.exitcode}"}
                continue
            if kind == "result":
                result = payload
            elif kind == "error":
                result = {**what, "feasible": False, "error": payload}
            elif on_message is not None:
                on_message(kind, payload)
        proc.join(timeout=30)
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join()
    result["wall_seconds"] = time.monotonic() - t0
    # Cross-check from the parent's side: the largest waited-for child so far (KiB on Linux).
    result.setdefault("peak_mib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0)
    return result


def berths_text(row: Mapping[str, Any]) -> str:
    """The berths a row was solved on: "27" on the real ports, "27×3 = 81 (copies)" when the
    generator copied them to carry the traffic."""
    berths, real = row["berths"], row.get("real_berths", row["berths"])
    if berths == real:
        return str(berths)
    scale = row.get("berth_scale")
    if scale and real * scale == berths:
        return f"{real}×{scale} = {berths} (copies)"
    return f"{real} + {berths - real} copies = {berths}"


def scale_note(rows: list[dict[str, Any]]) -> str:
    """What the berths column means for these rows: a copied row is not the real ports."""
    done = [r for r in rows if not r.get("error")]
    copied = [r for r in done if r.get("berth_copies")]
    if not copied:
        return "berths: every row on the real berths, no copies." if done else ""
    real = sorted({r["real_berths"] for r in copied})
    return (f"berths (copies): above {CALLS_PER_DAY_AT_SCALE_1:g} calls a day the generator gives every port "
            f"copies of its {' / '.join(map(str, real))} real berths so that queues stay at a realistic "
            f"level; {len(copied)} of {len(done)} rows are Caspian-like problems at a larger scale, not the "
            "real ports (bench one on the real berths with --instance instances/caspian/month.json).")


def _spread(values: list[float], digits: int = 0) -> str:
    """The seeds' mean over their min–max (two lines, so the table stays narrow); the value alone
    for one seed, "-" for none."""
    if not values:
        return "-"
    if len(values) == 1:
        return _fmt(values[0], digits)
    low, high = _fmt(min(values), digits), _fmt(max(values), digits)
    return f"{_fmt(statistics.fmean(values), digits)}\n{low}–{high}"


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def scale_groups(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The runs of one size (or one problem file) over its seeds, in the order first run."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        key = ("file", r["instance"]) if r.get("instance") else ("size", r["calls"], r["days"])
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def scale_table(rows: list[dict[str, Any]], time_limit: float) -> Table:
    """One row per size (or problem file) over its seeds: served and unserved calls (proven / not
    found), dwell and objective mean (min–max), the times to the first and the best plan, the gap
    and the peak memory; dwell and objective count only the runs that served every call."""
    what = "problem files" if rows and all(r.get("instance") for r in rows) else "generated Caspian problems"
    table = Table(title=f"Scale: {what}, {time_limit:g} s per problem and seed", caption=scale_note(rows),
                  caption_justify="left")
    # headers on several lines so that the figures fit 200 characters without wrapping
    for col in ("problem", "calls", "days", "berths", "seeds", "served",
                "unserved\n(proven /\nnot found)",
                "dwell h\nmean\nmin–max", "FCFS\ndwell h", "below\nFCFS", "most\npossible",
                "objective\nmean\nmin–max", "first\nplan s", "best\nplan s", "gap", "peak\nMiB", "status",
                "checker"):
        left = col in ("problem", "berths", "status", "checker")
        table.add_column(col, justify="left" if left else "right")
    for group in scale_groups(rows):
        first = group[0]
        name = Path(first["instance"]).name if first.get("instance") else "generated"
        seeds = ",".join(str(r["seed"]) for r in group)
        done = [r for r in group if not r.get("error")]
        errors = [r for r in group if r.get("error")]
        if not done:
            table.add_row(name, str(first["calls"]), str(first["days"]), "-", seeds, *["-"] * 12,
                          f"[red]error: {first['error'].splitlines()[0]}[/red]")
            continue
        complete = [r for r in done if not r["unserved"] and r["dwell_hours"] is not None]
        if errors:
            checker = f"[red]{len(errors)} error(s): {errors[0]['error'].splitlines()[0]}[/red]"
        elif all(r["feasible"] for r in group):
            checker = "[green]ok[/green]"
        else:
            checker = (f"[red]{sum(r['violations'] or 0 for r in done)} violations, "
                       f"{sum(r['unserved'] for r in done)} unserved[/red]")
        table.add_row(
            name, str(done[0]["calls"]), str(done[0]["days"]), berths_text(done[0]), seeds,
            f"{sum(r['served'] for r in done):,}/{sum(r['problem_calls'] for r in done):,}",
            f"{sum(r['unserved'] for r in done):,} ({sum(r['proven'] for r in done):,} / "
            f"{sum(r['not_found'] for r in done):,})",
            _spread([r["dwell_hours"] for r in complete]),
            _fmt(_mean(r["fcfs_dwell_hours"] for r in done)),
            _pct(_mean(r["below_fcfs"] for r in complete)),
            _pct(_mean(r["bound_below_fcfs"] for r in done)),
            _spread([r["objective"] for r in complete]),
            _fmt(_mean(r["first_feasible_seconds"] for r in done), 1),
            _fmt(_mean(r["best_seconds"] for r in done), 1),
            _pct(_mean(r["gap"] for r in done)),
            _fmt(max(r["peak_mib"] for r in done), 0),
            "\n".join(f"{status} ×{n}" for status, n in Counter(r["status"] for r in done).most_common()),
            checker)
    return table


@bench_app.command("scale")
def scale_command(
    calls: str | None = typer.Option(None, "--calls", help="Comma-separated numbers of calls "
                                     "[default: 100,500,1000,2000]."),
    days: str | None = typer.Option(None, "--days", help="Comma-separated horizon lengths in days; every "
                                    "calls value is run with every days value [default: 30]."),
    instance: list[Path] | None = typer.Option(None, "--instance", exists=True, dir_okay=False,
                                               help="Bench this problem file instead of generated sizes "
                                               "(repeatable), e.g. instances/caspian/month.json."),
    seeds: str | None = typer.Option(None, "--seeds", help="Generator and solver seeds: a comma-separated "
                                     "list, or a count N for 0..N-1 [default: 0,1,2]."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="One seed only (the same as --seeds S,)."),
    time_limit: float = typer.Option(30.0, "--time-limit", min=0.1, help="Seconds per size and seed."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="CP-SAT workers."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per size and seed per line."),
) -> None:
    """Generated Caspian problems per size, or problem files, over several seeds: calls served and
    unserved (proven / not found), dwell and objective vs FCFS, times to the first and best plan,
    gap, peak memory, and the berths solved on (real, or copies the generator added).

    Each size and seed runs in its own process, so the peak memory is its own. The checker judges
    every plan; exit 1 when a plan breaks a rule, leaves a call unserved, or a run fails.
    """
    from optimizer.loading import load_problem_file
    from optimizer.validation import InvalidInput

    err = Console(stderr=True)
    files = list(instance or [])
    if files and (calls is not None or days is not None):
        raise typer.BadParameter("benches the given files as they are; leave out --calls and --days",
                                 param_hint="--instance")
    for path in files:  # refused here, with the field, rather than as an error row after a spawn
        try:
            load_problem_file(path)
        except InvalidInput as exc:
            err.print(f"[red]cannot read {path}: {exc.issues[0].path}: {exc.issues[0].msg}[/]")
            raise typer.Exit(2) from None
    seed_values = scale_seeds(seeds, seed)
    runs: list[tuple[str, Callable[..., dict[str, Any]]]] = [
        (f"{path}, seed {s}", partial(run_scale_instance, path, s, time_limit, workers))
        for path in files for s in seed_values]
    if not files:
        sizes = [(c, d) for c in _int_list(calls or "100,500,1000,2000", "--calls")
                 for d in _int_list(days or "30", "--days")]
        runs = [(f"{c} calls, {d} days, seed {s}", partial(run_scale_size, c, d, s, time_limit, workers))
                for c, d in sizes for s in seed_values]
    out = _stdout()
    rows: list[dict[str, Any]] = []
    with err.status("starting") as status:
        for n, (label, run) in enumerate(runs, start=1):
            head = f"[{n}/{len(runs)}] {label}"
            status.update(f"{head}: {'reading' if files else 'generating'}")

            def show(kind: str, payload: Any, head: str = head) -> None:
                if kind == "stage":
                    status.update(f"{head}: {payload}")
                elif kind == "progress":
                    status.update(f"{head}: {payload['seconds']:.1f} s, {payload['solutions']} solutions, "
                                  f"gap {_pct(payload['gap'])}")

            row = run(on_message=show)
            rows.append(row)
            if as_json:
                typer.echo(json.dumps(row))
            else:
                line = (f"error {row['error'].splitlines()[0]}" if row.get("error") else
                        f"{berths_text(row)} berths, {row['unserved']} unserved ({row['proven']} proven), "
                        f"dwell {_fmt(row['dwell_hours'])} h vs FCFS {_fmt(row['fcfs_dwell_hours'])} h, "
                        f"best plan at {_fmt(row['best_seconds'], 1)} s, peak {_fmt(row['peak_mib'])} MiB")
                err.print(f"{head}: {line}")
    if not as_json:
        out.print(scale_table(rows, time_limit))
    if not all(r.get("feasible") for r in rows):
        raise typer.Exit(1)


def _seed_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of whole numbers",
                                 param_hint="--seeds") from None
    if not values or any(v < 0 for v in values):
        raise typer.BadParameter(f"{text!r}: give one or more whole numbers >= 0", param_hint="--seeds")
    return values


@bench_app.command("live")
def live_command(
    problem_file: Path = typer.Option(Path("instances/caspian/week.json"), "--problem", help="Problem JSON."),
    events_file: Path = typer.Option(Path("instances/caspian/week-events.jsonl"), "--events",
                                     help="The event stream replayed for the timings."),
    first_time_limit: float = typer.Option(30.0, "--first-time-limit", min=0.1,
                                           help="Seconds for version 1 and each full re-solve."),
    replan_time_limit: float = typer.Option(3.0, "--replan-time-limit", min=0.05, help="Seconds per replan."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Comma-separated seeds: which voyages are delayed."),
    replay: bool = typer.Option(True, "--replay/--no-replay", help="Time the week's event stream."),
    scale: bool = typer.Option(False, "--scale", help="Also time a generated 400-call problem's stream."),
    scale_events: int = typer.Option(60, "--scale-events", min=1,
                                     help="Event lines of the 400-call stream to replay."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
) -> None:
    """The live plan's stability (3 voyages delayed 2, 4, 6 h: replan vs a full re-solve) and
    speed (event -> version p50 / p95). Exit 1 when a plan fails the checker."""
    from optimizer.live.bench_live import (
        TARGETS,
        replay_timing,
        stability,
        stability_table,
        targets_line,
        timings_table,
    )
    from optimizer.live.replan import ReplanSettings
    from optimizer.live.replaying import EventFileError, EventLine, read_event_file
    from optimizer.loading import load_problem_file
    from optimizer.validation import InvalidInput

    err = Console(stderr=True)
    out = _stdout()
    try:
        problem = load_problem_file(problem_file)
        lines = read_event_file(events_file) if replay else []
    except (InvalidInput, EventFileError) as exc:
        err.print(f"[red]cannot read the inputs: {exc.issues[0].path}: {exc.issues[0].msg}[/]")
        raise typer.Exit(2) from None
    settings = ReplanSettings(first_time_limit_s=first_time_limit, replan_time_limit_s=replan_time_limit)
    seed_values = _seed_list(seeds)
    err.print(f"{problem.name}: version 1 ({first_time_limit:g} s), then {len(seed_values)} seed(s) of 3 "
              "delayed voyages, each replanned and re-solved from scratch ...")
    try:
        _, rows = stability(problem, seed_values, settings)
    except ValueError as exc:  # too few voyages to delay
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    table = stability_table(problem.name, rows, replan_time_limit, first_time_limit)
    figures: dict[str, Any] = {
        "stability": [asdict(r) | {"dwell_vs_full_pct": r.dwell_vs_full_pct} for r in rows],
        "targets": TARGETS}
    timings: list[tuple[str, dict[str, float]]] = []
    if replay:
        err.print(f"replaying {events_file} ({len(lines)} lines, {replan_time_limit:g} s per replan) ...")
        timings.append((f"{problem.name} ({len(problem.calls)} calls)",
                        replay_timing(problem, lines, settings)))
    if scale:
        from optimizer.generator import generate
        from optimizer.generator.events import week_events

        big = generate(400, 14, 0)
        stream = [EventLine(i + 1, e) for i, e in enumerate(week_events(big, 0))][:scale_events]
        err.print(f"replaying {len(stream)} events of a generated 400-call problem ...")
        timings.append((f"{big.name} (400 calls, first {len(stream)} events)",
                        replay_timing(big, stream, settings)))
    figures["timings"] = {name: t for name, t in timings}
    if as_json:
        typer.echo(json.dumps(figures, default=str))
    else:
        out.print(table)
        out.print(targets_line(rows))
        if timings:
            out.print(timings_table(timings))
            out.print("targets: p95 <= 5 s (100 calls), <= 15 s (400 calls)")
    if not all(r.checks_ok for r in rows) or any(t["failed_checks"] for _, t in timings):
        raise typer.Exit(1)
