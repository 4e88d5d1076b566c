"""The queueing textbook as a portsync problem: one port, n identical berths, Poisson arrivals,
Erlang-2 handling, first come first served; its simulated Wq/S set beside the exact M/E2/n value.

This is how the capacity study is checked against theory: the textbook port is a real
:class:`~optimizer.domain.Problem` (validated as a problem file is), planned by the project's own
FCFS (:func:`optimizer.baseline.fcfs`, how the studies plan FCFS), and its plan passes the
independent checker; the waiting, the occupancy and the queue are then measured from the plan's
times, after a warm-up, and set against :mod:`optimizer.study.queueing`.

Time is compressed. Wq/S depends only on the berths, the occupancy and the handling's variability,
not on the length of S; a problem's horizon is at most 366 days and its grid is whole minutes. So
the mean handling S is chosen so that the calls asked for arrive over ARRIVAL_SPAN_DAYS (a few
minutes to at most a day), and every ETA and every handling time is a whole number of minutes:
the grid then rounds nothing, and the plan's times are the queue's times. What this leaves is the
rounding of each handling time and inter-arrival time to the minute, a variance of 1/12 min^2
against the S^2 / 2 of Erlang-2 handling: negligible at S >= MIN_SERVICE_MINUTES.

Warm-up: a port that opens with empty berths understates waiting, so calls arriving in the first
WARMUP_SHARE of the arrival span are not counted; the window counted runs from there to the last
arrival. Little's law is checked on every run: the time-averaged number waiting, from the integral
of the queue length over the window (a sweep over the plan's arrivals and berthings), against the
arrival rate counted times the mean waiting of the calls counted.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np
from pydantic import BaseModel, Field

from optimizer.baseline import fcfs
from optimizer.checker import check, summary
from optimizer.domain import Problem
from optimizer.kpis import minutes
from optimizer.loading import load_problem
from optimizer.plan import CallAssignment
from optimizer.study.queueing import check_point, literature_wait_ratio, solve_chain
from optimizer.study.records import MonthKey, MonthResult, Planner, PortKpis

PORT_ID = "TEXTBOOK"
OPTION = "textbook"
START = datetime(2025, 1, 1, tzinfo=UTC)
ARRIVAL_SPAN_DAYS = 330  # nominal; arrivals past LAST_ARRIVAL_DAYS (a rare long draw) are dropped
LAST_ARRIVAL_DAYS = 364
DRAIN_DAYS = 1  # horizon after the last arrival (the plan may run past it: the horizon bounds ETAs)
MIN_SERVICE_MINUTES = 5.0
MAX_SERVICE_MINUTES = 24 * 60.0
WARMUP_SHARE = 0.1
#: Default calls per seed: enough for 3 seeds to land within REL_TOLERANCE at occupancy <= 0.8;
#: above, the queue forgets its past ever more slowly (as 1 / (1 - rho)^2) and runs grow so.
BASE_CALLS = 20_000
MAX_CALLS = 60_000
#: Stated tolerance of the simulated mean Wq/S against the exact M/E2/n value.
REL_TOLERANCE, ABS_TOLERANCE = 0.10, 0.02
REL_TOLERANCE_HIGH = 0.20  # above occupancy 0.8 (slower convergence: see BASE_CALLS)
LITTLE_TOLERANCE = 0.02  # Little's law gap on every run
#: Two-sided 95 % Student t quantiles by degrees of freedom (1-30); the normal 1.96 beyond.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042)


def check_textbook_point(berths: int, occupancy: float) -> None:
    """A clear error for a point the textbook cannot simulate (a queue without a steady state)."""
    check_point(berths, occupancy)
    if occupancy <= 0 or occupancy >= 1:
        raise ValueError(f"occupancy must be above 0 and below 1 (got {occupancy}): at 1 or more the "
                         "queue grows without bound and has no mean waiting to check")


def default_calls(berths: int, occupancy: float) -> int:
    """Calls per seed for the stated tolerance: BASE_CALLS up to occupancy 0.8, growing as
    1 / (1 - rho)^2 above it, within MAX_CALLS and what fits the horizon."""
    check_textbook_point(berths, occupancy)
    wanted = BASE_CALLS * max(1.0, (0.2 / (1 - occupancy)) ** 2)
    return int(min(wanted, MAX_CALLS, max_calls(berths, occupancy)))


def max_calls(berths: int, occupancy: float) -> int:
    """The most calls whose arrivals fit ARRIVAL_SPAN_DAYS with a mean handling of at least
    MIN_SERVICE_MINUTES."""
    return int(ARRIVAL_SPAN_DAYS * 24 * 60 * berths * occupancy / MIN_SERVICE_MINUTES)


def service_minutes(berths: int, occupancy: float, calls: int) -> float:
    """The mean handling S, in minutes, that spreads `calls` arrivals over ARRIVAL_SPAN_DAYS."""
    check_textbook_point(berths, occupancy)
    if calls < 100:
        raise ValueError(f"calls must be at least 100 (got {calls}): fewer leave nothing after the warm-up")
    if calls > max_calls(berths, occupancy):
        raise ValueError(f"calls {calls} is too many for {berths} berth(s) at occupancy {occupancy}: "
                         f"the mean handling would fall below {MIN_SERVICE_MINUTES:g} minutes within "
                         f"the problem's horizon; use at most {max_calls(berths, occupancy)}")
    return min(MAX_SERVICE_MINUTES, ARRIVAL_SPAN_DAYS * 24 * 60 * berths * occupancy / calls)


def textbook_problem(berths: int, occupancy: float, calls: int, seed: int) -> tuple[Problem, float]:
    """The textbook port as a validated Problem, and its nominal mean handling S in minutes.

    Arrivals: a Poisson process of rate n * rho / S (exponential inter-arrival times), each ETA
    cut to its minute. Handling: Erlang-2 of mean S (gamma, shape 2), rounded to the minute (at
    least 1). Every berth identical, every vessel fits every berth.
    """
    s = service_minutes(berths, occupancy, calls)
    rng = np.random.default_rng([seed, berths, round(occupancy * 1e6)])
    gaps = rng.exponential(s / (berths * occupancy), calls)
    handling = np.maximum(1, np.rint(rng.gamma(2.0, s / 2.0, calls))).astype(int)
    etas = np.floor(np.cumsum(gaps)).astype(int)
    keep = etas <= LAST_ARRIVAL_DAYS * 24 * 60
    etas, handling = etas[keep], handling[keep]
    width = len(str(len(etas)))
    data = {
        "name": f"textbook M/E2/{berths} at occupancy {occupancy:g}, seed {seed}",
        "description": f"Poisson arrivals, Erlang-2 handling of mean {s:.2f} min, {berths} identical "
                       "berths, first come first served (compressed time: Wq/S is scale-free).",
        "horizon_start": START,
        "horizon_end": START + timedelta(minutes=int(etas[-1]), days=DRAIN_DAYS),
        "ports": [{
            "id": PORT_ID, "name": f"Textbook port, {berths} berth(s)", "timezone": "UTC",
            "berths": [{"id": f"B{b + 1}", "length_m": 200, "max_draft_m": 12, "cargo_kinds": ["general"]}
                       for b in range(berths)],
        }],
        "vessels": [{"id": f"V{i:0{width}d}", "length_m": 120, "draft_m": 6, "type": "general_cargo"}
                    for i in range(len(etas))],
        "calls": [{"id": f"C{i:0{width}d}", "vessel_id": f"V{i:0{width}d}", "port_id": PORT_ID,
                   "cargo": "general", "handling": {"hours": int(h) / 60}}
                  for i, h in enumerate(handling)],
        "voyages": [{"vessel_id": f"V{i:0{width}d}", "eta": START + timedelta(minutes=int(t)),
                     "call_ids": [f"C{i:0{width}d}"]}
                    for i, t in enumerate(etas)],
    }
    return load_problem(data), s


def t95(seeds: int) -> float:
    """The 95 % two-sided Student t quantile for a mean over `seeds` values."""
    df = seeds - 1
    return _T95[df - 1] if 1 <= df <= len(_T95) else 1.96


def measure(berths: int, etas: dict[str, datetime], plan: list[CallAssignment], t0: datetime,
            t1: datetime, planner: Planner = Planner.FCFS) -> PortKpis:
    """The textbook port's KPIs from the plan's times over the window [t0, t1]: calls arriving in
    it are counted; the queue integral and berth occupancy are clipped to it."""
    lo, hi = 0.0, minutes(t1 - t0)
    planned = {a.call_id for a in plan}
    waits, services, dwells = [], [], []
    events: list[tuple[float, int]] = []  # (minute, +1 a vessel starts waiting / -1 it berths)
    busy = 0.0
    for a in plan:
        eta = minutes(etas[a.call_id] - t0)
        start, end = minutes(a.berth_start - t0), minutes(a.berth_end - t0)
        if lo <= eta <= hi:
            waits.append(start - eta)
            services.append(end - start)
            dwells.append(end - eta)
        if start > eta:
            events += [(eta, 1), (start, -1)]
        busy += max(0.0, min(end, hi) - max(start, lo))
    queue_minutes = _queue_integral(events, lo, hi)
    n = len(waits)
    if n == 0:
        raise ValueError("no call arrived in the window counted: give more calls")
    hours = hi / 60
    wait_mean = float(np.mean(waits)) / 60
    service_mean = float(np.mean(services)) / 60
    queue_mean = queue_minutes / hi
    rate = n / hours
    little = abs(queue_mean - rate * wait_mean) / max(queue_mean, rate * wait_mean, 1e-9)
    return PortKpis(
        port_id=PORT_ID, planner=planner, berths=berths, calls=n,
        unservable=sum(1 for cid, eta in etas.items() if t0 <= eta <= t1 and cid not in planned),
        occupancy=busy / (berths * hi), wait_mean_h=wait_mean, anchorage_wait_mean_h=wait_mean,
        wait_p95_h=float(np.percentile(waits, 95)) / 60, service_mean_h=service_mean,
        wq_over_s=wait_mean / service_mean, dwell_mean_h=float(np.mean(dwells)) / 60,
        lateness_mean_h=0.0, queue_mean=queue_mean, arrivals_per_h=rate, littles_law_gap=little)


def _queue_integral(events: list[tuple[float, int]], lo: float, hi: float) -> float:
    """Vessel-minutes waiting inside [lo, hi]: the number waiting, a step function swept over the
    plan's arrivals and berthings, integrated."""
    events.sort()
    total, waiting, last = 0.0, 0, lo
    for t, step in events:
        if t > hi:
            break
        if t > last:
            total += waiting * (t - last)
            last = t
        waiting += step
    return total + waiting * max(0.0, hi - last)


