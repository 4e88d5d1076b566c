"""The chart drawn as SVG from its layout: rows, grid, closures, maintenance, waits, bars, legend.

Plain SVG written with the standard library, so the chart opens offline and with no script. Every
call bar carries ``data-call-id`` and every berth row ``data-berth-id`` so that tests and browser
checks can count them.
"""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

from optimizer.domain import CargoKind, Problem
from optimizer.gantt.layout import (
    AXIS_H,
    BAR_H,
    BAR_TOP,
    CHAR_W_10,
    CHAR_W_11,
    CHAR_W_12B,
    CHAR_W_13B,
    HEADER_H,
    PAD,
    ROW_H,
    WAIT_LANES,
    Bar,
    Group,
    Layout,
    LiveMarks,
    Row,
    Scale,
    axis_ticks,
    cargo_label,
    fit_text,
    layout,
    legend_flow,
    wait_lanes,
    window_x,
)
from optimizer.kpis import fmt_day_time_at, fmt_hours, minutes
from optimizer.plan import Plan
from optimizer.report import kpi_headline

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
CLOSURE_COLOUR = "#c62828"

_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(value: object) -> str:
    """Escape for both HTML and XML, dropping characters XML 1.0 forbids (a .svg must parse)."""
    return html.escape(_XML_UNSAFE.sub("\ufffd", str(value)), quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}"


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


def _axis(scale: Scale, top: float, bottom: float) -> tuple[list[str], list[str]]:
    """Tick labels (above the rows) and grid lines (through them)."""
    labels: list[str] = []
    grid: list[str] = []
    ticks, lead = axis_ticks(scale)
    for t in ticks:
        x = _f(t.x)
        if t.day:
            grid.append(f'<line x1="{x}" y1="{_f(top + 4)}" x2="{x}" y2="{_f(bottom)}" stroke="#9aa3ae" '
                        'stroke-width="1"/>')
            if t.label:
                labels.append(f'<text class="day" x="{_f(t.x + 4)}" y="{_f(top + 17)}">{esc(t.label)}</text>')
        else:
            grid.append(f'<line x1="{x}" y1="{_f(top + 26)}" x2="{x}" y2="{_f(bottom)}" stroke="#e3e7ec" '
                        'stroke-width="1"/>')
            if t.label:
                labels.append(f'<text class="hour" x="{x}" y="{_f(top + 37)}" text-anchor="middle">'
                              f"{t.label}</text>")
    if lead is not None:
        labels.append(f'<text class="day" x="{_f(scale.left + 4)}" y="{_f(top + 17)}">{esc(lead)}</text>')
    labels.append(
        f'<line x1="{_f(scale.left)}" y1="{_f(top + AXIS_H - 2)}" x2="{_f(scale.right)}" '
        f'y2="{_f(top + AXIS_H - 2)}" stroke="#9aa3ae"/>'
    )
    return labels, grid


