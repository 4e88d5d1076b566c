"""A live plan's facts: the problem as the events have made it, the clock, and what has really
happened per call. `apply_events` takes a batch whole or refuses it whole, naming every bad
event's index and field; it never plans (optimizer.live.replan does).

The state is plain data that round-trips to JSON, so that a store can keep it per version and a
replay can start from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from optimizer.domain import Call, Closure, Port, Problem, TimeWindow, Voyage, handling_hours
from optimizer.kpis import fmt_time
from optimizer.live.events import (
    EVENT,
    ActualArrival,
    ActualBerthing,
    ActualDeparture,
    CallAdded,
    CallCancelled,
    CargoReady,
    Clock,
    ClosureEvent,
    ClosureLifted,
    Eta,
    Event,
    HandlingUpdate,
    Maintenance,
    event_time,
)
from optimizer.validation import InvalidInput, Issue, validate_problem

DEFAULT_FROZEN_WINDOW_MINUTES = 120.0
#: The horizon grows to cover what events report, with this much room after it.
HORIZON_ROOM = timedelta(days=2)


class EventsRefused(InvalidInput):
    """A batch that cannot be applied: every reason, at events.<index>.<field>."""


class EventConflict(ValueError):
    """An event id already used for an event with another body (HTTP 409)."""

    def __init__(self, event_id: str, index: int):
        self.event_id, self.index = event_id, index
        super().__init__(f"event_id {event_id!r} was already used for another event")


class CallActuals(BaseModel):
    """What has really happened to one call (None: not yet)."""

    model_config = ConfigDict(extra="forbid")

    arrival: AwareDatetime | None = None
    berth_id: str | None = None
    berthing: AwareDatetime | None = None
    departure: AwareDatetime | None = None
    handling_until: AwareDatetime | None = Field(
        default=None, description="Estimated end of work at berth, from the last handling_update.")

    @property
    def at_berth(self) -> bool:
        return self.berthing is not None and self.departure is None


class LiveState(BaseModel):
    """The facts a version is planned from."""

    model_config = ConfigDict(extra="forbid")

    problem: Problem = Field(description="The problem as events made it: ETAs, calls added and "
                             "cancelled, cargo-ready times; closures and maintenance are kept apart.")
    now: AwareDatetime
    frozen_window_minutes: float = Field(default=DEFAULT_FROZEN_WINDOW_MINUTES, ge=0, le=7 * 24 * 60)
    actuals: dict[str, CallActuals] = Field(default_factory=dict)
    reported_etas: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="ETAs reported for later calls of a voyage.")
    closures: dict[str, ClosureEvent] = Field(default_factory=dict, description="Active, by event id.")
    maintenance: dict[str, Maintenance] = Field(default_factory=dict)
    cancelled: list[str] = Field(default_factory=list)
    seen: dict[str, str] = Field(default_factory=dict, description="Event id -> digest of its body.")

    @classmethod
    def start(cls, problem: Problem, now: datetime | None = None,
              frozen_window_minutes: float = DEFAULT_FROZEN_WINDOW_MINUTES) -> LiveState:
        return cls(problem=problem, now=now or problem.horizon_start,
                   frozen_window_minutes=frozen_window_minutes)

    @property
    def frozen_until(self) -> datetime:
        return self.now + timedelta(minutes=self.frozen_window_minutes)

    def actual(self, call_id: str) -> CallActuals:
        return self.actuals.get(call_id) or CallActuals()

    def ports_with_windows(self) -> list[Port]:
        """The problem's ports with the active closure and maintenance events folded in."""
        ports = []
        for port in self.problem.ports:
            extra = [Closure(start=e.start, end=e.end, reason=e.reason or f"closure {e.event_id}")
                     for e in self.closures.values() if e.port_id in (None, port.id)]
            berths = [b.model_copy(update={"unavailable": [*b.unavailable, *(
                TimeWindow(start=m.start, end=m.end, reason=m.reason or f"maintenance {m.event_id}")
                for m in self.maintenance.values() if m.berth_id == b.id)]}) for b in port.berths]
            ports.append(port.model_copy(update={"closures": [*port.closures, *extra], "berths": berths}))
        return ports


