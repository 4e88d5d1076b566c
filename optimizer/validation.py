"""Whole-problem checks: references, fit, windows and order, reported all at once.

`load_problem` is the one door into the library for user data: it runs pydantic's field checks
and then these, and raises :class:`InvalidProblem` with every issue and its field path.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from graphlib import CycleError, TopologicalSorter
from typing import Any, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError

from optimizer.domain import (
    Call,
    Link,
    Port,
    PreviousAssignment,
    Problem,
    Record,
    SailingDistance,
    Vessel,
    Voyage,
    berth_fits,
    berth_misfit,
)
from optimizer.kpis import fmt_time

Loc = tuple[str | int, ...]
_R = TypeVar("_R", bound=Record)


class Issue(BaseModel):
    """One thing wrong with the input: where (field path), what kind, and why."""

    loc: list[str | int]
    msg: str
    type: str = "value_error"
    call_id: str | None = None

    @property
    def path(self) -> str:
        return ".".join(str(p) for p in self.loc)

    def __str__(self) -> str:
        return f"{self.path or '(root)'}: {self.msg}"


class InvalidInput(ValueError):
    """Input that cannot be used; `issues` lists every reason with its field path, `source` names
    where the input came from (a file name), when known."""

    def __init__(self, issues: list[Issue], source: str | None = None):
        self.issues = issues
        self.source = source
        text = "; ".join(str(i) for i in issues[:20])
        super().__init__(f"{source}: {text}" if source else text)

    def with_source(self, source: str) -> Self:
        """The same error, naming where the input came from."""
        return type(self)(self.issues, source=source)


class InvalidProblem(InvalidInput):
    """The problem cannot be planned as given; `issues` lists every reason with its field path."""


def issues_from_pydantic(err: ValidationError, prefix: Loc = ()) -> list[Issue]:
    out = []
    for e in err.errors(include_url=False):
        msg = str(e["msg"]).removeprefix("Value error, ")
        out.append(Issue(loc=[*prefix, *e["loc"]], msg=msg, type=e["type"]))
    return out


def _dupes(ids: Iterable[str]) -> set[str]:
    return {i for i, n in Counter(ids).items() if n > 1}


# -- what the whole-problem checks look at ---------------------------------------------------------

Indexed = list[tuple[int, _R]]


@dataclass
class _View:
    """The records the whole-problem checks look at, each with its index in the input, and the ids
    the input names (records that failed their field checks too, so that nothing refers to them as
    unknown). A section that could not be read at all has ids None: nothing is checked against it.
    `complete` is True for a problem that passed pydantic's field checks."""

    ports: list[tuple[int, Port]]
    vessels: list[tuple[int, Vessel]]
    calls: list[tuple[int, Call]]
    voyages: list[tuple[int, Voyage]]
    links: list[tuple[int, Link]]
    previous_plan: list[tuple[int, PreviousAssignment]]
    ids: dict[str, list[tuple[int, str]] | None]
    #: every call id a voyage of the input names (None: the voyages could not be read)
    voyage_call_ids: set[str] | None
    horizon: tuple[datetime, datetime] | None
    #: sailing distance between two ports, None while the distances could not all be read
    distance: Callable[[str, str], float | None] | None
    #: every port parsed (so a berth missing from them is really missing)
    all_ports: bool
    complete: bool

    def id_set(self, section: str) -> set[str] | None:
        ids = self.ids[section]
        return None if ids is None else {i for _, i in ids}

    @classmethod
    def of_problem(cls, p: Problem) -> _View:
        return cls(
            ports=list(enumerate(p.ports)), vessels=list(enumerate(p.vessels)),
            calls=list(enumerate(p.calls)),
            voyages=list(enumerate(p.voyages)), links=list(enumerate(p.links)),
            previous_plan=list(enumerate(p.previous_plan or [])),
            ids={s: [(i, x.id) for i, x in enumerate(getattr(p, s))] for s in ("ports", "vessels", "calls")},
            voyage_call_ids={cid for v in p.voyages for cid in v.call_ids},
            horizon=(p.horizon_start, p.horizon_end), distance=p.distance_nm, all_ports=True, complete=True,
        )

    @classmethod
    def of_raw(cls, data: dict[str, Any]) -> _View:
        """The records of a problem that failed its field checks, as far as they parse one by one."""
        ports, port_ids, all_ports = _parse_section(data, "ports", Port)
        vessels, vessel_ids, _ = _parse_section(data, "vessels", Vessel)
        calls, call_ids, _ = _parse_section(data, "calls", Call)
        voyages, voyage_ids, _ = _parse_section(data, "voyages", Voyage)
        links, _, _ = _parse_section(data, "links", Link)
        previous, _, _ = _parse_section(data, "previous_plan", PreviousAssignment)
        distances, _, all_distances = _parse_section(data, "distances", SailingDistance)
        raw_voyages = data.get("voyages") or []
        voyage_call_ids: set[str] | None = None
        if voyage_ids is not None:
            voyage_call_ids = {
                cid for v in raw_voyages if isinstance(v, dict) and isinstance(v.get("call_ids"), list)
                for cid in v["call_ids"] if isinstance(cid, str)
            }
        # Only the distance table of this unvalidated problem is used (Problem.distance_nm).
        only_distances: dict[str, Any] = {"distances": [d for _, d in distances]}
        table = Problem.model_construct(**only_distances)
        return cls(
            ports=ports, vessels=vessels, calls=calls, voyages=voyages, links=links,
            previous_plan=previous,
            ids={"ports": port_ids, "vessels": vessel_ids, "calls": call_ids},
            voyage_call_ids=voyage_call_ids, horizon=_raw_horizon(data),
            distance=table.distance_nm if all_distances else None, all_ports=all_ports, complete=False,
        )