def _checked(problem: Problem, plan: list[CallAssignment], who: str) -> list[CallAssignment]:
    report = check(problem, plan)
    if not report.ok:
        raise RuntimeError(f"the {who} plan of the textbook problem breaks the checker: {summary(report)}")
    return plan


def textbook_month(berths: int, occupancy: float, calls: int, seed: int,
                   portsync_s: float | None = None) -> tuple[MonthResult, float]:
    """One seeded run: the textbook problem, its FCFS plan (checker-clean, or a RuntimeError saying
    what broke), and its KPIs after the warm-up; with the nominal S in minutes.

    With `portsync_s`, portsync's own plan of the same problem too (one worker, that time limit, the
    run's seed), measured alike as Planner.PORTSYNC: a comparison, not the textbook. It plans the
    whole run at once knowing every arrival (a clairvoyant static plan, free to serve a short
    handling first), so it waits less than any queue discipline that learns arrivals as they come.
    """
    with _without_cyclic_gc():
        return _textbook_month(berths, occupancy, calls, seed, portsync_s)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Python's cyclic collector off while one run builds, plans and checks its tens of thousands of
    records: it rescans the growing heap again and again (a 20,000-call run took 250 us a call with
    it, 170 without: linear again). Nothing of a run is kept in cycles; on again afterwards."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _textbook_month(berths: int, occupancy: float, calls: int, seed: int,
                    portsync_s: float | None) -> tuple[MonthResult, float]:
    problem, s = textbook_problem(berths, occupancy, calls, seed)
    plans = [(Planner.FCFS, _checked(problem, fcfs(problem), "FCFS"))]
    if portsync_s is not None:
        from optimizer.params import SolveOptions
        from optimizer.solver import solve

        result = solve(problem, SolveOptions(time_limit_s=portsync_s, workers=1, seed=seed))
        if not result.assignments:
            raise RuntimeError(f"portsync found no plan of the textbook problem in {portsync_s:g} s")
        plans.append((Planner.PORTSYNC, _checked(problem, result.assignments, "portsync")))
    etas = {v.call_ids[0]: v.eta for v in problem.voyages}
    first, last = min(etas.values()), max(etas.values())
    t0 = first + (last - first) * WARMUP_SHARE
    month = MonthResult(key=MonthKey(option=OPTION, growth=occupancy, seed=seed),
                        warmup_h=minutes(t0 - problem.horizon_start) / 60, hours=minutes(last - t0) / 60,
                        calls=len(problem.calls), plans_checked=len(plans),
                        ports=[measure(berths, etas, plan, t0, last, who) for who, plan in plans])
    return month, s


