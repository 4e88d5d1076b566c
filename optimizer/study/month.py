"""One lived month: the same stream of events through re-run FCFS and through a portsync live plan,
and the realized KPIs per port after the warm-up.

The month (optimizer.study.traffic.build_world) is generated for warm-up + counted + tail days;
the warm-up (6 days by default) and the tail (2 days) are lived, not counted. What the ports learn
as the month goes, the same for both planners:

- calls are announced `announce_lead_h` (72 h) before their arrival (`call_added`; a later call of
  a voyage after the vessel's last call): the live plan sees about three days ahead, as a port does;
- each first call's ETA is reported 24 h ahead (a noisy estimate) and 6 h ahead (the truth: the
  scheduled ETA plus N(+1 h, 2 h) truncated to [-3 h, +8 h]);
- storms come as `closure` events 12 h before they close a port (the generated windows);
- late grain trains as `cargo_ready` events 12 h before the train was due (a fifth are 6-12 h late);
- actuals come from `portsync replay`'s simulated world (optimizer.live.simulate.actuals_due): the
  vessels follow the plan in force, a fifth berth 10-60 min late (seeded per call).

Everything reported up to a clock tick (every `clock_step_h`, 3 h) goes in one batch with that
tick's actuals; each batch makes a version, planned by the planner, and every version passes the
independent checker (a failure raises MonthCheckFailed: an error, not a number). After the last
tick the clock runs on until every call has departed.

The realized KPIs (per port and planner) count the calls whose *ready time* falls in the counted
days. A call is ready when its vessel could be at the port sailing at service speed (a first call:
its true ETA; a later call: the actual departure from the call before plus the leg at service speed)
and its cargo is ready (the train in). Waiting is berthing - ready: the queueing delay wherever it is
spent, at anchor or held back at sea by a slower speed (a just-in-time arrival moves waiting to sea,
it does not remove it); the anchor part alone is reported beside it. Deterministic: one worker and
work budgets (optimizer.params.OneWorkerBudgets) scaled so that the wall-clock limit is
`wall_factor` times the work budget, which the work ends well within on a loaded machine.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from optimizer.checker import check, summary
from optimizer.domain import Call, Problem
from optimizer.live.baselines import FcfsLivePlan
from optimizer.live.events import CallAdded, CargoReady, Clock, ClosureEvent, Eta, Event
from optimizer.live.live_plan import LivePlan
from optimizer.live.replan import ReplanSettings
from optimizer.live.replaying import DRAIN_ROUNDS, percentile, realized
from optimizer.live.simulate import BerthingDelay, actuals_due, all_departed, seeded_delay
from optimizer.live.state import LiveState
from optimizer.params import ContentionBoundParameters, MipParameters, OneWorkerBudgets, SearchParameters
from optimizer.plan import CallAssignment
from optimizer.study.options import parse_option
from optimizer.study.records import MonthKey, MonthResult, Planner, PortKpis
from optimizer.study.traffic import MonthWorld, TrafficModel, build_world


class MonthLimits(BaseModel):
    """How much search a lived month gets: a test month takes seconds, the default month minutes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_budget_s: float = Field(default=4.0, gt=0, le=600, description="Version 1's work budget "
                                  "(seconds of work at the one-worker rates).")
    replan_budget_s: float = Field(default=0.3, gt=0, le=60, description="Each later version's work budget.")
    wall_factor: float = Field(default=20.0, ge=1, le=1000, description="Wall-clock limit = budget x this: "
                               "the work budgets end first, so the month is the same on a loaded machine.")
    rings: int = Field(default=1, ge=0, le=5, description="Widenings of the freed calls per replan "
                       "(optimizer.live.replan.ReplanSettings.rings).")
    min_round_wall_s: float = Field(default=2.0, ge=0, le=60, description="Each solve's wall-clock limit is "
                                    "at least this (the factor grows for small budgets): on a loaded machine "
                                    "model building alone can take a tenth of a second.")
    clock_step_h: float = Field(default=3.0, ge=0.5, le=6, description="Hours between clock ticks: what "
                                "is reported between two ticks goes in one batch, one version.")


class MonthCheckFailed(RuntimeError):
    """A version of a lived month broke a hard rule: the month has no figures."""


