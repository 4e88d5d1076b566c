"""Why a call waited at anchorage, and why a call cannot be served at all.

`why_waited` reads the plan itself, not the model: for each call with waiting, whatever in the
plan or the problem kept its berth start after its arrival (the berth busy with other calls,
closures, maintenance, links, cargo not ready). `unplannable_reasons` gives the static reasons
a call cannot be placed whatever the other calls do, for a solve that ends infeasible.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta

from optimizer.domain import (
    Berth,
    Call,
    Closure,
    Link,
    Port,
    Problem,
    TimeWindow,
    Vessel,
    Voyage,
    berth_fits,
    berth_misfit,
    fit_key,
    handling_hours,
)
from optimizer.kpis import first_assignments, fmt_local, fmt_minutes, fmt_time
from optimizer.plan import CallAssignment, ProofRule, UnservedCall, UnservedKind, WaitKind, WaitReason


def _closed_at(closures: Iterable[Closure], t: datetime) -> Closure | None:
    return next((w for w in closures if w.start <= t < w.end), None)


def earliest_free_start(lb: datetime, hours: float, busy: Sequence[tuple[datetime, datetime]],
                        closures: Sequence[Closure], stop: datetime | None = None) -> datetime | None:
    """Earliest start >= lb of a stay of `hours` that overlaps no busy interval and neither starts
    nor ends inside a closure; None if there is none before `stop`."""
    stay = timedelta(hours=hours)
    t = lb
    while stop is None or t < stop:
        moved = False
        for w in closures:
            if w.start <= t < w.end:
                t, moved = w.end, True
            if w.start <= t + stay < w.end:
                t, moved = w.end - stay, True
        for s, e in busy:
            if t < e and s < t + stay:
                t, moved = e, True
        if not moved:
            return t
    return None


class _Explainer:
    def __init__(self, problem: Problem, assignments: Iterable[CallAssignment]):
        self.p = problem
        self.by_call = first_assignments(problem, assignments)
        self.calls = problem.call_map()
        self.berths = problem.berths()
        self.berth_port = problem.berth_port()
        self.vessels = problem.vessel_map()
        self.links_after: dict[str, list[Link]] = {}
        for link in problem.links:
            self.links_after.setdefault(link.after, []).append(link)
        self.on_berth: dict[str, list[CallAssignment]] = {}
        for a in self.by_call.values():
            self.on_berth.setdefault(a.berth_id, []).append(a)
        for items in self.on_berth.values():
            items.sort(key=lambda a: (a.berth_start, a.call_id))
        # per berth: the starts in order and the longest stay, to find what overlaps a window fast
        self.starts = {b: [a.berth_start for a in items] for b, items in self.on_berth.items()}
        self.longest = {b: max(a.berth_end - a.berth_start for a in items)
                        for b, items in self.on_berth.items()}

    def overlapping(self, berth_id: str, lo: datetime, hi: datetime, but: str) -> list[CallAssignment]:
        """The calls on a berth other than `but` whose stay overlaps [lo, hi)."""
        items = self.on_berth.get(berth_id)
        if not items:
            return []
        starts = self.starts[berth_id]
        first = bisect.bisect_left(starts, lo - self.longest[berth_id])
        last = bisect.bisect_left(starts, hi)
        return [o for o in items[first:last] if o.call_id != but and o.berth_start < hi and lo < o.berth_end]

    def label(self, cid: str) -> str:
        c = self.calls.get(cid)
        if c is None:
            return f"call {cid}"
        v = self.vessels.get(c.vessel_id)
        return f"call {cid} ({v.name or v.id if v is not None else c.vessel_id})"

    def reasons(self, c: Call, a: CallAssignment) -> list[WaitReason]:
        out: list[WaitReason] = []
        lo, hi = a.arrival, a.berth_start
        stay = a.berth_end - a.berth_start
        lower = a.arrival  # the start no other berth could beat either
        if c.earliest_start is not None and c.earliest_start > lo:
            out.append(WaitReason(kind=WaitKind.EARLIEST_START, until=c.earliest_start,
                                  detail=f"cargo not ready before its earliest start "
                                         f"{fmt_time(c.earliest_start)}"))
            lower = max(lower, c.earliest_start)
        for link in self.links_after.get(c.id, []):
            if link.before not in self.by_call:
                continue
            ready = self.by_call[link.before].berth_end + timedelta(hours=link.min_gap_hours)
            if ready > lo:
                gap = f" plus {fmt_minutes(link.min_gap_hours * 60)}" if link.min_gap_hours else ""
                why = f" ({link.reason})" if link.reason else ""
                out.append(WaitReason(kind=WaitKind.LINK, blocking_call_id=link.before, until=ready,
                                      detail=f"linked to {self.label(link.before)}, which leaves its "
                                             f"berth at {fmt_time(self.by_call[link.before].berth_end)}"
                                             f"{gap}{why}"))
                lower = max(lower, ready)
        port = self.berth_port.get(a.berth_id)
        closures = port.closures if port is not None else []
        for w in closures:
            why = f" ({w.reason})" if w.reason else ""
            if w.start < hi and lo < w.end:
                out.append(WaitReason(kind=WaitKind.CLOSURE, until=w.end,
                                      detail=f"port {port.id if port else c.port_id} closed "
                                             f"{fmt_time(w.start)} - {fmt_time(w.end)}{why}"))
            elif w.start < hi + stay and lo + stay < w.end:
                out.append(WaitReason(kind=WaitKind.CLOSURE, until=w.end - stay,
                                      detail=f"starting earlier it would leave inside the closure "
                                             f"{fmt_time(w.start)} - {fmt_time(w.end)} of port "
                                             f"{port.id if port else c.port_id}{why}"))
        berth = self.berths.get(a.berth_id)
        if berth is not None:
            for uw in berth.unavailable:
                if uw.start < hi and lo < uw.end:
                    why = f" ({uw.reason})" if uw.reason else ""
                    out.append(WaitReason(kind=WaitKind.MAINTENANCE, until=uw.end,
                                          detail=f"berth {berth.id} unavailable {fmt_time(uw.start)} - "
                                                 f"{fmt_time(uw.end)}{why}"))
        busy: list[WaitReason] = []
        for other in self.overlapping(a.berth_id, lo, hi, c.id):
            busy.append(WaitReason(kind=WaitKind.BERTH_BUSY, blocking_call_id=other.call_id,
                                   until=other.berth_end,
                                   detail=f"berth {a.berth_id} busy with {self.label(other.call_id)} "
                                          f"from {fmt_time(other.berth_start)} until "
                                          f"{fmt_time(other.berth_end)}"))
        if busy and port is not None:
            last = max(busy, key=lambda r: (r.until, r.blocking_call_id or ""))
            alt = self.other_berths(c, a, port, lower)
            if alt:
                last.detail += "; " + alt
        out.extend(busy)
        if not out and c.frozen is not None:
            out.append(WaitReason(kind=WaitKind.FROZEN, detail="the call is frozen at these times"))
        if not out:
            out.append(WaitReason(kind=WaitKind.OTHER, detail=f"nothing in the plan kept berth {a.berth_id} "
                                  f"from {fmt_time(lo)}: the wait is the plan's own choice"))
        out.sort(key=lambda r: (r.until or hi, r.kind))
        return out

    def other_berths(self, c: Call, a: CallAssignment, port: Port, lower: datetime) -> str:
        """Say whether the port's other compatible berths were busy too."""
        vessel = self.vessels.get(c.vessel_id)
        if vessel is None:
            return ""
        busy_parts: list[str] = []
        free_parts: list[str] = []
        longest = max((h for b in port.berths if (h := handling_hours(c, b)) is not None), default=0.0)
        widest = a.berth_start + timedelta(hours=longest)
        closures = [w for w in port.closures if w.start < widest and lower < w.end]
        for b in port.berths:
            if b.id == a.berth_id or not berth_fits(c, vessel, b):
                continue
            hours = handling_hours(c, b)
            assert hours is not None
            reach = a.berth_start + timedelta(hours=hours)  # a stay there had to fit before this
            # Only what lies in [lower, reach) can matter; leaving the rest out keeps this linear.
            near = self.overlapping(b.id, lower, reach, c.id)
            taken = [(o.berth_start, o.berth_end) for o in near]
            taken += [(w.start, w.end) for w in b.unavailable if w.start < reach and lower < w.end]
            t = earliest_free_start(lower, hours, taken, closures, stop=a.berth_start)
            if t is not None:
                free_parts.append(f"{b.id} from {fmt_time(t)}")
                continue
            what = [o.call_id for o in near]
            if any(w.start < reach and lower < w.end for w in b.unavailable):
                what.append("maintenance")
            if not what:
                what.append(f"no {fmt_minutes(hours * 60)} gap clear of closures")
            busy_parts.append(f"{b.id} with {', '.join(what)}")
        if not busy_parts and not free_parts:
            return "no other berth of the port fits this call"
        parts = []
        if busy_parts:
            parts.append("the other compatible berths were busy too (" + "; ".join(busy_parts) + ")")
        if free_parts:
            parts.append(("but " if busy_parts else "") + "another compatible berth was free: "
                         + ", ".join(free_parts))
        return " ".join(parts)


