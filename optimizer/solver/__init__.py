"""Solve a problem with CP-SAT: start plan, search, progress, stop, and a full Plan back.

The FCFS plan (or the previous plan, when the problem has one) is given to CP-SAT as a complete
hint, so the first solution is at least as good as how the ports plan today. Each improving
solution reaches `on_progress`; setting `stop` ends the search and keeps the best plan so far.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from optimizer.baseline import (
    Placement,
    breaks_limits,
    dispatch_steps,
    fcfs_steps,
    to_assignments,
)
from optimizer.compiled import CompiledProblem, compile_problem
from optimizer.domain import Problem
from optimizer.params import ObjectiveWeights, SolveOptions
from optimizer.plan import CallAssignment, Plan, SolverFacts, SolveStatus, UnservedCall
from optimizer.solver.bound import earliest_end, time_indexed_bound, voyage_order
from optimizer.solver.diagnose import diagnose_infeasible
from optimizer.solver.lns import Lns, plan_objective
from optimizer.solver.local_search import LocalSearch
from optimizer.solver.model import BerthModel

__all__ = ["ObjectiveWeights", "Progress", "SolveOptions", "solve"]

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
    cp_model.MODEL_INVALID: SolveStatus.MODEL_INVALID,
}


HINT_ACCEPTED = "solution hint is complete and is feasible"  # CP-SAT's log line for a usable start plan


@dataclass
class Progress:
    """An improving solution, as it is found."""

    objective: float
    best_bound: float
    gap: float | None
    seconds: float
    solutions: int
    assignments: list[CallAssignment]


def relative_gap(objective: float, bound: float) -> float:
    if objective == bound:
        return 0.0
    return abs(objective - bound) / max(abs(objective), 1e-9)


DISPATCH_CALLS = 1000  # above, the dispatch rules (quadratic) take longer than local search needs


def start_plan(cp: CompiledProblem, options: SolveOptions) -> tuple[dict[int, Placement], str]:
    """The complete plan CP-SAT starts from, and where it came from.

    "auto": the previous plan when the problem has one, else the best of FCFS and the two
    dispatch rules that respects the hard limits (FCFS when none does). Above DISPATCH_CALLS
    calls only FCFS is built: the rules would take seconds, and local search improves on FCFS
    by more than they do in that time.
    """
    use_previous = options.start_from == "previous" or (options.start_from == "auto" and cp.previous)
    if use_previous and cp.previous:
        return fcfs_steps(cp, prefer=cp.previous), "previous-plan"
    fcfs = fcfs_steps(cp)
    if options.start_from != "auto" or len(cp.calls) > DISPATCH_CALLS:
        return fcfs, "fcfs"
    candidates = [(fcfs, "fcfs"), (dispatch_steps(cp, "spt"), "dispatch-spt"),
                  (dispatch_steps(cp, "ect"), "dispatch-ect")]
    clean = [(plan_objective(cp, options.weights, p), k, p, name) for k, (p, name) in enumerate(candidates)
             if not breaks_limits(cp, p)]
    if not clean:
        return fcfs, "fcfs"
    _, _, best, name = min(clean)
    return best, name


def apply_parameters(solver: cp_model.CpSolver, options: SolveOptions) -> None:
    p = solver.parameters
    p.max_time_in_seconds = options.time_limit_s
    p.num_workers = options.workers
    p.random_seed = options.seed
    p.relative_gap_limit = options.relative_gap
    p.log_search_progress = True
    p.log_to_stdout = options.log_search
    for name, value in options.cp_sat.items():
        if not hasattr(p, name) or name.startswith("_") or callable(getattr(p, name)):
            raise ValueError(f"options.cp_sat.{name}: not a CP-SAT parameter")
        try:
            setattr(p, name, value)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"options.cp_sat.{name}: {exc}") from exc


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, model: BerthModel, t0: float, on_progress: Callable[[Progress], None] | None):
        super().__init__()
        self.model, self.t0, self.on_progress = model, t0, on_progress
        self.solutions = 0
        self.last_improvement_s = 0.0

    def on_solution_callback(self) -> None:
        self.solutions += 1
        self.last_improvement_s = time.monotonic() - self.t0
        if self.on_progress is None:
            return
        obj, bound = self.objective_value, self.best_objective_bound
        placed = self.model.read(self)
        self.on_progress(
            Progress(
                objective=obj,
                best_bound=bound,
                gap=relative_gap(obj, bound),
                seconds=self.last_improvement_s,
                solutions=self.solutions,
                assignments=to_assignments(self.model.cp, placed),
            )
        )


class _Runner:
    """Runs CP-SAT solves one after another; a stop request reaches whichever is running."""

    def __init__(self, stop: threading.Event | None):
        self.stop = stop

    def should_stop(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def run(self, solver: cp_model.CpSolver, m: cp_model.CpModel,
            callback: cp_model.CpSolverSolutionCallback | None = None) -> int:
        if self.should_stop():
            return int(cp_model.UNKNOWN)
        done = threading.Event()

        def watch() -> None:
            assert self.stop is not None
            while not done.is_set():
                if self.stop.wait(0.05):
                    solver.stop_search()
                    return

        watcher = threading.Thread(target=watch, daemon=True) if self.stop is not None else None
        if watcher is not None:
            watcher.start()
        try:
            return int(solver.solve(m, callback))
        finally:
            done.set()


def _relaxation_bound(
    cp: CompiledProblem, options: SolveOptions, model: BerthModel, incumbent: dict[int, Placement] | None
) -> tuple[float | None, dict[int, Placement] | None]:
    """The time-indexed bound (a MIP solved by SCIP), when the problem is small enough to build it,
    handed to CP-SAT as a cut on the objective so that CP-SAT stops, proven optimal, as soon as it
    meets it; and the MIP's plan when it beats the incumbent (CP-SAT checks it as its hint)."""
    if incumbent is None:
        return None, None
    best = plan_objective(cp, options.weights, incumbent)
    result = time_indexed_bound(cp, options.weights, model.lower, best, integer=True,
                                time_limit_s=min(30.0, 0.5 * options.time_limit_s))
    if result is None:
        return None, None
    grain = objective_grain(cp, options.weights)
    value = math.ceil(result.bound / grain - 1e-6) * grain
    model.m.add(model.objective >= value)
    better = None
    if result.starts is not None:
        plan = _placements(cp, result.starts)
        if plan is not None and plan_objective(cp, options.weights, plan) < best:
            better = plan
    return float(value), better


