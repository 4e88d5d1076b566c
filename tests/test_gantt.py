"""The Gantt chart a planner opens: every berth and call drawn, closures and maintenance visible,
names escaped, and the file format chosen by suffix. Plans are made by hand: no solver here."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from optimizer.domain import Problem
from optimizer.gantt import gantt_html, gantt_svg, write_gantt
from optimizer.plan import (
    CallPlan,
    Kpis,
    Plan,
    ProofRule,
    SolverFacts,
    SolveStatus,
    UnservedCall,
    UnservedKind,
)
from optimizer.report import build_plan, kpi_table_columns, kpi_table_rows, solver_summary
from tests.builders import T0, at, berth, call, make_problem, port, vessel, voyage

SVG = "{http://www.w3.org/2000/svg}"
SCRIPT_NAME = "<script>alert(1)</script>"
PX = 0.2  # coordinates are written to 0.1 px


MAINTENANCE = {"start": at(30), "end": at(40), "reason": "fender repair"}


def small_problem() -> Problem:
    """Aktau with two berths (one under maintenance), Alat with two berths and a storm closure."""
    return make_problem(
        [
            port("KZAAU", [berth("A1", kinds=("general", "grain")), berth("A2", unavailable=[MAINTENANCE])],
                 name="Aktau"),
            port("AZBAK", [berth("B1", kinds=("rail_ferry",)), berth("B2", kinds=("general",))],
                 tz="Asia/Baku", name="Port of Baku at Alat",
                 closures=[{"start": at(48), "end": at(72), "reason": "NW storm"}]),
        ],
        [vessel("V1", name=SCRIPT_NAME), vessel("V2"), vessel("V3"), vessel("V4")],
        [
            call("C1", "V1", "KZAAU", 10, cargo="grain"),
            call("C2", "V2", "KZAAU", 6),
            call("C3", "V3", "AZBAK", 8, cargo="rail_ferry",
                 frozen={"berth_id": "B1", "berth_start": at(2), "berth_end": at(10)}),
            call("C4", "V4", "AZBAK", 5),
        ],
        [voyage("V1", 1, "C1"), voyage("V2", 3, "C2"), voyage("V3", 2, "C3"), voyage("V4", 70, "C4")],
        days=4,
        name="gantt-test",
    )


def cp(call_id: str, berth_id: str, arrival_h: float, start_h: float, end_h: float,
       **extra: object) -> CallPlan:
    arrival, start, end = (T0 + timedelta(hours=h) for h in (arrival_h, start_h, end_h))
    return CallPlan(
        call_id=call_id, berth_id=berth_id, arrival=arrival, berth_start=start, berth_end=end,
        waiting_minutes=(start_h - arrival_h) * 60, dwell_minutes=(end_h - arrival_h) * 60,
        **extra,  # type: ignore[arg-type]
    )


def small_plan() -> Plan:
    return Plan(
        problem_name="gantt-test",
        calls=[
            cp("C1", "A1", 1, 1, 11, vessel_id="V1", vessel_name=SCRIPT_NAME, port_id="KZAAU"),
            cp("C2", "A1", 3, 11, 17, vessel_id="V2", vessel_name="MV V2", port_id="KZAAU"),
            cp("C3", "B1", 2, 2, 10, vessel_id="V3", vessel_name="MV V3", port_id="AZBAK"),
            cp("C4", "B2", 70, 72, 77, vessel_id="V4", vessel_name="MV V4", port_id="AZBAK"),
        ],
    )


def svg_root(problem: Problem, plan: Plan) -> ET.Element:
    return ET.fromstring(gantt_svg(problem, plan).split("?>", 1)[1])


def with_attr(root: ET.Element, attr: str) -> list[ET.Element]:
    return [e for e in root.iter() if attr in e.attrib]


def by_attr(root: ET.Element, attr: str, value: str) -> ET.Element:
    (found,) = [e for e in root.iter() if e.get(attr) == value]
    return found


def rect_of(group: ET.Element) -> ET.Element:
    return next(e for e in group.iter(f"{SVG}rect"))


def span(rect: ET.Element, axis: str) -> tuple[float, float]:
    lo = float(rect.get(axis, "0"))
    return lo, lo + float(rect.get("width" if axis == "x" else "height", "0"))


class PageParser(HTMLParser):
    """Collects every start tag with its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse_page(text: str) -> list[tuple[str, dict[str, str | None]]]:
    p = PageParser()
    p.feed(text)
    p.close()
    return p.tags