def why_waited(problem: Problem, assignments: Iterable[CallAssignment]) -> dict[str, list[WaitReason]]:
    """For each call whose berth start is after its arrival, what it waited for."""
    ex = _Explainer(problem, assignments)
    out: dict[str, list[WaitReason]] = {}
    for cid, a in ex.by_call.items():
        if a.berth_start > a.arrival:
            out[cid] = ex.reasons(ex.calls[cid], a)
    return out


# -- calls that cannot be served -----------------------------------------------------------------


def _fits(problem: Problem, c: Call, vessels: dict[str, Vessel]) -> list[tuple[Berth, float]]:
    vessel = vessels.get(c.vessel_id)
    port = next((p for p in problem.ports if p.id == c.port_id), None)
    if vessel is None or port is None:
        return []
    out = []
    for b in port.berths:
        if berth_fits(c, vessel, b):
            h = handling_hours(c, b)
            assert h is not None
            out.append((b, h))
    return out


def _earliest_starts(problem: Problem) -> dict[str, tuple[datetime, str]]:
    """A lower bound on each call's berth start in any plan that serves it, and where it comes from.

    A plan may leave unserved every call before it (by voyage or link: only a call with a hard
    deadline after it may be left out, and then so may every call before that), so the bound
    counts only what holds whatever they do: its earliest start, its vessel's ETA, sailing at max
    speed from the last frozen call of the voyage through the ports in between (a vessel passing
    a port it does not call at loses no time there), and links from frozen calls. Closures and
    other calls are ignored, so the bound is always true.
    """
    calls = problem.call_map()
    vessels = problem.vessel_map()
    lo: dict[str, tuple[datetime, str]] = {}

    def later(cid: str, t: datetime, why: str) -> None:
        if cid not in lo or t > lo[cid][0]:
            lo[cid] = (t, why)

    for c in problem.calls:
        if c.frozen is not None:
            lo[c.id] = (c.frozen.berth_start, "its frozen start")
        elif c.earliest_start is not None:
            lo[c.id] = (c.earliest_start, "its earliest start")
    for v in problem.voyages:
        vessel = vessels.get(v.vessel_id)
        at: datetime | None = v.eta  # the earliest the vessel can be at the next call's port
        for k, cid in enumerate(v.call_ids):
            here = calls.get(cid)
            if here is None:
                break
            if k > 0 and at is not None:
                prev = calls[v.call_ids[k - 1]]
                nm = problem.distance_nm(prev.port_id, here.port_id)
                at = (at + timedelta(hours=nm / vessel.max_speed_kn)
                      if nm is not None and vessel is not None else None)
            if here.frozen is not None:
                at = here.frozen.berth_end  # it leaves there then, whatever the plan
                continue
            if at is not None:
                later(cid, at, "the vessel's ETA" if k == 0 else
                      f"the earliest the vessel can come from call {v.call_ids[k - 1]}")
    for link in problem.links:
        before, after = calls.get(link.before), calls.get(link.after)
        if before is not None and after is not None and before.frozen is not None and after.frozen is None:
            later(link.after, before.frozen.berth_end + timedelta(hours=link.min_gap_hours),
                  f"the end of linked frozen call {link.before}")
    return lo


