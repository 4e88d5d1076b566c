"""The independent checker: every broken hard constraint of any plan, from any source.

It reads only the problem records and the plan's exact times, never the CP-SAT model or its
step grid, so a bug in the model cannot hide itself here. Every violation is listed, not just
the first; each has a short stable `kind`, the call and berth it concerns, and a sentence with
the times involved.

Frozen calls: when a call sits exactly on its frozen berth and times, the frozen record is a
fact, not a decision: whatever hard rule it breaks (berth fit, handling time, earliest start,
latest departure, closures, maintenance, the ETA, a voyage leg or link between two frozen calls)
is reported as a warning of kind `frozen_<rule>`, never as clean, and the plan is not blamed for
it. Every other call must still respect it. A frozen call that was moved is flagged
`frozen_moved` and checked like any other.

Unserved calls: a plan may list calls it cannot serve, each with its reasons (a partial plan);
they are not violations, but a call that is neither planned nor listed is (`missing_call`), and
so is a call both planned and listed (`planned_and_unserved`). Its vessel passes the port without
stopping: the way from its last served call's departure (or its ETA) over the passed ports to its
next served call's arrival is checked against the whole route's speed limits (the legs added up).
Faster than the vessel can sail it is `sailing_too_fast`; slower, the excess is not a violation but
waiting at sea, listed (`waiting_at_sea`) and counted in the KPIs. A leg straight from one served
call to the next stays the plan's own timing and must keep both limits (`sailing_too_slow`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from optimizer.domain import Call, Link, Problem, Vessel, berth_misfit, handling_hours
from optimizer.kpis import (
    TOLERANCE_MINUTES,
    Passage,
    compute_kpis,
    first_assignments,
    fmt_minutes,
    fmt_time,
    minutes,
    passages,
)
from optimizer.params import ObjectiveWeights
from optimizer.plan import CallAssignment, Kpis, Plan


#: Every kind the checker emits, for integrators that switch on it.
class ViolationKind(StrEnum):
    """Which hard rule a plan breaks."""

    MISSING_CALL = "missing_call"
    UNKNOWN_CALL = "unknown_call"
    DUPLICATE_CALL = "duplicate_call"
    UNKNOWN_BERTH = "unknown_berth"
    WRONG_PORT = "wrong_port"
    BERTH_MISFIT = "berth_misfit"
    HANDLING_TOO_SHORT = "handling_too_short"
    START_BEFORE_ARRIVAL = "start_before_arrival"
    START_BEFORE_EARLIEST = "start_before_earliest"
    LATEST_DEPARTURE_MISSED = "latest_departure_missed"
    BERTH_OVERLAP = "berth_overlap"
    BERTH_UNAVAILABLE = "berth_unavailable"
    CLOSURE_BERTHING = "closure_berthing"
    CLOSURE_DEPARTURE = "closure_departure"
    ETA_MISMATCH = "eta_mismatch"
    VOYAGE_ORDER = "voyage_order"
    SAILING_TOO_FAST = "sailing_too_fast"
    SAILING_TOO_SLOW = "sailing_too_slow"
    LINK_MIN_GAP = "link_min_gap"
    LINK_MAX_GAP = "link_max_gap"
    FROZEN_MOVED = "frozen_moved"
    PLANNED_AND_UNSERVED = "planned_and_unserved"


KINDS = tuple(ViolationKind)
K = ViolationKind  # short, for the checks below


class _Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    call_id: str | None = None
    berth_id: str | None = None
    detail: str


class Violation(_Finding):
    """One broken constraint."""

    kind: ViolationKind


class FrozenFact(_Finding):
    """A hard rule that frozen calls break by themselves: a fact the plan keeps, not its fault."""

    kind: str = Field(description="frozen_<rule>, the rule being one of the violation kinds.")
    rule: ViolationKind


class SeaWaiting(BaseModel):
    """A vessel that passes ports and takes longer to its next served call than sailing the route
    at min speed: the excess is waiting at sea, counted in the KPIs (waiting_at_sea hours)."""

    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(description="The served call the vessel sails to.")
    vessel_id: str
    passed: list[str] = Field(description="The calls it passes on the way.")
    minutes: float = Field(description="Time at sea beyond the route's slowest sailing.")
    detail: str


class CheckReport(BaseModel):
    """The verdict on a plan: clean or not, every violation, and the KPIs recomputed."""

    model_config = ConfigDict(extra="forbid")

    ok: bool = Field(description="No violation (warnings and unserved calls aside).")
    violations: list[Violation]
    warnings: list[FrozenFact] = Field(default_factory=list, description="Frozen calls that break a hard "
                                      "rule: facts the plan keeps, not its fault.")
    waiting_at_sea: list[SeaWaiting] = Field(
        default_factory=list, description="Ways over passed ports that take longer than their slowest "
        "sailing: not a violation (the vessel waits at sea), counted in the KPIs.")
    unserved: list[str] = Field(default_factory=list, description="Calls the plan lists as unserved.")
    kpis: Kpis

    @property
    def clean(self) -> bool:
        """No violation, no warning: every call planned breaks no rule."""
        return self.ok and not self.warnings

    def kinds(self) -> Counter[ViolationKind]:
        return Counter(v.kind for v in self.violations)


def _exactly_frozen(c: Call, a: CallAssignment) -> bool:
    f = c.frozen
    return (f is not None and a.berth_id == f.berth_id and a.berth_start == f.berth_start
            and a.berth_end == f.berth_end and (f.arrival is None or a.arrival == f.arrival))


class _Checker:
    def __init__(self, problem: Problem, assignments: Sequence[CallAssignment]):
        self.p = problem
        self.assignments = list(assignments)
        self.calls = problem.call_map()
        self.berths = problem.berths()
        self.berth_port = problem.berth_port()
        self.vessels = problem.vessel_map()
        self.out: list[Violation] = []
        self.warnings: list[FrozenFact] = []
        self.at_sea: list[SeaWaiting] = []
        self.by_call = first_assignments(problem, self.assignments)
        self.as_warning = False  # while checking what only frozen facts break

    def add(self, kind: ViolationKind, detail: str, call_id: str | None = None,
            berth_id: str | None = None) -> None:
        if self.as_warning:
            self.warnings.append(FrozenFact(kind=f"frozen_{kind}", rule=kind, call_id=call_id,
                                            berth_id=berth_id, detail=f"frozen call: {detail}"))
        else:
            self.out.append(Violation(kind=kind, call_id=call_id, berth_id=berth_id, detail=detail))

    def frozen_fact(self, *call_ids: str) -> bool:
        """Whether every one of these calls sits exactly on its frozen record."""
        return all(cid in self.by_call and _exactly_frozen(self.calls[cid], self.by_call[cid])
                   for cid in call_ids)

    # -- completeness --------------------------------------------------------------------------

    def completeness(self, unserved: dict[str, list[str]]) -> None:
        seen: set[str] = set()
        for a in self.assignments:
            if a.call_id not in self.calls:
                self.add(K.UNKNOWN_CALL, f"the plan assigns call {a.call_id!r}, which the problem does "
                         "not have", a.call_id, a.berth_id)
            elif a.call_id in seen:
                first = self.by_call[a.call_id]
                self.add(K.DUPLICATE_CALL, f"call {a.call_id} is assigned more than once (first to "
                         f"berth {first.berth_id} at {fmt_time(first.berth_start)}, again to berth "
                         f"{a.berth_id} at {fmt_time(a.berth_start)}); only the first is checked",
                         a.call_id, a.berth_id)
            seen.add(a.call_id)
        for cid in unserved:
            if cid not in self.calls:
                self.add(K.UNKNOWN_CALL, f"the plan lists call {cid!r} as unserved, but the problem "
                         "does not have it", cid)
        for c in self.p.calls:
            if c.id in self.by_call:
                if c.id in unserved:
                    self.add(K.PLANNED_AND_UNSERVED, f"call {c.id} is planned at berth "
                             f"{self.by_call[c.id].berth_id} and also listed as unserved", c.id)
                continue
            if c.id in unserved:
                if not unserved[c.id]:
                    self.add(K.MISSING_CALL, f"call {c.id} is listed as unserved without a reason", c.id)
            else:
                self.add(K.MISSING_CALL, f"call {c.id} (vessel {c.vessel_id} at {c.port_id}) has no "
                         "assignment in the plan", c.id)

    # -- one call at a time --------------------------------------------------------------------

    def call(self, c: Call, a: CallAssignment) -> None:
        frozen_ok = _exactly_frozen(c, a)
        self.as_warning = frozen_ok
        try:
            self._call(c, a)
        finally:
            self.as_warning = False

    def _call(self, c: Call, a: CallAssignment) -> None:
        berth = self.berths.get(a.berth_id)
        if berth is None:
            self.add(K.UNKNOWN_BERTH, f"call {c.id} is assigned to berth {a.berth_id!r}, which the "
                     "problem does not have", c.id, a.berth_id)
        elif self.berth_port[berth.id].id != c.port_id:
            self.add(K.WRONG_PORT, f"call {c.id} is for port {c.port_id} but berth {berth.id} is in "
                     f"port {self.berth_port[berth.id].id}", c.id, berth.id)
        else:
            vessel = self.vessels.get(c.vessel_id)
            misfit = berth_misfit(c, vessel, berth) if vessel is not None else None
            if misfit is not None:
                self.add(K.BERTH_MISFIT, f"call {c.id} (vessel {c.vessel_id}) cannot use berth "
                         f"{berth.id}: {misfit}", c.id, berth.id)
            hours = handling_hours(c, berth)
            stay = minutes(a.berth_end - a.berth_start)
            if hours is not None and stay + TOLERANCE_MINUTES < hours * 60:
                self.add(K.HANDLING_TOO_SHORT, f"call {c.id} is at berth {berth.id} from "
                         f"{fmt_time(a.berth_start)} to {fmt_time(a.berth_end)} ({fmt_minutes(stay)}) "
                         f"but needs {fmt_minutes(hours * 60)} there", c.id, berth.id)
        if a.berth_start < a.arrival:
            self.add(K.START_BEFORE_ARRIVAL, f"call {c.id} starts at berth {fmt_time(a.berth_start)}, "
                     f"before the vessel arrives at {fmt_time(a.arrival)}", c.id, a.berth_id)
        if c.earliest_start is not None and a.berth_start < c.earliest_start:
            self.add(K.START_BEFORE_EARLIEST, f"call {c.id} starts at berth {fmt_time(a.berth_start)}, "
                     f"before its earliest start {fmt_time(c.earliest_start)}", c.id, a.berth_id)
        if c.latest_departure is not None and a.berth_end > c.latest_departure:
            self.add(K.LATEST_DEPARTURE_MISSED, f"call {c.id} leaves berth {a.berth_id} at "
                     f"{fmt_time(a.berth_end)}, after its latest departure "
                     f"{fmt_time(c.latest_departure)}", c.id, a.berth_id)
        if berth is not None:
            for w in berth.unavailable:
                if a.berth_start < w.end and w.start < a.berth_end:
                    why = f" ({w.reason})" if w.reason else ""
                    self.add(K.BERTH_UNAVAILABLE, f"call {c.id} uses berth {berth.id} from "
                             f"{fmt_time(a.berth_start)} to {fmt_time(a.berth_end)}, overlapping its "
                             f"unavailable window {fmt_time(w.start)} - {fmt_time(w.end)}{why}",
                             c.id, berth.id)
        port = self.berth_port.get(a.berth_id) or next((p for p in self.p.ports if p.id == c.port_id), None)
        if port is not None:
            for w in port.closures:
                why = f" ({w.reason})" if w.reason else ""
                if w.start <= a.berth_start < w.end:
                    self.add(K.CLOSURE_BERTHING, f"call {c.id} berths at {fmt_time(a.berth_start)}, "
                             f"inside closure {fmt_time(w.start)} - {fmt_time(w.end)} of port "
                             f"{port.id}{why}", c.id, a.berth_id)
                if w.start <= a.berth_end < w.end:
                    self.add(K.CLOSURE_DEPARTURE, f"call {c.id} leaves its berth at "
                             f"{fmt_time(a.berth_end)}, inside closure {fmt_time(w.start)} - "
                             f"{fmt_time(w.end)} of port {port.id}{why}", c.id, a.berth_id)
        f = c.frozen
        if f is not None and not self.as_warning:
            got = (f"berth {a.berth_id}, {fmt_time(a.berth_start)} - {fmt_time(a.berth_end)}, "
                   f"arrival {fmt_time(a.arrival)}")
            want = f"berth {f.berth_id}, {fmt_time(f.berth_start)} - {fmt_time(f.berth_end)}"
            if f.arrival is not None:
                want += f", arrival {fmt_time(f.arrival)}"
            self.add(K.FROZEN_MOVED, f"frozen call {c.id} must keep {want}; the plan has {got}",
                     c.id, a.berth_id)

    # -- between calls -------------------------------------------------------------------------

    def overlaps(self) -> None:
        per_berth: dict[str, list[CallAssignment]] = {}
        for a in self.by_call.values():
            per_berth.setdefault(a.berth_id, []).append(a)
        for bid, items in per_berth.items():
            items.sort(key=lambda a: (a.berth_start, a.berth_end, a.call_id))
            for i, a in enumerate(items):
                for b in items[i + 1:]:
                    if b.berth_start >= a.berth_end:
                        break
                    if b.berth_end <= b.berth_start or a.berth_end <= a.berth_start:
                        continue  # an empty stay occupies nothing; handling_too_short says so
                    self.as_warning = self.frozen_fact(a.call_id, b.call_id)  # two vessels reported there
                    self.add(K.BERTH_OVERLAP, f"calls {a.call_id} ({fmt_time(a.berth_start)} - "
                             f"{fmt_time(a.berth_end)}) and {b.call_id} ({fmt_time(b.berth_start)} - "
                             f"{fmt_time(b.berth_end)}) overlap on berth {bid}", b.call_id, bid)
                    self.as_warning = False

    def voyages(self) -> None:
        step = timedelta(minutes=self.p.time_step_minutes)
        ways = passages(self.p, self.by_call)
        for v in self.p.voyages:
            vessel = self.vessels.get(v.vessel_id)
            for k, cid in enumerate(v.call_ids):
                a = self.by_call.get(cid)
                if a is None:
                    continue
                if k == 0:
                    eta = v.eta
                    if self.frozen_fact(cid):
                        # the frozen arrival is a fact, the ETA an estimate: arriving later is
                        # reality; arriving before the ETA is reported
                        if a.arrival < v.eta:
                            self.as_warning = True
                            self.add(K.ETA_MISMATCH, f"first call {cid} of vessel {v.vessel_id} "
                                     f"arrives at {fmt_time(a.arrival)}, before the vessel's ETA "
                                     f"{fmt_time(v.eta)}", cid, a.berth_id)
                            self.as_warning = False
                        continue
                    if not eta <= a.arrival <= v.eta + step:
                        self.add(K.ETA_MISMATCH, f"first call {cid} of vessel {v.vessel_id} arrives at "
                                 f"{fmt_time(a.arrival)} but the vessel's ETA is {fmt_time(v.eta)} "
                                 f"(allowed: up to {self.p.time_step_minutes} min later, never "
                                 "earlier)", cid, a.berth_id)
                    continue
                prev_id = v.call_ids[k - 1]
                prev = self.by_call.get(prev_id)
                if vessel is None:
                    continue
                if prev is None:  # the vessel passes the port(s) before: the whole way is checked
                    way = ways.get(cid)
                    if way is not None:
                        origin = way.origin_call_id
                        self.as_warning = self.frozen_fact(cid) and (origin is None
                                                                     or self.frozen_fact(origin))
                        self._passage(vessel, way, a)
                        self.as_warning = False
                    continue
                self.as_warning = self.frozen_fact(prev_id, cid)
                self._leg(v.vessel_id, vessel, prev_id, prev, cid, a)
                self.as_warning = False

    def _leg(self, vessel_id: str, vessel: Vessel, prev_id: str, prev: CallAssignment, cid: str,
             a: CallAssignment) -> None:
        leg = minutes(a.arrival - prev.berth_end)
        if leg < 0:
            self.add(K.VOYAGE_ORDER, f"call {cid} of vessel {vessel_id} arrives at "
                     f"{fmt_time(a.arrival)}, before the vessel leaves the previous call "
                     f"{prev_id} at {fmt_time(prev.berth_end)}", cid, a.berth_id)
            return
        nm = self.p.distance_nm(self.calls[prev_id].port_id, self.calls[cid].port_id)
        if nm is None:
            return
        fastest = nm / vessel.max_speed_kn * 60
        slowest = nm / vessel.min_speed_kn * 60
        route = f"{self.calls[prev_id].port_id} -> {self.calls[cid].port_id}, {nm:g} nm"
        if leg + TOLERANCE_MINUTES < fastest:
            self.add(K.SAILING_TOO_FAST, f"vessel {vessel_id} sails {route} in "
                     f"{fmt_minutes(leg)} (leaves {prev_id} at {fmt_time(prev.berth_end)}, "
                     f"arrives for {cid} at {fmt_time(a.arrival)}); at its max speed "
                     f"{vessel.max_speed_kn:g} kn it needs {fmt_minutes(fastest)}", cid, a.berth_id)
        elif leg - TOLERANCE_MINUTES > slowest:
            self.add(K.SAILING_TOO_SLOW, f"vessel {vessel_id} sails {route} in "
                     f"{fmt_minutes(leg)} (leaves {prev_id} at {fmt_time(prev.berth_end)}, "
                     f"arrives for {cid} at {fmt_time(a.arrival)}); at its min speed "
                     f"{vessel.min_speed_kn:g} kn it takes at most {fmt_minutes(slowest)}",
                     cid, a.berth_id)

    def _passage(self, vessel: Vessel, way: Passage, a: CallAssignment) -> None:
        """A way over passed ports, against the route's speed limits (its legs added up): faster
        than the vessel can sail it is a violation; slower, the excess is waiting at sea."""
        cid, origin = way.call_id, way.origin_call_id
        passed = ", ".join(way.passed)
        since = (f"leaves {origin} at {fmt_time(way.departure)}" if origin is not None else
                 f"is due at {way.ports[0]} at its ETA {fmt_time(way.departure)}")
        sails = (f"vessel {vessel.id} sails {way.route()} (passing {passed}) in "
                 f"{fmt_minutes(way.minutes)} ({since}, arrives for {cid} at {fmt_time(a.arrival)})")
        if origin is not None and way.minutes < 0:
            self.add(K.VOYAGE_ORDER, f"call {cid} of vessel {vessel.id} arrives at {fmt_time(a.arrival)}, "
                     f"before the vessel leaves its last served call {origin} at "
                     f"{fmt_time(way.departure)} (passing {passed})", cid, a.berth_id)
        elif way.minutes + TOLERANCE_MINUTES < way.fastest_minutes:
            self.add(K.SAILING_TOO_FAST, f"{sails}; at its max speed {vessel.max_speed_kn:g} kn it "
                     f"needs {fmt_minutes(way.fastest_minutes)}", cid, a.berth_id)
        elif way.waiting_at_sea_minutes > 0:
            self.at_sea.append(SeaWaiting(
                call_id=cid, vessel_id=vessel.id, passed=list(way.passed),
                minutes=way.waiting_at_sea_minutes,
                detail=f"{sails}; at its min speed {vessel.min_speed_kn:g} kn it takes at most "
                       f"{fmt_minutes(way.slowest_minutes)}: {fmt_minutes(way.waiting_at_sea_minutes)} "
                       "waiting at sea"))

    def links(self) -> None:
        for link in self.p.links:
            before = self.by_call.get(link.before)
            after = self.by_call.get(link.after)
            if before is None or after is None:
                continue
            self.as_warning = self.frozen_fact(link.before, link.after)
            self._link(link, before, after)
            self.as_warning = False

    def _link(self, link: Link, before: CallAssignment, after: CallAssignment) -> None:
        gap = minutes(after.berth_start - before.berth_end)
        why = f" ({link.reason})" if link.reason else ""
        if gap + TOLERANCE_MINUTES < link.min_gap_hours * 60:
            self.add(K.LINK_MIN_GAP, f"call {link.after} starts at {fmt_time(after.berth_start)}, "
                     f"{fmt_minutes(gap)} after call {link.before} ends at "
                     f"{fmt_time(before.berth_end)}; the link needs at least "
                     f"{fmt_minutes(link.min_gap_hours * 60)}{why}", link.after, after.berth_id)
        if link.max_gap_hours is not None and gap - TOLERANCE_MINUTES > link.max_gap_hours * 60:
            self.add(K.LINK_MAX_GAP, f"call {link.after} starts at {fmt_time(after.berth_start)}, "
                     f"{fmt_minutes(gap)} after call {link.before} ends at "
                     f"{fmt_time(before.berth_end)}; the link allows at most "
                     f"{fmt_minutes(link.max_gap_hours * 60)}{why}", link.after, after.berth_id)

    def run(self, unserved: dict[str, list[str]]) -> list[Violation]:
        self.completeness(unserved)
        for cid, a in self.by_call.items():
            self.call(self.calls[cid], a)
        self.overlaps()
        self.voyages()
        self.links()
        return self.out


def check(problem: Problem, plan: Plan | Sequence[CallAssignment],
          weights: ObjectiveWeights | None = None) -> CheckReport:
    """Every hard constraint the plan breaks, and its KPIs recomputed.

    `plan` may be a full Plan (its calls; its unserved calls count as missing) or a bare list
    of assignments. KPIs cover the assigned calls only.
    """
    assignments, unserved = _items(plan)
    checker = _Checker(problem, assignments)
    violations = checker.run(unserved)
    return CheckReport(ok=not violations, violations=violations, warnings=checker.warnings,
                       waiting_at_sea=checker.at_sea, unserved=sorted(unserved),
                       kpis=compute_kpis(problem, assignments, weights))


def check_rules(problem: Problem, plan: Plan | Sequence[CallAssignment]
                ) -> tuple[list[Violation], list[FrozenFact]]:
    """The hard constraints the plan breaks and the frozen facts that break one, as `check` has
    them, without the KPIs: for callers that only ask whether a plan is clean (a live month asks
    it many times per version)."""
    assignments, unserved = _items(plan)
    checker = _Checker(problem, assignments)
    return checker.run(unserved), checker.warnings


def _items(plan: Plan | Sequence[CallAssignment]) -> tuple[list[CallAssignment], dict[str, list[str]]]:
    if isinstance(plan, Plan):
        return list(plan.calls), {u.call_id: u.reasons for u in plan.unserved}
    return list(plan), {}


def summary(report: CheckReport) -> str:
    """One line for logs and the CLI: 'clean' only with no violation and no warning; the counts
    per kind otherwise, and how many calls the plan leaves unserved."""
    parts = []
    if report.violations:
        counts = ", ".join(f"{k} x{n}" for k, n in sorted(report.kinds().items()))
        parts.append(f"{len(report.violations)} violations: {counts}")
    else:
        parts.append("clean: no violations" if not report.warnings else "no violations")
    if report.warnings:
        counts = ", ".join(f"{k} x{n}" for k, n in sorted(Counter(w.kind for w in report.warnings).items()))
        parts.append(f"{len(report.warnings)} warnings (frozen facts that break a rule): {counts}")
    if report.unserved:
        parts.append(f"{len(report.unserved)} calls listed as unserved")
    if report.waiting_at_sea:
        total = sum(w.minutes for w in report.waiting_at_sea)
        n = len(report.waiting_at_sea)
        parts.append(f"{fmt_minutes(total)} waiting at sea on {n} way{'s' if n > 1 else ''} over "
                     "passed ports")
    return "; ".join(parts)
