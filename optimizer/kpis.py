"""KPIs of a plan, from exact times: per call, per port, in total, and the objective.

Everything here works on the problem records and plain datetimes (no model steps), so the
checker, the report and the API compute the same numbers for any plan, from the solver, the
FCFS baseline or a planner's own hands.

Fuel figures are ESTIMATES (cubic speed-power law, typical consumptions by vessel type); they
show the order of magnitude a just-in-time arrival saves, not a bunker forecast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from optimizer.domain import Call, Problem, Vessel, VesselType
from optimizer.params import ObjectiveWeights
from optimizer.plan import CallAssignment, Kpis, PortKpis

#: ESTIMATES of main-engine fuel at service speed (t/day) for small Caspian ships, used when a
#: vessel has no `fuel_t_per_day`. Picked from typical figures for ships of 100-155 m (ASCO
#: ferries, 300-TEU feeders, 5-12 kt dwt tankers and bulkers); they are not measured values.
DEFAULT_FUEL_T_PER_DAY: dict[VesselType, float] = {
    VesselType.RAIL_FERRY: 20.0,
    VesselType.RO_PAX: 22.0,
    VesselType.RO_RO: 18.0,
    VesselType.CONTAINER_FEEDER: 12.0,
    VesselType.TANKER: 14.0,
    VesselType.BULK_CARRIER: 10.0,
    VesselType.GENERAL_CARGO: 10.0,
    VesselType.OTHER: 12.0,
}

#: Sailing-time and gap comparisons allow this much slack (minutes) for float hours.
TOLERANCE_MINUTES = 1e-6

#: ESTIMATE: at anchor a ship burns this share of its service-speed main-engine fuel per hour
#: (generators, boilers), which is what waiting costs against slow steaming.
ANCHORAGE_FUEL_SHARE = 0.05


def minutes(td: timedelta) -> float:
    """A duration in minutes; exact for whole seconds, which is all the model produces."""
    return td.total_seconds() / 60.0


def fmt_time(t: datetime) -> str:
    """A time for people: UTC, seconds only when there are some."""
    u = t.astimezone(UTC)
    return u.strftime("%Y-%m-%d %H:%M:%S UTC" if u.second or u.microsecond else "%Y-%m-%d %H:%M UTC")


def fmt_offset(t: datetime) -> str:
    """The UTC offset of an aware time, as '+05:00' (whole minutes: all the zones in use)."""
    off = int((t.utcoffset() or timedelta(0)).total_seconds() // 60)
    h, m = divmod(abs(off), 60)
    return f"{'+' if off >= 0 else '-'}{h:02d}:{m:02d}"


def fmt_local(problem: Problem, port_id: str, t: datetime) -> str:
    """A time for people at a port: in the port's own offset, then in UTC."""
    local = local_time(problem, port_id, t)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")
    return f"{text} {fmt_offset(local)} ({fmt_time(t)})"


def fmt_day_time(t: datetime) -> str:
    """A time on the Gantt chart, with the weekday a planner plans by: 'Mon 02 Nov 2026 11:00 UTC'."""
    return t.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")


def fmt_day_time_at(t: datetime, tz: ZoneInfo | None) -> str:
    """fmt_day_time, then the port's local time and offset when its zone is known."""
    if tz is None:
        return fmt_day_time(t)
    lt = t.astimezone(tz)
    return f"{fmt_day_time(t)} · {lt:%a %d %b %H:%M} local (UTC{fmt_offset(lt)})"


def fmt_num(fmt: str, value: float) -> str:
    """`value` formatted with `fmt`, without a '-0.0' for values that round to zero."""
    text = fmt.format(value)
    return text.removeprefix("-") if float(text) == 0 else text


def fmt_percent(value: float) -> str:
    """A percentage for people, one format everywhere: '12.5 %'."""
    return fmt_num("{:.1f}", value) + " %"


def fmt_hours(hours: float) -> str:
    """Hours for people, to a tenth: '12.5 h'."""
    return fmt_num("{:.1f}", hours) + " h"


def fmt_minutes(m: float) -> str:
    """A duration for people: '3 h 20 min', '45 min', '-1 h 5 min'."""
    sign = "-" if m < 0 else ""
    m = abs(m)
    h, rest = divmod(m, 60.0)
    rest = round(rest, 1)
    if rest >= 60.0:
        h, rest = h + 1, 0.0
    mins = f"{rest:g} min"
    if h == 0:
        return f"{sign}{mins}"
    return f"{sign}{int(h)} h" if rest == 0 else f"{sign}{int(h)} h {mins}"


