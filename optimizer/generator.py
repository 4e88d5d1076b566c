"""Seeded Caspian-like scenarios: the three ports as published, a plausible fleet, and its traffic.

Facts come from ``shared/domain/caspian.md``; every number that was not published is marked
ESTIMATE here and in the generated problem's description.

Traffic is built as *streams* that mirror how the Trans-Caspian sea leg works:

* rail ferries and Ro-Ro ferries shuttling Kuryk–Alat and Aktau–Alat (one voyage per ferry with
  several round trips), plus ferries from Turkmenbashi (outside the model) arriving at Alat;
* container feeders shuttling between the Aktau hub and Alat, and feeders at Alat that take
  containers a rail ferry brought (a transshipment *link*, ferry call -> feeder call);
* tankers loading at the Aktau oil berths for the Baku oil terminals (single calls: Alat has no
  oil berth);
* grain ships loading at Aktau (elevator berth 6 or the dry-cargo berths) and at Kuryk (Sarzha),
  grain trains as earliest starts, some sailing on to Alat to discharge;
* general cargo and dry bulk between the Kazakh ports and Alat.

Above about 16 calls a day the three real ports would be overrun (they handle roughly 15–20 calls
a day together), so ``generate`` then gives each port copies of its berths (``berth_scale``): a
Caspian-like basin at a larger scale that keeps queues at a realistic level instead of inventing
absurd congestion. Weather closures are correlated across the basin: Azerbaijan closes its ports
at once; Kuryk, the most exposed, closes a little earlier and opens later; Aktau closes in some
storms, for a shorter time.

Every hard latest departure is set after a first-come-first-served reference plan at service speed
that meets every constraint, so a generated problem is never infeasible by construction.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from optimizer.domain import (
    DEFAULT_DISTANCES_NM,
    Berth,
    CargoKind,
    Port,
    Problem,
    Vessel,
    VesselType,
    berth_fits,
    handling_hours,
)
from optimizer.validation import load_problem

__all__ = [
    "AKTAU",
    "ALAT",
    "DEFAULT_START",
    "KURYK",
    "auto_berth_scale",
    "caspian_fleet",
    "caspian_ports",
    "generate",
    "grain_rush",
    "imo_with_check_digit",
    "traffic_summary",
]

AKTAU, KURYK, ALAT = "KZAAU", "KZKUR", "AZBAK"
TIMEZONE = {AKTAU: "Asia/Aqtau", KURYK: "Asia/Aqtau", ALAT: "Asia/Baku"}
DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)
CALLS_PER_DAY_AT_SCALE_1 = 16.0  # ESTIMATE: what the real berths carry at a realistic load

# -- ports ----------------------------------------------------------------------------------------

_DRY = ("general", "dry_bulk", "grain")


@dataclass(frozen=True)
class _BerthSpec:
    id: str
    name: str
    length_m: float
    max_draft_m: float
    kinds: tuple[str, ...]
    rates: Mapping[str, float] = field(default_factory=dict)
    productivity: float = 1.0


# Aktau: berth table of the TACIS masterplan (lengths); drafts ESTIMATE for today's sea level
# (~6 m dry cargo, ~7 m oil). Berth 7 is not in the published table. Rates are ESTIMATES.
_AKTAU: tuple[_BerthSpec, ...] = (
    _BerthSpec("B01", "Berth 1 (dry cargo)", 150, 6.0, _DRY, {"dry_bulk": 150, "grain": 90}),
    _BerthSpec("B02", "Berth 2 (dry cargo)", 150, 6.0, _DRY, {"dry_bulk": 150, "grain": 90}),
    _BerthSpec("B03", "Berth 3 (dry cargo)", 100, 6.0, _DRY, {"dry_bulk": 150, "grain": 90}),
    _BerthSpec("B04", "Berth 4 (oil)", 205, 7.0, ("liquid_bulk",), {"liquid_bulk": 500}),
    _BerthSpec("B05", "Berth 5 (oil)", 205, 7.0, ("liquid_bulk",), {"liquid_bulk": 500}),
    _BerthSpec("B06", "Berth 6 (grain terminal)", 150, 6.0, ("grain",), {"grain": 220}),
    # The masterplan lists 100 m of quay; the 154.5 m ferries moor stern-to at the link-span, so
    # the model uses 160 m (ESTIMATE).
    _BerthSpec("B08", "Berth 8 (rail ferry)", 160, 6.0, ("rail_ferry", "ro_ro")),
    _BerthSpec("B09", "Berth 9 (oil)", 175, 7.0, ("liquid_bulk",), {"liquid_bulk": 420}),
    _BerthSpec("B10", "Berth 10 (oil)", 190, 7.0, ("liquid_bulk",), {"liquid_bulk": 420}),
    _BerthSpec("CT", "Container hub berth", 200, 6.5, ("container", "general"), {"container": 22}),
)
# Kuryk: ferry complex (2 rail-ferry, 2 Ro-Ro) and the Sarzha terminal; lengths ESTIMATE ~160-175 m,
# draft ESTIMATE 7 m (8 m depth after the 2024 dredging).
_KURYK: tuple[_BerthSpec, ...] = (
    _BerthSpec("RF1", "Rail-ferry berth 1", 175, 7.0, ("rail_ferry", "ro_ro")),
    _BerthSpec("RF2", "Rail-ferry berth 2", 175, 7.0, ("rail_ferry", "ro_ro")),
    _BerthSpec("RR1", "Ro-Ro berth 1", 165, 7.0, ("ro_ro",)),
    _BerthSpec("RR2", "Ro-Ro berth 2", 165, 7.0, ("ro_ro",)),
    _BerthSpec("SZ1", "Sarzha berth 1 (general cargo)", 170, 7.0, ("general", "dry_bulk"), {"dry_bulk": 130}),
    _BerthSpec("SZ2", "Sarzha berth 2 (grain)", 170, 7.0, ("grain", "general"), {"grain": 140}),
)
# Alat: 7 dry-cargo / container berths, 2 rail-ferry, 2 Ro-Ro / Ro-Pax (the auxiliary berth is left
# out); ~2,100 m of quay over 12 berths gives ~175 m each (ESTIMATE), draft ESTIMATE 7 m.
_ALAT: tuple[_BerthSpec, ...] = (
    *(_BerthSpec(f"B0{i}", f"Berth {i} (container / dry cargo)", 175, 7.0,
                 ("container", "general", "dry_bulk"), {"container": 20, "dry_bulk": 140})
      for i in (1, 2, 3)),
    *(_BerthSpec(f"B0{i}", f"Berth {i} (dry cargo)", 175, 7.0, _DRY, {"dry_bulk": 160, "grain": 150})
      for i in (4, 5, 6, 7)),
    _BerthSpec("RF1", "Rail-ferry berth 1", 175, 7.0, ("rail_ferry", "ro_ro")),
    _BerthSpec("RF2", "Rail-ferry berth 2", 175, 7.0, ("rail_ferry", "ro_ro")),
    _BerthSpec("RR1", "Ro-Ro / Ro-Pax berth 1", 175, 7.0, ("ro_ro",)),
    _BerthSpec("RR2", "Ro-Ro / Ro-Pax berth 2", 175, 7.0, ("ro_ro",)),
)
_PORTS: tuple[tuple[str, str, tuple[_BerthSpec, ...]], ...] = (
    (AKTAU, "Aktau", _AKTAU),
    (KURYK, "Kuryk", _KURYK),
    (ALAT, "Port of Baku (Alat)", _ALAT),
)


def caspian_ports(berth_scale: int = 1) -> list[Port]:
    """Aktau, Kuryk and Alat with their berths; `berth_scale` > 1 adds copies of every berth."""
    if berth_scale < 1:
        raise ValueError(f"berth_scale must be at least 1, got {berth_scale}")
    ports = []
    for pid, name, specs in _PORTS:
        berths = []
        for copy in range(1, berth_scale + 1):
            for s in specs:
                suffix = "" if copy == 1 else f"-{copy}"
                berths.append(Berth(
                    id=f"{pid}-{s.id}{suffix}",
                    name=s.name if copy == 1 else f"{s.name}, scale copy {copy}",
                    length_m=s.length_m, max_draft_m=s.max_draft_m,
                    cargo_kinds=[CargoKind(k) for k in s.kinds],
                    productivity=s.productivity,
                    rates={CargoKind(k): r for k, r in s.rates.items()},
                ))
        ports.append(Port(id=pid, name=name, timezone=TIMEZONE[pid], berths=berths))
    return ports


def auto_berth_scale(calls: int, days: float) -> int:
    """Copies of the real berths needed to carry `calls` over `days` at a realistic load."""
    return max(1, math.ceil(calls / max(days, 1e-9) / CALLS_PER_DAY_AT_SCALE_1 - 1e-9))


# -- fleet ----------------------------------------------------------------------------------------

_AZ_NAMES = (
    "Absheron", "Shirvan", "Gabala", "Sheki", "Zagatala", "Guba", "Lankaran", "Shamakhi", "Gusar",
    "Goychay", "Agdash", "Ismayilli", "Astara", "Masalli", "Khachmaz", "Mingachevir", "Gadabay",
    "Tovuz", "Ujar", "Sabirabad", "Salyan", "Neftchala", "Siyazan", "Khizi",
)
_KZ_NAMES = (
    "Aral", "Zhaiyk", "Mangystau", "Beineu", "Turan", "Saryarka", "Altai", "Tobol", "Irtysh",
    "Esil", "Karatau", "Ustyurt", "Tulpar", "Buzachi", "Tupkaragan", "Karakiya", "Zhetybai",
    "Shetpe", "Fort Shevchenko", "Bautino", "Kalamkas", "Emba", "Sagyz", "Ilek",
)


@dataclass(frozen=True)
class _Kind:
    """What a kind of vessel looks like on the Caspian (caspian.md; drafts are ESTIMATES)."""

    type: VesselType
    prefix: str
    length: tuple[float, float]
    draft: tuple[float, float]
    min_kn: float
    service_kn: tuple[float, float]
    max_kn: tuple[float, float]
    az_share: float  # share under the Azerbaijani flag (MID 423); the rest Kazakh (MID 436)
    label: str


_KINDS: dict[str, _Kind] = {
    # ASCO-type rail ferry / Ro-Pax: LOA 154.5 m, 13.9-14 kn max.
    "rail_ferry": _Kind(VesselType.RAIL_FERRY, "RF", (154.5, 154.5), (4.4, 4.8), 8.0, (11.0, 12.0),
                        (13.9, 14.0), 0.8, "rail ferry"),
    "ro_ro": _Kind(VesselType.RO_RO, "RR", (140.0, 154.5), (4.2, 4.8), 8.0, (11.5, 12.5), (13.5, 14.0),
                   0.5, "Ro-Ro ferry"),
    # Container feeder ~113 m, 225-314 TEU.
    "feeder": _Kind(VesselType.CONTAINER_FEEDER, "FD", (105.0, 120.0), (4.8, 5.4), 8.0, (11.0, 12.0),
                    (12.5, 13.0), 0.4, "container feeder"),
    # Tanker 8,000-12,400 dwt.
    "tanker": _Kind(VesselType.TANKER, "TK", (125.0, 150.0), (5.6, 6.5), 7.0, (10.5, 11.5), (12.0, 12.5),
                    0.4, "tanker"),
    # Grain / dry bulk ~5,000 dwt (river-sea type).
    "bulk": _Kind(VesselType.BULK_CARRIER, "BC", (96.0, 140.0), (4.0, 5.6), 7.0, (9.5, 10.5), (11.0, 11.5),
                  0.5, "bulk carrier"),
    "general": _Kind(VesselType.GENERAL_CARGO, "GC", (85.0, 125.0), (3.8, 5.2), 7.0, (9.5, 10.5),
                     (11.0, 11.5), 0.5, "general cargo ship"),
}


def imo_with_check_digit(six_digits: int) -> str:
    """The 7-digit IMO number whose first six digits are `six_digits` (100000..999999)."""
    if not 100000 <= six_digits <= 999999:
        raise ValueError("an IMO number has six digits before its check digit")
    body = f"{six_digits:06d}"
    check = sum(int(d) * w for d, w in zip(body, (7, 6, 5, 4, 3, 2), strict=True)) % 10
    return f"{body}{check}"


class _Fleet:
    """Hands out vessels with unique ids, names, IMO numbers and MMSIs."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.count: Counter[str] = Counter()
        self.names: Counter[str] = Counter()
        self.imos: set[str] = set()
        self.mmsis: set[str] = set()
        self.vessels: list[Vessel] = []
        self.deck: dict[str, str] = {}  # rail ferry id -> "single" | "double"
        self.kind_of: dict[str, str] = {}

    def new(self, kind_key: str) -> Vessel:
        rng = self.rng
        k = _KINDS[kind_key]
        self.count[k.prefix] += 1
        vid = f"{k.prefix}{self.count[k.prefix]:03d}"
        az = rng.random() < k.az_share
        base = rng.choice(_AZ_NAMES if az else _KZ_NAMES)
        self.names[base] += 1
        name = base if self.names[base] == 1 else f"{base} {self.names[base]}"
        while True:
            imo = imo_with_check_digit(rng.randrange(800000, 1000000))
            if imo not in self.imos:
                break
        self.imos.add(imo)
        while True:
            mmsi = f"{423 if az else 436}{rng.randrange(10**6):06d}"
            if mmsi not in self.mmsis:
                break
        self.mmsis.add(mmsi)
        length = round(rng.uniform(*k.length), 1)
        draft = round(rng.uniform(*k.draft), 1)
        v = Vessel(
            id=vid, name=name, imo=imo, mmsi=mmsi, type=k.type, length_m=length, draft_m=draft,
            min_speed_kn=k.min_kn, service_speed_kn=round(rng.uniform(*k.service_kn), 1),
            max_speed_kn=round(rng.uniform(*k.max_kn), 1),
        )
        self.vessels.append(v)
        self.kind_of[vid] = kind_key
        if kind_key == "rail_ferry":
            self.deck[vid] = "double" if rng.random() < 0.3 else "single"
        return v