Section = tuple[Indexed[_R], list[tuple[int, str]] | None, bool]


def _parse_section(data: dict[str, Any], name: str, model: type[_R]) -> Section[_R]:
    """(records that parse, with their index; (index, id) of every item naming an id; all parsed)."""
    raw = data.get(name)
    if raw is None and name not in ("ports", "vessels", "calls"):
        return [], [], True  # optional section, absent
    if not isinstance(raw, list):
        return [], None, False
    parsed: Indexed[_R] = []
    ids: list[tuple[int, str]] = []
    for i, item in enumerate(raw):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            ids.append((i, item["id"]))
        with contextlib.suppress(ValidationError):
            parsed.append((i, model.model_validate(item)))
    return parsed, ids, len(parsed) == len(raw)


_TIME: TypeAdapter[AwareDatetime] = TypeAdapter(AwareDatetime)


def _raw_horizon(data: dict[str, Any]) -> tuple[datetime, datetime] | None:
    try:
        h0 = _TIME.validate_python(data.get("horizon_start"))
        h1 = _TIME.validate_python(data.get("horizon_end"))
    except ValidationError:
        return None
    return (h0, h1) if h0 < h1 else None


class _Issues(list[Issue]):
    def add(self, loc: Loc, msg: str, type_: str = "value_error", call_id: str | None = None) -> None:
        self.append(Issue(loc=list(loc), msg=msg, type=type_, call_id=call_id))


# -- the checks, one per section -------------------------------------------------------------------


def _duplicate_ids(v: _View, out: _Issues) -> None:
    for what in ("ports", "vessels", "calls"):
        ids = v.ids[what] or []
        for d in sorted(_dupes(i for _, i in ids)):
            idx = [i for i, x in ids if x == d][1]
            out.add((what, idx, "id"), f"duplicate id {d!r}", "duplicate_id")
    seen: set[str] = set()
    for pi, port in v.ports:
        for bi, b in enumerate(port.berths):
            if b.id in seen:
                out.add(("ports", pi, "berths", bi, "id"), f"duplicate berth id {b.id!r}", "duplicate_id")
            seen.add(b.id)