def _placements(cp: CompiledProblem, starts: dict[int, tuple[int, int]]) -> dict[int, Placement] | None:
    """Complete placements from berth and start per call; arrivals as late as the voyage allows."""
    placed: dict[int, Placement] = {}
    for i in voyage_order(cp):
        c = cp.calls[i]
        berth, start = starts[i]
        steps = c.option_steps(berth)
        if steps is None:
            return None
        if c.prev is None:
            assert c.eta is not None
            arrival = c.eta
        else:
            prev_end = placed[c.prev].end
            arrival = min(start, prev_end + c.sail_max)
        placed[i] = Placement(berth, arrival, start, start + steps)
    return placed


def objective_grain(cp: CompiledProblem, w: ObjectiveWeights) -> int:
    """Every objective value is a multiple of this (the gcd of the objective's coefficients)."""
    coefficients = [w.dwell * c.weight * cp.step for c in cp.calls]
    coefficients += [w.lateness * c.weight * cp.step for c in cp.calls if c.due is not None]
    if cp.previous:
        coefficients += [w.berth_change, w.start_change * cp.step]
    return math.gcd(*[x for x in coefficients if x]) or 1


def simple_bound(cp: CompiledProblem, w: ObjectiveWeights, lower: list[int]) -> float:
    """A bound no plan can beat, for when CP-SAT's own is weak (big models stopped in presolve):
    every call at least its shortest handling; a first call cannot start before its earliest
    possible start; lateness at least what that earliest start already forces."""
    total = 0
    for c in cp.calls:
        if c.frozen is not None:
            continue
        # earliest end on each berth, alone, around its maintenance and the port's closures
        end = min(earliest_end(cp, o.berth, c.port, lower[c.index], o.steps) for o in c.options)
        dwell = min(o.steps for o in c.options)
        if c.prev is None and c.eta is not None:
            dwell = max(dwell, end - c.eta)
        total += w.dwell * c.weight * cp.step * dwell
        if c.due is not None:
            total += w.lateness * c.weight * cp.step * max(0, end - c.due)
    return float(total)


FULL_MODEL_CALLS = 80  # up to this size the whole model gets the whole time; above, LNS takes over