def local_time(problem: Problem, port_id: str, t: datetime) -> datetime:
    """`t` in the port's own IANA zone (UTC itself for an unknown port)."""
    for p in problem.ports:
        if p.id == port_id:
            return t.astimezone(ZoneInfo(p.timezone))
    return t.astimezone(UTC)


# -- fuel ----------------------------------------------------------------------------------------


def fuel_t_per_hour(vessel: Vessel) -> float:
    """Main-engine fuel per hour at service speed: the vessel's own figure or the type ESTIMATE."""
    per_day = vessel.fuel_t_per_day or DEFAULT_FUEL_T_PER_DAY[vessel.type]
    return per_day / 24.0


def sea_fuel_t(vessel: Vessel, distance_nm: float, speed_kn: float) -> float:
    """Fuel for `distance_nm` at `speed_kn`: F*(v/vs)^3 per hour for d/v hours = F*d*v^2/vs^3."""
    vs = vessel.service_speed_kn
    return fuel_t_per_hour(vessel) * distance_nm * speed_kn**2 / vs**3


def leg_fuel_saved_t(vessel: Vessel, distance_nm: float, leg_hours: float) -> float:
    """ESTIMATE of fuel saved by sailing the leg in `leg_hours` instead of at service speed.

    At service speed the vessel burns F*d/vs at sea and then waits at anchor for the rest of the
    planned leg time (when the plan gives more time than that) at ANCHORAGE_FUEL_SHARE*F per hour.
    The plan sails at v = d/leg_hours instead. Zero at service speed; negative when v > vs.
    """
    if distance_nm <= 0 or leg_hours <= 0:
        return 0.0
    vs = vessel.service_speed_kn
    f = fuel_t_per_hour(vessel)
    service_hours = distance_nm / vs
    service_fuel = f * distance_nm / vs + ANCHORAGE_FUEL_SHARE * f * max(0.0, leg_hours - service_hours)
    return service_fuel - sea_fuel_t(vessel, distance_nm, distance_nm / leg_hours)


# -- passages: a vessel's way from one served call to the next ---------------------------------


@dataclass(frozen=True)
class Passage:
    """A vessel's way to a served call: from its last served call's departure (or, when it served
    none before, from its voyage ETA at the first call's port) over the ports of the calls it
    passes without stopping, to its arrival. The route's fastest and slowest sailing are its legs'
    added up, at the vessel's max and min speed.

    Time beyond the slowest sailing cannot be spent sailing: the vessel waits at sea (off a port
    it passes, or drifting). `waiting_at_sea_minutes` counts it; it is neither anchorage waiting
    nor dwell, which both count from the arrival at the port.
    """

    call_id: str  # the served call the vessel sails to
    vessel_id: str
    origin_call_id: str | None  # the last served call before it; None: from the voyage ETA
    departure: datetime  # that call's berth end, or the ETA
    arrival: datetime
    passed: tuple[str, ...]  # the calls passed on the way, in voyage order
    ports: tuple[str, ...]  # the route's ports, from where it leaves to where it arrives
    distance_nm: float
    fastest_minutes: float
    slowest_minutes: float

    @property
    def minutes(self) -> float:
        return minutes(self.arrival - self.departure)

    @property
    def waiting_at_sea_minutes(self) -> float:
        excess = self.minutes - self.slowest_minutes
        return excess if excess > TOLERANCE_MINUTES else 0.0

    @property
    def sailing_minutes(self) -> float:
        """The time spent sailing: the passage, less what is waited at sea."""
        return min(self.minutes, self.slowest_minutes)

    def route(self) -> str:
        """'KZKUR -> AZBAK (passed) -> KZKUR, 470 nm'."""
        inner = [f"{p} (passed)" for p in self.ports[1:-1]]
        return " -> ".join([self.ports[0], *inner, self.ports[-1]]) + f", {self.distance_nm:g} nm"


def passages(problem: Problem, by_call: Mapping[str, CallAssignment]) -> dict[str, Passage]:
    """The passage into every assigned call that is not its voyage's first, keyed by call id:
    from the last assigned call before it (the calls between are passed), or from the ETA when
    none is. Left out where a vessel or a distance is unknown (the checker names those)."""
    calls = problem.call_map()
    vessels = problem.vessel_map()
    out: dict[str, Passage] = {}
    for v in problem.voyages:
        vessel = vessels.get(v.vessel_id)
        if vessel is None:
            continue
        origin: tuple[str | None, datetime, int] = (None, v.eta, 0)  # call, departure, index
        for k, cid in enumerate(v.call_ids):
            a = by_call.get(cid)
            if a is None or cid not in calls:
                continue
            if k > 0:
                passage = _passage(problem, vessel, v.call_ids[origin[2]:k + 1], origin, a, calls)
                if passage is not None:
                    out[cid] = passage
            origin = (cid, a.berth_end, k)
    return out


