"""KPIs from exact times, checked against numbers worked out by hand."""

from __future__ import annotations

import pytest

from optimizer.domain import Problem, Vessel
from optimizer.kpis import call_metrics, compute_kpis, fmt_minutes, leg_fuel_saved_t, objective, sea_fuel_t
from optimizer.params import ObjectiveWeights
from optimizer.plan import CallAssignment
from tests.builders import assignment as a  # short: plans are written a line an entry
from tests.builders import (
    at,
    berth,
    call,
    make_problem,
    port,
    two_ships_one_berth,
    vessel,
    voyage,
)

# Two ships arrive at 1 h; C2 (4 h) goes first, C1 (10 h) waits 4 h.
QUEUE = [a("C2", "A1", 1, 1, 5), a("C1", "A1", 1, 5, 15)]


def test_dwell_waiting_and_utilization() -> None:
    k = compute_kpis(two_ships_one_berth(), QUEUE)
    assert k.calls == 2
    assert k.total_dwell_hours == 18.0  # 14 + 4
    assert k.mean_dwell_hours == 9.0
    assert k.total_waiting_hours == 4.0
    assert k.mean_waiting_hours == 2.0
    assert k.berth_utilization == pytest.approx(14 / 168)  # 14 busy hours of a 7-day horizon
    assert k.weighted_dwell_minutes == 18 * 60
    assert k.total_lateness_hours == 0 and k.late_calls == 0
    assert k.objective == 10 * 18 * 60  # default dwell weight 10, nothing late, no previous plan
    [kz] = k.per_port
    assert (kz.port_id, kz.calls, kz.total_dwell_hours) == ("KZAAU", 2, 18.0)


def test_utilization_leaves_out_maintenance_but_not_closures_and_clips_to_horizon() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1"), berth("A2", unavailable=[{"start": at(-5), "end": at(24)}])],
              closures=[{"start": at(100), "end": at(120)}])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V2", "KZAAU", 10)],
        [voyage("V1", 1, "C1"), voyage("V2", 160, "C2")],
    )
    # C2 runs past the horizon end (168 h): only 8 of its 10 h count.
    k = compute_kpis(p, [a("C1", "A1", 1, 1, 11), a("C2", "A1", 160, 160, 170)])
    assert k.berth_utilization == pytest.approx((10 + 8) / (168 + 144))


def lateness_problem() -> tuple[Problem, list[CallAssignment]]:
    p = make_problem(
        [port("KZAAU", [berth("A1"), berth("A2")])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10, weight=2, requested_departure=at(13)), call("C2", "V2", "KZAAU", 4)],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
        previous_plan=[{"call_id": "C1", "berth_id": "A2", "berth_start": at(1)}],
    )
    return p, QUEUE


def test_lateness_and_objective_with_previous_plan() -> None:
    p, plan = lateness_problem()
    k = compute_kpis(p, plan)
    assert k.total_lateness_hours == 2.0 and k.late_calls == 1  # C1 leaves at 15, requested 13
    assert k.weighted_dwell_minutes == 2 * 14 * 60 + 4 * 60  # 1920
    assert k.weighted_lateness_minutes == 2 * 120  # 240
    # C1 moved from A2 to A1 and from 1 h to 5 h; C2 is not in the previous plan: costs nothing.
    w = ObjectiveWeights(dwell=1, lateness=2, berth_change=7, start_change=3)
    assert objective(p, plan, w) == 1920 + 2 * 240 + 7 + 3 * 240
    assert k.objective == 10 * 1920 + 5 * 240 + 300 + 240


def leg_vessel(**extra: object) -> Vessel:
    return Vessel.model_validate({"id": "V1", "length_m": 120, "draft_m": 5, "min_speed_kn": 6,
                                  "service_speed_kn": 12, "max_speed_kn": 14, **extra})


def test_fuel_algebra() -> None:
    v = leg_vessel(fuel_t_per_day=24)  # 1 t/h at 12 kn
    assert sea_fuel_t(v, 35, 12) == pytest.approx(35 / 12)
    assert sea_fuel_t(v, 35, 6) == pytest.approx(35 / 12 / 4)  # half speed: a quarter of the fuel
    assert leg_fuel_saved_t(v, 35, 35 / 12) == pytest.approx(0.0, abs=1e-12)
    # 5 h at 7 kn: 35*49/1728 = 0.99248 t at sea, against 2.91667 t at 12 kn plus
    # 0.05 t/h at anchor for the 2.08333 h it would have waited.
    assert leg_fuel_saved_t(v, 35, 5) == pytest.approx(2.91667 + 0.10417 - 0.99248, abs=1e-4)
    # 2.5 h at 14 kn costs more than service speed.
    assert leg_fuel_saved_t(v, 35, 2.5) == pytest.approx(2.91667 - 3.96991, abs=1e-4)
    assert leg_fuel_saved_t(v, 35, 6) > leg_fuel_saved_t(v, 35, 5) > 0


def test_fuel_default_by_vessel_type() -> None:
    ferry = leg_vessel(type="rail_ferry")  # 20 t/day estimate
    assert sea_fuel_t(ferry, 24, 12) == pytest.approx(20 / 24 * 2)


def test_inbound_leg_speed_and_fuel_per_call() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1")]), port("KZKUR", [berth("K1")])],
        [vessel("V1", fuel_t_per_day=24)],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V1", "KZKUR", 4)],
        [voyage("V1", 1, "C1", "C2")],
    )
    m = call_metrics(p, [a("C1", "A1", 1, 1, 11), a("C2", "K1", 16, 16, 20)])
    assert m["C1"].inbound_speed_kn is None and m["C1"].fuel_saved_t is None
    assert m["C2"].inbound_distance_nm == 35
    assert m["C2"].inbound_speed_kn == pytest.approx(7.0)
    assert m["C2"].fuel_saved_t == pytest.approx(2.0284, abs=1e-4)
    k = compute_kpis(p, [a("C1", "A1", 1, 1, 11), a("C2", "K1", 16, 16, 20)])
    assert k.fuel_saved_t == pytest.approx(2.0284, abs=1e-4)


def test_duration_text() -> None:
    assert fmt_minutes(200) == "3 h 20 min"
    assert fmt_minutes(45) == "45 min"
    assert fmt_minutes(120) == "2 h"


def test_objective_equals_the_cp_sat_objective() -> None:
    from optimizer.solver import SolveOptions
    from tests.builders import solve_plan

    # A2 is down for a day, so C1 leaves its previous berth; one of the two is late; C2 moves.
    p = make_problem(
        [port("KZAAU", [berth("A1"), berth("A2", unavailable=[{"start": at(0), "end": at(24)}])])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10, weight=2, requested_departure=at(8)),
         call("C2", "V2", "KZAAU", 4, requested_departure=at(6))],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
        previous_plan=[{"call_id": "C1", "berth_id": "A2", "berth_start": at(1)},
                       {"call_id": "C2", "berth_id": "A1", "berth_start": at(3)}],
    )
    w = ObjectiveWeights(dwell=3, lateness=7, berth_change=50, start_change=2)
    plan = solve_plan(p, SolveOptions(time_limit_s=5, workers=1, weights=w))
    assert plan.solver is not None and plan.solver.objective is not None
    k = compute_kpis(p, plan.calls, w)
    assert k.weighted_lateness_minutes > 0
    assert k.objective == objective(p, plan.calls, w) == plan.solver.objective