def test_svg_draws_every_berth_row_once_grouped_by_port() -> None:
    root = svg_root(small_problem(), small_plan())
    rows = with_attr(root, "data-berth-id")
    assert sorted(r.get("data-berth-id", "") for r in rows) == ["A1", "A2", "B1", "B2"]
    assert {r.get("data-berth-id"): r.get("data-port-id") for r in rows} == {
        "A1": "KZAAU", "A2": "KZAAU", "B1": "AZBAK", "B2": "AZBAK"}
    headers = " ".join("".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "port")
    assert "Aktau · KZAAU" in headers and "Port of Baku at Alat · AZBAK" in headers
    assert "UTC+05:00" in headers and "UTC+04:00" in headers


def test_svg_draws_every_call_bar_once_on_its_berth_row() -> None:
    root = svg_root(small_problem(), small_plan())
    bars = with_attr(root, "data-call-id")
    assert sorted(b.get("data-call-id", "") for b in bars) == ["C1", "C2", "C3", "C4"]
    for call_id, berth_id in [("C1", "A1"), ("C2", "A1"), ("C3", "B1"), ("C4", "B2")]:
        bar_y = span(rect_of(by_attr(root, "data-call-id", call_id)), "y")
        row_y = span(rect_of(by_attr(root, "data-berth-id", berth_id)), "y")
        assert row_y[0] <= bar_y[0] < bar_y[1] <= row_y[1], call_id
    c1 = span(rect_of(by_attr(root, "data-call-id", "C1")), "x")
    c2 = span(rect_of(by_attr(root, "data-call-id", "C2")), "x")
    assert c1[1] == pytest.approx(c2[0])  # C2 starts when C1 leaves
    assert (c2[1] - c2[0]) / (c1[1] - c1[0]) == pytest.approx(0.6, abs=0.01)  # 6 h against 10 h


def test_bar_is_coloured_by_cargo_and_tooltip_gives_utc_local_and_hours() -> None:
    root = svg_root(small_problem(), small_plan())
    grain, ferry = by_attr(root, "data-call-id", "C1"), by_attr(root, "data-call-id", "C3")
    assert rect_of(grain).get("fill") != rect_of(ferry).get("fill")
    tip = by_attr(root, "data-call-id", "C2").findtext(f"{SVG}title") or ""
    assert "C2" in tip and "MV V2" in tip and "general cargo" in tip
    assert "Mon 02 Nov 2026 11:00 UTC" in tip and "16:00 local (UTC+05:00)" in tip  # berth start
    assert "waiting 8.0 h" in tip and "dwell 14.0 h" in tip
    legend = "".join(next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend").itertext())
    assert "grain" in legend and "rail ferry" in legend


def test_wait_at_anchorage_runs_from_arrival_to_berth_start() -> None:
    root = svg_root(small_problem(), small_plan())
    waits = {g.get("data-wait-call-id"): g for g in root.iter(f"{SVG}g") if g.get("class") == "wait"}
    assert set(waits) == {"C2", "C4"}  # C1 and C3 berth on arrival
    line = next(waits["C2"].iter(f"{SVG}line"))
    bar_x = span(rect_of(by_attr(root, "data-call-id", "C2")), "x")[0]
    c1_x = span(rect_of(by_attr(root, "data-call-id", "C1")), "x")[0]
    hour = (bar_x - c1_x) / 10
    assert float(line.get("x2", "0")) == pytest.approx(bar_x)
    assert float(line.get("x1", "0")) == pytest.approx(c1_x + 2 * hour, abs=PX)  # arrived at 03:00


def test_closure_is_shaded_across_all_berths_of_its_port_only() -> None:
    root = svg_root(small_problem(), small_plan())
    (closure,) = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "closure"]
    assert closure.get("data-port-id") == "AZBAK"
    assert "NW storm" in (closure.findtext(f"{SVG}title") or "")
    top, bottom = span(closure, "y")
    for bid in ("B1", "B2"):
        row = span(rect_of(by_attr(root, "data-berth-id", bid)), "y")
        assert top <= row[0] and row[1] <= bottom
    for bid in ("A1", "A2"):
        row = span(rect_of(by_attr(root, "data-berth-id", bid)), "y")
        assert row[1] <= top or row[0] >= bottom
    left, right = span(closure, "x")
    c4 = span(rect_of(by_attr(root, "data-call-id", "C4")), "x")
    assert c4[0] == pytest.approx(right)  # C4 berths when the storm ends, 72 h
    assert right - left == pytest.approx((c4[1] - c4[0]) * 24 / 5, abs=PX)
    marks = [g for g in root.iter(f"{SVG}g") if g.get("class") == "closure-mark"]
    assert marks and "closure" in "".join(marks[0].itertext())


