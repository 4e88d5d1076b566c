"""The simulator: actuals that follow the plan in force and that the live plan accepts, and a
whole small replay that ends with every call departed and every version checker-clean."""

from __future__ import annotations

from datetime import timedelta

from optimizer.checker import check
from optimizer.live.baselines import FcfsLivePlan
from optimizer.live.events import (
    EVENTS,
    ActualArrival,
    ActualBerthing,
    ActualDeparture,
    CallCancelled,
    ClosureEvent,
)
from optimizer.live.live_plan import LivePlan
from optimizer.live.replaying import EventLine, realized_kpis, run_replay
from optimizer.live.simulate import actuals_due, all_departed, final_facts_problem, seeded_delay
from optimizer.live.state import apply_events
from tests.builders import at, call, t
from tests.live_tiny import SETTINGS, tiny, tiny_stream


def test_actuals_follow_the_plan_in_time_order_and_are_accepted() -> None:
    live = LivePlan.create(tiny(), SETTINGS)
    v1 = live.current
    events = actuals_due(live.state, v1, t(96))
    planned = v1.plan.by_call()
    assert len(events) == 3 * len(planned)
    for e in events:
        p = planned[e.call_id]
        if isinstance(e, ActualArrival):
            assert e.time == p.arrival and e.event_id == f"sim-ata-{e.call_id}"
        elif isinstance(e, ActualBerthing):
            assert (e.time, e.berth_id) == (p.berth_start, p.berth_id)
            assert e.event_id == f"sim-atb-{e.call_id}"
        else:
            assert isinstance(e, ActualDeparture) and e.time == p.berth_end
    times = [e.time for e in events if not isinstance(e, CallCancelled)]
    assert times == sorted(times)
    state = apply_events(live.state, events).state
    assert all_departed(state)
    assert actuals_due(state, v1, t(96)) == []  # nothing twice


def test_only_what_is_due_and_late_berthing_shifts_the_departure() -> None:
    live = LivePlan.create(tiny(), SETTINGS)
    v1 = live.current
    late = seeded_delay(7, share=1.0)
    events = actuals_due(live.state, v1, t(96), late)
    state = apply_events(live.state, events).state  # accepted: berths free, voyages in order
    planned = v1.plan.by_call()
    for cid, a in state.actuals.items():
        p = planned[cid]
        assert a.berthing is not None and a.departure is not None
        assert a.berthing >= p.berth_start + timedelta(minutes=10)
        assert a.departure - a.berthing == p.berth_end - p.berth_start
    first_end = min(p.berth_end for p in planned.values())
    early = actuals_due(live.state, v1, first_end - timedelta(minutes=1))
    assert not any(isinstance(e, ActualDeparture) for e in early)
    assert all(e.time <= first_end for e in early if not isinstance(e, CallCancelled))


def test_seeded_delay_is_deterministic_and_about_a_fifth() -> None:
    d = seeded_delay(3)
    ids = [f"C{i}" for i in range(1000)]
    delays = [d(c) for c in ids]
    assert delays == [seeded_delay(3)(c) for c in ids]
    late = [x for x in delays if x]
    assert 150 <= len(late) <= 250
    assert all(timedelta(minutes=10) <= x <= timedelta(minutes=60) for x in late)


def test_a_small_replay_ends_with_every_call_departed_and_every_version_clean() -> None:
    lines = [EventLine(i + 1, e) for i, e in enumerate(tiny_stream())]
    run = run_replay(tiny(), lines, SETTINGS, seeded_delay(0))
    assert run.failed_checks == []
    assert all_departed(run.live.state)
    for v in run.live.versions:
        assert check(v.problem, v.plan).ok, v.number
    assert len(run.event_steps) == len(lines)
    k = realized_kpis(run.live.state)
    assert k.calls == 5 and k.total_dwell_hours > 0
    fcfs = run_replay(tiny(), lines, SETTINGS, seeded_delay(0), make=FcfsLivePlan.create)
    assert fcfs.failed_checks == [] and all_departed(fcfs.live.state)
    assert all(check(v.problem, v.plan).ok for v in fcfs.live.versions)


