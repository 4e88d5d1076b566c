"""One small problem per constraint family: the solver honours it, the checker flags a plan that breaks it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.plan import CallAssignment, Plan
from optimizer.solver import SolveOptions
from tests.builders import T0, at, berth, call, make_problem, port, problem_dict, solve_plan, vessel, voyage

FAST = SolveOptions(time_limit_s=10, workers=1)
H = timedelta(hours=1)


def solved(problem: Problem, options: SolveOptions = FAST) -> tuple[Plan, dict[str, CallAssignment]]:
    plan = solve_plan(problem, options)
    assert plan.solver is not None and plan.solver.status.value == "optimal", plan.solver
    report = check(problem, plan)
    assert report.ok, report.violations
    return plan, {
        c.call_id: CallAssignment(**c.model_dump(include=set(CallAssignment.model_fields)))
        for c in plan.calls
    }


def broken(problem: Problem, plan: dict[str, CallAssignment], call_id: str, **changes: Any) -> set[str]:
    """Kinds of violation the checker finds after changing one call of a clean plan."""
    edited = dict(plan)
    edited[call_id] = plan[call_id].model_copy(update=changes)
    return {v.kind for v in check(problem, list(edited.values())).violations}


def test_one_vessel_per_berth() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1")])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V2", "KZAAU", 4)],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
    )
    _, a = solved(p)
    first, second = sorted(a.values(), key=lambda x: x.berth_start)
    assert second.berth_start >= first.berth_end
    assert first.call_id == "C2"  # shortest first minimises total dwell
    assert "berth_overlap" in broken(
        p,
        a,
        second.call_id,
        berth_start=first.berth_start,
        berth_end=first.berth_start + (second.berth_end - second.berth_start),
    )


def test_berth_fit_length_draft_and_cargo() -> None:
    # The short, deep, grain-only berths are faster, but the vessel fits only the long one.
    p = make_problem(
        [
            port(
                "KZAAU",
                [
                    berth("SHORT", length=100, productivity=2.0),
                    berth("SHALLOW", draft=4, productivity=2.0),
                    berth("GRAIN", kinds=("grain",), productivity=2.0),
                    berth("LONG", length=200),
                ],
            )
        ],
        [vessel("V1", length=150, draft=5)],
        [call("C1", "V1", "KZAAU", 10)],
        [voyage("V1", 1, "C1")],
    )
    _, a = solved(p)
    assert a["C1"].berth_id == "LONG"
    for other in ("SHORT", "SHALLOW", "GRAIN"):
        assert "berth_misfit" in broken(p, a, "C1", berth_id=other)


def test_berth_dependent_handling_time() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1"), berth("A2")])],
        [vessel("V1")],
        [call("C1", "V1", "KZAAU", 10, handling={"hours": 10, "hours_by_berth": {"A2": 6}})],
        [voyage("V1", 1, "C1")],
    )
    _, a = solved(p)
    assert a["C1"].berth_id == "A2"
    assert a["C1"].berth_end - a["C1"].berth_start == 6 * H
    assert "handling_too_short" in broken(p, a, "C1", berth_id="A1")


def test_closure_no_berthing_and_no_departure_inside() -> None:
    closure = {"start": at(5), "end": at(20), "reason": "NW storm"}
    p = make_problem(
        [port("KZKUR", [berth("K1")], closures=[closure])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZKUR", 10), call("C2", "V2", "KZKUR", 2)],
        [voyage("V1", 0, "C1"), voyage("V2", 8, "C2")],
    )
    _, a = solved(p)
    # C1 arriving at 0 h cannot leave inside the closure, so it may not start at 0 (would end at 10 h).
    for c in a.values():
        for t in (c.berth_start, c.berth_end):
            assert not (T0 + 5 * H <= t < T0 + 20 * H)
    assert "closure_berthing" in broken(p, a, "C2", berth_start=T0 + 8 * H, berth_end=T0 + 10 * H)


def test_berth_maintenance_window() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1", unavailable=[{"start": at(0), "end": at(12)}])])],
        [vessel("V1")],
        [call("C1", "V1", "KZAAU", 4)],
        [voyage("V1", 2, "C1")],
    )
    _, a = solved(p)
    assert a["C1"].berth_start >= T0 + 12 * H
    assert "berth_unavailable" in broken(p, a, "C1", berth_start=T0 + 2 * H, berth_end=T0 + 6 * H)


def test_voyage_sailing_time_between_speed_bounds_and_slow_steaming() -> None:
    # F1 sails Kuryk -> Alat (235 nm): 16.8 h at 14 kn, 39.2 h at 6 kn. Alat's berth is taken by a
    # frozen call until 60 h after F1 leaves Kuryk, so F1 should slow down, not wait at anchor.
    frozen = {"berth_id": "B1", "berth_start": at(5), "berth_end": at(75)}
    p = make_problem(
        [port("KZKUR", [berth("K1")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("F1"), vessel("X")],
        [
            call("k", "F1", "KZKUR", 5),
            call("b", "F1", "AZBAK", 5),
            call("x", "X", "AZBAK", 70, frozen=frozen),
        ],
        [voyage("F1", 0, "k", "b"), voyage("X", 5, "x")],
    )
    plan, a = solved(p)
    leg = a["b"].arrival - a["k"].berth_end
    assert timedelta(hours=235 / 14) <= leg <= timedelta(hours=235 / 6)
    assert leg == timedelta(minutes=int(235 / 6 * 60))  # as slow as allowed: least time in port
    speed = plan.by_call()["b"].inbound_speed_kn
    assert speed is not None and 6 <= speed < 12
    too_fast = a["k"].berth_end + timedelta(hours=10)
    assert "sailing_too_fast" in broken(p, a, "b", arrival=too_fast)


def test_earliest_start_cargo_ready() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1", kinds=("grain",))])],
        [vessel("G1")],
        [call("C1", "G1", "KZAAU", 6, "grain", earliest_start=at(30))],
        [voyage("G1", 2, "C1")],
    )
    plan, a = solved(p)
    assert a["C1"].berth_start == T0 + 30 * H
    assert [r.kind for r in plan.by_call()["C1"].waited_for] == ["earliest_start"]
    assert "start_before_earliest" in broken(p, a, "C1", berth_start=T0 + 2 * H, berth_end=T0 + 8 * H)


def test_latest_departure_is_hard() -> None:
    # Shortest-first would serve C2 first; C1's hard latest departure forces it first.
    p = make_problem(
        [port("KZAAU", [berth("A1")])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10, latest_departure=at(11)), call("C2", "V2", "KZAAU", 4)],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
    )
    _, a = solved(p)
    assert a["C1"].berth_end <= T0 + 11 * H
    assert "latest_departure_missed" in broken(p, a, "C1", berth_start=T0 + 5 * H, berth_end=T0 + 15 * H)


def test_requested_departure_is_soft_lateness() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1")])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10, requested_departure=at(11), weight=5), call("C2", "V2", "KZAAU", 4)],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
    )
    plan, a = solved(p)
    assert a["C1"].berth_end == T0 + 11 * H
    assert plan.kpis is not None and plan.kpis.late_calls == 0


def test_links_min_and_max_gap() -> None:
    # A feeder at Alat takes containers from a ferry: 3 h to move them, at most 12 h.
    p = make_problem(
        [
            port(
                "AZBAK",
                [berth("B1", kinds=("rail_ferry", "container")), berth("B2", kinds=("container",))],
                tz="Asia/Baku",
            )
        ],
        [vessel("F1"), vessel("S1")],
        [call("ferry", "F1", "AZBAK", 8, "rail_ferry"), call("feeder", "S1", "AZBAK", 6, "container")],
        [voyage("F1", 0, "ferry"), voyage("S1", 0, "feeder")],
        links=[{"before": "ferry", "after": "feeder", "min_gap_hours": 3, "max_gap_hours": 12}],
    )
    plan, a = solved(p)
    assert a["feeder"].berth_start >= a["ferry"].berth_end + 3 * H
    assert "link" in [r.kind for r in plan.by_call()["feeder"].waited_for]
    assert "link_min_gap" in broken(p, a, "feeder", berth_start=T0 + 9 * H, berth_end=T0 + 15 * H)
    assert "link_max_gap" in broken(p, a, "feeder", berth_start=T0 + 30 * H, berth_end=T0 + 36 * H)


def test_frozen_call_keeps_its_berth_and_times() -> None:
    frozen = {"berth_id": "A2", "berth_start": at(0), "berth_end": at(20)}
    p = make_problem(
        [port("KZAAU", [berth("A1"), berth("A2")])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 20, frozen=frozen), call("C2", "V2", "KZAAU", 4, allowed_berths=["A2"])],
        [voyage("V1", 0, "C1"), voyage("V2", 1, "C2")],
    )
    _, a = solved(p)
    assert (a["C1"].berth_id, a["C1"].berth_start, a["C1"].berth_end) == ("A2", T0, T0 + 20 * H)
    assert a["C2"].berth_start >= T0 + 20 * H
    assert "frozen_moved" in broken(p, a, "C1", berth_id="A1")


def test_a_call_that_cannot_be_served_leaves_a_partial_plan_for_the_rest() -> None:
    # One berth, two 10 h calls that both must leave by 12 h: one cannot be served, the other is.
    p = make_problem(
        [port("KZAAU", [berth("A1")])],
        [vessel("V1"), vessel("V2")],
        [
            call("C1", "V1", "KZAAU", 10, latest_departure=at(12)),
            call("C2", "V2", "KZAAU", 10, latest_departure=at(12)),
        ],
        [voyage("V1", 0, "C1"), voyage("V2", 0, "C2")],
    )
    plan = solve_plan(p, FAST)
    assert plan.solver is not None and plan.solver.status.value == "partial"
    assert plan.solver.served_calls == 1 and plan.solver.unserved_calls == 1
    assert len(plan.calls) == 1 and len(plan.unserved) == 1
    # Either call alone can be served (a plan serving the other one instead exists): not proven,
    # so the reasons say what holds in this plan and never ask for a later latest departure.
    [left] = plan.unserved
    assert left.kind == "not_found" and left.rule is None
    reason = left.reasons[0]
    assert reason.startswith("in this plan") and "latest departure" in reason
    assert "+05:00" in reason and "UTC" in reason  # the port's own offset, then UTC
    assert not any("servable if" in r for r in left.reasons)
    assert left.reasons[-1].startswith("a plan serving it may exist: the search did not find one in")
    report = check(p, plan)
    assert report.ok and report.unserved == [plan.unserved[0].call_id]


def test_call_that_fits_no_time_is_reported_before_solving() -> None:
    closure = {"start": at(0), "end": at(24 * 7)}
    d = problem_dict(
        [port("KZKUR", [berth("K1")], closures=[closure])],
        [vessel("V1")],
        [call("C1", "V1", "KZKUR", 5, latest_departure=at(100))],
        [voyage("V1", 0, "C1")],
    )
    from optimizer.loading import load_problem

    plan = solve_plan(load_problem(d), FAST)
    assert plan.solver is not None and plan.solver.status.value == "infeasible"
    assert [u.call_id for u in plan.unserved] == ["C1"]


def test_vessel_stays_at_berth_through_a_closure_rather_than_miss_its_latest_departure() -> None:
    # Cargo ready at 10 h, 4 h of work, must be gone by 20 h, port closed 14-19 h: berth at 10 h,
    # finish at 14 h, stay moored through the storm and leave at 19 h.
    closure = {"start": at(14), "end": at(19), "reason": "NW storm"}
    p = make_problem(
        [port("KZKUR", [berth("K1")], closures=[closure])],
        [vessel("V1")],
        [call("C1", "V1", "KZKUR", 4, earliest_start=at(10), latest_departure=at(20))],
        [voyage("V1", 0, "C1")],
    )
    _, a = solved(p)
    assert T0 + 10 * H <= a["C1"].berth_start < T0 + 14 * H
    assert a["C1"].berth_end == T0 + 19 * H
