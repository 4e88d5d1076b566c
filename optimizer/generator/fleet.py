"""A plausible Caspian fleet: rail ferries, Ro-Ro ferries, feeders, tankers, bulk and general cargo
ships with unique names, valid IMO numbers and MMSIs (Azerbaijani or Kazakh flag)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from optimizer.domain import Vessel, VesselType

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


class Fleet:
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
    fleet = Fleet(random.Random(f"portsync-fleet-{seed}"))
    for key, n in counts.items():
        if n < 0:
            raise ValueError(f"count for {key} must not be negative")
        for _ in range(n):
            fleet.new(key)
    return fleet.vessels

