"""Planted problems: a plan is made first, then hard limits are derived from it, so that a
complete plan (one that serves every call and breaks no rule) is known to exist.

The traffic, ports, storms and maintenance are the generator's (`optimizer.generator.generate`).
The planted plan is built by a randomised planner unlike any of the solver's: each call, taken in
an order jittered around its arrival, goes to a random compatible berth (most often the one where it
can start first, into any gap that fits), sometimes held back for a while, its vessel sailing at a
random speed within its limits. Then, from that plan:

- a share of the calls get a hard latest departure 0–`max_slack_h` hours after the plan's departure;
- every link gets a max gap 0–`max_slack_h` hours above the plan's gap;
- with `dense`, the plan is packed instead: calls taken in an order shuffled up to half a day from
  their arrivals, never held back, each at the berth where it starts first, vessels at service
  speed. Limits derived from such a plan leave little room, and FCFS-like rules miss most of them.
- with `replan`, the calls that berth before a "now" are frozen where the plan has them, and the
  plan's later calls become a previous plan (a live replan's situation).

A solver that leaves a call of a planted problem unserved has missed a plan that exists; the
planted plan's objective is a yardstick no real plan needs to exceed.
"""

from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from optimizer.baseline import ready
from optimizer.checker import check
from optimizer.compiled import CompiledProblem, compile_problem
from optimizer.domain import Problem
from optimizer.generator.presets import generate
from optimizer.kpis import objective
from optimizer.loading import load_problem
from optimizer.params import ObjectiveWeights
from optimizer.plan import CallAssignment
from optimizer.steps import Placement, blocked_windows, earliest_fit


@dataclass(frozen=True)
class PlantedSpec:
    """What a planted problem looks like; the same spec and seed give the same problem."""

    calls: int = 100
    days: int | None = None  # default: about 16 calls a day on the real berths
    seed: int = 0
    time_step_minutes: int = 5
    tight_share: float = 0.6  # calls given a hard latest departure
    max_slack_h: float = 2.0  # ... at most this long after the planted departure
    closures: bool = True
    links: bool = True
    replan: bool = False  # freeze what berths before "now", keep the rest as a previous plan
    start_offset_minutes: int = 0  # horizon start after 2 Nov 2026 00:00 UTC (off the grid too)
    berth_scale: int | None = None  # copies of the real berths (default: the generator's choice)
    dense: bool = False  # a packed plan in a shuffled order: no call held back, no berth left idle

    def __post_init__(self) -> None:
        if self.calls < 1:
            raise ValueError(f"calls must be at least 1, got {self.calls}")
        if not 0 <= self.tight_share <= 1:
            raise ValueError(f"tight_share must be within [0, 1], got {self.tight_share}")
        if self.max_slack_h < 0:
            raise ValueError(f"max_slack_h must not be negative, got {self.max_slack_h}")


@dataclass
class Planted:
    problem: Problem
    plan: list[CallAssignment]  # serves every call and breaks no rule of `problem`
    objective: float  # of `plan`, default weights
    frozen: int = 0
    limited: int = 0  # calls with a hard latest departure


def planted(spec: PlantedSpec | None = None, **fields: Any) -> Planted:
    """A planted problem and its planted plan (see the module docstring)."""
    spec = spec or PlantedSpec(**fields)
    rng = random.Random(f"portsync-planted-{spec.seed}")
    days = spec.days if spec.days is not None else max(2, round(spec.calls / 16))
    base = generate(spec.calls, days, spec.seed, closures=spec.closures, links=spec.links,
                    time_step_minutes=spec.time_step_minutes, berth_scale=spec.berth_scale,
                    start=datetime.fromisoformat("2026-11-02T00:00:00+00:00")
                    + timedelta(minutes=spec.start_offset_minutes))
    data = base.model_dump(mode="json")
    for c in data["calls"]:  # the generator's own limits are set after FCFS, not after this plan
        c.pop("latest_departure", None)
    for link in data["links"]:
        link.pop("max_gap_hours", None)
    free = load_problem(data)
    cp = compile_problem(free)
    plan = _random_plan(cp, rng, dense=spec.dense)
    assignments = [cp.assignment(i, p.berth, p.arrival, p.start, p.end)
                   for i, p in sorted(plan.items())]
    report = check(free, assignments)
    if not report.ok:  # the planner above keeps every rule; a failure here is a bug in it
        raise AssertionError(f"planted plan breaks a rule: {report.violations[:3]}")
    limited = _derive_limits(data, free, assignments, spec, rng)
    frozen = _freeze(data, free, assignments, rng) if spec.replan else 0
    data["name"] = f"planted-{spec.calls}c-seed{spec.seed}"
    slack = f"{spec.max_slack_h:g}"
    frozen_text = f", {frozen} calls frozen" if frozen else ""
    packed = "packed " if spec.dense else ""
    data["description"] = (
        f"Planted problem (portsync generator, seed {spec.seed}): a {packed}plan serving all "
        f"{len(free.calls)} calls was made first; {limited} calls have a hard latest departure "
        f"0-{slack} h after it, links a max gap 0-{slack} h above it{frozen_text}. "
        f"Traffic as the generator's, ESTIMATES included.")
    problem = load_problem(data)
    kept = check(problem, assignments)
    if not kept.ok:
        raise AssertionError(f"planted limits break the planted plan: {kept.violations[:3]}")
    return Planted(problem, assignments, objective(problem, assignments, ObjectiveWeights()),
                   frozen=frozen, limited=limited)