# -- the stream ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Announce:
    """A call becoming known; made into a call_added against the facts at its tick."""

    call_id: str


Item = Event | _Announce


@dataclass
class MonthStream:
    """What the ports know at the start (`initial`) and what they learn when (`timed`), and the
    truth the KPIs are counted against."""

    world: MonthWorld
    truth: Problem
    initial: Problem
    timed: list[tuple[datetime, int, Item]]
    true_eta: dict[str, datetime]  # first call id -> its true arrival
    ready_cargo: dict[str, datetime]  # call id -> its cargo's true ready time


def _round5(t: datetime) -> datetime:
    base = t.replace(second=0, microsecond=0)
    return base - timedelta(minutes=base.minute % 5)


def _noise(rng: random.Random, m: TrafficModel) -> timedelta:
    lo, hi = -m.eta_early_h.value, m.eta_late_h.value
    for _ in range(1000):
        x = rng.gauss(m.eta_mean_h.value, m.eta_sigma_h.value)
        if lo <= x <= hi:
            return timedelta(hours=x)
    return timedelta(hours=min(max(m.eta_mean_h.value, lo), hi))


def month_stream(world: MonthWorld, truth: Problem) -> MonthStream:
    """The month's events for its seed (the same for every planner and option of the seed)."""
    m, p = world.model, truth
    rng = random.Random(f"portsync-study-events-{world.seed}")
    t0, t_end = p.horizon_start, p.horizon_end
    lead = timedelta(hours=m.announce_lead_h.value)
    late_lead = timedelta(hours=m.eta_report_leads_h.high)
    early_lead = timedelta(hours=m.eta_report_leads_h.low)
    timed: list[tuple[datetime, int, Item]] = []
    true_eta: dict[str, datetime] = {}
    eta_of: dict[str, datetime] = {}  # the voyage's ETA as known at its announcement
    for v in sorted(p.voyages, key=lambda v: v.vessel_id):
        first = v.call_ids[0]
        truth_t = min(max(_round5(v.eta + _noise(rng, m)), t0), t_end - timedelta(hours=1))
        guess = min(max(_round5(v.eta + _noise(rng, m)), t0), t_end - timedelta(hours=1))
        true_eta[first] = truth_t
        eta_of[first] = v.eta
        seen = min(v.eta, truth_t)
        timed.append((seen - lead, 0, _Announce(first)))
        timed.append((seen - late_lead, 1, Eta(event_id=f"eta24-{v.vessel_id}", call_id=first, eta=guess,
                                               source="carrier")))
        timed.append((seen - early_lead, 1, Eta(event_id=f"eta6-{v.vessel_id}", call_id=first, eta=truth_t,
                                                source="carrier")))
        known = seen - lead
        for cid in v.call_ids[1:]:
            known = max(known, world.nominal_arrival[cid] - lead)
            timed.append((known, 0, _Announce(cid)))
    ready_cargo: dict[str, datetime] = {}
    train_lead = timedelta(hours=12)
    for c in sorted(p.calls, key=lambda c: c.id):
        if c.cargo.value != "grain" or c.earliest_start is None:
            continue
        ready_cargo[c.id] = c.earliest_start
        if rng.random() < m.late_train_share.value:
            late = _round5(c.earliest_start + timedelta(hours=rng.uniform(*m.late_train_h.pair)))
            ready_cargo[c.id] = late
            timed.append((c.earliest_start - train_lead, 1, CargoReady(
                event_id=f"train-late-{c.id}", call_id=c.id, time=late, source="railway")))
    notice = timedelta(hours=m.storm_notice_h.value)
    for port in p.ports:
        for k, w in enumerate(port.closures):
            timed.append((w.start - notice, 1, ClosureEvent(
                event_id=f"storm-{port.id}-{k + 1}", port_id=port.id, start=w.start, end=w.end,
                reason=w.reason or "storm", source="harbour master")))
    timed.sort(key=lambda x: (x[0], x[1], _item_id(x[2])))
    # What is known at the start: the calls announced by then (as scheduled), no storm yet.
    known_ids = {x.call_id for t, _, x in timed if isinstance(x, _Announce) and t <= t0}
    voyages = [v.model_copy(update={"call_ids": [c for c in v.call_ids if c in known_ids]})
               for v in p.voyages if v.call_ids[0] in known_ids]
    ports = [port.model_copy(update={"closures": []}) for port in p.ports]
    initial = p.model_copy(update={"calls": [c for c in p.calls if c.id in known_ids], "voyages": voyages,
                                   "ports": ports, "links": []})
    rest = [x for x in timed if not (isinstance(x[2], _Announce) and x[2].call_id in known_ids)]
    return MonthStream(world=world, truth=p, initial=initial, timed=rest, true_eta=true_eta,
                       ready_cargo=ready_cargo)


