"""Solve a problem: start plan → serving → bounds → search → result, within one time budget.

Every phase reads one Deadline (time limit and stop request), so a solve ends within its time
limit plus a short grace at any size. The start plan always exists and breaks no hard rule: FCFS,
the dispatch rules, or a feasibility-first construction, whichever serves most; calls it cannot
serve are left unserved. CP-SAT rounds around each of those then look for a way to serve it
(optimizer.solver.serving) before the search improves the rest; the search only ever replaces a
plan by a better one. A plan serves as many calls as the search could find a way to, and among those is as
good as it could make the rest (see optimizer.solver.objective).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from optimizer.baseline import dispatch_steps, fcfs_steps
from optimizer.budget import Deadline, TimeUp
from optimizer.compiled import CompiledProblem, compile_problem, voyage_order
from optimizer.domain import Problem
from optimizer.kpis import objective as exact_objective
from optimizer.params import ObjectiveWeights, SearchParameters, SolveOptions
from optimizer.plan import CallAssignment, PlanSource, SolveStatus, UnservedCall
from optimizer.result import Improvement, Progress, Result, Yardsticks, relative_gap
from optimizer.solver.bound import contention_bound, time_indexed_bound
from optimizer.solver.construct import ConstructionParameters, construct
from optimizer.solver.lns import Lns
from optimizer.solver.local_search import LocalSearch
from optimizer.solver.model import BerthModel
from optimizer.solver.objective import exact_slack
from optimizer.solver.proof import ProofBudget, explain_unserved, searched_note
from optimizer.solver.repair import serve_in_exact_time
from optimizer.solver.serving import Serving
from optimizer.steps import (
    Placement,
    arrival,
    earliest_end,
    passing,
    plan_objective,
    service_arrival,
    to_assignments,
    unserved_calls,
    unserved_penalty,
)

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
    cp_model.MODEL_INVALID: SolveStatus.MODEL_INVALID,
}


Candidate = tuple[dict[int, Placement], PlanSource]  # a start plan and where it came from


@dataclass
class Search:
    """What the phases share: the incumbent plan, where it came from, the best bound."""

    cp: CompiledProblem
    options: SolveOptions
    deadline: Deadline
    on_progress: Callable[[Progress], None] | None
    log: Callable[[str], None] | None = None  # CP-SAT's search log, line by line
    params: SearchParameters = field(default_factory=SearchParameters)
    history: list[Improvement] = field(default_factory=list)
    placed: dict[int, Placement] = field(default_factory=dict)
    baselines: tuple[dict[int, Placement], dict[int, Placement]] | None = None  # FCFS, FCFS keeping limits
    value: int = 0  # model objective of `placed`, unserved penalty included
    source: PlanSource = PlanSource.FCFS
    model_bound: float | None = None  # on the model objective
    full_bound: float | None = None  # on the objective of plans that serve every call
    cp_sat_status: SolveStatus = SolveStatus.UNKNOWN
    moves_left: int | None = None  # local-search moves still allowed (one worker: deterministic)
    solutions: int = 0
    hint_used: bool | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    penalty: int = 0  # of each unserved call in the model objective (optimizer.solver.objective)

    def __post_init__(self) -> None:
        self.penalty = unserved_penalty(self.cp, self.options.weights)

    @property
    def weights(self) -> ObjectiveWeights:
        return self.options.weights

    def offer(self, placed: dict[int, Placement], source: PlanSource, value: int | None = None) -> bool:
        """Take `placed` when it beats the incumbent (thread-safe); report it."""
        value = plan_objective(self.cp, self.weights, placed) if value is None else value
        with self.lock:
            if self.placed and value >= self.value:
                return False
            self.placed, self.value, self.source = placed, value, source
            self.solutions += 1
            left = unserved_calls(placed)
            done = self.improvement(len(left))
            self.history.append(done)
            if self.on_progress is not None:  # the plan itself only for a listener: it costs O(calls)
                self.on_progress(Progress(**vars(done), assignments=to_assignments(self.cp, placed),
                                          unserved_ids=[self.cp.calls[i].id for i in left]))
            return True

    def bound_on_rest(self, unserved: int) -> float | None:
        """A bound on the rest of the objective among plans that serve as many calls."""
        if unserved == 0:
            candidates = [b for b in (self.model_bound, self.full_bound) if b is not None]
            return max(candidates) if candidates else None
        if self.model_bound is None:
            return None
        rest = self.model_bound - unserved * self.penalty
        return rest if rest > 0 else None

    def improvement(self, unserved: int) -> Improvement:
        """The incumbent's figures: its objective without the unserved penalty, and the bound."""
        rest = float(self.value - unserved * self.penalty)
        bound = self.bound_on_rest(unserved)
        return Improvement(seconds=self.deadline.elapsed(), objective=rest, best_bound=bound,
                           gap=relative_gap(rest, bound), solutions=self.solutions, unserved=unserved,
                           source=self.source)


