"""Named scenarios, the generator's entry points: `generate` (Caspian-like traffic of any size),
`grain_rush` (a burst of grain ships at Aktau) and `month` (the real berths at the ports' targets).

Above about 16 calls a day the three real ports would be overrun (they handle roughly 15–20 calls
a day together), so ``generate`` then gives each port copies of its berths (``berth_scale``): a
Caspian-like basin at a larger scale that keeps queues at a realistic level instead of inventing
absurd congestion. Weather closures are correlated across the basin: Azerbaijan closes its ports
at once; Kuryk, the most exposed, closes a little earlier and opens later; Aktau closes in some
storms, for a shorter time.

Every hard latest departure is set after the first-come-first-served baseline
(:func:`optimizer.baseline.fcfs`), which meets every hard constraint but latest departures and
link max gaps (the generator makes none): the baseline then meets them too, so a generated
problem is never infeasible by construction.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from optimizer.baseline import fcfs
from optimizer.domain import Port, Problem
from optimizer.generator.ports import AKTAU, ALAT, TIMEZONE, auto_berth_scale, caspian_ports
from optimizer.generator.targets import MonthTraffic
from optimizer.generator.traffic import MIX, WEIGHT, Builder, allocate, build_traffic, quantize, traffic_text
from optimizer.generator.weather import (
    Window,
    basin_closure_windows,
    maintenance_windows,
    merge_windows,
    storm_windows,
)
from optimizer.loading import load_problem

DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)


def baseline_ends(problem: Problem) -> dict[str, float]:
    """Berth end of every call (minutes from the horizon start) in the first-come-first-served
    baseline: latest departures set after it can always be met."""
    return {a.call_id: problem.minutes(a.berth_end) for a in fcfs(problem)}


def _problem_dict(b: Builder, *, name: str, description: str, start: datetime, hours: float,
                  ports: list[Port], closures: Mapping[str, list[Window]],
                  unavailable: Mapping[str, list[Window]], links: bool,
                  time_step_minutes: int) -> dict[str, Any]:
    zones = {pid: ZoneInfo(tz) for pid, tz in TIMEZONE.items()}

    def ts(h: float, port: str, step_min: int = 5, up: bool = False) -> str:
        minutes = h * 60 / step_min
        minutes = math.ceil(minutes - 1e-9) if up else round(minutes)
        return (start + timedelta(minutes=minutes * step_min)).astimezone(zones[port]).isoformat()

    port_dicts = []
    for port in ports:
        d = port.model_dump(mode="json")
        d["closures"] = [{"start": ts(a, port.id), "end": ts(z, port.id, up=True), "reason": r}
                         for a, z, r in merge_windows(list(closures.get(port.id, [])), hours)]
        for bd in d["berths"]:
            bd["unavailable"] = [{"start": ts(a, port.id), "end": ts(z, port.id, up=True), "reason": r}
                                 for a, z, r in unavailable.get(bd["id"], [])]
        port_dicts.append(d)
    call_dicts = []
    for c in b.calls:
        handling: dict[str, Any] = {"hours": c.hours} if c.hours is not None else {"quantity": c.quantity}
        cd: dict[str, Any] = {"id": c.id, "vessel_id": c.vessel.id, "port_id": c.port, "cargo": c.cargo,
                              "handling": handling, "weight": WEIGHT.get(c.cargo, 1)}
        if c.earliest is not None:
            cd["earliest_start"] = ts(c.earliest, c.port)
        if c.requested is not None:
            cd["requested_departure"] = ts(c.requested, c.port, 15)
        call_dicts.append(cd)
    return {
        "name": name,
        "description": description,
        "horizon_start": start.isoformat(),
        "horizon_end": (start + timedelta(hours=hours)).isoformat(),
        "time_step_minutes": time_step_minutes,
        "ports": port_dicts,
        "vessels": [v.model_dump(mode="json", exclude_none=True) for v in b.fleet.vessels],
        "calls": call_dicts,
        "voyages": [{"vessel_id": v.id, "eta": ts(eta, calls[0].port), "call_ids": [c.id for c in calls]}
                    for v, eta, calls in b.voyages],
        "links": b.links if links else [],
    }


def _finish(b: Builder, data: dict[str, Any], start: datetime) -> Problem:
    """Set hard latest departures after the FCFS baseline, which then meets them, and validate."""
    deadlines = [(i, c) for i, c in enumerate(b.calls) if c.hard_deadline]
    if deadlines:
        ends = baseline_ends(Problem.model_validate(data))
        zones = {pid: ZoneInfo(tz) for pid, tz in TIMEZONE.items()}
        for i, c in deadlines:
            margin = b.rng.uniform(24, 48) * 60
            latest = max(ends[c.id] + margin, (c.end + 36) * 60)
            hour = math.ceil(latest / 60 - 1e-9)
            data["calls"][i]["latest_departure"] = (start + timedelta(hours=hour)).astimezone(
                zones[c.port]).isoformat()
    return load_problem(data)


def _check_start(start: datetime | None) -> datetime:
    if start is None:
        return DEFAULT_START
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must carry a UTC offset (an aware datetime)")
    return start

def generate(
    calls: int,
    days: int,
    seed: int = 0,
    *,
    closures: bool = True,
    maintenance: bool = True,
    links: bool = True,
    start: datetime | None = None,
    time_step_minutes: int = 1,
    berth_scale: int | None = None,
    basin_closure: tuple[float, float] | None = None,
    name: str | None = None,
    description: str | None = None,
) -> Problem:
    """A Caspian-like three-port problem with `calls` calls over `days` days, the same for a seed.

    `berth_scale` (default: automatic, see :func:`auto_berth_scale`) copies the real berths when
    the traffic would overrun them. `basin_closure` = (start day, hours) adds a storm that closes
    all three ports together. `closures`, `maintenance` and `links` switch those features; the
    traffic itself does not change with them.
    """
    if calls < 1:
        raise ValueError(f"calls must be at least 1, got {calls}")
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    if basin_closure is not None and basin_closure[1] <= 0:
        raise ValueError(f"basin_closure hours must be positive, got {basin_closure[1]}")
    t0 = _check_start(start)
    hours = days * 24.0
    scale = berth_scale if berth_scale is not None else auto_berth_scale(calls, days)
    ports = caspian_ports(scale)
    b = Builder(hours, random.Random(f"portsync-traffic-{seed}"), ports)
    build_traffic(b, allocate(calls, MIX))
    b.grain_pairs(AKTAU, 0.25)
    weather: dict[str, list[Window]] = (
        storm_windows(random.Random(f"portsync-weather-{seed}"), hours) if closures else {})
    if basin_closure is not None:
        for pid, ws in basin_closure_windows(basin_closure[0] * 24, basin_closure[1]).items():
            weather.setdefault(pid, []).extend(ws)
    upkeep = (maintenance_windows(random.Random(f"portsync-maintenance-{seed}"), ports, days)
              if maintenance else {})
    data = _problem_dict(
        b, name=name or f"caspian-{calls}c-{days}d-seed{seed}", description="", start=t0, hours=hours,
        ports=ports, closures=weather, unavailable=upkeep, links=links, time_step_minutes=time_step_minutes)
    problem = _finish(b, data, t0)
    if description is None:
        description = (
            f"Generated Caspian-like traffic (portsync generator, seed {seed}): {len(problem.calls)} calls "
            f"over {days} days at Aktau, Kuryk and Alat, berth scale {scale}. {traffic_text(problem)}. "
            "Ferry handling 6-12 h and crossings from shared/domain/caspian.md; berth lengths at Kuryk and "
            "Alat, drafts, handling rates, storms and maintenance are ESTIMATES.")
    problem.description = description
    return problem


def grain_rush(
    seed: int = 0,
    *,
    ships: int = 12,
    days: int = 5,
    background_per_day: float = 8.0,
    start: datetime | None = None,
    time_step_minutes: int = 1,
    closures: bool = True,
    maintenance: bool = True,
) -> Problem:
    """A burst of grain ships at Aktau over a few days, loading from trains, on top of normal traffic.

    The ships were held up together (irregular arrivals), so `ships` of them arrive within about
    two days. Wagons already queued at the port cover the first lots; further trains of 54-58
    wagons (~68 t each, ESTIMATE) come every 6-10 h, and each ship's loading cannot start before
    the train completing its lot is in (its earliest start). When a train is split between two
    ships, a link keeps the second after the first (rail front).
    """
    if ships < 1 or days <= 0:
        raise ValueError(f"need at least one ship and a positive number of days, got {ships} and {days}")
    t0 = _check_start(start)
    hours = days * 24.0
    ports = caspian_ports(1)
    rng = random.Random(f"portsync-grain-rush-{seed}")
    b = Builder(hours, rng, ports)
    mix = {k: v for k, v in MIX.items() if k != "aktau_grain"}
    build_traffic(b, allocate(round(background_per_day * days), mix))
    etas = sorted(rng.uniform(min(4.0, hours / 4), min(52.0, hours * 0.6)) for _ in range(ships))
    stock_t = rng.randrange(200, 300) * 68.0  # wagons queued at the start (about 700 in Oct 2025)
    trains: list[tuple[float, float]] = []  # (arrival hour, cumulative tonnes incl. the stock)
    next_train = rng.uniform(2, 8)
    need = 0.0
    for eta in etas:
        vessel = b.fleet.new("bulk")
        qty = quantize(rng.uniform(4000, 5500), 50)
        need += qty
        load = b.call(vessel, 0, AKTAU, "grain", eta, "aktau_grain_rush", quantity=qty)
        while (trains[-1][1] if trains else stock_t) < need:
            wagons = rng.randrange(54, 59)
            trains.append((next_train, (trains[-1][1] if trains else stock_t) + wagons * 68.0))
            next_train += rng.uniform(6, 10)
        if need > stock_t:  # the lot is complete when the first train that covers it is in
            b.hold(load, next(t for t, cum in trains if cum >= need))
        b.soft_due(load, 0.9, 12, 30)
        calls = [load]
        if rng.random() < 0.6:
            dis = b.call(vessel, 1, ALAT, "grain", b.sail(vessel, load, ALAT), "aktau_grain_rush",
                         quantity=qty)
            b.soft_due(dis, 0.8, 12, 36)
            calls.append(dis)
        b.voyage(vessel, calls)
    b.grain_pairs(AKTAU, 0.6, window=48.0)
    weather = storm_windows(random.Random(f"portsync-weather-rush-{seed}"), hours) if closures else {}
    upkeep = (maintenance_windows(random.Random(f"portsync-maintenance-rush-{seed}"), ports, days)
              if maintenance else {})
    data = _problem_dict(b, name=f"caspian-grain-rush-seed{seed}", description="", start=t0, hours=hours,
                         ports=ports, closures=weather, unavailable=upkeep, links=True,
                         time_step_minutes=time_step_minutes)
    problem = _finish(b, data, t0)
    problem.description = (
        f"Grain rush at Aktau (portsync generator, seed {seed}): {ships} grain ships arrive within about "
        f"two days, {len(trains)} grain trains. {traffic_text(problem)}.")
    return problem


def month(
    seed: int = 0,
    *,
    traffic: MonthTraffic | None = None,
    start: datetime | None = None,
    time_step_minutes: int = 1,
    name: str | None = None,
) -> Problem:
    """`traffic.days` days on the 27 real berths of Aktau, Kuryk and Alat at the traffic the
    targets imply (:class:`MonthTraffic`), with the generator's November storms and maintenance and
    hard latest departures set after FCFS (so a complete plan exists). The same for a seed."""
    traffic = traffic or MonthTraffic()
    t0 = _check_start(start)
    hours = traffic.days * 24.0
    ports = caspian_ports(1)
    b = Builder(hours, random.Random(f"portsync-traffic-{seed}"), ports)
    build_traffic(b, traffic.streams())
    for port, tonnes in traffic.grain_tonnes().items():
        b.grain_tonnes("aktau_grain" if port == AKTAU else "kuryk_grain", port, tonnes)
    b.grain_pairs(AKTAU, 0.25)
    weather: dict[str, list[Window]] = storm_windows(random.Random(f"portsync-weather-{seed}"), hours)
    upkeep = maintenance_windows(random.Random(f"portsync-maintenance-{seed}"), ports, traffic.days)
    data = _problem_dict(
        b, name=name or f"caspian-month-{traffic.days}d-seed{seed}", description="", start=t0, hours=hours,
        ports=ports, closures=weather, unavailable=upkeep, links=True, time_step_minutes=time_step_minutes)
    problem = _finish(b, data, t0)
    end = t0 + timedelta(hours=hours)
    problem.description = (
        f"{traffic.days} days ({t0:%d %b %Y} to {end:%d %b %Y}) on the {sum(len(p.berths) for p in ports)} "
        f"real berths of Aktau, Kuryk and Alat (portsync generator, month(seed={seed})) at the traffic the "
        f"ports' targets imply: {'; '.join(traffic.derivation())}. {traffic_text(problem)}. Storms, "
        "maintenance, berth lengths at Kuryk and Alat, drafts and handling rates are ESTIMATES.")
    return problem