def _handling_issues(v: _View, ci: int, c: Call, port: Port | None, out: _Issues) -> None:
    loc: Loc = ("calls", ci, "handling")
    if c.handling.hours is not None and c.handling.hours <= 0:
        out.add((*loc, "hours"), "handling time must be positive", "value_error", c.id)
    port_berths = {b.id for b in port.berths} if port is not None else None
    for bid, hours in c.handling.hours_by_berth.items():
        if port is not None and port_berths is not None and bid not in port_berths:
            out.add((*loc, "hours_by_berth", bid), f"berth {bid!r} is not a berth of port {port.id}",
                    "unknown_reference", c.id)
        elif hours <= 0:
            out.add((*loc, "hours_by_berth", bid), "handling time must be positive", "value_error", c.id)


def _call_berth_issues(ci: int, c: Call, port: Port, vessel: Vessel | None, out: _Issues) -> None:
    """Allowed and frozen berths of the call's port, and a berth there that fits the vessel."""
    loc: Loc = ("calls", ci)
    port_berths = {b.id for b in port.berths}
    for ai, bid in enumerate(c.allowed_berths or []):
        if bid not in port_berths:
            out.add((*loc, "allowed_berths", ai), f"berth {bid!r} is not a berth of port {port.id}",
                    "unknown_reference", c.id)
    if vessel is not None and not any(berth_fits(c, vessel, b) for b in port.berths):
        reasons = [berth_misfit(c, vessel, b) for b in port.berths]
        out.add(loc, f"vessel {vessel.id} fits no berth of port {port.id}: "
                + "; ".join(r for r in reasons if r), "no_compatible_berth", c.id)
    if c.frozen is not None and c.frozen.berth_id not in port_berths:
        out.add((*loc, "frozen", "berth_id"), f"berth {c.frozen.berth_id!r} is not a berth of port {port.id}",
                "unknown_reference", c.id)


def _call_time_issues(v: _View, ci: int, c: Call, out: _Issues) -> None:
    loc: Loc = ("calls", ci)
    if v.horizon is not None:
        h0, h1 = v.horizon
        for field in ("earliest_start", "requested_departure", "latest_departure"):
            t: datetime | None = getattr(c, field)
            if t is not None and not (h0 - timedelta(days=30) <= t <= h1 + timedelta(days=60)):
                out.add((*loc, field), f"{fmt_time(t)} is far outside the horizon", "outside_horizon", c.id)
    if c.earliest_start and c.latest_departure and c.latest_departure <= c.earliest_start:
        out.add((*loc, "latest_departure"), "latest_departure must be after earliest_start",
                "impossible_window", c.id)


def _call_issues(v: _View, out: _Issues) -> None:
    """Each call's vessel and port, its berths there, its handling time and its times."""
    ports = {x.id: x for _, x in v.ports}
    vessels = {x.id: x for _, x in v.vessels}
    port_ids, vessel_ids = v.id_set("ports"), v.id_set("vessels")
    for ci, c in v.calls:
        if vessel_ids is not None and c.vessel_id not in vessel_ids:
            out.add(("calls", ci, "vessel_id"), f"unknown vessel {c.vessel_id!r}", "unknown_reference", c.id)
        if port_ids is not None and c.port_id not in port_ids:
            out.add(("calls", ci, "port_id"), f"unknown port {c.port_id!r}", "unknown_reference", c.id)
        port = ports.get(c.port_id)
        _handling_issues(v, ci, c, port, out)
        if port is not None:
            _call_berth_issues(ci, c, port, vessels.get(c.vessel_id), out)
        _call_time_issues(v, ci, c, out)


