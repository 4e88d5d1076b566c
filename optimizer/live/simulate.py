"""The world the vessels live in, for replays and tests.

`actuals_due` makes the actual arrival / berthing / departure events a port would report up to a
moment, for the plan in force: the vessels follow the plan (ATA = planned arrival, ATB = planned
berth start, ATD = planned berth end), except that a seeded share of calls berths a little late
(`seeded_delay`), which shifts their departure by as much, and that nothing can happen before it
physically can (a berth is not taken before its previous occupant left, a vessel does not arrive
before it left its previous port and sailed there at its top speed). A call the plan leaves
unserved is passed: the vessel skips the port (a `call_cancelled` when it leaves the call before).

`final_facts_problem` is the problem a clairvoyant planner would have had: the state's final
ETAs, cargo-ready times, closures and maintenance folded in, calls cancelled gone, calls added in.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from optimizer.domain import Problem, berth_fits
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
from optimizer.live.state import CallActuals, LiveState

BerthingDelay = Callable[[str], timedelta]


def seeded_delay(seed: int, share: float = 0.2, low_min: int = 10, high_min: int = 60) -> BerthingDelay:
    """A deterministic berthing delay per call id: `share` of the calls berth `low_min` to
    `high_min` minutes (whole minutes, uniform) after the plan says; the rest on time."""

    def delay(call_id: str) -> timedelta:
        h = hashlib.sha256(f"portsync-delay-{seed}-{call_id}".encode()).digest()
        u = int.from_bytes(h[:4], "big") / 2**32
        if u >= share:
            return timedelta(0)
        v = int.from_bytes(h[4:8], "big") / 2**32
        return timedelta(minutes=low_min + int(v * (high_min - low_min + 1)))

    return delay


def _sail_min(p: Problem, from_call: str, to_call: str) -> timedelta:
    calls = p.call_map()
    a, b = calls.get(from_call), calls.get(to_call)
    if a is None or b is None:
        return timedelta(0)
    nm = p.distance_nm(a.port_id, b.port_id) or 0.0
    return timedelta(hours=nm / p.vessel_map()[b.vessel_id].max_speed_kn)


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_ORDER = {"actual_departure": 0, "call_cancelled": 1, "actual_arrival": 2, "actual_berthing": 3}


def actuals_due(state: LiveState, version: Version, until: datetime,
                berthing_delay: BerthingDelay | None = None) -> list[Event]:
    """The actuals (and passes of unserved calls) of the plan in force that fall at or before
    `until` and are not yet in `state`, in time order; apply_events accepts them as a batch."""
    p = state.problem
    calls = p.call_map()
    order = p.voyage_order()
    planned = {c.call_id: c for c in version.plan.calls if c.call_id in calls}
    unserved = {u.call_id for u in version.plan.unserved if u.call_id in calls}
    # When each berth and each vessel is free, as far as the facts and the simulation know.
    berth_free: dict[str, datetime] = {}
    left: dict[str, datetime] = {}  # call id -> its (actual or simulated) departure
    for cid, a in state.actuals.items():
        if a.departure is not None:
            left[cid] = a.departure
    out: list[tuple[datetime, int, Event]] = []

    def emit(t: datetime, e: Event) -> None:
        if t <= until:
            out.append((t, _ORDER[e.type.value], e))

    def previous(cid: str) -> str | None:
        voyage, k = order[cid]
        return voyage.call_ids[k - 1] if k else None

    def ready_to_arrive(cid: str) -> datetime | None:
        """When the vessel can be at this call's port: None while it has not left the call before
        (an unserved call before it is passed, so the call before that counts)."""
        prev = previous(cid)
        while prev is not None and prev in passed:
            prev = previous(prev)
        if prev is None:
            return _EARLIEST  # a first call: its planned arrival, the voyage's ETA
        if prev not in left:
            return None
        return left[prev] + _sail_min(p, prev, cid)

    passed: set[str] = set()
    # Calls in the order the plan starts them (a berth's occupants and a voyage's calls in order);
    # unserved calls go where their vessel reaches them.
    keyed: list[tuple[datetime, str]] = [(a.berth_start, cid) for cid, a in planned.items()]
    for cid in unserved:
        voyage, k = order[cid]
        prev_start = next((planned[x].berth_end for x in reversed(voyage.call_ids[:k]) if x in planned),
                          voyage.eta)
        keyed.append((prev_start, cid))
    for _, cid in sorted(keyed):
        a = state.actual(cid)
        if cid in unserved:
            ready = ready_to_arrive(cid)
            if a.arrival is None and a.berthing is None and ready is not None:
                passed.add(cid)
                emit(max(ready, state.now), CallCancelled(event_id=f"sim-pass-{cid}", call_id=cid,
                                                          source="simulator"))
            continue
        plan = planned[cid]
        if a.departure is not None:
            continue
        if a.berthing is not None:  # at berth: it leaves when the plan (from the facts) says
            assert a.berth_id is not None
            atd = max(plan.berth_end, a.berthing + timedelta(minutes=1))
            left[cid] = atd
            berth_free[a.berth_id] = atd
            emit(atd, ActualDeparture(event_id=f"sim-atd-{cid}", call_id=cid, time=atd, source="simulator"))
            continue
        ready = ready_to_arrive(cid)
        if ready is None:  # the vessel is still at its previous call, beyond what is simulated
            continue
        ata = a.arrival if a.arrival is not None else max(plan.arrival, ready)
        delay = berthing_delay(cid) if berthing_delay is not None else timedelta(0)
        atb = max(plan.berth_start + delay, ata, berth_free.get(plan.berth_id, ata))
        atd = atb + (plan.berth_end - plan.berth_start)
        left[cid] = atd
        berth_free[plan.berth_id] = atd
        if a.arrival is None:
            emit(ata, ActualArrival(event_id=f"sim-ata-{cid}", call_id=cid, time=ata, source="simulator"))
        emit(atb, ActualBerthing(event_id=f"sim-atb-{cid}", call_id=cid, berth_id=plan.berth_id, time=atb,
                                 source="simulator"))
        emit(atd, ActualDeparture(event_id=f"sim-atd-{cid}", call_id=cid, time=atd, source="simulator"))
    out.sort(key=lambda x: (x[0], x[1], x[2].event_id))
    return [e for _, _, e in out]


def all_departed(state: LiveState) -> bool:
    """Every call of the state has left its berth."""
    return all(state.actual(c.id).departure is not None for c in state.problem.calls)


def final_facts_problem(state: LiveState) -> Problem:
    """The problem a clairvoyant planner would have had at the start: the final ETAs (first calls'
    and later calls' reported ETAs as earliest starts), cargo-ready times, calls added and
    cancelled, and the closures and maintenance still in force folded into ports and berths;
    nothing frozen, no previous plan."""
    p = state.problem
    calls = []
    for c in p.calls:
        update: dict[str, object] = {"frozen": None}
        if (eta := state.reported_etas.get(c.id)) is not None:
            update["earliest_start"] = max(eta, c.earliest_start) if c.earliest_start else eta
        calls.append(c.model_copy(update=update))
    ports = state.ports_with_windows()
    return p.model_copy(update={"calls": calls, "ports": ports, "previous_plan": None,
                                "name": f"{p.name} (final facts)"})


class ReportingWorld:
    """The ports' systems as they really report, for tests and soaks: the actuals due by each
    clock while the vessels follow the plan in force (seeded late berthings), a share of the
    berthings at another fitting berth than planned, a share of the departures (and a third of
    that share of the arrivals and berthings) reported one round late, the list shuffled, a few
    events of earlier rounds resent (duplicates), and announcements of every kind among them
    (ETAs, closures and their lifts, maintenance, late trains, handling updates, calls added and
    cancelled). Seeded: the same seed, state and plans give the same rounds."""

    def __init__(self, seed: int, late_share: float = 0.35, other_berth_share: float = 0.1,
                 delay_share: float = 0.3, announcements: int = 3):
        self.rng = random.Random(seed)
        self.delay = seeded_delay(seed, share=delay_share)
        self.late_share, self.other_berth_share = late_share, other_berth_share
        self.announcements = announcements
        self.emitted: set[str] = set()
        self.held: list[Event] = []
        self.sent: list[Event] = []
        self.round = 0

    def reports(self, state: LiveState, version: Version, until: datetime) -> list[Event]:
        """One round of reports up to `until` (its clock event included), in no particular order."""
        rng, self.round = self.rng, self.round + 1
        known = dict(state.actuals)
        for e in self.held:  # the world knows what happened, though its report is late
            if not isinstance(e, ActualArrival | ActualBerthing | ActualDeparture):
                continue
            a = known.get(e.call_id) or CallActuals()
            if isinstance(e, ActualArrival):
                known[e.call_id] = a.model_copy(update={"arrival": e.time})
            elif isinstance(e, ActualBerthing):
                known[e.call_id] = a.model_copy(update={"berthing": e.time, "berth_id": e.berth_id})
            elif isinstance(e, ActualDeparture):
                known[e.call_id] = a.model_copy(update={"departure": e.time})
        seen = state.model_copy(update={"actuals": known})
        due = [e for e in actuals_due(seen, version, until, self.delay) if e.event_id not in self.emitted]
        batch, self.held = list(self.held), []
        for e in due:
            if isinstance(e, ActualBerthing) and rng.random() < self.other_berth_share:
                e = self._elsewhere(state.problem, e)
            self.emitted.add(e.event_id)
            share = self.late_share if isinstance(e, ActualDeparture) else self.late_share / 3
            late = isinstance(e, ActualArrival | ActualBerthing | ActualDeparture) and rng.random() < share
            (self.held if late else batch).append(e)
        batch.append(Clock(event_id=f"clock-{self.round}", now=until, source="simulator"))
        batch += self._announce(state, until)
        batch += rng.sample(self.sent, min(len(self.sent), rng.randint(0, 2)))
        rng.shuffle(batch)
        return batch

    def accepted(self, batch: list[Event]) -> None:
        """The round was taken: its events may be resent later as duplicates."""
        self.sent += batch

    def _elsewhere(self, p: Problem, e: ActualBerthing) -> ActualBerthing:
        c = p.call_map()[e.call_id]
        vessel = p.vessel_map()[c.vessel_id]
        port = next(x for x in p.ports if x.id == c.port_id)
        other = [b.id for b in port.berths if b.id != e.berth_id and berth_fits(c, vessel, b)]
        return e.model_copy(update={"berth_id": self.rng.choice(other)}) if other else e

    def _announce(self, state: LiveState, now: datetime) -> list[Event]:
        rng, p, tag = self.rng, state.problem, f"r{self.round}"
        ahead = [c for c in p.calls
                 if state.actual(c.id).arrival is None and state.actual(c.id).berthing is None]
        out: list[Event] = []
        named: set[str] = set()  # calls a cancellation or an added call of this round names
        for k in range(rng.randint(0, self.announcements)):
            eid = f"{tag}-{k}"
            kind = rng.choice(["eta", "closure", "lift", "maintenance", "cargo", "handling", "add", "cancel"])
            if kind == "eta" and ahead:
                out.append(Eta(event_id=eid, call_id=rng.choice(ahead).id,
                               eta=now + _hours(rng.uniform(0, 30))))
            elif kind == "closure":
                s = now + _hours(rng.uniform(-2, 20))
                out.append(ClosureEvent(event_id=eid, port_id=rng.choice([x.id for x in p.ports]), start=s,
                                        end=s + _hours(rng.uniform(2, 14)), reason="storm"))
            elif kind == "lift" and state.closures:
                out.append(ClosureLifted(event_id=eid, closure_event_id=rng.choice(sorted(state.closures))))
            elif kind == "maintenance":
                s = now + _hours(rng.uniform(0, 24))
                out.append(Maintenance(event_id=eid, berth_id=rng.choice(sorted(p.berths())), start=s,
                                       end=s + _hours(rng.uniform(1, 8))))
            elif kind == "cargo" and ahead:
                out.append(CargoReady(event_id=eid, call_id=rng.choice(ahead).id,
                                      time=now + _hours(rng.uniform(0, 12))))
            elif kind == "handling" and (moored := [cid for cid, a in state.actuals.items() if a.at_berth]):
                out.append(HandlingUpdate(event_id=eid, call_id=rng.choice(sorted(moored)),
                                          remaining_hours=rng.uniform(0, 10)))
            elif kind == "add" and p.voyages:
                voyage = rng.choice(p.voyages)
                again = p.call_map()[voyage.call_ids[-1]]  # the vessel calls there again: a berth it fits
                if again.id in named:
                    continue
                named.add(again.id)
                added = again.model_copy(update={"id": f"ADD-{eid}", "frozen": None, "latest_departure": None,
                                                 "earliest_start": None, "requested_departure": None})
                out.append(CallAdded(event_id=eid, call=added, after_call_id=again.id))
            elif kind == "cancel" and ahead:
                gone = rng.choice(ahead).id
                if gone not in named:  # not a call this round adds after
                    named.add(gone)
                    out.append(CallCancelled(event_id=eid, call_id=gone))
        return out


def _hours(h: float) -> timedelta:
    return timedelta(hours=h)