_DEFAULT_FLEET = {"rail_ferry": 8, "ro_ro": 4, "feeder": 4, "tanker": 6, "bulk": 8, "general": 4}


def caspian_fleet(counts: Mapping[str, int] | None = None, seed: int = 0) -> list[Vessel]:
    """A fleet of Caspian-type vessels; `counts` by kind: rail_ferry, ro_ro, feeder, tanker, bulk,
    general (a representative mix when None)."""
    counts = dict(_DEFAULT_FLEET if counts is None else counts)
    unknown = sorted(set(counts) - set(_KINDS))
    if unknown:
        raise ValueError(f"unknown vessel kind(s) {unknown}; use {sorted(_KINDS)}")
    fleet = _Fleet(random.Random(f"portsync-fleet-{seed}"))
    for key, n in counts.items():
        if n < 0:
            raise ValueError(f"count for {key} must not be negative")
        for _ in range(n):
            fleet.new(key)
    return fleet.vessels


# -- traffic --------------------------------------------------------------------------------------

# Share of calls per stream (ESTIMATES): Kuryk carries ~45 % of Alat's ferry wagons, Turkmenbashi
# ~42 %, Aktau ~13 % (2017); ferries at Kuryk stay well under its 5-8 a day.
_MIX: dict[str, float] = {
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
_WEIGHT = {"rail_ferry": 3, "ro_ro": 2, "container": 2}  # others 1: ferries carry rail connections


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


def _q(x: float, step: float) -> float:
    return round(x / step) * step


class _Builder:
    """Collects vessels, calls, voyages and links while the streams are generated."""

    def __init__(self, hours: float, rng: random.Random, ports: list[Port]):
        self.H = hours
        self.rng = rng
        self.ports = {p.id: p for p in ports}
        self.fleet = _Fleet(rng)
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
        if vessel.type == VesselType.RAIL_FERRY:
            lo, hi = (10.0, 12.0) if self.fleet.deck[vessel.id] == "double" else (6.0, 8.0)
        else:
            lo, hi = 5.0, 8.0
        return _q(self.rng.uniform(lo, hi), 0.25)

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
                                  quantity=_q(rng.uniform(260, 480), 10))
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
                          quantity=_q(rng.uniform(150, 300), 10))
            self.voyage(vessel, [c])
            gap = _q(rng.uniform(3, 6), 0.5)
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
                          quantity=_q(self.rng.uniform(8000, 12000), 100))
            self.soft_due(c, 0.9, 6, 18)
            c.hard_deadline = self.rng.random() < 0.3  # charter cancelling date
            self.voyage(vessel, [c])

    def grain(self, stream: str, port: str, target: int) -> None:
        """~5,000 dwt grain ships loading from trains; about half discharge at Alat."""
        rng = self.rng
        made = 0
        while made < target:
            vessel = self.fleet.new("bulk")
            qty = _q(rng.uniform(4000, 5500), 50)
            two = made + 2 <= target and rng.random() < 0.5
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
            made += len(calls)

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
            qty = _q(rng.uniform(3000, 5000), 50) if bulk else None
            calls: list[_Call] = []
            arrive = self.eta(30.0 * len(ports))
            for k, port in enumerate(ports):
                hours = None if bulk else _q(rng.uniform(14, 30), 0.5)
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


