"""A live plan's facts: the problem as the events have made it, the clock, and what has really
happened per call. `apply_events` takes a batch whole or refuses it whole, naming every bad
event's index and field; it never plans (optimizer.live.replan does).

Facts are never refused for being inconvenient. A batch is applied in the order its facts
happened, whatever order its list has (`fact_order`: announcements as listed, then the clock and
the actuals by time, departures before arrivals before berthings at one instant, then handling
updates). An actual that contradicts what the live plan believed is kept as reported and what it
implies is derived and marked: a vessel that berths where another is still moored means the
other has left (its departure *inferred* until its own report replaces it); a vessel that
arrives or berths at its next port has left the one before (inferred likewise); a second report
of an actual corrects the first. An estimate that comes after the fact (an ETA, a cargo-ready
time, a handling update, a cancellation) is kept in the log and set aside. Each of these is a
`Reconciliation` listed on the version. Only malformed events are refused: unknown ids, times
before the horizon, the clock going back behind a clock event, an actual that contradicts the
call's own actuals (a departure not after its berthing, a berthing before its arrival).

The state is plain data that round-trips to JSON, so that a store can keep it per version and a
replay can start from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

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
    EventType,
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
    inferred: list[str] = Field(default_factory=list, description="Fields derived from other facts, not "
                                "reported (e.g. a departure implied by the next vessel's berthing); the "
                                "field's own report replaces it.")

    @property
    def at_berth(self) -> bool:
        return self.berthing is not None and self.departure is None


class ReconciliationKind(StrEnum):
    """How a fact that contradicted the live plan's belief was taken in."""

    INFERRED_DEPARTURE = "inferred_departure"
    REPLACED_INFERRED = "replaced_inferred"
    CORRECTED = "corrected"
    BERTH_SHARED = "berth_shared"
    PASSED = "passed"
    BERTHING_PENDING = "berthing_pending"
    SET_ASIDE = "set_aside"


class Reconciliation(BaseModel):
    """A fact kept although it contradicted what the live plan believed, and what follows."""

    model_config = ConfigDict(extra="forbid")

    kind: ReconciliationKind
    event_id: str = Field(description="The event that brought the contradiction.")
    call_id: str | None = Field(default=None, description="The call whose facts were derived or corrected.")
    time: AwareDatetime | None = Field(default=None, description="The derived or corrected time, UTC.")
    detail: str