def solve(
    problem: Problem,
    options: SolveOptions | None = None,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    log: Callable[[str], None] | None = None,
) -> Plan:
    """Plan all calls of `problem` together; the returned Plan carries KPIs and the FCFS comparison.

    Up to FULL_MODEL_CALLS calls CP-SAT solves the whole model for the whole time limit. Above,
    it solves the whole model for a quarter of the time (for its bound and first improvements)
    and large-neighbourhood search (optimizer.solver.lns) uses the rest.
    """
    from optimizer.checker import check
    from optimizer.explain import unplannable_reasons
    from optimizer.report import build_plan

    options = options or SolveOptions()
    t0 = time.monotonic()
    static = unplannable_reasons(problem)
    if static:
        facts = SolverFacts(status=SolveStatus.INFEASIBLE, seconds=time.monotonic() - t0, source="validation")
        return Plan(problem_name=problem.name, unserved=static, solver=facts)

    cp = compile_problem(problem)
    start, source = start_plan(cp, options)
    baseline = start if source == "fcfs" else fcfs_steps(cp)
    start_ok = check(problem, to_assignments(cp, start), options.weights).ok
    large = len(cp.calls) > FULL_MODEL_CALLS
    reporter = _Reporter(on_progress, t0)
    if large and start_ok:
        # Building and presolving a big model takes a while: the start plan is already a plan to show.
        reporter.offer(plan_objective(cp, options.weights, start), lambda: to_assignments(cp, start))
    model = BerthModel(cp, options.weights)
    if options.start_from != "none":
        model.hint(start)
    lp_bound, mip_plan = _relaxation_bound(cp, options, model, start if start_ok else None)
    if mip_plan is not None and check(problem, to_assignments(cp, mip_plan), options.weights).ok:
        start, source = mip_plan, "time-indexed-mip"
        model.hint(start)

    log_lines: list[str] = []

    def on_log(line: str) -> None:
        log_lines.append(line)
        if log is not None:
            log(line)

    runner = _Runner(stop)
    solver = cp_model.CpSolver()
    apply_parameters(solver, options)
    # the time limit counts from the call: start plans and the MIP bound have used some of it
    left = max(0.5, options.time_limit_s - (time.monotonic() - t0))
    solver.parameters.max_time_in_seconds = left
    if large:
        solver.parameters.max_time_in_seconds = min(left, max(1.0, FULL_MODEL_SHARE * options.time_limit_s))
        solver.parameters.num_workers = max(1, options.workers - 1)
    solver.log_callback = on_log
    callback = _Callback(model, t0, reporter.forward if large else on_progress)
    ls: LocalSearch | None = None
    if large and start_ok:
        # Local search (Python, one core) runs while CP-SAT works on the whole model (its bound,
        # and a plan should it find a better one) on the other cores.
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(runner.run(solver, model.m, callback)),
                                  daemon=True)
        thread.start()
        ls = LocalSearch(cp, options.weights, start, seed=options.seed)
        _run_local_search(ls, cp, t0 + options.time_limit_s,
                          lambda: runner.should_stop() or not thread.is_alive(), reporter, None)
        thread.join()
        code = result[0] if result else int(cp_model.UNKNOWN)
    else:
        code = runner.run(solver, model.m, callback)
    status = _STATUS.get(code, SolveStatus.UNKNOWN)  # type: ignore[call-overload]
    hint_used = any(HINT_ACCEPTED in ln for ln in log_lines)
    facts = SolverFacts(status=status, solutions=callback.solutions, hint_used=hint_used, source="cp-sat")
    unserved: list[UnservedCall] = []
    placed: dict[int, Placement] | None = None
    try:
        cp_bound = solver.best_objective_bound
    except RuntimeError:  # stopped before CP-SAT ran
        cp_bound = 0.0
    bound = (max(cp_bound, lp_bound or 0.0, simple_bound(cp, options.weights, model.lower))
             if status != SolveStatus.INFEASIBLE else None)
    if status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        placed = model.read(solver)
    elif status == SolveStatus.INFEASIBLE:
        unserved = diagnose_infeasible(cp, options)
    elif start_ok:
        # No solution within the limit: the start plan is still a plan, and a clean one.
        placed, facts.source = start, source
    if ls is not None and placed is not None and ls.best_value < plan_objective(cp, options.weights, placed):
        placed, facts.source = ls.best_plan(), "local-search"

    if large and placed is not None and status != SolveStatus.OPTIMAL:
        placed = _improve_by_lns(model, cp, options, placed, bound, t0, runner, reporter, facts, ls)
    facts.solutions = max(facts.solutions, reporter.count)

    facts.seconds = time.monotonic() - t0
    facts.stopped = runner.should_stop()  # a stop request ended the search, whichever phase it hit
    if placed is not None:
        facts.objective = float(plan_objective(cp, options.weights, placed))
        if bound is not None:
            facts.best_bound = min(bound, facts.objective)
            facts.gap = relative_gap(facts.objective, facts.best_bound)
            if facts.gap == 0.0:
                facts.status = SolveStatus.OPTIMAL
        if facts.status == SolveStatus.UNKNOWN:
            facts.status = SolveStatus.FEASIBLE
    assignments = to_assignments(cp, placed) if placed is not None else []
    return build_plan(problem, assignments, weights=options.weights, solver=facts,
                      baseline=to_assignments(cp, baseline), unserved=unserved)


