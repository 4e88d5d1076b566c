"""Why each call a version changes moved: every change names its cause.

The replan repairs the last version around the batch's events (optimizer.live.repair: each call
keeps its berth and start when that still fits, else shifts right) and then lets the search
improve the calls the repair had to move. That gives the backbone here, per changed call:
previous placement -> the repair's placement -> the version's placement.

- The repair moved it: the move was **forced**. What forced it is read off the repair's own
  rules, on the call's previous placement in the new planning view, with every other call where
  the repair put it: the earliest the call could start (its ETA or an actual, cargo ready, the
  clock, its vessel's previous call, a linked call), then its old stay on its old berth (a
  closure, maintenance, another call on that berth that could not move: a fact, a pinned call,
  or one that itself moved for a forced reason).
- The repair kept it and the search moved it: the move was **chosen**. When an event of the
  batch names the call, or a lifted closure freed its old place, that is its cause (the event
  made the room the search used); otherwise the cause is `search`, with the version's gain: the
  objective of the repair's plan minus the version's (and the dwell hours saved), stated once
  per version (`MoveSummary.search`).

Forced moves never claim `search`. Times in the reasons are the port's local time with its
offset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field

from optimizer.diff import CallChange
from optimizer.domain import Problem
from optimizer.kpis import compute_kpis, fmt_offset, local_time
from optimizer.live.events import (
    ActualArrival,
    ActualBerthing,
    ActualDeparture,
    CallAdded,
    CallCancelled,
    CargoReady,
    ClosureEvent,
    ClosureLifted,
    Eta,
    Event,
    HandlingUpdate,
    Maintenance,
)
from optimizer.live.repair import Repair, repair_last
from optimizer.live.state import LiveState
from optimizer.params import ObjectiveWeights
from optimizer.plan import CallAssignment, Kpis, Out, Plan
from optimizer.steps import to_assignments


class MoveCause(StrEnum):
    """Why a version moved a call (see optimizer.live.causes)."""

    EVENT = "event"
    CLOSURE = "closure"
    MAINTENANCE = "maintenance"
    BERTH_TAKEN = "berth_taken"
    LINK = "link"
    PREVIOUS_LEG = "previous_leg"
    NOW = "now"
    SEARCH = "search"


class CauseWindow(Out):
    """A closure or maintenance window that moved a call (or, lifted, let it move)."""

    event_id: str
    start: AwareDatetime
    end: AwareDatetime
    port_id: str | None = Field(default=None, description="A closure's port (None: the whole basin).")
    berth_id: str | None = Field(default=None, description="A maintenance's berth.")
    reason: str | None = None
    lifted: bool = Field(default=False, description="The batch lifted it: the call could move earlier.")


class SearchGain(Out):
    """What the search won over the repair of the last version, in the version's planning view."""

    objective_repair: float = Field(description="Objective of the repair's plan (the plan's own units: "
                                    "weighted dwell and lateness minutes plus change penalties).")
    objective: float = Field(description="Objective of the version's plan.")
    gain: float = Field(description="objective_repair - objective: what the search's moves won.")
    dwell_hours_saved: float = Field(description="Total dwell of the repair's plan minus the version's.")
    calls_served_more: int = Field(default=0, description="Calls the version serves that the repair "
                                   "could not (negative: fewer).")


class MoveSummary(Out):
    """A version's changes by cause."""

    by_cause: dict[MoveCause, int] = Field(default_factory=dict, description="Changes per cause.")
    forced: int = Field(default=0, description="Changes the repair of the last version had to make.")
    chosen: int = Field(default=0, description="Changes no rule forced: the search's moves of calls the "
                        "repair kept, and arrivals retimed to a previous leg that changed.")
    search: SearchGain | None = Field(default=None, description="The search's gain over the repair "
                                      "(None for version 1 or when the view has no call).")


@dataclass
class Cause:
    """One change's cause: what VersionChange carries."""

    cause: MoveCause
    forced: bool
    reason: str
    event_ids: list[str] = field(default_factory=list)
    call_id: str | None = None
    window: CauseWindow | None = None


@dataclass
class MoveContext:
    """What a replan knows when it explains its version's changes."""

    before: LiveState
    after: LiveState
    events: Sequence[Event]
    touched: Mapping[str, list[str]]  # call id -> ids of the batch's events that name it
    concerned: Mapping[str, list[str]]  # ... and the closures / maintenance its old place meets
    previous: Mapping[str, CallAssignment]  # the last version's timeline by call
    weights: ObjectiveWeights | None = None
    repair: Repair | None = None  # the repair of `previous` in the version's view, when made already
    plan_kpis: Kpis | None = None  # the version's plan's KPIs under `weights`, when made already


