"""Live plans take reality as it comes: facts in any order are applied in the order they happened,
facts that contradict the plan's belief are kept and what they imply is inferred (and replaced by
the real report when it comes), estimates that come after the facts are set aside, calls at berth
stay moored through a closure, and a pin of the frozen window gives way where the facts break it.
Every version is held to the facts by tests/live_facts.py, which folds the events on its own."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.generator import generate
from optimizer.live.events import EVENTS, Event
from optimizer.live.live_plan import LivePlan, replay
from optimizer.live.replan import ReplanSettings, Version, planning_view
from optimizer.live.simulate import ReportingWorld
from optimizer.live.state import CallActuals, EventsRefused, ReconciliationKind, apply_events
from optimizer.loading import load_problem
from tests.builders import at, corridor_dict, t
from tests.live_facts import Facts, violations

FAST = ReplanSettings(first_time_limit_s=2, first_workers=1, replan_time_limit_s=0.5, rings=1)


def ev(*items: dict[str, Any]) -> list[Event]:
    return EVENTS.validate_python(list(items))


def atb(eid: str, cid: str, berth: str, h: float) -> dict[str, Any]:
    return {"event_id": eid, "type": "actual_berthing", "call_id": cid, "berth_id": berth, "time": at(h)}


def atd(eid: str, cid: str, h: float) -> dict[str, Any]:
    return {"event_id": eid, "type": "actual_departure", "call_id": cid, "time": at(h)}


def ata(eid: str, cid: str, h: float) -> dict[str, Any]:
    return {"event_id": eid, "type": "actual_arrival", "call_id": cid, "time": at(h)}


@pytest.fixture(scope="module")
def live0() -> LivePlan:
    return LivePlan.create(load_problem(corridor_dict()), FAST)


class Run:
    """A live plan and the tests' own fold of its facts, version by version."""

    def __init__(self, live0: LivePlan):
        self.live = LivePlan(live0.state, list(live0.versions), FAST)
        self.facts = Facts.start(live0.state.problem)

    def post(self, *items: dict[str, Any]) -> Version:
        batch = ev(*items)
        self.live.submit(batch)
        v = self.live.replan()
        assert v is not None
        self.facts.apply(batch)
        assert violations(self.facts, v) == []
        return v

    def actual(self, cid: str) -> CallActuals:
        return self.live.state.actual(cid)


def kinds(v: Version) -> list[tuple[ReconciliationKind, str | None]]:
    return [(r.kind, r.call_id) for r in v.reconciliations]


def test_a_berthing_listed_before_the_departure_that_freed_the_berth_is_applied_after_it(
        live0: LivePlan) -> None:
    one, two = Run(live0), Run(live0)
    for r in (one, two):
        r.post(atb("b-v2", "V2-A", "A1", 3))
    one.post(atb("b-v1", "V1-A", "A1", 11), atd("d-v2", "V2-A", 11))
    two.post(atd("d-v2", "V2-A", 11), atb("b-v1", "V1-A", "A1", 11))
    assert one.live.state.actuals == two.live.state.actuals
    assert one.actual("V2-A").departure == t(11) and one.actual("V2-A").inferred == []
    assert one.live.current.reconciliations == []


def test_a_departure_reported_a_batch_after_the_next_berthing_is_inferred_then_replaced(
        live0: LivePlan) -> None:
    run = Run(live0)
    run.post(atb("b-v2", "V2-A", "A1", 3))
    v = run.post(atb("b-v1", "V1-A", "A1", 11))
    assert run.actual("V2-A").departure == t(11) and run.actual("V2-A").inferred == ["departure"]
    assert (ReconciliationKind.INFERRED_DEPARTURE, "V2-A") in kinds(v)
    assert {a.call_id: a for a in v.timeline()}["V2-A"].berth_end == t(11)
    v = run.post(atd("d-v2", "V2-A", 10.5))
    assert run.actual("V2-A").departure == t(10.5) and run.actual("V2-A").inferred == []
    assert (ReconciliationKind.REPLACED_INFERRED, "V2-A") in kinds(v)
    assert {a.call_id: a for a in v.timeline()}["V2-A"].berth_end == t(10.5)