def _passage(problem: Problem, vessel: Vessel, route: list[str], origin: tuple[str | None, datetime, int],
             a: CallAssignment, calls: Mapping[str, Call]) -> Passage | None:
    if any(cid not in calls for cid in route):
        return None
    ports = tuple(calls[cid].port_id for cid in route)
    nm = 0.0
    for here, there in pairwise(ports):
        leg = problem.distance_nm(here, there)
        if leg is None:
            return None
        nm += leg
    origin_call, departure, _ = origin
    passed = tuple(route[1:-1]) if origin_call is not None else tuple(route[:-1])
    return Passage(call_id=a.call_id, vessel_id=vessel.id, origin_call_id=origin_call,
                   departure=departure, arrival=a.arrival, passed=passed, ports=ports,
                   distance_nm=nm, fastest_minutes=nm / vessel.max_speed_kn * 60,
                   slowest_minutes=nm / vessel.min_speed_kn * 60)


# -- per call ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallMetrics:
    """What follows from one call's assignment, in exact minutes."""

    call_id: str
    port_id: str
    vessel_id: str
    weight: int
    waiting_minutes: float
    dwell_minutes: float
    lateness_minutes: float
    inbound_distance_nm: float | None
    inbound_speed_kn: float | None
    fuel_saved_t: float | None
    waiting_at_sea_minutes: float = 0.0


def first_assignments(problem: Problem, assignments: Iterable[CallAssignment]) -> dict[str, CallAssignment]:
    """The first assignment of each known call; unknown and repeated calls are the checker's business."""
    calls = problem.call_map()
    out: dict[str, CallAssignment] = {}
    for a in assignments:
        if a.call_id in calls and a.call_id not in out:
            out[a.call_id] = a
    return out


def call_metrics(problem: Problem, assignments: Iterable[CallAssignment]) -> dict[str, CallMetrics]:
    """Metrics of every assigned call of the problem, keyed by call id."""
    by_call = first_assignments(problem, assignments)
    calls = problem.call_map()
    vessels = problem.vessel_map()
    ways = passages(problem, by_call)
    out: dict[str, CallMetrics] = {}
    for cid, a in by_call.items():
        c = calls[cid]
        lateness = 0.0
        if c.requested_departure is not None:
            lateness = max(0.0, minutes(a.berth_end - c.requested_departure))
        distance: float | None = None
        speed: float | None = None
        fuel: float | None = None
        at_sea = 0.0
        way = ways.get(cid)
        vessel = vessels.get(c.vessel_id)
        if way is not None and vessel is not None:
            # over the ports it passes: the whole route, sailed no slower than the vessel can
            distance, at_sea = way.distance_nm, way.waiting_at_sea_minutes
            sailing_hours = way.sailing_minutes / 60.0
            if distance > 0 and sailing_hours > 0:
                speed = distance / sailing_hours
                fuel = leg_fuel_saved_t(vessel, distance, sailing_hours)
        out[cid] = CallMetrics(
            call_id=cid, port_id=c.port_id, vessel_id=c.vessel_id, weight=c.weight,
            waiting_minutes=minutes(a.berth_start - a.arrival),
            dwell_minutes=minutes(a.berth_end - a.arrival),
            lateness_minutes=lateness,
            inbound_distance_nm=distance, inbound_speed_kn=speed, fuel_saved_t=fuel,
            waiting_at_sea_minutes=at_sea,
        )
    return out


# -- berth utilization ---------------------------------------------------------------------------


