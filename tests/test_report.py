"""The plan report: per-call fields, local times, KPIs beside FCFS, and the CLI table rows."""

from __future__ import annotations

from optimizer.plan import ProofRule, SolverFacts, SolveStatus, UnservedCall, UnservedKind
from optimizer.report import build_plan, kpi_table_rows
from tests.builders import assignment as a  # short: plans are written a line an entry
from tests.builders import (
    berth,
    call,
    make_problem,
    port,
    t,
    two_ships_one_berth,
    vessel,
    voyage,
)

SHORT_FIRST = [a("C1", "A1", 1, 5, 15), a("C2", "A1", 1, 1, 5)]  # given out of order on purpose
LONG_FIRST = [a("C1", "A1", 1, 1, 11), a("C2", "A1", 1, 11, 15)]  # FCFS-like: C2 waits 10 h


def test_calls_in_berth_start_order_with_derived_fields() -> None:
    facts = SolverFacts(status=SolveStatus.OPTIMAL, objective=10800, solutions=2)
    plan = build_plan(two_ships_one_berth(), SHORT_FIRST, solver=facts,
                      unserved=[UnservedCall(call_id="X", reasons=["test"])])
    assert [c.call_id for c in plan.calls] == ["C2", "C1"]
    c1 = plan.by_call()["C1"]
    assert (c1.vessel_id, c1.vessel_name, c1.port_id) == ("V1", "MV V1", "KZAAU")
    assert (c1.waiting_minutes, c1.dwell_minutes, c1.lateness_minutes) == (240, 840, 0)
    assert c1.inbound_speed_kn is None and c1.fuel_saved_t is None
    assert [r.blocking_call_id for r in c1.waited_for] == ["C2"]
    assert plan.by_call()["C2"].waited_for == []
    assert plan.solver == facts and plan.unserved[0].call_id == "X"
    assert plan.problem_name == "test"
    assert plan.kpis is not None and plan.kpis.total_dwell_hours == 18
    assert plan.baseline_kpis is None


def test_local_times_follow_each_port() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V1", "AZBAK", 4)],
        [voyage("V1", 1, "C1", "C2")],
    )
    # 255 nm in 25.5 h: 10 kn.
    plan = build_plan(p, [a("C1", "A1", 1, 1, 11), a("C2", "B1", 36.5, 36.5, 40.5)])
    c1, c2 = plan.calls
    assert c1.arrival_local is not None and c1.arrival_local.isoformat() == "2026-11-02T06:00:00+05:00"
    assert c2.berth_end_local is not None and c2.berth_end_local.isoformat() == "2026-11-03T20:30:00+04:00"
    assert c2.arrival_local == c2.arrival  # the same instant
    assert c2.inbound_distance_nm == 255 and c2.inbound_speed_kn is not None
    assert abs(c2.inbound_speed_kn - 10.0) < 1e-9
    assert c2.fuel_saved_t is not None and c2.fuel_saved_t > 0


def test_kpi_table_rows_beside_fcfs() -> None:
    plan = build_plan(two_ships_one_berth(), SHORT_FIRST, baseline=LONG_FIRST)
    rows = {r[0]: r[1:4] for r in kpi_table_rows(plan)}
    # Plan dwell 14 + 4 = 18 h; FCFS 10 + 14 = 24 h: 25 % less.
    assert rows["total dwell h"] == ("18.0", "24.0", "25.0 %")
    assert rows["total waiting h"] == ("4.0", "10.0", "60.0 %")
    assert rows["mean dwell h"] == ("9.00", "12.00", "25.0 %")
    assert rows["late calls"] == ("0", "0", "—")
    assert rows["berth utilization %"][2] == "—"
    assert rows["KZAAU total dwell h"] == ("18.0", "24.0", "25.0 %")
    assert "fuel saved t (estimate)" in rows


def test_kpi_table_without_baseline() -> None:
    rows = kpi_table_rows(build_plan(two_ships_one_berth(), SHORT_FIRST))
    assert rows[0] == ("calls served", "2", "—", "—", "—", "—")
    assert rows[1] == ("total dwell h", "18.0", "—", "—", "—", "—")


def test_kpi_table_beside_fcfs_that_breaks_limits_and_fcfs_that_keeps_them() -> None:
    # C2 must leave by 9 h: FCFS (C1 first, 1-11 h) makes it leave at 15 h, breaking that limit;
    # the limit-keeping FCFS serves C1 only.
    from optimizer.report import yardstick_notes

    p = two_ships_one_berth().model_copy(deep=True)
    p.calls[1].latest_departure = t(9)
    kept = ([a("C1", "A1", 1, 1, 11)], ["C2"])
    plan = build_plan(p, SHORT_FIRST, baseline=LONG_FIRST, feasible_baseline=kept)
    rows = {r[0]: r[1:] for r in kpi_table_rows(plan)}
    assert rows["calls served"] == ("2", "2", "—", "1", "—")
    assert plan.baseline_violations == {"latest_departure_missed": 1}
    notes = yardstick_notes(plan)
    assert "FCFS breaks 1 hard limits (latest_departure_missed x1)" in notes[0]
    assert "serves 1 calls (1 left unserved)" in notes[1]
    assert notes[1].endswith("this plan serves 2 (0 unserved)")
    proven = UnservedCall(call_id="C2", kind=UnservedKind.PROVEN, rule=ProofRule.OWN_WINDOW, reasons=["x"])
    partial = build_plan(p, SHORT_FIRST[:1], baseline=LONG_FIRST, feasible_baseline=kept, unserved=[proven])
    assert yardstick_notes(partial)[1].endswith(
        "this plan serves 1 (1 unserved, 1 of them proven unservable)")


def test_headline_and_solver_line_share_the_table_percent_format() -> None:
    from optimizer.report import kpi_headline, solver_summary

    facts = SolverFacts(status=SolveStatus.FEASIBLE, objective=10800, best_bound=10000, gap=0.0741,
                        seconds=2.04, solutions=2, stopped=True)
    plan = build_plan(two_ships_one_berth(), SHORT_FIRST, baseline=LONG_FIRST, solver=facts)
    assert "".join(text for text, _ in kpi_headline(plan)) == (
        "Total dwell 18.0 h over 2 calls, 25.0 % below first come, first served (24.0 h); "
        "waiting 4.0 h against 10.0 h")
    assert [text for text, strong in kpi_headline(plan) if strong] == ["18.0 h", "25.0 % below"]
    assert solver_summary(plan) == ("status feasible, source cp-sat, 2.0 s, 2 solutions, objective 10,800, "
                                    "bound 10,000, gap 7.4 %, stopped")