def _item_id(x: Item) -> str:
    return x.call_id if isinstance(x, _Announce) else x.event_id


def _materialize(items: list[Item], state: LiveState, truth: Problem, deferred: list[Item],
                 eta_of: Callable[[str], datetime]) -> list[Event]:
    """The items due at a tick as events against the facts: an announced call after its vessel's
    last call (or as a new voyage); an event about a call not yet known waits for it."""
    p = state.problem
    known = p.call_map()
    gone = set(state.cancelled)
    truth_calls = truth.call_map()
    last_of = {v.vessel_id: v.call_ids[-1] for v in p.voyages}
    out: list[Event] = []
    added: dict[str, str] = {}  # vessel -> call added in this batch
    waiting: list[Item] = []
    for x in items:
        if isinstance(x, _Announce):
            c: Call = truth_calls[x.call_id]
            after = added.get(c.vessel_id) or last_of.get(c.vessel_id)
            if after is not None:
                out.append(CallAdded(event_id=f"announce-{c.id}", call=c, after_call_id=after,
                                     source="agent"))
            else:
                out.append(CallAdded(event_id=f"announce-{c.id}", call=c, eta=eta_of(c.id), source="agent"))
            added[c.vessel_id] = c.id
            continue
        cid = getattr(x, "call_id", None)
        if cid is not None and cid not in known and cid not in added.values():
            if cid not in gone:
                waiting.append(x)
            continue
        out.append(x)
    deferred.extend(waiting)
    return out


# -- living it ---------------------------------------------------------------------------------------


def _settings_and_params(limits: MonthLimits, seed: int) -> tuple[ReplanSettings, SearchParameters]:
    """Time limits of `factor` x the budgets, and work budgets per second of limit divided by the
    factor: the work is the budget's, the wall clock a safety net (bounds that only run on the
    wall clock, the time-indexed MIP and the contention LP, are left out: they do not make plans)."""
    f = max(limits.wall_factor, limits.min_round_wall_s * (limits.rings + 1) / limits.replan_budget_s)
    settings = ReplanSettings(first_time_limit_s=limits.first_budget_s * f,
                              replan_time_limit_s=limits.replan_budget_s * f, first_workers=1, seed=seed,
                              rings=limits.rings)
    one = OneWorkerBudgets()
    params = SearchParameters(
        one_worker=dataclasses.replace(one, deterministic_share=one.deterministic_share / f,
                                       ls_moves_per_s=max(1, round(one.ls_moves_per_s / f)),
                                       lns_rounds_per_s=one.lns_rounds_per_s / f),
        mip=MipParameters(max_s=0.0), contention=ContentionBoundParameters(share=0.0))
    return settings, params


@dataclass
class Lived:
    live: LivePlan
    checked: int


def live_stream(stream: MonthStream, make: Callable[..., LivePlan], settings: ReplanSettings,
                delay: BerthingDelay, clock_step_h: float) -> Lived:
    """The stream lived through one planner; every version checked (MonthCheckFailed)."""
    live = make(stream.initial, settings)
    checked = _check(live, 1)
    eta_of = _first_etas(stream.truth)
    pending = list(stream.timed)
    deferred: list[Item] = []
    step = timedelta(hours=clock_step_h)
    t = stream.truth.horizon_start
    end = stream.truth.horizon_end
    i = 0
    while t < end:
        t = min(t + step, end)
        due: list[Item] = list(deferred)
        deferred.clear()
        while i < len(pending) and pending[i][0] <= t:
            due.append(pending[i][2])
            i += 1
        news = _materialize(due, live.state, stream.truth, deferred,
                            lambda cid: eta_of.get(cid, stream.world.nominal_arrival[cid]))
        batch = [*actuals_due(live.state, live.current, t, delay), *news,
                 Clock(event_id=f"clock-{t:%Y%m%dT%H%M}", now=t, source="clock")]
        live.advance(batch)
        checked += _check(live, live.current.number)
    for k in range(DRAIN_ROUNDS * 4):
        if all_departed(live.state):
            break
        ends = [c.berth_end for c in live.current.plan.calls]
        until = max([*ends, live.state.now]) + timedelta(hours=2)
        batch = [*actuals_due(live.state, live.current, until, delay),
                 Clock(event_id=f"clock-drain-{k + 1}", now=until, source="simulator")]
        live.advance(batch)
        checked += _check(live, live.current.number)
    return Lived(live=live, checked=checked)