# -- phase 1: a start plan -----------------------------------------------------------------------


def start_plan(cp: CompiledProblem, options: SolveOptions, deadline: Deadline | None = None,
               initial_plan: Sequence[CallAssignment] | None = None,
               params: SearchParameters | None = None) -> tuple[dict[int, Placement], PlanSource]:
    """The plan the search starts from, and where it came from; it breaks no hard rule.

    An initial plan (call -> berth and start, e.g. a job's best plan before a restart) is kept
    where it can be and repaired where it cannot. Else, "auto": the previous plan repaired when
    the problem has one, else the best of FCFS and the two dispatch rules, each leaving unserved
    the calls it cannot serve by their deadlines. Above `params.dispatch_calls` calls the rules
    are not built: they would take seconds, and local search improves on FCFS by more in that time.
    When these leave calls unserved, the feasibility-first constructions (optimizer.solver.construct)
    join them; the plan that serves most, and then costs least, is the start.
    """
    params = params or SearchParameters()
    if initial_plan:
        kept = _adopt(cp, initial_plan)
        if kept is None or not _clean(cp, kept):  # it no longer fits the problem: repaired
            kept = fcfs_steps(cp, prefer=cp.preferred(initial_plan), respect_limits=True, deadline=deadline)
        return kept, PlanSource.INITIAL_PLAN
    use_previous = options.start_from == "previous" or (options.start_from == "auto" and cp.previous)
    if use_previous and cp.previous:
        repaired = fcfs_steps(cp, prefer=cp.previous, respect_limits=True, deadline=deadline)
        if not unserved_calls(repaired) or options.start_from == "previous":
            return repaired, PlanSource.PREVIOUS_PLAN
        built = _constructions(cp, params, deadline)
        return _best(cp, options, [(repaired, PlanSource.PREVIOUS_PLAN), *built])
    fcfs = fcfs_steps(cp, respect_limits=True, deadline=deadline)
    if options.start_from != "auto":
        return fcfs, PlanSource.FCFS
    candidates: list[Candidate] = [(fcfs, PlanSource.FCFS)]
    if unserved_calls(fcfs):
        candidates += _constructions(cp, params, deadline)
    if len(cp.calls) <= params.dispatch_calls:
        try:
            for rule in ("spt", "ect"):
                candidates.append((dispatch_steps(cp, rule, respect_limits=True, deadline=deadline),
                                   PlanSource(f"dispatch-{rule}")))
        except TimeUp:
            pass
    return _best(cp, options, candidates)


def _constructions(cp: CompiledProblem, params: SearchParameters,
                   deadline: Deadline | None) -> list[Candidate]:
    """Feasibility-first plans, one per urgency threshold while time allows, the ones after the
    first only while they leave calls unserved."""
    out: list[Candidate] = []
    for urgent, lookahead in params.serving.constructions:
        if out and not unserved_calls(out[-1][0]):
            break
        try:
            shape = ConstructionParameters(urgent_hours=urgent, lookahead_hours=lookahead)
            built = construct(cp, deadline, shape)
            out.append((built, PlanSource.CONSTRUCTION))
        except TimeUp:
            break
    return out


def _best(cp: CompiledProblem, options: SolveOptions, candidates: list[Candidate]) -> Candidate:
    """The candidate with the lowest objective (fewest unserved calls first: the penalty)."""
    scored = [(plan_objective(cp, options.weights, p), k, p, name) for k, (p, name) in enumerate(candidates)]
    _, _, best, name = min(scored)
    return best, name


# -- phase 2: bounds -----------------------------------------------------------------------------


