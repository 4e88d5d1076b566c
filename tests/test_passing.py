"""A vessel that passes a port sails on, accounted: when a plan leaves a call unserved, the way
from the vessel's last served call (or its ETA) over the passed port to its next served call
keeps the route's speed limits (its legs added up); time beyond the slowest sailing is waiting at
sea, listed by the checker and counted in the KPIs, never hidden.

The figures here are worked out by hand from the distances and speeds, never by the code's own
route reckoning."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from optimizer.baseline import fcfs_steps
from optimizer.budget import Deadline
from optimizer.checker import ViolationKind, check
from optimizer.compiled import compile_problem
from optimizer.domain import Problem
from optimizer.generator import generate
from optimizer.kpis import call_metrics, compute_kpis
from optimizer.loading import load_problem
from optimizer.params import ObjectiveWeights, SearchParameters, SolveOptions
from optimizer.plan import CallAssignment, Plan, UnservedCall
from optimizer.report import build_plan, kpi_headline, kpi_table_rows
from optimizer.solver.local_search import LocalSearch
from optimizer.solver.model import BerthModel
from optimizer.solver.repair import serve_in_exact_time
from optimizer.steps import plan_objective, to_assignments
from tests.builders import assignment as a
from tests.builders import at, berth, call, make_problem, port, problem_dict, solve_plan, t, vessel, voyage

# builders.vessel sails at 6 kn (min), 12 kn (service), 14 kn (max); Kuryk - Alat is 235 nm
ROUND_TRIP_NM = 2 * 235
FASTEST_H = ROUND_TRIP_NM / 14  # 33.571 h
SLOWEST_H = ROUND_TRIP_NM / 6  # 78.333 h


def round_trip(**c3: Any) -> Problem:
    """V1 loads at Kuryk (C1, 4 h from its ETA at 0 h), is due at Alat (C2), comes back to Kuryk
    (C3). C2 must leave Alat by 10 h, but the vessel cannot even be there before 20.8 h: C2 is
    unserved and the vessel passes Alat."""
    return make_problem(
        [port("KZKUR", [berth("K1")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1")],
        [call("C1", "V1", "KZKUR", 4), call("C2", "V1", "AZBAK", 4, latest_departure=at(10)),
         call("C3", "V1", "KZKUR", 4, **c3)],
        [voyage("V1", 0, "C1", "C2", "C3")],
        time_step_minutes=10,  # 235 nm at 6 kn is 39 h 10 min: on the grid, and a small model
    )


def hours(td: timedelta) -> float:
    return td.total_seconds() / 3600


def test_the_solver_times_the_way_over_a_passed_port_within_the_routes_speed_limits() -> None:
    # C3 cannot start before 100 h: the vessel must not linger at Alat, where it never berths, so
    # that its arrival at Kuryk looks just in time (it used to: 96 h at sea for a 470-nm trip)
    p = round_trip(earliest_start=at(100))
    plan = solve_plan(p, SolveOptions(time_limit_s=5, workers=1))
    assert [u.call_id for u in plan.unserved] == ["C2"]
    c1, c3 = plan.by_call()["C1"], plan.by_call()["C3"]
    at_sea = hours(c3.arrival - c1.berth_end)
    assert FASTEST_H - 1e-9 <= at_sea <= SLOWEST_H + 1e-9
    assert c3.inbound_distance_nm == ROUND_TRIP_NM and c3.inbound_speed_kn is not None
    assert c3.inbound_speed_kn >= 6 - 1e-9
    assert c3.waiting_at_sea_minutes == 0
    # the 17.7 h the vessel cannot spend sailing are waited where they count: in port
    dwell = sum(c.dwell_minutes or 0 for c in plan.calls) / 60
    assert dwell == pytest.approx((100 + 4 - 0) - SLOWEST_H, abs=1e-6)
    report = check(p, plan)
    assert report.ok and report.waiting_at_sea == []


def test_a_passed_first_call_times_the_next_arrival_from_the_exact_eta() -> None:
    # An ETA off a 60-minute grid: the model rounds it up to 01:00, but the vessel left it at
    # 00:10; passing Alat, it must reach Kuryk within 235/6 h of 00:10, not of 01:00.
    p = load_problem(problem_dict(
        [port("AZBAK", [berth("B1")], tz="Asia/Baku"), port("KZKUR", [berth("K1")])],
        [vessel("V1")],
        [call("C1", "V1", "AZBAK", 4, latest_departure=at(2)),
         call("C2", "V1", "KZKUR", 4, earliest_start=at(60))],
        [{"vessel_id": "V1", "eta": at(10 / 60), "call_ids": ["C1", "C2"]}],
        time_step_minutes=60,
    ))
    plan = solve_plan(p, SolveOptions(time_limit_s=5, workers=1))
    assert [u.call_id for u in plan.unserved] == ["C1"]
    c2 = plan.by_call()["C2"]
    assert hours(c2.arrival - t(10 / 60)) <= 235 / 6 + 1e-9
    assert hours(c2.arrival - t(10 / 60)) >= 235 / 14 - 1e-9
    assert c2.waiting_at_sea_minutes == 0
    assert check(p, plan).ok


def partial(p: Problem, calls: list[CallAssignment], unserved: str = "C2") -> Plan:
    return build_plan(p, calls, unserved=[UnservedCall(call_id=unserved, reasons=["cannot leave by 10 h"])])


def test_the_checker_counts_an_over_long_way_over_a_passed_port_as_waiting_at_sea() -> None:
    p = round_trip()
    # C1 leaves Kuryk at 4 h, C3 arrives back at 94 h: 90 h for 470 nm, 700 min more than 6 kn needs
    report = check(p, partial(p, [a("C1", "K1", 0, 0, 4), a("C3", "K1", 94, 94, 98)]))
    assert report.ok, report.violations
    [sea] = report.waiting_at_sea
    assert (sea.call_id, sea.vessel_id, sea.passed) == ("C3", "V1", ["C2"])
    assert sea.minutes == pytest.approx(90 * 60 - 470 / 6 * 60)  # 700 min
    assert "KZKUR -> AZBAK (passed) -> KZKUR, 470 nm" in sea.detail
    assert "waiting at sea" in sea.detail
    assert report.kpis.total_waiting_at_sea_hours == pytest.approx(700 / 60)


def test_the_checker_refuses_a_way_over_a_passed_port_faster_than_max_speed() -> None:
    p = round_trip()
    # 30 h for 470 nm is 15.7 kn: the vessel makes 14 at most (33.6 h). Each leg alone (235 nm)
    # would fit 30 h: only the whole way shows it.
    report = check(p, partial(p, [a("C1", "K1", 0, 0, 4), a("C3", "K1", 34, 34, 38)]))
    assert [v.kind for v in report.violations] == [ViolationKind.SAILING_TOO_FAST]
    [v] = report.violations
    assert v.call_id == "C3" and "passing C2" in v.detail and "33 h 34.3 min" in v.detail
    assert report.waiting_at_sea == []


def test_the_checker_reckons_a_passed_first_call_from_the_eta() -> None:
    p = round_trip()
    # from the ETA at Kuryk (0 h), passing Kuryk, to Alat at 50 h: 235 nm take at most 39.2 h
    plan = partial(p, [a("C2", "B1", 50, 50, 54), a("C3", "K1", 74, 74, 78)], unserved="C1")
    report = check(p, plan)
    assert [(v.kind, v.call_id) for v in report.violations] == [(ViolationKind.LATEST_DEPARTURE_MISSED, "C2")]
    [sea] = report.waiting_at_sea
    assert (sea.call_id, sea.passed) == ("C2", ["C1"])
    assert sea.minutes == pytest.approx(50 * 60 - 235 / 6 * 60)
    # at Alat 10 h after the ETA: 23.5 kn
    too_fast = check(p, partial(p, [a("C2", "B1", 10, 10, 14), a("C3", "K1", 34, 34, 38)], unserved="C1"))
    assert [(v.kind, v.call_id) for v in too_fast.violations] == [
        (ViolationKind.LATEST_DEPARTURE_MISSED, "C2"), (ViolationKind.SAILING_TOO_FAST, "C2")]


def test_waiting_at_sea_in_the_kpis_per_call_per_port_and_in_total() -> None:
    p = round_trip()
    calls = [a("C1", "K1", 0, 0, 4), a("C3", "K1", 94, 94, 98)]
    m = call_metrics(p, calls)
    assert m["C1"].waiting_at_sea_minutes == 0
    assert m["C3"].waiting_at_sea_minutes == pytest.approx(700)
    # the vessel sails the 470 nm at its min speed and waits the rest; fuel saved against 12 kn
    # and waiting at anchor: 12 t/day = 0.5 t/h; at 12 kn 470/12 h = 19.583 t, then 39.167 h
    # at anchor (5 %) = 0.979 t; at 6 kn a quarter of the fuel per mile = 4.896 t
    assert m["C3"].inbound_distance_nm == 470
    assert m["C3"].inbound_speed_kn == pytest.approx(6.0)
    assert m["C3"].fuel_saved_t == pytest.approx(19.5833 + 0.9792 - 4.8958, abs=1e-3)
    k = compute_kpis(p, calls)
    assert k.total_waiting_at_sea_hours == pytest.approx(700 / 60)
    by_port = {pk.port_id: pk.total_waiting_at_sea_hours for pk in k.per_port}
    assert by_port == {"KZKUR": pytest.approx(700 / 60), "AZBAK": 0.0}
    # neither anchorage waiting nor dwell: both count from the arrival
    assert k.total_waiting_hours == 0 and k.total_dwell_hours == 8
    plan = partial(p, calls)
    assert plan.by_call()["C3"].waiting_at_sea_minutes == pytest.approx(700)
    rows = {r[0]: r[1] for r in kpi_table_rows(plan)}
    assert rows["waiting at sea h"] == "11.7" and rows["KZKUR waiting at sea h"] == "11.7"
    assert "waiting at sea 11.7 h" in "".join(text for text, _ in kpi_headline(plan))


def test_local_search_retimes_the_passage_when_the_call_before_moves() -> None:
    # W holds Kuryk's berth 30 h from 0 h; V1 arrives at 0.5 h for 2 h. FCFS serves W first; the
    # local search puts C1 first, and the vessel then leaves Kuryk 30 h earlier: its passage of
    # Alat (C2, unservable) must move with it, or the vessel would idle there unaccounted.
    p = make_problem(
        [port("KZKUR", [berth("K1")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1"), vessel("W")],
        [call("C1", "V1", "KZKUR", 2), call("C2", "V1", "AZBAK", 4, latest_departure=at(10)),
         call("C3", "V1", "KZKUR", 4), call("W1", "W", "KZKUR", 30)],
        [voyage("V1", 0.5, "C1", "C2", "C3"), voyage("W", 0, "W1")],
    )
    cp = compile_problem(p)
    w = ObjectiveWeights()
    start = fcfs_steps(cp, respect_limits=True)
    c1, c2 = cp.call_index["C1"], cp.call_index["C2"]
    assert not start[c2].served and start[c1].start >= 30 * 60
    ls = LocalSearch(cp, w, start, seed=0)
    for _ in range(200):
        ls.step()
    best = ls.best_plan()
    assert best[c1].start < 30 * 60  # the move was made
    assert ls.best_value == plan_objective(cp, w, best) < plan_objective(cp, w, start)
    p2 = best[c2]
    assert p2.arrival == p2.start == p2.end  # passing, not waiting
    assert 235 / 14 * 60 <= p2.start - best[c1].end <= 235 / 6 * 60
    assignments = to_assignments(cp, best)
    report = check(p, partial(p, assignments))
    assert report.ok and report.waiting_at_sea == []


# -- property: over random problems, every way between served calls keeps the route's limits ----

PORTS = ("KZAAU", "KZKUR", "AZBAK")
NM = {frozenset({"KZAAU", "KZKUR"}): 35.0, frozenset({"KZAAU", "AZBAK"}): 255.0,
      frozenset({"KZKUR", "AZBAK"}): 235.0}


def nm(a: str, b: str) -> float:
    return 0.0 if a == b else NM[frozenset({a, b})]


@st.composite
def passing_problems(draw: st.DrawFn) -> Problem:
    """Voyages of 2-4 calls over the three ports, some of whose calls have a latest departure
    before the vessel can even get there (unservable: it passes them), others tight, others none;
    few berths, so that calls queue and the search would gain by hiding time at sea."""
    ports = [port(pid, [berth(f"{pid}-{k}") for k in range(draw(st.integers(1, 2)))],
                  tz="Asia/Baku" if pid == "AZBAK" else "Asia/Aqtau") for pid in PORTS]
    vessels, calls, voyages = [], [], []
    for v in range(draw(st.integers(1, 4))):
        vid = f"V{v}"
        vessels.append(vessel(vid, min_speed_kn=draw(st.sampled_from([5, 6, 8])),
                              max_speed_kn=draw(st.sampled_from([12, 14]))))
        route = draw(st.lists(st.sampled_from(PORTS), min_size=2, max_size=4))
        eta = draw(st.integers(0, 30)) + draw(st.sampled_from([0, 10 / 60, 0.5]))  # on a grid or not
        ids = []
        ready = eta  # the latest earliest start so far: a later call's window must not end before it
        for k, pid in enumerate(route):
            cid = f"{vid}-{k}"
            extra: dict[str, Any] = {}
            middle = 0 < k < len(route) - 1
            kind = draw(st.integers(0, 3 if middle else 5))
            if kind == 0 or (middle and kind == 1):  # before it can be there and through its handling
                extra["latest_departure"] = at(ready + draw(st.integers(1, 3)))
            elif kind == 2:
                extra["latest_departure"] = at(ready + 30 * k + draw(st.integers(5, 40)))  # may be tight
            elif draw(st.integers(0, 3)):  # cargo ready late: the vessel has time to lose
                ready = ready + 20 * k + draw(st.integers(0, 96))
                extra["earliest_start"] = at(ready)
            calls.append(call(cid, vid, pid, draw(st.integers(4, 12)), **extra))
            ids.append(cid)
        voyages.append(voyage(vid, eta, *ids))
    step = draw(st.sampled_from([1, 15, 60]))
    distances = [{"from_port": a, "to_port": b, "nm": d} for (a, b), d in
                 (((sorted(k)[0], sorted(k)[1]), d) for k, d in NM.items())]
    return load_problem(problem_dict(ports, vessels, calls, voyages, days=10, time_step_minutes=step,
                                     distances=distances))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(passing_problems())
def test_every_way_between_served_calls_keeps_the_routes_limits_or_is_counted(problem: Problem) -> None:
    plan = solve_plan(problem, SolveOptions(time_limit_s=1, workers=1))
    if not plan.calls:
        return  # no call can be served: no plan, nothing sails
    report = check(problem, plan)
    assert report.ok, report.violations
    served = plan.by_call()
    vessels = problem.vessel_map()
    calls = problem.call_map()
    counted = 0.0
    for v in problem.voyages:
        vessel_ = vessels[v.vessel_id]
        origin, since, route = None, v.eta, [calls[v.call_ids[0]].port_id]
        for k, cid in enumerate(v.call_ids):
            if k > 0:
                route.append(calls[cid].port_id)
            if cid not in served:
                continue
            c = served[cid]
            if k > 0:
                miles = sum(nm(x, y) for x, y in pairwise(route))
                took = (c.arrival - since).total_seconds() / 60
                assert took >= miles / vessel_.max_speed_kn * 60 - 1e-6, (cid, origin, route)
                excess = max(0.0, took - miles / vessel_.min_speed_kn * 60)
                # within the route's limits, or the excess counted as waiting at sea
                assert c.waiting_at_sea_minutes == pytest.approx(excess, abs=1e-6)
                # and the solver makes none: an unserved call passes its port, it does not linger
                assert excess <= 1e-6, (cid, origin, route, took, excess)
                counted += excess
            origin, since, route = cid, c.berth_end, [calls[cid].port_id]
    assert plan.kpis is not None
    assert plan.kpis.total_waiting_at_sea_hours == pytest.approx(counted / 60, abs=1e-9)


def test_a_large_plan_searched_by_local_search_and_lns_passes_ports_accounted() -> None:
    # above the whole-model size: local search and LNS re-plan around the passed calls
    base = generate(120, 5, seed=7)
    data = base.model_dump(mode="json")
    by_id = {c["id"]: c for c in data["calls"]}
    middles: list[str] = []
    for v in base.voyages:
        ready = v.eta  # the latest the vessel may have to wait for, up to each call
        for k, cid in enumerate(v.call_ids):
            c = base.call_map()[cid]
            ready = max(ready, c.earliest_start or ready)
            if 0 < k < len(v.call_ids) - 1 and c.frozen is None and len(middles) < 12:
                by_id[cid]["latest_departure"] = (ready + timedelta(minutes=30)).isoformat()  # cannot make it
                middles.append(cid)
    assert len(middles) >= 5
    problem = load_problem(data)
    assert len(problem.calls) > SearchParameters().full_model_calls
    plan = solve_plan(problem, SolveOptions(time_limit_s=4, workers=1, seed=0))
    assert {u.call_id for u in plan.unserved} >= set(middles)
    report = check(problem, plan)
    assert report.ok, report.violations[:3]
    assert report.waiting_at_sea == []
    assert plan.kpis is not None and plan.kpis.total_waiting_at_sea_hours == 0


def test_a_call_that_would_break_the_way_into_a_frozen_call_is_left_unserved() -> None:
    # V1 is at berth at Alat (frozen) since 50 h, having arrived then. Its Aktau call Q can only
    # start at 40 h, and the 270 nm from Aktau over Kuryk take at least 19.3 h: serving Q, the
    # vessel could not have made Alat, even passing Kuryk. Q is left unserved; whatever the plan
    # does at Kuryk (P), the way into Alat keeps the vessel's speed limits or its excess is counted.
    p = make_problem(
        [port("KZAAU", [berth("A1")]), port("KZKUR", [berth("K1")]),
         port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1")],
        [call("Q", "V1", "KZAAU", 4, earliest_start=at(40)),
         call("P", "V1", "KZKUR", 4, latest_departure=at(41)),
         call("C", "V1", "AZBAK", 4, frozen={"berth_id": "B1", "berth_start": at(50), "berth_end": at(54),
                                            "arrival": at(50)})],
        [voyage("V1", 0, "Q", "P", "C")],
        time_step_minutes=10,
    )
    plan = solve_plan(p, SolveOptions(time_limit_s=3, workers=1))
    assert "Q" in {u.call_id for u in plan.unserved}
    report = check(p, plan)
    assert report.ok, report.violations
    served = plan.by_call()
    if "P" in served:  # from Kuryk, 235 nm
        took = hours(t(50) - served["P"].berth_end)
        assert 235 / 14 - 1e-9 <= took <= 235 / 6 + 1e-9
        assert report.waiting_at_sea == []
    else:  # from the ETA at Aktau, 270 nm in 50 h: 5 h more than at 6 kn, a fact
        [sea] = report.waiting_at_sea
        assert (sea.call_id, sea.passed) == ("C", ["Q", "P"])
        assert sea.minutes == pytest.approx(50 * 60 - 270 / 6 * 60)


def test_facts_that_break_the_way_into_a_frozen_call_leave_the_model_solvable() -> None:
    # V1's ETA at Aktau is 0 h; it passes Aktau (C1 cannot make 2 h) and was at Kuryk, 35 nm on,
    # only at 49 h: no plan can sail that slowly. The facts stand and the model still solves the
    # other calls (it used to be infeasible whole).
    p = make_problem(
        [port("KZAAU", [berth("A1")]), port("KZKUR", [berth("K1")])],
        [vessel("V1"), vessel("V2"), vessel("V3")],
        [call("C1", "V1", "KZAAU", 4, latest_departure=at(2)),
         call("C2", "V1", "KZKUR", 4, frozen={"berth_id": "K1", "berth_start": at(50), "berth_end": at(54),
                                             "arrival": at(49)}),
         call("D1", "V2", "KZAAU", 10), call("D2", "V3", "KZAAU", 3)],
        [voyage("V1", 0, "C1", "C2"), voyage("V2", 1, "D1"), voyage("V3", 1, "D2")],
        time_step_minutes=10,
    )
    model = BerthModel(compile_problem(p), ObjectiveWeights())
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(model.m) == cp_model.OPTIMAL
    plan = solve_plan(p, SolveOptions(time_limit_s=3, workers=1))
    report = check(p, plan)
    assert report.ok and [u.call_id for u in plan.unserved] == ["C1"]
    [sea] = report.waiting_at_sea
    assert sea.minutes == pytest.approx(49 * 60 - 35 / 6 * 60)
    assert plan.kpis is not None and plan.kpis.total_waiting_at_sea_hours == pytest.approx(sea.minutes / 60)


def test_the_exact_time_repair_serves_a_call_after_a_passed_port_within_the_way() -> None:
    # C1 at Kuryk cannot make its window and is passed; C2 at Alat is served in exact time (the
    # repair used to skip a call whose previous call was unserved), arriving within 235 nm of the ETA
    p = make_problem(
        [port("KZKUR", [berth("K1")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1")],
        [call("C1", "V1", "KZKUR", 4, latest_departure=at(2)), call("C2", "V1", "AZBAK", 4)],
        [voyage("V1", 0, "C1", "C2")],
    )
    [c2] = serve_in_exact_time(p, [], ["C2"], Deadline(60))
    assert c2.call_id == "C2"
    assert 235 / 14 - 1e-9 <= hours(c2.arrival - t(0)) <= 235 / 6 + 1e-9


def test_the_exact_time_repair_makes_no_waiting_at_sea() -> None:
    # V1 leaves Aktau at 4 h and, passing Kuryk (C2) and Alat (C3), is back at Kuryk for C4 at
    # 88 h: 505 nm in 84 h, within 6 kn. Serving C2 (1 h) as early as it can (6.5 h) would leave
    # 80.5 h for the 470 nm on to C4, 2 h 10 min more than the vessel can sail: the repair must
    # not trade a passed port for waiting at sea.
    p = make_problem(
        [port("KZAAU", [berth("A1")]), port("KZKUR", [berth("K1")]),
         port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1")],
        [call("C1", "V1", "KZAAU", 4), call("C2", "V1", "KZKUR", 1),
         call("C3", "V1", "AZBAK", 4, latest_departure=at(5)), call("C4", "V1", "KZKUR", 4)],
        [voyage("V1", 0, "C1", "C2", "C3", "C4")],
    )
    plan = [a("C1", "A1", 0, 0, 4), a("C4", "K1", 88, 88, 92)]
    assert compute_kpis(p, plan).total_waiting_at_sea_hours == 0
    repaired = serve_in_exact_time(p, plan, ["C2"], Deadline(60))
    by_call = {x.call_id: x for x in repaired}
    if "C2" in by_call:  # served only where the vessel can still sail on to C4
        assert hours(by_call["C4"].arrival - by_call["C2"].berth_end) <= 470 / 6 + 1e-9
    assert compute_kpis(p, repaired).total_waiting_at_sea_hours == 0


def test_portsync_check_shows_waiting_at_sea(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from optimizer.cli import app

    p = round_trip()
    problem_file = tmp_path / "problem.json"
    problem_file.write_text(p.model_dump_json())
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(partial(p, [a("C1", "K1", 0, 0, 4), a("C3", "K1", 94, 94, 98)]).model_dump_json())
    result = CliRunner().invoke(app, ["check", str(problem_file), str(plan_file)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # as wide as the terminal
    assert "11 h 40 min waiting at sea on 1 way over passed ports" in text
    assert "waiting at sea, call C3: vessel V1 sails KZKUR -> AZBAK (passed) -> KZKUR, 470 nm" in text
    assert "waiting at sea 11.7 h" in text
    as_json = CliRunner().invoke(app, ["check", str(problem_file), str(plan_file), "--json"])
    [sea] = json.loads(as_json.output)["waiting_at_sea"]
    assert sea["call_id"] == "C3" and sea["minutes"] == pytest.approx(700)
