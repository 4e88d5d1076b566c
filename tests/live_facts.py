"""The facts a live plan's versions must respect, folded from the accepted events by the tests
alone (nothing from optimizer.live.state), and a check of a version against them.

The fold keeps only what was reported: actual arrivals, berthings and departures, handling
updates, ETAs, cargo-ready times, calls added and cancelled, closures and maintenance, the clock.
Within a batch it applies the documented order (announcements as listed, lifted closures after
them, then the clock and the
actuals by time, departures before arrivals before berthings at one instant, then handling
updates), and across batches the order they were accepted in. A version is then held to it:

- every call of the facts is in the version once (history, planned or unserved), no other;
- every reported actual is kept as reported (berth, ATB, ATD, ATA);
- nothing that has not berthed is planned to berth before now;
- a call at berth stays at least its handling (or its last update) and never leaves inside a
  closure of its port (it stays moored through it);
- the independent checker, given a problem rebuilt from the facts (closures, maintenance, ETAs,
  cargo-ready times, the calls with actuals frozen at them), finds no violation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from optimizer.checker import check
from optimizer.domain import Closure, FrozenAssignment, Problem, TimeWindow, Voyage, handling_hours
from optimizer.live.events import (
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
)
from optimizer.live.replan import Version
from optimizer.plan import CallAssignment

_ACTUAL_RANK = {"actual_departure": 0, "clock": 1, "actual_arrival": 2, "actual_berthing": 3}


def fact_order(events: Sequence[Event]) -> list[Event]:
    """A batch in the order its facts happened (see the module docstring)."""
    first = sorted((e for e in events if _group(e) == 0), key=lambda e: isinstance(e, ClosureLifted))
    timed = sorted((e for e in events if _group(e) == 1),
                   key=lambda e: (_when(e), _ACTUAL_RANK[e.type.value]))
    last = [e for e in events if _group(e) == 2]
    return [*first, *timed, *last]


def _group(e: Event) -> int:
    if isinstance(e, Clock | ActualArrival | ActualBerthing | ActualDeparture):
        return 1
    return 2 if isinstance(e, HandlingUpdate) else 0


def _when(e: Event) -> datetime:
    return e.now if isinstance(e, Clock) else e.time  # type: ignore[union-attr]


@dataclass
class Facts:
    """What the accepted events say, and nothing else."""

    problem: Problem
    now: datetime
    ata: dict[str, datetime] = field(default_factory=dict)
    atb: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    atd: dict[str, datetime] = field(default_factory=dict)
    handling_until: dict[str, datetime] = field(default_factory=dict)
    later_etas: dict[str, datetime] = field(default_factory=dict)
    closures: dict[str, ClosureEvent] = field(default_factory=dict)
    maintenance: dict[str, Maintenance] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    passed: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    batch_actuals: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, problem: Problem) -> Facts:
        return cls(problem=problem, now=problem.horizon_start)

    def apply(self, batch: Sequence[Event]) -> None:
        fresh = []
        for e in batch:
            if e.event_id not in self.seen:
                self.seen.add(e.event_id)
                fresh.append(e)
        self.batch_actuals = {e.call_id for e in fresh
                              if isinstance(e, ActualArrival | ActualBerthing | ActualDeparture)}
        for e in fact_order(fresh):
            self._apply(e)

    def _apply(self, e: Event) -> None:
        p = self.problem
        calls = p.call_map()
        if getattr(e, "call_id", None) in self.cancelled:
            if isinstance(e, ActualArrival | ActualBerthing | ActualDeparture):
                self.now = max(self.now, e.time)
            return  # a report for a call cancelled, or taken as passed, is set aside
        if isinstance(e, Clock):
            self.now = max(self.now, e.now)
        elif isinstance(e, ActualArrival | ActualBerthing | ActualDeparture):
            self.now = max(self.now, e.time)
            if not isinstance(e, ActualDeparture):
                self._passed_before(e.call_id)
            if isinstance(e, ActualArrival):
                self.ata[e.call_id] = e.time
            elif isinstance(e, ActualBerthing):
                self.atb[e.call_id] = (e.berth_id, e.time)
            else:
                self.atd[e.call_id] = e.time
        elif isinstance(e, HandlingUpdate):
            if e.call_id in self.atb and e.call_id not in self.atd:
                hours = e.remaining_hours
                if hours is None:
                    b = p.berths()[self.atb[e.call_id][0]]
                    hours = (e.remaining_quantity or 0.0) / b.rates[calls[e.call_id].cargo]
                self.handling_until[e.call_id] = self.now + timedelta(hours=hours)
        elif isinstance(e, Eta):
            if e.call_id in self.ata or e.call_id in self.atb or e.call_id in self.atd:
                return  # a stale estimate: the facts have it
            voyage, k = p.voyage_order()[e.call_id]
            if k == 0:
                self._voyages(voyage, voyage.model_copy(update={"eta": e.eta}))
            else:
                self.later_etas[e.call_id] = e.eta
        elif isinstance(e, CargoReady):
            if e.call_id not in self.atb and e.call_id not in self.atd:
                self._replace_call(calls[e.call_id].model_copy(update={"earliest_start": e.time}))
        elif isinstance(e, CallAdded):
            c = e.call
            if e.after_call_id is not None:
                voyage, k = p.voyage_order()[e.after_call_id]
                ids = [*voyage.call_ids[: k + 1], c.id, *voyage.call_ids[k + 1:]]
                voyages = [v.model_copy(update={"call_ids": ids}) if v is voyage else v for v in p.voyages]
            else:
                assert e.eta is not None
                voyages = [*p.voyages, Voyage(vessel_id=c.vessel_id, eta=e.eta, call_ids=[c.id])]
            self.problem = p.model_copy(update={"calls": [*p.calls, c], "voyages": voyages})
        elif isinstance(e, CallCancelled):
            if e.call_id not in self.batch_actuals:  # the facts of the same list win
                self._cancel(e.call_id)
        elif isinstance(e, ClosureEvent):
            self.closures[e.event_id] = e
        elif isinstance(e, ClosureLifted):
            self.closures.pop(e.closure_event_id, None)
        elif isinstance(e, Maintenance):
            self.maintenance[e.event_id] = e

    def _passed_before(self, cid: str) -> None:
        """A vessel reported at a call has passed the calls before it that saw no berthing."""
        while True:
            voyage, k = self.problem.voyage_order()[cid]
            if k == 0 or voyage.call_ids[k - 1] in self.atb or voyage.call_ids[k - 1] in self.atd:
                return
            prev = voyage.call_ids[k - 1]
            self._cancel(prev)
            self.passed.add(prev)

    def _voyages(self, old: Voyage, new: Voyage | None) -> None:
        vs = [v for v in self.problem.voyages if v is not old] if new is None else [
            new if v is old else v for v in self.problem.voyages]
        self.problem = self.problem.model_copy(update={"voyages": vs})

    def _replace_call(self, c: object) -> None:
        calls = [c if x.id == c.id else x for x in self.problem.calls]  # type: ignore[attr-defined]
        self.problem = self.problem.model_copy(update={"calls": calls})

    def _cancel(self, cid: str) -> None:
        """The call leaves the voyage; a first call's voyage then heads for the next port from
        its ETA at service speed (the documented rule)."""
        if cid in self.ata or cid in self.atb or cid in self.atd:
            return  # the vessel came: the facts win
        p = self.problem
        voyage, k = p.voyage_order()[cid]
        ids = [x for x in voyage.call_ids if x != cid]
        if not ids:
            self._voyages(voyage, None)
        else:
            eta = voyage.eta
            if k == 0:
                c, nxt = p.call_map()[cid], p.call_map()[ids[0]]
                eta += timedelta(hours=(p.distance_nm(c.port_id, nxt.port_id) or 0.0)
                                 / p.vessel_map()[c.vessel_id].service_speed_kn)
            self._voyages(voyage, voyage.model_copy(update={"call_ids": ids, "eta": eta}))
        p = self.problem
        self.problem = p.model_copy(update={
            "calls": [x for x in p.calls if x.id != cid],
            "links": [x for x in p.links if cid not in (x.before, x.after)]})
        self.cancelled.add(cid)

    # -- the problem a version must respect -------------------------------------------------------

    def closures_of(self, port_id: str) -> list[tuple[datetime, datetime]]:
        port = next(x for x in self.problem.ports if x.id == port_id)
        return [(c.start, c.end) for c in port.closures] + [
            (e.start, e.end) for e in self.closures.values() if e.port_id in (None, port_id)]

    def berthed_after(self, cid: str) -> bool:
        """Whether another vessel was reported berthing at this call's berth after it, or its own
        vessel at a later call: then it has left, whatever its handling said."""
        berth_id, atb = self.atb[cid]
        voyage, k = self.problem.voyage_order()[cid]
        if any(x in self.ata or x in self.atb for x in voyage.call_ids[k + 1:]):
            return True
        return any(b == berth_id and t > atb for other, (b, t) in self.atb.items() if other != cid)

    def handling_end(self, cid: str) -> datetime:
        berth_id, atb = self.atb[cid]
        if cid in self.handling_until:
            return self.handling_until[cid]
        hours = handling_hours(self.problem.call_map()[cid], self.problem.berths()[berth_id])
        return atb + timedelta(hours=hours or 0.0)

    def rebuilt(self, timeline: dict[str, CallAssignment]) -> Problem:
        """The problem the version must respect: every window and estimate reported, and the
        calls with an actual berthing frozen at their facts (a call at berth at its planned
        end, which `violations` holds to its handling and the closures)."""
        p = self.problem
        ports = []
        for port in p.ports:
            extra = [Closure(start=e.start, end=e.end, reason="closure event")
                     for e in self.closures.values() if e.port_id in (None, port.id)]
            berths = [b.model_copy(update={"unavailable": [*b.unavailable, *(
                TimeWindow(start=m.start, end=m.end, reason="maintenance event")
                for m in self.maintenance.values() if m.berth_id == b.id)]}) for b in port.berths]
            ports.append(port.model_copy(update={"closures": [*port.closures, *extra], "berths": berths}))
        calls = []
        for c in p.calls:
            update: dict[str, object] = {}
            if (eta := self.later_etas.get(c.id)) is not None and c.id not in self.ata:
                update["earliest_start"] = max(eta, c.earliest_start) if c.earliest_start else eta
            if c.id in self.atd and c.id not in self.atb and c.id in timeline:
                a = timeline[c.id]  # left before its berthing was reported: the version's berth
                update["frozen"] = FrozenAssignment(berth_id=a.berth_id, berth_start=a.berth_start,
                                                    berth_end=self.atd[c.id],
                                                    arrival=self.ata.get(c.id, a.arrival))
                update["latest_departure"] = None
            if c.id in self.atb and c.id in timeline:
                berth_id, atb = self.atb[c.id]
                a = timeline[c.id]
                update["frozen"] = FrozenAssignment(
                    berth_id=berth_id, berth_start=atb, berth_end=self.atd.get(c.id, a.berth_end),
                    arrival=self.ata.get(c.id, a.arrival))
                update["latest_departure"] = None  # a fact is not blamed for a limit
            calls.append(c.model_copy(update=update))
        voyages = []
        for v in p.voyages:
            first = v.call_ids[0]
            voyages.append(v.model_copy(update={"eta": self.ata[first]}) if first in self.ata else v)
        return p.model_copy(update={"ports": ports, "calls": calls, "voyages": voyages,
                                    "previous_plan": None})


def violations(facts: Facts, version: Version) -> list[str]:
    """Everything in `version` that breaks the facts or a hard rule under them (empty: clean)."""
    out: list[str] = []
    timeline: dict[str, CallAssignment] = {}
    for a in [*version.history, *version.plan.calls]:
        if a.call_id in timeline:
            out.append(f"{a.call_id}: planned twice")
        timeline[a.call_id] = CallAssignment.model_validate(
            a.model_dump(include=set(CallAssignment.model_fields)))
    unserved = {u.call_id for u in version.plan.unserved}
    live = {c.id for c in facts.problem.calls}
    seen = set(timeline) | unserved
    out += [f"{cid}: missing from the version" for cid in sorted(live - seen)]
    out += [f"{cid}: in the version but not a live call" for cid in sorted(seen - live)]
    out += [f"{cid}: both planned and unserved" for cid in sorted(set(timeline) & unserved)]
    calls = facts.problem.call_map()
    for cid in sorted(live & seen):
        a = timeline.get(cid)
        if cid in facts.atb:
            berth_id, atb = facts.atb[cid]
            if a is None:
                out.append(f"{cid}: berthed at {berth_id} at {atb} but the version leaves it unserved")
                continue
            if a.berth_id != berth_id or a.berth_start != atb:
                out.append(f"{cid}: berthed at {berth_id} at {atb}, the version has {a.berth_id} at "
                           f"{a.berth_start}")
            if cid in facts.atd and a.berth_end != facts.atd[cid]:
                out.append(f"{cid}: left at {facts.atd[cid]}, the version has {a.berth_end}")
            if cid not in facts.atd and not facts.berthed_after(cid):
                need = max(facts.handling_end(cid), facts.now)
                if a.berth_end < need:
                    out.append(f"{cid}: at berth, planned to leave at {a.berth_end}, before its handling "
                               f"ends or now ({need})")
                for s, e in facts.closures_of(calls[cid].port_id):
                    if s <= a.berth_end < e:
                        out.append(f"{cid}: at berth, planned to leave at {a.berth_end} inside a closure "
                                   f"[{s}, {e})")
        elif cid in facts.atd:
            if a is None or a.berth_end != facts.atd[cid]:
                out.append(f"{cid}: left at {facts.atd[cid]}, the version has "
                           f"{a.berth_end if a else 'it unserved'}")
        elif a is not None and a.berth_start < facts.now:
            out.append(f"{cid}: planned to berth at {a.berth_start}, before now {facts.now}")
        if cid in facts.ata and a is not None and a.arrival != facts.ata[cid]:
            out.append(f"{cid}: arrived at {facts.ata[cid]}, the version has {a.arrival}")
    problem = facts.rebuilt(timeline)
    report = check(problem, [*timeline.values()])
    out += [f"checker: {v.kind} {v.call_id}: {v.detail}" for v in report.violations
            if v.call_id not in unserved and v.kind != "missing_call"]
    return out