class TextbookPoint(BaseModel):
    """One textbook point over its seeds, beside the theory."""

    berths: int = Field(description="Identical berths.")
    occupancy: float = Field(description="Offered berth occupancy rho = lambda S / n.")
    calls: int = Field(description="Calls generated per seed (warm-up included).")
    service_minutes: float = Field(description="Nominal mean handling S, minutes (compressed time).")
    seeds: list[int] = Field(description="The seeds run.")
    months: list[MonthResult] = Field(description="One per seed: the FCFS plan's KPIs (option 'textbook').")
    simulated: float = Field(description="Mean over the seeds of the simulated Wq/S.")
    ci_low: float | None = Field(description="95 % confidence interval of that mean (Student t over "
                                 "seeds), low; None with one seed.")
    ci_high: float | None = Field(description="... high.")
    exact: float = Field(description="Wq/S of M/E2/n, the exact Markov chain.")
    literature_name: str = Field(description="'P-K' for one berth, 'Erlang C scaled' for several.")
    literature: float = Field(description="Wq/S by that closed form.")
    queue_cut: int = Field(description="Longest queue kept in the exact chain (its tail below 1e-12).")
    rel_error: float = Field(description="(simulated - exact) / exact.")
    littles_law_gap: float = Field(description="The largest Little's law gap over the seeds.")
    portsync: float | None = Field(default=None, description="Mean Wq/S of portsync's own plans (a "
                                   "clairvoyant static plan, not the textbook's FCFS), when asked.")
    occupancy_measured: float = Field(description="Mean berth occupancy measured from the plans.")
    tolerance: str = Field(description="The tolerance this point is held to.")
    within: bool = Field(description="Simulated Wq/S within tolerance and Little's law within "
                         f"{LITTLE_TOLERANCE:.0%} on every seed.")
    seconds: float = Field(description="Wall time of the point (all seeds: build, FCFS, check, measure).")