def test_final_facts_fold_etas_closures_and_cancellations() -> None:
    live = LivePlan.create(tiny(), SETTINGS)
    storm = ClosureEvent(event_id="storm", port_id="AZBAK", start=t(20), end=t(26))
    eta = tiny_stream()[0]
    state = apply_events(live.state, [eta, storm, CallCancelled(event_id="x", call_id="C3")]).state
    p = final_facts_problem(state)
    assert "C3" not in p.call_map()
    assert next(v for v in p.voyages if v.vessel_id == "V3").eta == t(5)
    assert any(c.start == t(20) for c in p.port("AZBAK").closures)
    assert all(c.frozen is None for c in p.calls) and p.previous_plan is None


def test_a_search_holding_every_call_ends_with_its_start_plan() -> None:
    """A replan can hold every call (an event about calls already fixed): the large-problem search
    then has no call to free and must not fail (it picked a port from an empty list)."""
    from optimizer.baseline import fcfs
    from optimizer.domain import FrozenAssignment
    from optimizer.params import SearchParameters, SolveOptions
    from optimizer.solver import solve

    p = tiny()
    plan = {a.call_id: a for a in fcfs(p)}
    held = p.model_copy(update={"calls": [c.model_copy(update={"frozen": FrozenAssignment(
        berth_id=plan[c.id].berth_id, berth_start=plan[c.id].berth_start, berth_end=plan[c.id].berth_end,
        arrival=plan[c.id].arrival)}) for c in p.calls]})
    result = solve(held, SolveOptions(time_limit_s=1.0, workers=1),
                   params=SearchParameters(full_model_calls=0))
    assert result.has_plan and len(result.assignments) == len(p.calls)


def test_applying_a_batch_leaves_the_state_before_as_it_was() -> None:
    """The state is copied on write (optimizer.live.state._Apply): every kind of event, applied,
    changes the new state only; the old one dumps to the same JSON as before, and the new one is
    what applying to a deep copy gives."""
    live = LivePlan.create(tiny(), SETTINGS)
    s0 = live.state
    first = EVENTS.validate_python([
        {"event_id": "eta", "type": "eta", "call_id": "C4", "eta": at(4)},
        {"event_id": "storm", "type": "closure", "port_id": "AZBAK", "start": at(20), "end": at(26)},
        {"event_id": "upkeep", "type": "maintenance", "berth_id": "A2", "start": at(30), "end": at(33)},
        {"event_id": "train", "type": "cargo_ready", "call_id": "C3", "time": at(3)},
        {"event_id": "new", "type": "call_added", "call": call("C6", "V2", "AZBAK", 4),
         "after_call_id": "C3"},
        {"event_id": "ata", "type": "actual_arrival", "call_id": "C1", "time": at(1)},
        {"event_id": "atb", "type": "actual_berthing", "call_id": "C1", "berth_id": "A1", "time": at(2)},
        {"event_id": "clock", "type": "clock", "now": at(3)},
    ])
    before = s0.model_dump_json()
    s1 = apply_events(s0, first).state
    assert s0.model_dump_json() == before
    assert s1.model_dump_json() == apply_events(s0.model_copy(deep=True), first).state.model_dump_json()
    assert s1.actual("C1").berth_id == "A1" and "C6" in s1.problem.call_map() and s1.closures
    second = EVENTS.validate_python([
        {"event_id": "lifted", "type": "closure_lifted", "closure_event_id": "storm"},
        {"event_id": "work", "type": "handling_update", "call_id": "C1", "remaining_hours": 2},
        {"event_id": "gone", "type": "call_cancelled", "call_id": "C5"},
        {"event_id": "atb3", "type": "actual_berthing", "call_id": "C3", "berth_id": "A1", "time": at(4)},
        {"event_id": "clock2", "type": "clock", "now": at(5)},
    ])
    after_first = s1.model_dump_json()
    s2 = apply_events(s1, second).state
    assert s1.model_dump_json() == after_first and s0.model_dump_json() == before
    assert s2.model_dump_json() == apply_events(s1.model_copy(deep=True), second).state.model_dump_json()
    assert "C5" in s2.cancelled and not s2.closures and s2.actual("C1").departure == t(4)  # inferred
    assert "departure" in s2.actual("C1").inferred
