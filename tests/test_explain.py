"""'Why it waited' from the plan itself, and why a call cannot be served at all."""

from __future__ import annotations

from typing import Any

from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.explain import unplannable_reasons, why_waited
from optimizer.plan import UnservedCall
from optimizer.report import build_plan
from tests.builders import assignment as a  # short: plans are written a line an entry
from tests.builders import (
    at,
    berth,
    call,
    make_problem,
    port,
    problem_dict,
    t,
    two_ships_one_berth,
    vessel,
    voyage,
)


def one_call(**call_extra: Any) -> Problem:
    return make_problem(
        [port("KZAAU", [berth("A1")], closures=[{"start": at(2), "end": at(6), "reason": "storm"}])],
        [vessel("V1")], [call("C1", "V1", "KZAAU", 4, **call_extra)], [voyage("V1", 1, "C1")],
    )


def test_waiting_for_a_busy_berth_names_the_blocking_call() -> None:
    why = why_waited(two_ships_one_berth(), [a("C2", "A1", 1, 1, 5), a("C1", "A1", 1, 5, 15)])
    assert set(why) == {"C1"}  # C2 did not wait
    [r] = why["C1"]
    assert (r.kind, r.blocking_call_id, r.until) == ("berth_busy", "C2", t(5))
    assert "MV V2" in r.detail and "no other berth" in r.detail


def test_other_compatible_berths_busy_too() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1"), berth("A2"), berth("G1", kinds=("grain",))])],
        [vessel("V1"), vessel("V2"), vessel("V3")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V2", "KZAAU", 6), call("C3", "V3", "KZAAU", 4)],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2"), voyage("V3", 1, "C3")],
    )
    busy = [a("C1", "A1", 1, 1, 11), a("C2", "A2", 1, 1, 7), a("C3", "A2", 1, 7, 11)]
    [r] = why_waited(p, busy)["C3"]
    assert r.blocking_call_id == "C2"
    assert "busy too" in r.detail and "A1 with C1" in r.detail and "G1" not in r.detail
    # Had C3 waited on A1 until C1 left, A2 would have been free from 7 h: the detail says so.
    wasted = [a("C1", "A1", 1, 1, 11), a("C2", "A2", 1, 1, 7), a("C3", "A1", 1, 11, 15)]
    [r] = why_waited(p, wasted)["C3"]
    assert "another compatible berth was free: A2 from 2026-11-02 07:00 UTC" in r.detail


def test_waiting_for_earliest_start() -> None:
    p = make_problem([port("KZAAU", [berth("A1")])], [vessel("V1")],
                     [call("C1", "V1", "KZAAU", 4, earliest_start=at(8))], [voyage("V1", 1, "C1")])
    [r] = why_waited(p, [a("C1", "A1", 1, 8, 12)])["C1"]
    assert (r.kind, r.until) == ("earliest_start", t(8))


def test_waiting_for_a_closure() -> None:
    [r] = why_waited(one_call(), [a("C1", "A1", 1, 6, 10)])["C1"]
    assert (r.kind, r.until) == ("closure", t(6))
    assert "storm" in r.detail


def test_waiting_so_as_not_to_leave_inside_a_closure() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1")], closures=[{"start": at(5), "end": at(8)}])],
        [vessel("V1")], [call("C1", "V1", "KZAAU", 4)], [voyage("V1", 1, "C1")],
    )
    # Any start between its arrival (1 h) and 4 h would leave inside the 5-8 h closure.
    [r] = why_waited(p, [a("C1", "A1", 1, 4, 8)])["C1"]
    assert (r.kind, r.until) == ("closure", t(4))
    assert "leave inside" in r.detail


def test_waiting_for_a_link_and_maintenance() -> None:
    p = make_problem(
        [port("KZAAU", [berth("A1", unavailable=[{"start": at(0), "end": at(3)}]), berth("A2")])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 6, allowed_berths=["A2"]),
         call("C2", "V2", "KZAAU", 4, allowed_berths=["A1"])],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
        links=[{"before": "C1", "after": "C2", "min_gap_hours": 2, "reason": "train loads first"}],
    )
    why = why_waited(p, [a("C1", "A2", 1, 1, 7), a("C2", "A1", 1, 9, 13)])
    got = {(r.kind, r.blocking_call_id, r.until) for r in why["C2"]}
    assert got == {("maintenance", None, t(3)), ("link", "C1", t(9))}