def _allocate(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Split `total` over the streams in proportion to their shares (largest remainder)."""
    s = sum(shares.values())
    raw = {k: total * v / s for k, v in shares.items()}
    out = {k: int(x) for k, x in raw.items()}
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], list(raw).index(k)))[: total - sum(out.values())]:
        out[k] += 1
    return out


def _traffic(b: _Builder, targets: Mapping[str, int]) -> None:
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


# -- weather and maintenance -----------------------------------------------------------------------

Window = tuple[float, float, str]  # hours from the horizon start, reason


def _storms(rng: random.Random, hours: float) -> dict[str, list[Window]]:
    """NW storms about every five days (ESTIMATE for November), correlated across the basin.

    Alat closes 12-48 h per storm (Azerbaijan closes its ports at once); Kuryk, the most exposed,
    closes up to 4 h earlier and reopens 2-18 h later; Aktau closes in 60 % of the storms, for
    40-80 % of Alat's time. That keeps Kuryk closed about a quarter of the time: milder than the
    worst November-December record (about half the time), which the storm scenario shows.
    """
    out: dict[str, list[Window]] = defaultdict(list)
    t = rng.uniform(0, 5 * 24)
    while t < hours:
        d = rng.uniform(12, 48)
        why = "storm: NW wind 18-30 m/s, waves 4-6 m (generated)"
        out[ALAT].append((t, t + d, why + "; Azerbaijan closes its ports"))
        out[KURYK].append((t - rng.uniform(0, 4), t + d + rng.uniform(2, 18), why))
        if rng.random() < 0.6:
            a = t + rng.uniform(0, 4)
            out[AKTAU].append((a, a + d * rng.uniform(0.4, 0.8), why))
        t += d + rng.expovariate(1 / (4 * 24))
    return out


def _basin_closure(start_h: float, hours: float) -> dict[str, list[Window]]:
    why = f"basin-wide storm closure ({hours:g} h)"
    return {
        ALAT: [(start_h, start_h + hours, why + "; Azerbaijan closes all its ports at once")],
        KURYK: [(start_h - 3, start_h + hours + 6, why + "; Kuryk closes earlier and reopens later")],
        AKTAU: [(start_h + 2, start_h + hours + 2, why)],
    }


def _merge(windows: list[Window], hours: float) -> list[Window]:
    """Clip to the horizon and merge overlaps (reasons joined)."""
    clipped = sorted((max(a, 0.0), min(b, hours), r) for a, b, r in windows)
    out: list[Window] = []
    for a, b, r in clipped:
        if b - a < 1.0:
            continue
        if out and a <= out[-1][1]:
            pa, pb, pr = out[-1]
            out[-1] = (pa, max(pb, b), pr if r in pr else f"{pr}; {r}")
        else:
            out.append((a, b, r))
    return out


def _maintenance(rng: random.Random, ports: list[Port], days: float) -> dict[str, list[Window]]:
    """A few planned berth maintenance windows (day shifts, 6-16 h), about one per 50 berth-days."""
    out: dict[str, list[Window]] = defaultdict(list)
    for port in ports:
        n = max(1, round(len(port.berths) * days / 50))
        offset = 5 if TIMEZONE[port.id] == "Asia/Aqtau" else 4
        for bid in sorted(rng.sample([b.id for b in port.berths], min(n, len(port.berths)))):
            day = rng.randrange(max(1, int(days)))
            start = day * 24 + 8 - offset  # 08:00 local
            out[bid].append((float(start), start + float(rng.randrange(6, 17)), "planned maintenance"))
    return out


# -- the reference plan --------------------------------------------------------------------------


def _fit(busy: list[tuple[float, float]], closed: list[tuple[float, float]], t: float, dur: float) -> float:
    """Earliest start >= t on a berth with these busy intervals, neither start nor end in a closure."""
    while True:
        i = max(0, bisect.bisect_right(busy, (t, math.inf)) - 1)
        while i < len(busy):
            s, e = busy[i]
            if e <= t:
                i += 1
                continue
            if s >= t + dur:
                break
            t = e
            i += 1
        moved = False
        for a, b in closed:
            if a <= t < b:
                t, moved = b, True
            if a <= t + dur < b:
                t, moved = b - dur, True
        if not moved:
            return t


def _reference_plan(p: Problem) -> dict[str, tuple[float, float, float, str]]:
    """(arrival, berth start, berth end in minutes; berth) of every call in a first-come-first-served
    plan at service speed that meets every hard constraint: latest departures set after it can
    always be met."""
    import heapq

    m = p.minutes
    closed = {port.id: sorted((m(w.start), m(w.end)) for w in port.closures) for port in p.ports}
    busy = {b.id: sorted((m(w.start), m(w.end)) for w in b.unavailable)
            for port in p.ports for b in port.berths}
    vessels = p.vessel_map()
    calls = p.call_map()
    nxt: dict[str, str] = {}
    pending: Counter[str] = Counter()
    lb: dict[str, float] = {}
    heap: list[tuple[float, int, str]] = []
    for voy in p.voyages:
        for first, second in itertools.pairwise(voy.call_ids):
            nxt[first] = second
            pending[second] += 1
        lb[voy.call_ids[0]] = m(voy.eta)
    outgoing: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for link in p.links:
        outgoing[link.before].append((link.after, link.min_gap_hours * 60))
        pending[link.after] += 1
    seq = 0
    for c in p.calls:
        if c.earliest_start is not None:
            lb[c.id] = max(lb.get(c.id, -math.inf), m(c.earliest_start))
        if pending[c.id] == 0:
            heapq.heappush(heap, (lb.get(c.id, 0.0), seq, c.id))
            seq += 1
    port_berths = {port.id: port.berths for port in p.ports}
    plan: dict[str, tuple[float, float, float, str]] = {}
    arrival: dict[str, float] = {voy.call_ids[0]: m(voy.eta) for voy in p.voyages}
    fitting: dict[tuple[str, str, CargoKind], list[Berth]] = {}

    def release(cid: str, t: float) -> None:
        nonlocal seq
        lb[cid] = max(lb.get(cid, -math.inf), t)
        pending[cid] -= 1
        if pending[cid] == 0:
            heapq.heappush(heap, (lb[cid], seq, cid))
            seq += 1

    while heap:
        ready, _, cid = heapq.heappop(heap)
        c = calls[cid]
        best: tuple[float, float, str] | None = None
        key = (c.vessel_id, c.port_id, c.cargo)
        if key not in fitting:
            vessel = vessels[c.vessel_id]
            fitting[key] = [b for b in port_berths[c.port_id] if berth_fits(c, vessel, b)]
        for berth in fitting[key]:
            dur = (handling_hours(c, berth) or 0.0) * 60
            s = _fit(busy[berth.id], closed[c.port_id], ready, dur)
            if best is None or s + dur < best[1]:
                best = (s, s + dur, berth.id)
        assert best is not None
        bisect.insort(busy[best[2]], (best[0], best[1]))
        plan[cid] = (arrival[cid], *best)
        if cid in nxt:
            n = calls[nxt[cid]]
            nm = p.distance_nm(c.port_id, n.port_id) or 0.0
            arrival[n.id] = best[1] + nm / vessels[c.vessel_id].service_speed_kn * 60
            release(n.id, arrival[n.id])
        for after, gap in outgoing[cid]:
            release(after, best[1] + gap)
    return plan


# -- assembling a problem ------------------------------------------------------------------------


def _problem_dict(b: _Builder, *, name: str, description: str, start: datetime, hours: float,
                  ports: list[Port], closures: Mapping[str, list[Window]],
                  unavailable: Mapping[str, list[Window]], links: bool,
                  time_step_minutes: int) -> dict[str, Any]:
    zones = {pid: ZoneInfo(tz) for pid, tz in TIMEZONE.items()}

    def ts(h: float, port: str, step_min: int = 5, up: bool = False) -> str:
        minutes = h * 60 / step_min
        minutes = math.ceil(minutes - 1e-9) if up else round(minutes)
        return (start + timedelta(minutes=minutes * step_min)).astimezone(zones[port]).isoformat()

    port_dicts = []
    for port in ports:
        d = port.model_dump(mode="json")
        d["closures"] = [{"start": ts(a, port.id), "end": ts(z, port.id, up=True), "reason": r}
                         for a, z, r in _merge(list(closures.get(port.id, [])), hours)]
        for bd in d["berths"]:
            bd["unavailable"] = [{"start": ts(a, port.id), "end": ts(z, port.id, up=True), "reason": r}
                                 for a, z, r in unavailable.get(bd["id"], [])]
        port_dicts.append(d)
    call_dicts = []
    for c in b.calls:
        handling: dict[str, Any] = {"hours": c.hours} if c.hours is not None else {"quantity": c.quantity}
        cd: dict[str, Any] = {"id": c.id, "vessel_id": c.vessel.id, "port_id": c.port, "cargo": c.cargo,
                              "handling": handling, "weight": _WEIGHT.get(c.cargo, 1)}
        if c.earliest is not None:
            cd["earliest_start"] = ts(c.earliest, c.port)
        if c.requested is not None:
            cd["requested_departure"] = ts(c.requested, c.port, 15)
        call_dicts.append(cd)
    return {
        "name": name,
        "description": description,
        "horizon_start": start.isoformat(),
        "horizon_end": (start + timedelta(hours=hours)).isoformat(),
        "time_step_minutes": time_step_minutes,
        "ports": port_dicts,
        "vessels": [v.model_dump(mode="json", exclude_none=True) for v in b.fleet.vessels],
        "calls": call_dicts,
        "voyages": [{"vessel_id": v.id, "eta": ts(eta, calls[0].port), "call_ids": [c.id for c in calls]}
                    for v, eta, calls in b.voyages],
        "links": b.links if links else [],
    }


def _finish(b: _Builder, data: dict[str, Any], start: datetime) -> Problem:
    """Set hard latest departures after a reference plan that meets them, then validate."""
    deadlines = [(i, c) for i, c in enumerate(b.calls) if c.hard_deadline]
    if deadlines:
        ends = {cid: v[2] for cid, v in _reference_plan(Problem.model_validate(data)).items()}
        zones = {pid: ZoneInfo(tz) for pid, tz in TIMEZONE.items()}
        for i, c in deadlines:
            margin = b.rng.uniform(24, 48) * 60
            latest = max(ends[c.id] + margin, (c.end + 36) * 60)
            hour = math.ceil(latest / 60 - 1e-9)
            data["calls"][i]["latest_departure"] = (start + timedelta(hours=hour)).astimezone(
                zones[c.port]).isoformat()
    return load_problem(data)


def _check_start(start: datetime | None) -> datetime:
    if start is None:
        return DEFAULT_START
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must carry a UTC offset (an aware datetime)")
    return start


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


def generate(
    calls: int,
    days: int,
    seed: int = 0,
    *,
    closures: bool = True,
    maintenance: bool = True,
    links: bool = True,
    start: datetime | None = None,
    time_step_minutes: int = 1,
    berth_scale: int | None = None,
    basin_closure: tuple[float, float] | None = None,
    name: str | None = None,
    description: str | None = None,
) -> Problem:
    """A Caspian-like three-port problem with `calls` calls over `days` days, the same for a seed.

    `berth_scale` (default: automatic, see :func:`auto_berth_scale`) copies the real berths when
    the traffic would overrun them. `basin_closure` = (start day, hours) adds a storm that closes
    all three ports together. `closures`, `maintenance` and `links` switch those features; the
    traffic itself does not change with them.
    """
    if calls < 1:
        raise ValueError(f"calls must be at least 1, got {calls}")
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    if basin_closure is not None and basin_closure[1] <= 0:
        raise ValueError(f"basin_closure hours must be positive, got {basin_closure[1]}")
    t0 = _check_start(start)
    hours = days * 24.0
    scale = berth_scale if berth_scale is not None else auto_berth_scale(calls, days)
    ports = caspian_ports(scale)
    b = _Builder(hours, random.Random(f"portsync-traffic-{seed}"), ports)
    _traffic(b, _allocate(calls, _MIX))
    b.grain_pairs(AKTAU, 0.25)
    weather: dict[str, list[Window]] = (
        _storms(random.Random(f"portsync-weather-{seed}"), hours) if closures else {})
    if basin_closure is not None:
        for pid, ws in _basin_closure(basin_closure[0] * 24, basin_closure[1]).items():
            weather.setdefault(pid, []).extend(ws)
    upkeep = _maintenance(random.Random(f"portsync-maintenance-{seed}"), ports, days) if maintenance else {}
    data = _problem_dict(
        b, name=name or f"caspian-{calls}c-{days}d-seed{seed}", description="", start=t0, hours=hours,
        ports=ports, closures=weather, unavailable=upkeep, links=links, time_step_minutes=time_step_minutes)
    problem = _finish(b, data, t0)
    if description is None:
        description = (
            f"Generated Caspian-like traffic (portsync generator, seed {seed}): {len(problem.calls)} calls "
            f"over {days} days at Aktau, Kuryk and Alat, berth scale {scale}. {traffic_text(problem)}. "
            "Ferry handling 6-12 h and crossings from shared/domain/caspian.md; berth lengths at Kuryk and "
            "Alat, drafts, handling rates, storms and maintenance are ESTIMATES.")
    problem.description = description
    return problem


def grain_rush(
    seed: int = 0,
    *,
    ships: int = 12,
    days: int = 5,
    background_per_day: float = 8.0,
    start: datetime | None = None,
    time_step_minutes: int = 1,
    closures: bool = True,
    maintenance: bool = True,
) -> Problem:
    """A burst of grain ships at Aktau over a few days, loading from trains, on top of normal traffic.

    The ships were held up together (irregular arrivals), so `ships` of them arrive within about
    two days. Wagons already queued at the port cover the first lots; further trains of 54-58
    wagons (~68 t each, ESTIMATE) come every 6-10 h, and each ship's loading cannot start before
    the train completing its lot is in (its earliest start). When a train is split between two
    ships, a link keeps the second after the first (rail front).
    """
    if ships < 1 or days <= 0:
        raise ValueError(f"need at least one ship and a positive number of days, got {ships} and {days}")
    t0 = _check_start(start)
    hours = days * 24.0
    ports = caspian_ports(1)
    rng = random.Random(f"portsync-grain-rush-{seed}")
    b = _Builder(hours, rng, ports)
    mix = {k: v for k, v in _MIX.items() if k != "aktau_grain"}
    _traffic(b, _allocate(round(background_per_day * days), mix))
    etas = sorted(rng.uniform(min(4.0, hours / 4), min(52.0, hours * 0.6)) for _ in range(ships))
    stock_t = rng.randrange(200, 300) * 68.0  # wagons queued at the start (about 700 in Oct 2025)
    trains: list[tuple[float, float]] = []  # (arrival hour, cumulative tonnes incl. the stock)
    next_train = rng.uniform(2, 8)
    need = 0.0
    for eta in etas:
        vessel = b.fleet.new("bulk")
        qty = _q(rng.uniform(4000, 5500), 50)
        need += qty
        load = b.call(vessel, 0, AKTAU, "grain", eta, "aktau_grain_rush", quantity=qty)
        while (trains[-1][1] if trains else stock_t) < need:
            wagons = rng.randrange(54, 59)
            trains.append((next_train, (trains[-1][1] if trains else stock_t) + wagons * 68.0))
            next_train += rng.uniform(6, 10)
        if need > stock_t:  # the lot is complete when the first train that covers it is in
            b.hold(load, next(t for t, cum in trains if cum >= need))
        b.soft_due(load, 0.9, 12, 30)
        calls = [load]
        if rng.random() < 0.6:
            dis = b.call(vessel, 1, ALAT, "grain", b.sail(vessel, load, ALAT), "aktau_grain_rush",
                         quantity=qty)
            b.soft_due(dis, 0.8, 12, 36)
            calls.append(dis)
        b.voyage(vessel, calls)
    b.grain_pairs(AKTAU, 0.6, window=48.0)
    weather = _storms(random.Random(f"portsync-weather-rush-{seed}"), hours) if closures else {}
    upkeep = (_maintenance(random.Random(f"portsync-maintenance-rush-{seed}"), ports, days)
              if maintenance else {})
    data = _problem_dict(b, name=f"caspian-grain-rush-seed{seed}", description="", start=t0, hours=hours,
                         ports=ports, closures=weather, unavailable=upkeep, links=True,
                         time_step_minutes=time_step_minutes)
    problem = _finish(b, data, t0)
    problem.description = (
        f"Grain rush at Aktau (portsync generator, seed {seed}): {ships} grain ships arrive within about "
        f"two days, {len(trains)} grain trains. {traffic_text(problem)}.")
    return problem
