"""Whether a call a plan leaves unserved is proven unservable or only not found by the search."""

from __future__ import annotations

from typing import Any

from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.explain import unplannable_reasons
from optimizer.params import ProofParameters, SolveOptions
from optimizer.plan import CallAssignment, ProofRule, UnservedCall, UnservedKind
from optimizer.report import build_plan
from optimizer.solver.proof import ProofBudget, explain_unserved
from tests.builders import assignment as a
from tests.builders import at, berth, call, make_problem, port, solve_plan, vessel, voyage

FAST = SolveOptions(time_limit_s=2, workers=1)
BUDGET = ProofBudget.of(ProofParameters(), 2.0)


def frozen(start: float, end: float, berth_id: str = "A1") -> dict[str, Any]:
    return {"berth_id": berth_id, "berth_start": at(start), "berth_end": at(end)}


def between_frozen_calls(first_end: float, second_start: float, latest: float = 18) -> Problem:
    """Aktau's one berth A1 held by frozen calls F1 from 0 h to `first_end` and F2 from
    `second_start` to 20 h; C2 (4 h of handling, ETA 1 h) must leave by `latest`."""
    return make_problem(
        [port("KZAAU", [berth("A1")])],
        [vessel("V1"), vessel("V2"), vessel("V3")],
        [call("F1", "V1", "KZAAU", first_end, frozen=frozen(0, first_end)),
         call("F2", "V3", "KZAAU", 20 - second_start, frozen=frozen(second_start, 20)),
         call("C2", "V2", "KZAAU", 4, latest_departure=at(latest))],
        [voyage("V1", 0, "F1"), voyage("V3", 0, "F2"), voyage("V2", 1, "C2")],
    )


def test_a_window_too_short_for_the_call_is_proven_by_its_own_limits() -> None:
    # C2 arrives at 1 h and needs 10 h, but must leave by 5 h: no plan can serve it.
    p = make_problem(
        [port("KZAAU", [berth("A1")])], [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 4), call("C2", "V2", "KZAAU", 10, latest_departure=at(5))],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
    )
    plan = solve_plan(p, FAST)
    [left] = plan.unserved
    assert (left.call_id, left.kind, left.rule) == ("C2", "proven", "window_too_short")
    assert "servable if latest departure >= 2026-11-02 16:00 +05:00 (2026-11-02 11:00 UTC)" in left.reasons[0]
    assert plan.solver is not None and plan.solver.proven_unserved_calls == 1


def test_frozen_calls_holding_the_only_berth_through_its_window_prove_it_unservable() -> None:
    # A1 is held from 0 h to 9 h and from 9 h to 20 h: C2 (4 h, from 1 h, out by 18 h) fits nowhere.
    # Its own limits leave it room (1 h + 4 h <= 18 h), so only the model proves it.
    p = between_frozen_calls(9, 9)
    assert unplannable_reasons(p) == []
    plan = solve_plan(p, FAST)
    [left] = plan.unserved
    assert (left.call_id, left.kind, left.rule) == ("C2", "proven", "relaxed_model")
    assert left.reasons[0].startswith("no plan can serve it: CP-SAT proved it cannot be served on berth A1, "
                                      "around the frozen calls F1, F2")
    # the earliest it could leave is after F2, 20 h + 4 h: what a later latest departure would need
    assert "no plan lets it leave before 2026-11-03 05:00 +05:00 (2026-11-03 00:00 UTC)" in left.reasons[0]
    assert any("servable if latest departure >= 2026-11-03 05:00 +05:00" in r for r in left.reasons)


def test_a_gap_between_frozen_calls_that_fits_it_in_exact_time_proves_nothing() -> None:
    # F1 leaves at 9:00:00.5 and F2 berths at 13:00:00.5: C2's 4 h fit between them exactly, off
    # the minute grid and off whole seconds; no proof may claim otherwise.
    half = 0.5 / 3600
    p = between_frozen_calls(9 + half, 13 + half)
    assert explain_unserved(p, [], ["C2"], {}, BUDGET, "-")[0].kind == UnservedKind.NOT_FOUND
    served = build_plan(p, [a("F1", "A1", 0, 0, 9 + half), a("F2", "A1", 0, 13 + half, 20),
                            a("C2", "A1", 1, 9 + half, 13 + half)])
    assert check(p, served).ok  # the plan the proof must not rule out


