"""Problem data: ports, berths, vessels, calls, voyages, links, closures.

Plain pydantic records that round-trip to JSON. Checks that concern one record live on the
record; checks that need the whole problem (references, fit, windows) live in
:mod:`optimizer.validation` so that every problem is reported at once, per call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Id = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"),
]
Hours = Annotated[float, Field(ge=0, le=24 * 60)]

#: Longest free texts a record takes (the API may be configured to take less).
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000
MAX_REASON_CHARS = 1_000
Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)]
Reason = Annotated[str, Field(max_length=MAX_REASON_CHARS)]

#: NUL (PostgreSQL cannot store it) and lone surrogates (not Unicode: no UTF-8 for them).
_UNSAFE_CHAR = re.compile("[\x00\ud800-\udfff]")


def text_fault(s: str) -> str | None:
    """Why `s` cannot be stored or written as UTF-8 JSON, or None when it can."""
    m = _UNSAFE_CHAR.search(s)
    if m is None:
        return None
    what = "a NUL character" if m.group() == "\x00" else "a lone surrogate"
    return f"contains {what} (\\u{ord(m.group()):04x}) at character {m.start()}"


def _value_fault(v: Any) -> str | None:
    if isinstance(v, str):
        return text_fault(v)
    if isinstance(v, list):
        for i, x in enumerate(v):
            if isinstance(x, str) and (fault := text_fault(x)):
                return f"item {i} {fault}"
    return None


class Record(BaseModel):
    """Base of every input record: unknown fields are an error, not silently dropped; no string
    may hold a NUL character or a lone surrogate (it could be neither stored nor written back)."""

    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _safe_text(cls, v: Any) -> Any:
        # Before the field's own checks, which would only say "not a valid string". It runs on every
        # field of every record: the common cases (not text, clean text) return at once.
        if (type(v) is str and _UNSAFE_CHAR.search(v) is None) or not isinstance(v, str | list):
            return v
        if fault := _value_fault(v):
            raise PydanticCustomError("string_unsafe", "{fault}", {"fault": fault})
        return v


class CargoKind(StrEnum):
    RAIL_FERRY = "rail_ferry"
    RO_RO = "ro_ro"
    CONTAINER = "container"
    GENERAL = "general"
    DRY_BULK = "dry_bulk"
    GRAIN = "grain"
    LIQUID_BULK = "liquid_bulk"


class VesselType(StrEnum):
    RAIL_FERRY = "rail_ferry"
    RO_PAX = "ro_pax"
    RO_RO = "ro_ro"
    CONTAINER_FEEDER = "container_feeder"
    TANKER = "tanker"
    BULK_CARRIER = "bulk_carrier"
    GENERAL_CARGO = "general_cargo"
    OTHER = "other"


class TimeWindow(Record):
    """A half-open interval [start, end) in absolute time."""

    start: AwareDatetime
    end: AwareDatetime
    reason: Reason = ""

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("end must be after start")
        return end


class Closure(TimeWindow):
    """Weather closure of a port: no vessel may berth at or leave the port inside it."""


class Berth(Record):
    id: Id
    name: Name = ""
    length_m: float = Field(gt=0, le=2000)
    max_draft_m: float = Field(gt=0, le=30)
    cargo_kinds: list[CargoKind] = Field(min_length=1)
    unavailable: list[TimeWindow] = Field(
        default_factory=list, description="Maintenance or other windows the berth cannot be used."
    )
    productivity: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="Speed factor of this berth: handling hours are divided by it.",
    )
    rates: dict[CargoKind, float] = Field(
        default_factory=dict,
        description="Handling rate per cargo kind in units per hour (tonnes, TEU, wagons...), "
        "used for calls given by quantity.",
    )

    @field_validator("rates")
    @classmethod
    def _positive_rates(cls, v: dict[CargoKind, float]) -> dict[CargoKind, float]:
        for kind, rate in v.items():
            if rate <= 0:
                raise ValueError(f"rate for {kind.value} must be positive")
        return v


class Port(Record):
    id: Id = Field(description="UN/LOCODE, e.g. KZAAU, KZKUR, AZBAK")
    name: Name = ""
    timezone: str = Field(description="IANA time zone, e.g. Asia/Aqtau")
    berths: list[Berth] = Field(min_length=1)
    closures: list[Closure] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v


def imo_check_digit_ok(imo: str) -> bool:
    """IMO number: digits 1-6 times 7,6,5,4,3,2, summed; last digit of the sum is digit 7."""
    total = sum(int(d) * w for d, w in zip(imo[:6], (7, 6, 5, 4, 3, 2), strict=True))
    return total % 10 == int(imo[6])


class Vessel(Record):
    id: Id
    name: Name = ""
    imo: str | None = Field(default=None, description="7-digit IMO number, check digit validated")
    mmsi: str | None = Field(default=None, description="9-digit MMSI")
    type: VesselType = VesselType.OTHER
    length_m: float = Field(gt=0, le=500)
    draft_m: float = Field(gt=0, le=30)
    min_speed_kn: float = Field(default=6.0, gt=0, le=40)
    service_speed_kn: float = Field(default=12.0, gt=0, le=40)
    max_speed_kn: float = Field(default=14.0, gt=0, le=40)
    fuel_t_per_day: float | None = Field(
        default=None,
        gt=0,
        description="Main-engine fuel at service speed (t/day); an estimate by type if absent.",
    )

    @field_validator("imo")
    @classmethod
    def _imo(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.removeprefix("IMO").strip()
        if not re.fullmatch(r"\d{7}", v):
            raise ValueError("IMO number must be 7 digits")
        if not imo_check_digit_ok(v):
            raise ValueError(f"IMO number {v} fails its check digit")
        return v

    @field_validator("mmsi")
    @classmethod
    def _mmsi(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d{9}", v):
            raise ValueError("MMSI must be 9 digits")
        return v

    @model_validator(mode="after")
    def _speeds(self) -> Self:
        if not self.min_speed_kn <= self.service_speed_kn <= self.max_speed_kn:
            raise ValueError("speeds must satisfy min_speed_kn <= service_speed_kn <= max_speed_kn")
        return self


class Handling(Record):
    """How long a call occupies a berth.

    Either `hours` (at a berth of productivity 1, divided by the berth's productivity), or
    `quantity` worked at the berth's rate for the call's cargo kind; `hours_by_berth` overrides
    both for named berths.
    """

    hours: Hours | None = None
    quantity: float | None = Field(default=None, gt=0)
    hours_by_berth: dict[Id, Hours] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _some(self) -> Self:
        if self.hours is None and self.quantity is None and not self.hours_by_berth:
            raise ValueError("give hours, quantity or hours_by_berth")
        return self


class FrozenAssignment(Record):
    """A call already at berth, or locked by the planner: it keeps this berth and these times."""

    berth_id: Id
    berth_start: AwareDatetime
    berth_end: AwareDatetime
    arrival: AwareDatetime | None = None

    @field_validator("berth_end")
    @classmethod
    def _ordered(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("berth_start")
        if start is not None and end <= start:
            raise ValueError("berth_end must be after berth_start")
        return end

    @field_validator("arrival")
    @classmethod
    def _arrival(cls, arrival: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("berth_start")
        if arrival is not None and start is not None and arrival > start:
            raise ValueError("arrival must not be after berth_start")
        return arrival


class Call(Record):
    """One visit of one vessel to one port."""

    id: Id
    vessel_id: Id
    port_id: Id
    cargo: CargoKind
    handling: Handling
    earliest_start: AwareDatetime | None = Field(
        default=None, description="Cargo or train ready: no berthing before this."
    )
    requested_departure: AwareDatetime | None = Field(
        default=None, description="Soft due time; lateness against it is penalised."
    )
    latest_departure: AwareDatetime | None = Field(
        default=None, description="Hard: the vessel must leave the berth by then."
    )
    weight: int = Field(default=1, ge=1, le=1000, description="Priority weight in the objective.")
    allowed_berths: list[Id] | None = Field(
        default=None, description="Restrict the call to these berths (ids of its port)."
    )
    frozen: FrozenAssignment | None = None

    @field_validator("handling", mode="before")
    @classmethod
    def _hours_shortcut(cls, v: Any) -> Any:
        if isinstance(v, int | float) and not isinstance(v, bool):
            return {"hours": v}
        return v


class Voyage(Record):
    """A vessel's calls in the order it makes them. The first call's arrival is its ETA."""

    vessel_id: Id
    eta: AwareDatetime = Field(description="Estimated time of arrival at the first call's port.")
    call_ids: list[Id] = Field(min_length=1)


class Link(Record):
    """`after` may not start before `before` ends plus `min_gap_hours` (and within max gap)."""

    before: Id
    after: Id
    min_gap_hours: float = Field(default=0.0, ge=0, le=24 * 60)
    max_gap_hours: float | None = Field(default=None, ge=0, le=24 * 60)
    reason: Reason = ""

    @field_validator("after")
    @classmethod
    def _not_itself(cls, after: str, info: ValidationInfo) -> str:
        if after == info.data.get("before"):
            raise ValueError("a call cannot be linked to itself")
        return after

    @field_validator("max_gap_hours")
    @classmethod
    def _gaps(cls, gap: float | None, info: ValidationInfo) -> float | None:
        least = info.data.get("min_gap_hours")
        if gap is not None and least is not None and gap < least:
            raise ValueError("max_gap_hours must be at least min_gap_hours")
        return gap


class SailingDistance(Record):
    from_port: Id
    to_port: Id
    nm: float = Field(gt=0, le=5000)


DEFAULT_DISTANCES_NM: dict[frozenset[str], float] = {
    # Great-circle ESTIMATES from shared/domain/caspian.md.
    frozenset({"KZAAU", "AZBAK"}): 255.0,
    frozenset({"KZKUR", "AZBAK"}): 235.0,
    frozenset({"KZAAU", "KZKUR"}): 35.0,
}


class PreviousAssignment(Record):
    """One call of a previous plan: the solver starts from it and penalises changes."""

    call_id: Id
    berth_id: Id
    berth_start: AwareDatetime


class Problem(Record):
    """Everything the planner sends: one berth plan is made for all its ports together."""

    name: Name = "problem"
    description: Description = ""
    horizon_start: AwareDatetime
    horizon_end: AwareDatetime
    time_step_minutes: int = Field(
        default=1, ge=1, le=60, description="Model granularity in minutes (1, 5, 15 ...)."
    )
    ports: list[Port] = Field(min_length=1)
    vessels: list[Vessel] = Field(min_length=1)
    calls: list[Call] = Field(min_length=1)
    voyages: list[Voyage] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    distances: list[SailingDistance] = Field(
        default_factory=list, description="Overrides of the built-in Caspian distance table."
    )
    previous_plan: list[PreviousAssignment] | None = None

    @field_validator("horizon_end")
    @classmethod
    def _horizon(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("horizon_start")
        if start is None:
            return end
        if end <= start:
            raise ValueError("horizon_end must be after horizon_start")
        if end - start > timedelta(days=366):
            raise ValueError("horizon may not exceed 366 days")
        return end

    # -- lookups used everywhere: built once per problem, on first use ---------------------------
    #
    # The maps are shared: read them, do not change them. They hold the records themselves, so an
    # edited field of a call shows; a copy (model_copy, copy, deepcopy) or a field assigned anew
    # (`problem.calls = ...`) gets fresh maps, but lists changed in place after a first lookup
    # (`problem.calls.append`) do not: build a new Problem, or model_copy(update=...) instead.

    @cached_property
    def _lookups(self) -> _Lookups:
        return _Lookups.of(self)

    def _forget_lookups(self) -> None:
        self.__dict__.pop("_lookups", None)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in _LOOKUP_SOURCES:
            self._forget_lookups()

    def __copy__(self) -> Self:
        copied = super().__copy__()
        copied._forget_lookups()  # model_copy(update=...) then replaces fields the maps were of
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        copied = super().__deepcopy__(memo)
        copied._forget_lookups()
        return copied

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state["__dict__"] = {k: v for k, v in state["__dict__"].items() if k != "_lookups"}
        return state

    def port(self, port_id: str) -> Port:
        return next(p for p in self.ports if p.id == port_id)

    def berth_port(self) -> dict[str, Port]:
        """Berth id -> its port."""
        return self._lookups.berth_port

    def berths(self) -> dict[str, Berth]:
        """Berth id -> berth, all ports."""
        return self._lookups.berths

    def vessel_map(self) -> dict[str, Vessel]:
        return self._lookups.vessels

    def call_map(self) -> dict[str, Call]:
        return self._lookups.calls

    def distance_nm(self, a: str, b: str) -> float | None:
        if a == b:
            return 0.0
        for d in self.distances:
            if {d.from_port, d.to_port} == {a, b}:
                return d.nm
        return DEFAULT_DISTANCES_NM.get(frozenset({a, b}))

    def voyage_order(self) -> dict[str, tuple[Voyage, int]]:
        """Call id -> (its voyage, its index in the voyage)."""
        return self._lookups.voyage_order

    def previous_in_horizon(self) -> list[PreviousAssignment]:
        """The previous plan's entries that start inside the horizon: the ones the objective
        counts changes against. An entry outside it cannot be this horizon's plan; it is ignored
        (and the plan warns about it)."""
        return [a for a in self.previous_plan or []
                if self.horizon_start <= a.berth_start <= self.horizon_end]

    def minutes(self, t: datetime) -> float:
        """Minutes from the horizon start (may be fractional or negative)."""
        return (t - self.horizon_start).total_seconds() / 60.0


#: The fields the lookups are built from: assigning one anew forgets them.
_LOOKUP_SOURCES = frozenset({"ports", "vessels", "calls", "voyages"})


@dataclass(frozen=True)
class _Lookups:
    """A problem's id maps (see Problem.call_map and the others), built together."""

    berth_port: dict[str, Port]
    berths: dict[str, Berth]
    vessels: dict[str, Vessel]
    calls: dict[str, Call]
    voyage_order: dict[str, tuple[Voyage, int]]

    @classmethod
    def of(cls, p: Problem) -> _Lookups:
        return cls(
            berth_port={b.id: port for port in p.ports for b in port.berths},
            berths={b.id: b for port in p.ports for b in port.berths},
            vessels={v.id: v for v in p.vessels},
            calls={c.id: c for c in p.calls},
            voyage_order={cid: (v, i) for v in p.voyages for i, cid in enumerate(v.call_ids)},
        )


# -- handling time and berth fit, shared by model, baseline and checker -------------------------


def handling_hours(call: Call, berth: Berth) -> float | None:
    """Hours the call occupies `berth`, or None if the berth has no rate for a quantity call."""
    h = call.handling
    if berth.id in h.hours_by_berth:
        return h.hours_by_berth[berth.id]
    if h.hours is not None:
        return h.hours / berth.productivity
    if h.quantity is not None:
        rate = berth.rates.get(call.cargo)
        if rate is None:
            return None
        return h.quantity / (rate * berth.productivity)
    return None


def berth_fits(call: Call, vessel: Vessel, berth: Berth) -> bool:
    """Whether `vessel` can work `call` at `berth` (berth_misfit says why not): the fast test for
    loops over every call and berth."""
    return (call.cargo in berth.cargo_kinds and vessel.length_m <= berth.length_m
            and vessel.draft_m <= berth.max_draft_m
            and (call.allowed_berths is None or berth.id in call.allowed_berths)
            and handling_hours(call, berth) is not None)


def fit_key(call: Call, vessel: Vessel) -> tuple[Any, ...]:
    """What decides which berths fit a call (not for how long): calls with one key fit the same
    berths, so fits are worked out once per key."""
    return (vessel.length_m, vessel.draft_m, call.port_id, call.cargo,
            tuple(call.allowed_berths or ()) or None, call.handling.quantity is None,
            tuple(sorted(call.handling.hours_by_berth)))


def berth_misfit(call: Call, vessel: Vessel, berth: Berth) -> str | None:
    """Why `vessel` cannot work `call` at `berth`, or None if it fits."""
    if call.allowed_berths is not None and berth.id not in call.allowed_berths:
        return f"berth {berth.id} is not among the call's allowed berths"
    if vessel.length_m > berth.length_m:
        return f"vessel length {vessel.length_m} m exceeds berth {berth.id} length {berth.length_m} m"
    if vessel.draft_m > berth.max_draft_m:
        return f"vessel draft {vessel.draft_m} m exceeds berth {berth.id} max draft {berth.max_draft_m} m"
    if call.cargo not in berth.cargo_kinds:
        return f"berth {berth.id} does not work {call.cargo.value}"
    if handling_hours(call, berth) is None:
        return f"berth {berth.id} has no handling rate for {call.cargo.value}"
    return None