def objective_grain(cp: CompiledProblem, w: ObjectiveWeights) -> int:
    """Every objective value is a multiple of this (the gcd of the objective's coefficients)."""
    coefficients = [w.dwell * c.weight * cp.step for c in cp.calls]
    coefficients += [w.lateness * c.weight * cp.step for c in cp.calls if c.due is not None]
    if cp.previous:
        coefficients += [w.berth_change, w.start_change * cp.step]
    return math.gcd(*[x for x in coefficients if x]) or 1


def simple_bound(cp: CompiledProblem, w: ObjectiveWeights, lower: list[int]) -> float:
    """A bound no plan serving every call can beat, for when CP-SAT's own is weak (big models
    stopped in presolve): every call at least its shortest handling; a first call cannot start
    before its earliest possible start; lateness at least what that earliest start forces."""
    total = 0
    for c in cp.calls:
        if c.frozen is not None:
            continue
        end = min(earliest_end(cp, o.berth, c.port, lower[c.index], o.steps) for o in c.options)
        dwell = min(o.steps for o in c.options)
        if c.prev is None and c.eta is not None:
            dwell = max(dwell, end - c.eta)
        total += w.dwell * c.weight * cp.step * dwell
        if c.due is not None:
            total += w.lateness * c.weight * cp.step * max(0, end - c.due)
    return float(total)


def _placements(cp: CompiledProblem, starts: dict[int, tuple[int, int]]) -> dict[int, Placement] | None:
    """Complete placements from berth and start per call; arrivals as late as the voyage allows."""
    placed: dict[int, Placement] = {}
    ends: dict[int, int] = {}
    for i in voyage_order(cp):
        c = cp.calls[i]
        berth, start = starts[i]
        steps = c.option_steps(berth)
        if steps is None:
            return None
        placed[i] = Placement(berth, arrival(c, start, ends), start, start + steps)
        ends[i] = start + steps
    return placed


def _adopt(cp: CompiledProblem, plan: Sequence[CallAssignment]) -> dict[int, Placement] | None:
    """A plan given in exact time as model placements, as it is: its berths, starts and ends;
    arrivals as late as the voyage allows; calls it does not serve pass their port. None when it
    puts a call on a berth the call cannot use."""
    given = {cp.call_index[a.call_id]: a for a in plan
             if a.call_id in cp.call_index and a.berth_id in cp.berth_index}
    placed: dict[int, Placement] = {}
    ends: dict[int, int] = {}
    for i in voyage_order(cp):
        c, a = cp.calls[i], given.get(i)
        if c.frozen is not None:
            f = c.frozen
            placed[i] = Placement(f.berth, arrival(c, f.start, ends), f.start, f.end)
        elif a is None:
            placed[i] = passing(service_arrival(c, placed))
        else:
            berth = cp.berth_index[a.berth_id]
            steps = c.option_steps(berth)
            if steps is None:
                return None
            start = cp.up(a.berth_start)
            end = max(cp.up(a.berth_end), start + steps)
            placed[i] = Placement(berth, arrival(c, start, ends), start, end)
        ends[i] = placed[i].end
    return placed


def mip_bound(search: Search, model: BerthModel) -> None:
    """The time-indexed bound (a MIP solved by SCIP), when the problem is small enough to build
    it, handed to CP-SAT as a cut on the objective so that CP-SAT stops, proven optimal, as soon
    as it meets it; and the MIP's plan when it beats the incumbent."""
    cp, w = search.cp, search.weights
    # The MIP serves every call: its bound holds for plans that do (the others pay the unserved
    # penalty, above any such bound). It needs an objective to prune start times against: the
    # incumbent's, or, when the incumbent leaves calls unserved, FCFS's (which may break limits:
    # then min(FCFS, the MIP's bound) is still a bound, and a plan the MIP finds is a real one).
    incumbent = search.value
    if unserved_calls(search.placed):
        fcfs = search.baselines[0] if search.baselines is not None else None
        if fcfs is None or unserved_calls(fcfs):
            return
        incumbent = plan_objective(cp, w, fcfs)
    mip = search.params.mip
    budget = min(mip.max_s, mip.share * search.options.time_limit_s, search.deadline.left())
    result = time_indexed_bound(cp, w, model.lower, incumbent, integer=True, time_limit_s=budget,
                                max_nonzeros=mip.max_nonzeros)
    if result is None:
        return
    grain = objective_grain(cp, w)
    value = math.ceil(result.bound / grain - 1e-6) * grain
    model.m.add(model.objective >= value)
    search.full_bound = max(search.full_bound or 0.0, float(value))
    if result.starts is not None:
        plan = _placements(cp, result.starts)
        if plan is not None and _clean(cp, plan) and search.offer(plan, PlanSource.TIME_INDEXED_MIP):
            model.hint(plan)