def _open_from(closures: Sequence[Closure], t: datetime) -> datetime:
    """The first time >= t that lies in no closure."""
    moved = True
    while moved:
        moved = False
        for w in closures:
            if w.start <= t < w.end:
                t, moved = w.end, True
    return t


def _start_exists(lo: datetime, latest: datetime, hours: float, closures: Sequence[Closure],
                  unavailable: Sequence[TimeWindow]) -> bool:
    """Whether some stay of at least `hours` in [lo, latest] neither starts nor ends in a closure
    and meets no maintenance. The stay may be longer than the handling (riding out a storm at
    berth), so only what no plan at all could do is reported.

    Every feasible set of starts begins at lo, at a closure's end or at a maintenance end, so
    trying those starts is enough.
    """
    stay = timedelta(hours=hours)
    candidates = sorted({lo, *(w.end for w in closures), *(w.end for w in unavailable)})
    for s in candidates:
        if s < lo or s + stay > latest:
            continue
        if _closed_at(closures, s) is not None:
            continue
        end = _open_from(closures, s + stay)  # the shortest stay that leaves in open weather
        if end <= latest and not any(s < w.end and w.start < end for w in unavailable):
            return True
    return False


def _what_would_help(problem: Problem, c: Call, fits: list[tuple[Berth, float]], start: datetime) -> str:
    """The earliest departure the call could make with the closures and maintenance as they are,
    and which maintenance, ended earlier, would let it make its latest departure."""
    port = problem.port(c.port_id)
    assert c.latest_departure is not None
    best: datetime | None = None
    for b, h in fits:
        t = earliest_free_start(start, h, [(w.start, w.end) for w in b.unavailable], port.closures,
                                stop=problem.horizon_end + timedelta(days=400))
        if t is not None and (best is None or t + timedelta(hours=h) < best):
            best = t + timedelta(hours=h)
    parts = []
    if best is not None:
        parts.append(f"servable if latest departure >= {fmt_local(problem, c.port_id, best)}")
    for b, h in fits:
        for w in b.unavailable:
            if not _start_exists(start, c.latest_departure, h, port.closures, []):
                break
            others = [x for x in b.unavailable if x is not w]
            if _start_exists(start, c.latest_departure, h, port.closures, others):
                parts.append(f"or if {b.id}'s maintenance {fmt_time(w.start)} - {fmt_time(w.end)} is moved")
    return "; " + " ".join(parts) if parts else ""