def _frozen_overlaps(v: _View, out: _Issues) -> None:
    """Frozen calls may not overlap each other on a berth."""
    frozen = sorted(
        (c.frozen.berth_id, c.frozen.berth_start, c.frozen.berth_end, c.id, i)
        for i, c in v.calls if c.frozen is not None
    )
    for a, b in itertools.pairwise(frozen):
        if a[0] == b[0] and b[1] < a[2]:
            out.add(("calls", b[4], "frozen"),
                    f"frozen call {b[3]} overlaps frozen call {a[3]} on berth {a[0]}", "frozen_overlap", b[3])


def _voyage_issues(v: _View, out: _Issues) -> None:
    """Each voyage's vessel, ETA and calls: known, in one voyage only, of its vessel, reachable,
    possible in the given order; and every call in a voyage."""
    calls = {c.id: c for _, c in v.calls}
    vessel_ids, call_ids, port_ids = v.id_set("vessels"), v.id_set("calls"), v.id_set("ports")
    in_voyage: dict[str, int] = {}
    voyage_of_vessel: dict[str, int] = {}
    for vi, voyage in v.voyages:
        loc: Loc = ("voyages", vi)
        if vessel_ids is not None and voyage.vessel_id not in vessel_ids:
            out.add((*loc, "vessel_id"), f"unknown vessel {voyage.vessel_id!r}", "unknown_reference")
        elif voyage.vessel_id in voyage_of_vessel:
            first = voyage_of_vessel[voyage.vessel_id]
            out.add((*loc, "vessel_id"), f"vessel {voyage.vessel_id} already has a voyage (voyages.{first})",
                    "duplicate_voyage")
        voyage_of_vessel.setdefault(voyage.vessel_id, vi)
        if v.horizon is not None and not (v.horizon[0] <= voyage.eta <= v.horizon[1]):
            h0, h1 = v.horizon
            out.add((*loc, "eta"), f"ETA {fmt_time(voyage.eta)} is outside the horizon "
                    f"[{fmt_time(h0)}, {fmt_time(h1)}]", "outside_horizon")
        for k, cid in enumerate(voyage.call_ids):
            if call_ids is not None and cid not in call_ids:
                out.add((*loc, "call_ids", k), f"unknown call {cid!r}", "unknown_reference")
                continue
            if cid in in_voyage:
                out.add((*loc, "call_ids", k), f"call {cid} is already in voyages.{in_voyage[cid]}",
                        "duplicate_reference", cid)
            in_voyage[cid] = vi
            vc = calls.get(cid)
            if vc is None:
                continue
            if vc.vessel_id != voyage.vessel_id:
                out.add((*loc, "call_ids", k),
                        f"call {cid} belongs to vessel {vc.vessel_id}, not {voyage.vessel_id}",
                        "wrong_vessel", cid)
            prev = calls.get(voyage.call_ids[k - 1]) if k > 0 else None
            if (prev is not None and v.distance is not None and port_ids is not None
                    and prev.port_id in port_ids and vc.port_id in port_ids
                    and v.distance(prev.port_id, vc.port_id) is None):
                out.add((*loc, "call_ids", k),
                        f"no sailing distance between {prev.port_id} and {vc.port_id}; add it to distances",
                        "missing_distance", cid)
        out.extend(_voyage_order_issues(vi, voyage, calls))
    if v.voyage_call_ids is not None:
        for ci, c in v.calls:
            if c.id not in v.voyage_call_ids:
                out.add(("calls", ci, "id"), f"call {c.id} is in no voyage; every call needs one "
                        "(its vessel's calls in order, with the first ETA)", "missing_voyage", c.id)


def _link_issues(v: _View, out: _Issues) -> None:
    call_ids = v.id_set("calls")
    if call_ids is None:
        return
    for li, link in v.links:
        for field in ("before", "after"):
            cid = getattr(link, field)
            if cid not in call_ids:
                out.add(("links", li, field), f"unknown call {cid!r}", "unknown_reference")