#: Sailing-time comparisons allow this much slack (minutes), as the checker does.
SLACK_MINUTES = 1e-6


def _same(a: CallAssignment, b: CallAssignment) -> bool:
    return (a.berth_id, a.berth_start, a.berth_end, a.arrival) == (b.berth_id, b.berth_start, b.berth_end,
                                                                  b.arrival)


class _Explainer:
    def __init__(self, ctx: MoveContext, problem: Problem, plan: Plan):
        self.ctx, self.p, self.plan = ctx, problem, plan
        self.calls = problem.call_map()
        made = ctx.repair
        self.cp, self.prefer, self.placed = (made if made is not None and made[0].problem is problem
                                             else repair_last(problem, ctx.previous))
        self.repaired = {a.call_id: a for a in to_assignments(self.cp, self.placed)}
        self.final = plan.by_call()
        self.events = {e.event_id: e for e in ctx.events}
        self.vessels = problem.vessel_map()
        self.voyages = problem.voyage_order()
        self.done: dict[str, Cause] = {}
        self.gain = self._gain()

    # -- formatting ------------------------------------------------------------------------------

    def at(self, cid: str, t: datetime) -> str:
        port = self.calls[cid].port_id if cid in self.calls else ""
        local = local_time(self.p, port, t)
        return f"{local:%Y-%m-%d %H:%M} {fmt_offset(local)}"

    def label(self, cid: str) -> str:
        c = self.calls.get(cid)
        v = self.vessels.get(c.vessel_id) if c is not None else None
        return f"{cid} ({v.name or v.id})" if v is not None else cid

    def time(self, steps: int) -> datetime:
        return self.cp.time(steps)

    # -- the search's gain ---------------------------------------------------------------------

    def _gain(self) -> SearchGain:
        rep = compute_kpis(self.p, self.repaired.values(), self.ctx.weights)
        fin = self.ctx.plan_kpis or compute_kpis(self.p, self.plan.calls, self.ctx.weights)
        return SearchGain(objective_repair=round(rep.objective, 3), objective=round(fin.objective, 3),
                          gain=round(rep.objective - fin.objective, 3) + 0.0,  # never -0.0
                          dwell_hours_saved=round(rep.total_dwell_hours - fin.total_dwell_hours, 3) + 0.0,
                          calls_served_more=len(self.final) - len(self.repaired))

    def gain_text(self) -> str:
        g = self.gain
        return (f"this version's search beats the repair of the last version by {g.gain:.0f} objective "
                f"units, {g.dwell_hours_saved:.1f} h less dwell")

    # -- events -----------------------------------------------------------------------------------

    def own_events(self, cid: str, *kinds: type) -> list[str]:
        """The batch's events that name the call, of these types (any type when none given)."""
        ids = self.ctx.touched.get(cid, [])
        return [i for i in ids if i in self.events and (not kinds or isinstance(self.events[i], kinds))]

    def event_cause(self, cid: str, ids: list[str], what: str, forced: bool) -> Cause:
        names = ", ".join(f"{i} ({self.events[i].type.value})" if i in self.events else i for i in ids)
        return Cause(MoveCause.EVENT, forced, f"{what} (event {names})" if names else what, event_ids=ids)

    # -- one change --------------------------------------------------------------------------------

    def cause(self, ch: CallChange) -> Cause:
        cid = ch.call_id
        if cid in self.done:
            return self.done[cid]
        self.done[cid] = Cause(MoveCause.EVENT, True, "")  # a guard against a loop of blockers
        out = self._cause(cid)
        self.done[cid] = out
        return out

    def _cause(self, cid: str) -> Cause:
        before = self.ctx.previous.get(cid)
        if before is None:
            ids = self.own_events(cid)
            added = self.own_events(cid, CallAdded)
            if added:
                return self.event_cause(cid, added, "a call added", forced=True)
            if ids:
                return self.event_cause(cid, ids, "served now; an event names it", forced=False)
            return Cause(MoveCause.SEARCH, False, f"served now (the last version left it unserved): "
                         f"{self.gain_text()}")
        rep = self.repaired.get(cid)
        if rep is None or not _same(rep, before):
            found = self.forced(cid, before, rep)
            if found is not None:
                fin = self.final.get(cid)
                if fin is not None and rep is not None and not _same(fin, rep):
                    found.reason += (f"; the search then placed it at {fin.berth_id} from "
                                     f"{self.at(cid, fin.berth_start)}")
                elif fin is None:
                    found.reason += "; it is left unserved"
                return found
            if rep is not None and (rep.berth_id, rep.berth_start, rep.arrival) == (
                    before.berth_id, before.berth_start, before.arrival):
                # no rule moved it: the repair ends a stay as soon as its handling (and the
                # port's closures) allow, where the last version's search had it stay longer
                return self.chosen(cid, before, f"not forced: its stay now ends at "
                                   f"{self.at(cid, rep.berth_end)}, when its handling allows, not "
                                   f"{self.at(cid, before.berth_end)}")
        return self.chosen(cid, before, f"not forced: the search moved it to improve the plan "
                           f"({self.gain_text()})")

    def chosen(self, cid: str, before: CallAssignment, otherwise: str) -> Cause:
        """A move no rule forced: the event that names the call or the lifted closure that made
        room for it, else the planner's own choice."""
        ids = self.own_events(cid)
        if ids:
            return self.event_cause(cid, ids, "an event names it and the search moved it", forced=False)
        for eid in self.ctx.concerned.get(cid, []):
            e = self.events.get(eid)
            if isinstance(e, ClosureLifted):
                w = self.lifted_window(e)
                if w is not None:
                    return self.window_cause(cid, w, before, forced=False, what="")
        return Cause(MoveCause.SEARCH, False, otherwise)

    # -- forced moves: the repair's own rules on the old placement ---------------------------------

    def forced(self, cid: str, old: CallAssignment, rep: CallAssignment | None) -> Cause | None:
        after = self.ctx.after
        a = after.actual(cid)
        if a.berthing is not None:  # a fact now, not where the plan had it
            ids = self.own_events(cid, ActualArrival, ActualBerthing, ActualDeparture, HandlingUpdate)
            if rep is not None and a.departure is None and not ids and rep.berth_end > old.berth_end:
                return Cause(MoveCause.NOW, True, f"still at berth {rep.berth_id} at now "
                             f"({self.at(cid, after.now)}), past its planned departure "
                             f"{self.at(cid, old.berth_end)}")
            where = f"at berth {a.berth_id} from {self.at(cid, a.berthing)}"
            return self.event_cause(cid, ids or self.own_events(cid), f"a fact now: {where} (planned "
                                    f"{old.berth_id} from {self.at(cid, old.berth_start)})", forced=True)
        i = self.cp.call_index[cid]
        c = self.cp.calls[i]
        want = self.prefer.get(i)
        if want is None:
            return None
        berth, start = want
        lb = self.lower_bound(cid, i, old, start)
        if lb is not None:
            return lb
        if c.prev is None and rep is not None and rep.arrival != old.arrival:
            eta = self.voyages[cid][0].eta
            return self.event_cause(cid, self.own_events(cid), f"its vessel's ETA is now {self.at(cid, eta)} "
                                    f"(planned arrival {self.at(cid, old.arrival)})", forced=True)
        slot = self.old_slot(cid, i, old, berth, start)
        if slot is not None:
            return slot
        if c.prev is not None and rep is not None and rep.arrival != old.arrival:
            prev = self.cp.calls[c.prev].id
            if self.end_of(prev) != self.ctx.previous.get(prev, rep).berth_end:
                # the repair times an arrival as late as the leg from the previous call allows
                leg = (old.arrival - self.end_of(prev)).total_seconds() / 60
                fastest, slowest = c.sail_minutes
                can = fastest - SLACK_MINUTES <= leg <= slowest + SLACK_MINUTES
                return Cause(MoveCause.PREVIOUS_LEG, not can, f"its vessel now leaves {self.label(prev)} "
                             f"at {self.at(prev, self.end_of(prev))}{self.fact_note(prev)}: its arrival "
                             f"is retimed to {self.at(cid, rep.arrival)}"
                             + ("" if not can else " (sailing that leg as slowly as it may)"),
                             call_id=prev)
        return None

    def end_of(self, cid: str) -> datetime:
        """Where the repair ends the call (an unserved call: the vessel passing the port)."""
        a = self.repaired.get(cid)
        if a is not None:
            return a.berth_end
        return self.time(self.placed[self.cp.call_index[cid]].end)

    def fact_note(self, cid: str) -> str:
        a = self.ctx.after.actual(cid)
        if a.departure is not None:
            return f" (a fact: it left at {self.at(cid, a.departure)})"
        if a.berthing is not None:
            return f" (a fact: at berth {a.berth_id} since {self.at(cid, a.berthing)})"
        return ""

    def lower_bound(self, cid: str, i: int, old: CallAssignment, start: int) -> Cause | None:
        """The earliest the repair could start the call, and what set it, when that is after its
        old start: (step, cause) candidates, the latest one wins."""
        cp, c = self.cp, self.cp.calls[i]
        after = self.ctx.after
        cands: list[tuple[int, int, Cause]] = []  # (step, rank, cause): rank breaks ties, events first
        view_call = self.calls[cid]
        if c.prev is None:
            assert c.eta is not None
            eta = self.voyages[cid][0].eta
            ids = self.own_events(cid, Eta, ActualArrival, CallCancelled)
            cands.append((c.eta, 0, self.event_cause(
                cid, ids or self.own_events(cid), f"its vessel now arrives {self.at(cid, eta)}, after its "
                f"planned start {self.at(cid, old.berth_start)}", forced=True)))
        else:
            prev = cp.calls[c.prev].id
            arr = self.placed[c.prev].end + c.sail_min
            cands.append((arr, 3, Cause(
                MoveCause.PREVIOUS_LEG, True, f"its vessel now leaves {self.label(prev)} at "
                f"{self.at(prev, self.end_of(prev))}{self.fact_note(prev)}; at its max speed it arrives "
                f"{self.at(cid, self.time(arr))}, after its planned start {self.at(cid, old.berth_start)}",
                call_id=prev)))
        cargo = after.problem.call_map()[cid].earliest_start if cid in after.problem.call_map() else None
        if cargo is not None:
            ids = self.own_events(cid, CargoReady)
            cands.append((cp.up(cargo), 1, self.event_cause(
                cid, ids or self.own_events(cid), f"its cargo is ready only at {self.at(cid, cargo)}, after "
                f"its planned start {self.at(cid, old.berth_start)}", forced=True)))
        cands.append((cp.up(after.now), 2, Cause(
            MoveCause.NOW, True, f"its planned start {self.at(cid, old.berth_start)} is past: now is "
            f"{self.at(cid, after.now)} and it has not berthed")))
        if (reported := after.reported_etas.get(cid)) is not None:
            ids = self.own_events(cid, Eta)
            cands.append((cp.up(reported), 0, self.event_cause(
                cid, ids or self.own_events(cid), f"its vessel now reports arriving "
                f"{self.at(cid, reported)}, after its planned start {self.at(cid, old.berth_start)}",
                forced=True)))
        if view_call.earliest_start is not None:
            for link in after.problem.links:  # a linked call that has departed: its ready time
                if link.after == cid and link.before not in self.calls:
                    gone = self.ctx.previous.get(link.before)
                    left = after.actual(link.before).departure
                    if gone is not None and left is not None:
                        ready = left + timedelta(hours=link.min_gap_hours)
                        cands.append((cp.up(ready), 4, Cause(
                            MoveCause.LINK, True, f"linked call {self.label(link.before)} left at "
                            f"{self.at(link.before, left)}: it can start only from {self.at(cid, ready)}",
                            call_id=link.before)))
        for p, gap in cp.preds[i]:
            if p == c.prev or not self.placed[p].served:
                continue
            other = cp.calls[p].id
            step = self.placed[p].end + gap
            cands.append((step, 4, Cause(
                MoveCause.LINK, True, f"linked call {self.label(other)} now ends at "
                f"{self.at(other, self.end_of(other))}{self.fact_note(other)}: it can start only from "
                f"{self.at(cid, self.time(step))}, after its planned start {self.at(cid, old.berth_start)}",
                call_id=other)))
        late = [x for x in cands if x[0] > start]
        if not late:
            return None
        return max(late, key=lambda x: (x[0], -x[1]))[2]

    def old_slot(self, cid: str, i: int, old: CallAssignment, berth: int, start: int) -> Cause | None:
        """What takes the call's old stay on its old berth in the repair's plan."""
        cp, c = self.cp, self.cp.calls[i]
        steps = c.option_steps(berth)
        if steps is None:
            return None
        end = start + steps
        for eid, e in self.active_closures(cid):
            a, b = cp.up(e.start), cp.steps_up(self.p.minutes(e.end)) - 1
            if a <= start <= b or a <= end <= b:
                what, t = ("berthing", old.berth_start) if a <= start <= b else ("departure", old.berth_end)
                w = CauseWindow(event_id=eid, start=e.start, end=e.end, port_id=e.port_id, reason=e.reason)
                return self.window_cause(cid, w, old, forced=True,
                                         what=f"its planned {what} at {self.at(cid, t)} falls inside")
        bid = cp.berth_ids[berth]
        for eid, m in self.active_maintenance(bid):
            if cp.down(m.start) < end and start < cp.up(m.end):
                w = CauseWindow(event_id=eid, start=m.start, end=m.end, berth_id=m.berth_id, reason=m.reason)
                return self.window_cause(cid, w, old, forced=True, what="over its planned stay")
        blockers = []
        for oid, o in self.repaired.items():
            if oid == cid or o.berth_id != bid:
                continue
            j = cp.call_index[oid]
            f = cp.calls[j].frozen
            lo, hi = (f.start, f.end) if f is not None else (self.placed[j].start, self.placed[j].end)
            if lo < end and start < hi:
                blockers.append((f is None, o.berth_start, oid))
        if blockers:
            _, _, other = min(blockers)
            o = self.repaired[other]
            why = self.blocker_note(other)
            taken = f"{self.at(other, o.berth_start)} - {self.at(other, o.berth_end)}"
            return Cause(MoveCause.BERTH_TAKEN, True, f"berth {bid} is taken {taken} by {self.label(other)}"
                         f"{why}, over its planned stay from {self.at(cid, old.berth_start)}", call_id=other)
        return None

    def blocker_note(self, other: str) -> str:
        if (fact := self.fact_note(other)):
            return fact
        j = self.cp.call_index[other]
        if self.cp.calls[j].frozen is not None:
            return " (pinned: it begins within the frozen window)"
        if other in self.ctx.previous:
            inner = self.cause(CallChange(call_id=other, berth_before=None, berth_after=None))
            return f" (itself moved: {inner.cause.value})"
        return " (a call this version plans for the first time)"

    # -- closures and maintenance ----------------------------------------------------------------

    def active_closures(self, cid: str) -> list[tuple[str, ClosureEvent]]:
        port = self.calls[cid].port_id
        out = [(eid, e) for eid, e in self.ctx.after.closures.items() if e.port_id in (None, port)]
        return sorted(out, key=lambda x: x[0] not in self.events)  # the batch's own first

    def active_maintenance(self, berth_id: str) -> list[tuple[str, Maintenance]]:
        out = [(eid, m) for eid, m in self.ctx.after.maintenance.items() if m.berth_id == berth_id]
        return sorted(out, key=lambda x: x[0] not in self.events)

    def lifted_window(self, e: ClosureLifted) -> CauseWindow | None:
        gone = self.ctx.before.closures.get(e.closure_event_id)
        if gone is None:
            return None
        return CauseWindow(event_id=e.event_id, start=gone.start, end=gone.end, port_id=gone.port_id,
                           reason=gone.reason, lifted=True)

    def window_of(self, cid: str, ids: Iterable[str], old: CallAssignment) -> CauseWindow | None:
        for eid in ids:
            e = self.events.get(eid)
            if isinstance(e, ClosureEvent):
                return CauseWindow(event_id=eid, start=e.start, end=e.end, port_id=e.port_id, reason=e.reason)
            if isinstance(e, Maintenance):
                return CauseWindow(event_id=eid, start=e.start, end=e.end, berth_id=e.berth_id,
                                   reason=e.reason)
            if isinstance(e, ClosureLifted):
                return self.lifted_window(e)
        return None

    def window_cause(self, cid: str, w: CauseWindow, old: CallAssignment, forced: bool, what: str) -> Cause:
        span = f"{self.at(cid, w.start)} - {self.at(cid, w.end)}"
        why = f", {w.reason}" if w.reason else ""
        if w.berth_id is not None:
            text = f"berth {w.berth_id} under maintenance {span} (event {w.event_id}{why})"
            kind = MoveCause.MAINTENANCE
        else:
            where = f"port {w.port_id}" if w.port_id else "the basin"
            closed = "closure lifted" if w.lifted else "closed"
            text = f"{where} {closed} {span} (event {w.event_id}{why})"
            kind = MoveCause.CLOSURE
        if w.lifted:
            text += ": the search moved it into the room it left"
        elif what:
            text += f": {what}"
        return Cause(kind, forced, text, event_ids=[w.event_id], window=w)


def explain_moves(changes: Sequence[CallChange], ctx: MoveContext, problem: Problem, plan: Plan
                  ) -> tuple[dict[str, Cause], MoveSummary]:
    """Per changed call, its cause; and the version's summary by cause, with the search's gain."""
    ex = _Explainer(ctx, problem, plan)
    out = {ch.call_id: ex.cause(ch) for ch in changes}
    counts = Counter(c.cause for c in out.values())
    summary = MoveSummary(by_cause={k: counts[k] for k in MoveCause if counts[k]},
                          forced=sum(c.forced for c in out.values()),
                          chosen=sum(not c.forced for c in out.values()), search=ex.gain)
    return out, summary

