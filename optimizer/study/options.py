"""Options that are decisions: what a port authority or an investor could change, applied to a
generated month.

The vocabulary, as short strings for the CLI (the same strings in a config, and as the month's
``MonthKey.option``):

- ``base``: the ports as they are;
- ``add-berth:KZAAU-CT``: one more berth like a named one (a copy: same length, draft, cargo
  kinds and rates, no maintenance); ``add-berth:KZKUR:rail_ferry``: one more berth of a kind at a
  port (a copy of the port's first berth that works that cargo);
- ``remove-berth:AZBAK-B07``: a berth out of service for the month;
- ``productivity:AZBAK-B03:1.25``: a berth's handling rates times a factor;
- ``storms:1.5``: a longer storm season, storms that many times as frequent (closure hours
  grow about as much);
- ``ferries:+2``: two more ferries a day at Kuryk (each shuttles to Alat: two more there too).

Berth options change the month's berths after its traffic is generated, so that the same seed
gives the same calls with and without them (common random numbers); storms and ferries change
what is generated.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from optimizer.domain import Berth, CargoKind, Port, Problem
from optimizer.generator.ports import caspian_ports
from optimizer.study.traffic import Figure, TrafficModel
from optimizer.validation import validate_problem


class OptionError(ValueError):
    """An option string or a berth it names that the study cannot take."""


class OptionKind(StrEnum):
    BASE = "base"
    ADD_BERTH = "add-berth"
    REMOVE_BERTH = "remove-berth"
    PRODUCTIVITY = "productivity"
    STORMS = "storms"
    FERRIES = "ferries"


class StudyOption(BaseModel):
    """One decision, parsed from its string (:func:`parse_option`)."""

    model_config = ConfigDict(frozen=True)

    kind: OptionKind = Field(description="What is decided.")
    berth_id: str | None = Field(default=None, description="The berth named (add-berth copy, remove-berth, "
                                 "productivity).")
    port_id: str | None = Field(default=None, description="The port of a new berth of a kind.")
    cargo: CargoKind | None = Field(default=None, description="The kind of a new berth.")
    factor: float = Field(default=1.0, gt=0, description="Productivity or storm factor.")
    ferries_per_day: float = Field(default=0.0, ge=0, description="Ferries a day added at Kuryk.")

    @property
    def name(self) -> str:
        """The canonical string (MonthKey.option)."""
        k = self.kind
        if k == OptionKind.ADD_BERTH:
            return f"{k}:{self.berth_id}" if self.berth_id else f"{k}:{self.port_id}:{self.cargo}"
        if k == OptionKind.REMOVE_BERTH:
            return f"{k}:{self.berth_id}"
        if k == OptionKind.PRODUCTIVITY:
            return f"{k}:{self.berth_id}:{self.factor:g}"
        if k == OptionKind.STORMS:
            return f"{k}:{self.factor:g}"
        if k == OptionKind.FERRIES:
            return f"{k}:+{self.ferries_per_day:g}"
        return str(k)

    def describe(self) -> str:
        k = self.kind
        if k == OptionKind.ADD_BERTH:
            what = self.berth_id or f"a {self.cargo} berth at {self.port_id}"
            return f"one more berth like {what}"
        if k == OptionKind.REMOVE_BERTH:
            return f"berth {self.berth_id} out of service"
        if k == OptionKind.PRODUCTIVITY:
            return f"berth {self.berth_id}'s handling rates x {self.factor:g}"
        if k == OptionKind.STORMS:
            return f"storms {self.factor:g} times as frequent"
        if k == OptionKind.FERRIES:
            return f"{self.ferries_per_day:g} more ferries a day at Kuryk (and at Alat)"
        return "the ports as they are"

    # -- applied ---------------------------------------------------------------------------------

    def model(self, model: TrafficModel) -> TrafficModel:
        """The traffic model with this option (ferries); others leave it as it is."""
        if self.kind != OptionKind.FERRIES:
            return model
        f = model.kuryk_ferries_per_day
        return model.model_copy(update={"kuryk_ferries_per_day": Figure(
            value=f.value + self.ferries_per_day, source=f"{f.source} (+{self.ferries_per_day:g}: option)")})

    @property
    def storm_scale(self) -> float:
        return self.factor if self.kind == OptionKind.STORMS else 1.0

    def problem(self, problem: Problem) -> Problem:
        """The month with this option's berths (OptionError when it names no berth of the month,
        or leaves calls with no berth that fits)."""
        k = self.kind
        if k not in (OptionKind.ADD_BERTH, OptionKind.REMOVE_BERTH, OptionKind.PRODUCTIVITY):
            return problem
        ports = [self._port(p) for p in problem.ports]
        out = problem.model_copy(update={"ports": ports})
        if k == OptionKind.REMOVE_BERTH:
            issues = validate_problem(out)
            if issues:
                calls = sorted({str(i.loc[1]) for i in issues if i.loc[:1] == ["calls"]})
                ids = [problem.calls[int(c)].id for c in calls if c.isdigit()]
                n = len(ids) or len(issues)
                raise OptionError(f"{self.name}: without {self.berth_id}, {n} call(s) fit no "
                                  f"berth of their port (e.g. {', '.join(ids[:3]) or issues[0].msg})")
        return out

    def _port(self, port: Port) -> Port:
        berths = list(port.berths)
        k = self.kind
        if k == OptionKind.ADD_BERTH:
            if self.berth_id is not None:
                model = next((b for b in berths if b.id == self.berth_id), None)
            elif self.port_id == port.id:
                model = next((b for b in berths if self.cargo in b.cargo_kinds), None)
            else:
                return port
            if model is None:
                return port
            berths.append(_added(model, {b.id for b in berths}))
        elif k == OptionKind.REMOVE_BERTH:
            berths = [b for b in berths if b.id != self.berth_id]
        elif k == OptionKind.PRODUCTIVITY:
            berths = [b.model_copy(update={"productivity": b.productivity * self.factor})
                      if b.id == self.berth_id else b for b in berths]
        return port.model_copy(update={"berths": berths})


def _added(model: Berth, taken: set[str]) -> Berth:
    n = 1
    while f"{model.id}-ADD{n}" in taken:
        n += 1
    return model.model_copy(update={"id": f"{model.id}-ADD{n}", "name": f"{model.name} (added, option)",
                                     "unavailable": []})


BASE = StudyOption(kind=OptionKind.BASE)
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def _berths() -> dict[str, tuple[str, set[CargoKind]]]:
    return {b.id: (p.id, set(b.cargo_kinds)) for p in caspian_ports(1) for b in p.berths}


#: Port names the CLI takes beside the ids ("ALAT-B3" is "AZBAK-B03").
PORT_ALIASES = {"AKTAU": "KZAAU", "KURYK": "KZKUR", "ALAT": "AZBAK", "BAKU": "AZBAK"}


def _port_id(text: str) -> str:
    return PORT_ALIASES.get(text.upper(), text.upper())


def _known_berth(text: str, berth: str) -> str:
    known = _berths()
    port, _, local = berth.upper().partition("-")
    if (m := re.fullmatch(r"([A-Z]+)([0-9])", local)) is not None:
        local = f"{m.group(1)}0{m.group(2)}"
    bid = f"{_port_id(port)}-{local}"
    if bid not in known:
        port = bid.split("-")[0]
        near = sorted(b for b in known if b.startswith(port + "-")) or sorted(known)
        raise OptionError(f"{text!r}: unknown berth {berth!r}; berths: {', '.join(near)}")
    return bid


def parse_option(text: str) -> StudyOption:
    """A StudyOption from its short string (OptionError naming what is wrong)."""
    s = text.strip()
    head, _, rest = s.partition(":")
    try:
        kind = OptionKind(head.lower())
    except ValueError:
        raise OptionError(f"{text!r}: unknown option {head!r}; use one of "
                          f"{', '.join(k.value for k in OptionKind)}") from None
    parts = rest.split(":") if rest else []
    usage = {
        OptionKind.BASE: "base",
        OptionKind.ADD_BERTH: "add-berth:<berth id> or add-berth:<port id>:<cargo kind>",
        OptionKind.REMOVE_BERTH: "remove-berth:<berth id>",
        OptionKind.PRODUCTIVITY: "productivity:<berth id>:<factor>",
        OptionKind.STORMS: "storms:<factor>",
        OptionKind.FERRIES: "ferries:+<ferries a day>",
    }[kind]

    def bad(why: str) -> OptionError:
        return OptionError(f"{text!r}: {why} (write {usage})")

    if kind == OptionKind.BASE:
        if parts:
            raise bad("base takes no argument")
        return BASE
    if kind == OptionKind.ADD_BERTH and len(parts) == 2:
        port = _port_id(parts[0])
        ports = {p.id for p in caspian_ports(1)}
        if port not in ports:
            raise bad(f"unknown port {parts[0]!r}; ports: {', '.join(sorted(ports))}")
        try:
            cargo = CargoKind(parts[1].lower())
        except ValueError:
            raise bad(f"unknown cargo kind {parts[1]!r}; kinds: "
                      f"{', '.join(c.value for c in CargoKind)}") from None
        if not any(port == p and cargo in kinds for p, kinds in _berths().values()):
            raise bad(f"{port} has no {cargo.value} berth to copy")
        return StudyOption(kind=kind, port_id=port, cargo=cargo)
    if kind in (OptionKind.ADD_BERTH, OptionKind.REMOVE_BERTH):
        if len(parts) != 1 or not parts[0]:
            raise bad("name one berth")
        return StudyOption(kind=kind, berth_id=_known_berth(text, parts[0]))
    if kind == OptionKind.PRODUCTIVITY:
        if len(parts) != 2 or not re.fullmatch(_NUMBER, parts[1]) or float(parts[1]) <= 0:
            raise bad("give a berth and a positive factor")
        return StudyOption(kind=kind, berth_id=_known_berth(text, parts[0]), factor=float(parts[1]))
    if kind == OptionKind.STORMS:
        if len(parts) != 1 or not re.fullmatch(_NUMBER, parts[0]) or float(parts[0]) <= 0:
            raise bad("give a positive factor")
        return StudyOption(kind=kind, factor=float(parts[0]))
    if len(parts) != 1 or not re.fullmatch(r"\+" + _NUMBER, parts[0]) or float(parts[0]) <= 0:
        raise bad("give the ferries a day added, with a plus sign")
    return StudyOption(kind=kind, ferries_per_day=float(parts[0]))