def test_a_call_the_search_left_out_that_another_plan_serves_is_not_found() -> None:
    # One berth, two 10 h calls both due out by 12 h: either can be served, not both. A plan
    # serving C1 leaves C2 out; the plan serving C2 instead passes the checker, so C2 is not proven.
    p = make_problem(
        [port("KZAAU", [berth("A1")])], [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10, latest_departure=at(12)),
         call("C2", "V2", "KZAAU", 10, latest_departure=at(12))],
        [voyage("V1", 0, "C1"), voyage("V2", 0, "C2")],
    )
    plan = [a("C1", "A1", 0, 0, 10)]
    [left] = explain_unserved(p, plan, ["C2"], {}, BUDGET, "the search did not find one in 2 s")
    assert (left.kind, left.rule) == (UnservedKind.NOT_FOUND, None)
    assert left.reasons == [
        "in this plan it cannot leave by its latest departure 2026-11-02 17:00 +05:00 "
        "(2026-11-02 12:00 UTC): around the planned calls the earliest it can leave is "
        "2026-11-03 01:00 +05:00 (2026-11-02 20:00 UTC) at berth A1, free from "
        "2026-11-02 15:00 +05:00 (2026-11-02 10:00 UTC) (the compatible berths are "
        "taken by planned calls, maintenance or closures before)",
        "a plan serving it may exist: the search did not find one in 2 s",
    ]
    other = build_plan(p, [a("C2", "A1", 0, 0, 10)], unserved=[UnservedCall(call_id="C1", reasons=["-"])])
    assert check(p, other).ok


def test_calls_that_must_be_served_but_may_move_prove_nothing() -> None:
    # M1 and M2 have no deadline: the plan below puts them on A1 through C3's whole window, but a
    # plan may serve C3 first and them after, so C3 is not proven unservable.
    p = make_problem(
        [port("KZAAU", [berth("A1")])], [vessel("V1"), vessel("V2"), vessel("V3")],
        [call("M1", "V1", "KZAAU", 9), call("M2", "V2", "KZAAU", 11),
         call("C3", "V3", "KZAAU", 4, latest_departure=at(18))],
        [voyage("V1", 0, "M1"), voyage("V2", 0, "M2"), voyage("V3", 1, "C3")],
    )
    crowded: list[CallAssignment] = [a("M1", "A1", 0, 0, 9), a("M2", "A1", 0, 9, 20)]
    [left] = explain_unserved(p, crowded, ["C3"], {}, BUDGET, "-")
    assert left.kind == UnservedKind.NOT_FOUND
    assert check(p, [a("C3", "A1", 1, 1, 5), a("M1", "A1", 0, 5, 14), a("M2", "A1", 0, 14, 25)]).ok


def test_no_budget_proves_nothing_but_the_own_limits() -> None:
    # A stopped solve (or a search still running) has no time for proofs: C2 is not_found, with
    # what holds in this plan, and a call proven by its own limits stays proven.
    p = between_frozen_calls(9, 9)
    plan = [a("F1", "A1", 0, 0, 9), a("F2", "A1", 0, 9, 20)]
    own = UnservedCall(call_id="C9", kind=UnservedKind.PROVEN, rule=ProofRule.OWN_WINDOW, reasons=["x"])
    got = explain_unserved(p, plan, ["C2", "C9"], {"C9": own}, ProofBudget(0.0, 0.0), "still searching")
    assert [(u.call_id, u.kind) for u in got] == [("C2", "not_found"), ("C9", "proven")]
    assert got[0].reasons[0].startswith("in this plan") and got[0].reasons[-1].endswith("still searching")


def test_a_proven_call_names_its_rule_and_only_a_proven_one() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="rule"):
        UnservedCall(call_id="C1", kind=UnservedKind.PROVEN, reasons=["x"])
    with pytest.raises(ValidationError, match="rule"):
        UnservedCall(call_id="C1", rule=ProofRule.OWN_WINDOW, reasons=["x"])
    # a plan written before the kinds existed reads as not_found: nothing proven
    assert UnservedCall.model_validate({"call_id": "C1", "reasons": ["x"]}).kind == UnservedKind.NOT_FOUND


def test_facts_that_overlap_block_the_berth_once_and_prove_nothing_more() -> None:
    # F1 was reported at A1 from 0 h to 9 h, through maintenance planned for 5 h to 12 h: a fact
    # kept as it is. Together they hold A1 until 12 h; C2 fits from 12 h to 16 h, before 18 h.
    p = make_problem(
        [port("KZAAU", [berth("A1", unavailable=[{"start": at(5), "end": at(12)}])])],
        [vessel("V1"), vessel("V2")],
        [call("F1", "V1", "KZAAU", 9, frozen=frozen(0, 9)),
         call("C2", "V2", "KZAAU", 4, latest_departure=at(18))],
        [voyage("V1", 0, "F1"), voyage("V2", 1, "C2")],
    )
    assert explain_unserved(p, [], ["C2"], {}, BUDGET, "-")[0].kind == UnservedKind.NOT_FOUND
    assert check(p, [a("F1", "A1", 0, 0, 9), a("C2", "A1", 1, 12, 16)]).violations == []
