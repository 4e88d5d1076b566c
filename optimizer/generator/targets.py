"""Traffic sized by the ports' throughput targets (for ``presets.month``), and the load it offers.

`generate` sizes traffic by a number of calls split by the mix; a month is sized the other way
round, from throughput targets: TEU a year through the Aktau container hub, tonnes of grain a year,
Kuryk's ferries a day. :class:`MonthTraffic` turns each target into calls with the assumption it
needs (feeder TEU per call, grain lot size, ...), and the streams without a target keep the level
the generator takes as realistic for the real berths (16 calls a day split by the mix). The
berths are the 27 real ones (``caspian_ports(1)``), never copies: where the targets exceed what
they carry, the queues show it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from optimizer.domain import CargoKind, Problem, berth_fits, handling_hours
from optimizer.generator.ports import AKTAU, CALLS_PER_DAY_AT_SCALE_1, KURYK
from optimizer.generator.traffic import MIX, allocate

#: Streams whose size no target fixes: they keep the generator's realistic level (see MonthTraffic).
BACKGROUND_STREAMS = ("aktau_alat_rail_ferry", "turkmenbashi_ferry", "alat_transship_feeder",
                      "aktau_tanker", "dry_general")
#: Mean TEU handled per feeder call in the generator (uniform 260-480 TEU: a 225-314 TEU feeder
#: discharging what it brought and loading what it takes, about 70 % full each way; ESTIMATE).
TEU_PER_FEEDER_CALL = 370.0
#: Mean grain lot (the generator's 4,000-5,500 t on ~5,000 dwt ships).
GRAIN_LOT_T = 4750.0


@dataclass(frozen=True)
class MonthTraffic:
    """The targets a month is planned at, and the assumptions that turn them into calls.

    Defaults: the project brief's 300,000 TEU a year through the Aktau hub (a target: about 140,000
    TEU a year is published for today) and 1 Mt of grain a year; 6.5 ferries a day at Kuryk (the
    middle of the 5-8 it handles); Aktau's grain terminal at its published 800 kt a year, the rest
    at Kuryk's Sarzha grain berth (ESTIMATE); the other streams at 16 calls a day split by the mix
    (ESTIMATE, the generator's realistic load for the real berths).
    """

    days: int = 30
    aktau_teu_per_year: float = 300_000.0
    teu_per_feeder_call: float = TEU_PER_FEEDER_CALL
    grain_t_per_year: float = 1_000_000.0
    aktau_grain_t_per_year: float = 800_000.0
    kuryk_ferries_per_day: float = 6.5
    background_calls_per_day: float = CALLS_PER_DAY_AT_SCALE_1

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"{f.name} must be positive, got {getattr(self, f.name)}")
        if self.aktau_grain_t_per_year > self.grain_t_per_year:
            raise ValueError(f"aktau_grain_t_per_year ({self.aktau_grain_t_per_year:g}) must not exceed "
                             f"grain_t_per_year ({self.grain_t_per_year:g})")

    def per_month(self, per_year: float) -> float:
        return per_year * self.days / 365.0

    @property
    def aktau_feeder_calls(self) -> float:
        """Feeder calls at Aktau that handle the TEU target (the shuttles call as often at Alat)."""
        return self.per_month(self.aktau_teu_per_year) / self.teu_per_feeder_call

    @property
    def kuryk_ferry_calls(self) -> float:
        return self.kuryk_ferries_per_day * self.days

    def grain_tonnes(self) -> dict[str, float]:
        """Grain to load over the month per port."""
        aktau = self.per_month(self.aktau_grain_t_per_year)
        return {AKTAU: aktau, KURYK: self.per_month(self.grain_t_per_year) - aktau}

    def streams(self) -> dict[str, int]:
        """Calls per stream (grain is sized in tonnes, see grain_tonnes). A shuttle calls at both its
        ports in turn, so a stream of 2n calls makes about n at each end."""
        ferry_calls = round(2 * self.kuryk_ferry_calls)
        rail_share = MIX["kuryk_alat_rail_ferry"] / (MIX["kuryk_alat_rail_ferry"] + MIX["kuryk_alat_ro_ro"])
        rail = round(ferry_calls * rail_share)
        background = allocate(round(self.background_calls_per_day * self.days), MIX)
        return {
            "kuryk_alat_rail_ferry": rail,
            "kuryk_alat_ro_ro": ferry_calls - rail,
            "aktau_alat_feeder": round(2 * self.aktau_feeder_calls),
            **{k: background[k] for k in BACKGROUND_STREAMS},
        }

    def derivation(self) -> list[str]:
        """How each target became calls, one line per group, every assumption marked ESTIMATE."""
        s, g, d = self.streams(), self.grain_tonnes(), self.days
        grain = sum(g.values())
        rail, roro = s["kuryk_alat_rail_ferry"], s["kuryk_alat_ro_ro"]
        tanker_mt = s["aktau_tanker"] * 10_000 * 365 / d / 1e6
        return [
            f"containers: {self.aktau_teu_per_year:,.0f} TEU a year through the Aktau hub (target) = "
            f"{self.per_month(self.aktau_teu_per_year):,.0f} TEU in {d} days; / {self.teu_per_feeder_call:g} "
            "TEU handled per feeder call (ESTIMATE: 225-314 TEU feeders discharging and loading, about 70 % "
            f"full each way) = {self.aktau_feeder_calls:.1f} feeder calls at Aktau and as many at Alat (the "
            f"feeders shuttle): {s['aktau_alat_feeder']} calls",
            f"grain: {self.grain_t_per_year:,.0f} t a year (target) = {grain:,.0f} t in {d} days: Aktau "
            f"{g[AKTAU]:,.0f} t (at {self.aktau_grain_t_per_year:,.0f} t a year; ESTIMATE from its grain "
            f"terminal's published 800,000 t a year), Kuryk's Sarzha berth {g[KURYK]:,.0f} t (the rest, "
            "ESTIMATE); lots of 4,000-5,500 t on ~5,000 dwt ships "
            f"(mean {GRAIN_LOT_T:,.0f} t, ESTIMATE) = "
            f"about {grain / GRAIN_LOT_T:.0f} loadings; about half the ships sail on to discharge at Alat "
            "(ESTIMATE)",
            f"Kuryk ferries: {self.kuryk_ferries_per_day:g} a day (ESTIMATE: the middle of the 5-8 Kuryk "
            f"handles) x {d} days = {self.kuryk_ferry_calls:.0f} calls at Kuryk and as many at Alat (the "
            f"ferries shuttle Kuryk-Alat); rail : Ro-Ro 17 : 13 as in the generator's mix (ESTIMATE): "
            f"{rail} rail-ferry and {roro} Ro-Ro calls",
            f"streams without a target: {self.background_calls_per_day:g} calls a day split by the "
            "generator's mix, its realistic load for the real berths (ESTIMATE): "
            f"{s['aktau_alat_rail_ferry']} Aktau-Alat rail-ferry calls, {s['turkmenbashi_ferry']} "
            f"Turkmenbashi ferries at Alat, {s['alat_transship_feeder']} transshipment feeders at Alat, "
            f"{s['aktau_tanker']} tankers at Aktau (~10,000 t each: {tanker_mt:.1f} Mt a year, within the "
            f"oil berths' 7.5 Mt), {s['dry_general']} general cargo and dry bulk calls",
        ]


@dataclass(frozen=True)
class OfferedLoad:
    """Handling hours a port's calls of one cargo kind need against the open hours of the berths
    that take that kind: where a target exceeds the real berths, this ratio says so before any plan.
    Other kinds sharing those berths are not counted, so it is a floor on their occupancy."""

    port_id: str
    cargo: str
    calls: int
    berths: int
    handling_hours: float
    open_berth_hours: float

    @property
    def ratio(self) -> float:
        return self.handling_hours / self.open_berth_hours if self.open_berth_hours else float("inf")


def offered_load(problem: Problem, port_id: str, cargo: str) -> OfferedLoad:
    """Each call's handling at its quickest fitting berth, against the horizon minus the port's
    closures and each berth's maintenance, summed over the berths that work `cargo`."""
    kind = CargoKind(cargo)
    port = problem.port(port_id)
    vessels = problem.vessel_map()
    h0, h1 = problem.horizon_start, problem.horizon_end
    calls = [c for c in problem.calls if c.port_id == port_id and c.cargo == kind]
    need = 0.0
    for c in calls:
        fits = [h for b in port.berths if berth_fits(c, vessels[c.vessel_id], b)
                and (h := handling_hours(c, b)) is not None]
        need += min(fits, default=0.0)
    takers = [b for b in port.berths if kind in b.cargo_kinds]
    horizon_h = (h1 - h0).total_seconds() / 3600.0
    closed = [(w.start, w.end) for w in port.closures]
    open_h = sum(horizon_h - _covered_hours(closed + [(w.start, w.end) for w in b.unavailable], h0, h1)
                 for b in takers)
    return OfferedLoad(port_id, cargo, len(calls), len(takers), need, open_h)


def _covered_hours(windows: list[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> float:
    """Hours inside [lo, hi] covered by at least one window (closures and maintenance overlap)."""
    total, reach = 0.0, lo
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in windows):
        if b > reach:
            total += (b - max(a, reach)).total_seconds() / 3600.0
            reach = b
    return total
