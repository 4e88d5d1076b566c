"""The textbook mode against theory and against truths planted here: portsync's FCFS on the textbook
port is the textbook's queue, and its simulated Wq/S lands on the exact M/E2/n value."""

from __future__ import annotations

import csv
import heapq
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer.baseline import fcfs
from optimizer.checker import check
from optimizer.cli import app
from optimizer.plan import CallAssignment
from optimizer.study.queueing import me2n_wait_ratio
from optimizer.study.records import Planner
from optimizer.study.textbook import (
    LITTLE_TOLERANCE,
    START,
    TextbookPoint,
    measure,
    textbook_month,
    textbook_point,
    textbook_problem,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def points() -> dict[tuple[int, float], TextbookPoint]:
    """Two textbook points long enough for the stated tolerance (3 seeds each)."""
    return {(1, 0.5): textbook_point(1, 0.5, [0, 1, 2], calls=6_000),
            (3, 0.7): textbook_point(3, 0.7, [0, 1, 2], calls=20_000)}


@pytest.mark.parametrize(("berths", "rho"), [(1, 0.5), (3, 0.7)])
def test_simulated_wait_is_the_textbook_value(points: dict[tuple[int, float], TextbookPoint], berths: int,
                                              rho: float) -> None:
    p = points[(berths, rho)]
    # one berth: Pollaczek-Khinchine by hand; three: the table value
    exact = 0.5 * 1.5 / (2 * 0.5) if berths == 1 else 0.418
    assert p.exact == pytest.approx(exact, abs=5e-4)
    assert abs(p.simulated - p.exact) <= max(0.10 * p.exact, 0.02)
    assert p.within
    assert p.ci_low is not None and p.ci_high is not None and p.ci_low < p.simulated < p.ci_high
    assert p.occupancy_measured == pytest.approx(rho, abs=0.02)


def test_every_run_is_checked_and_keeps_littles_law(points: dict[tuple[int, float], TextbookPoint]) -> None:
    for p in points.values():
        assert len(p.months) == 3
        for m in p.months:
            assert m.key.option == "textbook" and m.plans_checked == 1
            (k,) = m.ports
            assert k.planner is Planner.FCFS and k.berths == p.berths and k.unservable == 0
            assert k.littles_law_gap < LITTLE_TOLERANCE
            assert k.queue_mean == pytest.approx(k.arrivals_per_h * k.wait_mean_h, rel=LITTLE_TOLERANCE)
            assert m.warmup_h > 0 and k.calls > 0.85 * p.calls


def test_fcfs_plan_is_the_textbook_queue() -> None:
    """portsync's FCFS on the textbook port gives every vessel the waiting of the M/G/n FCFS queue,
    computed here by the Kiefer-Wolfowitz recursion (the earliest free berth takes the next vessel)."""
    problem, _ = textbook_problem(2, 0.8, 600, seed=3)
    plan = fcfs(problem)
    assert check(problem, plan).clean
    etas = {v.call_ids[0]: v.eta for v in problem.voyages}
    by_call = {a.call_id: a for a in plan}
    free = [START, START]
    for c in sorted(problem.calls, key=lambda c: (etas[c.id], c.id)):
        assert c.handling.hours is not None
        earliest = heapq.heappop(free)
        start = max(earliest, etas[c.id])
        assert by_call[c.id].berth_start == start
        heapq.heappush(free, start + timedelta(hours=c.handling.hours))


def test_measure_on_a_planted_plan() -> None:
    """Three vessels: A at 0 berths at 0 for 60 min, B at 10 waits to 60, C at 20 waits to 110 (one
    berth). Window [0, 120): waits 0, 50, 90 min; L_q = (50 + 90) / 120; busy 120 of 120 min."""
    def at(m: int) -> object:
        return START + timedelta(minutes=m)

    etas = {"A": at(0), "B": at(10), "C": at(20)}
    plan = [CallAssignment(call_id=cid, berth_id="B1", arrival=at(eta), berth_start=at(start),
                           berth_end=at(end))
            for cid, eta, start, end in [("A", 0, 0, 60), ("B", 10, 60, 110), ("C", 20, 110, 150)]]
    k = measure(1, etas, plan, START, START + timedelta(minutes=120))  # type: ignore[arg-type]
    assert k.calls == 3
    assert k.wait_mean_h == pytest.approx(140 / 3 / 60)
    assert k.service_mean_h == pytest.approx(150 / 3 / 60)
    assert k.wq_over_s == pytest.approx(140 / 150)
    assert k.queue_mean == pytest.approx(140 / 120)
    assert k.arrivals_per_h == pytest.approx(3 / 2)
    assert k.occupancy == pytest.approx(1.0)
    assert k.littles_law_gap == pytest.approx(0.0, abs=1e-12)
    assert k.wait_p95_h == pytest.approx((50 + 0.9 * 40) / 60)


def test_same_seed_same_numbers() -> None:
    a, s_a = textbook_month(2, 0.6, 1_000, seed=7)
    b, s_b = textbook_month(2, 0.6, 1_000, seed=7)
    c, _ = textbook_month(2, 0.6, 1_000, seed=8)
    assert a.model_dump() == b.model_dump() and s_a == s_b
    assert a.ports[0].wait_mean_h != c.ports[0].wait_mean_h


@pytest.mark.parametrize(("berths", "rho", "field"), [(1, 1.0, "occupancy"), (2, 1.3, "occupancy"),
                                                      (1, 0.0, "occupancy"), (0, 0.5, "berths")])
def test_bad_points_are_refused(berths: int, rho: float, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        textbook_point(berths, rho, [0], calls=1_000)


@pytest.mark.parametrize(("args", "named"), [
    (["--occupancy", "1.0"], "occupancy"), (["--occupancy", "0.5,x"], "occupancy"),
    (["--berths", "0"], "berths"), (["--seeds", "-1"], "seeds"), (["--calls", "10"], "calls"),
    (["--berths", "1", "--occupancy", "0.3", "--calls", "1000000"], "calls"),
])
def test_cli_bad_arguments_exit_2(args: list[str], named: str) -> None:
    result = runner.invoke(app, ["study", "textbook", *args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert named in result.output


def test_cli_table_and_csv(tmp_path: Path) -> None:
    out = tmp_path / "textbook.csv"
    result = runner.invoke(app, ["study", "textbook", "--berths", "1,2", "--occupancy", "0.5",
                                 "--seeds", "0,1", "--calls", "2000", "--csv", str(out)],
                           env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "0.7500" in result.output and f"{me2n_wait_ratio(2, 0.5):.4f}" in result.output
    rows = list(csv.DictReader(out.open()))
    assert [(r["berths"], r["seed"]) for r in rows] == [("1", "0"), ("1", "1"), ("2", "0"), ("2", "1")]
    assert all(r["planner"] == "fcfs" and r["within"] == "True" for r in rows)
    assert float(rows[0]["exact"]) == pytest.approx(0.75)


def test_cli_exit_1_outside_tolerance() -> None:
    """Too short a run at high occupancy is not the textbook value, and the command says so."""
    result = runner.invoke(app, ["study", "textbook", "--berths", "1", "--occupancy", "0.9", "--seeds", "0",
                                 "--calls", "150"])
    assert result.exit_code == 1, result.output
    assert "outside tolerance" in result.output


def test_portsync_beside_fcfs_is_labelled_and_checked() -> None:
    month, _ = textbook_month(2, 0.7, 300, seed=0, portsync_s=2.0)
    assert [k.planner for k in month.ports] == [Planner.FCFS, Planner.PORTSYNC]
    assert month.plans_checked == 2  # both plans passed the checker
    fcfs_kpis, portsync_kpis = month.ports
    assert portsync_kpis.calls == fcfs_kpis.calls and portsync_kpis.unservable == 0
