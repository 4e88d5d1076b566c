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

from optimizer.domain import berth_fits
from optimizer.generator import generate
from optimizer.live.events import EVENTS, ActualBerthing, ActualDeparture, Clock, Event
from optimizer.live.live_plan import LivePlan, replay
from optimizer.live.replan import ReplanSettings, Version, planning_view
from optimizer.live.simulate import actuals_due, seeded_delay
from optimizer.live.state import CallActuals, EventsRefused, ReconciliationKind, apply_events
from optimizer.loading import load_problem
from tests.builders import at, call, corridor_dict, t
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


def _announcements(live: LivePlan, rng: random.Random, step: int, now_h: float) -> list[dict[str, Any]]:
    state = live.state
    p = state.problem
    ahead = [c for c in p.calls if state.actual(c.id).arrival is None and state.actual(c.id).berthing is None]
    out: list[dict[str, Any]] = []
    for k in range(rng.randint(0, 3)):
        eid = f"s{step}-{k}"
        kind = rng.choice(["eta", "closure", "lift", "maintenance", "cargo", "handling", "add", "cancel"])
        if kind == "eta" and ahead:
            c = rng.choice(ahead)
            out.append({"event_id": eid, "type": "eta", "call_id": c.id,
                        "eta": at(now_h + rng.uniform(0, 30))})
        elif kind == "closure":
            s = now_h + rng.uniform(-2, 20)
            out.append({"event_id": eid, "type": "closure", "port_id": rng.choice([x.id for x in p.ports]),
                        "start": at(s), "end": at(s + rng.uniform(2, 14)), "reason": "storm"})
        elif kind == "lift" and state.closures:
            out.append({"event_id": eid, "type": "closure_lifted",
                        "closure_event_id": rng.choice(sorted(state.closures))})
        elif kind == "maintenance":
            s = now_h + rng.uniform(0, 24)
            out.append({"event_id": eid, "type": "maintenance", "berth_id": rng.choice(sorted(p.berths())),
                        "start": at(s), "end": at(s + rng.uniform(1, 8))})
        elif kind == "cargo" and ahead:
            c = rng.choice(ahead)
            out.append({"event_id": eid, "type": "cargo_ready", "call_id": c.id,
                        "time": at(now_h + rng.uniform(0, 12))})
        elif kind == "handling":
            moored = [cid for cid, a in state.actuals.items() if a.at_berth]
            if moored:
                out.append({"event_id": eid, "type": "handling_update", "call_id": rng.choice(moored),
                            "remaining_hours": rng.uniform(0, 10)})
        elif kind == "add":
            vessel = rng.choice(p.vessels)
            if not any(v.vessel_id == vessel.id for v in p.voyages):
                continue
            last = next(v for v in p.voyages if v.vessel_id == vessel.id).call_ids[-1]
            again = p.call_map()[last]  # the vessel calls there again: a berth it fits is known
            out.append({"event_id": eid, "type": "call_added", "after_call_id": last,
                        "call": call(f"ADD-{step}-{k}", vessel.id, again.port_id, rng.uniform(2, 8),
                                     cargo=again.cargo.value)})
        elif kind == "cancel" and ahead:
            out.append({"event_id": eid, "type": "call_cancelled", "call_id": rng.choice(ahead).id})
    return out


def play(seed: int, calls: int = 18, steps: int = 10, late_share: float = 0.35) -> tuple[int, list[str]]:
    """Play a seeded world against a live plan, as a port's systems would send it: the actuals
    due by each clock while the vessels follow the plan in force (seeded late berthings),
    shuffled within the batch, some departures held back to the next batch, duplicates resent,
    announcements of every kind among them. (batches accepted, every fact a version broke)"""
    rng = random.Random(seed)
    problem = generate(calls, 4, seed, links=True)
    live = LivePlan.create(problem, FAST)
    facts = Facts.start(live.state.problem)
    bad = [f"v1: {x}" for x in violations(facts, live.current)]
    world: dict[str, Event] = {}
    held: list[Event] = []
    sent: list[Event] = []
    delay = seeded_delay(seed, share=0.3)
    now = live.state.now
    accepted = 0
    for step in range(steps):
        now += timedelta(hours=rng.uniform(1, 9))
        state = live.state
        known = dict(state.actuals)
        for e in held:  # the world knows what happened, though its report is late
            if isinstance(e, ActualDeparture) and e.call_id in known:
                known[e.call_id] = known[e.call_id].model_copy(update={"departure": e.time})
        problem_now = state.problem
        due = [e for e in actuals_due(state.model_copy(update={"actuals": known}), live.current, now, delay)
               if e.event_id not in world]
        batch: list[Event] = list(held)
        held = []
        for e in due:
            if isinstance(e, ActualBerthing) and rng.random() < 0.1:  # not where the plan said
                c = problem_now.call_map()[e.call_id]
                vessel = problem_now.vessel_map()[c.vessel_id]
                port = next(x for x in problem_now.ports if x.id == c.port_id)
                other = [b.id for b in port.berths if b.id != e.berth_id and berth_fits(c, vessel, b)]
                if other:
                    e = e.model_copy(update={"berth_id": rng.choice(other)})
            world[e.event_id] = e
            (held if isinstance(e, ActualDeparture) and rng.random() < late_share else batch).append(e)
        batch.append(Clock(event_id=f"clock-{step}", now=now))
        batch += ev(*_announcements(live, rng, step, (now - problem.horizon_start) / timedelta(hours=1)))
        batch += rng.sample(sent, min(len(sent), rng.randint(0, 2)))  # resent duplicates
        rng.shuffle(batch)
        try:
            live.submit(batch)
        except EventsRefused as exc:
            bad.append(f"step {step}: refused {[(i.loc, i.msg) for i in exc.issues]}")
            continue
        accepted += 1
        sent += batch
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