class LiveState(BaseModel):
    """The facts a version is planned from."""

    model_config = ConfigDict(extra="forbid")

    problem: Problem = Field(description="The problem as events made it: ETAs, calls added and "
                             "cancelled, cargo-ready times; closures and maintenance are kept apart.")
    now: AwareDatetime
    clock: AwareDatetime | None = Field(default=None, description="The last clock event's now: the "
                                        "clock never goes back behind it (actuals may move `now` further).")
    frozen_window_minutes: float = Field(default=DEFAULT_FROZEN_WINDOW_MINUTES, ge=0, le=7 * 24 * 60)
    actuals: dict[str, CallActuals] = Field(default_factory=dict)
    reported_etas: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="ETAs reported for later calls of a voyage.")
    closures: dict[str, ClosureEvent] = Field(default_factory=dict, description="Active, by event id.")
    maintenance: dict[str, Maintenance] = Field(default_factory=dict)
    cancelled: list[str] = Field(default_factory=list)
    passed: list[str] = Field(default_factory=list, description="Calls taken as passed (cancelled): their "
                              "vessel was reported at a later call with no berthing reported here.")
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
    """Applies events in fact order to a copy of the state, collecting every refusal and every
    reconciliation.

    The copy is shallow, copy on write: its containers (actuals, ETAs, closures, maintenance,
    cancelled, passed, seen) are new, what they hold is shared with the state before. The handlers
    never change a record in place (a call, a voyage, the problem, a call's actuals): they put a
    changed copy in its place (model_copy(update=...)), so the state before stays as it was. A deep
    copy made every version cost the whole month's problem."""

    def __init__(self, state: LiveState):
        self.s = state.model_copy(update={
            "actuals": dict(state.actuals), "reported_etas": dict(state.reported_etas),
            "closures": dict(state.closures), "maintenance": dict(state.maintenance),
            "cancelled": list(state.cancelled), "passed": list(state.passed), "seen": dict(state.seen)})
        self.issues: list[Issue] = []
        self.reconciled: list[Reconciliation] = []
        self.index = 0
        self.event_id = ""
        self.batch_berthings: dict[str, datetime] = {}  # call id -> its berthing in the batch
        self.batch_actuals: set[str] = set()  # calls the batch reports an actual of
        self.touched: dict[str, list[str]] = {}  # call id -> ids of the events that concern it

    def refuse(self, field: str | tuple[str | int, ...], msg: str, type_: str = "value_error") -> None:
        loc = (field,) if isinstance(field, str) else field
        self.issues.append(Issue(loc=["events", self.index, *loc], msg=msg, type=type_))

    def note(self, kind: ReconciliationKind, detail: str, call_id: str | None = None,
             time: datetime | None = None) -> None:
        self.reconciled.append(Reconciliation(kind=kind, event_id=self.event_id, call_id=call_id,
                                              time=time, detail=detail))

    def touch(self, call_id: str) -> None:
        """The event being applied concerns this call."""
        self.touched.setdefault(call_id, []).append(self.event_id)

    # -- lookups ---------------------------------------------------------------------------------

    def call(self, call_id: str) -> Call | None:
        c = self.s.problem.call_map().get(call_id)
        if c is None and call_id in self.s.cancelled:
            why = ("the vessel was taken as having passed it (it was reported at a later call first)"
                   if call_id in self.s.passed else "the call was cancelled")
            self.note(ReconciliationKind.SET_ASIDE, f"a report for {call_id} set aside: {why}", call_id)
            return None
        if c is None:
            self.refuse("call_id", f"unknown call {call_id!r}", "unknown_reference")
        return c

    def voyage(self, call_id: str) -> tuple[Voyage, int]:
        return self.s.problem.voyage_order()[call_id]

    def previous_call(self, call_id: str) -> str | None:
        voyage, k = self.voyage(call_id)
        return voyage.call_ids[k - 1] if k else None

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

    def set_actual(self, call_id: str, **fields: object) -> None:
        """Set reported fields of a call's actuals; a reported field is no longer inferred."""
        a = self.s.actual(call_id)
        inferred = [f for f in a.inferred if f not in fields]
        self.s.actuals[call_id] = a.model_copy(update={**fields, "inferred": inferred})

    def infer_departure(self, call_id: str, t: datetime, why: str) -> None:
        """The vessel of `call_id` has left its berth by `t` (no report of its own yet)."""
        a = self.s.actual(call_id)
        self.s.actuals[call_id] = a.model_copy(update={"departure": t, "inferred": sorted(
            {*a.inferred, "departure"})})
        self.note(ReconciliationKind.INFERRED_DEPARTURE, f"{call_id} taken as departed at {fmt_time(t)}: "
                  f"{why}; its own departure report will replace this", call_id, t)
        voyage, k = self.voyage(call_id)
        for cid in voyage.call_ids[k:]:
            self.touch(cid)

    def left_previous(self, call_id: str, t: datetime, what: str) -> bool:
        """The vessel is at `call_id`'s port at `t`, so it has left its previous call by the time
        it could sail here at top speed: infer that departure when none is reported. False (a
        refusal) when the facts of the previous call say it was still there."""
        prev = self.previous_call(call_id)
        while prev is not None and (pa := self.s.actual(prev)).berthing is None and pa.departure is None:
            if (atb := self.batch_berthings.get(prev)) is not None:
                self.refuse("time", f"{what} {fmt_time(t)} is not after the vessel berthed at {prev} "
                            f"({fmt_time(atb)}, in the same list)", "voyage_order")
                return False
            self.note(ReconciliationKind.PASSED, f"{prev} taken as passed: its vessel was reported at the "
                      f"next call {call_id} ({what} {fmt_time(t)}) with no berthing reported here", prev)
            self.cancel(self.s.problem.call_map()[prev])
            self.s.passed.append(prev)
            prev = self.previous_call(call_id)
        if prev is None:
            return True
        pa = self.s.actual(prev)
        p = self.s.problem
        calls = p.call_map()
        nm = p.distance_nm(calls[prev].port_id, calls[call_id].port_id) or 0.0
        latest = t - timedelta(hours=nm / p.vessel_map()[calls[call_id].vessel_id].max_speed_kn)
        if pa.departure is not None and "departure" not in pa.inferred:
            if t < pa.departure:
                self.refuse("time", f"{what} {fmt_time(t)} is before the vessel left {prev} at "
                            f"{fmt_time(pa.departure)}", "voyage_order")
                return False
            return True
        if pa.berthing is None:
            return True  # it left (reported) before its berthing was reported
        if pa.berthing >= t:
            self.refuse("time", f"{what} {fmt_time(t)} is not after the vessel berthed at {prev} "
                        f"({fmt_time(pa.berthing)})", "voyage_order")
            return False
        if pa.departure is not None and pa.departure <= t:
            return True  # an inferred departure that fits
        left = latest if latest > pa.berthing else pa.berthing + (t - pa.berthing) / 2
        self.infer_departure(prev, left, f"its vessel reached {call_id} ({what} {fmt_time(t)})")
        return True

    def free_berth(self, call_id: str, berth_id: str, t: datetime) -> None:
        """`call_id` berths at `berth_id` at `t`: a vessel moored there since before has left
        (inferred), and a vessel that berthed there later means this one had left by then."""
        for other, oa in list(self.s.actuals.items()):
            if other == call_id or oa.berth_id != berth_id or oa.berthing is None:
                continue
            if oa.berthing < t and (oa.departure is None or oa.departure > t):
                if oa.departure is not None and "departure" not in oa.inferred:
                    self.note(ReconciliationKind.BERTH_SHARED, f"{call_id} berthed at {berth_id} at "
                              f"{fmt_time(t)} while {other} was reported there until "
                              f"{fmt_time(oa.departure)}: both kept", call_id, t)
                else:
                    self.infer_departure(other, t, f"{call_id} berthed at {berth_id}")
            elif oa.berthing == t:
                self.note(ReconciliationKind.BERTH_SHARED, f"{call_id} and {other} both berthed at "
                          f"{berth_id} at {fmt_time(t)}: both kept", call_id, t)
            elif oa.berthing > t:
                mine = self.s.actual(call_id)
                if mine.departure is None or (
                        "departure" in mine.inferred and mine.departure > oa.berthing):
                    self.infer_departure(call_id, oa.berthing, f"{other} berthed at {berth_id}")

    def set_aside(self, e: Event, call_id: str, why: str) -> None:
        self.note(ReconciliationKind.SET_ASIDE, f"{e.type.value} for {call_id} set aside: {why}", call_id)

    # -- the events ------------------------------------------------------------------------------

    def _clock(self, e: Clock) -> None:
        if self.s.clock is not None and e.now < self.s.clock:
            self.refuse("now", f"the clock cannot go back: the live plan's last clock event says "
                        f"{fmt_time(self.s.clock)}", "clock_back")
            return
        if self.in_horizon("now", e.now):
            self.s.clock = e.now
            self.s.now = max(self.s.now, e.now)

    def _eta(self, e: Eta) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("eta", e.eta):
            return
        a = self.s.actual(c.id)
        arrived = a.arrival or a.berthing or a.departure
        if arrived is not None:
            self.set_aside(e, c.id, f"the vessel was there at {fmt_time(arrived)}")
            return
        voyage, k = self.voyage(c.id)
        prev = voyage.call_ids[k - 1] if k else None
        if prev is not None and (dep := self.s.actual(prev).departure) is not None and e.eta < dep:
            self.set_aside(e, c.id, f"the ETA {fmt_time(e.eta)} is before the vessel left {prev} at "
                           f"{fmt_time(dep)}")
            return
        if k == 0:
            voyages = [v.model_copy(update={"eta": e.eta}) if v is voyage else v
                       for v in self.s.problem.voyages]
            self.s.problem = self.s.problem.model_copy(update={"voyages": voyages})
        else:
            self.s.reported_etas[c.id] = e.eta
        for cid in voyage.call_ids[k:]:
            self.touch(cid)

    def _actual_arrival(self, e: ActualArrival) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("time", e.time):
            return
        a = self.s.actual(c.id)
        if a.berthing is not None and e.time > a.berthing and "berthing" not in a.inferred:
            self.refuse("time", f"arrival {fmt_time(e.time)} is after the call's own berthing "
                        f"{fmt_time(a.berthing)}", "after_actual")
            return
        if not self.left_previous(c.id, e.time, "arrival"):
            return
        if a.arrival is not None and a.arrival != e.time:
            self.note(ReconciliationKind.CORRECTED, f"{c.id}'s arrival {fmt_time(a.arrival)} corrected to "
                      f"{fmt_time(e.time)}", c.id, e.time)
        self.set_actual(c.id, arrival=e.time)
        self.s.reported_etas.pop(c.id, None)
        self.touch(c.id)

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
        if a.departure is not None and "departure" not in a.inferred and e.time >= a.departure:
            self.refuse("time", f"berthing {fmt_time(e.time)} is not before the call's own departure "
                        f"{fmt_time(a.departure)}", "after_actual")
            return
        if a.arrival is not None and e.time < a.arrival:
            self.refuse("time", f"berthing {fmt_time(e.time)} is before the actual arrival "
                        f"{fmt_time(a.arrival)}", "before_actual")
            return
        if not self.left_previous(c.id, e.time, "berthing"):
            return
        if a.berthing is not None and (a.berthing, a.berth_id) != (e.time, e.berth_id):
            self.note(ReconciliationKind.CORRECTED, f"{c.id}'s berthing at {a.berth_id} "
                      f"{fmt_time(a.berthing)} corrected to {e.berth_id} {fmt_time(e.time)}", c.id, e.time)
        update: dict[str, object] = {"berth_id": e.berth_id, "berthing": e.time}
        if a.berthing is None:
            update["handling_until"] = None
        if a.departure is not None and "departure" in a.inferred and a.departure <= e.time:
            update["departure"] = None  # an inference the berthing contradicts
        self.set_actual(c.id, **update)
        self.free_berth(c.id, e.berth_id, e.time)
        self.s.reported_etas.pop(c.id, None)
        self.touch(c.id)

    def _actual_departure(self, e: ActualDeparture) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("time", e.time):
            return
        a = self.s.actual(c.id)
        if a.berthing is None and (atb := self.batch_berthings.get(c.id)) is not None:
            self.refuse("time", f"ATD {fmt_time(e.time)} is not after the ATB {fmt_time(atb)} of the same "
                        "list", "before_actual")
            return
        if a.berthing is None:
            self.note(ReconciliationKind.BERTHING_PENDING, f"{c.id} left at {fmt_time(e.time)} before its "
                      "berthing was reported: its berth and berthing are the last plan's until reported",
                      c.id, e.time)
        elif e.time <= a.berthing:
            self.refuse("time", f"ATD {fmt_time(e.time)} is not after the ATB {fmt_time(a.berthing)}",
                        "before_actual")
            return
        if a.departure is not None and a.departure != e.time:
            kind = (ReconciliationKind.REPLACED_INFERRED if "departure" in a.inferred
                    else ReconciliationKind.CORRECTED)
            self.note(kind, f"{c.id}'s departure {fmt_time(a.departure)}"
                      f"{' (inferred)' if kind == ReconciliationKind.REPLACED_INFERRED else ''} replaced by "
                      f"the reported {fmt_time(e.time)}", c.id, e.time)
        self.set_actual(c.id, departure=e.time)
        for other, oa in self.s.actuals.items():  # a later occupant of the berth that came before this left
            if (a.berthing is not None and other != c.id and oa.berth_id == a.berth_id
                    and oa.berthing is not None and a.berthing < oa.berthing < e.time):
                self.note(ReconciliationKind.BERTH_SHARED, f"{c.id} left {a.berth_id} at {fmt_time(e.time)}, "
                          f"after {other} berthed there at {fmt_time(oa.berthing)}: both kept", c.id, e.time)
        self.touch(c.id)
        voyage, k = self.voyage(c.id)
        for cid in voyage.call_ids[k + 1:]:
            self.touch(cid)

    def _handling_update(self, e: HandlingUpdate) -> None:
        c = self.call(e.call_id)
        if c is None:
            return
        a = self.s.actual(c.id)
        if not a.at_berth:
            self.set_aside(e, c.id, "the call is not at berth (no actual_berthing, or it has left)")
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
        self.touch(c.id)

    def _cargo_ready(self, e: CargoReady) -> None:
        c = self.call(e.call_id)
        if c is None or not self.in_horizon("time", e.time):
            return
        if (atb := self.s.actual(c.id).berthing or self.s.actual(c.id).departure) is not None:
            self.set_aside(e, c.id, f"the call was at berth at {fmt_time(atb)}")
            return
        self.replace_call(c.model_copy(update={"earliest_start": e.time}))
        self.touch(c.id)

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
        self.touch(c.id)

    def _call_cancelled(self, e: CallCancelled) -> None:
        c = self.call(e.call_id)
        if c is None:
            return
        a = self.s.actual(c.id)
        if (came := a.arrival or a.berthing or a.departure) is not None:
            self.set_aside(e, c.id, f"the vessel was there at {fmt_time(came)}: the facts stand")
            return
        if c.id in self.batch_actuals:
            self.set_aside(e, c.id, "the same list reports the vessel there: the facts stand")
            return
        self.cancel(c)

    def cancel(self, c: Call) -> None:
        """The call leaves the live plan: its voyage goes on without it (a first call's vessel
        heads for the next port from its ETA at service speed), its links go."""
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
            self.touch(cid)
        for link in p.links:
            other = link.after if link.before == c.id else link.before if link.after == c.id else None
            if other is not None:
                self.touch(other)
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
        if self.s.closures.pop(e.closure_event_id, None) is None and e.closure_event_id in self.s.seen:
            self.note(ReconciliationKind.SET_ASIDE, f"closure {e.closure_event_id} was lifted already")
        elif e.closure_event_id not in self.s.seen:
            self.refuse("closure_event_id", f"no active closure has event id {e.closure_event_id!r}",
                        "unknown_reference")

    def _maintenance(self, e: Maintenance) -> None:
        if e.berth_id not in self.s.problem.berths():
            self.refuse("berth_id", f"unknown berth {e.berth_id!r}", "unknown_reference")
            return
        self.in_horizon("end", e.end)
        self.s.maintenance[e.event_id] = e


