"""The checker: a clean plan passes, and each hard constraint broken alone is listed as such."""

from __future__ import annotations

import ast
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from optimizer.checker import KINDS, check, summary
from optimizer.domain import Problem
from optimizer.plan import CallAssignment, Plan, UnservedCall
from tests.builders import T0, at, berth, call, make_problem, port, vessel, voyage


def t(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def problem(step: int = 1) -> Problem:
    """Two Kazakh ports with every constraint family present but slack in the clean plan.

    V1: C1 at Aktau (10 h) then C2 at Kuryk (35 nm: 2.5 h at 14 kn .. 5 h 50 min at 6 kn).
    V2: C3 at Aktau (4 h, earliest 5, latest 40). V3: C4 at Kuryk (2 h), linked after C2 with
    a 1..10 h gap. V4: C5 frozen on A1 [20, 25).
    """
    return make_problem(
        [port("KZAAU", [berth("A1"), berth("A2", length=100), berth("A3", unavailable=[
            {"start": at(30), "end": at(32), "reason": "fender repair"}])],
              closures=[{"start": at(16), "end": at(18), "reason": "NW storm"}]),
         port("KZKUR", [berth("K1")])],
        [vessel("V1"), vessel("V2"), vessel("V3"), vessel("V4")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V1", "KZKUR", 4, requested_departure=at(20)),
         call("C3", "V2", "KZAAU", 4, earliest_start=at(5), latest_departure=at(40)),
         call("C4", "V3", "KZKUR", 2),
         call("C5", "V4", "KZAAU", 5, frozen={"berth_id": "A1", "berth_start": at(20), "berth_end": at(25),
                                               "arrival": at(20)})],
        [voyage("V1", 1, "C1", "C2"), voyage("V2", 1, "C3"), voyage("V3", 10, "C4"), voyage("V4", 20, "C5")],
        links=[{"before": "C2", "after": "C4", "min_gap_hours": 1, "max_gap_hours": 10}],
        time_step_minutes=step,
    )


def a(cid: str, bid: str, arrival: float, start: float, end: float) -> CallAssignment:
    return CallAssignment(call_id=cid, berth_id=bid, arrival=t(arrival), berth_start=t(start),
                          berth_end=t(end))


CLEAN = {
    "C1": a("C1", "A1", 1, 1, 11),
    "C2": a("C2", "K1", 14, 14, 18),
    "C3": a("C3", "A3", 1, 5, 9),
    "C4": a("C4", "K1", 10, 22, 24),
    "C5": a("C5", "A1", 20, 20, 25),
}


def plan_with(*changes: CallAssignment, drop: tuple[str, ...] = ()) -> list[CallAssignment]:
    out = dict(CLEAN)
    for cid in drop:
        del out[cid]
    for c in changes:
        out[c.call_id] = c
    return list(out.values())


def as_plan(items: list[CallAssignment], **extra: object) -> Plan:
    return Plan.model_validate({"calls": [x.model_dump() for x in items], **extra})


def kinds(plan: list[CallAssignment] | Plan, p: Problem | None = None) -> Counter[str]:
    return check(p or problem(), plan).kinds()


def test_clean_plan_passes() -> None:
    report = check(problem(), plan_with())
    assert report.ok, report.violations
    assert report.violations == []
    assert summary(report) == "clean: no violations"
    assert report.kpis.calls == 5


@pytest.mark.parametrize(
    ("kind", "plan"),
    [
        ("missing_call", plan_with(drop=("C3",))),
        ("unknown_berth", plan_with(a("C3", "X9", 1, 5, 9))),
        ("wrong_port", plan_with(a("C3", "K1", 1, 5, 9))),
        ("berth_misfit", plan_with(a("C3", "A2", 1, 5, 9))),  # A2 is 100 m, the vessel 120 m
        ("handling_too_short", plan_with(a("C3", "A3", 1, 5, 8))),
        ("start_before_arrival", plan_with(a("C2", "K1", 16, 14, 18))),
        ("start_before_earliest", plan_with(a("C3", "A3", 1, 4, 8))),
        ("latest_departure_missed", plan_with(a("C3", "A3", 1, 37, 41))),
        ("berth_overlap", plan_with(a("C3", "A1", 1, 10, 14))),
        ("berth_unavailable", plan_with(a("C3", "A3", 1, 28, 32))),
        ("closure_berthing", plan_with(a("C3", "A3", 1, 17, 21))),
        ("closure_departure", plan_with(a("C3", "A3", 1, 13, 17))),
        ("eta_mismatch", plan_with(a("C3", "A3", 0.5, 5, 9))),
        ("voyage_order", plan_with(a("C2", "K1", 10, 14, 18))),
        ("sailing_too_fast", plan_with(a("C2", "K1", 13, 14, 18))),
        ("sailing_too_slow", plan_with(a("C2", "K1", 17, 17, 21))),
        ("link_min_gap", plan_with(a("C4", "K1", 10, 18.5, 20.5))),
        ("link_max_gap", plan_with(a("C4", "K1", 10, 29, 31))),
        ("frozen_moved", plan_with(a("C5", "A1", 20, 21, 31))),
    ],
)
def test_each_broken_constraint_is_listed_alone(kind: str, plan: list[CallAssignment]) -> None:
    assert kinds(plan) == Counter({kind: 1})


def test_unknown_and_duplicate_calls() -> None:
    extra = a("C9", "A3", 1, 12, 14)
    assert kinds([*plan_with(), extra]) == Counter({"unknown_call": 1})
    assert kinds([*plan_with(), CLEAN["C3"]]) == Counter({"duplicate_call": 1})


def test_every_kind_the_tests_use_is_declared() -> None:
    assert {"missing_call", "unknown_call", "duplicate_call", "frozen_moved", "eta_mismatch"} <= set(KINDS)


def test_a_partial_plan_lists_unserved_calls_with_reasons() -> None:
    plan = as_plan(plan_with(drop=("C3",)), unserved=[UnservedCall(call_id="C3", reasons=["no berth"])])
    report = check(problem(), plan)
    assert report.ok and report.unserved == ["C3"]
    assert "1 calls listed as unserved" in summary(report)
    # without a reason, or not listed at all, a call left out is missing
    no_reason = as_plan(plan_with(drop=("C3",)), unserved=[UnservedCall(call_id="C3", reasons=[])])
    assert check(problem(), no_reason).kinds() == Counter({"missing_call": 1})
    assert kinds(as_plan(plan_with(drop=("C3",)))) == Counter({"missing_call": 1})


def test_a_call_both_planned_and_unserved_is_a_violation() -> None:
    plan = as_plan(plan_with(), unserved=[UnservedCall(call_id="C3", reasons=["no berth"])])
    assert check(problem(), plan).kinds() == Counter({"planned_and_unserved": 1})


def test_every_violation_is_listed_not_just_the_first() -> None:
    plan = plan_with(a("C3", "A1", 1, 10, 14), a("C4", "K1", 10, 29, 31), drop=("C2",))
    # C3 overlaps C1 and (as C5 is frozen on A1 [20, 25)) nothing else; C2 missing; C4 then has
    # no link predecessor to be measured against.
    assert kinds(plan) == Counter({"berth_overlap": 1, "missing_call": 1})
    crowded = plan_with(a("C3", "A1", 1, 5, 9), a("C4", "A1", 10, 6, 8))
    got = kinds(crowded)
    assert got["berth_overlap"] == 3  # C1-C3, C1-C4, C3-C4
    assert got["wrong_port"] == 1
    assert got["start_before_arrival"] == 1


def test_violation_names_call_berth_and_times() -> None:
    report = check(problem(), plan_with(a("C3", "A1", 1, 10, 14)))
    v = report.violations[0]
    assert (v.kind, v.call_id, v.berth_id) == ("berth_overlap", "C3", "A1")
    assert "C1" in v.detail and "2026-11-02 10:00 UTC" in v.detail and "2026-11-02 11:00 UTC" in v.detail


def test_half_open_intervals() -> None:
    # Leaving exactly when a closure starts is inside it; berthing exactly when it ends is not.
    assert kinds(plan_with(a("C3", "A3", 1, 12, 16))) == Counter({"closure_departure": 1})
    assert kinds(plan_with(a("C3", "A3", 1, 18, 22))) == Counter()
    assert kinds(plan_with(a("C3", "A3", 1, 14, 18))) == Counter()
    # Back-to-back calls on a berth and a stay ending as maintenance begins are fine.
    assert kinds(plan_with(a("C3", "A1", 1, 11, 15))) == Counter()
    assert kinds(plan_with(a("C3", "A3", 1, 26, 30))) == Counter()


def test_longer_stay_than_handling_is_allowed() -> None:
    assert kinds(plan_with(a("C3", "A3", 1, 5, 12))) == Counter()


def test_frozen_call_shorter_than_its_handling_is_a_warning_not_clean() -> None:
    p = problem().model_copy(deep=True)
    p.calls[4].handling.hours = 10  # C5 is frozen for 5 h although its handling says 10 h
    report = check(p, plan_with())
    assert report.ok and not report.clean
    assert [w.kind for w in report.warnings] == ["frozen_handling_too_short"]
    assert "clean" not in summary(report)
    # moved, it is flagged and then checked like any other call
    moved = check(p, plan_with(a("C5", "A1", 20, 20, 26))).kinds()
    assert moved == Counter({"frozen_moved": 1, "handling_too_short": 1})
    assert check(p, plan_with(a("C5", "A3", 20, 20, 30))).kinds() == Counter({"frozen_moved": 1})


def test_eta_allows_one_time_step_late_never_early() -> None:
    one_min = 1 / 60
    assert kinds(plan_with(a("C3", "A3", 1 + one_min, 5, 9))) == Counter()
    assert kinds(plan_with(a("C3", "A3", 1 + 2 * one_min, 5, 9))) == Counter({"eta_mismatch": 1})
    assert kinds(plan_with(a("C3", "A3", 1 + 0.25, 5, 9)), problem(step=15)) == Counter()
    early = plan_with(a("C3", "A3", 1 - one_min, 5, 9))
    assert kinds(early, problem(step=15)) == Counter({"eta_mismatch": 1})


def test_sailing_bounds_are_exact() -> None:
    # 35 nm at 14 kn is exactly 2 h 30 min; at 6 kn 5 h 50 min.
    assert kinds(plan_with(a("C2", "K1", 13.5, 14, 18))) == Counter()
    assert kinds(plan_with(a("C2", "K1", 13.5 - 1 / 60, 14, 18))) == Counter({"sailing_too_fast": 1})
    assert kinds(plan_with(a("C2", "K1", 11 + 35 / 6, 17, 21))) == Counter()
    assert kinds(plan_with(a("C2", "K1", 11 + 35 / 6 + 1 / 60, 17, 21))) == Counter({"sailing_too_slow": 1})


def test_berth_misfit_reasons() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1"), berth("G1", kinds=("grain",)), berth("D1", draft=4)])],
        [vessel("V1")],
        [call("C1", "V1", "KZAAU", 4, allowed_berths=["A1", "D1"])],
        [voyage("V1", 1, "C1")],
    )
    for bid, words in (("G1", "allowed"), ("D1", "draft")):
        report = check(p, [a("C1", bid, 1, 1, 5)])
        assert report.kinds() == Counter({"berth_misfit": 1})
        assert words in report.violations[0].detail