def _union_hours(intervals: Iterable[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> float:
    """Hours covered by the union of intervals, clipped to [lo, hi]."""
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in intervals if a < hi and b > lo)
    total = timedelta(0)
    cur: tuple[datetime, datetime] | None = None
    for a, b in clipped:
        if a >= b:
            continue
        if cur is None or a > cur[1]:
            if cur is not None:
                total += cur[1] - cur[0]
            cur = (a, b)
        else:
            cur = (cur[0], max(cur[1], b))
    if cur is not None:
        total += cur[1] - cur[0]
    return minutes(total) / 60.0


def berth_hours(problem: Problem, by_call: dict[str, CallAssignment]) -> dict[str, tuple[float, float]]:
    """Per berth: (busy hours, available hours) inside the horizon.

    Available = horizon minus the berth's unavailable windows; closures do not reduce it (a berth
    in a storm is still a berth the plan could have used before and after).
    """
    h0, h1 = problem.horizon_start, problem.horizon_end
    horizon_h = minutes(h1 - h0) / 60.0
    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    for a in by_call.values():
        busy.setdefault(a.berth_id, []).append((a.berth_start, a.berth_end))
    out: dict[str, tuple[float, float]] = {}
    for bid, b in problem.berths().items():
        down = _union_hours(((w.start, w.end) for w in b.unavailable), h0, h1)
        out[bid] = (_union_hours(busy.get(bid, []), h0, h1), horizon_h - down)
    return out


# -- objective and totals ------------------------------------------------------------------------


def objective(problem: Problem, assignments: Iterable[CallAssignment],
              weights: ObjectiveWeights | None = None) -> float:
    """The objective of ObjectiveWeights' docstring, in exact minutes.

    Calls without an assignment, and calls missing from the previous plan, cost nothing.
    """
    by_call = first_assignments(problem, assignments)
    return _objective(problem, by_call, call_metrics(problem, by_call.values()), weights)


def _objective(problem: Problem, by_call: Mapping[str, CallAssignment], metrics: Mapping[str, CallMetrics],
               weights: ObjectiveWeights | None) -> float:
    """The objective from the calls' metrics already worked out (compute_kpis has them)."""
    w = weights or ObjectiveWeights()
    total = 0.0
    for m in metrics.values():
        total += w.dwell * m.weight * m.dwell_minutes + w.lateness * m.weight * m.lateness_minutes
    for prev in problem.previous_in_horizon():
        a = by_call.get(prev.call_id)
        if a is None:
            continue
        if a.berth_id != prev.berth_id:
            total += w.berth_change
        total += w.start_change * abs(minutes(a.berth_start - prev.berth_start))
    return total


def _mean(total: float, n: int) -> float:
    return total / n if n else 0.0


def _port_kpis(port_id: str, ms: Sequence[CallMetrics], busy: float, available: float) -> PortKpis:
    n = len(ms)
    dwell = sum(m.dwell_minutes for m in ms) / 60.0
    waiting = sum(m.waiting_minutes for m in ms) / 60.0
    return PortKpis(
        port_id=port_id, calls=n,
        total_dwell_hours=dwell, mean_dwell_hours=_mean(dwell, n),
        total_waiting_hours=waiting, mean_waiting_hours=_mean(waiting, n),
        total_waiting_at_sea_hours=sum(m.waiting_at_sea_minutes for m in ms) / 60.0,
        total_lateness_hours=sum(m.lateness_minutes for m in ms) / 60.0,
        late_calls=sum(1 for m in ms if m.lateness_minutes > 0),
        berth_utilization=busy / available if available > 0 else 0.0,
    )


def compute_kpis(problem: Problem, assignments: Iterable[CallAssignment],
                 weights: ObjectiveWeights | None = None) -> Kpis:
    """Totals and per-port KPIs of the assigned calls (unassigned calls are left out)."""
    by_call = first_assignments(problem, assignments)
    metrics = call_metrics(problem, by_call.values())
    hours = berth_hours(problem, by_call)
    per_port: list[PortKpis] = []
    for port in problem.ports:
        ms = [m for m in metrics.values() if m.port_id == port.id]
        busy = sum(hours[b.id][0] for b in port.berths)
        available = sum(hours[b.id][1] for b in port.berths)
        per_port.append(_port_kpis(port.id, ms, busy, available))
    ms = list(metrics.values())
    total = _port_kpis("all", ms, sum(h[0] for h in hours.values()), sum(h[1] for h in hours.values()))
    return Kpis(
        calls=total.calls,
        total_dwell_hours=total.total_dwell_hours, mean_dwell_hours=total.mean_dwell_hours,
        total_waiting_hours=total.total_waiting_hours, mean_waiting_hours=total.mean_waiting_hours,
        total_waiting_at_sea_hours=total.total_waiting_at_sea_hours,
        total_lateness_hours=total.total_lateness_hours, late_calls=total.late_calls,
        berth_utilization=total.berth_utilization,
        weighted_dwell_minutes=sum(m.weight * m.dwell_minutes for m in ms),
        weighted_lateness_minutes=sum(m.weight * m.lateness_minutes for m in ms),
        objective=_objective(problem, by_call, metrics, weights),
        fuel_saved_t=sum(m.fuel_saved_t or 0.0 for m in ms),
        per_port=per_port,
    )
