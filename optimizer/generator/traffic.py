"""Traffic as *streams* that mirror how the Trans-Caspian sea leg works.

* rail ferries and Ro-Ro ferries shuttling Kuryk–Alat and Aktau–Alat (one voyage per ferry with
  several round trips), plus ferries from Turkmenbashi (outside the model) arriving at Alat;
* container feeders shuttling between the Aktau hub and Alat, and feeders at Alat that take
  containers a rail ferry brought (a transshipment *link*, ferry call -> feeder call);
* tankers loading at the Aktau oil berths for the Baku oil terminals (single calls: Alat has no
  oil berth);
* grain ships loading at Aktau (elevator berth 6 or the dry-cargo berths) and at Kuryk (Sarzha),
  grain trains as earliest starts, some sailing on to Alat to discharge;
* general cargo and dry bulk between the Kazakh ports and Alat.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optimizer.domain import DEFAULT_DISTANCES_NM, CargoKind, Port, Problem, Vessel, VesselType
from optimizer.generator.fleet import Fleet
from optimizer.generator.ports import AKTAU, ALAT, KURYK

# Share of calls per stream (ESTIMATES): Kuryk carries ~45 % of Alat's ferry wagons, Turkmenbashi
# ~42 %, Aktau ~13 % (2017); ferries at Kuryk stay well under its 5-8 a day.
MIX: dict[str, float] = {
    "kuryk_alat_rail_ferry": 0.17,
    "kuryk_alat_ro_ro": 0.13,
    "aktau_alat_rail_ferry": 0.05,
    "turkmenbashi_ferry": 0.10,
    "aktau_alat_feeder": 0.13,
    "alat_transship_feeder": 0.03,
    "aktau_tanker": 0.10,  # ~1.4 a day x 10,000 t: within the 7.5 Mt/yr of the oil berths
    "aktau_grain": 0.07,  # ~4 loadings a week: berth 6 (800 kt/yr) plus the dry-cargo berths
    "kuryk_grain": 0.03,
    "dry_general": 0.14,
}
WEIGHT = {"rail_ferry": 3, "ro_ro": 2, "container": 2}  # others 1: ferries carry rail connections


@dataclass(frozen=True)
class CallSizes:
    """What one call handles, drawn uniformly from these ranges (shared/domain/caspian.md: fleet,
    handling and sailing; the rest ESTIMATES). A capacity study states and may override them."""

    feeder_teu: tuple[float, float] = (260.0, 480.0)  # TEU handled per Aktau-Alat feeder call (ESTIMATE)
    tanker_t: tuple[float, float] = (8000.0, 12000.0)  # ~10,000 t loads at Aktau today
    grain_t: tuple[float, float] = (4000.0, 5500.0)  # ~5,000 dwt grain ships
    dry_bulk_t: tuple[float, float] = (3000.0, 5000.0)  # ESTIMATE
    general_h: tuple[float, float] = (14.0, 30.0)  # general cargo hours at berth (ESTIMATE)
    rail_ferry_single_h: tuple[float, float] = (6.0, 8.0)  # Kuryk: 6-8 h single deck
    rail_ferry_double_h: tuple[float, float] = (10.0, 12.0)  # Kuryk: 10-12 h double deck
    ro_ro_h: tuple[float, float] = (5.0, 8.0)  # ESTIMATE

    @staticmethod
    def mean(r: tuple[float, float]) -> float:
        return (r[0] + r[1]) / 2.0


@dataclass
class _Call:
    id: str
    vessel: Vessel
    port: str
    cargo: str
    hours: float | None
    quantity: float | None
    arrive: float  # nominal times in hours from the horizon start (no queue, service speed)
    start: float
    end: float
    stream: str
    earliest: float | None = None
    requested: float | None = None
    hard_deadline: bool = False


def _distance(a: str, b: str) -> float:
    return DEFAULT_DISTANCES_NM[frozenset({a, b})]


def quantize(x: float, step: float) -> float:
    return round(x / step) * step


class Builder:
    """Collects vessels, calls, voyages and links while the streams are generated."""

    def __init__(self, hours: float, rng: random.Random, ports: list[Port], sizes: CallSizes | None = None):
        self.H = hours
        self.sizes = sizes or CallSizes()
        self.rng = rng
        self.ports = {p.id: p for p in ports}
        self.fleet = Fleet(rng)
        self.calls: list[_Call] = []
        self.voyages: list[tuple[Vessel, float, list[_Call]]] = []
        self.links: list[dict[str, Any]] = []
        self._rate_cache: dict[tuple[str, str], float] = {}

    # -- nominal handling ----------------------------------------------------------------------

    def best_rate(self, port: str, cargo: str) -> float:
        key = (port, cargo)
        if key not in self._rate_cache:
            rates = [b.rates[CargoKind(cargo)] * b.productivity for b in self.ports[port].berths
                     if CargoKind(cargo) in b.rates]
            self._rate_cache[key] = max(rates)
        return self._rate_cache[key]

    def call(self, vessel: Vessel, k: int, port: str, cargo: str, arrive: float, stream: str, *,
             hours: float | None = None, quantity: float | None = None) -> _Call:
        dur = hours if hours is not None else (quantity or 0.0) / self.best_rate(port, cargo)
        c = _Call(id=f"{vessel.id}-{k + 1:02d}-{port}", vessel=vessel, port=port, cargo=cargo, hours=hours,
                  quantity=quantity, arrive=arrive, start=arrive, end=arrive + dur, stream=stream)
        self.calls.append(c)
        return c

    def sail(self, vessel: Vessel, after: _Call, to_port: str) -> float:
        """Nominal arrival at `to_port` after `after`: service speed plus pilotage and weather."""
        return after.end + _distance(after.port, to_port) / vessel.service_speed_kn + self.rng.uniform(0, 1.5)

    def voyage(self, vessel: Vessel, calls: list[_Call]) -> None:
        self.voyages.append((vessel, calls[0].arrive, calls))

    def eta(self, span: float = 0.0) -> float:
        """A first arrival inside the horizon; `span` keeps multi-call voyages mostly inside it."""
        hi = max(self.H * 0.3, self.H - span, 1.0)
        return self.rng.uniform(0, min(hi, self.H - 1.0 if self.H > 2 else self.H))

    def hold(self, c: _Call, t: float) -> None:
        """Cargo ready at `t` (a train, a block train): the call's earliest start, when inside the
        horizon; the nominal times move with it."""
        if t <= 0:
            return
        c.earliest = t
        if t > c.start:
            c.end += t - c.start
            c.start = t

    def soft_due(self, c: _Call, p: float, lo: float, hi: float) -> None:
        if self.rng.random() < p:
            c.requested = c.end + self.rng.uniform(lo, hi)

    # -- streams -------------------------------------------------------------------------------

    def ferry_hours(self, vessel: Vessel) -> float:
        """Rail ferry: 6-8 h single deck, 10-12 h double deck (Kuryk); Ro-Ro 5-8 h (ESTIMATE)."""
        z = self.sizes
        if vessel.type == VesselType.RAIL_FERRY:
            double = self.fleet.deck[vessel.id] == "double"
            lo, hi = z.rail_ferry_double_h if double else z.rail_ferry_single_h
        else:
            lo, hi = z.ro_ro_h
        return quantize(self.rng.uniform(lo, hi), 0.25)

    def shuttle(self, stream: str, kind: str, ports: tuple[str, str], cargo: str, target: int) -> None:
        """Vessels going back and forth between two ports, several round trips each."""
        if target <= 0:
            return
        rng = self.rng
        dist = _distance(*ports)
        typical = 8.0 if cargo in ("rail_ferry", "ro_ro") else 16.0
        cycle = 2 * (typical + dist / 11.5 + 0.75)
        per_vessel = max(1.0, 2 * self.H / cycle)
        n = max(1, round(target / per_vessel))
        made = 0
        j = 0
        while made < target:
            vessel = self.fleet.new(kind)
            t0 = ((j + rng.uniform(0.1, 0.9)) / n) * cycle / 2 if j < n else rng.uniform(0, self.H / 2)
            t0 = min(t0, self.H * 0.9)
            j += 1
            side = rng.randrange(2)
            calls: list[_Call] = []
            arrive = t0
            while made + len(calls) < target:
                if calls and arrive > self.H - 4:
                    break
                port = ports[side]
                if cargo == "container":
                    c = self.call(vessel, len(calls), port, cargo, arrive, stream,
                                  quantity=quantize(rng.uniform(*self.sizes.feeder_teu), 10))
                    if port == AKTAU and rng.random() < 0.25:  # block train from China not in yet
                        self.hold(c, arrive + rng.uniform(0, 6))
                    self.soft_due(c, 0.85, 4, 12)
                else:
                    c = self.call(vessel, len(calls), port, cargo, arrive, stream,
                                  hours=self.ferry_hours(vessel))
                    if port != ALAT and rng.random() < 0.3:  # wagons still being formed / cleared
                        self.hold(c, arrive + rng.uniform(0, 4))
                    self.soft_due(c, 0.9, 2, 6)
                calls.append(c)
                side ^= 1
                arrive = self.sail(vessel, c, ports[side])
            self.voyage(vessel, calls)
            made += len(calls)

    def turkmenbashi_ferries(self, target: int) -> None:
        """Ferries from Turkmenbashi (not modelled) calling at Alat: one call each."""
        for _ in range(target):
            kind = "rail_ferry" if self.rng.random() < 0.8 else "ro_ro"
            vessel = self.fleet.new(kind)
            c = self.call(vessel, 0, ALAT, kind, self.eta(), "turkmenbashi_ferry",
                          hours=self.ferry_hours(vessel))
            self.soft_due(c, 0.9, 2, 6)
            self.voyage(vessel, [c])

    def transship_feeders(self, target: int) -> None:
        """Feeders at Alat taking containers a rail ferry brought: linked after that ferry call."""
        rng = self.rng
        ferries = [c for c in self.calls if c.port == ALAT and c.cargo == "rail_ferry"
                   and c.stream != "turkmenbashi_ferry" and c.end < self.H - 12]
        for _ in range(target):
            vessel = self.fleet.new("feeder")
            source = rng.choice(ferries) if ferries else None
            if source is None:
                eta = self.eta()
            else:
                eta = min(max(source.end + rng.uniform(-6, 10), 0.0), self.H - 1)
            c = self.call(vessel, 0, ALAT, "container", eta, "alat_transship_feeder",
                          quantity=quantize(rng.uniform(150, 300), 10))
            self.voyage(vessel, [c])
            gap = quantize(rng.uniform(3, 6), 0.5)
            if source is not None and source.end + gap > c.start:
                c.end += source.end + gap - c.start
                c.start = source.end + gap
            self.soft_due(c, 0.85, 6, 14)
            if source is not None:
                self.links.append({"before": source.id, "after": c.id, "min_gap_hours": gap,
                                   "reason": f"transshipment: containers from ferry {source.vessel.name} "
                                             f"({source.id}) go on by feeder {vessel.name}"})

    def tankers(self, target: int) -> None:
        """Tankers loading ~10,000 t at the Aktau oil berths, bound for the Baku oil terminals."""
        for _ in range(target):
            vessel = self.fleet.new("tanker")
            c = self.call(vessel, 0, AKTAU, "liquid_bulk", self.eta(), "aktau_tanker",
                          quantity=quantize(self.rng.uniform(*self.sizes.tanker_t), 100))
            self.soft_due(c, 0.9, 6, 18)
            c.hard_deadline = self.rng.random() < 0.3  # charter cancelling date
            self.voyage(vessel, [c])

    def grain(self, stream: str, port: str, target: int) -> None:
        """~5,000 dwt grain ships loading from trains, `target` calls in all; about half discharge at
        Alat."""
        made = 0
        while made < target:
            made += len(self._grain_ship(stream, port, can_discharge=made + 2 <= target))

    def grain_tonnes(self, stream: str, port: str, tonnes: float) -> None:
        """Grain ships loading `tonnes` in all at `port` (a throughput target rather than a number of
        calls): ships are added while at least half a mean lot (2,375 t with the default lots) is
        still to load, so the total lands within half a mean lot below and the largest lot less half
        a mean lot above `tonnes`."""
        loaded = 0.0
        half = CallSizes.mean(self.sizes.grain_t) / 2.0
        while tonnes - loaded >= half:
            loaded += self._grain_ship(stream, port, can_discharge=True)[0].quantity or 0.0

    def _grain_ship(self, stream: str, port: str, *, can_discharge: bool) -> list[_Call]:
        """One ~5,000 dwt grain ship: a lot of 4,000-5,500 t loaded when its train is in, and with
        `can_discharge`, half the time a second call discharging it at Alat."""
        rng = self.rng
        vessel = self.fleet.new("bulk")
        qty = quantize(rng.uniform(*self.sizes.grain_t), 50)
        two = can_discharge and rng.random() < 0.5
        span = qty / self.best_rate(port, "grain") + 24 + (30 if two else 0)
        load = self.call(vessel, 0, port, "grain", self.eta(span), stream, quantity=qty)
        self.hold(load, load.arrive + rng.uniform(-24, 12))  # the grain train's arrival
        self.soft_due(load, 0.8, 12, 36)
        calls = [load]
        if two:
            dis = self.call(vessel, 1, ALAT, "grain", self.sail(vessel, load, ALAT), stream, quantity=qty)
            self.soft_due(dis, 0.8, 12, 36)
            calls.append(dis)
        self.voyage(vessel, calls)
        return calls

    def dry_general(self, target: int) -> None:
        """General cargo and dry bulk between the Kazakh ports and Alat, either way."""
        rng = self.rng
        made = 0
        while made < target:
            bulk = rng.random() < 0.6
            vessel = self.fleet.new("bulk" if bulk else "general")
            cargo = "dry_bulk" if bulk else "general"
            kz = AKTAU if rng.random() < 0.6 else KURYK
            ports = [kz, ALAT] if rng.random() < 0.7 else [ALAT, kz]
            if made + 2 > target or rng.random() < 0.35:
                ports = ports[:1]
            qty = quantize(rng.uniform(*self.sizes.dry_bulk_t), 50) if bulk else None
            calls: list[_Call] = []
            arrive = self.eta(30.0 * len(ports))
            for k, port in enumerate(ports):
                hours = None if bulk else quantize(rng.uniform(*self.sizes.general_h), 0.5)
                c = self.call(vessel, k, port, cargo, arrive, "dry_general", hours=hours, quantity=qty)
                self.soft_due(c, 0.8, 8, 24)
                calls.append(c)
                if k + 1 < len(ports):
                    arrive = self.sail(vessel, c, ports[k + 1])
            self.voyage(vessel, calls)
            made += len(calls)

    def grain_pairs(self, port: str, p: float, window: float = 36.0) -> None:
        """A grain train split between two ships stays on one rail front: its remainder is shunted
        to the second ship only after the first has loaded."""
        rng = self.rng
        loads = sorted((c for c in self.calls if c.port == port and c.cargo == "grain"
                        and c.id.split("-")[1] == "01"), key=lambda c: c.start)
        i = 0
        while i + 1 < len(loads):
            a, b = loads[i], loads[i + 1]
            if b.start - a.start <= window and rng.random() < p:
                self.links.append({"before": a.id, "after": b.id, "min_gap_hours": 2.0,
                                   "reason": f"rail: grain train split between {a.vessel.name} and "
                                             f"{b.vessel.name}; the remainder is shunted after {a.id} "
                                             "has loaded (2 h)"})
                i += 2
            else:
                i += 1


def allocate(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Split `total` over the streams in proportion to their shares (largest remainder)."""
    s = sum(shares.values())
    raw = {k: total * v / s for k, v in shares.items()}
    out = {k: int(x) for k, x in raw.items()}
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], list(raw).index(k)))[: total - sum(out.values())]:
        out[k] += 1
    return out


