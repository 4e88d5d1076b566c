"""Where everything of the chart goes: port groups and berth rows, the time scale and its ticks,
anchorage-wait lanes, legend flow. Pure data in px, no markup, so the geometry can be read and
tested apart from the drawing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from optimizer.domain import Berth, Call, CargoKind, Port, Problem, TimeWindow
from optimizer.kpis import fmt_offset
from optimizer.plan import CallPlan, Plan

CARGO_LABELS: dict[str, str] = {
    CargoKind.RAIL_FERRY.value: "rail ferry",
    CargoKind.RO_RO.value: "Ro-Ro",
    CargoKind.CONTAINER.value: "container",
    CargoKind.GENERAL.value: "general cargo",
    CargoKind.DRY_BULK.value: "dry bulk",
    CargoKind.GRAIN.value: "grain",
    CargoKind.LIQUID_BULK.value: "liquid bulk",
}

# Geometry, in px. Widths of text are estimates (no font metrics without a browser).
ROW_H = 34.0
BAR_TOP = 4.0
BAR_H = 18.0
WAIT_LANES = (25.5, 28.5, 31.5)
HEADER_H = 34.0
GROUP_GAP = 8.0
AXIS_H = 46.0
PAD = 12.0
MIN_WIDTH = 1200.0
PX_PER_HOUR = 8.0
MAX_PLOT_PX = 16000.0
CHAR_W_10 = 5.6
CHAR_W_11 = 6.4
CHAR_W_12B = 7.2
CHAR_W_13B = 7.9


def utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo | None:
    """The port's zone, or None for a name this machine's tz database lacks (drawn in UTC only)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