def random_plan(problem: Problem, seed: int = 0) -> list[CallAssignment]:
    """A plan serving every call of `problem` made by the planted problems' randomised planner: it
    keeps every rule but latest departures and link max gaps (which it does not look at)."""
    cp = compile_problem(problem)
    plan = _random_plan(cp, random.Random(f"portsync-random-plan-{seed}"))
    return [cp.assignment(i, p.berth, p.arrival, p.start, p.end) for i, p in sorted(plan.items())]


def _random_plan(cp: CompiledProblem, rng: random.Random, dense: bool = False) -> dict[int, Placement]:
    """Every call served, no rule broken, by a randomised list scheduler (module docstring)."""
    waiting = [len(p) for p in cp.preds]
    busy = blocked_windows(cp)
    placed: dict[int, Placement] = {}
    heap: list[tuple[float, int]] = []
    arrivals: dict[int, int] = {}
    hour = max(1, round(60 / cp.step))

    def release(i: int) -> None:
        c = cp.calls[i]
        if c.prev is None:
            assert c.eta is not None
            arr = c.eta
        else:
            end = placed[c.prev].end
            service = dense or rng.random() < 0.6
            arr = end + (c.sail_service if service else rng.randint(c.sail_min, c.sail_max))
        arrivals[i] = arr
        jitter = 12 if dense else 3
        heapq.heappush(heap, (arr + rng.uniform(-jitter, jitter) * hour, i))

    for i in range(len(cp.calls)):
        if waiting[i] == 0:
            release(i)
    while heap:
        _, i = heapq.heappop(heap)
        c = cp.calls[i]
        arr = arrivals[i]
        lb = ready(cp, i, arr, placed)
        if not dense and rng.random() < 0.15:
            lb += rng.randint(0, 4 * hour)  # held back: a plan no greedy rule would make
        fits = sorted((earliest_fit(cp, busy[o.berth], c.port, lb, o.steps), o.steps, o.berth)
                      for o in c.options)
        start, steps, berth = fits[0] if dense or rng.random() < 0.7 else rng.choice(fits)
        bisect.insort(busy[berth], (start, start + steps))
        placed[i] = Placement(berth, min(arr, start), start, start + steps)
        for j in cp.succs[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                release(j)
    return placed


def _later(t: datetime, hours: float, step_minutes: int) -> str:
    """`t` plus `hours`, up to a whole `step_minutes` after the horizon grid (so the grid keeps it)."""
    minutes = int(hours * 60 / step_minutes) * step_minutes
    return (t + timedelta(minutes=minutes)).isoformat()


def _derive_limits(data: dict[str, Any], problem: Problem, plan: list[CallAssignment], spec: PlantedSpec,
                   rng: random.Random) -> int:
    by_call = {a.call_id: a for a in plan}
    limited = 0
    for c in data["calls"]:
        if rng.random() < spec.tight_share:
            end = by_call[c["id"]].berth_end
            c["latest_departure"] = _later(end, rng.uniform(0, spec.max_slack_h), spec.time_step_minutes)
            limited += 1
    for link in data["links"]:
        before, after = by_call[link["before"]], by_call[link["after"]]
        gap = (after.berth_start - before.berth_end).total_seconds() / 3600
        slack = int(rng.uniform(0, spec.max_slack_h) * 60 / spec.time_step_minutes) * spec.time_step_minutes
        link["max_gap_hours"] = max(link.get("min_gap_hours", 0.0), gap + slack / 60)
    return limited


def _freeze(data: dict[str, Any], problem: Problem, plan: list[CallAssignment], rng: random.Random) -> int:
    """Freeze the calls that berth before a "now" a fifth to a half into the plan; the others make
    a previous plan."""
    starts = sorted(a.berth_start for a in plan)
    now = starts[int(len(starts) * rng.uniform(0.2, 0.5))]
    by_call = {a.call_id: a for a in plan}
    frozen = 0
    previous = []
    for c in data["calls"]:
        a = by_call[c["id"]]
        if a.berth_start < now:
            c["frozen"] = {"berth_id": a.berth_id, "berth_start": a.berth_start.isoformat(),
                           "berth_end": a.berth_end.isoformat(), "arrival": a.arrival.isoformat()}
            frozen += 1
        else:
            previous.append({"call_id": a.call_id, "berth_id": a.berth_id,
                             "berth_start": a.berth_start.isoformat()})
    data["previous_plan"] = previous
    return frozen