FULL_MODEL_SHARE = 0.25  # of the time limit, for the whole model (next to local search) on large problems
LS_PATIENCE = 20_000  # local-search moves without a new best before a CP-SAT neighbourhood round
REPORT_EVERY_S = 0.5  # local search finds many small improvements: report them at most this often


class _Reporter:
    """Progress for large problems, where local search and CP-SAT both find plans: only a plan
    better than every one reported so far goes out (thread-safe; CP-SAT reports from its thread)."""

    def __init__(self, on_progress: Callable[[Progress], None] | None, t0: float):
        self.on_progress, self.t0 = on_progress, t0
        self.best: float | None = None
        self.bound = 0.0
        self.count = 0
        self.lock = threading.Lock()

    def offer(self, objective: float, assignments: Callable[[], list[CallAssignment]]) -> bool:
        with self.lock:
            if self.best is not None and objective >= self.best:
                return False
            self.best = objective
            self.count += 1
            if self.on_progress is not None:
                gap = relative_gap(objective, self.bound) if self.bound else None
                self.on_progress(Progress(objective=float(objective), best_bound=self.bound, gap=gap,
                                          seconds=time.monotonic() - self.t0, solutions=self.count,
                                          assignments=assignments()))
            return True

    def forward(self, p: Progress) -> None:
        with self.lock:
            if self.best is not None and p.objective >= self.best:
                return
            self.best = p.objective
            self.count += 1
            self.bound = max(self.bound, p.best_bound)
            if self.on_progress is not None:
                p.solutions = self.count
                self.on_progress(p)


def _run_local_search(ls: LocalSearch, cp: CompiledProblem, deadline: float, should_stop: Callable[[], bool],
                      reporter: _Reporter, patience: int | None) -> None:
    """Run `ls`, reporting its new bests at most every REPORT_EVERY_S and once at the end."""
    last = [time.monotonic(), False]  # time of the last report, unreported improvement pending

    def on_improve(value: int) -> None:
        now = time.monotonic()
        if now - float(last[0]) >= REPORT_EVERY_S:
            plan = ls.best_plan()
            reporter.offer(value, lambda: to_assignments(cp, plan))
            last[0], last[1] = now, False
        else:
            last[1] = True

    ls.run(deadline, should_stop, on_improve, patience)
    if last[1]:
        plan = ls.best_plan()
        reporter.offer(ls.best_value, lambda: to_assignments(cp, plan))


def _improve_by_lns(model: BerthModel, cp: CompiledProblem, options: SolveOptions,
                    placed: dict[int, Placement], bound: float | None, t0: float, runner: _Runner,
                    reporter: _Reporter, facts: SolverFacts, ls: LocalSearch | None) -> dict[int, Placement]:
    """Alternate local search (until it stalls) and CP-SAT neighbourhood rounds on the best plan."""
    lns = Lns(model, options.weights, options.seed, options.workers)
    best = plan_objective(cp, options.weights, placed)
    if bound is not None:
        reporter.bound = max(reporter.bound, bound)
    deadline = t0 + options.time_limit_s
    if ls is None:
        ls = LocalSearch(cp, options.weights, placed, seed=options.seed)
    elif ls.best_value != best:
        ls.load(placed)
    while not runner.should_stop():
        if time.monotonic() > deadline - 0.05:
            break
        _run_local_search(ls, cp, deadline, runner.should_stop, reporter, LS_PATIENCE)
        if ls.best_value < best:
            placed, best = ls.best_plan(), ls.best_value
            facts.source = "local-search"
        left = deadline - time.monotonic()
        if left < 0.05 or runner.should_stop():
            break
        found = lns.round(placed, best, min(left, 0.5), runner.run)
        if found is None:
            continue
        placed, best = found
        facts.source = "local-search+lns"
        reporter.offer(best, lambda found=found: to_assignments(cp, found[0]))  # type: ignore[misc]
        ls.load(placed)
    return placed