def unplannable_reasons(problem: Problem, tick: Callable[[], None] = lambda: None) -> list[UnservedCall]:
    """Calls that no plan can serve, whatever the others do, each proven by its own limits (the
    first reason's rule) with every such reason; `tick` runs once per call (a deadline check)."""
    vessels = problem.vessel_map()
    by_key: dict[tuple[object, ...], list[Berth]] = {}
    fits_of: dict[str, list[tuple[Berth, float]]] = {}
    for c in problem.calls:
        tick()
        if c.frozen is None and c.vessel_id in vessels:
            key = fit_key(c, vessels[c.vessel_id])
            if key not in by_key:
                by_key[key] = [b for b, _ in _fits(problem, c, vessels)]
            fits_of[c.id] = [(b, h) for b in by_key[key] if (h := handling_hours(c, b)) is not None]
        elif c.frozen is None:
            fits_of[c.id] = []
    if not any(c.latest_departure is not None and c.frozen is None for c in problem.calls) \
            and all(fits_of.values()):
        return []  # without a hard deadline every call with a fitting berth can be served, late enough
    lo = _earliest_starts(problem)
    vessels = problem.vessel_map()
    out: list[UnservedCall] = []
    for c in problem.calls:
        tick()
        if c.frozen is not None:
            continue
        reasons: list[str] = []
        rules: list[ProofRule] = []
        fits = fits_of[c.id]
        vessel = vessels.get(c.vessel_id)
        port = next((p for p in problem.ports if p.id == c.port_id), None)
        if not fits:
            if vessel is None or port is None:
                reasons.append(f"unknown vessel {c.vessel_id} or port {c.port_id}")
            else:
                why = "; ".join(m for b in port.berths if (m := berth_misfit(c, vessel, b)))
                reasons.append(f"no compatible berth at {port.id}: {why}")
            rules.append(ProofRule.NO_COMPATIBLE_BERTH)
        if c.earliest_start is not None and c.latest_departure is not None \
                and c.earliest_start >= c.latest_departure:
            reasons.append(f"earliest start {fmt_local(problem, c.port_id, c.earliest_start)} is not "
                           f"before its latest departure {fmt_local(problem, c.port_id, c.latest_departure)}")
            rules.append(ProofRule.OWN_WINDOW)
        elif fits and c.latest_departure is not None and c.id in lo and port is not None:
            start, source = lo[c.id]
            shortest = min(h for _, h in fits)
            need = start + timedelta(hours=shortest)
            if need > c.latest_departure:
                reasons.append(f"cannot start before {fmt_local(problem, c.port_id, start)} ({source}) "
                               f"and needs at least {fmt_minutes(shortest * 60)} at berth, but must leave "
                               f"by {fmt_local(problem, c.port_id, c.latest_departure)}; servable if "
                               f"latest departure >= {fmt_local(problem, c.port_id, need)}")
                rules.append(ProofRule.WINDOW_TOO_SHORT)
            elif not any(_start_exists(start, c.latest_departure, h, port.closures, b.unavailable)
                         for b, h in fits):
                reasons.append(f"between {fmt_local(problem, c.port_id, start)} and its latest departure "
                               f"{fmt_local(problem, c.port_id, c.latest_departure)} every start or "
                               f"departure falls in a closure of port {port.id} or meets berth "
                               f"maintenance{_what_would_help(problem, c, fits, start)}")
                rules.append(ProofRule.WINDOW_CLOSED)
        if reasons:
            out.append(UnservedCall(call_id=c.id, kind=UnservedKind.PROVEN, rule=rules[0], reasons=reasons))
    return out