def event_digest(e: Event) -> str:
    body = EVENT.dump_python(e, mode="json", exclude_none=True)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def new_events(state: LiveState, events: Sequence[Event]) -> list[Event]:
    """The events of a batch not applied yet (an id seen with the same body is a replay, dropped);
    EventConflict for an id seen with another body."""
    out: list[Event] = []
    batch: dict[str, str] = {}
    for i, e in enumerate(events):
        d = event_digest(e)
        known = state.seen.get(e.event_id) or batch.get(e.event_id)
        if known is not None:
            if known != d:
                raise EventConflict(e.event_id, i)
            continue
        batch[e.event_id] = d
        out.append(e)
    return out


class _Apply:
    """Applies events in order to a copy of the state, collecting every refusal."""

    def __init__(self, state: LiveState):
        self.s = state.model_copy(deep=True)
        self.issues: list[Issue] = []
        self.index = 0
        self.touched: dict[str, list[str]] = {}  # call id -> ids of the events that concern it

    def refuse(self, field: str | tuple[str | int, ...], msg: str, type_: str = "value_error") -> None:
        loc = (field,) if isinstance(field, str) else field
        self.issues.append(Issue(loc=["events", self.index, *loc], msg=msg, type=type_))

    def touch(self, call_id: str, e: Event) -> None:
        self.touched.setdefault(call_id, []).append(e.event_id)

    # -- lookups ---------------------------------------------------------------------------------

    def call(self, call_id: str) -> Call | None:
        c = self.s.problem.call_map().get(call_id)
        if c is None:
            self.refuse("call_id", f"unknown call {call_id!r}" + (
                " (it was cancelled)" if call_id in self.s.cancelled else ""), "unknown_reference")
        return c

    def voyage(self, call_id: str) -> tuple[Voyage, int]:
        return self.s.problem.voyage_order()[call_id]

    def previous_call_open(self, call_id: str) -> str | None:
        """The voyage's previous call when the vessel has not left it."""
        voyage, k = self.voyage(call_id)
        if k == 0:
            return None
        prev = voyage.call_ids[k - 1]
        return None if self.s.actual(prev).departure is not None else prev

    def grow_horizon(self, t: datetime) -> None:
        p = self.s.problem
        if t + HORIZON_ROOM > p.horizon_end:
            self.s.problem = p.model_copy(update={"horizon_end": t + HORIZON_ROOM})

    def advance_clock(self, t: datetime) -> None:
        """An actual is reality: it moves the clock, it is not refused."""
        if t > self.s.now:
            self.s.now = t

    def in_horizon(self, field: str, t: datetime) -> bool:
        if t < self.s.problem.horizon_start:
            self.refuse(field, f"{fmt_time(t)} is before the live plan's horizon start "
                        f"{fmt_time(self.s.problem.horizon_start)}", "outside_horizon")
            return False
        self.grow_horizon(t)
        return True

    # -- the events ------------------------------------------------------------------------------

    def _clock(self, e: Clock) -> None:
        if e.now < self.s.now:
            self.refuse("now", f"the clock cannot go back: the live plan's now is {fmt_time(self.s.now)}",
                        "clock_back")
            return
        if self.in_horizon("now", e.now):
            self.s.now = e.now

    def _eta(self, e: Eta) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("eta", e.eta):
            return
        a = self.s.actual(c.id)
        arrived = a.arrival or a.berthing
        if arrived is not None:
            self.refuse("eta", f"call {c.id} has already arrived (at {fmt_time(arrived)}): "
                        "an ETA cannot replace an actual", "after_actual")
            return
        voyage, k = self.voyage(c.id)
        prev = voyage.call_ids[k - 1] if k else None
        if prev is not None and (dep := self.s.actual(prev).departure) is not None and e.eta < dep:
            self.refuse("eta", f"ETA {fmt_time(e.eta)} is before the vessel left {prev} at {fmt_time(dep)}",
                        "before_actual")
            return
        if k == 0:
            voyages = [v.model_copy(update={"eta": e.eta}) if v is voyage else v
                       for v in self.s.problem.voyages]
            self.s.problem = self.s.problem.model_copy(update={"voyages": voyages})
        else:
            self.s.reported_etas[c.id] = e.eta
        for cid in voyage.call_ids[k:]:
            self.touch(cid, e)

    def _actual_arrival(self, e: ActualArrival) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("time", e.time):
            return
        a = self.s.actual(c.id)
        if a.berthing is not None:
            self.refuse("time", f"call {c.id} is already at berth since {fmt_time(a.berthing)}",
                        "after_actual")
            return
        if (prev := self.previous_call_open(c.id)) is not None:
            self.refuse("call_id", f"the vessel has not left its previous call {prev} (no actual_departure)",
                        "voyage_order")
            return
        voyage, k = self.voyage(c.id)
        if k and (dep := self.s.actual(voyage.call_ids[k - 1]).departure) is not None and e.time < dep:
            self.refuse("time", f"arrival {fmt_time(e.time)} is before the vessel left "
                        f"{voyage.call_ids[k - 1]} at {fmt_time(dep)}", "voyage_order")
            return
        self.s.actuals[c.id] = a.model_copy(update={"arrival": e.time})
        self.s.reported_etas.pop(c.id, None)
        self.touch(c.id, e)

    def _actual_berthing(self, e: ActualBerthing) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("time", e.time):
            return
        berth_port = self.s.problem.berth_port().get(e.berth_id)
        if berth_port is None or berth_port.id != c.port_id:
            self.refuse("berth_id", f"berth {e.berth_id!r} is not a berth of {c.port_id}, the port of call "
                        f"{c.id}", "unknown_reference")
            return
        a = self.s.actual(c.id)
        if a.departure is not None:
            self.refuse("call_id", f"call {c.id} has already departed (at {fmt_time(a.departure)})",
                        "after_actual")
            return
        if a.arrival is not None and e.time < a.arrival:
            self.refuse("time", f"berthing {fmt_time(e.time)} is before the actual arrival "
                        f"{fmt_time(a.arrival)}", "before_actual")
            return
        if (prev := self.previous_call_open(c.id)) is not None:
            self.refuse("call_id", f"the vessel has not left its previous call {prev} (no actual_departure)",
                        "voyage_order")
            return
        for other, oa in self.s.actuals.items():
            if other != c.id and oa.berth_id == e.berth_id and oa.berthing is not None and (
                    oa.departure is None or oa.departure > e.time) and oa.berthing <= e.time:
                self.refuse("berth_id", f"berth {e.berth_id} is taken by call {other} (at berth since "
                            f"{fmt_time(oa.berthing)}, no actual_departure before {fmt_time(e.time)})",
                            "berth_taken")
                return
        self.s.actuals[c.id] = a.model_copy(update={"berth_id": e.berth_id, "berthing": e.time,
                                                    "handling_until": None})
        self.s.reported_etas.pop(c.id, None)
        self.touch(c.id, e)

    def _actual_departure(self, e: ActualDeparture) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("time", e.time):
            return
        a = self.s.actual(c.id)
        if a.berthing is None:
            self.refuse("call_id", f"call {c.id} has no actual_berthing: a vessel leaves a berth it is at",
                        "not_at_berth")
            return
        if e.time <= a.berthing:
            self.refuse("time", f"ATD {fmt_time(e.time)} is not after the ATB {fmt_time(a.berthing)}",
                        "before_actual")
            return
        self.s.actuals[c.id] = a.model_copy(update={"departure": e.time})
        self.touch(c.id, e)
        voyage, k = self.voyage(c.id)
        for cid in voyage.call_ids[k + 1:]:
            self.touch(cid, e)

    def _handling_update(self, e: HandlingUpdate) -> None:
        c = self.call(e.call_id)
        if c is None:
            return
        a = self.s.actual(c.id)
        if not a.at_berth:
            self.refuse("call_id", f"call {c.id} is not at berth (a handling update needs its "
                        "actual_berthing and no actual_departure)", "not_at_berth")
            return
        hours = e.remaining_hours
        if hours is None:
            assert a.berth_id is not None and e.remaining_quantity is not None
            berth = self.s.problem.berths()[a.berth_id]
            rate = berth.rates.get(c.cargo)
            if rate is None:
                self.refuse("remaining_quantity", f"berth {berth.id} has no handling rate for "
                            f"{c.cargo.value}; give remaining_hours", "no_rate")
                return
            hours = e.remaining_quantity / rate
        until = self.s.now + timedelta(hours=hours)
        self.grow_horizon(until)
        self.s.actuals[c.id] = a.model_copy(update={"handling_until": until})
        self.touch(c.id, e)

    def _cargo_ready(self, e: CargoReady) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("time", e.time):
            return
        if self.s.actual(c.id).berthing is not None:
            self.refuse("call_id", f"call {c.id} is already at berth", "after_actual")
            return
        self.replace_call(c.model_copy(update={"earliest_start": e.time}))
        self.touch(c.id, e)

    def replace_call(self, call: Call) -> None:
        calls = [call if x.id == call.id else x for x in self.s.problem.calls]
        self.s.problem = self.s.problem.model_copy(update={"calls": calls})

    def _call_added(self, e: CallAdded) -> None:
        p = self.s.problem
        c = e.call
        if c.id in p.call_map() or c.id in self.s.cancelled:
            self.refuse(("call", "id"), f"call id {c.id!r} is already used", "duplicate_id")
            return
        vessel_voyage = next((v for v in p.voyages if v.vessel_id == c.vessel_id), None)
        if e.after_call_id is not None:
            after = p.call_map().get(e.after_call_id)
            if after is None:
                self.refuse("after_call_id", f"unknown call {e.after_call_id!r}", "unknown_reference")
                return
            if after.vessel_id != c.vessel_id:
                self.refuse("after_call_id", f"call {after.id} is of vessel {after.vessel_id}, not "
                            f"{c.vessel_id}", "wrong_vessel")
                return
            voyage, k = p.voyage_order()[after.id]
            if k + 1 < len(voyage.call_ids):
                nxt = voyage.call_ids[k + 1]
                na = self.s.actual(nxt)
                if na.arrival is not None or na.berthing is not None:
                    self.refuse("after_call_id", f"the vessel has already arrived for {nxt}, the call after "
                                f"{after.id}", "after_actual")
                    return
            ids = [*voyage.call_ids[:k + 1], c.id, *voyage.call_ids[k + 1:]]
            voyages = [v.model_copy(update={"call_ids": ids}) if v is voyage else v for v in p.voyages]
        else:
            assert e.eta is not None
            if vessel_voyage is not None:
                self.refuse("eta", f"vessel {c.vessel_id} already has a voyage: place the call in it with "
                            "after_call_id", "duplicate_voyage")
                return
            if not self.in_horizon("eta", e.eta):
                return
            voyages = [*p.voyages, Voyage(vessel_id=c.vessel_id, eta=e.eta, call_ids=[c.id])]
        candidate = self.s.problem.model_copy(update={"calls": [*p.calls, c], "voyages": voyages})
        problems = validate_problem(candidate)
        if problems:
            for issue in problems:
                self.refuse(("call", *issue.loc[2:]) if issue.loc[:1] == ["calls"] else tuple(issue.loc),
                            issue.msg, issue.type)
            return
        self.s.problem = candidate
        self.touch(c.id, e)

    def _call_cancelled(self, e: CallCancelled) -> None:
        c = self.call(e.call_id)
        if c is None:
            return
        a = self.s.actual(c.id)
        if a.arrival is not None or a.berthing is not None:
            self.refuse("call_id", f"call {c.id} has already arrived: it cannot be cancelled", "after_actual")
            return
        p = self.s.problem
        voyage, k = p.voyage_order()[c.id]
        ids = [x for x in voyage.call_ids if x != c.id]
        voyages = list(p.voyages)
        eta = voyage.eta
        if k == 0 and ids:  # the vessel now heads for the next port: from the ETA, on at service speed
            nm = p.distance_nm(c.port_id, p.call_map()[ids[0]].port_id) or 0.0
            eta += timedelta(hours=nm / p.vessel_map()[c.vessel_id].service_speed_kn)
        if not ids:
            voyages.remove(voyage)
        else:
            voyages[voyages.index(voyage)] = voyage.model_copy(update={"call_ids": ids, "eta": eta})
        for cid in ids[k:]:
            self.touch(cid, e)
        for link in p.links:
            other = link.after if link.before == c.id else link.before if link.after == c.id else None
            if other is not None:
                self.touch(other, e)
        self.s.problem = p.model_copy(update={
            "calls": [x for x in p.calls if x.id != c.id],
            "voyages": voyages,
            "links": [x for x in p.links if c.id not in (x.before, x.after)],
            "previous_plan": None,
        })
        self.s.reported_etas.pop(c.id, None)
        self.s.cancelled.append(c.id)
        self.grow_horizon(eta)  # after the problem without the call is in place

    def _closure(self, e: ClosureEvent) -> None:
        if e.port_id is not None and e.port_id not in {x.id for x in self.s.problem.ports}:
            self.refuse("port_id", f"unknown port {e.port_id!r}", "unknown_reference")
            return
        self.in_horizon("end", e.end)
        self.s.closures[e.event_id] = e

    def _closure_lifted(self, e: ClosureLifted) -> None:
        if self.s.closures.pop(e.closure_event_id, None) is None:
            self.refuse("closure_event_id", f"no active closure has event id {e.closure_event_id!r}",
                        "unknown_reference")

    def _maintenance(self, e: Maintenance) -> None:
        if e.berth_id not in self.s.problem.berths():
            self.refuse("berth_id", f"unknown berth {e.berth_id!r}", "unknown_reference")
            return
        self.in_horizon("end", e.end)
        self.s.maintenance[e.event_id] = e