class Applied(BaseModel):
    """The state after a batch, per call the events that concern it directly, and how facts that
    contradicted the live plan's belief were taken in."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    state: LiveState
    events: list[Event]
    touched: dict[str, list[str]]
    reconciliations: list[Reconciliation] = Field(default_factory=list)


_TIMED_RANK = {EventType.ACTUAL_DEPARTURE: 0, EventType.CLOCK: 1, EventType.ACTUAL_ARRIVAL: 2,
               EventType.ACTUAL_BERTHING: 3}


def fact_order(events: Sequence[Event]) -> list[Event]:
    """A batch in the order its facts happened: announcements (ETAs, calls added and cancelled,
    cargo-ready times, closures, maintenance) as listed, lifted closures after them, then the
    clock and the actuals by time, at one instant departures first (a berth is freed before it
    is taken), then arrivals, then berthings; then handling updates, which count from the clock
    the batch has reached."""
    first = [e for e in events if e.type not in _TIMED_RANK and e.type != EventType.HANDLING_UPDATE]
    first.sort(key=lambda e: e.type == EventType.CLOSURE_LIFTED)  # a closure is announced before it lifts
    timed = [e for e in events if e.type in _TIMED_RANK]
    timed.sort(key=lambda e: (event_time(e), _TIMED_RANK[e.type]))
    last = [e for e in events if e.type == EventType.HANDLING_UPDATE]
    return [*first, *timed, *last]


def apply_events(state: LiveState, events: Sequence[Event]) -> Applied:
    """The state after `events` (already applied ids dropped) applied in `fact_order`, or
    EventsRefused naming every bad event's index (as sent) and field (nothing applied) or
    EventConflict."""
    fresh = new_events(state, events)
    index = {id(e): i for i, e in enumerate(events)}
    run = _Apply(state)
    run.batch_berthings = {e.call_id: e.time for e in fresh if isinstance(e, ActualBerthing)}
    run.batch_actuals = {e.call_id for e in fresh
                         if isinstance(e, ActualArrival | ActualBerthing | ActualDeparture)}
    for e in fact_order(fresh):
        run.index, run.event_id = index[id(e)], e.event_id
        before = len(run.issues)
        getattr(run, "_" + e.type.value)(e)
        if len(run.issues) == before:
            run.s.seen[e.event_id] = event_digest(e)
            if (t := event_time(e)) is not None and not isinstance(e, Clock):
                run.advance_clock(t)
    if run.issues:
        raise EventsRefused(sorted(run.issues, key=lambda i: i.loc[1]))
    return Applied(state=run.s, events=fresh, touched=run.touched, reconciliations=run.reconciled)


def handling_end(state: LiveState, call_id: str) -> datetime:
    """When a call at berth is expected to leave: the last handling update, else its handling
    time from berthing; never before now (it is still there), and never inside a closure of its
    port (it stays moored through it and leaves when the port opens)."""
    a = state.actual(call_id)
    assert a.berthing is not None and a.berth_id is not None
    call = state.problem.call_map()[call_id]
    if a.handling_until is not None:
        end = a.handling_until
    else:
        hours = handling_hours(call, state.problem.berths()[a.berth_id])
        end = a.berthing + timedelta(hours=hours if hours is not None else 0.0)
    step = timedelta(minutes=state.problem.time_step_minutes)
    end = max(end, state.now, a.berthing + step)
    port = next(p for p in state.ports_with_windows() if p.id == call.port_id)
    moved = True
    while moved:
        moved = False
        for closure in port.closures:
            if closure.start <= end < closure.end:
                end, moved = closure.end, True
    return end