def _rows_svg(groups: list[Group], label_w: float, full: float, data: bool = True) -> list[str]:
    """Port header bands and berth rows with their labels; `data=False` for the pinned label copy."""
    out: list[str] = []
    for g in groups:
        fill = "#e8edf3" if g.port is not None else "#fdecea"
        out.append(f'<g class="port" data-port-id="{esc(g.port_id)}">' if data else "<g>")
        out.append(
            f'<rect x="0" y="{_f(g.y)}" width="{_f(full)}" height="{_f(HEADER_H)}" fill="{fill}"/>'
        )
        out.append(
            f'<text class="port-title" x="{_f(PAD)}" y="{_f(g.y + 15)}">'
            f"{esc(fit_text(g.title, label_w - PAD, CHAR_W_13B))}</text>"
        )
        out.append(
            f'<text class="port-sub" x="{_f(PAD)}" y="{_f(g.y + 28)}">'
            f"{esc(fit_text(g.sub, label_w - PAD, CHAR_W_10))}</text>"
        )
        out.append("</g>")
        for i, r in enumerate(g.rows):
            bg = "#ffffff" if i % 2 == 0 else "#f7f9fb"
            tip = _berth_tip(r)
            out.append(
                f'<g class="berth" data-berth-id="{esc(r.berth_id)}" data-port-id="{esc(r.port_id)}">'
                if data
                else "<g>"
            )
            out.append(f"<title>{esc(tip)}</title>")
            out.append(
                f'<rect x="0" y="{_f(r.y)}" width="{_f(full)}" height="{_f(ROW_H)}" fill="{bg}"/>'
            )
            out.append(
                f'<text class="berth-label" x="{_f(PAD + 8)}" y="{_f(r.y + 15)}">'
                f"{esc(fit_text(r.label, label_w - PAD - 12, CHAR_W_12B))}</text>"
            )
            out.append(
                f'<text class="berth-sub" x="{_f(PAD + 8)}" y="{_f(r.y + 28)}">'
                f"{esc(fit_text(r.sub, label_w - PAD - 12, CHAR_W_10))}</text>"
            )
            out.append("</g>")
        out.append(
            f'<line x1="0" y1="{_f(g.bottom)}" x2="{_f(full)}" y2="{_f(g.bottom)}" stroke="#cfd6de"/>'
        )
    return out


def _berth_tip(r: Row) -> str:
    b = r.berth
    if b is None:
        return f"Berth {r.berth_id}: not in the problem"
    lines = [f"Berth {b.id}" + (f" · {b.name}" if b.name else "") + f" ({r.port_id})"]
    lines.append(f"length {b.length_m:g} m · max draft {b.max_draft_m:g} m")
    lines.append("works: " + ", ".join(cargo_label(k.value) for k in b.cargo_kinds))
    if b.productivity != 1.0:
        lines.append(f"productivity ×{b.productivity:g}")
    return "\n".join(lines)


