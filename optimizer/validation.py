"""Whole-problem checks: references, fit, windows and order, reported all at once.

`load_problem` is the one door into the library for user data: it runs pydantic's field checks
and then these, and raises :class:`InvalidProblem` with every issue and its field path.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ValidationError

from optimizer.domain import Call, Problem, berth_misfit, handling_hours

Loc = tuple[str | int, ...]


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


def load_problem(data: str | bytes | dict[str, Any] | Path) -> Problem:
    """Parse and fully validate a problem from JSON text, a dict or a file path.

    Text and files are read by :mod:`optimizer.loading` (encoding, JSON, size and depth checks).
    """
    from optimizer import loading

    if isinstance(data, Path):
        return loading.load_problem_file(data)
    if isinstance(data, str | bytes):
        try:
            data = loading.parse_json(data)
            loading.expect_kind(data, (dict,), "a problem (a JSON object)")
        except InvalidInput as exc:
            raise InvalidProblem(exc.issues) from None
    try:
        problem = Problem.model_validate(data)
    except ValidationError as exc:
        raise InvalidProblem(issues_from_pydantic(exc)) from exc
    issues = validate_problem(problem)
    if issues:
        raise InvalidProblem(issues)
    return problem


def load_problem_file(path: str | Path) -> Problem:
    return load_problem(Path(path))


def _dupes(ids: Iterable[str]) -> set[str]:
    return {i for i, n in Counter(ids).items() if n > 1}


def validate_problem(p: Problem) -> list[Issue]:
    """Every whole-problem issue, with field paths; empty when the problem can be modelled."""
    issues: list[Issue] = []

    def add(loc: Loc, msg: str, type_: str = "value_error", call_id: str | None = None) -> None:
        issues.append(Issue(loc=list(loc), msg=msg, type=type_, call_id=call_id))

    # -- duplicate ids ------------------------------------------------------------------------
    for what, ids in (
        ("ports", [x.id for x in p.ports]),
        ("vessels", [x.id for x in p.vessels]),
        ("calls", [x.id for x in p.calls]),
    ):
        for d in sorted(_dupes(ids)):
            idx = [i for i, x in enumerate(ids) if x == d][1]
            add((what, idx, "id"), f"duplicate id {d!r}", "duplicate_id")
    berth_ids = [(pi, bi, b.id) for pi, port in enumerate(p.ports) for bi, b in enumerate(port.berths)]
    seen: set[str] = set()
    for pi, bi, bid in berth_ids:
        if bid in seen:
            add(("ports", pi, "berths", bi, "id"), f"duplicate berth id {bid!r}", "duplicate_id")
        seen.add(bid)

    ports = {x.id: x for x in p.ports}
    vessels = p.vessel_map()
    calls = p.call_map()
    berth_port = p.berth_port()
    h0, h1 = p.horizon_start, p.horizon_end

    # -- calls --------------------------------------------------------------------------------
    for ci, c in enumerate(p.calls):
        loc: Loc = ("calls", ci)
        if c.vessel_id not in vessels:
            add((*loc, "vessel_id"), f"unknown vessel {c.vessel_id!r}", "unknown_reference", c.id)
        port = ports.get(c.port_id)
        if port is None:
            add((*loc, "port_id"), f"unknown port {c.port_id!r}", "unknown_reference", c.id)
        else:
            port_berths = {b.id for b in port.berths}
            for ai, bid in enumerate(c.allowed_berths or []):
                if bid not in port_berths:
                    add(
                        (*loc, "allowed_berths", ai),
                        f"berth {bid!r} is not a berth of port {port.id}",
                        "unknown_reference",
                        c.id,
                    )
            for bid, hours in c.handling.hours_by_berth.items():
                if bid not in port_berths:
                    add(
                        (*loc, "handling", "hours_by_berth", bid),
                        f"berth {bid!r} is not a berth of port {port.id}",
                        "unknown_reference",
                        c.id,
                    )
                elif hours <= 0:
                    add(
                        (*loc, "handling", "hours_by_berth", bid),
                        "handling time must be positive",
                        "value_error",
                        c.id,
                    )
            if c.handling.hours is not None and c.handling.hours <= 0:
                add((*loc, "handling", "hours"), "handling time must be positive", "value_error", c.id)
            if c.vessel_id in vessels:
                vessel = vessels[c.vessel_id]
                reasons = [berth_misfit(c, vessel, b) for b in port.berths]
                if all(r is not None for r in reasons):
                    add(
                        (*loc,),
                        f"vessel {vessel.id} fits no berth of port {port.id}: "
                        + "; ".join(r for r in reasons if r),
                        "no_compatible_berth",
                        c.id,
                    )
        for field in ("earliest_start", "requested_departure", "latest_departure"):
            t: datetime | None = getattr(c, field)
            if t is not None and not (h0 - timedelta(days=30) <= t <= h1 + timedelta(days=60)):
                add((*loc, field), f"{t.isoformat()} is far outside the horizon", "outside_horizon", c.id)
        if c.earliest_start and c.latest_departure and c.latest_departure <= c.earliest_start:
            add(
                (*loc, "latest_departure"),
                "latest_departure must be after earliest_start",
                "impossible_window",
                c.id,
            )
        if c.frozen is not None and port is not None:
            f = c.frozen
            if f.berth_id not in {b.id for b in port.berths}:
                add(
                    (*loc, "frozen", "berth_id"),
                    f"berth {f.berth_id!r} is not a berth of port {port.id}",
                    "unknown_reference",
                    c.id,
                )

    # -- frozen calls may not overlap each other on a berth -----------------------------------
    frozen = sorted(
        (
            (c.frozen.berth_id, c.frozen.berth_start, c.frozen.berth_end, c.id, i)
            for i, c in enumerate(p.calls)
            if c.frozen is not None
        ),
    )
    for a, b in itertools.pairwise(frozen):
        if a[0] == b[0] and b[1] < a[2]:
            add(
                ("calls", b[4], "frozen"),
                f"frozen call {b[3]} overlaps frozen call {a[3]} on berth {a[0]}",
                "frozen_overlap",
                b[3],
            )

    # -- voyages ------------------------------------------------------------------------------
    in_voyage: dict[str, int] = {}
    voyage_of_vessel: dict[str, int] = {}
    for vi, v in enumerate(p.voyages):
        loc = ("voyages", vi)
        if v.vessel_id not in vessels:
            add((*loc, "vessel_id"), f"unknown vessel {v.vessel_id!r}", "unknown_reference")
        elif v.vessel_id in voyage_of_vessel:
            add(
                (*loc, "vessel_id"),
                f"vessel {v.vessel_id} already has a voyage (voyages.{voyage_of_vessel[v.vessel_id]})",
                "duplicate_voyage",
            )
        voyage_of_vessel.setdefault(v.vessel_id, vi)
        if not (h0 <= v.eta <= h1):
            add(
                (*loc, "eta"),
                f"ETA {v.eta.isoformat()} is outside the horizon [{h0.isoformat()}, {h1.isoformat()}]",
                "outside_horizon",
            )
        for k, cid in enumerate(v.call_ids):
            vc = calls.get(cid)
            if vc is None:
                add((*loc, "call_ids", k), f"unknown call {cid!r}", "unknown_reference")
                continue
            if cid in in_voyage:
                add(
                    (*loc, "call_ids", k),
                    f"call {cid} is already in voyages.{in_voyage[cid]}",
                    "duplicate_reference",
                    cid,
                )
            in_voyage[cid] = vi
            if vc.vessel_id != v.vessel_id:
                add(
                    (*loc, "call_ids", k),
                    f"call {cid} belongs to vessel {vc.vessel_id}, not {v.vessel_id}",
                    "wrong_vessel",
                    cid,
                )
            if k > 0:
                prev = calls.get(v.call_ids[k - 1])
                if (
                    prev is not None
                    and prev.port_id in ports
                    and vc.port_id in ports
                    and p.distance_nm(prev.port_id, vc.port_id) is None
                ):
                    add(
                        (*loc, "call_ids", k),
                        f"no sailing distance between {prev.port_id} and {vc.port_id}; add it to distances",
                        "missing_distance",
                        cid,
                    )
        issues.extend(_voyage_order_issues(p, vi, calls))
    for ci, c in enumerate(p.calls):
        if c.id not in in_voyage:
            add(
                ("calls", ci, "id"),
                f"call {c.id} is in no voyage; every call needs one "
                "(its vessel's calls in order, with the first ETA)",
                "missing_voyage",
                c.id,
            )

    # -- links --------------------------------------------------------------------------------
    for li, link in enumerate(p.links):
        for field in ("before", "after"):
            cid = getattr(link, field)
            if cid not in calls:
                add(("links", li, field), f"unknown call {cid!r}", "unknown_reference")
    if not issues:
        cycle = _precedence_cycle(p)
        if cycle:
            add(("links",), "links and voyage order form a cycle: " + " -> ".join(cycle), "cycle")

    # -- previous plan ------------------------------------------------------------------------
    for ai, earlier in enumerate(p.previous_plan or []):
        if earlier.call_id not in calls:
            add(("previous_plan", ai, "call_id"), f"unknown call {earlier.call_id!r}", "unknown_reference")
        elif (
            berth_port.get(earlier.berth_id) is None
            or berth_port[earlier.berth_id].id != calls[earlier.call_id].port_id
        ):
            add(
                ("previous_plan", ai, "berth_id"),
                f"berth {earlier.berth_id!r} is not a berth of call {earlier.call_id}'s port",
                "unknown_reference",
            )

    if not issues:
        issues.extend(window_issues(p))
    return issues


def _anchor_bounds(c: Call, eta: datetime | None) -> tuple[datetime | None, datetime | None]:
    lo = [t for t in (eta, c.earliest_start, c.frozen.berth_start if c.frozen else None) if t]
    hi = [t for t in (c.latest_departure, c.frozen.berth_end if c.frozen else None) if t]
    return (max(lo) if lo else None, min(hi) if hi else None)


def _voyage_order_issues(p: Problem, vi: int, calls: dict[str, Call]) -> list[Issue]:
    """A voyage's calls must be possible in the given order: no call must end before an earlier
    one can start."""
    v = p.voyages[vi]
    out: list[Issue] = []
    latest_lo: tuple[datetime, str] | None = None
    for k, cid in enumerate(v.call_ids):
        c = calls.get(cid)
        if c is None:
            continue
        lo, hi = _anchor_bounds(c, v.eta if k == 0 else None)
        if hi is not None and latest_lo is not None and hi <= latest_lo[0]:
            out.append(
                Issue(
                    loc=["voyages", vi, "call_ids", k],
                    msg=f"voyage calls are out of order in time: call {cid} must end by {hi.isoformat()} "
                    f"but earlier call {latest_lo[1]} cannot start before {latest_lo[0].isoformat()}",
                    type="voyage_order",
                    call_id=cid,
                )
            )
        if hi is not None and k == 0 and hi <= v.eta:
            out.append(
                Issue(
                    loc=["voyages", vi, "eta"],
                    msg=f"first call {cid} must end by {hi.isoformat()}, before the ETA",
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


def window_issues(p: Problem) -> list[Issue]:
    """Calls whose own window cannot hold their shortest handling, each reported."""
    out: list[Issue] = []
    vessels = p.vessel_map()
    port_of = {x.id: x for x in p.ports}
    order = p.voyage_order()
    for ci, c in enumerate(p.calls):
        if c.latest_departure is None or c.frozen is not None:
            continue
        port = port_of[c.port_id]
        fits = [b for b in port.berths if berth_misfit(c, vessels[c.vessel_id], b) is None]
        shortest = min(handling_hours(c, b) or 0.0 for b in fits)
        voyage, k = order[c.id]
        lo = [t for t in (c.earliest_start, voyage.eta if k == 0 else None) if t]
        start = max(lo) if lo else p.horizon_start
        if start + timedelta(hours=shortest) > c.latest_departure:
            out.append(
                Issue(
                    loc=["calls", ci, "latest_departure"],
                    msg=f"cannot be met: the call cannot start before {start.isoformat()} and needs at "
                    f"least {shortest:g} h at berth",
                    type="impossible_window",
                    call_id=c.id,
                )
            )
    return out


def issues_as_json(issues: list[Issue]) -> str:
    return json.dumps([i.model_dump() for i in issues], indent=2)
