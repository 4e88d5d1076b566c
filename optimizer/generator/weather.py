"""Closures and downtime: storms correlated across the basin, a basin-wide storm on request, and
planned berth maintenance; windows in hours from the horizon start, with their reason."""

from __future__ import annotations

import random
from collections import defaultdict

from optimizer.domain import Port
from optimizer.generator.ports import AKTAU, ALAT, KURYK, TIMEZONE

Window = tuple[float, float, str]  # hours from the horizon start, reason


def storm_windows(rng: random.Random, hours: float, *, storm_h: tuple[float, float] = (12.0, 48.0),
                  calm_mean_h: float = 4 * 24.0, first_within_h: float = 5 * 24.0
                  ) -> dict[str, list[Window]]:
    """NW storms about every five days (ESTIMATE for November), correlated across the basin.

    Each storm closes Alat for a uniform draw from `storm_h` hours; the calm between storms is
    exponential with mean `calm_mean_h`; the first storm comes within `first_within_h` (a capacity
    study varies these for a longer storm season).

    Alat closes 12-48 h per storm (Azerbaijan closes its ports at once); Kuryk, the most exposed,
    closes up to 4 h earlier and reopens 2-18 h later; Aktau closes in 60 % of the storms, for
    40-80 % of Alat's time. That keeps Kuryk closed about a quarter of the time: milder than the
    worst November-December record (about half the time), which the storm scenario shows.
    """
    out: dict[str, list[Window]] = defaultdict(list)
    t = rng.uniform(0, first_within_h)
    while t < hours:
        d = rng.uniform(*storm_h)
        why = "storm: NW wind 18-30 m/s, waves 4-6 m (generated)"
        out[ALAT].append((t, t + d, why + "; Azerbaijan closes its ports"))
        out[KURYK].append((t - rng.uniform(0, 4), t + d + rng.uniform(2, 18), why))
        if rng.random() < 0.6:
            a = t + rng.uniform(0, 4)
            out[AKTAU].append((a, a + d * rng.uniform(0.4, 0.8), why))
        t += d + rng.expovariate(1 / calm_mean_h)
    return out


def basin_closure_windows(start_h: float, hours: float) -> dict[str, list[Window]]:
    why = f"basin-wide storm closure ({hours:g} h)"
    return {
        ALAT: [(start_h, start_h + hours, why + "; Azerbaijan closes all its ports at once")],
        KURYK: [(start_h - 3, start_h + hours + 6, why + "; Kuryk closes earlier and reopens later")],
        AKTAU: [(start_h + 2, start_h + hours + 2, why)],
    }


def merge_windows(windows: list[Window], hours: float) -> list[Window]:
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


def maintenance_windows(rng: random.Random, ports: list[Port], days: float) -> dict[str, list[Window]]:
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