def _first_etas(p: Problem) -> dict[str, datetime]:
    return {v.call_ids[0]: v.eta for v in p.voyages}


def _check(live: LivePlan, number: int) -> int:
    v = live.current
    report = check(v.problem, v.plan, live.settings.weights)
    if not report.ok:
        raise MonthCheckFailed(f"version {number} of the {type(live).__name__} breaks hard rules: "
                               f"{summary(report)}")
    return 1


# -- the realized KPIs -------------------------------------------------------------------------------


def _hours(td: timedelta) -> float:
    return td.total_seconds() / 3600.0


@dataclass(frozen=True)
class CallFacts:
    """One call as it really went: when it was ready, arrived, berthed and left (None: never)."""

    call_id: str
    port_id: str
    ready: datetime
    arrival: datetime | None
    berth_id: str | None
    berthing: datetime | None
    departure: datetime | None
    requested: datetime | None


def call_facts(stream: MonthStream, state: LiveState) -> list[CallFacts]:
    """Every call of the month with its ready time (see the module docstring) and realized times."""
    p = stream.truth
    done = {a.call_id: a for a in realized(state)}
    vessels = p.vessel_map()
    calls = p.call_map()
    out = []
    for v in p.voyages:
        for k, cid in enumerate(v.call_ids):
            c = calls[cid]
            if k == 0:
                ready = stream.true_eta[cid]
            else:
                prev = done.get(v.call_ids[k - 1])
                if prev is None:
                    ready = stream.world.nominal_arrival[cid]
                else:
                    nm = p.distance_nm(calls[v.call_ids[k - 1]].port_id, c.port_id) or 0.0
                    ready = prev.berth_end + timedelta(hours=nm / vessels[c.vessel_id].service_speed_kn)
            if (cargo := stream.ready_cargo.get(cid, c.earliest_start)) is not None:
                ready = max(ready, cargo)
            a: CallAssignment | None = done.get(cid)
            out.append(CallFacts(call_id=cid, port_id=c.port_id, ready=ready,
                                 arrival=a.arrival if a else None, berth_id=a.berth_id if a else None,
                                 berthing=a.berth_start if a else None, departure=a.berth_end if a else None,
                                 requested=c.requested_departure))
    return sorted(out, key=lambda f: (f.ready, f.call_id))


def _clip(a: datetime, b: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, _hours(min(b, hi) - max(a, lo)))


def _open_minus(windows: list[tuple[datetime, datetime]], lo: datetime, hi: datetime
                ) -> list[tuple[datetime, datetime]]:
    """[lo, hi) without the windows."""
    out, at = [], lo
    for a, b in sorted(windows):
        if b <= at or a >= hi:
            continue
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < hi:
        out.append((at, hi))
    return out