def test_a_departure_reported_before_its_berthing_is_kept_at_the_planned_berth_until_reported(
        live0: LivePlan) -> None:
    run = Run(live0)
    planned = run.live.current.plan.by_call()["V2-A"]
    leave = (planned.berth_end - t(0)) / timedelta(hours=1)
    v = run.post(atd("d-v2", "V2-A", leave))
    assert kinds(v) == [(ReconciliationKind.BERTHING_PENDING, "V2-A")]
    h = {a.call_id: a for a in v.timeline()}["V2-A"]
    assert (h.berth_id, h.berth_end) == (planned.berth_id, planned.berth_end)
    other = "A2" if planned.berth_id == "A1" else "A1"
    v = run.post(atb("b-v2", "V2-A", other, leave - 8))
    h = {a.call_id: a for a in v.timeline()}["V2-A"]
    assert (h.berth_id, h.berth_start, h.berth_end) == (other, planned.berth_end - timedelta(hours=8),
                                                        planned.berth_end)


def test_an_arrival_at_the_next_port_means_the_vessel_left_the_one_before(live0: LivePlan) -> None:
    run = Run(live0)
    run.post(atb("b-v1", "V1-A", "A2", 3))
    v = run.post(ata("a-v1b", "V1-B", 30))
    left = run.actual("V1-A").departure
    # the latest it could have left: 255 nm at its top speed of 14 kn before the arrival
    assert left == t(30) - timedelta(hours=255 / 14) and run.actual("V1-A").inferred == ["departure"]
    assert (ReconciliationKind.INFERRED_DEPARTURE, "V1-A") in kinds(v)
    assert v.plan.by_call()["V1-B"].arrival == t(30)


def test_a_vessel_at_another_berth_than_planned_is_kept_there_and_the_plan_moves_around_it(
        live0: LivePlan) -> None:
    run = Run(live0)
    planned = run.live.current.plan.by_call()["V2-A"]
    other = "A2" if planned.berth_id == "A1" else "A1"
    v = run.post(atb("b-v2", "V2-A", other, planned.berth_start.hour + 0.25))
    assert v.plan.by_call()["V2-A"].berth_id == other


def test_a_call_left_unserved_that_berths_anyway_is_kept(live0: LivePlan) -> None:
    run = Run(live0)
    run.post({"event_id": "cut", "type": "cargo_ready", "call_id": "V3-B", "time": at(119)})
    v = run.post(atb("b-v3", "V3-B", "B1", 25))
    assert v.plan.by_call()["V3-B"].berth_start == t(25)


def test_estimates_that_come_after_the_facts_are_set_aside_not_refused(live0: LivePlan) -> None:
    run = Run(live0)
    run.post(ata("a-v2", "V2-A", 3), atb("b-v2", "V2-A", "A1", 4), atd("d-v2", "V2-A", 12))
    before = run.live.state.problem
    v = run.post(
        {"event_id": "late-eta", "type": "eta", "call_id": "V2-A", "eta": at(9)},
        {"event_id": "late-ready", "type": "cargo_ready", "call_id": "V2-A", "time": at(9)},
        {"event_id": "late-cancel", "type": "call_cancelled", "call_id": "V2-A"},
        {"event_id": "late-work", "type": "handling_update", "call_id": "V2-A", "remaining_hours": 3},
    )
    assert [k for k, _ in kinds(v)] == [ReconciliationKind.SET_ASIDE] * 4
    assert run.live.state.problem == before
    assert v.event_ids == ["late-eta", "late-ready", "late-cancel", "late-work"]


def test_a_vessel_seen_at_its_next_call_first_passed_the_one_before(live0: LivePlan) -> None:
    run = Run(live0)
    v = run.post(ata("a-v1b", "V1-B", 30))
    assert (ReconciliationKind.PASSED, "V1-A") in kinds(v) and v.cancelled == ["V1-A"]
    late = run.post(atb("b-v1a", "V1-A", "A1", 3))  # its report comes after: kept in the log, set aside
    assert kinds(late) == [(ReconciliationKind.SET_ASIDE, "V1-A")]


