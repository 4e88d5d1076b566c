"""The three ports as published: Aktau, Kuryk and Alat with their berths (lengths, drafts, cargo
kinds, handling rates), and copies of them for traffic beyond what the real berths carry.

Facts come from ``shared/domain/caspian.md``; every number that was not published is marked
ESTIMATE.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from optimizer.domain import Berth, CargoKind, Port

AKTAU, KURYK, ALAT = "KZAAU", "KZKUR", "AZBAK"
TIMEZONE = {AKTAU: "Asia/Aqtau", KURYK: "Asia/Aqtau", ALAT: "Asia/Baku"}
CALLS_PER_DAY_AT_SCALE_1 = 16.0  # ESTIMATE: what the real berths carry at a realistic load
SCALE_COPY = ", scale copy "  # in the name of every berth caspian_ports copies

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
                    name=s.name if copy == 1 else f"{s.name}{SCALE_COPY}{copy}",
                    length_m=s.length_m, max_draft_m=s.max_draft_m,
                    cargo_kinds=[CargoKind(k) for k in s.kinds],
                    productivity=s.productivity,
                    rates={CargoKind(k): r for k, r in s.rates.items()},
                ))
        ports.append(Port(id=pid, name=name, timezone=TIMEZONE[pid], berths=berths))
    return ports


def berth_copies(ports: Iterable[Port]) -> int:
    """How many of the ports' berths are copies `caspian_ports` added (not real berths): benchmarks
    say so beside their figures."""
    return sum(1 for p in ports for b in p.berths if SCALE_COPY in b.name)


def auto_berth_scale(calls: int, days: float) -> int:
    """Copies of the real berths needed to carry `calls` over `days` at a realistic load."""
    return max(1, math.ceil(calls / max(days, 1e-9) / CALLS_PER_DAY_AT_SCALE_1 - 1e-9))