def fit_text(text: str, width_px: float, char_w: float) -> str:
    """The text cut with '…' to fit `width_px`; empty when not even three characters fit."""
    fits = int(width_px // char_w)
    if fits >= len(text):
        return text
    if fits < 3:
        return ""
    return text[: fits - 1].rstrip() + "…"


@dataclass(frozen=True)
class Scale:
    start: datetime
    end: datetime
    px_per_hour: float
    left: float

    def x(self, t: datetime) -> float:
        return self.left + (t - self.start).total_seconds() / 3600.0 * self.px_per_hour

    @property
    def right(self) -> float:
        return self.x(self.end)


@dataclass
class Row:
    berth_id: str
    port_id: str
    label: str
    sub: str
    berth: Berth | None
    y: float = 0.0


@dataclass
class Group:
    port_id: str
    title: str
    sub: str
    port: Port | None
    rows: list[Row] = field(default_factory=list)
    y: float = 0.0

    @property
    def bottom(self) -> float:
        return self.y + HEADER_H + ROW_H * len(self.rows)


@dataclass
class Bar:
    cp: CallPlan
    call: Call | None
    cargo: str
    name: str
    port_id: str
    tz: ZoneInfo | None
    frozen: bool


@dataclass
class LiveMarks:
    """A live plan's version on the chart: which calls are facts (departed or at berth: solid
    bars) rather than plan (outlined bars), and the version's now (a vertical line)."""

    now: datetime
    actual: set[str]


@dataclass(frozen=True)
class Tick:
    """A grid line of the time axis: a UTC midnight (`day`) or a minor step, with its label if any."""

    x: float
    day: bool
    label: str | None


def view_span(problem: Problem, plan: Plan) -> tuple[datetime, datetime]:
    """The horizon, widened to every call of the plan and rounded out to whole 6-hour steps."""
    start, end = problem.horizon_start, problem.horizon_end
    for c in plan.calls:
        start = min(start, c.arrival, c.berth_start, c.berth_end)
        end = max(end, c.arrival, c.berth_start, c.berth_end)
    six = timedelta(hours=6)
    if start < problem.horizon_start:
        s = utc(start)
        start = s.replace(hour=s.hour - s.hour % 6, minute=0, second=0, microsecond=0)
    if end > problem.horizon_end:
        e = utc(end)
        floor = e.replace(hour=e.hour - e.hour % 6, minute=0, second=0, microsecond=0)
        end = floor if floor == e else floor + six
    return start, end


def make_scale(start: datetime, end: datetime, left: float) -> Scale:
    """At most 8 px an hour, less for long spans, and never narrower than MIN_WIDTH in all."""
    hours = max((end - start).total_seconds() / 3600.0, 1.0)
    pph = min(PX_PER_HOUR, max(1.5, MAX_PLOT_PX / hours))
    if hours * pph < MIN_WIDTH - left - PAD:
        pph = (MIN_WIDTH - left - PAD) / hours
    return Scale(start, end, pph, left)


def axis_ticks(scale: Scale) -> tuple[list[Tick], str | None]:
    """Days and 6-hour steps in UTC, labelled as far as they fit, and the date to write at the left
    edge when the first midnight is too far right to name the first day."""
    pph = scale.px_per_hour
    minor = next((h for h in (6, 12, 24) if h * pph >= 14), 24)
    hour_labels = minor < 24 and minor * pph >= 22
    day_step = next((d for d in (1, 2, 7, 14, 28) if d * 24 * pph >= 96), 56)
    ticks: list[Tick] = []
    s = utc(scale.start)
    t = s.replace(minute=0, second=0, microsecond=0, hour=s.hour - s.hour % minor)
    if t < s:
        t += timedelta(hours=minor)
    first_midnight: datetime | None = None
    day_index = 0
    step = timedelta(hours=minor)
    while t <= scale.end:
        x = scale.x(t)
        if t.hour == 0:
            first_midnight = first_midnight or t
            label = None
            if day_index % day_step == 0 and scale.right - x > 40:
                label = t.strftime("%a %d %b %Y" if day_index == 0 else "%a %d %b")
            ticks.append(Tick(x, True, label))
            day_index += 1
        else:
            ticks.append(Tick(x, False, f"{t.hour:02d}" if hour_labels else None))
        t += step
    lead = None
    if first_midnight is None or scale.x(first_midnight) - scale.left > 110:
        lead = s.strftime("%a %d %b %Y")
    return ticks, lead


def window_x(scale: Scale, w: TimeWindow) -> tuple[float, float] | None:
    """The window's span in px, clipped to the view; None when it lies outside."""
    a, b = max(w.start, scale.start), min(w.end, scale.end)
    if b <= a:
        return None
    return scale.x(a), scale.x(b)


def port_sub(port: Port, start: datetime, end: datetime) -> str:
    """The port's local offset over the view (both when a DST change falls inside) and its zone."""
    tz = zone(port.timezone)
    if tz is None:
        return port.timezone
    a, b = fmt_offset(start.astimezone(tz)), fmt_offset(end.astimezone(tz))
    offset = f"UTC{a}" if a == b else f"UTC{a} → {b}"
    return f"local {offset} · {port.timezone}"


def cargo_label(kind: str) -> str:
    return CARGO_LABELS.get(kind, kind)


def make_groups(problem: Problem, plan: Plan, start: datetime, end: datetime) -> list[Group]:
    """One group a port in the problem's order; berths the plan uses but the problem lacks last."""
    groups: list[Group] = []
    for port in problem.ports:
        title = port.id if not port.name or port.name == port.id else f"{port.name} · {port.id}"
        g = Group(port.id, title, port_sub(port, start, end), port)
        for b in port.berths:
            label = b.id if not b.name or b.name == b.id else f"{b.id} · {b.name}"
            kinds = ", ".join(cargo_label(k.value) for k in b.cargo_kinds)
            g.rows.append(Row(b.id, port.id, label, kinds, b))
        groups.append(g)
    known = problem.berths()
    stray = sorted({c.berth_id for c in plan.calls if c.berth_id not in known})
    if stray:
        g = Group("", "Not in the problem", "berths this plan uses but the problem lacks", None)
        g.rows = [Row(bid, "", bid, "unknown berth", None) for bid in stray]
        groups.append(g)
    return groups


def label_width(groups: list[Group]) -> float:
    """Wide enough for the longest port or berth label, within 170-250 px."""
    longest = 0.0
    for g in groups:
        longest = max(longest, len(g.title) * CHAR_W_13B, len(g.sub) * CHAR_W_10)
        for r in g.rows:
            longest = max(longest, len(r.label) * CHAR_W_12B, len(r.sub) * CHAR_W_10)
    return min(max(longest + 2 * PAD, 170.0), 250.0)


def make_bars(problem: Problem, plan: Plan) -> list[Bar]:
    """Every call of the plan, named and placed in its port as far as the problem knows them."""
    calls = problem.call_map()
    vessels = problem.vessel_map()
    berth_port = problem.berth_port()
    zones = {p.id: p.timezone for p in problem.ports}
    out: list[Bar] = []
    for cp in plan.calls:
        call = calls.get(cp.call_id)
        port = berth_port.get(cp.berth_id)
        port_id = cp.port_id or (port.id if port else "") or (call.port_id if call else "")
        vessel_id = cp.vessel_id or (call.vessel_id if call else None)
        vessel = vessels.get(vessel_id) if vessel_id else None
        name = cp.vessel_name or (vessel.name if vessel and vessel.name else None) or vessel_id or cp.call_id
        tz_name = port.timezone if port else zones.get(port_id)
        out.append(
            Bar(
                cp=cp,
                call=call,
                cargo=call.cargo.value if call else "",
                name=name,
                port_id=port_id,
                tz=zone(tz_name) if tz_name else None,
                frozen=bool(call and call.frozen is not None),
            )
        )
    return out


def wait_lanes(bars: list[Bar]) -> dict[int, int]:
    """Stack overlapping anchorage waits of one berth on separate thin lanes, greedily."""
    lanes: dict[int, int] = {}
    ends: list[datetime] = []
    for i in sorted(range(len(bars)), key=lambda i: bars[i].cp.arrival):
        cp = bars[i].cp
        lane = next((k for k, e in enumerate(ends) if e <= cp.arrival), None)
        if lane is None:
            if len(ends) < len(WAIT_LANES):
                ends.append(cp.berth_start)
                lane = len(ends) - 1
            else:
                lane = min(range(len(ends)), key=lambda k: ends[k])
        ends[lane] = max(ends[lane], cp.berth_start)
        lanes[i] = lane
    return lanes


def legend_flow(labels: list[str], width: float, top: float) -> tuple[list[tuple[float, float]], float]:
    """Legend items left to right, wrapping at `width`: each item's (x, y) and the legend's height."""
    places: list[tuple[float, float]] = []
    x, y = PAD, top
    for label in labels:
        w = 22 + 6 + len(label) * CHAR_W_11 + 18
        if x + w > width - PAD and x > PAD:
            x, y = PAD, y + 20
        places.append((x, y))
        x += w
    return places, y - top + 20


@dataclass
class Layout:
    """Where everything goes; shared by the chart, its pinned label column and the legend."""

    problem: Problem
    plan: Plan
    groups: list[Group]
    scale: Scale
    bars: list[Bar]
    port_tz: dict[str, ZoneInfo | None]
    axis_top: float
    rows_bottom: float
    live: LiveMarks | None = None

    @property
    def label_w(self) -> float:
        return self.scale.left

    @property
    def width(self) -> float:
        return self.scale.right + PAD

    @property
    def outside(self) -> list[tuple[datetime, datetime]]:
        """Parts of the view outside the planning horizon."""
        p, sc = self.problem, self.scale
        spans = [(sc.start, p.horizon_start), (p.horizon_end, sc.end)]
        return [(a, b) for a, b in spans if b > a]


def layout(problem: Problem, plan: Plan, top: float, live: LiveMarks | None = None) -> Layout:
    """The chart laid out below `top` (room for a heading in the standalone SVG)."""
    start, end = view_span(problem, plan)
    groups = make_groups(problem, plan, start, end)
    scale = make_scale(start, end, label_width(groups))
    y = top + AXIS_H
    for g in groups:
        g.y = y
        for i, r in enumerate(g.rows):
            r.y = g.y + HEADER_H + i * ROW_H
        y = g.bottom + GROUP_GAP
    port_tz = {p.id: zone(p.timezone) for p in problem.ports}
    return Layout(problem, plan, groups, scale, make_bars(problem, plan), port_tz, top, y - GROUP_GAP, live)
