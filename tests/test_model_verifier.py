"""The CP-SAT model checked one constraint family at a time, Timefold-style: fix a placement,
expect FEASIBLE or INFEASIBLE. Each case solves a tiny fixed model in milliseconds."""

from __future__ import annotations

from typing import Any

import pytest
from ortools.sat.python import cp_model

from optimizer.compiled import compile_problem
from optimizer.domain import Problem
from optimizer.params import ObjectiveWeights
from optimizer.solver.model import BerthModel
from tests.builders import at, berth, call, make_problem, port, vessel, voyage

H = 60  # steps per hour (1-min steps)
Fixed = tuple[str | None, int, int]  # berth (None: unserved), start and end in hours


def feasible(problem: Problem, placed: dict[str, Fixed]) -> bool:
    """Whether the model admits these calls at these berths and times (arrivals left free)."""
    cp = compile_problem(problem)
    model = BerthModel(cp, ObjectiveWeights())
    m = model.m
    for cid, (bid, start, end) in placed.items():
        i = cp.call_index[cid]
        cv = model.v.calls[i]
        m.add(cv.served == int(bid is not None))
        if bid is None:
            continue
        b = cp.berth_index[bid]
        if b not in cv.at_berth:
            return False  # the model has no way to put it there
        m.add(cv.at_berth[b] == 1)
        m.add(cv.start == start * H)
        m.add(cv.end == end * H)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 5
    return solver.solve(m) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def one_port(calls: list[dict[str, Any]], voyages: list[dict[str, Any]], **port_extra: Any) -> Problem:
    extra = port_extra.pop("x", {})
    berths = port_extra.pop("berths", [berth("A1"), berth("A2", length=100)])
    vessels = [vessel(v["vessel_id"]) for v in voyages]
    return make_problem([port("KZAAU", berths, **port_extra)], vessels, calls, voyages, **extra)


TWO = one_port([call("C1", "V1", "KZAAU", 4), call("C2", "V2", "KZAAU", 4)],
               [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")])


def test_one_berth_per_call_and_its_handling_time() -> None:
    assert feasible(TWO, {"C1": ("A1", 1, 5), "C2": ("A1", 5, 9)})
    assert not feasible(TWO, {"C1": ("A1", 1, 4)})  # 3 h where 4 h are needed
    assert not feasible(TWO, {"C1": ("A2", 1, 5)})  # A2 is 100 m, the vessel 120 m


def test_one_vessel_per_berth_and_maintenance() -> None:
    assert not feasible(TWO, {"C1": ("A1", 1, 5), "C2": ("A1", 4, 8)})
    p = one_port([call("C1", "V1", "KZAAU", 4)], [voyage("V1", 1, "C1")],
                 berths=[berth("A1", unavailable=[{"start": at(3), "end": at(6)}])])
    assert not feasible(p, {"C1": ("A1", 1, 5)})
    assert feasible(p, {"C1": ("A1", 6, 10)})


def test_closures_bind_served_calls_only() -> None:
    p = one_port([call("C1", "V1", "KZAAU", 4, latest_departure=at(30))], [voyage("V1", 1, "C1")],
                 closures=[{"start": at(2), "end": at(8)}])
    assert not feasible(p, {"C1": ("A1", 3, 7)})  # berths inside the closure
    assert feasible(p, {"C1": ("A1", 8, 12)})
    assert feasible(p, {"C1": (None, 0, 0)})  # an unserved call takes no berth and keeps no rule


def test_earliest_start_and_eta() -> None:
    p = one_port([call("C1", "V1", "KZAAU", 4, earliest_start=at(5))], [voyage("V1", 1, "C1")])
    assert not feasible(p, {"C1": ("A1", 3, 7)})
    assert feasible(p, {"C1": ("A1", 5, 9)})
    assert not feasible(TWO, {"C1": ("A1", 0, 4)})  # before the vessel's ETA (1 h)


def test_latest_departure_is_hard_unless_the_call_is_unserved() -> None:
    p = one_port([call("C1", "V1", "KZAAU", 4, latest_departure=at(6))], [voyage("V1", 1, "C1")])
    assert feasible(p, {"C1": ("A1", 1, 5)})
    assert not feasible(p, {"C1": ("A1", 3, 7)})
    assert feasible(p, {"C1": (None, 0, 0)})
    must = one_port([call("C1", "V1", "KZAAU", 4)], [voyage("V1", 1, "C1")])
    assert not feasible(must, {"C1": (None, 0, 0)})  # no deadline: it can always be served, so it must


def test_voyage_sailing_times() -> None:
    # Aktau -> Kuryk 35 nm: 2.5 h at 14 kn, at most 5 h 50 min at 6 kn
    p = make_problem([port("KZAAU", [berth("A1")]), port("KZKUR", [berth("K1")])], [vessel("V1")],
                     [call("C1", "V1", "KZAAU", 4), call("C2", "V1", "KZKUR", 2)],
                     [voyage("V1", 1, "C1", "C2")])
    assert not feasible(p, {"C1": ("A1", 1, 5), "C2": ("K1", 7, 9)})  # 2 h: too fast
    assert feasible(p, {"C1": ("A1", 1, 5), "C2": ("K1", 8, 10)})
    assert feasible(p, {"C1": ("A1", 1, 5), "C2": ("K1", 20, 22)})  # slow steaming, then anchorage


def test_links_hold_between_served_calls() -> None:
    p = one_port([call("C1", "V1", "KZAAU", 4), call("C2", "V2", "KZAAU", 4, latest_departure=at(40))],
                 [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
                 x={"links": [{"before": "C1", "after": "C2", "min_gap_hours": 2, "max_gap_hours": 6}]})
    assert not feasible(p, {"C1": ("A1", 1, 5), "C2": ("A1", 6, 10)})  # 1 h gap
    assert feasible(p, {"C1": ("A1", 1, 5), "C2": ("A1", 7, 11)})
    assert not feasible(p, {"C1": ("A1", 1, 5), "C2": ("A1", 12, 16)})  # 7 h gap
    assert feasible(p, {"C1": ("A1", 1, 5), "C2": (None, 0, 0)})


@pytest.mark.parametrize("start", [2, 4])
def test_frozen_calls_block_their_berth_and_may_overlap_maintenance(start: int) -> None:
    frozen = {"berth_id": "A1", "berth_start": at(start), "berth_end": at(start + 4)}
    p = one_port([call("C1", "V1", "KZAAU", 4, frozen=frozen), call("C2", "V2", "KZAAU", 4)],
                 [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
                 berths=[berth("A1", unavailable=[{"start": at(3), "end": at(5)}]), berth("A2")])
    assert feasible(p, {})  # the frozen call is a fact, maintenance or not
    assert not feasible(p, {"C2": ("A1", start + 2, start + 6)})
    assert feasible(p, {"C2": ("A1", start + 4, start + 8)})
