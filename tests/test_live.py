"""Live plans in process: events refused whole with their field, idempotent ids, the past as
fact, the frozen window, and every version clean under the independent checker."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.live.events import EVENTS, Event
from optimizer.live.live_plan import LivePlan, replay
from optimizer.live.replan import ReplanSettings, Version, planning_view
from optimizer.live.state import EventConflict, EventsRefused, LiveState, apply_events
from optimizer.loading import load_problem
from tests.builders import at, call, corridor_dict, t

FAST = ReplanSettings(first_time_limit_s=2, first_workers=1, replan_time_limit_s=0.6)


def ev(*items: dict[str, Any]) -> list[Event]:
    return EVENTS.validate_python(list(items))


def corridor() -> Problem:
    return load_problem(corridor_dict())


def clean(v: Version) -> None:
    report = check(v.problem, v.plan)
    assert report.ok, [str(x) for x in report.violations]
    assert {c.call_id for c in v.plan.calls} | {u.call_id for u in v.plan.unserved} == {
        c.id for c in v.problem.calls
    }


@pytest.fixture(scope="module")
def live0() -> LivePlan:
    return LivePlan.create(corridor(), FAST)


def fresh(live0: LivePlan) -> LivePlan:
    return LivePlan(live0.state, list(live0.versions), FAST)


# -- refusals name the event and the field; nothing is half-applied -------------------------------


@pytest.mark.parametrize(
    "events, loc",
    [
        ([{"event_id": "e1", "type": "eta", "call_id": "NOPE", "eta": at(5)}], ["events", 0, "call_id"]),
        (
            [
                {"event_id": "e1", "type": "actual_arrival", "call_id": "V2-A", "time": at(5)},
                {"event_id": "e2", "type": "actual_berthing", "call_id": "V2-A", "berth_id": "A1",
                 "time": at(4)},
            ],
            ["events", 0, "time"],  # applied in time order: the berthing first, then an arrival after it
        ),
        (
            [
                {
                    "event_id": "e1",
                    "type": "actual_berthing",
                    "call_id": "V2-A",
                    "berth_id": "A1",
                    "time": at(5),
                },
                {"event_id": "e2", "type": "actual_departure", "call_id": "V2-A", "time": at(4)},
            ],
            ["events", 1, "time"],
        ),
        (
            [
                {
                    "event_id": "e1",
                    "type": "actual_berthing",
                    "call_id": "V2-A",
                    "berth_id": "B1",
                    "time": at(5),
                }
            ],
            ["events", 0, "berth_id"],
        ),
        (
            [
                {"event_id": "e1", "type": "actual_berthing", "call_id": "V1-A", "berth_id": "A1",
                 "time": at(9)},
                {"event_id": "e2", "type": "actual_arrival", "call_id": "V1-B", "time": at(8)},
            ],
            ["events", 1, "time"],
        ),
        (
            [{"event_id": "e1", "type": "closure_lifted", "closure_event_id": "storm-9"}],
            ["events", 0, "closure_event_id"],
        ),
        (
            [{"event_id": "e1", "type": "maintenance", "berth_id": "Z9", "start": at(1), "end": at(2)}],
            ["events", 0, "berth_id"],
        ),
        (
            [
                {
                    "event_id": "e1",
                    "type": "call_added",
                    "call": call("V1-A", "V1", "KZAAU", 3),
                    "after_call_id": "V1-B",
                }
            ],
            ["events", 0, "call", "id"],
        ),
        (
            [{"event_id": "e1", "type": "eta", "call_id": "V2-A", "eta": "2026-10-01T00:00:00Z"}],
            ["events", 0, "eta"],
        ),
    ],
)
def test_a_bad_event_is_refused_with_its_index_and_field_and_the_batch_changes_nothing(
    live0: LivePlan, events: list[dict[str, Any]], loc: list[Any]
) -> None:
    live = fresh(live0)
    with pytest.raises(EventsRefused) as info:
        live.submit(ev(*events))
    assert loc in [i.loc for i in info.value.issues]
    assert live.pending == [] and live.replan() is None


def test_an_event_id_is_applied_once_and_refused_with_another_body(live0: LivePlan) -> None:
    live = fresh(live0)
    e = {"event_id": "eta-1", "type": "eta", "call_id": "V2-A", "eta": at(6)}
    assert len(live.submit(ev(e, e))) == 1
    assert live.submit(ev(e)) == []
    v2 = live.replan()
    assert v2 is not None and v2.event_ids == ["eta-1"]
    assert live.submit(ev(e)) == []  # after the version too
    with pytest.raises(EventConflict):
        live.submit(ev({**e, "eta": at(7)}))


# -- replanning -----------------------------------------------------------------------------------


def test_a_late_eta_moves_its_voyage_and_the_version_says_why(live0: LivePlan) -> None:
    live = fresh(live0)
    live.submit(ev({"event_id": "late-v1", "type": "eta", "call_id": "V1-A", "eta": at(12)}))
    v2 = live.replan()
    assert v2 is not None and v2.number == 2
    clean(v2)
    a = v2.plan.by_call()["V1-A"]
    assert a.arrival == t(12) and a.berth_start >= t(12)
    moved = {c.call_id: c for c in v2.changes}
    assert "late-v1" in moved["V1-A"].caused_by
    assert v2.stability is not None and v2.stability.total_start_shift_minutes > 0


def test_actuals_become_facts_and_departed_calls_history(live0: LivePlan) -> None:
    live = fresh(live0)
    live.submit(
        ev(
            {"event_id": "ata", "type": "actual_arrival", "call_id": "V1-A", "time": at(2)},
            {
                "event_id": "atb",
                "type": "actual_berthing",
                "call_id": "V1-A",
                "berth_id": "A2",
                "time": at(3),
            },
        )
    )
    v2 = live.replan()
    assert v2 is not None
    clean(v2)
    a = v2.plan.by_call()["V1-A"]
    assert (a.berth_id, a.arrival, a.berth_start) == ("A2", t(2), t(3))
    assert live.state.now == t(3)  # an actual moves the clock
    live.submit(ev({"event_id": "upd", "type": "handling_update", "call_id": "V1-A", "remaining_hours": 9}))
    v3 = live.replan()
    assert v3 is not None and v3.plan.by_call()["V1-A"].berth_end == t(12)
    clean(v3)
    live.submit(
        ev(
            {"event_id": "atd", "type": "actual_departure", "call_id": "V1-A", "time": at(11)},
            {"event_id": "ata-b", "type": "actual_arrival", "call_id": "V1-B", "time": at(30)},
        )
    )
    v4 = live.replan()
    assert v4 is not None
    clean(v4)
    assert [h.call_id for h in v4.history] == ["V1-A"]
    assert v4.history[0].berth_end == t(11)
    assert v4.plan.by_call()["V1-B"].arrival == t(30)
    assert v4.plan.by_call()["V1-B"].berth_start >= t(30)


def test_calls_in_the_frozen_window_are_pinned_and_nothing_berths_before_now(live0: LivePlan) -> None:
    v1 = live0.current
    first = min(v1.plan.calls, key=lambda c: c.berth_start)
    later = [c for c in v1.plan.calls if c.berth_start > first.berth_start + (t(2) - t(0))]
    state = apply_events(
        live0.state, ev({"event_id": "c", "type": "clock", "now": first.berth_start.isoformat()})
    ).state
    view = planning_view(state, {a.call_id: a for a in v1.timeline()}, set())
    calls = view.problem.call_map()
    assert calls[first.call_id].frozen is not None
    for c in later:
        assert calls[c.call_id].frozen is None
        es = calls[c.call_id].earliest_start
        assert es is not None and es >= state.now


def test_a_closure_moves_the_calls_it_meets_and_lifting_it_lets_them_back(live0: LivePlan) -> None:
    live = fresh(live0)
    busy = live.current.plan.by_call()["V2-A"]
    live.submit(
        ev(
            {
                "event_id": "storm",
                "type": "closure",
                "port_id": "KZAAU",
                "start": at(0),
                "end": (busy.berth_end).isoformat(),
                "reason": "storm",
            }
        )
    )
    v2 = live.replan()
    assert v2 is not None
    clean(v2)
    assert v2.plan.by_call()["V2-A"].berth_start >= busy.berth_end
    live.submit(ev({"event_id": "calm", "type": "closure_lifted", "closure_event_id": "storm"}))
    v3 = live.replan()
    assert v3 is not None
    clean(v3)
    assert v3.plan.by_call()["V2-A"].berth_start < busy.berth_end


def test_calls_added_and_cancelled_and_maintenance(live0: LivePlan) -> None:
    live = fresh(live0)
    live.submit(
        ev(
            {
                "event_id": "add",
                "type": "call_added",
                "call": call("V3-A", "V3", "KZAAU", 3),
                "after_call_id": "V3-B",
            },
            {"event_id": "drop", "type": "call_cancelled", "call_id": "V2-A"},
            {"event_id": "mnt", "type": "maintenance", "berth_id": "B1", "start": at(0), "end": at(26)},
            {"event_id": "grain", "type": "cargo_ready", "call_id": "V1-A", "time": at(10)},
        )
    )
    v2 = live.replan()
    assert v2 is not None
    clean(v2)
    plan = v2.plan.by_call()
    assert "V2-A" not in v2.problem.call_map() and v2.cancelled == ["V2-A"]
    assert plan["V3-A"].berth_start >= plan["V3-B"].berth_end
    assert plan["V3-B"].berth_start >= t(26) and plan["V1-A"].berth_start >= t(10)


def test_replaying_the_event_log_from_version_1_gives_the_same_versions(live0: LivePlan) -> None:
    live = fresh(live0)
    batches = [
        ev({"event_id": "e1", "type": "eta", "call_id": "V2-A", "eta": at(5)}),
        ev(
            {"event_id": "e2", "type": "clock", "now": at(4)},
            {"event_id": "e3", "type": "eta", "call_id": "V3-B", "eta": at(15)},
        ),
    ]
    for b in batches:
        live.submit(b)
        live.replan()
    again = replay(live0.current, live0.state, batches, FAST)
    assert [v.plan.calls for v in again] == [v.plan.calls for v in live.versions]
    assert [v.plan.unserved for v in again] == [v.plan.unserved for v in live.versions]


def test_a_later_version_says_which_unserved_calls_are_proven(live0: LivePlan) -> None:
    # V3 reaches Alat at 20 h: an added Aktau call after it, due out by 10 h, cannot be served by
    # any plan of the version's problem (its own window is too short), and the version says so.
    live = fresh(live0)
    added = call("V3-A", "V3", "KZAAU", 3, latest_departure=at(10))
    live.submit(ev({"event_id": "add", "type": "call_added", "call": added, "after_call_id": "V3-B"}))
    v2 = live.replan()
    assert v2 is not None
    clean(v2)
    [left] = v2.plan.unserved
    assert (left.call_id, left.kind, left.rule) == ("V3-A", "proven", "window_too_short")
    assert v2.plan.solver is not None and v2.plan.solver.proven_unserved_calls == 1


# -- any stream of events: every accepted batch gives a clean version -----------------------------


@st.composite
def streams(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    calls = ["V1-A", "V1-B", "V2-A", "V3-B"]
    batches = []
    now = 0.0
    for b in range(draw(st.integers(1, 3))):
        batch = []
        for k in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["eta", "clock", "closure", "maintenance", "cargo", "cancel", "ata"]))
            eid = f"b{b}-{k}"
            h = draw(st.floats(0, 60))
            if kind == "eta":
                batch.append(
                    {"event_id": eid, "type": "eta", "call_id": draw(st.sampled_from(calls)), "eta": at(h)}
                )
            elif kind == "clock":
                now += draw(st.floats(0.5, 12))
                batch.append({"event_id": eid, "type": "clock", "now": at(now)})
            elif kind == "closure":
                batch.append(
                    {
                        "event_id": eid,
                        "type": "closure",
                        "port_id": draw(st.sampled_from(["KZAAU", "AZBAK", None])),
                        "start": at(h),
                        "end": at(h + draw(st.floats(1, 30))),
                    }
                )
            elif kind == "maintenance":
                batch.append(
                    {
                        "event_id": eid,
                        "type": "maintenance",
                        "berth_id": draw(st.sampled_from(["A1", "A2", "B1"])),
                        "start": at(h),
                        "end": at(h + draw(st.floats(1, 20))),
                    }
                )
            elif kind == "cargo":
                batch.append(
                    {
                        "event_id": eid,
                        "type": "cargo_ready",
                        "call_id": draw(st.sampled_from(calls)),
                        "time": at(h),
                    }
                )
            elif kind == "cancel":
                batch.append(
                    {"event_id": eid, "type": "call_cancelled", "call_id": draw(st.sampled_from(calls))}
                )
            else:
                batch.append(
                    {
                        "event_id": eid,
                        "type": "actual_arrival",
                        "call_id": draw(st.sampled_from(calls)),
                        "time": at(h),
                    }
                )
        batches.append(batch)
    return batches


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=streams())
def test_every_accepted_batch_gives_a_clean_version_and_a_refused_one_changes_nothing(
    live0: LivePlan, stream: list[list[dict[str, Any]]]
) -> None:
    live = LivePlan(
        live0.state,
        list(live0.versions),
        ReplanSettings(first_time_limit_s=1, first_workers=1, replan_time_limit_s=0.3, rings=1),
    )
    for batch in stream:
        before: LiveState = live.state
        try:
            live.submit(ev(*batch))
        except EventsRefused:
            assert live.state is before and live.pending == []
            continue
        v = live.replan()
        assert v is not None
        clean(v)


def test_the_live_chart_counts_history_and_plan_together(live0: LivePlan) -> None:
    from optimizer.gantt.live import live_chart

    live = fresh(live0)
    a = live.current.plan.by_call()["V1-A"]
    live.submit(
        ev(
            {
                "event_id": "atb",
                "type": "actual_berthing",
                "call_id": "V1-A",
                "berth_id": a.berth_id,
                "time": a.berth_start.isoformat(),
            },
            {
                "event_id": "atd",
                "type": "actual_departure",
                "call_id": "V1-A",
                "time": a.berth_end.isoformat(),
            },
            {
                "event_id": "ata",
                "type": "actual_arrival",
                "call_id": "V1-B",
                "time": live.current.plan.by_call()["V1-B"].arrival.isoformat(),
            },
        )
    )
    v = live.replan()
    assert v is not None and [h.call_id for h in v.history] == ["V1-A"]
    _, plan, marks = live_chart(v, live.state.problem)
    assert plan.kpis is not None and v.plan.kpis is not None
    assert plan.kpis.calls == len(v.plan.calls) + 1 and "V1-A" in marks.actual
    assert plan.kpis.total_dwell_hours > v.plan.kpis.total_dwell_hours