def test_accepts_a_plan_or_a_list() -> None:
    assert check(problem(), as_plan(plan_with())).ok


def test_fcfs_plan_passes_the_checker() -> None:
    from optimizer.baseline import fcfs

    p = problem()
    report = check(p, fcfs(p))
    assert report.ok, report.violations


def test_checker_does_not_import_the_model() -> None:
    root = Path(__file__).resolve().parents[1] / "optimizer"
    for name in ("checker.py", "kpis.py", "explain.py"):
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module != "optimizer.compiled", name
                solver = node.module.startswith("optimizer.solver")
                assert not solver, name
            if isinstance(node, ast.Import):
                banned = ("optimizer.compiled", "optimizer.solver")
                assert all(not n.name.startswith(banned) for n in node.names), name


def test_frozen_call_riding_out_a_storm_is_a_fact_not_a_violation() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1")], closures=[{"start": at(10), "end": at(20)}])],
        [vessel("V1")],
        [call("C1", "V1", "KZAAU", 8, latest_departure=at(12),
              frozen={"berth_id": "A1", "berth_start": at(2), "berth_end": at(15)})],
        [voyage("V1", 3, "C1")],
    )
    # Frozen at berth since 2 h (before its ETA), leaving at 15 h inside the closure and after
    # its latest departure: facts of the frozen record, each a named warning.
    report = check(p, [a("C1", "A1", 2, 2, 15)])
    assert report.ok and not report.clean
    assert Counter(w.kind for w in report.warnings) == Counter(
        {"frozen_closure_departure": 1, "frozen_latest_departure_missed": 1, "frozen_eta_mismatch": 1})
    moved = check(p, [a("C1", "A1", 3, 3, 16)]).kinds()
    assert moved == Counter({"frozen_moved": 1, "closure_departure": 1, "latest_departure_missed": 1})