def test_maintenance_is_hatched_on_its_berth_row() -> None:
    root = svg_root(small_problem(), small_plan())
    (window,) = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "maintenance"]
    assert window.get("data-berth") == "A2"
    assert window.get("fill") == "url(#psg-hatch)"
    assert "fender repair" in (window.findtext(f"{SVG}title") or "")
    row = span(rect_of(by_attr(root, "data-berth-id", "A2")), "y")
    top, bottom = span(window, "y")
    assert row[0] <= top < bottom <= row[1]


def test_frozen_call_is_marked() -> None:
    root = svg_root(small_problem(), small_plan())
    classes = {b.get("data-call-id"): (b.get("class") or "").split() for b in with_attr(root, "data-call-id")}
    assert "frozen" in classes["C3"]
    assert [c for c, cls in classes.items() if "frozen" in cls] == ["C3"]
    assert "frozen" in (by_attr(root, "data-call-id", "C3").findtext(f"{SVG}title") or "")


def test_vessel_name_is_escaped_never_markup() -> None:
    problem, plan = small_problem(), small_plan()
    page = gantt_html(problem, plan, title="<b>week</b>")
    tags = parse_page(page)
    assert "script" not in {t for t, _ in tags}
    assert "b" not in {t for t, _ in tags}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    root = svg_root(problem, plan)
    texts = "".join(by_attr(root, "data-call-id", "C1").itertext())
    assert SCRIPT_NAME in texts  # shown as text, as the planner typed it


def test_html_page_is_self_contained_and_holds_every_row_and_bar() -> None:
    page = gantt_html(small_problem(), small_plan())
    assert page.startswith("<!DOCTYPE html>")
    tags = parse_page(page)
    berths = sorted(a["data-berth-id"] or "" for _, a in tags if "data-berth-id" in a)
    calls = sorted(a["data-call-id"] or "" for _, a in tags if "data-call-id" in a)
    assert berths == ["A1", "A2", "B1", "B2"] and calls == ["C1", "C2", "C3", "C4"]
    for tag, attrs in tags:
        assert tag not in ("script", "iframe", "img"), tag
        for name in ("src", "href"):
            assert attrs.get(name) in (None, "data:,"), (tag, attrs)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    # the chart inside the page is well-formed SVG
    start = page.index('<svg xmlns="http://www.w3.org/2000/svg" class="psg-gantt"')
    ET.fromstring(page[start : page.index("</svg>", start) + len("</svg>")])


def test_kpi_summary_compares_with_fcfs_when_given() -> None:
    def kpis(dwell: float, waiting: float) -> Kpis:
        return Kpis(calls=4, total_dwell_hours=dwell, mean_dwell_hours=dwell / 4,
                    total_waiting_hours=waiting, mean_waiting_hours=waiting / 4, total_lateness_hours=0,
                    late_calls=0, berth_utilization=0.3, weighted_dwell_minutes=dwell * 60,
                    weighted_lateness_minutes=0, objective=dwell * 60)

    problem = small_problem()
    bare = gantt_html(problem, small_plan())
    assert "first come, first served" not in bare
    plan = small_plan().model_copy(update={"kpis": kpis(36, 10), "baseline_kpis": kpis(48, 22)})
    page = gantt_html(problem, plan)
    assert "<b>25.0 % below</b> first come, first served (48.0 h)" in page
    assert "36.0 h" in page and "22.0 h" in page


def test_page_renders_the_cli_kpi_rows_and_solver_line() -> None:
    problem = small_problem()
    facts = SolverFacts(status=SolveStatus.FEASIBLE, objective=2160, gap=0.025, seconds=1.5, solutions=3)
    plan = build_plan(problem, small_plan().calls, baseline=small_plan().calls, solver=facts)
    page = gantt_html(problem, plan)
    columns = kpi_table_columns(plan)
    for row in kpi_table_rows(plan):
        assert "".join(f"<td>{html.escape(c)}</td>" for c in row[: len(columns)]) in page, row
    assert f"Solver: {solver_summary(plan)}</p>" in page and "gap 2.5 %" in page