#: What a not_found call's reasons end with when nothing more is known of the search.
NOT_FOUND_NOTE = "the search did not find one"


def unserved_reasons(problem: Problem, assignments: Sequence[CallAssignment], call_ids: Iterable[str],
                     *, proven: Collection[str] = frozenset(), note: str = NOT_FOUND_NOTE
                     ) -> dict[str, list[str]]:
    """Why each call the plan leaves unserved is not served together with the planned calls: the
    binding rule, with times in the port's offset and UTC.

    For a call in `proven` (no plan can serve it) the reasons say what would make it servable;
    for the others they say what holds in this plan only, and that a plan serving the call may
    exist (`note`: why none was found, e.g. "the search did not find one in 30 s"): telling
    an operator to move a latest departure that another plan could keep would mislead.

    Reads the plan in exact time: the call's earliest start on each compatible berth after its
    arrival, its cargo, its linked calls, around the planned calls, maintenance and closures.
    """
    by_call = first_assignments(problem, assignments)
    on_berth: dict[str, list[tuple[datetime, datetime]]] = {}
    for a in by_call.values():
        on_berth.setdefault(a.berth_id, []).append((a.berth_start, a.berth_end))
    static = _earliest_starts(problem)
    return {cid: _unserved_call_reasons(problem, by_call, on_berth, static, cid, cid in proven, note)
            for cid in call_ids}


def _after_planned_calls(problem: Problem, by_call: dict[str, CallAssignment], voyage: Voyage, k: int,
                         vessel: Vessel) -> tuple[datetime, str] | None:
    """The earliest the vessel can reach call k's port in this plan: from the last call before it
    that the plan serves, sailing at max speed past the ports of the calls in between."""
    calls = problem.call_map()
    for j in range(k - 1, -1, -1):
        a = by_call.get(voyage.call_ids[j])
        if a is None:
            continue
        t = a.berth_end
        for x, y in zip(voyage.call_ids[j:k], voyage.call_ids[j + 1:k + 1], strict=True):
            t += timedelta(hours=(problem.distance_nm(calls[x].port_id, calls[y].port_id) or 0.0)
                           / vessel.max_speed_kn)
        port = calls[a.call_id].port_id
        return t, f"the vessel leaves call {a.call_id} at {fmt_local(problem, port, a.berth_end)}"
    return None