def _clean(cp: CompiledProblem, placed: dict[int, Placement]) -> bool:
    from optimizer.checker import check_rules

    return not check_rules(cp.problem, to_assignments(cp, placed))[0]


# -- phase 3: search -----------------------------------------------------------------------------


def apply_parameters(solver: cp_model.CpSolver, options: SolveOptions) -> None:
    p = solver.parameters
    p.max_time_in_seconds = options.time_limit_s
    p.num_workers = options.workers
    p.random_seed = options.seed
    p.relative_gap_limit = options.relative_gap
    p.log_search_progress = options.log_search
    p.log_to_stdout = options.log_search
    for name, value in options.cp_sat.items():
        if not hasattr(p, name) or name.startswith("_") or callable(getattr(p, name)):
            raise ValueError(f"options.cp_sat.{name}: not a CP-SAT parameter")
        try:
            setattr(p, name, value)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"options.cp_sat.{name}: {exc}") from exc


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, model: BerthModel, search: Search):
        super().__init__()
        self.model, self.search = model, search
        self.count = 0

    def on_solution_callback(self) -> None:
        self.count += 1
        with self.search.lock:
            self.search.model_bound = max(self.search.model_bound or 0.0, self.best_objective_bound)
        self.search.offer(self.model.read(self), PlanSource.CP_SAT, round(self.objective_value))


class CpSatRun:
    """Runs CP-SAT solves one after another; a stop request or the deadline reaches whichever
    is running."""

    def __init__(self, deadline: Deadline):
        self.deadline = deadline

    def run(self, solver: cp_model.CpSolver, m: cp_model.CpModel,
            callback: cp_model.CpSolverSolutionCallback | None = None) -> int:
        if self.deadline.expired():
            return int(cp_model.UNKNOWN)
        p = solver.parameters
        p.max_time_in_seconds = max(0.01, min(p.max_time_in_seconds, self.deadline.left()))
        done = threading.Event()
        stop = self.deadline.stop

        def watch() -> None:
            assert stop is not None
            while not done.is_set():
                if stop.wait(0.05):
                    solver.stop_search()
                    return

        if stop is not None:
            threading.Thread(target=watch, daemon=True).start()
        try:
            return int(solver.solve(m, callback))
        finally:
            done.set()


def _cp_sat_whole(search: Search, model: BerthModel, run: CpSatRun, seconds: float, workers: int) -> None:
    solver = cp_model.CpSolver()
    apply_parameters(solver, search.options)
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    if search.options.workers == 1:
        # one worker: stop on CP-SAT's deterministic clock, so that a seed gives one plan
        solver.parameters.max_deterministic_time = (search.params.one_worker.deterministic_share
                                                    * search.options.time_limit_s)
    if search.log is not None:
        solver.parameters.log_search_progress = True
        solver.log_callback = search.log
    code = run.run(solver, model.m, _Callback(model, search))
    with search.lock:
        search.cp_sat_status = _STATUS.get(code, SolveStatus.UNKNOWN)  # type: ignore[call-overload]
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            search.model_bound = max(search.model_bound or 0.0, solver.best_objective_bound)


def _burst(deadline: Deadline, seconds: float) -> Callable[[], bool]:
    """A stop test for a burst of local search: `seconds` from now, or the deadline."""
    until = time.monotonic() + seconds
    return lambda: deadline.expired() or time.monotonic() > until


class _LsReporter:
    """Local search finds many small improvements: they go to the search at most every
    `report_every_s` (one worker: every so many moves), and once at the end."""

    def __init__(self, search: Search, ls: LocalSearch, source: PlanSource):
        self.search, self.ls, self.source = search, ls, source
        self.last = time.monotonic() if search.moves_left is None else float(ls.moves)
        self.pending = False

    def __call__(self, value: int) -> None:
        if self.search.moves_left is not None:  # one worker: every so many moves, not seconds
            now, due = float(self.ls.moves), self.last + self.search.params.one_worker.report_every_moves
        else:
            now, due = time.monotonic(), self.last + self.search.params.report_every_s
        if now >= due:
            self.search.offer(self.ls.best_plan(), self.source, value)
            self.last, self.pending = now, False
        else:
            self.pending = True

    def flush(self) -> None:
        if self.pending:
            self.search.offer(self.ls.best_plan(), self.source, self.ls.best_value)
            self.pending = False


