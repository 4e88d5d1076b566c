"""Gantt chart of a berth plan: one row per berth, grouped by port, UTC time along the top.

Plain SVG written with the standard library, so the chart opens offline from a file or from the
API with nothing fetched from the network (the HTML page forbids it with a Content-Security-Policy)
and no script. Every call bar carries ``data-call-id`` and every berth row ``data-berth-id`` so that
tests and browser checks can count them.

Drawing decisions a planner should know:

- Times on the axis are UTC; each port header gives the port's local offset, and every tooltip gives
  both UTC and local times.
- The chart spans the planning horizon, widened when a call (or a frozen call's arrival) lies
  outside it; the part outside the horizon is greyed.
- A bar is the time at berth; the thin line before it runs from the planned arrival (dot) to the
  berth start: the wait at anchorage.
- Closures shade every berth of their port; maintenance windows are hatched on their berth's row.
- Calls on a berth the problem does not know (a hand-made plan with a typo) are drawn in an extra
  group marked "not in the problem" rather than dropped, so the chart shows what the plan says.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from optimizer.domain import Berth, Call, CargoKind, Port, Problem, TimeWindow
from optimizer.plan import CallPlan, Kpis, Plan, PortKpis

__all__ = ["CARGO_COLOURS", "gantt_html", "gantt_svg", "write_gantt"]

CARGO_COLOURS: dict[str, str] = {
    CargoKind.RAIL_FERRY.value: "#4e79a7",
    CargoKind.RO_RO.value: "#f28e2b",
    CargoKind.CONTAINER.value: "#59a14f",
    CargoKind.GENERAL.value: "#b07aa1",
    CargoKind.DRY_BULK.value: "#9c755f",
    CargoKind.GRAIN.value: "#edc948",
    CargoKind.LIQUID_BULK.value: "#76b7b2",
}
UNKNOWN_COLOUR = "#bab0ac"
CARGO_LABELS: dict[str, str] = {
    CargoKind.RAIL_FERRY.value: "rail ferry",
    CargoKind.RO_RO.value: "Ro-Ro",
    CargoKind.CONTAINER.value: "container",
    CargoKind.GENERAL.value: "general cargo",
    CargoKind.DRY_BULK.value: "dry bulk",
    CargoKind.GRAIN.value: "grain",
    CargoKind.LIQUID_BULK.value: "liquid bulk",
}
CLOSURE_COLOUR = "#c62828"

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

_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(value: object) -> str:
    """Escape for both HTML and XML, dropping characters XML 1.0 forbids (a .svg must parse)."""
    return html.escape(_XML_UNSAFE.sub("\ufffd", str(value)), quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}"


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


def _offset_text(t: datetime) -> str:
    off = t.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h:02d}:{m:02d}"


def _fmt_utc(t: datetime) -> str:
    return _utc(t).strftime("%a %d %b %Y %H:%M UTC")


def _fmt_local(t: datetime, tz: ZoneInfo | None) -> str:
    if tz is None:
        return ""
    lt = t.astimezone(tz)
    return f"{lt:%a %d %b %H:%M} local ({_offset_text(lt)})"


def _when(t: datetime, tz: ZoneInfo | None) -> str:
    local = _fmt_local(t, tz)
    return f"{_fmt_utc(t)} · {local}" if local else _fmt_utc(t)


def _hours(minutes: float | None) -> str:
    return "–" if minutes is None else f"{minutes / 60:.1f} h"


def _truncate(text: str, width_px: float, char_w: float) -> str:
    fits = int(width_px // char_w)
    if fits >= len(text):
        return text
    if fits < 3:
        return ""
    return text[: fits - 1].rstrip() + "…"


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _darker(colour: str, factor: float = 0.68) -> str:
    r, g, b = _rgb(colour)
    return f"#{int(r * factor):02x}{int(g * factor):02x}{int(b * factor):02x}"


def _ink_on(colour: str) -> str:
    """Dark text on light bars (grain yellow), white on dark ones, for contrast."""
    r, g, b = _rgb(colour)
    luminance = (0.299 * r + 0.587 * g + 0.114 * b) / 255
    return "#1d1d1f" if luminance > 0.6 else "#ffffff"


# -- layout -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scale:
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
class _Row:
    berth_id: str
    port_id: str
    label: str
    sub: str
    berth: Berth | None
    y: float = 0.0


@dataclass
class _Group:
    port_id: str
    title: str
    sub: str
    port: Port | None
    rows: list[_Row] = field(default_factory=list)
    y: float = 0.0

    @property
    def bottom(self) -> float:
        return self.y + HEADER_H + ROW_H * len(self.rows)


@dataclass
class _Bar:
    cp: CallPlan
    call: Call | None
    cargo: str
    name: str
    port_id: str
    tz: ZoneInfo | None
    frozen: bool


def _view_span(problem: Problem, plan: Plan) -> tuple[datetime, datetime]:
    """The horizon, widened to every call of the plan and rounded out to whole 6-hour steps."""
    start, end = problem.horizon_start, problem.horizon_end
    for c in plan.calls:
        start = min(start, c.arrival, c.berth_start, c.berth_end)
        end = max(end, c.arrival, c.berth_start, c.berth_end)
    six = timedelta(hours=6)
    if start < problem.horizon_start:
        s = _utc(start)
        start = s.replace(hour=s.hour - s.hour % 6, minute=0, second=0, microsecond=0)
    if end > problem.horizon_end:
        e = _utc(end)
        floor = e.replace(hour=e.hour - e.hour % 6, minute=0, second=0, microsecond=0)
        end = floor if floor == e else floor + six
    return start, end


def _scale(start: datetime, end: datetime, left: float) -> _Scale:
    hours = max((end - start).total_seconds() / 3600.0, 1.0)
    pph = min(PX_PER_HOUR, max(1.5, MAX_PLOT_PX / hours))
    if hours * pph < MIN_WIDTH - left - PAD:
        pph = (MIN_WIDTH - left - PAD) / hours
    return _Scale(start, end, pph, left)


def _port_sub(port: Port, start: datetime, end: datetime) -> str:
    tz = _zone(port.timezone)
    if tz is None:
        return port.timezone
    a, b = _offset_text(start.astimezone(tz)), _offset_text(end.astimezone(tz))
    offset = a if a == b else f"{a} → {b.removeprefix('UTC')}"
    return f"local {offset} · {port.timezone}"


def _groups(problem: Problem, plan: Plan, start: datetime, end: datetime) -> list[_Group]:
    groups: list[_Group] = []
    for port in problem.ports:
        title = port.id if not port.name or port.name == port.id else f"{port.name} · {port.id}"
        g = _Group(port.id, title, _port_sub(port, start, end), port)
        for b in port.berths:
            label = b.id if not b.name or b.name == b.id else f"{b.id} · {b.name}"
            kinds = ", ".join(CARGO_LABELS.get(k.value, k.value) for k in b.cargo_kinds)
            g.rows.append(_Row(b.id, port.id, label, kinds, b))
        groups.append(g)
    known = problem.berths()
    stray = sorted({c.berth_id for c in plan.calls if c.berth_id not in known})
    if stray:
        g = _Group("", "Not in the problem", "berths this plan uses but the problem lacks", None)
        g.rows = [_Row(bid, "", bid, "unknown berth", None) for bid in stray]
        groups.append(g)
    return groups


def _label_width(groups: list[_Group]) -> float:
    longest = 0.0
    for g in groups:
        longest = max(longest, len(g.title) * CHAR_W_13B, len(g.sub) * CHAR_W_10)
        for r in g.rows:
            longest = max(longest, len(r.label) * CHAR_W_12B, len(r.sub) * CHAR_W_10)
    return min(max(longest + 2 * PAD, 170.0), 250.0)


def _bars(problem: Problem, plan: Plan) -> list[_Bar]:
    calls = problem.call_map()
    vessels = problem.vessel_map()
    berth_port = problem.berth_port()
    zones = {p.id: p.timezone for p in problem.ports}
    out: list[_Bar] = []
    for cp in plan.calls:
        call = calls.get(cp.call_id)
        port = berth_port.get(cp.berth_id)
        port_id = cp.port_id or (port.id if port else "") or (call.port_id if call else "")
        vessel_id = cp.vessel_id or (call.vessel_id if call else None)
        vessel = vessels.get(vessel_id) if vessel_id else None
        name = cp.vessel_name or (vessel.name if vessel and vessel.name else None) or vessel_id or cp.call_id
        tz_name = port.timezone if port else zones.get(port_id)
        out.append(
            _Bar(
                cp=cp,
                call=call,
                cargo=call.cargo.value if call else "",
                name=name,
                port_id=port_id,
                tz=_zone(tz_name) if tz_name else None,
                frozen=bool(call and call.frozen is not None),
            )
        )
    return out


# -- SVG pieces ------------------------------------------------------------------------------------


def _style() -> str:
    return (
        "<style>"
        "svg.psg-gantt{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
        ".psg-gantt text{fill:#1f2933}"
        ".psg-gantt .day{font-size:12px;font-weight:600}"
        ".psg-gantt .hour{font-size:10px;fill:#6b7280}"
        ".psg-gantt .port-title{font-size:13px;font-weight:700}"
        ".psg-gantt .port-sub,.psg-gantt .berth-sub{font-size:10px;fill:#6b7280}"
        ".psg-gantt .berth-label{font-size:12px;font-weight:600}"
        ".psg-gantt .bar-label{font-size:11px;pointer-events:none}"
        ".psg-gantt .call:hover rect.bar{stroke:#000;stroke-width:2}"
        ".psg-gantt .wait:hover line{stroke-width:3}"
        ".psg-gantt .legend text{font-size:11px}"
        ".psg-gantt .closure-label{font-size:10px;font-weight:700;fill:#fff}"
        ".psg-gantt .heading{font-size:16px;font-weight:700}"
        ".psg-gantt .subheading{font-size:12px;fill:#4b5563}"
        "</style>"
    )


def _defs(suffix: str = "") -> str:
    return (
        "<defs>"
        f'<pattern id="psg-hatch{suffix}" patternUnits="userSpaceOnUse" width="7" height="7" '
        'patternTransform="rotate(45)">'
        '<rect width="7" height="7" fill="#eceff3"/>'
        '<line x1="0" y1="0" x2="0" y2="7" stroke="#7b8494" stroke-width="2.4"/>'
        "</pattern>"
        f'<pattern id="psg-outside{suffix}" patternUnits="userSpaceOnUse" width="10" height="10" '
        'patternTransform="rotate(-45)">'
        '<rect width="10" height="10" fill="#f1f2f4"/>'
        '<line x1="0" y1="0" x2="0" y2="10" stroke="#e2e4e8" stroke-width="3"/>'
        "</pattern>"
        "</defs>"
    )


def _axis(scale: _Scale, top: float, bottom: float) -> tuple[list[str], list[str]]:
    """Tick labels (above the rows) and grid lines (through them): days and 6-hour steps, UTC."""
    pph = scale.px_per_hour
    minor = next((h for h in (6, 12, 24) if h * pph >= 14), 24)
    hour_labels = minor < 24 and minor * pph >= 22
    day_step = next((d for d in (1, 2, 7, 14, 28) if d * 24 * pph >= 96), 56)
    labels: list[str] = []
    grid: list[str] = []
    s = _utc(scale.start)
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
            grid.append(
                f'<line x1="{_f(x)}" y1="{_f(top + 4)}" x2="{_f(x)}" y2="{_f(bottom)}" '
                'stroke="#9aa3ae" stroke-width="1"/>'
            )
            if day_index % day_step == 0 and scale.right - x > 40:
                fmt = "%a %d %b %Y" if day_index == 0 else "%a %d %b"
                labels.append(
                    f'<text class="day" x="{_f(x + 4)}" y="{_f(top + 17)}">{_esc(t.strftime(fmt))}</text>'
                )
            day_index += 1
        else:
            grid.append(
                f'<line x1="{_f(x)}" y1="{_f(top + 26)}" x2="{_f(x)}" y2="{_f(bottom)}" '
                'stroke="#e3e7ec" stroke-width="1"/>'
            )
            if hour_labels:
                labels.append(
                    f'<text class="hour" x="{_f(x)}" y="{_f(top + 37)}" text-anchor="middle">'
                    f"{t.hour:02d}</text>"
                )
        t += step
    if first_midnight is None or scale.x(first_midnight) - scale.left > 110:
        labels.append(
            f'<text class="day" x="{_f(scale.left + 4)}" y="{_f(top + 17)}">'
            f'{_esc(s.strftime("%a %d %b %Y"))}</text>'
        )
    labels.append(
        f'<line x1="{_f(scale.left)}" y1="{_f(top + AXIS_H - 2)}" x2="{_f(scale.right)}" '
        f'y2="{_f(top + AXIS_H - 2)}" stroke="#9aa3ae"/>'
    )
    return labels, grid


def _window_x(scale: _Scale, w: TimeWindow) -> tuple[float, float] | None:
    a, b = max(w.start, scale.start), min(w.end, scale.end)
    if b <= a:
        return None
    return scale.x(a), scale.x(b)


def _rows_svg(groups: list[_Group], label_w: float, full: float, data: bool = True) -> list[str]:
    """Port header bands and berth rows with their labels; `data=False` for the pinned label copy."""
    out: list[str] = []
    for g in groups:
        fill = "#e8edf3" if g.port is not None else "#fdecea"
        out.append(f'<g class="port" data-port-id="{_esc(g.port_id)}">' if data else "<g>")
        out.append(
            f'<rect x="0" y="{_f(g.y)}" width="{_f(full)}" height="{_f(HEADER_H)}" fill="{fill}"/>'
        )
        out.append(
            f'<text class="port-title" x="{_f(PAD)}" y="{_f(g.y + 15)}">'
            f"{_esc(_truncate(g.title, label_w - PAD, CHAR_W_13B))}</text>"
        )
        out.append(
            f'<text class="port-sub" x="{_f(PAD)}" y="{_f(g.y + 28)}">'
            f"{_esc(_truncate(g.sub, label_w - PAD, CHAR_W_10))}</text>"
        )
        out.append("</g>")
        for i, r in enumerate(g.rows):
            bg = "#ffffff" if i % 2 == 0 else "#f7f9fb"
            tip = _berth_tip(r)
            out.append(
                f'<g class="berth" data-berth-id="{_esc(r.berth_id)}" data-port-id="{_esc(r.port_id)}">'
                if data
                else "<g>"
            )
            out.append(f"<title>{_esc(tip)}</title>")
            out.append(
                f'<rect x="0" y="{_f(r.y)}" width="{_f(full)}" height="{_f(ROW_H)}" fill="{bg}"/>'
            )
            out.append(
                f'<text class="berth-label" x="{_f(PAD + 8)}" y="{_f(r.y + 15)}">'
                f"{_esc(_truncate(r.label, label_w - PAD - 12, CHAR_W_12B))}</text>"
            )
            out.append(
                f'<text class="berth-sub" x="{_f(PAD + 8)}" y="{_f(r.y + 28)}">'
                f"{_esc(_truncate(r.sub, label_w - PAD - 12, CHAR_W_10))}</text>"
            )
            out.append("</g>")
        out.append(
            f'<line x1="0" y1="{_f(g.bottom)}" x2="{_f(full)}" y2="{_f(g.bottom)}" stroke="#cfd6de"/>'
        )
    return out


def _berth_tip(r: _Row) -> str:
    b = r.berth
    if b is None:
        return f"Berth {r.berth_id}: not in the problem"
    lines = [f"Berth {b.id}" + (f" · {b.name}" if b.name else "") + f" ({r.port_id})"]
    lines.append(f"length {b.length_m:g} m · max draft {b.max_draft_m:g} m")
    lines.append("works: " + ", ".join(CARGO_LABELS.get(k.value, k.value) for k in b.cargo_kinds))
    if b.productivity != 1.0:
        lines.append(f"productivity ×{b.productivity:g}")
    return "\n".join(lines)


def _closures_svg(groups: list[_Group], scale: _Scale, port_tz: dict[str, ZoneInfo | None]) -> tuple[
    list[str], list[str]
]:
    """Shading under the bars, and edges plus the header label above them."""
    under: list[str] = []
    over: list[str] = []
    for g in groups:
        if g.port is None or not g.rows:
            continue
        tz = port_tz.get(g.port_id)
        for c in g.port.closures:
            span = _window_x(scale, c)
            if span is None:
                continue
            x0, x1 = span
            w = max(x1 - x0, 1.0)
            tip = (
                f"Closure of {g.title}" + (f": {c.reason}" if c.reason else "")
                + f"\nfrom {_when(c.start, tz)}\nto {_when(c.end, tz)}"
                + f"\n{(c.end - c.start).total_seconds() / 3600:.1f} h: no berthing or departure"
            )
            y0 = g.y + HEADER_H
            h = g.bottom - y0
            under.append(
                f'<rect class="closure" data-port-id="{_esc(g.port_id)}" x="{_f(x0)}" y="{_f(y0)}" '
                f'width="{_f(w)}" height="{_f(h)}" fill="{CLOSURE_COLOUR}" fill-opacity="0.14">'
                f"<title>{_esc(tip)}</title></rect>"
            )
            label = _truncate("closure" + (f": {c.reason}" if c.reason else ""), w - 8, 6.2)
            over.append(f'<g class="closure-mark" data-port-id="{_esc(g.port_id)}">')
            over.append(f"<title>{_esc(tip)}</title>")
            over.append(
                f'<rect x="{_f(x0)}" y="{_f(g.y + 3)}" width="{_f(w)}" height="{_f(HEADER_H - 6)}" rx="3" '
                f'fill="{CLOSURE_COLOUR}"/>'
            )
            if label:
                over.append(
                    f'<text class="closure-label" x="{_f(x0 + 5)}" y="{_f(g.y + HEADER_H / 2 + 4)}">'
                    f"{_esc(label)}</text>"
                )
            for x in (x0, x0 + w):
                over.append(
                    f'<line x1="{_f(x)}" y1="{_f(y0)}" x2="{_f(x)}" y2="{_f(g.bottom)}" '
                    f'stroke="{CLOSURE_COLOUR}" stroke-width="1.5" stroke-dasharray="5 3"/>'
                )
            over.append("</g>")
    return under, over


def _maintenance_svg(groups: list[_Group], scale: _Scale, port_tz: dict[str, ZoneInfo | None]) -> list[str]:
    out: list[str] = []
    for g in groups:
        tz = port_tz.get(g.port_id)
        for r in g.rows:
            if r.berth is None:
                continue
            for w in r.berth.unavailable:
                span = _window_x(scale, w)
                if span is None:
                    continue
                x0, x1 = span
                tip = (
                    f"Berth {r.berth_id} unavailable" + (f": {w.reason}" if w.reason else " (maintenance)")
                    + f"\nfrom {_when(w.start, tz)}\nto {_when(w.end, tz)}"
                )
                out.append(
                    f'<rect class="maintenance" data-berth="{_esc(r.berth_id)}" x="{_f(x0)}" '
                    f'y="{_f(r.y + 2)}" width="{_f(max(x1 - x0, 1.0))}" height="{_f(ROW_H - 4)}" '
                    f'fill="url(#psg-hatch)" stroke="#7b8494" stroke-width="0.8">'
                    f"<title>{_esc(tip)}</title></rect>"
                )
    return out


def _call_tip(bar: _Bar) -> str:
    cp = bar.cp
    wait = cp.waiting_minutes
    if wait is None:
        wait = (cp.berth_start - cp.arrival).total_seconds() / 60
    dwell = cp.dwell_minutes
    if dwell is None:
        dwell = (cp.berth_end - cp.arrival).total_seconds() / 60
    cargo = CARGO_LABELS.get(bar.cargo, bar.cargo or "unknown cargo")
    vessel = bar.name if not cp.vessel_id or cp.vessel_id == bar.name else f"{bar.name} ({cp.vessel_id})"
    lines = [
        f"Call {cp.call_id} · {vessel}",
        f"cargo: {cargo} · berth {cp.berth_id}" + (f" ({bar.port_id})" if bar.port_id else ""),
        f"arrival:     {_when(cp.arrival, bar.tz)}",
        f"berth start: {_when(cp.berth_start, bar.tz)}",
        f"berth end:   {_when(cp.berth_end, bar.tz)}",
        f"waiting {_hours(wait)} · at berth "
        f"{_hours((cp.berth_end - cp.berth_start).total_seconds() / 60)} · dwell {_hours(dwell)}",
    ]
    if cp.lateness_minutes:
        lines.append(f"late by {_hours(cp.lateness_minutes)} against the requested departure")
    if cp.inbound_speed_kn is not None:
        lines.append(f"inbound speed {cp.inbound_speed_kn:.1f} kn")
    lines.extend(f"waited for: {r.detail}" for r in cp.waited_for)
    if bar.frozen:
        lines.append("frozen: kept at this berth and these times")
    if bar.call is None:
        lines.append("this call is not in the problem")
    return "\n".join(lines)


def _wait_lanes(bars: list[_Bar]) -> dict[int, int]:
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


def _calls_svg(bars: list[_Bar], rows: dict[str, _Row], scale: _Scale) -> tuple[list[str], list[str]]:
    """Anchorage waits (under the bars) and the bars themselves."""
    waits: list[str] = []
    out: list[str] = []
    by_berth: dict[str, list[_Bar]] = {}
    for b in bars:
        by_berth.setdefault(b.cp.berth_id, []).append(b)
    for berth_id, row_bars in by_berth.items():
        row = rows[berth_id]
        waiting = [b for b in row_bars if b.cp.berth_start > b.cp.arrival]
        lanes = _wait_lanes(waiting)
        for i, b in enumerate(waiting):
            cp = b.cp
            x0, x1 = scale.x(cp.arrival), scale.x(cp.berth_start)
            y = row.y + WAIT_LANES[lanes[i]]
            colour = _darker(CARGO_COLOURS.get(b.cargo, UNKNOWN_COLOUR))
            hours = (cp.berth_start - cp.arrival).total_seconds() / 3600
            tip = f"{b.name} ({cp.call_id}) waits {hours:.1f} h at anchorage"
            tip += f"\narrives {_when(cp.arrival, b.tz)}"
            tip += "".join(f"\nwaited for: {r.detail}" for r in cp.waited_for)
            waits.append(
                f'<g class="wait" data-wait-call-id="{_esc(cp.call_id)}"><title>{_esc(tip)}</title>'
                f'<line x1="{_f(x0)}" y1="{_f(y)}" x2="{_f(x1)}" y2="{_f(y)}" stroke="{colour}" '
                f'stroke-width="1.6"/>'
                f'<circle cx="{_f(x0)}" cy="{_f(y)}" r="2.4" fill="{colour}"/></g>'
            )
        for b in row_bars:
            cp = b.cp
            x0 = scale.x(min(cp.berth_start, cp.berth_end))
            w = max(abs(scale.x(cp.berth_end) - scale.x(cp.berth_start)), 2.0)
            y = row.y + BAR_TOP
            fill = CARGO_COLOURS.get(b.cargo, UNKNOWN_COLOUR)
            cls = "call frozen" if b.frozen else "call"
            edge, edge_w = ("#111827", 2.2) if b.frozen else (_darker(fill), 1.0)
            stroke = f'stroke="{edge}" stroke-width="{edge_w:g}"'
            out.append(
                f'<g class="{cls}" data-call-id="{_esc(cp.call_id)}" data-berth="{_esc(cp.berth_id)}" '
                f'data-cargo="{_esc(b.cargo)}"><title>{_esc(_call_tip(b))}</title>'
                f'<rect class="bar" x="{_f(x0)}" y="{_f(y)}" width="{_f(w)}" height="{_f(BAR_H)}" rx="3" '
                f'fill="{fill}" {stroke}/>'
            )
            text_x = x0 + 4
            room = w - 8
            if b.frozen:
                out.append(f'<rect x="{_f(x0)}" y="{_f(y)}" width="4" height="{_f(BAR_H)}" fill="#111827"/>')
                text_x += 3
                room -= 3
            label = _truncate(b.name, room, CHAR_W_11)
            if label:
                out.append(
                    f'<text class="bar-label" x="{_f(text_x)}" y="{_f(y + 13)}" '
                    f'style="fill:{_ink_on(fill)}">{_esc(label)}</text>'
                )
            out.append("</g>")
    return waits, out


def _legend(
    bars: list[_Bar], width: float, top: float, outside: bool, suffix: str = ""
) -> tuple[list[str], float]:
    """Legend items laid out left to right, wrapping; returns the markup and its height."""

    def box(attrs: str) -> str:
        return '<rect x="{x}" y="{y}" width="22" height="12" ' + attrs + "/>"

    present = {b.cargo for b in bars}
    items: list[tuple[str, str]] = []  # (swatch markup with {x}, {y} ... placeholders, label)
    for kind in CargoKind:
        if kind.value in present:
            c = CARGO_COLOURS[kind.value]
            items.append((box(f'rx="2" fill="{c}" stroke="{_darker(c)}"'), CARGO_LABELS[kind.value]))
    if any(b.cargo not in CARGO_COLOURS for b in bars):
        items.append((box(f'rx="2" fill="{UNKNOWN_COLOUR}"'), "cargo unknown"))
    items.append((
        '<line x1="{x}" y1="{ym}" x2="{x22}" y2="{ym}" stroke="#4b5563" stroke-width="1.6"/>'
        '<circle cx="{x}" cy="{ym}" r="2.4" fill="#4b5563"/>',
        "anchorage wait (from arrival)",
    ))
    items.append((
        box('rx="2" fill="#cfd6de" stroke="#111827" stroke-width="2"')
        + '<rect x="{x}" y="{y}" width="4" height="12" fill="#111827"/>',
        "frozen call",
    ))
    closure = f'fill="{CLOSURE_COLOUR}" fill-opacity="0.25" stroke="{CLOSURE_COLOUR}" stroke-dasharray="3 2"'
    items.append((box(closure), "port closure"))
    items.append((box(f'fill="url(#psg-hatch{suffix})" stroke="#7b8494"'), "berth unavailable (maintenance)"))
    if outside:
        outside_box = box(f'fill="url(#psg-outside{suffix})" stroke="#cfd6de"')
        items.append((outside_box, "outside the planning horizon"))
    out = ['<g class="legend">']
    x, y = PAD, top
    for swatch, label in items:
        w = 22 + 6 + len(label) * CHAR_W_11 + 18
        if x + w > width - PAD and x > PAD:
            x, y = PAD, y + 20
        out.append(swatch.format(x=_f(x), y=_f(y), ym=_f(y + 6), x22=_f(x + 22)))
        out.append(f'<text x="{_f(x + 28)}" y="{_f(y + 10.5)}">{_esc(label)}</text>')
        x += w
    out.append("</g>")
    return out, y - top + 20


def _kpi_line(plan: Plan) -> str:
    k, base = plan.kpis, plan.baseline_kpis
    if k is None:
        return ""
    dwell, wait = k.total_dwell_hours, k.total_waiting_hours
    text = f"{k.calls} calls · total dwell {dwell:.1f} h · waiting {wait:.1f} h"
    if base is not None:
        bd, bw = base.total_dwell_hours, base.total_waiting_hours
        text += f" · FCFS: dwell {bd:.1f} h ({_change(dwell, bd)}), waiting {bw:.1f} h ({_change(wait, bw)})"
    return text


def _change(value: float, base: float) -> str:
    if base <= 0:
        return "±0%" if value <= 0 else "up from 0"
    pct = (value - base) / base * 100
    return f"{'−' if pct < 0 else '+'}{abs(pct):.0f}%"


@dataclass
class _Layout:
    """Where everything goes; shared by the chart, its pinned label column and the legend."""

    problem: Problem
    plan: Plan
    groups: list[_Group]
    scale: _Scale
    bars: list[_Bar]
    port_tz: dict[str, ZoneInfo | None]
    axis_top: float
    rows_bottom: float

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


def _layout(problem: Problem, plan: Plan, top: float) -> _Layout:
    start, end = _view_span(problem, plan)
    groups = _groups(problem, plan, start, end)
    scale = _scale(start, end, _label_width(groups))
    y = top + AXIS_H
    for g in groups:
        g.y = y
        for i, r in enumerate(g.rows):
            r.y = g.y + HEADER_H + i * ROW_H
        y = g.bottom + GROUP_GAP
    port_tz = {p.id: _zone(p.timezone) for p in problem.ports}
    return _Layout(problem, plan, groups, scale, _bars(problem, plan), port_tz, top, y - GROUP_GAP)


def _svg_open(width: float, height: float, label: str, cls: str = "psg-gantt") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{_f(width)}" height="{_f(height)}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" role="img" aria-label="{_esc(label)}">'
    )


def _axis_caption(top: float) -> list[str]:
    return [
        f'<text class="day" x="{_f(PAD)}" y="{_f(top + 17)}">UTC</text>',
        f'<text class="hour" x="{_f(PAD)}" y="{_f(top + 37)}">day · hour</text>',
    ]


def _chart_svg(lay: _Layout, heading: str | None, legend: bool) -> str:
    scale, top, bottom = lay.scale, lay.axis_top, lay.rows_bottom
    head: list[str] = []
    if heading is not None:
        head.append(f'<text class="heading" x="{_f(PAD)}" y="22">{_esc(heading)}</text>')
        sub = _kpi_line(lay.plan) or f"{len(lay.plan.calls)} calls"
        head.append(f'<text class="subheading" x="{_f(PAD)}" y="40">{_esc(sub)}</text>')
    rows = {r.berth_id: r for g in lay.groups for r in g.rows}
    labels, grid = _axis(scale, top, bottom)
    under, over = _closures_svg(lay.groups, scale, lay.port_tz)
    waits, call_bars = _calls_svg(lay.bars, rows, scale)
    outside = [
        f'<rect class="outside-horizon" x="{_f(scale.x(a))}" y="{_f(top + AXIS_H)}" '
        f'width="{_f(scale.x(b) - scale.x(a))}" height="{_f(bottom - top - AXIS_H)}" '
        'fill="url(#psg-outside)" fill-opacity="0.8"><title>Outside the planning horizon</title></rect>'
        for a, b in lay.outside
    ]
    key, key_h = _legend(lay.bars, lay.width, bottom + 16, bool(outside)) if legend else ([], 0.0)
    height = bottom + (16 + key_h + 8 if legend else 1)
    parts = [
        _svg_open(lay.width, height, "Berth plan Gantt chart: " + lay.problem.name),
        _style(),
        _defs(),
        f'<rect x="0" y="0" width="{_f(lay.width)}" height="{_f(height)}" fill="#ffffff"/>',
        *head,
        *_axis_caption(top),
        *_rows_svg(lay.groups, lay.label_w, lay.width),
        *outside,
        *grid,
        *under,
        *_maintenance_svg(lay.groups, scale, lay.port_tz),
        *labels,
        *waits,
        *call_bars,
        *over,
        f'<line x1="{_f(lay.label_w)}" y1="{_f(top)}" x2="{_f(lay.label_w)}" y2="{_f(bottom)}" '
        'stroke="#9aa3ae"/>',
        *key,
        "</svg>",
    ]
    return "\n".join(parts)


def _labels_svg(lay: _Layout) -> str:
    """A copy of the label column, pinned at the left of the page while the chart scrolls."""
    w, h = lay.label_w, lay.rows_bottom + 1
    axis_y = lay.axis_top + AXIS_H - 2
    return "\n".join([
        _svg_open(w, h, "Berths", "psg-gantt psg-pinned"),
        f'<rect x="0" y="0" width="{_f(w)}" height="{_f(h)}" fill="#ffffff"/>',
        *_axis_caption(lay.axis_top),
        f'<line x1="0" y1="{_f(axis_y)}" x2="{_f(w)}" y2="{_f(axis_y)}" stroke="#9aa3ae"/>',
        *_rows_svg(lay.groups, w, w, data=False),
        f'<line x1="{_f(w - 0.5)}" y1="0" x2="{_f(w - 0.5)}" y2="{_f(h)}" stroke="#9aa3ae"/>',
        "</svg>",
    ])


def _legend_svg(lay: _Layout, width: float) -> str:
    key, key_h = _legend(lay.bars, width, 6, bool(lay.outside), suffix="-key")
    return "\n".join([
        _svg_open(width, key_h + 8, "Legend", "psg-gantt psg-legend"),
        _defs("-key"),
        *key,
        "</svg>",
    ])


# -- public ------------------------------------------------------------------------------------


def gantt_svg(problem: Problem, plan: Plan, title: str | None = None) -> str:
    """The chart alone as a standalone SVG document, with its own heading and KPI line."""
    heading = title if title is not None else f"Berth plan · {problem.name}"
    chart = _chart_svg(_layout(problem, plan, top=52.0), heading, legend=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + chart + "\n"


def _kpi_table(problem: Problem, plan: Plan) -> str:
    k, base = plan.kpis, plan.baseline_kpis
    if k is None:
        return '<p class="muted">KPIs were not computed for this plan.</p>'
    base_ports = {p.port_id: p for p in base.per_port} if base else {}
    with_base = base is not None
    head = "<tr><th>Scope</th><th>Calls</th><th>Total dwell</th>"
    head += "<th>FCFS dwell</th><th>Change</th>" if with_base else ""
    head += "<th>Waiting</th>"
    head += "<th>FCFS waiting</th><th>Change</th>" if with_base else ""
    head += "<th>Lateness</th><th>Late calls</th><th>Berth use</th></tr>"

    def row(scope: str, kp: Kpis | PortKpis, bp: Kpis | PortKpis | None, strong: bool) -> str:
        dwell, wait = kp.total_dwell_hours, kp.total_waiting_hours
        cells = [f"<td>{_esc(scope)}</td>", f"<td>{kp.calls}</td>", f"<td>{dwell:.1f} h</td>"]
        if with_base:
            if bp is None:
                cells += ["<td>–</td>", "<td>–</td>"]
            else:
                bd = bp.total_dwell_hours
                cells += [f"<td>{bd:.1f} h</td>", _change_cell(dwell, bd)]
        cells.append(f"<td>{wait:.1f} h</td>")
        if with_base:
            if bp is None:
                cells += ["<td>–</td>", "<td>–</td>"]
            else:
                bw = bp.total_waiting_hours
                cells += [f"<td>{bw:.1f} h</td>", _change_cell(wait, bw)]
        cells += [
            f"<td>{kp.total_lateness_hours:.1f} h</td>",
            f"<td>{kp.late_calls}</td>",
            f"<td>{kp.berth_utilization * 100:.0f}%</td>",
        ]
        cls = ' class="total"' if strong else ""
        return f"<tr{cls}>{''.join(cells)}</tr>"

    body = [row("All ports", k, base, True)]
    names = {p.id: (f"{p.name} ({p.id})" if p.name and p.name != p.id else p.id) for p in problem.ports}
    body += [row(names.get(p.port_id, p.port_id), p, base_ports.get(p.port_id), False) for p in k.per_port]
    headline = f"Total dwell <b>{k.total_dwell_hours:.1f} h</b> over {k.calls} calls"
    if base is not None and base.total_dwell_hours > 0:
        pct = (base.total_dwell_hours - k.total_dwell_hours) / base.total_dwell_hours * 100
        word = "below" if pct >= 0 else "above"
        headline += (
            f", <b>{abs(pct):.1f}% {word}</b> first come, first served ({base.total_dwell_hours:.1f} h);"
            f" waiting {k.total_waiting_hours:.1f} h against {base.total_waiting_hours:.1f} h"
        )
    return (
        f'<p class="headline">{headline}.</p>'
        f'<table class="kpis"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'
    )


def _change_cell(value: float, base: float) -> str:
    trend = "better" if value < base - 1e-9 else ("worse" if value > base + 1e-9 else "same")
    return f'<td class="{trend}">{_change(value, base)}</td>'


def _solver_line(plan: Plan) -> str:
    s = plan.solver
    if s is None:
        return ""
    bits = [f"status {s.status.value}", f"source {s.source}"]
    if s.objective is not None:
        bits.append(f"objective {s.objective:,.0f}")
    if s.gap is not None:
        bits.append(f"gap {s.gap * 100:.1f}%")
    bits.append(f"{s.seconds:.1f} s")
    bits.append(f"{s.solutions} solutions")
    if s.stopped:
        bits.append("stopped on request")
    return f'<p class="muted">Solver: {_esc(" · ".join(bits))}</p>'


def _unserved(plan: Plan) -> str:
    if not plan.unserved:
        return ""
    rows = "".join(
        f"<tr><td>{_esc(u.call_id)}</td><td>{_esc('; '.join(u.reasons))}</td></tr>" for u in plan.unserved
    )
    return (
        f'<section class="unserved"><h2>Calls that cannot be served ({len(plan.unserved)})</h2>'
        f"<table><thead><tr><th>Call</th><th>Why</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _warnings(plan: Plan) -> str:
    if not plan.warnings:
        return ""
    rows = "".join(f"<tr><td>{_esc(w.call_id or '')}</td><td>{_esc(w.kind)}</td>"
                   f"<td>{_esc(w.detail)}</td></tr>" for w in plan.warnings)
    return (
        f'<section class="unserved"><h2>Warnings ({len(plan.warnings)})</h2>'
        f"<table><thead><tr><th>Call</th><th>Kind</th><th>What</th></tr></thead><tbody>{rows}</tbody>"
        "</table></section>"
    )


_PAGE_CSS = """
:root{color-scheme:light}
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1f2933;
background:#f4f6f8}
header{padding:14px 20px 6px;background:#fff;border-bottom:1px solid #dde3ea}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:15px;margin:14px 0 6px}
.muted{color:#5b6675;font-size:13px;margin:4px 0}
.headline{font-size:14px;margin:8px 0 6px}
table{border-collapse:collapse;font-size:12.5px;background:#fff}
th,td{padding:3px 10px;border-bottom:1px solid #e5e9ef;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{color:#5b6675;font-weight:600}
tr.total td{font-weight:700}
td.better{color:#1b7f3b}td.worse{color:#b42318}
main{padding:12px 20px}
.chart{overflow:auto;width:max-content;max-width:100%;background:#fff;border:1px solid #dde3ea;
border-radius:4px}
.chart .inner{width:max-content;position:relative}
.chart svg{display:block}
.chart .pin{position:sticky;left:0;height:0;width:0;overflow:visible;z-index:1}
.chart .pin svg{box-shadow:2px 0 4px rgba(31,41,51,.12)}
svg.psg-legend{display:block;margin:0 0 6px}
.unserved{padding:0 20px 12px}
.unserved td{text-align:left;white-space:normal}
footer{padding:4px 20px 16px;color:#6b7280;font-size:12px}
"""


def gantt_html(problem: Problem, plan: Plan, title: str | None = None) -> str:
    """A complete HTML page with the chart and a KPI summary, that opens offline in any browser."""
    page_title = title if title is not None else f"Berth plan · {problem.name}"
    lay = _layout(problem, plan, top=0.0)
    ports = " · ".join(f"{p.name} ({p.id})" if p.name and p.name != p.id else p.id for p in problem.ports)
    nberths = sum(len(p.berths) for p in problem.ports)
    facts = (
        f"Problem {problem.name} · {ports} · {nberths} berths · {len(plan.calls)} calls planned · "
        f"horizon {_fmt_utc(problem.horizon_start)} to {_fmt_utc(problem.horizon_end)}"
    )
    description = f'<p class="muted">{_esc(problem.description)}</p>' if problem.description else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<link rel="icon" href="data:,">',
        f"<title>{_esc(page_title)}</title>",
        f"<style>{_PAGE_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_esc(page_title)}</h1>",
        f'<p class="muted">{_esc(facts)}</p>',
        description,
        _kpi_table(problem, plan),
        _solver_line(plan),
        "</header>",
        "<main>",
        _legend_svg(lay, min(lay.width, 1400.0)),
        '<div class="chart"><div class="inner">',
        f'<div class="pin">{_labels_svg(lay)}</div>',
        _chart_svg(lay, None, legend=False),
        "</div></div>",
        "</main>",
        _unserved(plan),
        _warnings(plan),
        "<footer>Times on the axis are UTC; each port header gives its local offset, and each bar's tooltip "
        "gives UTC and local times. Hover a bar, wait line, closure or hatched window for details. "
        "Made by portsync.</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(p for p in parts if p)


def write_gantt(path: str | Path, problem: Problem, plan: Plan, title: str | None = None) -> Path:
    """Write the chart as HTML (.html, .htm) or SVG (.svg), chosen by the file's suffix."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".html", ".htm"):
        text = gantt_html(problem, plan, title)
    elif suffix == ".svg":
        text = gantt_svg(problem, plan, title)
    else:
        raise ValueError(f"gantt path {str(p)!r}: suffix {p.suffix or '(none)'!r} is not .html, .htm or .svg")
    p.write_text(text, encoding="utf-8")
    return p