def port_kpis(stream: MonthStream, facts: list[CallFacts], port_id: str, planner: Planner) -> PortKpis:
    """One port's realized figures over the counted days (see the module docstring)."""
    lo, hi = stream.world.counted_from, stream.world.counted_to
    T = _hours(hi - lo)
    port = next(x for x in stream.truth.ports if x.id == port_id)
    mine = [f for f in facts if f.port_id == port_id]
    counted = [f for f in mine if lo <= f.ready < hi]
    served = [f for f in counted if f.berthing is not None and f.departure is not None]
    waits = [max(0.0, _hours(f.berthing - f.ready)) for f in served if f.berthing]
    anchor = [max(0.0, _hours(f.berthing - f.arrival)) for f in served if f.berthing and f.arrival]
    services = [_hours(f.departure - f.berthing) for f in served if f.departure and f.berthing]
    late = [max(0.0, _hours(f.departure - f.requested)) if f.requested and f.departure else 0.0
            for f in served]
    # occupancy: berth-hours taken within open hours (closures and maintenance out), counted days
    closures = [(w.start, w.end) for w in port.closures]
    open_h = occupied = 0.0
    for b in port.berths:
        spans = _open_minus([*closures, *((w.start, w.end) for w in b.unavailable)], lo, hi)
        open_h += sum(_hours(z - a) for a, z in spans)
        for f in mine:
            if f.berth_id == b.id and f.berthing and f.departure:
                occupied += sum(_clip(f.berthing, f.departure, a, z) for a, z in spans)
    # L_q: the queue-length integral over the counted days, every call of the port (a sweep)
    steps: list[tuple[datetime, int]] = []
    for f in mine:
        if f.berthing is None:
            continue
        a, z = max(f.ready, lo), min(f.berthing, hi)
        if a < z:
            steps += [(a, 1), (z, -1)]
    area, n, at = 0.0, 0, lo
    for t, d in sorted(steps):
        area += n * _hours(t - at)
        n, at = n + d, t
    queue = area / T
    lam = len(served) / T
    wq = sum(waits) / len(waits) if waits else 0.0
    s = sum(services) / len(services) if services else 0.0
    gap = abs(queue - lam * wq) / max(queue, lam * wq, 1e-9)
    return PortKpis(
        port_id=port_id, planner=planner, berths=len(port.berths), calls=len(served),
        unservable=len(counted) - len(served), occupancy=occupied / open_h if open_h else 0.0,
        wait_mean_h=wq, wait_p95_h=percentile(waits, 0.95),
        anchorage_wait_mean_h=sum(anchor) / len(anchor) if anchor else 0.0, service_mean_h=s,
        wq_over_s=wq / s if s else 0.0, dwell_mean_h=wq + s,
        lateness_mean_h=sum(late) / len(late) if late else 0.0, queue_mean=queue, arrivals_per_h=lam,
        littles_law_gap=gap if (queue or lam * wq) else 0.0)


# -- the month -----------------------------------------------------------------------------------


@dataclass
class LivedMonth:
    """A lived month with what is behind its figures (for tests and reports)."""

    result: MonthResult
    stream: MonthStream
    runs: dict[Planner, Lived]


def prepare(model: TrafficModel, key: MonthKey) -> MonthStream:
    """The month of a key: the option applied to the model at the key's growth, the world built,
    the option's berths, the stream."""
    option = parse_option(key.option)
    scaled = option.model(model.scaled(key.growth))
    world = build_world(scaled, key.seed, storm_scale=option.storm_scale)
    return month_stream(world, option.problem(world.problem))


def live_month_full(model: TrafficModel, key: MonthKey, limits: MonthLimits | None = None) -> LivedMonth:
    limits = limits or MonthLimits()
    stream = prepare(model, key)
    settings, params = _settings_and_params(limits, key.seed)
    delay = seeded_delay(key.seed, share=model.berthing_delay_share.value)
    makers: dict[Planner, Callable[..., LivePlan]] = {
        Planner.FCFS: partial(FcfsLivePlan.create, params=params),
        Planner.PORTSYNC: partial(LivePlan.create, params=params),
    }
    runs = {who: live_stream(stream, make, settings, delay, limits.clock_step_h)
            for who, make in makers.items()}
    ports = []
    for who, run in runs.items():
        facts = call_facts(stream, run.live.state)
        ports += [port_kpis(stream, facts, p.id, who) for p in stream.truth.ports]
    w = stream.world
    result = MonthResult(key=key, warmup_h=w.warmup_h, hours=w.hours,
                         tail_h=_hours(stream.truth.horizon_end - w.counted_to),
                         calls=len(stream.truth.calls),
                         plans_checked=sum(r.checked for r in runs.values()), ports=ports)
    return LivedMonth(result=result, stream=stream, runs=runs)


def live_month(model: TrafficModel, key: MonthKey, limits: MonthLimits | None = None) -> MonthResult:
    """The month of `key` lived through re-run FCFS and a portsync live plan: realized KPIs per
    port and planner after the warm-up (the same key and limits, the same result)."""
    return live_month_full(model, key, limits).result