def _local_search(search: Search, ls: LocalSearch, should_stop: Callable[[], bool],
                  patience: int | None, source: PlanSource) -> None:
    report = _LsReporter(search, ls, source)
    budget = None
    if search.moves_left is not None:  # one worker: a budget of moves, deterministic for a seed
        budget = ls.moves + search.moves_left
    before = ls.moves
    ls.run(search.deadline.at, should_stop, report, patience, max_moves=budget)
    if search.moves_left is not None:
        search.moves_left = max(0, search.moves_left - (ls.moves - before))
    report.flush()


def _large_search(search: Search, model: BerthModel, run: CpSatRun, serving: Serving) -> None:
    """CP-SAT on the whole model (for its bound) beside local search, then local search and
    CP-SAT neighbourhood rounds in turn; while calls are left unserved, every round is a serving
    round (optimizer.solver.serving.Serving) instead."""
    options, deadline, params = search.options, search.deadline, search.params
    ls = LocalSearch(search.cp, search.weights, search.placed, seed=options.seed, params=params.local_search)
    if options.workers > 1:
        share = min(deadline.left(), max(1.0, params.full_model_share * options.time_limit_s))
        thread = threading.Thread(target=_cp_sat_whole, daemon=True,
                                  args=(search, model, run, share, options.workers - 1))
        thread.start()
        _local_search(search, ls, lambda: deadline.expired() or not thread.is_alive(), None,
                      PlanSource.LOCAL_SEARCH)
        thread.join()
        if search.cp_sat_status == SolveStatus.OPTIMAL:
            return
    # With one worker (deterministic) the whole model is not run: its presolve alone outlasts a
    # deterministic budget on a large model; the bound is the simple one.
    lns = Lns(model, search.weights, options.seed, options.workers)
    rounds = 0
    one = params.one_worker
    max_rounds = int(one.lns_rounds_per_s * options.time_limit_s) if options.workers == 1 else None
    while not deadline.expired() and (max_rounds is None or rounds < max_rounds):
        if ls.best_value != search.value:
            ls.load(search.placed)
        stop = deadline.expired
        if options.workers > 1:  # a burst of local search, then a CP-SAT round, in turn
            stop = _burst(deadline, params.ls_burst_s)
        _local_search(search, ls, stop, params.ls_patience, PlanSource.LOCAL_SEARCH)
        if deadline.left() < 0.05:
            break
        rounds += 1
        if serving.left(None):
            serving.rounds(most=1)
            continue
        if options.workers == 1:
            found = lns.round(search.placed, search.value, deadline.left(), run.run,
                              deterministic_time=one.lns_round_deterministic_s)
        else:
            found = lns.round(search.placed, search.value, min(deadline.left(), params.lns_round_s), run.run)
        if found is not None:
            search.offer(found[0], PlanSource.LNS, found[1])


# -- phase 4: the result -------------------------------------------------------------------------


