"""The HTML page around the chart: title, problem facts, KPI table, solver line, legend, the
chart with its pinned label column, unserved calls and warnings; and writing either format."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from optimizer.domain import Problem
from optimizer.gantt.layout import LiveMarks, layout
from optimizer.gantt.svg import chart_svg, esc, gantt_svg, labels_svg, legend_svg
from optimizer.kpis import fmt_day_time
from optimizer.plan import Plan
from optimizer.report import (
    NO_VALUE,
    kpi_headline,
    kpi_table_columns,
    kpi_table_sections,
    solver_summary,
    unserved_rows,
    unserved_summary,
    warning_rows,
    yardstick_notes,
)


def _cell(header: str, text: str) -> str:
    """A table cell; a saving is coloured by its sign (below FCFS is better, above worse)."""
    trend = ""
    if header == "saving" and text != NO_VALUE and float(text.removesuffix(" %")) != 0:
        trend = ' class="worse"' if text.startswith("-") else ' class="better"'
    return f"<td{trend}>{esc(text)}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], css_class: str = "") -> str:
    cls = f' class="{css_class}"' if css_class else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(h, c) for h, c in zip(headers, row, strict=True)) + "</tr>" for row in rows
    )
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kpis(plan: Plan) -> str:
    """The headline, the KPI table and what the FCFS yardsticks mean: the CLI's words and rows."""
    if plan.kpis is None:
        return '<p class="muted">KPIs were not computed for this plan.</p>'
    headline = "".join(f"<b>{esc(text)}</b>" if strong else esc(text) for text, strong in kpi_headline(plan))
    columns = kpi_table_columns(plan)
    (_, totals), *ports = kpi_table_sections(plan)
    table = _table(columns, [row[: len(columns)] for row in totals], "kpis")
    if ports:
        per_port = [row[: len(columns)] for _, rows in ports for row in rows]
        summary = f"<summary>Per port ({len(ports)})</summary>"
        table += f"<details>{summary}{_table(columns, per_port, 'kpis')}</details>"
    notes = "".join(f'<p class="muted">{esc(note)}</p>' for note in yardstick_notes(plan))
    return f'<p class="headline">{headline}.</p>{table}{notes}'


def _solver_line(plan: Plan) -> str:
    text = solver_summary(plan)
    return f'<p class="muted">Solver: {esc(text)}</p>' if text else ""


def _unserved_note(plan: Plan) -> str:
    """What the kinds of the unserved calls mean, under their table."""
    text = unserved_summary(plan)
    return f'<p class="muted unserved">{esc(text)}.</p>' if text else ""


def _section(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A titled table below the chart (unserved calls, warnings); nothing when it has no rows."""
    if not rows:
        return ""
    return f'<section class="unserved"><h2>{esc(title)} ({len(rows)})</h2>{_table(headers, rows)}</section>'


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
td.better{color:#1b7f3b}td.worse{color:#b42318}
details{margin:4px 0}summary{cursor:pointer;color:#5b6675;font-size:13px}
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


def gantt_html(problem: Problem, plan: Plan, title: str | None = None, live: LiveMarks | None = None) -> str:
    """A complete HTML page with the chart and a KPI summary, that opens offline in any browser
    (with `live`: a live plan's version, facts solid, plan outlined, a now-line)."""
    page_title = title if title is not None else f"Berth plan · {problem.name}"
    lay = layout(problem, plan, top=0.0, live=live)
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
        _kpis(plan),
        _solver_line(plan),
        "</header>",
        "<main>",
        legend_svg(lay, min(lay.width, 1400.0)),
        '<div class="chart"><div class="inner">',
        f'<div class="pin">{labels_svg(lay)}</div>',
        chart_svg(lay, None, legend=False),
        "</div></div>",
        "</main>",
        _section("Calls left unserved", ("Call", "Kind", "Why"), unserved_rows(plan)),
        _unserved_note(plan),
        _section("Warnings", ("Call", "Kind", "What"), warning_rows(plan)),
        "<footer>Times on the axis are UTC; each port header gives its local offset, and each bar's tooltip "
        "gives UTC and local times. Hover a bar, wait line, closure or hatched window for details. "
        "Made by portsync.</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(p for p in parts if p)


def write_gantt(path: str | Path, problem: Problem, plan: Plan, title: str | None = None,
                live: LiveMarks | None = None) -> Path:
    """Write the chart as HTML (.html, .htm) or SVG (.svg), chosen by the file's suffix."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".html", ".htm"):
        text = gantt_html(problem, plan, title, live)
    elif suffix == ".svg":
        text = gantt_svg(problem, plan, title, live)
    else:
        raise ValueError(f"gantt path {str(p)!r}: suffix {p.suffix or '(none)'!r} is not .html, .htm or .svg")
    p.write_text(text, encoding="utf-8")
    return p
