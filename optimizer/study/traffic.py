"""The traffic model of a capacity study, stated and sourced: every assumption that turns annual
volumes (TEU a year, tonnes a year, ferries a day) into a month of calls per port.

Each figure carries its `source`: a section and figure of ``shared/domain/caspian.md``, or
ESTIMATE and why. The defaults are today's traffic (growth 1.0: ~140,000 TEU a year through the
Aktau hub as published, not the 300,000 target); `scaled(growth)` multiplies the demand (volumes
and call rates, not lot sizes or handling). A small TOML or JSON file overrides any figure
(:func:`load_model`); a bad value is an error naming the field.

The month itself is made by the generator (optimizer.generator: the Builder's streams, the fleet,
the storms and maintenance of ``weather``, the hard latest departures set after FCFS), on the 27
real berths. Links (transshipment, split grain trains) are left out: in a lived month calls are
announced by events, which carry no links.
"""

from __future__ import annotations

import json
import random
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from optimizer.domain import Port, Problem
from optimizer.generator.ports import AKTAU, ALAT, KURYK, caspian_ports
from optimizer.generator.presets import DEFAULT_START, _finish, _problem_dict
from optimizer.generator.traffic import Builder, CallSizes, build_traffic
from optimizer.generator.weather import Window, maintenance_windows, storm_windows

CASPIAN = "shared/domain/caspian.md"


