"""Every move a version makes names its cause: small live plans where the cause is known by
construction (an ETA delay, the call behind it on the berth, the vessel's next call, a linked
call, a closure and its lifting, the clock, a move the search makes freely), and the week's
stream, where every change has a cause and no forced move claims `search`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.live.store import _notify
from api.live.webhooks import CallMoved, EventKind
from optimizer.live.causes import MoveCause
from optimizer.live.events import EVENTS, Event
from optimizer.live.live_plan import LivePlan
from optimizer.live.replan import ReplanSettings, Version, VersionChange
from optimizer.live.replaying import read_event_file, run_replay
from optimizer.loading import load_problem, load_problem_file
from tests.builders import at, berth, call, port, problem_dict, t, vessel, voyage

FAST = ReplanSettings(first_time_limit_s=2, first_workers=1, replan_time_limit_s=0.6)
CASPIAN = Path(__file__).resolve().parents[1] / "instances" / "caspian"


def ev(*items: dict[str, Any]) -> list[Event]:
    return EVENTS.validate_python(list(items))


def chain() -> LivePlan:
    """Aktau has one berth A1, Baku one berth B1 (255 nm, 18.2 h at 14 kn). V1 calls at Aktau
    (C1, 6 h) then Baku (C2); V2's D1 (4 h) arrives at Aktau as C1 leaves; V3's L1 at Baku is
    linked to start at least 2 h after C1 ends."""
    d = problem_dict(
        [port("KZAAU", [berth("A1")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1"), vessel("V2"), vessel("V3")],
        [call("C1", "V1", "KZAAU", 6), call("C2", "V1", "AZBAK", 5),
         call("D1", "V2", "KZAAU", 4), call("L1", "V3", "AZBAK", 3)],
        [voyage("V1", 0, "C1", "C2"), voyage("V2", 6, "D1"), voyage("V3", 8, "L1")],
        days=3,
        links=[{"before": "C1", "after": "L1", "min_gap_hours": 2, "reason": "transshipment"}],
    )
    return LivePlan.create(load_problem(d), FAST)


def changes_of(v: Version) -> dict[str, VersionChange]:
    return {c.call_id: c for c in v.changes}


def consistent(v: Version) -> None:
    """Every change has a cause and a reason; forced moves never claim the search; the summary
    adds up."""
    assert v.moves is not None
    for c in v.changes:
        assert c.cause is not None and c.reason, c
        assert c.forced is not None
        if c.forced:
            assert c.cause != MoveCause.SEARCH, c
    assert sum(v.moves.by_cause.values()) == len(v.changes) == v.moves.forced + v.moves.chosen


@pytest.fixture(scope="module")
def chain0() -> LivePlan:
    live = chain()
    by = live.current.plan.by_call()
    assert (by["C1"].berth_start, by["D1"].berth_start) == (t(0), t(6))  # what the tests build on
    assert by["L1"].berth_start == t(8)
    return live


@pytest.fixture(scope="module")
def delayed(chain0: LivePlan) -> Version:
    live = LivePlan(chain0.state, list(chain0.versions), FAST)
    live.submit(ev({"event_id": "eta-v1", "type": "eta", "call_id": "C1", "eta": at(3)}))
    v = live.replan()
    assert v is not None
    consistent(v)
    return v


def test_an_eta_delay_moves_its_call_for_the_event(delayed: Version) -> None:
    c1 = changes_of(delayed)["C1"]
    assert c1.cause == MoveCause.EVENT and c1.forced
    assert c1.cause_event_ids == ["eta-v1"] and c1.caused_by == ["eta-v1"]
    assert "eta-v1" in (c1.reason or "") and "+05:00" in (c1.reason or "")  # Aktau's offset


def test_the_call_behind_it_on_the_berth_moves_because_the_berth_is_taken(delayed: Version) -> None:
    d1 = changes_of(delayed)["D1"]
    assert d1.cause == MoveCause.BERTH_TAKEN and d1.forced and d1.cause_call_id == "C1"
    assert "A1" in (d1.reason or "") and "itself moved: event" in (d1.reason or "")


def test_the_vessels_next_call_moves_for_its_previous_leg(chain0: LivePlan) -> None:
    """C1 now arrives at 25 and leaves at 31: V1 reaches Baku at 49.2 at the earliest, after any
    start version 1 could give C2 without waiting (C1's end at 6 plus the leg at 6 kn: 48.5)."""
    c2_before = chain0.current.plan.by_call()["C2"]
    assert c2_before.berth_start == c2_before.arrival <= t(48.5)
    live = LivePlan(chain0.state, list(chain0.versions), FAST)
    live.submit(ev({"event_id": "eta-late", "type": "eta", "call_id": "C1", "eta": at(25)}))
    v = live.replan()
    assert v is not None
    consistent(v)
    c2 = changes_of(v)["C2"]
    assert c2.cause == MoveCause.PREVIOUS_LEG and c2.forced and c2.cause_call_id == "C1"
    assert c2.caused_by == ["eta-late"] and c2.cause_event_ids == []  # named by the ETA, moved by the leg
    assert "+04:00" in (c2.reason or "")  # Baku's offset


def test_a_linked_call_moves_for_its_link(delayed: Version) -> None:
    l1 = changes_of(delayed)["L1"]
    assert l1.cause == MoveCause.LINK and l1.forced and l1.cause_call_id == "C1"
    assert delayed.plan.by_call()["L1"].berth_start >= t(11)


def test_a_closure_over_a_call_and_its_lifting(chain0: LivePlan) -> None:
    live = LivePlan(chain0.state, list(chain0.versions), FAST)
    live.submit(ev({"event_id": "storm", "type": "closure", "port_id": "KZAAU", "start": at(5),
                    "end": at(8), "reason": "storm"}))
    v2 = live.replan()
    assert v2 is not None
    consistent(v2)
    d1 = changes_of(v2)["D1"]
    assert d1.cause == MoveCause.CLOSURE and d1.forced and d1.cause_event_ids == ["storm"]
    assert d1.cause_window is not None and (d1.cause_window.start, d1.cause_window.end) == (t(5), t(8))
    assert not d1.cause_window.lifted and "storm" in (d1.reason or "")
    assert v2.plan.by_call()["D1"].berth_start >= t(8)
    live.submit(ev({"event_id": "calm", "type": "closure_lifted", "closure_event_id": "storm"}))
    v3 = live.replan()
    assert v3 is not None
    consistent(v3)
    back = changes_of(v3)["D1"]
    assert v3.plan.by_call()["D1"].berth_start < t(8)
    assert back.cause == MoveCause.CLOSURE and not back.forced and back.cause_event_ids == ["calm"]
    assert back.cause_window is not None and back.cause_window.lifted


def test_a_call_the_clock_passed_without_berthing_moves_for_now(chain0: LivePlan) -> None:
    live = LivePlan(chain0.state, list(chain0.versions), FAST)
    live.submit(ev({"event_id": "tick", "type": "clock", "now": at(1)}))  # C1 planned at 0, no ATB
    v = live.replan()
    assert v is not None
    consistent(v)
    c1 = changes_of(v)["C1"]
    assert c1.cause == MoveCause.NOW and c1.forced and v.plan.by_call()["C1"].berth_start >= t(1)


def test_a_move_the_search_makes_freely_says_search_with_the_gain() -> None:
    """X (4 h) berths at 2 and W (2 h, ETA 5) waits for it until 6. X's ETA moves to 0: the
    repair keeps W where it was; the search moves W up to its ETA, for less dwell."""
    d = problem_dict([port("KZAAU", [berth("A1")])], [vessel("V1"), vessel("V2")],
                     [call("X", "V1", "KZAAU", 4), call("W", "V2", "KZAAU", 2)],
                     [voyage("V1", 2, "X"), voyage("V2", 5, "W")], days=2)
    live = LivePlan.create(load_problem(d), FAST)
    assert live.current.plan.by_call()["W"].berth_start == t(6)
    live.submit(ev({"event_id": "eta-x", "type": "eta", "call_id": "X", "eta": at(0)}))
    v = live.replan()
    assert v is not None
    consistent(v)
    w = changes_of(v)["W"]
    assert w.cause == MoveCause.SEARCH and not w.forced and w.caused_by == []
    assert v.plan.by_call()["W"].berth_start == t(5)
    assert v.moves is not None and v.moves.search is not None
    assert v.moves.search.gain > 0 and v.moves.search.dwell_hours_saved > 0
    assert f"{v.moves.search.gain:.0f}" in (w.reason or "")
    assert changes_of(v)["X"].cause == MoveCause.EVENT


def test_call_moved_webhooks_carry_the_cause(delayed: Version) -> None:
    sent: list[tuple[EventKind, Any]] = []

    class Hooks:
        def enqueue(self, plan_id: str, kind: EventKind, data: Any, session: Any = None) -> None:
            sent.append((kind, data))

    _notify(Hooks(), None, "lp-1", delayed, None)  # type: ignore[arg-type]
    moved = {d.call_id: d for k, d in sent if k == EventKind.CALL_MOVED and isinstance(d, CallMoved)}
    assert moved["D1"].cause == MoveCause.BERTH_TAKEN and moved["D1"].cause_call_id == "C1"
    assert moved["D1"].forced and moved["D1"].reason == changes_of(delayed)["D1"].reason
    assert moved["C1"].cause_event_ids == ["eta-v1"]


def test_every_change_of_the_weeks_replay_has_a_cause() -> None:
    """The week's first 30 event lines (ETA updates, clocks with simulated actuals, the storm
    over Baku and Kuryk)."""
    problem = load_problem_file(CASPIAN / "week.json")
    lines = read_event_file(CASPIAN / "week-events.jsonl")[:30]
    settings = ReplanSettings(first_time_limit_s=3, first_workers=1, replan_time_limit_s=0.3)
    run = run_replay(problem, lines, settings, drain=False)
    counts: dict[MoveCause, int] = {}
    for v in run.live.versions[1:]:
        consistent(v)
        for c in v.changes:
            counts[c.cause or MoveCause.SEARCH] = counts.get(c.cause or MoveCause.SEARCH, 0) + 1
            if c.cause in {MoveCause.BERTH_TAKEN, MoveCause.LINK, MoveCause.PREVIOUS_LEG}:
                assert c.cause_call_id is not None
            if c.cause in {MoveCause.EVENT, MoveCause.CLOSURE, MoveCause.MAINTENANCE}:
                assert c.cause_event_ids
    assert counts.get(MoveCause.CLOSURE, 0) > 0 and counts.get(MoveCause.PREVIOUS_LEG, 0) > 0
    storm = next(v for v in run.live.versions if "storm-AZBAK" in v.event_ids)
    assert storm.moves is not None and storm.moves.forced > 5
