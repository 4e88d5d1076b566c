"""The study's orchestration and arithmetic: months stored as they come and reused, intervals over
seeds, the knee, the CSVs; checked against values worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from optimizer.study.capacity import (
    Interval,
    StudySpec,
    knees,
    run_study,
    summarize,
    write_csvs,
)
from optimizer.study.records import MonthKey, MonthResult, Planner, PortKpis


def kpis(port: str, planner: Planner, wait: float, wq_over_s: float, occupancy: float = 0.5) -> PortKpis:
    return PortKpis(
        port_id=port,
        planner=planner,
        berths=2,
        calls=100,
        unservable=0,
        occupancy=occupancy,
        wait_mean_h=wait,
        wait_p95_h=3 * wait,
        service_mean_h=10.0,
        wq_over_s=wq_over_s,
        dwell_mean_h=10.0 + wait,
        lateness_mean_h=0.0,
        queue_mean=wait / 5,
        arrivals_per_h=0.2,
        littles_law_gap=0.0,
    )


#: Mean Wq/S per growth level (FCFS), and mean waiting in hours: the knee is worked out by hand below.
RATIO = {1.0: 0.05, 1.5: 0.15, 2.0: 0.45}
WAIT = {1.0: 1.0, 1.5: 1.5, 2.0: 3.0}


def fake_month(key: MonthKey) -> MonthResult:
    """A month whose figures follow the tables above, the seed moving them by ±0.01 / ±0.1 h (a
    module-level function: it crosses into worker processes)."""
    d = 1 if key.seed % 2 else -1
    ports = [
        kpis(
            "KZAAU",
            Planner.FCFS,
            WAIT[key.growth] + 0.1 * d,
            RATIO[key.growth] + 0.01 * d,
            occupancy=0.4 * key.growth,
        ),
        kpis(
            "KZAAU", Planner.PORTSYNC, WAIT[key.growth] / 2, RATIO[key.growth] / 2, occupancy=0.4 * key.growth
        ),
    ]
    return MonthResult(key=key, warmup_h=120, hours=720, calls=300, plans_checked=10, ports=ports)


def spec(seeds: list[int]) -> StudySpec:
    return StudySpec(options=["base"], growth=[1.0, 1.5, 2.0], seeds=seeds, settings={"limits": "short"})


def test_an_interval_is_students_t_over_the_seeds() -> None:
    i = Interval.of([1.0, 2.0, 3.0])
    assert i.mean == 2.0 and i.n == 3
    assert i.half_width == pytest.approx(4.303 * 1.0 / math.sqrt(3))
    assert Interval.of([5.0]).half_width is None


def test_the_knee_is_where_the_mean_curve_crosses_interpolated_between_levels() -> None:
    months = [fake_month(k) for k in spec([0, 1]).months()]
    fcfs = next(k for k in knees(summarize(months)) if k.planner == Planner.FCFS)
    # Wq/S means 0.05, 0.15, 0.45 at 1.0, 1.5, 2.0: 0.1 at 1.25, 0.3 at 1.75
    assert fcfs.growth_at["wq/s=0.1"] == pytest.approx(1.25)
    assert fcfs.growth_at["wq/s=0.3"] == pytest.approx(1.75)
    assert fcfs.occupancy_at["wq/s=0.1"] == pytest.approx(0.5)  # occupancy 0.4 x growth
    # waiting 1.0 h today doubles to 2.0 h between 1.5 (1.5 h) and 2.0 (3.0 h): at 1.5 + 0.5 / 3
    assert fcfs.growth_at["wait x2"] == pytest.approx(1.5 + 0.5 / 3)
    ps = next(k for k in knees(summarize(months)) if k.planner == Planner.PORTSYNC)
    assert ps.growth_at["wq/s=0.3"] is None  # 0.225 at most: not reached within the levels studied
    assert ps.growth_at["wq/s=0.1"] == pytest.approx(1.5 + 0.5 * (0.1 - 0.075) / 0.15)


def test_a_knee_below_the_lowest_level_is_said_so() -> None:
    months = [fake_month(k) for k in StudySpec(options=["base"], growth=[2.0], seeds=[0]).months()]
    fcfs = next(k for k in knees(summarize(months)) if k.planner == Planner.FCFS)
    assert fcfs.below_lowest == ["wq/s=0.1", "wq/s=0.3"] and fcfs.growth_at["wq/s=0.1"] is None
    assert fcfs.growth_at["wait x2"] is None  # today's level not studied


def test_an_interrupted_study_continues_from_the_months_stored(tmp_path: Path) -> None:
    lived: list[MonthKey] = []

    def dies_after_three(key: MonthKey) -> MonthResult:
        if len(lived) == 3:
            raise KeyboardInterrupt
        lived.append(key)
        return fake_month(key)

    with pytest.raises(KeyboardInterrupt):
        run_study(spec([0, 1]), tmp_path, dies_after_three)
    assert len(list((tmp_path / "months").glob("*.json"))) == 3
    again: list[MonthKey] = []

    def counting(key: MonthKey) -> MonthResult:
        again.append(key)
        return fake_month(key)

    run = run_study(spec([0, 1]), tmp_path, counting)
    assert (run.lived, run.reused) == (3, 3) and set(again).isdisjoint(lived)
    assert [m.key for m in run.months] == spec([0, 1]).months()
    # other settings: every month is lived again, not mixed with the old ones
    other = StudySpec(options=["base"], growth=[1.0, 1.5, 2.0], seeds=[0, 1], settings={"limits": "long"})
    assert run_study(other, tmp_path, fake_month).lived == 6


def test_the_same_months_give_the_same_csv_and_processes_change_nothing(tmp_path: Path) -> None:
    one = run_study(spec([0, 1, 2]), tmp_path / "a", fake_month)
    two = run_study(spec([0, 1, 2]), tmp_path / "b", fake_month, jobs=2)
    files_a = write_csvs(one.months, tmp_path / "a")
    files_b = write_csvs(two.months, tmp_path / "b")
    for fa, fb in zip(files_a, files_b, strict=True):
        assert fa.read_bytes() == fb.read_bytes()
    points = files_a[0].read_text().splitlines()
    assert len(points) == 1 + 3 * 3 * 2  # header + levels x seeds x planners (one port)
    assert points[0].startswith("option,growth,seed,planner,port_id,berths,warmup_h,hours,calls")
    summary = files_a[1].read_text().splitlines()
    assert len(summary) == 1 + 3 * 2
    row = dict(zip(summary[0].split(","), summary[1].split(","), strict=True))
    assert (row["option"], row["growth"], row["planner"], row["seeds"]) == ("base", "1", "fcfs", "3")
    assert float(row["wait_mean_h"]) == pytest.approx((0.9 + 1.1 + 0.9) / 3)


def test_the_plots_are_png_and_svg_drawn_the_same_each_time(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from optimizer.study.plots import write_plots

    months = [fake_month(k) for k in spec([0, 1]).months()]
    s = summarize(months)
    first = write_plots(s, knees(s), tmp_path / "a", theory=lambda n, rho: rho / (1 - rho))
    again = write_plots(s, knees(s), tmp_path / "b", theory=lambda n, rho: rho / (1 - rho))
    assert sorted(p.name for p in first) == ["congestion.png", "congestion.svg", "demand.png", "demand.svg"]
    for a, b in zip(first, again, strict=True):
        if a.suffix == ".png":
            assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert a.read_bytes() == b.read_bytes()
            svg = ET.parse(a).getroot()
            assert svg.tag.endswith("svg")
    texts = (tmp_path / "a" / "congestion.svg").read_text()
    assert "M/E2/2" in texts and "KZAAU" in texts  # the theory curve's label, the port's panel