def solve(
    problem: Problem,
    options: SolveOptions | None = None,
    *,
    initial_plan: Sequence[CallAssignment] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    log: Callable[[str], None] | None = None,
    params: SearchParameters | None = None,
) -> Result:
    """Plan every call of `problem` that can be served, in exact time, within the time limit.

    `initial_plan` is where the search starts (kept where it still fits, replaced only by a better
    plan); `stop` ends the search and keeps the best plan so far. The Result is solver-neutral:
    optimizer.report.plan_from_result makes the user's Plan of it.
    """
    from optimizer.explain import unplannable_reasons

    options = options or SolveOptions()
    params = params or SearchParameters()
    deadline = Deadline(options.time_limit_s, stop)
    try:
        cp = compile_problem(problem, deadline.check)
        static = {u.call_id: u for u in unplannable_reasons(problem, deadline.check)}
        cp.mark_unservable(set(static))
        search = Search(cp, options, deadline, on_progress, log, params)
        if options.workers == 1:
            search.moves_left = int(params.one_worker.ls_moves_per_s * options.time_limit_s)
        placed, source = start_plan(cp, options, deadline, initial_plan, params)
    except TimeUp:
        return Result(status=SolveStatus.UNKNOWN, assignments=[], unserved=[], objective=None, bound=None,
                      seconds=deadline.elapsed(), source=PlanSource.NONE, stopped=deadline.stopped(),
                      message="no plan: the time limit ran out before a first plan was built")
    search.offer(placed, source)
    reserve = params.reserve
    deadline.at -= min(reserve.share * options.time_limit_s, reserve.max_s,
                       reserve.s_per_call * len(problem.calls))
    try:
        kept = placed if source == PlanSource.FCFS else fcfs_steps(cp, respect_limits=True, deadline=deadline)
        search.baselines = (fcfs_steps(cp, deadline=deadline), kept)
    except TimeUp:
        pass  # no time left for the yardsticks: the plan says so (no comparison)
    search.hint_used = options.start_from != "none"  # the start plan breaks no hard rule: a usable hint
    run = CpSatRun(deadline)
    try:
        model = BerthModel(cp, options.weights, deadline)
        if options.start_from != "none":
            model.hint(search.placed)
        serving = Serving(search, model, run)
        serving.rounds(limit=params.serving.tries)
        if options.start_from != "none":
            model.hint(search.placed)
        if len(cp.calls) <= params.full_model_calls:
            mip_bound(search, model)
            if search.full_bound is not None and search.value <= search.full_bound:
                search.cp_sat_status = SolveStatus.OPTIMAL  # the MIP's plan meets its bound: proven
            else:
                _cp_sat_whole(search, model, run, deadline.left(), options.workers)
        else:
            search.full_bound = simple_bound(cp, options.weights, model.lower)
            contention = contention_bound(cp, options.weights, model.lower, deadline,
                                          params.contention.seconds(options.time_limit_s), params.contention)
            search.full_bound = max(search.full_bound, contention or 0.0)
            _large_search(search, model, run, serving)
    except TimeUp:
        pass  # the start plan (or the best so far) stands
    return _result(search, static)


def _result(search: Search, static: dict[str, UnservedCall]) -> Result:
    """The search's best plan in exact time, with the calls it leaves unserved, whether that is
    proven, and why, once the search is over."""
    cp, problem, w = search.cp, search.cp.problem, search.weights
    placed = search.placed
    served = to_assignments(cp, placed)
    left = [cp.calls[i].id for i in unserved_calls(placed)]
    servable = [cid for cid in left if cid not in static]
    repair = search.params.repair
    assignments = serve_in_exact_time(problem, served, servable, Deadline(repair.seconds), repair)
    repaired = len(assignments) - len(served)
    planned = {a.call_id for a in assignments}
    left = [cid for cid in left if cid not in planned]
    limit = search.options.time_limit_s
    budget = ProofBudget.of(search.params.proof, 0.0 if search.deadline.stopped() else limit)
    unserved = explain_unserved(problem, assignments, left, static, budget, searched_note(limit))
    common: dict[str, Any] = {"unserved": unserved, "seconds": search.deadline.elapsed(),
                              "stopped": search.deadline.stopped(), "history": search.history}
    if not assignments:
        return Result(status=SolveStatus.INFEASIBLE, assignments=[], objective=None, bound=None,
                      source=PlanSource.NONE, **common,
                      message="no call can be served (each is listed with its reasons)")
    objective = exact_objective(problem, assignments, w)
    bound = search.bound_on_rest(len(unserved)) if not repaired else None  # the model's is on its grid
    if bound is not None:
        bound = min(max(0.0, bound - exact_slack(cp, w)), objective)
    proven = not repaired and (search.cp_sat_status == SolveStatus.OPTIMAL or bound == objective)
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    if unserved:
        status = SolveStatus.PARTIAL
    yardsticks = None
    if search.baselines is not None:
        fcfs, feasible = search.baselines
        yardsticks = Yardsticks(
            fcfs=to_assignments(cp, fcfs), fcfs_keeping_limits=to_assignments(cp, feasible),
            fcfs_keeping_limits_unserved=[cp.calls[i].id for i in unserved_calls(feasible)])
    return Result(status=status, assignments=assignments, objective=objective, bound=bound,
                  source=search.source, solutions=search.solutions, proven_optimal=proven,
                  hint_used=search.hint_used, repaired_in_exact_time=repaired, yardsticks=yardsticks,
                  **common)
