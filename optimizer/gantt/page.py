"""The HTML page around the chart: title, problem facts, KPI table, solver line, legend, the
chart with its pinned label column, unserved calls and warnings; and writing either format."""

from __future__ import annotations

from pathlib import Path

from optimizer.domain import Problem
from optimizer.gantt.layout import layout
from optimizer.gantt.svg import change_text, chart_svg, esc, gantt_svg, labels_svg, legend_svg
from optimizer.kpis import fmt_day_time
from optimizer.plan import Kpis, Plan, PortKpis


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
        cells = [f"<td>{esc(scope)}</td>", f"<td>{kp.calls}</td>", f"<td>{dwell:.1f} h</td>"]
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
    return f'<td class="{trend}">{change_text(value, base)}</td>'


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
    return f'<p class="muted">Solver: {esc(" · ".join(bits))}</p>'


def _unserved(plan: Plan) -> str:
    if not plan.unserved:
        return ""
    rows = "".join(
        f"<tr><td>{esc(u.call_id)}</td><td>{esc('; '.join(u.reasons))}</td></tr>" for u in plan.unserved
    )
    return (
        f'<section class="unserved"><h2>Calls that cannot be served ({len(plan.unserved)})</h2>'
        f"<table><thead><tr><th>Call</th><th>Why</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _warnings(plan: Plan) -> str:
    if not plan.warnings:
        return ""
    rows = "".join(f"<tr><td>{esc(w.call_id or '')}</td><td>{esc(w.kind)}</td>"
                   f"<td>{esc(w.detail)}</td></tr>" for w in plan.warnings)
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
    lay = layout(problem, plan, top=0.0)
    ports = " · ".join(f"{p.name} ({p.id})" if p.name and p.name != p.id else p.id for p in problem.ports)
    nberths = sum(len(p.berths) for p in problem.ports)
    facts = (
        f"Problem {problem.name} · {ports} · {nberths} berths · {len(plan.calls)} calls planned · "
        f"horizon {fmt_day_time(problem.horizon_start)} to {fmt_day_time(problem.horizon_end)}"
    )
    description = f'<p class="muted">{esc(problem.description)}</p>' if problem.description else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<link rel="icon" href="data:,">',
        f"<title>{esc(page_title)}</title>",
        f"<style>{_PAGE_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{esc(page_title)}</h1>",
        f'<p class="muted">{esc(facts)}</p>',
        description,
        _kpi_table(problem, plan),
        _solver_line(plan),
        "</header>",
        "<main>",
        legend_svg(lay, min(lay.width, 1400.0)),
        '<div class="chart"><div class="inner">',
        f'<div class="pin">{labels_svg(lay)}</div>',
        chart_svg(lay, None, legend=False),
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