class Figure(BaseModel):
    """One number of the model and where it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float = Field(ge=0, description="The figure.")
    source: str = Field(min_length=1, description=f"Where it comes from: a section and figure of {CASPIAN}, "
                        "or ESTIMATE and why, or the config file that set it.")


class Span(BaseModel):
    """A range a value is drawn from uniformly, and where it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    low: float = Field(gt=0, description="Smallest value.")
    high: float = Field(gt=0, description="Largest value.")
    source: str = Field(min_length=1, description="Where it comes from (as Figure.source).")

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}) must not be below low ({self.low:g})")
        return self

    @property
    def pair(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2.0


def _f(value: float, source: str) -> Any:
    return Field(default=Figure(value=value, source=source))


def _s(low: float, high: float, source: str) -> Any:
    return Field(default=Span(low=low, high=high, source=source))


_WAGON_SHARES = (f"{CASPIAN}, Handling and sailing: wagon flow through Alat ferries 2017, Kuryk 45 %, "
                 "Turkmenbashi 42 %, Aktau 13 % (azernews 125527)")
_KURYK_FERRIES = (f"ESTIMATE: {CASPIAN}, Weather and congestion: ~46 wagons/day loaded at Kuryk in June "
                  "2025 is about one rail ferry a day (52-56 wagons, Fleet), plus Ro-Ro ferries in the "
                  "generator's "
                  "17 : 13 rail : Ro-Ro mix; well under the 5-8 a day Kuryk handles (Handling and sailing)")


class TrafficModel(BaseModel):
    """Every assumption from annual volumes to a month of calls, each with its source. Demand
    figures scale with growth; lot sizes, handling, noise and weather do not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- the month's shape (not figures: how the month is lived and counted) ----------------------
    days: int = Field(default=30, ge=1, le=92, description="Days counted.")
    warmup_days: float = Field(default=6.0, ge=0, le=30, description="Days generated and lived before the "
                               "counted days, not counted: a month that starts with empty berths "
                               "understates waiting.")
    tail_days: float = Field(default=2.0, ge=0, le=30, description="Days generated after the counted days "
                             "(arrivals still compete with the last counted calls), not counted.")

    # -- demand (scaled by growth) -----------------------------------------------------------------
    aktau_teu_per_year: Figure = _f(140_000, f"{CASPIAN}, Ports: Aktau container hub (since June 2025), "
                                    "~140k TEU/yr")
    kuryk_ferries_per_day: Figure = _f(2.5, _KURYK_FERRIES)
    aktau_ferries_per_day: Figure = _f(0.72, f"ESTIMATE: Kuryk's ferries x 13/45, {_WAGON_SHARES}")
    turkmenbashi_ferries_per_day: Figure = _f(2.33, "ESTIMATE: Kuryk's ferries x 42/45 (calls at Alat only), "
                                              f"{_WAGON_SHARES}")
    aktau_grain_t_per_year: Figure = _f(480_000, f"ESTIMATE: 60 % of the Aktau grain berth's 800 kt/yr "
                                        f"({CASPIAN}, Ports); the 1 Mt/yr to Azerbaijan is a target to get "
                                        "'back to', so today is below it")
    kuryk_grain_t_per_year: Figure = _f(120_000, "ESTIMATE: Kuryk's Sarzha grain berth takes the rest of "
                                        "~600 kt/yr of grain today (below the 1 Mt/yr target)")
    oil_t_per_year: Figure = _f(5_000_000, f"ESTIMATE: two thirds of Aktau's oil berths' 7.5 Mt/yr "
                                f"({CASPIAN}, Ports)")
    transship_feeders_per_day: Figure = _f(0.48, "ESTIMATE: the generator's realistic level (3 % of 16 calls "
                                           "a day), feeders at Alat taking ferry containers on")
    general_calls_per_day: Figure = _f(2.24, "ESTIMATE: the generator's realistic level (14 % of 16 calls a "
                                       "day), general cargo and dry bulk Kazakh ports <-> Alat")

    # -- lots and handling (not scaled) --------------------------------------------------------------
    feeder_teu: Span = _s(260, 480, f"ESTIMATE: 225-314 TEU feeders ({CASPIAN}, Fleet) discharging and "
                          "loading, about 70 % full each way")
    tanker_t: Span = _s(8000, 12000, f"{CASPIAN}, Fleet: tankers 8,000-12,400 dwt, ~10,000 t loads at "
                        "Aktau")
    grain_t: Span = _s(4000, 5500, f"{CASPIAN}, Fleet: grain ships ~5,000 dwt")
    dry_bulk_t: Span = _s(3000, 5000, "ESTIMATE: ~5,000 dwt bulk carriers part loaded")
    general_h: Span = _s(14, 30, "ESTIMATE: general cargo hours at berth")
    rail_ferry_single_h: Span = _s(6, 8, f"{CASPIAN}, Handling and sailing: rail-ferry cycle 6-8 h single "
                                   "deck (Kuryk; ESTIMATE the same at Alat and Aktau)")
    rail_ferry_double_h: Span = _s(10, 12, f"{CASPIAN}, Handling and sailing: 10-12 h double deck")
    ro_ro_h: Span = _s(5, 8, "ESTIMATE: Ro-Ro ferries a little quicker than single-deck rail ferries")
    rail_ferry_share: Figure = _f(17 / 30, "ESTIMATE: the generator's rail : Ro-Ro mix 17 : 13 of Kuryk "
                                  "ferries")
    handling_rate_factor: Figure = _f(1.0, "ESTIMATE: berth rates as in optimizer/generator/ports.py (t/h, "
                                      "TEU/h per berth, all ESTIMATES); this multiplies them all")

    # -- arrivals and their noise --------------------------------------------------------------------
    announce_lead_h: Figure = _f(72, "ESTIMATE: a call becomes known to the ports 72 h before its arrival "
                                 "(pre-arrival notice)")
    eta_mean_h: Figure = Field(default=Figure(value=1.0, source="ESTIMATE: as the replay stream "
                                              "(optimizer/generator/events.py): vessels are late on average"))
    eta_sigma_h: Figure = _f(2.0, "ESTIMATE: as the replay stream, N(+1 h, 2 h) truncated to [-3 h, +8 h]")
    eta_early_h: Figure = _f(3.0, "ESTIMATE: the truncation, at most 3 h early")
    eta_late_h: Figure = _f(8.0, "ESTIMATE: the truncation, at most 8 h late")
    eta_report_leads_h: Span = _s(6, 24, "ESTIMATE: ETA reported 24 h ahead (a noisy estimate) and 6 h ahead "
                                  "(the true arrival)")
    late_train_share: Figure = _f(0.2, f"ESTIMATE: grain trains late ({CASPIAN}, Weather and congestion: "
                                  "~700 grain wagons queued at Aktau after irregular arrivals)")
    late_train_h: Span = _s(6, 12, "ESTIMATE: as the replay stream, 6-12 h late, reported 12 h ahead")
    berthing_delay_share: Figure = _f(0.2, "ESTIMATE: as portsync replay's simulator, ~20 % of vessels berth "
                                      "10-60 min after the plan says")

    # -- storms (not scaled by growth; the storms option scales them) --------------------------------
    storm_h: Span = _s(12, 48, f"{CASPIAN}, Weather and congestion: storms close the ports usually for "
                       "1-5 days; ESTIMATE 12-48 h at Alat per storm (Kuryk longer, Aktau shorter)")
    storm_calm_mean_h: Figure = _f(288, f"ESTIMATE: an average month of the year, a storm every 12 days "
                                   f"of calm: the storms gather in autumn and winter ({CASPIAN}, Weather: "
                                   "Kuryk closed about half the time in Nov-Dec), where a storm comes about "
                                   "every 4 days of calm (the option storms:3 lives such a month)")
    storm_notice_h: Figure = _f(12, "ESTIMATE: a closure is announced 12 h ahead (forecast)")

    @model_validator(mode="after")
    def _consistent(self) -> TrafficModel:
        if self.rail_ferry_share.value > 1:
            raise ValueError("rail_ferry_share: must be between 0 and 1")
        if self.handling_rate_factor.value <= 0:
            raise ValueError("handling_rate_factor: must be positive")
        if self.storm_calm_mean_h.value <= 0:
            raise ValueError("storm_calm_mean_h: must be positive")
        return self

    # -- demand -------------------------------------------------------------------------------------

    @property
    def total_days(self) -> float:
        return self.warmup_days + self.days + self.tail_days

    def scaled(self, growth: float) -> TrafficModel:
        """The demand times `growth` (volumes, ferries and calls a day); the rest as it is."""
        if growth <= 0:
            raise ValueError(f"growth must be positive, got {growth}")
        update = {name: Figure(value=getattr(self, name).value * growth,
                               source=f"{getattr(self, name).source} (x {growth:g})")
                  for name in DEMAND}
        return self.model_copy(update=update)

    def sizes(self) -> CallSizes:
        return CallSizes(feeder_teu=self.feeder_teu.pair, tanker_t=self.tanker_t.pair,
                         grain_t=self.grain_t.pair,
                         dry_bulk_t=self.dry_bulk_t.pair, general_h=self.general_h.pair,
                         rail_ferry_single_h=self.rail_ferry_single_h.pair,
                         rail_ferry_double_h=self.rail_ferry_double_h.pair, ro_ro_h=self.ro_ro_h.pair)

    def streams(self) -> dict[str, int]:
        """Calls per generator stream over the generated days (a shuttle's calls are split between
        its two ports: n ferries a day at Kuryk are 2n calls of the Kuryk-Alat stream)."""
        d = self.total_days
        kuryk = 2 * self.kuryk_ferries_per_day.value * d
        rail = round(kuryk * self.rail_ferry_share.value)
        return {
            "kuryk_alat_rail_ferry": rail,
            "kuryk_alat_ro_ro": round(kuryk) - rail,
            "aktau_alat_rail_ferry": round(2 * self.aktau_ferries_per_day.value * d),
            "turkmenbashi_ferry": round(self.turkmenbashi_ferries_per_day.value * d),
            "aktau_alat_feeder": round(2 * self.aktau_teu_per_year.value * d / 365 / self.feeder_teu.mean),
            "alat_transship_feeder": round(self.transship_feeders_per_day.value * d),
            "aktau_tanker": round(self.oil_t_per_year.value * d / 365 / self.tanker_t.mean),
            "dry_general": round(self.general_calls_per_day.value * d),
        }

    def grain_tonnes(self) -> dict[str, float]:
        d = self.total_days
        return {AKTAU: self.aktau_grain_t_per_year.value * d / 365,
                KURYK: self.kuryk_grain_t_per_year.value * d / 365}

    def figures(self) -> list[tuple[str, str, str]]:
        """(name, value, source) of every figure, for the report."""
        out = []
        for name in type(self).model_fields:
            v = getattr(self, name)
            if isinstance(v, Figure):
                out.append((name, f"{v.value:,.4g}", v.source))
            elif isinstance(v, Span):
                out.append((name, f"{v.low:,.4g}-{v.high:,.4g}", v.source))
        return out


#: The figures `scaled` multiplies.
DEMAND = ("aktau_teu_per_year", "kuryk_ferries_per_day", "aktau_ferries_per_day",
          "turkmenbashi_ferries_per_day",
          "aktau_grain_t_per_year", "kuryk_grain_t_per_year", "oil_t_per_year", "transship_feeders_per_day",
          "general_calls_per_day")


class TrafficConfigError(ValueError):
    """A config file the model cannot take: every bad field named."""


def _wrap(name: str, value: Any, where: str) -> Any:
    """A bare number (or [low, high]) in a config file becomes a figure sourced to the file."""
    field = TrafficModel.model_fields.get(name)
    if field is None or field.annotation not in (Figure, Span, "Figure", "Span"):
        return value
    span = field.annotation in (Span, "Span")
    if isinstance(value, int | float) and not isinstance(value, bool) and not span:
        return {"value": value, "source": f"set in {where}"}
    if span and isinstance(value, list) and len(value) == 2:
        return {"low": value[0], "high": value[1], "source": f"set in {where}"}
    if isinstance(value, dict) and "source" not in value:
        return {**value, "source": f"set in {where}"}
    return value


def model_from(overrides: dict[str, Any], where: str = "the config", base: TrafficModel | None = None
               ) -> TrafficModel:
    """`base` (default: today's traffic) with `overrides` (field -> number, [low, high], or a full
    figure); TrafficConfigError naming each bad field."""
    base = base or TrafficModel()
    data = base.model_dump()
    for name, value in overrides.items():
        data[name] = _wrap(name, value, where)
    try:
        return TrafficModel.model_validate(data)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"]) or "(model)"
            lines.append(f"{loc}: {e['msg']}")
        raise TrafficConfigError(f"{where}: " + "; ".join(lines)) from None


def load_model(path: str | Path, base: TrafficModel | None = None) -> TrafficModel:
    """The model with a TOML (.toml) or JSON file's overrides (top-level keys = field names; an
    optional [traffic] table in TOML)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise TrafficConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(raw.decode("utf-8"))
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if p.suffix.lower() == ".json" else "TOML"
        raise TrafficConfigError(f"{p}: not {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise TrafficConfigError(f"{p}: the file must hold a table of figures")
    if isinstance(data.get("traffic"), dict):
        data = {**{k: v for k, v in data.items() if k != "traffic"}, **data["traffic"]}
    return model_from(data, str(p), base)


# -- the generated month ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthWorld:
    """A generated month as it will really be: every call with its scheduled ETA and cargo-ready
    time, the storms as port closures, planned maintenance on berths, hard latest departures set
    after FCFS with the storms; and the counted window."""

    problem: Problem
    model: TrafficModel
    seed: int
    counted_from: datetime
    counted_to: datetime
    #: Each call's nominal arrival (no queue, service speed), as the generator made it.
    nominal_arrival: dict[str, datetime]

    @property
    def warmup_h(self) -> float:
        return (self.counted_from - self.problem.horizon_start).total_seconds() / 3600

    @property
    def hours(self) -> float:
        return (self.counted_to - self.counted_from).total_seconds() / 3600


def build_world(model: TrafficModel, seed: int, *, storm_scale: float = 1.0,
                start: datetime | None = None) -> MonthWorld:
    """The month for a seed: the generator's streams at the model's rates on the real berths (with
    the model's handling rate factor), storms and maintenance, the same for a seed. `storm_scale`
    makes storms that many times as frequent (a longer storm season)."""
    if storm_scale <= 0:
        raise ValueError(f"storm_scale must be positive, got {storm_scale}")
    t0 = start or DEFAULT_START
    hours = model.total_days * 24.0
    ports = _with_rate_factor(caspian_ports(1), model.handling_rate_factor.value)
    b = Builder(hours, random.Random(f"portsync-study-traffic-{seed}"), ports, model.sizes())
    build_traffic(b, model.streams())
    for port, tonnes in model.grain_tonnes().items():
        b.grain_tonnes("aktau_grain" if port == AKTAU else "kuryk_grain", port, tonnes)
    weather: dict[str, list[Window]] = storm_windows(
        random.Random(f"portsync-study-weather-{seed}"), hours, storm_h=model.storm_h.pair,
        calm_mean_h=model.storm_calm_mean_h.value / storm_scale,
        first_within_h=model.storm_calm_mean_h.value / storm_scale)  # the first storm: within one calm
    upkeep = maintenance_windows(random.Random(f"portsync-study-maintenance-{seed}"), ports, model.total_days)
    data = _problem_dict(b, name=f"study-month-seed{seed}", description="", start=t0, hours=hours,
                         ports=ports, closures=weather, unavailable=upkeep, links=False, time_step_minutes=1)
    problem = _finish(b, data, t0)
    problem.description = (f"Capacity-study month (seed {seed}): {model.warmup_days:g} warm-up days, "
                           f"{model.days} counted days, {model.tail_days:g} tail days at Aktau, Kuryk and "
                           "Alat; traffic model optimizer.study.traffic (figures and sources there).")
    nominal = {c.id: t0 + timedelta(hours=c.arrive) for c in b.calls}
    counted_from = t0 + timedelta(days=model.warmup_days)
    return MonthWorld(problem=problem, model=model, seed=seed, counted_from=counted_from,
                      counted_to=counted_from + timedelta(days=model.days), nominal_arrival=nominal)


def _with_rate_factor(ports: list[Port], factor: float) -> list[Port]:
    if factor == 1.0:
        return ports
    return [p.model_copy(update={"berths": [b.model_copy(update={"productivity": b.productivity * factor})
                                            for b in p.berths]}) for p in ports]


def calls_by_stream(world: MonthWorld) -> dict[str, int]:
    """Calls per port and vessel type of the generated month ('KZAAU container_feeder' ...)."""
    vessels = world.problem.vessel_map()
    out: dict[str, int] = {}
    for c in world.problem.calls:
        key = f"{c.port_id} {vessels[c.vessel_id].type.value}"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


PORT_NAMES = {AKTAU: "Aktau", KURYK: "Kuryk", ALAT: "Alat"}