def _closures_svg(groups: list[Group], scale: Scale, port_tz: dict[str, ZoneInfo | None]) -> tuple[
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
            span = window_x(scale, c)
            if span is None:
                continue
            x0, x1 = span
            w = max(x1 - x0, 1.0)
            tip = (
                f"Closure of {g.title}" + (f": {c.reason}" if c.reason else "")
                + f"\nfrom {fmt_day_time_at(c.start, tz)}\nto {fmt_day_time_at(c.end, tz)}"
                + f"\n{fmt_hours((c.end - c.start).total_seconds() / 3600)}: no berthing or departure"
            )
            y0 = g.y + HEADER_H
            h = g.bottom - y0
            under.append(
                f'<rect class="closure" data-port-id="{esc(g.port_id)}" x="{_f(x0)}" y="{_f(y0)}" '
                f'width="{_f(w)}" height="{_f(h)}" fill="{CLOSURE_COLOUR}" fill-opacity="0.14">'
                f"<title>{esc(tip)}</title></rect>"
            )
            label = fit_text("closure" + (f": {c.reason}" if c.reason else ""), w - 8, 6.2)
            over.append(f'<g class="closure-mark" data-port-id="{esc(g.port_id)}">')
            over.append(f"<title>{esc(tip)}</title>")
            over.append(
                f'<rect x="{_f(x0)}" y="{_f(g.y + 3)}" width="{_f(w)}" height="{_f(HEADER_H - 6)}" rx="3" '
                f'fill="{CLOSURE_COLOUR}"/>'
            )
            if label:
                over.append(
                    f'<text class="closure-label" x="{_f(x0 + 5)}" y="{_f(g.y + HEADER_H / 2 + 4)}">'
                    f"{esc(label)}</text>"
                )
            for x in (x0, x0 + w):
                over.append(
                    f'<line x1="{_f(x)}" y1="{_f(y0)}" x2="{_f(x)}" y2="{_f(g.bottom)}" '
                    f'stroke="{CLOSURE_COLOUR}" stroke-width="1.5" stroke-dasharray="5 3"/>'
                )
            over.append("</g>")
    return under, over


def _maintenance_svg(groups: list[Group], scale: Scale, port_tz: dict[str, ZoneInfo | None]) -> list[str]:
    out: list[str] = []
    for g in groups:
        tz = port_tz.get(g.port_id)
        for r in g.rows:
            if r.berth is None:
                continue
            for w in r.berth.unavailable:
                span = window_x(scale, w)
                if span is None:
                    continue
                x0, x1 = span
                tip = (
                    f"Berth {r.berth_id} unavailable" + (f": {w.reason}" if w.reason else " (maintenance)")
                    + f"\nfrom {fmt_day_time_at(w.start, tz)}\nto {fmt_day_time_at(w.end, tz)}"
                )
                out.append(
                    f'<rect class="maintenance" data-berth="{esc(r.berth_id)}" x="{_f(x0)}" '
                    f'y="{_f(r.y + 2)}" width="{_f(max(x1 - x0, 1.0))}" height="{_f(ROW_H - 4)}" '
                    f'fill="url(#psg-hatch)" stroke="#7b8494" stroke-width="0.8">'
                    f"<title>{esc(tip)}</title></rect>"
                )
    return out


def _call_tip(bar: Bar) -> str:
    """Who, what, where, when (UTC and local), how long, and why it waited: all a bar can say."""
    cp = bar.cp
    wait = cp.waiting_minutes
    if wait is None:
        wait = minutes(cp.berth_start - cp.arrival)
    dwell = cp.dwell_minutes
    if dwell is None:
        dwell = minutes(cp.berth_end - cp.arrival)
    at_berth = minutes(cp.berth_end - cp.berth_start)
    cargo = cargo_label(bar.cargo) or "unknown cargo"
    vessel = bar.name if not cp.vessel_id or cp.vessel_id == bar.name else f"{bar.name} ({cp.vessel_id})"
    lines = [
        f"Call {cp.call_id} · {vessel}",
        f"cargo: {cargo} · berth {cp.berth_id}" + (f" ({bar.port_id})" if bar.port_id else ""),
        f"arrival:     {fmt_day_time_at(cp.arrival, bar.tz)}",
        f"berth start: {fmt_day_time_at(cp.berth_start, bar.tz)}",
        f"berth end:   {fmt_day_time_at(cp.berth_end, bar.tz)}",
        f"waiting {fmt_hours(wait / 60)} · at berth "
        f"{fmt_hours(at_berth / 60)} · dwell {fmt_hours(dwell / 60)}",
    ]
    if cp.lateness_minutes:
        lines.append(f"late by {fmt_hours(cp.lateness_minutes / 60)} against the requested departure")
    if cp.inbound_speed_kn is not None:
        lines.append(f"inbound speed {cp.inbound_speed_kn:.1f} kn")
    if cp.waiting_at_sea_minutes:
        lines.append(f"waited at sea {fmt_hours(cp.waiting_at_sea_minutes / 60)} on the way here "
                     "(beyond sailing it at min speed)")
    lines.extend(f"waited for: {r.detail}" for r in cp.waited_for)
    if bar.frozen:
        lines.append("frozen: kept at this berth and these times")
    if bar.call is None:
        lines.append("this call is not in the problem")
    return "\n".join(lines)


def _calls_svg(bars: list[Bar], rows: dict[str, Row], scale: Scale,
               live: LiveMarks | None = None) -> tuple[list[str], list[str]]:
    """Anchorage waits (under the bars) and the bars themselves."""
    waits: list[str] = []
    out: list[str] = []
    by_berth: dict[str, list[Bar]] = {}
    for b in bars:
        by_berth.setdefault(b.cp.berth_id, []).append(b)
    for berth_id, row_bars in by_berth.items():
        row = rows[berth_id]
        waiting = [b for b in row_bars if b.cp.berth_start > b.cp.arrival]
        lanes = wait_lanes(waiting)
        for i, b in enumerate(waiting):
            cp = b.cp
            x0, x1 = scale.x(cp.arrival), scale.x(cp.berth_start)
            y = row.y + WAIT_LANES[lanes[i]]
            colour = _darker(CARGO_COLOURS.get(b.cargo, UNKNOWN_COLOUR))
            hours = (cp.berth_start - cp.arrival).total_seconds() / 3600
            tip = f"{b.name} ({cp.call_id}) waits {fmt_hours(hours)} at anchorage"
            tip += f"\narrives {fmt_day_time_at(cp.arrival, b.tz)}"
            tip += "".join(f"\nwaited for: {r.detail}" for r in cp.waited_for)
            waits.append(
                f'<g class="wait" data-wait-call-id="{esc(cp.call_id)}"><title>{esc(tip)}</title>'
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
            planned = live is not None and cp.call_id not in live.actual
            cls = "call frozen" if b.frozen else "call"
            edge, edge_w = ("#111827", 2.2) if b.frozen else (_darker(fill), 1.0)
            stroke = f'stroke="{edge}" stroke-width="{edge_w:g}"'
            if live is not None:
                cls += " planned" if planned else " actual"
            if planned:  # plan, not fact: an outlined bar
                stroke = f'stroke="{_darker(fill)}" stroke-width="1.8" fill-opacity="0.22"'
            out.append(
                f'<g class="{cls}" data-call-id="{esc(cp.call_id)}" data-berth="{esc(cp.berth_id)}" '
                f'data-cargo="{esc(b.cargo)}"><title>{esc(_call_tip(b))}</title>'
                f'<rect class="bar" x="{_f(x0)}" y="{_f(y)}" width="{_f(w)}" height="{_f(BAR_H)}" rx="3" '
                f'fill="{fill}" {stroke}/>'
            )
            text_x = x0 + 4
            room = w - 8
            if b.frozen:
                out.append(f'<rect x="{_f(x0)}" y="{_f(y)}" width="4" height="{_f(BAR_H)}" fill="#111827"/>')
                text_x += 3
                room -= 3
            label = fit_text(b.name, room, CHAR_W_11)
            if label:
                out.append(
                    f'<text class="bar-label" x="{_f(text_x)}" y="{_f(y + 13)}" '
                    f'style="fill:{"#1f2933" if planned else _ink_on(fill)}">{esc(label)}</text>'
                )
            out.append("</g>")
    return waits, out


def _legend(
    bars: list[Bar], width: float, top: float, outside: bool, suffix: str = "", live: LiveMarks | None = None
) -> tuple[list[str], float]:
    """Legend items laid out left to right, wrapping; returns the markup and its height."""

    def box(attrs: str) -> str:
        return '<rect x="{x}" y="{y}" width="22" height="12" ' + attrs + "/>"

    present = {b.cargo for b in bars}
    items: list[tuple[str, str]] = []  # (swatch markup with {x}, {y} ... placeholders, label)
    for kind in CargoKind:
        if kind.value in present:
            c = CARGO_COLOURS[kind.value]
            items.append((box(f'rx="2" fill="{c}" stroke="{_darker(c)}"'), cargo_label(kind.value)))
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
    if live is not None:
        items.append((box('rx="2" fill="#4b5563" stroke="#1f2933"'), "actual (departed or at berth)"))
        items.append((box('rx="2" fill="#4b5563" fill-opacity="0.22" stroke="#1f2933" stroke-width="1.8"'),
                      "planned"))
        items.append(('<line x1="{x11}" y1="{y}" x2="{x11}" y2="{y12}" stroke="#d9480f" stroke-width="2"/>',
                      "now"))
    if outside:
        outside_box = box(f'fill="url(#psg-outside{suffix})" stroke="#cfd6de"')
        items.append((outside_box, "outside the planning horizon"))
    places, height = legend_flow([label for _, label in items], width, top)
    out = ['<g class="legend">']
    for (swatch, label), (x, y) in zip(items, places, strict=True):
        out.append(swatch.format(x=_f(x), y=_f(y), ym=_f(y + 6), x22=_f(x + 22), x11=_f(x + 11),
                                 y12=_f(y + 12)))
        out.append(f'<text x="{_f(x + 28)}" y="{_f(y + 10.5)}">{esc(label)}</text>')
    out.append("</g>")
    return out, height


def _svg_open(width: float, height: float, label: str, cls: str = "psg-gantt") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{_f(width)}" height="{_f(height)}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" role="img" aria-label="{esc(label)}">'
    )


def _axis_caption(top: float) -> list[str]:
    return [
        f'<text class="day" x="{_f(PAD)}" y="{_f(top + 17)}">UTC</text>',
        f'<text class="hour" x="{_f(PAD)}" y="{_f(top + 37)}">day · hour</text>',
    ]


def chart_svg(lay: Layout, heading: str | None, legend: bool) -> str:
    """The chart; a heading and the legend only when it stands alone (the page has its own)."""
    scale, top, bottom = lay.scale, lay.axis_top, lay.rows_bottom
    head: list[str] = []
    if heading is not None:
        head.append(f'<text class="heading" x="{_f(PAD)}" y="22">{esc(heading)}</text>')
        sub = "".join(text for text, _ in kpi_headline(lay.plan)) or f"{len(lay.plan.calls)} calls"
        head.append(f'<text class="subheading" x="{_f(PAD)}" y="40">{esc(sub)}</text>')
    rows = {r.berth_id: r for g in lay.groups for r in g.rows}
    labels, grid = _axis(scale, top, bottom)
    under, over = _closures_svg(lay.groups, scale, lay.port_tz)
    waits, call_bars = _calls_svg(lay.bars, rows, scale, lay.live)
    if lay.live is not None and scale.start <= lay.live.now <= scale.end:
        x = scale.x(lay.live.now)
        call_bars.append(
            f'<g class="now-line"><title>now {esc(fmt_day_time_at(lay.live.now, None))}</title>'
            f'<line x1="{_f(x)}" y1="{_f(top + AXIS_H - 4)}" x2="{_f(x)}" y2="{_f(bottom)}" stroke="#d9480f" '
            f'stroke-width="2"/><text x="{_f(x + 3)}" y="{_f(top + AXIS_H - 6)}" '
            'style="fill:#d9480f">now</text></g>')
    outside = [
        f'<rect class="outside-horizon" x="{_f(scale.x(a))}" y="{_f(top + AXIS_H)}" '
        f'width="{_f(scale.x(b) - scale.x(a))}" height="{_f(bottom - top - AXIS_H)}" '
        'fill="url(#psg-outside)" fill-opacity="0.8"><title>Outside the planning horizon</title></rect>'
        for a, b in lay.outside
    ]
    key, key_h = (_legend(lay.bars, lay.width, bottom + 16, bool(outside), live=lay.live) if legend
                  else ([], 0.0))
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


def labels_svg(lay: Layout) -> str:
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


def legend_svg(lay: Layout, width: float) -> str:
    """The legend on its own, above the page's chart, so it stays in view when the chart scrolls."""
    key, key_h = _legend(lay.bars, width, 6, bool(lay.outside), suffix="-key", live=lay.live)
    return "\n".join([
        _svg_open(width, key_h + 8, "Legend", "psg-gantt psg-legend"),
        _defs("-key"),
        *key,
        "</svg>",
    ])


def gantt_svg(problem: Problem, plan: Plan, title: str | None = None, live: LiveMarks | None = None) -> str:
    """The chart alone as a standalone SVG document, with its own heading and KPI line."""
    heading = title if title is not None else f"Berth plan · {problem.name}"
    chart = chart_svg(layout(problem, plan, top=52.0, live=live), heading, legend=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + chart + "\n"


