"""From a live plan's facts to its next version.

The planning view is the problem one version plans: the calls still to come, calls at berth and
the last departed call of a vessel under way (frozen at their actual times), calls that begin
within the frozen window (pinned where the last version put them), nothing berthing before now.
Departed calls before those are history: their actual times are the version's past, not planned
again.

Only calls that must move should move. The replan takes the calls the batch concerns (an ETA's
voyage, a closure's or a maintenance's calls, a cancelled call's voyage and links ...), repairs
the last version around them keeping every other call where it was when it still fits (FCFS
with the last version preferred), and frees exactly the calls that repair had to move, with
their links. Every other call is held where it was; the search then improves the freed calls
against the objective with the change weights, warm-started from the repair. So stability is by
construction, and the search is small enough to be quick.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from pydantic import AwareDatetime, Field

from optimizer.checker import ViolationKind, check_rules
from optimizer.compiled import CompiledProblem, compile_problem
from optimizer.diff import CallChange, KpiChange, Stability, plan_diff
from optimizer.domain import (
    FrozenAssignment,
    Link,
    PreviousAssignment,
    Problem,
    Voyage,
    berth_fits,
    handling_hours,
)
from optimizer.explain import unplannable_reasons
from optimizer.live.causes import Cause, CauseWindow, MoveCause, MoveContext, MoveSummary, explain_moves
from optimizer.live.events import (
    ClosureEvent,
    ClosureLifted,
    Event,
    Maintenance,
)
from optimizer.live.repair import Repair, repair_last
from optimizer.live.state import (
    DEFAULT_FROZEN_WINDOW_MINUTES,
    LiveState,
    Reconciliation,
    apply_events,
    handling_end,
)
from optimizer.params import ObjectiveWeights, ProofParameters, SearchParameters, SolveOptions
from optimizer.plan import CallAssignment, Out, Plan, PlanSource, UnservedCall
from optimizer.report import build_plan, plan_from_result
from optimizer.result import Result
from optimizer.solver import solve
from optimizer.solver.proof import ProofBudget, explain_unserved, searched_note
from optimizer.steps import Placement, to_assignments, unserved_calls

#: A lifted closure lets the calls it held move earlier: those starting up to this long after it.
LIFTED_REACH = timedelta(hours=24)


class ReplanSettings(Out):
    """How a live plan replans: the first version's solve, then each batch's."""

    first_time_limit_s: float = Field(default=30.0, gt=0, le=3600)
    replan_time_limit_s: float = Field(default=3.0, gt=0, le=600)
    first_workers: int = Field(default=2, ge=1, le=64, description="Version 1 (later versions use "
                               "one worker, so that a replay of the event log gives the same versions).")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
    neighbourhood: bool = Field(default=True, description="Free only the calls that must move (see "
                                "optimizer.live.replan); False re-plans every call not frozen.")
    rings: int = Field(default=2, ge=0, le=10, description="Times the freed calls are widened to the calls "
                       "they could swap with, each round with an equal share of the replan's time; a "
                       "round's plan is kept only when better.")


class VersionChange(CallChange):
    """A call the version treats differently from the one before, and why."""

    arrival_after: AwareDatetime | None = Field(default=None, description="The new RTA, UTC.")
    inbound_speed_kn_after: float | None = None
    caused_by: list[str] = Field(default_factory=list, description="Ids of the batch's events that "
                                 "concern the call (kept for compatibility: `cause` says why it moved).")
    cause: MoveCause | None = Field(default=None, description="Why it moved: `event` (an event of the "
                                    "batch names the call), `closure` / `maintenance` (a window, new or "
                                    "lifted, meets its old place), `berth_taken` (another call that could "
                                    "not move holds its old berth and time), `link` (its linked call "
                                    "moved), `previous_leg` (its vessel's previous call ends later), `now` "
                                    "(its old start is past and it has not berthed), `search` (nothing "
                                    "forced it: the search moved it to improve the plan). None only in "
                                    "versions stored before causes were recorded.")
    forced: bool | None = Field(default=None, description="True: the repair of the last version had to "
                                "move it (its old place breaks a rule of the new planning view); False: "
                                "the repair kept it and the search chose to move it.")
    reason: str | None = Field(default=None, description="The cause in a sentence, times in the port's "
                               "local time with its offset.")
    cause_event_ids: list[str] = Field(default_factory=list, description="The events behind the cause "
                                       "(event, closure, maintenance).")
    cause_call_id: str | None = Field(default=None, description="The other call behind the cause "
                                      "(berth_taken, link, previous_leg).")
    cause_window: CauseWindow | None = Field(default=None, description="The closure or maintenance window "
                                             "(closure, maintenance).")


class Version(Out):
    number: int
    now: AwareDatetime
    event_ids: list[str] = Field(default_factory=list, description="The events this version applied.")
    problem: Problem = Field(description="What this version planned (the planning view): check "
                             "`plan` against it.")
    plan: Plan
    history: list[CallAssignment] = Field(default_factory=list, description="Departed calls left out "
                                          "of the view, at their actual times.")
    changes: list[VersionChange] = Field(default_factory=list)
    stability: Stability | None = None
    kpis: KpiChange | None = Field(default=None, description="Headline KPIs of the last version and this "
                                   "one, over the calls this one plans.")
    cancelled: list[str] = Field(default_factory=list,
                                 description="Calls cancelled by this version's events.")
    reconciliations: list[Reconciliation] = Field(
        default_factory=list, description="Facts this version's events brought that contradicted what the "
        "live plan believed, kept as reported, and what was derived from them (inferred departures, "
        "corrections, estimates set aside because the facts came first).")
    freed_calls: int = Field(default=0, description="Calls the replan was free to move.")
    moves: MoveSummary | None = Field(default=None, description="The changes by cause, forced and chosen, "
                                      "and the search's gain over the repair of the last version.")
    replan_s: float = 0.0

    def timeline(self) -> list[CallAssignment]:
        """What happened and what is planned: the history, then the plan."""
        return [*self.history, *(CallAssignment.model_validate(c.model_dump(include=set(
            CallAssignment.model_fields))) for c in self.plan.calls)]


@dataclass
class View:
    problem: Problem
    history: list[CallAssignment]
    fixed: set[str]  # frozen by facts or pinned by the frozen window
    previous: dict[str, CallAssignment] = field(default_factory=dict)  # the last version's timeline

    @cached_property
    def compiled(self) -> CompiledProblem:
        """The view in model steps, compiled once for the planner and the causes of its changes."""
        return compile_problem(self.problem)

    @cached_property
    def repair(self) -> Repair:
        """The repair of the last version in this view (optimizer.live.repair), made once: the
        search starts from it and the causes read what it had to move."""
        return repair_last(self.problem, self.previous, self.compiled)

    def repair_of(self, previous: dict[str, CallAssignment]) -> Repair:
        """The repair of `previous` (the cached one when it is this view's)."""
        if previous is self.previous:
            return self.repair
        return repair_last(self.problem, previous, self.compiled)


def planning_view(state: LiveState, previous: dict[str, CallAssignment], touched: set[str]) -> View:
    """The problem the next version plans (see the module docstring)."""
    p = state.problem
    now, until = state.now, state.frozen_until
    history: list[CallAssignment] = []
    frozen: dict[str, FrozenAssignment] = {}
    voyages = [_voyage_view(state, voyage, previous, history, frozen) for voyage in p.voyages]
    in_view = {cid for v in voyages for cid in v.call_ids}
    departed = {h.call_id: h for h in history}
    ready: dict[str, datetime] = {}
    links = []
    for link in p.links:
        if link.before in in_view and link.after in in_view:
            links.append(link)
        elif link.before in departed and link.after in in_view:
            t = departed[link.before].berth_end + timedelta(hours=link.min_gap_hours)
            ready[link.after] = max(ready.get(link.after, t), t)
    facts = set(frozen)
    pinned: set[str] = set()
    for c in p.calls:
        before = previous.get(c.id)
        if c.id in in_view and c.id not in frozen and (
                before is not None and c.id not in touched and now <= before.berth_start < until
                and state.actual(c.id).arrival is None and not _meets_fact(before, frozen.values())
                and ready.get(c.id, before.berth_start) <= before.berth_start):
            pinned.add(c.id)
    while True:
        view = _view_problem(state, p, in_view, frozen, pinned, previous, ready, voyages, links)
        broken = _broken_pins(view, pinned)
        if not broken:
            break
        pinned -= broken
    return View(problem=view, history=sorted(history, key=lambda a: a.berth_start), fixed=facts | pinned,
                previous=previous)


def _view_problem(state: LiveState, p: Problem, in_view: set[str], facts: dict[str, FrozenAssignment],
                  pinned: set[str], previous: dict[str, CallAssignment], ready: dict[str, datetime],
                  voyages: list[Voyage], links: list[Link]) -> Problem:
    new_calls = []
    for c in p.calls:
        if c.id not in in_view:
            continue
        if c.id in facts:
            new_calls.append(c.model_copy(update={"frozen": facts[c.id]}))
            continue
        if c.id in pinned:
            before = previous[c.id]
            new_calls.append(c.model_copy(update={"frozen": FrozenAssignment(
                berth_id=before.berth_id, berth_start=before.berth_start, berth_end=before.berth_end,
                arrival=before.arrival)}))
            continue
        lows = [t for t in (c.earliest_start, state.now, ready.get(c.id), state.reported_etas.get(c.id))
                if t is not None]
        new_calls.append(c.model_copy(update={"earliest_start": max(lows)}))
    prev_plan = [PreviousAssignment(call_id=a.call_id, berth_id=a.berth_id, berth_start=a.berth_start)
                 for cid, a in previous.items() if cid in in_view]
    return p.model_copy(update={"calls": new_calls, "voyages": voyages, "links": links,
                                "ports": state.ports_with_windows(), "previous_plan": prev_plan or None})


def _broken_pins(view: Problem, pinned: set[str]) -> set[str]:
    """The pinned calls whose last placement breaks a hard rule under the facts (a previous leg
    that now ends later or earlier, a link, a closure, a berth window): the frozen window keeps a
    call only where it still can be. The checker sees pins as frozen, so their faults come as
    warnings; calls left out of the check are not faults."""
    if not pinned:
        return set()
    held = [CallAssignment(call_id=c.id, berth_id=c.frozen.berth_id, berth_start=c.frozen.berth_start,
                           berth_end=c.frozen.berth_end, arrival=c.frozen.arrival or c.frozen.berth_start)
            for c in view.calls if c.frozen is not None]
    violations, warnings = check_rules(view, held)
    return {x.call_id for x in [*violations, *warnings]
            if x.call_id in pinned and x.kind != ViolationKind.MISSING_CALL}


def _voyage_view(state: LiveState, voyage: Voyage, previous: dict[str, CallAssignment],
                 history: list[CallAssignment], frozen: dict[str, FrozenAssignment]) -> Voyage:
    """The part of a voyage still to plan, from its last call with a known arrival (an ATA, an
    ATB, or an ETA reported after the vessel left the port before) or from its last departed call
    (so the leg after it keeps its speeds); the calls before are history. Calls that berthed go
    to `history` or, in the view, to `frozen`, at their actual times."""
    ids = voyage.call_ids
    start = 0
    for k, cid in enumerate(ids):
        a = state.actual(cid)
        left_prev = k > 0 and state.actual(ids[k - 1]).departure is not None
        if (a.arrival is not None or a.berthing is not None or a.departure is not None
                or (left_prev and cid in state.reported_etas)):
            start = k
        elif left_prev:
            start = k - 1
    for k, cid in enumerate(ids):
        a = state.actual(cid)
        if a.berthing is not None:
            assert a.berth_id is not None
            berth_id, berthing = a.berth_id, a.berthing
        elif a.departure is not None:  # its berthing is not reported yet: as the last plan had it
            berth_id, berthing = _inferred_berthing(state, cid, a.departure, previous.get(cid))
        else:
            continue
        arrival = a.arrival
        if arrival is None:
            planned = previous.get(cid)
            first_eta = voyage.eta if k == 0 else None
            arrival = min(t for t in (planned.arrival if planned else None, first_eta, berthing)
                          if t is not None and t <= berthing)
        end = a.departure or handling_end(state, cid)
        if k < start:
            history.append(CallAssignment(call_id=cid, berth_id=berth_id, arrival=arrival,
                                          berth_start=berthing, berth_end=end))
        else:
            frozen[cid] = FrozenAssignment(berth_id=berth_id, berth_start=berthing, berth_end=end,
                                           arrival=arrival)
    first = ids[start]
    eta: datetime = voyage.eta
    if first in frozen:
        eta = frozen[first].arrival or frozen[first].berth_start
    elif (ata := state.actual(first).arrival) is not None:
        eta = ata
    elif first in state.reported_etas and start > 0:
        eta = _reachable(state.problem, ids[start - 1], first, state.reported_etas[first], history)
    return voyage.model_copy(update={"eta": eta, "call_ids": ids[start:]})


def _inferred_berthing(state: LiveState, call_id: str, departure: datetime,
                       planned: CallAssignment | None) -> tuple[str, datetime]:
    """Where and when a call that left before its berthing was reported berthed: the last plan's
    berth and start (no later than just before it left); without one, the first berth of its
    port that fits, its handling time before it left."""
    p = state.problem
    step = timedelta(minutes=p.time_step_minutes)
    if planned is not None:
        return planned.berth_id, min(planned.berth_start, departure - step)
    call = p.call_map()[call_id]
    vessel = p.vessel_map()[call.vessel_id]
    port = next(x for x in p.ports if x.id == call.port_id)
    fits = [b for b in port.berths if berth_fits(call, vessel, b)] or port.berths
    hours = handling_hours(call, fits[0]) or 0.0
    return fits[0].id, max(p.horizon_start, departure - max(step, timedelta(hours=hours)))


def _meets_fact(a: CallAssignment, facts: Iterable[FrozenAssignment]) -> bool:
    """Whether a planned stay meets a call really at (or past) the same berth: then it cannot be
    pinned there."""
    return any(f.berth_id == a.berth_id and f.berth_start < a.berth_end and a.berth_start < f.berth_end
               for f in facts)


def _reachable(p: Problem, prev_id: str, call_id: str, eta: datetime,
               history: Sequence[CallAssignment]) -> datetime:
    """A reported ETA after the vessel left `prev_id`, kept within what its speeds allow."""
    left = next((h.berth_end for h in history if h.call_id == prev_id), None)
    if left is None:
        return eta
    calls = p.call_map()
    nm = p.distance_nm(calls[prev_id].port_id, calls[call_id].port_id) or 0.0
    vessel = p.vessel_map()[calls[call_id].vessel_id]
    lo = left + timedelta(hours=nm / vessel.max_speed_kn)
    hi = left + timedelta(hours=nm / vessel.min_speed_kn)
    return min(max(eta, lo), hi)


def concerned_calls(applied_touched: dict[str, list[str]], events: Iterable[Event], state_before: LiveState,
                    previous: dict[str, CallAssignment]) -> dict[str, list[str]]:
    """Per call, the batch's events that concern it: those that name it or its voyage, and the
    closures, lifted closures and maintenance whose window its last placement meets."""
    out = {cid: list(ids) for cid, ids in applied_touched.items()}
    calls = state_before.problem.call_map()
    berth_port = state_before.problem.berth_port()

    def add(cid: str, eid: str) -> None:
        out.setdefault(cid, []).append(eid)

    for e in events:
        if isinstance(e, ClosureEvent | ClosureLifted | Maintenance):
            if isinstance(e, ClosureLifted):
                lifted = state_before.closures.get(e.closure_event_id)
                if lifted is None:
                    continue
                port, lo, hi, berth = lifted.port_id, lifted.start, lifted.end + LIFTED_REACH, None
            elif isinstance(e, ClosureEvent):
                port, lo, hi, berth = e.port_id, e.start, e.end, None
            else:
                port, lo, hi, berth = berth_port[e.berth_id].id, e.start, e.end, e.berth_id
            for cid, a in previous.items():
                c = calls.get(cid)
                if c is None or (port is not None and c.port_id != port):
                    continue
                if berth is not None and a.berth_id != berth:
                    continue
                if a.berth_start <= hi and a.berth_end >= lo:
                    add(cid, e.event_id)
    return out


def _options(settings: ReplanSettings, time_limit_s: float, workers: int) -> SolveOptions:
    return SolveOptions(time_limit_s=time_limit_s, workers=workers, seed=settings.seed,
                        weights=settings.weights)


#: What makes a version's plan from its planning view: the last version's plan by call (empty for
#: version 1), the calls the batch concerns; the plan and how many calls it was free to move. The
#: search below, or a yardstick (optimizer.live.baselines: re-run FCFS).
Planner = Callable[[View, dict[str, CallAssignment], set[str], ReplanSettings, SearchParameters | None],
                   tuple[Plan, int]]

#: How a later version's not_found calls end when the repair of the last version stands.
REPAIR_NOTE = "the repair of the last version did not find one"


def search_planner(view: View, previous: dict[str, CallAssignment], concerned: set[str],
                   settings: ReplanSettings, params: SearchParameters | None) -> tuple[Plan, int]:
    """Version 1: the problem solved whole. Later ones: repair, free what must move, search."""
    if not previous:
        whole = solve(view.problem, _options(settings, settings.first_time_limit_s, settings.first_workers),
                      params=params)
        freed = len(view.problem.calls) - len(view.fixed)
        return plan_from_result(view.problem, whole, settings.weights), freed
    # The searches hold the calls they do not free as if frozen: what they could prove of an
    # unserved call would hold for that problem only, so the kinds are found once, on the view.
    result, start, freed = _solve_view(view, previous, concerned, settings, _without_proofs(params))
    if result is None:  # nothing to search, or the search found no plan in its time: the repair stands
        cp, placed = start
        assignments = to_assignments(cp, placed)
        left = [cp.calls[i].id for i in unserved_calls(placed)]
        unserved = _unserved_in_view(view, assignments, left, settings, params, REPAIR_NOTE)
        return build_plan(view.problem, assignments, weights=settings.weights, unserved=unserved), freed
    left = [u.call_id for u in result.unserved]
    note = searched_note(settings.replan_time_limit_s, "the replan")
    unserved = _unserved_in_view(view, result.assignments, left, settings, params, note)
    plan = plan_from_result(view.problem, dataclasses.replace(result, unserved=unserved), settings.weights)
    return plan, freed


def _without_proofs(params: SearchParameters | None) -> SearchParameters:
    return dataclasses.replace(params or SearchParameters(), proof=ProofParameters(share=0.0))


def _unserved_in_view(view: View, assignments: Sequence[CallAssignment], left: Sequence[str],
                      settings: ReplanSettings, params: SearchParameters | None, note: str
                      ) -> list[UnservedCall]:
    """The calls a later version leaves unserved, proven on the planning view or not found."""
    static = {u.call_id: u for u in unplannable_reasons(view.problem) if u.call_id in set(left)}
    budget = ProofBudget.of((params or SearchParameters()).proof, settings.replan_time_limit_s)
    return explain_unserved(view.problem, assignments, left, static, budget, note)


def first_version(problem: Problem, settings: ReplanSettings, now: datetime | None = None,
                  frozen_window_minutes: float = DEFAULT_FROZEN_WINDOW_MINUTES,
                  planner: Planner = search_planner, params: SearchParameters | None = None
                  ) -> tuple[LiveState, Version]:
    """Version 1: the problem planned whole, from `now` (default: the horizon start)."""
    started = time.monotonic()
    state = LiveState.start(problem, now, frozen_window_minutes)
    view = planning_view(state, {}, set())
    plan, freed = planner(view, {}, set(), settings, params)
    return state, Version(number=1, now=state.now, problem=view.problem, plan=plan, history=view.history,
                          freed_calls=freed, replan_s=time.monotonic() - started)


def replan(state: LiveState, last: Version, events: Sequence[Event], settings: ReplanSettings,
           params: SearchParameters | None = None, planner: Planner = search_planner
           ) -> tuple[LiveState, Version]:
    """The state after `events` and the version that plans it (EventsRefused / EventConflict
    when the batch cannot be applied: nothing changes). Deterministic: one worker, budgets in
    work (optimizer.params.OneWorkerBudgets)."""
    started = time.monotonic()
    applied = apply_events(state, events)
    new = applied.state
    previous = {a.call_id: a for a in last.timeline()}
    causes = concerned_calls(applied.touched, applied.events, state, previous)
    view = planning_view(new, previous, set(causes))
    plan, freed = planner(view, previous, set(causes), settings, params)
    version = Version(number=last.number + 1, now=new.now, event_ids=[e.event_id for e in applied.events],
                      problem=view.problem, plan=plan, history=view.history,
                      cancelled=[c for c in new.cancelled if c not in state.cancelled],
                      reconciliations=applied.reconciliations, freed_calls=freed)
    why = MoveContext(before=state, after=new, events=applied.events, touched=applied.touched,
                      concerned=causes, previous=previous, weights=settings.weights,
                      repair=view.repair_of(previous), plan_kpis=plan.kpis)
    version.changes, version.stability, version.kpis = version_changes(last, version, causes, why)
    version.replan_s = time.monotonic() - started
    return new, version


def _better(a: Result, b: Result | None) -> bool:
    """Whether `a` is a better plan than `b`: more calls served, then a lower objective."""
    if not a.has_plan:
        return False
    if b is None or not b.has_plan:
        return True
    return (len(a.unserved), a.objective or 0.0) < (len(b.unserved), b.objective or 0.0)


def _solve_view(view: View, previous: dict[str, CallAssignment], concerned: set[str],
                settings: ReplanSettings, params: SearchParameters | None
                ) -> tuple[Result | None, tuple[CompiledProblem, dict[int, Placement]], int]:
    """Repair the last version around the concerned calls, free what the repair moved (and
    their links), hold the rest, and search from the repair: the search's result (None when
    there was nothing to search or it found no plan), the repair, the calls freed."""
    problem = view.problem
    cp, prefer, repaired = view.repair_of(previous)
    start_plan = to_assignments(cp, repaired)
    rounds = 1 + (settings.rings if settings.neighbourhood else 0)
    options = _options(settings, settings.replan_time_limit_s / rounds, 1)
    movable = [c.id for c in problem.calls if c.id not in view.fixed]
    if not settings.neighbourhood:
        whole = solve(problem, options, initial_plan=start_plan, params=params)
        return (whole if whole.has_plan else None), (cp, repaired), len(movable)
    free: set[str] = set()
    for cid in movable:
        i = cp.call_index[cid]
        got, want = repaired.get(i), prefer.get(i)
        if cid in concerned or want is None or got is None or not got.served or (
                (got.berth, got.start) != want):
            free.add(cid)
    for link in problem.links:
        if link.before in free or link.after in free:
            free.update(x for x in (link.before, link.after) if x in movable)
    if not free:
        return None, (cp, repaired), 0
    found = _solve_held(problem, start_plan, free, options, params)
    result = found if found.has_plan else None
    for _ in range(settings.rings):  # a fixed number, not "while time lasts": a replay gives the same
        base = result.assignments if result is not None else start_plan
        wider = _ring(problem, base, free, movable)
        if wider == free:
            break
        free = wider
        widened = _solve_held(problem, base, free, options, params)
        if _better(widened, result):
            result = widened
    if result is not None and result.source == PlanSource.INITIAL_PLAN:
        result = dataclasses.replace(result, source=PlanSource.PREVIOUS_PLAN)
    return result, (cp, repaired), len(free)


def _solve_held(problem: Problem, start: Sequence[CallAssignment], free: set[str], options: SolveOptions,
                params: SearchParameters | None) -> Result:
    """Solve with every call outside `free` held where `start` has it."""
    by_id = {a.call_id: a for a in start}
    held = []
    for c in problem.calls:
        a = by_id.get(c.id)
        if c.id in free or c.frozen is not None or a is None:
            held.append(c)
            continue
        held.append(c.model_copy(update={"frozen": FrozenAssignment(
            berth_id=a.berth_id, berth_start=a.berth_start, berth_end=a.berth_end, arrival=a.arrival)}))
    return solve(problem.model_copy(update={"calls": held}), options, initial_plan=start, params=params)


def _ring(problem: Problem, plan: Sequence[CallAssignment], free: set[str],
          movable: Sequence[str]) -> set[str]:
    """`free` and the movable calls at the same ports whose stays meet a free call's stay widened
    by its own length on both sides: the calls a freed call could swap with."""
    calls = problem.call_map()
    by_id = {a.call_id: a for a in plan}
    reach: dict[str, list[tuple[datetime, datetime]]] = {}
    for cid in free:
        a = by_id.get(cid)
        if a is not None:
            span = a.berth_end - a.arrival
            reach.setdefault(calls[cid].port_id, []).append((a.arrival - span, a.berth_end + span))
    out = set(free)
    for cid in movable:
        a = by_id.get(cid)
        if cid in out or a is None:
            continue
        if any(lo <= a.berth_end and a.berth_start <= hi for lo, hi in reach.get(calls[cid].port_id, [])):
            out.add(cid)
    return out


def version_changes(last: Version, new: Version, causes: dict[str, list[str]], why: MoveContext | None = None
                    ) -> tuple[list[VersionChange], Stability, KpiChange]:
    """What `new` changes against `last`, over the calls `new` plans; with `why`, each change's
    cause (optimizer.live.causes) and `new.moves`, the count per cause."""
    calls = new.problem.call_map()
    before = [a for a in last.timeline() if a.call_id in calls]
    after = new.plan.calls
    default_weights = why is not None and (why.weights or ObjectiveWeights()) == ObjectiveWeights()
    known = why.plan_kpis if why is not None and default_weights else None  # the diff's KPIs: default weights
    diff = plan_diff(new.problem, before, after, after_kpis=known)
    planned = new.plan.by_call()
    explained: dict[str, Cause] = {}
    if why is not None:
        explained, new.moves = explain_moves(diff.changes, why, new.problem, new.plan)
    out = []
    for ch in diff.changes:
        cp = planned.get(ch.call_id)
        c = explained.get(ch.call_id)
        out.append(VersionChange(**ch.model_dump(), arrival_after=cp.arrival if cp else None,
                                 inbound_speed_kn_after=cp.inbound_speed_kn if cp else None,
                                 caused_by=causes.get(ch.call_id, []),
                                 **({} if c is None else {
                                     "cause": c.cause, "forced": c.forced, "reason": c.reason,
                                     "cause_event_ids": c.event_ids, "cause_call_id": c.call_id,
                                     "cause_window": c.window})))
    return out, diff.stability, diff.kpis