def test_chart_widens_to_calls_past_the_horizon() -> None:
    problem = small_problem()
    late = cp("C4", "B2", 90, 92, 100, vessel_name="MV V4")  # horizon ends at 96 h
    plan = small_plan().model_copy(update={"calls": [*small_plan().calls[:3], late]})
    root = svg_root(problem, plan)
    bar = span(rect_of(by_attr(root, "data-call-id", "C4")), "x")
    assert bar[1] < float(root.get("width", "0"))
    outside = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "outside-horizon"]
    assert len(outside) == 1 and span(outside[0], "x")[0] < bar[1]


def test_week_of_many_calls_stays_readable() -> None:
    """A 7-day chart gets 6-10 px per hour; narrow bars get a shortened label or none."""
    problem = make_problem(
        [port("KZAAU", [berth(f"A{i}") for i in range(6)])],
        [vessel(f"V{i}", name=f"Akademik Topchubashov {i}") for i in range(120)],
        [call(f"C{i}", f"V{i}", "KZAAU", 1 + i % 9) for i in range(120)],
        [voyage(f"V{i}", i * 1.3, f"C{i}") for i in range(120)],
        days=7,
    )
    calls = [cp(f"C{i}", f"A{i % 6}", i * 1.3, i * 1.3, i * 1.3 + 1 + i % 9) for i in range(120)]
    root = svg_root(problem, Plan(calls=calls))
    assert len(with_attr(root, "data-call-id")) == 120
    one_hour = span(rect_of(by_attr(root, "data-call-id", "C0")), "x")
    px_per_hour = one_hour[1] - one_hour[0]
    assert 6 <= px_per_hour <= 10
    assert float(root.get("width", "0")) >= 1200
    for bar in with_attr(root, "data-call-id"):
        x0, x1 = span(rect_of(bar), "x")
        label = "".join(t.text or "" for t in bar.iter(f"{SVG}text"))
        assert len(label) * 6.4 <= x1 - x0
        assert f"Akademik Topchubashov {bar.get('data-call-id', '')[1:]}".startswith(label.rstrip("…"))


@pytest.mark.parametrize("suffix", [".html", ".htm", ".HTML"])
def test_write_gantt_writes_html_for_html_suffixes(tmp_path: Path, suffix: str) -> None:
    out = write_gantt(tmp_path / f"plan{suffix}", small_problem(), small_plan())
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_write_gantt_writes_svg_for_svg_suffix(tmp_path: Path) -> None:
    path = tmp_path / "plan.svg"
    write_gantt(str(path), small_problem(), small_plan())
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    assert len(with_attr(root, "data-call-id")) == 4


@pytest.mark.parametrize("name", ["plan.png", "plan.json", "plan"])
def test_write_gantt_refuses_other_suffixes(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.html, \.htm or \.svg"):
        write_gantt(tmp_path / name, small_problem(), small_plan())
    assert not (tmp_path / name).exists()


def test_hand_made_plan_with_unknown_berth_or_call_still_draws_them() -> None:
    """A planner's typo is shown in a flagged group, not dropped and not a crash."""
    typo = cp("C9", "B7", 5, 6, 9)
    root = svg_root(small_problem(), small_plan().model_copy(update={"calls": [*small_plan().calls, typo]}))
    assert by_attr(root, "data-berth-id", "B7").get("data-port-id") == ""
    bar = by_attr(root, "data-call-id", "C9")
    assert "not in the problem" in (bar.findtext(f"{SVG}title") or "")
    headers = " ".join("".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "port")
    assert "Not in the problem" in headers


def test_unserved_calls_are_listed_with_their_kind() -> None:
    plan = small_plan().model_copy(update={"calls": small_plan().calls[:2], "unserved": [
        UnservedCall(call_id="C3", kind=UnservedKind.PROVEN, rule=ProofRule.OWN_WINDOW,
                     reasons=["too short"]),
        UnservedCall(call_id="C4", reasons=["in this plan it cannot leave by 10:00", "a plan may exist"]),
    ]})
    page = gantt_html(small_problem(), plan)
    assert "Calls left unserved (2)" in page
    rows = page.split("Calls left unserved", 1)[1]
    assert "<th>Call</th><th>Kind</th><th>Why</th>" in rows
    assert "proven: own_window" in rows and "too short" in rows
    assert "not found" in rows and "in this plan it cannot leave by 10:00; a plan may exist" in rows
    assert "2 call(s) cannot be served: 1 proven (no plan can serve them), 1 not found" in rows