def tolerance_for(occupancy: float) -> tuple[float, float]:
    """(relative, absolute) tolerance of the simulated Wq/S at this occupancy."""
    return (REL_TOLERANCE if occupancy <= 0.8 else REL_TOLERANCE_HIGH), ABS_TOLERANCE


def textbook_point(berths: int, occupancy: float, seeds: list[int], calls: int | None = None,
                   portsync_s: float | None = None) -> TextbookPoint:
    """Run the textbook point over `seeds` and set it beside the theory (and, with `portsync_s`,
    portsync's own clairvoyant plan beside FCFS: see textbook_month)."""
    check_textbook_point(berths, occupancy)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    calls = calls if calls is not None else default_calls(berths, occupancy)
    began = time.perf_counter()
    months, s = [], 0.0
    for seed in seeds:
        month, s = textbook_month(berths, occupancy, calls, seed, portsync_s)
        months.append(month)
    values = np.array([m.ports[0].wq_over_s for m in months])
    mean = float(values.mean())
    half = t95(len(values)) * float(values.std(ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else None
    chain = solve_chain(berths, occupancy)
    name, lit = literature_wait_ratio(berths, occupancy)
    rel, absolute = tolerance_for(occupancy)
    little = max(k.littles_law_gap for m in months for k in m.ports)
    optimized = [k.wq_over_s for m in months for k in m.ports if k.planner is Planner.PORTSYNC]
    close = abs(mean - chain.wait_ratio) <= max(rel * chain.wait_ratio, absolute)
    within = close and little <= LITTLE_TOLERANCE
    return TextbookPoint(
        berths=berths, occupancy=occupancy, calls=calls, service_minutes=s, seeds=list(seeds),
        months=months, simulated=mean,
        ci_low=None if half is None else mean - half, ci_high=None if half is None else mean + half,
        exact=chain.wait_ratio,
        literature_name=name, literature=lit, queue_cut=chain.queue_cut,
        rel_error=(mean - chain.wait_ratio) / chain.wait_ratio,
        littles_law_gap=little, portsync=float(np.mean(optimized)) if optimized else None,
        occupancy_measured=float(np.mean([m.ports[0].occupancy for m in months])),
        tolerance=f"{rel:.0%} relative or {absolute:g} absolute", within=within,
        seconds=time.perf_counter() - began)