def test_the_clock_never_goes_back_behind_a_clock_event_but_may_lag_an_actual(live0: LivePlan) -> None:
    run = Run(live0)
    run.post({"event_id": "c1", "type": "clock", "now": at(10)})
    with pytest.raises(EventsRefused) as info:
        run.live.submit(ev({"event_id": "c0", "type": "clock", "now": at(4)}))
    assert [i.loc for i in info.value.issues] == [["events", 0, "now"]]
    run.post(atb("b-v2", "V2-A", "A1", 12))
    run.post({"event_id": "c2", "type": "clock", "now": at(11)})
    assert run.live.state.now == t(12)


def test_a_call_at_berth_stays_moored_through_a_closure_announced_after_it_berthed(
        live0: LivePlan) -> None:
    run = Run(live0)
    run.post(atb("b-v2", "V2-A", "A1", 3))  # 8 h of handling: done at 11
    v = run.post({"event_id": "storm", "type": "closure", "port_id": "KZAAU", "start": at(10),
                  "end": at(20), "reason": "storm"})
    assert v.plan.by_call()["V2-A"].berth_end == t(20)
    v = run.post({"event_id": "calm", "type": "closure_lifted", "closure_event_id": "storm"})
    assert v.plan.by_call()["V2-A"].berth_end == t(11)


def test_a_pin_of_the_frozen_window_gives_way_when_the_vessel_before_overstays(live0: LivePlan) -> None:
    v1 = live0.current
    plan = v1.plan.by_call()
    a, b = plan["V1-A"], plan["V1-B"]
    hours = (a.berth_start - t(0)) / timedelta(hours=1)
    state = apply_events(live0.state, ev(atb("b", "V1-A", a.berth_id, hours))).state
    # V1-A is still at berth an hour before V1-B's planned berthing: V1-B cannot keep its place
    late = b.berth_start - timedelta(hours=1)
    state = apply_events(state, ev({"event_id": "c", "type": "clock", "now": late.isoformat()})).state
    view = planning_view(state, {x.call_id: x for x in v1.timeline()}, set())
    assert view.problem.call_map()["V1-B"].frozen is None and "V1-B" not in view.fixed


def test_replaying_the_log_gives_the_same_versions_and_reconciliations(live0: LivePlan) -> None:
    run = Run(live0)
    batches = [ev(atb("b-v2", "V2-A", "A1", 3)), ev(atb("b-v1", "V1-A", "A1", 11)),
               ev(atd("d-v2", "V2-A", 10.5))]
    for b in batches:
        run.live.submit(b)
        run.live.replan()
    again = replay(live0.current, live0.state, batches, FAST)
    assert [(v.plan.calls, v.reconciliations) for v in again] == [
        (v.plan.calls, v.reconciliations) for v in run.live.versions]


# -- streams as ports send them: shuffled, late, duplicated, every event type ----------------------


def play(seed: int, calls: int = 18, steps: int = 10) -> tuple[int, list[str]]:
    """Play a seeded reporting world (optimizer.live.simulate.ReportingWorld: shuffled, late,
    duplicated, at other berths, every event type) against a live plan, holding every version to
    the facts; (rounds accepted, every fact a version broke and every refusal)."""
    rng = random.Random(seed)
    live = LivePlan.create(generate(calls, 4, seed, links=True), FAST)
    world = ReportingWorld(seed)
    facts = Facts.start(live.state.problem)
    bad = [f"v1: {x}" for x in violations(facts, live.current)]
    now = live.state.now
    accepted = 0
    for step in range(steps):
        now += timedelta(hours=rng.uniform(1, 9))
        batch = world.reports(live.state, live.current, now)
        try:
            live.submit(batch)
        except EventsRefused as exc:
            bad.append(f"step {step}: refused {[(i.loc, i.msg) for i in exc.issues]}")
            continue
        accepted += 1
        world.accepted(batch)
        v = live.replan()
        if v is None:
            continue
        facts.apply(batch)
        bad += [f"v{v.number}: {x}" for x in violations(facts, v)]
    return accepted, bad


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_every_batch_a_port_sends_is_accepted_and_every_version_keeps_the_facts(seed: int) -> None:
    accepted, bad = play(seed)
    assert bad == []
    assert accepted == 10