def build_traffic(b: Builder, targets: Mapping[str, int]) -> None:
    b.shuttle("kuryk_alat_rail_ferry", "rail_ferry", (KURYK, ALAT), "rail_ferry",
              targets.get("kuryk_alat_rail_ferry", 0))
    b.shuttle("kuryk_alat_ro_ro", "ro_ro", (KURYK, ALAT), "ro_ro", targets.get("kuryk_alat_ro_ro", 0))
    b.shuttle("aktau_alat_rail_ferry", "rail_ferry", (AKTAU, ALAT), "rail_ferry",
              targets.get("aktau_alat_rail_ferry", 0))
    b.turkmenbashi_ferries(targets.get("turkmenbashi_ferry", 0))
    b.shuttle("aktau_alat_feeder", "feeder", (AKTAU, ALAT), "container", targets.get("aktau_alat_feeder", 0))
    b.transship_feeders(targets.get("alat_transship_feeder", 0))
    b.tankers(targets.get("aktau_tanker", 0))
    b.grain("aktau_grain", AKTAU, targets.get("aktau_grain", 0))
    b.grain("kuryk_grain", KURYK, targets.get("kuryk_grain", 0))
    b.dry_general(targets.get("dry_general", 0))

def traffic_summary(problem: Problem) -> dict[str, dict[str, int]]:
    """Calls per port and vessel type, for descriptions and reports."""
    vessels = problem.vessel_map()
    out: dict[str, Counter[str]] = {p.id: Counter() for p in problem.ports}
    for c in problem.calls:
        out[c.port_id][vessels[c.vessel_id].type.value] += 1
    return {pid: dict(sorted(cnt.items())) for pid, cnt in out.items()}


def traffic_text(problem: Problem, sep: str = ": ") -> str:
    """Calls per port and vessel type in words, for descriptions."""
    parts = []
    for pid, cnt in traffic_summary(problem).items():
        inner = ", ".join(f"{n} {t.replace('_', ' ')}" for t, n in cnt.items())
        parts.append(f"{pid}{sep}{sum(cnt.values())} calls ({inner})")
    return "; ".join(parts)