class Applied(BaseModel):
    """The state after a batch and, per call, the events that concern it directly."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    state: LiveState
    events: list[Event]
    touched: dict[str, list[str]]


def apply_events(state: LiveState, events: Sequence[Event]) -> Applied:
    """The state after `events` (already applied ids dropped), or EventsRefused naming every bad
    event's index and field (nothing applied) or EventConflict."""
    fresh = new_events(state, events)
    index = {id(e): i for i, e in enumerate(events)}
    run = _Apply(state)
    issues: list[Issue] = []
    for e in fresh:  # indexes as the client sent them
        run.index = index[id(e)]
        before = len(run.issues)
        getattr(run, "_" + e.type.value)(e)
        if len(run.issues) == before:
            run.s.seen[e.event_id] = event_digest(e)
            if (t := event_time(e)) is not None and not isinstance(e, Clock):
                run.advance_clock(t)
        issues = run.issues
    if issues:
        raise EventsRefused(issues)
    return Applied(state=run.s, events=fresh, touched=run.touched)


def handling_end(state: LiveState, call_id: str) -> datetime:
    """When a call at berth is expected to leave: the last handling update, else its handling
    time from berthing; never before now (it is still there)."""
    a = state.actual(call_id)
    assert a.berthing is not None and a.berth_id is not None
    if a.handling_until is not None:
        end = a.handling_until
    else:
        call = state.problem.call_map()[call_id]
        hours = handling_hours(call, state.problem.berths()[a.berth_id])
        end = a.berthing + timedelta(hours=hours if hours is not None else 0.0)
    step = timedelta(minutes=state.problem.time_step_minutes)
    return max(end, state.now, a.berthing + step)
