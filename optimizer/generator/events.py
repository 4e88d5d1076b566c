"""A seeded event stream for a problem's week, for `portsync replay` (instances/caspian/week-events.jsonl).

What the ports report over the horizon, besides the actuals (those come from the simulator at
replay time: the vessels follow the plan in force):

- a `clock` event every 3 h;
- ETA noise: each voyage's first-call ETA is updated 24 h and 6 h before it (only the updates
  reported at or after the horizon start, so voyages due in the first day get one or none), each
  update the original ETA plus a draw of N(mu=+1 h, sigma=2 h) truncated to [-3 h, +8 h]
  (redrawn until inside), rounded to 5 min;
- a storm announced 12 h ahead that closes Kuryk and Alat (two `closure` events, 20 h each); 10 h
  into it Alat's is re-announced shorter (12 h in all) and the first announcement lifted;
- a cancelled ferry (the first call of a ferry voyage due 1.5-4 days in, cancelled 18 h ahead);
- two late grain trains (`cargo_ready` 6-12 h later than the call's earliest start, reported
  12 h before it);
- one berth maintenance (8 h, announced 24 h ahead);
- one call added (a ferry makes one more crossing after its last call, reported on day 3).

No `handling_update`: it can only be given for a call at berth at that moment, which depends on
the plan in force, not on the problem alone.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from optimizer.domain import Problem
from optimizer.live.events import (
    CallAdded,
    CallCancelled,
    CargoReady,
    Clock,
    ClosureEvent,
    ClosureLifted,
    Event,
    Maintenance,
)
from optimizer.live.events import Eta as EtaEvent

CLOCK_STEP = timedelta(hours=3)
ETA_MU_H, ETA_SIGMA_H, ETA_LO_H, ETA_HI_H = 1.0, 2.0, -3.0, 8.0
ETA_LEADS = (timedelta(hours=24), timedelta(hours=6))
STORM_PORTS = ("KZKUR", "AZBAK")


def _round5(t: datetime) -> datetime:
    base = t.replace(second=0, microsecond=0)
    return base - timedelta(minutes=base.minute % 5)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y%m%dT%H%M")


def eta_noise(rng: random.Random) -> timedelta:
    """N(+1 h, 2 h) truncated to [-3 h, +8 h], redrawn until inside."""
    while True:
        x = rng.gauss(ETA_MU_H, ETA_SIGMA_H)
        if ETA_LO_H <= x <= ETA_HI_H:
            return timedelta(hours=x)


def _is_ferry(problem: Problem, vessel_id: str) -> bool:
    return problem.vessel_map()[vessel_id].type.value in ("rail_ferry", "ro_ro", "ro_pax")


def week_events(problem: Problem, seed: int = 0, storm_at_hours: float = 30.0) -> list[Event]:
    """The stream, in the order of its report times (the same for a seed)."""
    rng = random.Random(f"portsync-events-{seed}")
    t0, t_end = problem.horizon_start, problem.horizon_end
    items: list[tuple[datetime, int, Event]] = []

    def add(t: datetime, e: Event, order: int = 1) -> None:
        items.append((t, order, e))

    t = t0 + CLOCK_STEP
    while t <= t_end:
        add(t, Clock(event_id=f"clock-{_stamp(t)}", now=t, source="clock"), 0)
        t += CLOCK_STEP
    calls = problem.call_map()
    voyages = sorted(problem.voyages, key=lambda v: (v.eta, v.vessel_id))

    # A cancelled ferry: the first call of a ferry voyage with more calls after it.
    ferry_voyages = [v for v in voyages if _is_ferry(problem, v.vessel_id) and len(v.call_ids) >= 2]
    cancel_pool = [v for v in ferry_voyages if t0 + timedelta(hours=36) <= v.eta <= t0 + timedelta(hours=96)]
    cancelled = rng.choice(cancel_pool) if cancel_pool else None
    if cancelled is not None:
        cid = cancelled.call_ids[0]
        add(cancelled.eta - timedelta(hours=18),
            CallCancelled(event_id=f"cancel-{cid}", call_id=cid, source="agent",
                          reported_at=cancelled.eta - timedelta(hours=18)))

    # ETA noise on every other voyage.
    for v in voyages:
        if v is cancelled:
            continue
        for k, lead in enumerate(ETA_LEADS):
            reported = v.eta - lead
            if reported < t0:
                continue
            eta = _round5(v.eta + eta_noise(rng))
            add(reported, EtaEvent(event_id=f"eta-{v.vessel_id}-{k + 1}", call_id=v.call_ids[0], eta=eta,
                                   source="carrier", reported_at=reported))

    # The storm: Kuryk and Alat, announced 12 h ahead; Alat's re-announced shorter 10 h in.
    s0 = t0 + timedelta(hours=storm_at_hours)
    s1 = s0 + timedelta(hours=20)
    told = s0 - timedelta(hours=12)
    for pid in STORM_PORTS:
        add(told, ClosureEvent(event_id=f"storm-{pid}", port_id=pid, start=s0, end=s1,
                               source="harbour master", reported_at=told,
                               reason="storm: NW gale announced 12 h ahead (replay stream)"))
    later = s0 + timedelta(hours=10)
    add(later, ClosureEvent(event_id="storm-AZBAK-short", port_id="AZBAK", start=s0,
                            end=s0 + timedelta(hours=12),
                            source="harbour master", reason="storm easing at Alat: re-announced shorter",
                            reported_at=later))
    add(later, ClosureLifted(event_id="storm-AZBAK-lifted", closure_event_id="storm-AZBAK",
                             source="harbour master", reported_at=later), 2)

    # Two late grain trains.
    grain = [c for c in problem.calls if c.cargo.value == "grain" and c.earliest_start is not None
             and c.earliest_start >= t0 + timedelta(hours=24)
             and not (cancelled is not None and c.id in cancelled.call_ids)]
    for c in rng.sample(grain, min(2, len(grain))):
        assert c.earliest_start is not None
        late = _round5(c.earliest_start + timedelta(hours=rng.uniform(6, 12)))
        reported = c.earliest_start - timedelta(hours=12)
        add(reported, CargoReady(event_id=f"train-late-{c.id}", call_id=c.id, time=late, source="railway",
                                 reported_at=reported))

    # One maintenance window.
    berths = [b for p in problem.ports if p.id in ("KZAAU", "AZBAK") for b in p.berths]
    b = rng.choice(berths)
    m0 = t0 + timedelta(days=4, hours=8)
    add(m0 - timedelta(hours=24), Maintenance(event_id=f"maint-{b.id}", berth_id=b.id, start=m0,
                                              end=m0 + timedelta(hours=8), source="terminal",
                                              reason="fender repair (replay stream)",
                                              reported_at=m0 - timedelta(hours=24)))

    # One call added: a ferry makes one more crossing after its last call.
    short = [v for v in ferry_voyages if v is not cancelled and len(v.call_ids) <= 3
             and v.eta <= t0 + timedelta(days=4)]
    if short:
        v = rng.choice(short)
        last, back = calls[v.call_ids[-1]], calls[v.call_ids[-2]]
        new_id = f"{v.vessel_id}-{len(v.call_ids) + 1:02d}-{back.port_id}"
        if new_id not in calls:
            new = back.model_copy(update={"id": new_id, "earliest_start": None, "requested_departure": None,
                                          "latest_departure": None, "frozen": None})
            reported = t0 + timedelta(days=3)
            add(reported, CallAdded(event_id=f"added-{new_id}", call=new, after_call_id=last.id,
                                    source="agent",
                                    reported_at=reported))
    items.sort(key=lambda x: (x[0], x[1], x[2].event_id))
    return [e for _, _, e in items]