def _unserved_call_reasons(problem: Problem, by_call: dict[str, CallAssignment],
                           on_berth: dict[str, list[tuple[datetime, datetime]]],
                           static: dict[str, tuple[datetime, str]], call_id: str, proven: bool,
                           note: str) -> list[str]:
    calls = problem.call_map()
    c = calls[call_id]
    vessels = problem.vessel_map()
    port = problem.port(c.port_id)
    lo, why_lo = static.get(c.id, (problem.horizon_start, "the horizon start"))
    voyage, k = problem.voyage_order()[c.id]
    vessel = vessels[c.vessel_id]
    if (came := _after_planned_calls(problem, by_call, voyage, k, vessel)) is not None and came[0] > lo:
        lo, why_lo = came
    link_deadline: tuple[datetime, Link] | None = None
    for link in problem.links:
        if link.after == c.id and (before := by_call.get(link.before)) is not None:
            ready = before.berth_end + timedelta(hours=link.min_gap_hours)
            if ready > lo:
                lo, why_lo = ready, (f"linked call {link.before} leaves its berth at "
                                     f"{fmt_local(problem, calls[link.before].port_id, before.berth_end)}")
            if link.max_gap_hours is not None:
                t = before.berth_end + timedelta(hours=link.max_gap_hours)
                if link_deadline is None or t < link_deadline[0]:
                    link_deadline = (t, link)
    may_exist = f"a plan serving it may exist: {note}"
    best: tuple[datetime, datetime, str] | None = None  # end, start, berth
    for b, hours in _fits(problem, c, vessels):
        taken = on_berth.get(b.id, []) + [(w.start, w.end) for w in b.unavailable]
        slot = earliest_free_start(lo, hours, taken, port.closures,
                                   stop=problem.horizon_end + timedelta(days=400))
        if slot is None:
            continue
        end = slot + timedelta(hours=hours)
        if best is None or end < best[0]:
            best = (end, slot, b.id)
    if best is None:
        found = f"no compatible berth of {port.id} has a free slot for it"
        return [found] if proven else [f"in this plan {found}", may_exist]
    end, start, berth = best
    if start > lo:
        where = (f"berth {berth}, free from {fmt_local(problem, c.port_id, start)} (the compatible "
                 "berths are taken by planned calls, maintenance or closures before)")
    else:
        where = f"berth {berth}, starting at {fmt_local(problem, c.port_id, start)} ({why_lo})"
    leave = fmt_local(problem, c.port_id, end)
    out: list[str] = []
    if c.latest_departure is not None and end > c.latest_departure:
        latest = fmt_local(problem, c.port_id, c.latest_departure)
        if proven:
            out.append(f"cannot leave by its latest departure {latest}: with the other calls planned, the "
                       f"earliest it can leave is {leave} at {where}; servable if latest departure >= "
                       f"{leave}")
        else:
            out.append(f"in this plan it cannot leave by its latest departure {latest}: around the planned "
                       f"calls the earliest it can leave is {leave} at {where}")
    if link_deadline is not None and start > link_deadline[0]:
        link = link_deadline[1]
        gap = fmt_minutes(link.max_gap_hours * 60 if link.max_gap_hours else 0)
        by = fmt_local(problem, c.port_id, link_deadline[0])
        if proven:
            need = fmt_minutes((start - by_call[link.before].berth_end).total_seconds() / 60)
            out.append(f"must start within {gap} after call {link.before} ends, by {by}, but the earliest "
                       f"start is {fmt_local(problem, c.port_id, start)}; servable if the link's max gap "
                       f">= {need}")
        else:
            out.append(f"in this plan it cannot start within {gap} after call {link.before} ends, by {by}: "
                       f"the earliest start is {fmt_local(problem, c.port_id, start)}")
    if k + 1 < len(voyage.call_ids) and (nxt := calls.get(voyage.call_ids[k + 1])) is not None \
            and nxt.frozen is not None:
        nm = problem.distance_nm(c.port_id, nxt.port_id) or 0.0
        by_t = (nxt.frozen.arrival or nxt.frozen.berth_start) - timedelta(hours=nm / vessel.max_speed_kn)
        if end > by_t:
            out.append(f"{'' if proven else 'in this plan '}the vessel must leave by "
                       f"{fmt_local(problem, c.port_id, by_t)} to reach its frozen call {nxt.id} at "
                       f"{nxt.port_id}, but the earliest it can leave is {leave}")
    if not out:
        out.append(f"{'' if proven else 'in this plan '}no slot serves it together with the planned calls "
                   f"and their deadlines (around them, the earliest departure is {leave} at {where})")
    return out if proven else [*out, may_exist]