def _previous_plan_issues(v: _View, out: _Issues) -> None:
    calls = {c.id: c for _, c in v.calls}
    call_ids = v.id_set("calls")
    berth_port = {b.id: port for _, port in v.ports for b in port.berths}
    for ai, earlier in v.previous_plan:
        if call_ids is not None and earlier.call_id not in call_ids:
            out.add(("previous_plan", ai, "call_id"), f"unknown call {earlier.call_id!r}",
                    "unknown_reference")
            continue
        c = calls.get(earlier.call_id)
        if c is None or not v.all_ports:
            continue
        port = berth_port.get(earlier.berth_id)
        if port is None or port.id != c.port_id:
            out.add(("previous_plan", ai, "berth_id"),
                    f"berth {earlier.berth_id!r} is not a berth of call {earlier.call_id}'s port",
                    "unknown_reference")


def _view_issues(v: _View) -> _Issues:
    out = _Issues()
    for check in (_duplicate_ids, _call_issues, _frozen_overlaps, _voyage_issues, _link_issues,
                  _previous_plan_issues):
        check(v, out)
    return out


def validate_problem(p: Problem) -> list[Issue]:
    """Every whole-problem issue, with field paths; empty when the problem can be modelled.

    Precedence cycles are looked for once every reference is sound. A call whose window cannot
    hold it (it cannot leave by its latest departure after its ETA) is not bad input: the plan
    lists it as unserved, with the reason, and plans every other call.
    """
    issues = _view_issues(_View.of_problem(p))
    if not issues:
        cycle = _precedence_cycle(p)
        if cycle:
            issues.add(("links",), "links and voyage order form a cycle: " + " -> ".join(cycle), "cycle")
    return list(issues)


def raw_problem_issues(data: dict[str, Any]) -> list[Issue]:
    """The whole-problem issues of a problem that failed pydantic's field checks, found among the
    records that did parse (each checked alone), so that both kinds are reported together."""
    try:
        return list(_view_issues(_View.of_raw(data)))
    except Exception:  # a partial problem is best effort: the field errors are reported anyway
        return []


def _voyage_order_issues(vi: int, v: Voyage, calls: dict[str, Call]) -> list[Issue]:
    """A voyage's calls must be possible in the given order by what the planner fixed: no call
    may have to end (latest departure, frozen end) before an earlier call can start (earliest
    start, frozen start). The ETA is left out: it is an estimate that moves, and a call it makes
    too late is listed as unserved by the plan, not refused."""
    out: list[Issue] = []
    latest_lo: tuple[datetime, str] | None = None
    for k, cid in enumerate(v.call_ids):
        c = calls.get(cid)
        if c is None:
            continue
        f = c.frozen
        lo = max((t for t in (c.earliest_start, f.berth_start if f else None) if t), default=None)
        hi = min((t for t in (c.latest_departure, f.berth_end if f else None) if t), default=None)
        if hi is not None and latest_lo is not None and hi <= latest_lo[0]:
            out.append(
                Issue(
                    loc=["voyages", vi, "call_ids", k],
                    msg=f"voyage calls are out of order in time: call {cid} must end by {fmt_time(hi)} "
                    f"but earlier call {latest_lo[1]} cannot start before {fmt_time(latest_lo[0])}",
                    type="voyage_order",
                    call_id=cid,
                )
            )
        if lo is not None and (latest_lo is None or lo > latest_lo[0]):
            latest_lo = (lo, cid)
    return out


def _precedence_cycle(p: Problem) -> list[str] | None:
    """A cycle of voyage order and links (a call that must come after itself), if any."""
    preds: dict[str, set[str]] = {c.id: set() for c in p.calls}
    for v in p.voyages:
        for a, b in itertools.pairwise(v.call_ids):
            preds[b].add(a)
    for link in p.links:
        preds[link.after].add(link.before)
    try:
        TopologicalSorter(preds).prepare()
    except CycleError as exc:
        return [str(x) for x in reversed(exc.args[1])]
    return None