def unvalidated(*args: object, **kwargs: object) -> Problem:
    """A problem past pydantic but not the whole-problem checks, as an infeasible solve may see."""
    return Problem.model_validate(problem_dict(*args, **kwargs))  # type: ignore[arg-type]


def test_unplannable_no_compatible_berth() -> None:
    p = unvalidated([port("KZAAU", [berth("A1", length=100)])], [vessel("V1", length=150)],
                    [call("C1", "V1", "KZAAU", 4)], [voyage("V1", 1, "C1")])
    [u] = unplannable_reasons(p)
    assert u.call_id == "C1" and "no compatible berth" in u.reasons[0] and "length" in u.reasons[0]


def test_unplannable_window_shorter_than_handling_through_the_voyage() -> None:
    # C1 is frozen at Aktau until 11 h: C2 can reach Kuryk no sooner than 11 h + 2.5 h (35 nm at
    # 14 kn) and needs 4 h: leaving by 15 h is impossible although its own window looks wide.
    def kuryk_by(latest: float) -> Problem:
        return make_problem(
            [port("KZAAU", [berth("A1")]), port("KZKUR", [berth("K1")])],
            [vessel("V1")],
            [call("C1", "V1", "KZAAU", 10,
                  frozen={"berth_id": "A1", "berth_start": at(1), "berth_end": at(11)}),
             call("C2", "V1", "KZKUR", 4, latest_departure=at(latest))],
            [voyage("V1", 1, "C1", "C2")],
        )

    [u] = unplannable_reasons(kuryk_by(15))
    assert u.call_id == "C2" and "2026-11-02 13:30 UTC" in u.reasons[0]
    assert (u.kind, u.rule) == ("proven", "window_too_short")
    assert "servable if latest departure >= 2026-11-02 22:30 +05:00" in u.reasons[0]
    assert unplannable_reasons(kuryk_by(17.5)) == []


def test_a_call_before_it_that_may_be_left_out_proves_nothing() -> None:
    # The same voyage with C1 not frozen: serving C1 first, C2 cannot leave Kuryk by 15 h, but a
    # plan may leave C1 unserved (the vessel passes Aktau at its ETA, 1 h) and serve C2 from
    # 3.5 h to 7.5 h; the checker accepts that plan, so C2 is not proven unservable.
    p = make_problem(
        [port("KZAAU", [berth("A1")]), port("KZKUR", [berth("K1")])],
        [vessel("V1")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V1", "KZKUR", 4, latest_departure=at(15))],
        [voyage("V1", 1, "C1", "C2")],
    )
    assert unplannable_reasons(p) == []
    plan = build_plan(p, [a("C2", "K1", 3.5, 3.5, 7.5)], unserved=[UnservedCall(call_id="C1", reasons=["-"])])
    assert check(p, plan).ok


def test_unplannable_earliest_after_latest() -> None:
    p = unvalidated([port("KZAAU", [berth("A1")])], [vessel("V1")],
                    [call("C1", "V1", "KZAAU", 4, earliest_start=at(10), latest_departure=at(9))],
                    [voyage("V1", 1, "C1")])
    [u] = unplannable_reasons(p)
    assert "not before its latest departure" in u.reasons[0]


def test_unplannable_every_start_in_closures() -> None:
    def with_closure(start: float, end: float) -> Problem:
        return make_problem(
            [port("KZAAU", [berth("A1")], closures=[{"start": at(start), "end": at(end)}])],
            [vessel("V1")],
            [call("C1", "V1", "KZAAU", 4, earliest_start=at(10), latest_departure=at(20))],
            [voyage("V1", 1, "C1")],
        )

    [u] = unplannable_reasons(with_closure(9, 17))  # starts 10..16 all closed
    assert "closure" in u.reasons[0]
    [u] = unplannable_reasons(with_closure(13, 25))  # ends 14..20 closed, or starts closed
    assert "closure" in u.reasons[0]
    assert unplannable_reasons(with_closure(9, 12)) == []  # start at 12, leave at 16
    # Starting at 10 h and riding out a 15-19 h storm at berth until 19 h is allowed.
    assert unplannable_reasons(with_closure(14, 19)) == []
