"""Replaying an event stream against a live plan in process (``portsync replay``, ``bench live``).

An event file has one event a line (JSON, the live plan's vocabulary, optimizer.live.events);
blank lines and lines starting with ``#`` are skipped. Each event line is one batch: before a
``clock`` event, the simulator's actuals due up to the new now (optimizer.live.simulate) go in
the same batch. After the last line the clock runs on past the last planned departure, with
simulated actuals, until every call has departed. Every version is checked by the independent
checker.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimizer.checker import check, summary
from optimizer.domain import Problem
from optimizer.kpis import compute_kpis, minutes
from optimizer.live.events import EVENT, Clock, Event
from optimizer.live.live_plan import LivePlan
from optimizer.live.replan import ReplanSettings, Version
from optimizer.live.simulate import BerthingDelay, actuals_due, all_departed, final_facts_problem
from optimizer.live.state import EventConflict, EventsRefused, LiveState
from optimizer.loading import decode_text, parse_json, read_bytes
from optimizer.plan import CallAssignment, Kpis
from optimizer.validation import InvalidInput, Issue, issues_from_pydantic

#: A start moved by more than this counts as shifted.
SHIFT_MINUTES = 30.0
#: After the stream, at most this many clock jumps to let every vessel leave.
DRAIN_ROUNDS = 12


class EventFileError(InvalidInput):
    """Bad lines of an event file: every one, as line <n>.<field>."""


@dataclass
class EventLine:
    line: int
    event: Event


def parse_event_lines(text: str) -> list[EventLine]:
    """The events of a JSONL text (EventFileError naming each bad line and field)."""
    out: list[EventLine] = []
    issues: list[Issue] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        try:
            data = parse_json(s)
        except InvalidInput as exc:
            issues.extend(Issue(loc=[f"line {n}"], msg=f"not JSON: {i.msg}", type=i.type) for i in exc.issues)
            continue
        if not isinstance(data, dict):
            issues.append(Issue(loc=[f"line {n}"], msg="an event is a JSON object", type="type_error"))
            continue
        try:
            out.append(EventLine(n, EVENT.validate_python(data)))
        except ValidationError as exc:
            for i in issues_from_pydantic(exc):
                loc = [str(x) for x in i.loc]
                if len(loc) > 1 and loc[0] in {t for t in _EVENT_TYPES}:
                    loc = loc[1:]  # the discriminator's tag is the line's own type
                issues.append(Issue(loc=[f"line {n}", *loc], msg=i.msg, type=i.type))
    if issues:
        raise EventFileError(issues)
    return out


_EVENT_TYPES = {"clock", "eta", "actual_arrival", "actual_berthing", "actual_departure", "handling_update",
                "cargo_ready", "call_added", "call_cancelled", "closure", "closure_lifted", "maintenance"}


def read_event_file(path: str | Path, max_bytes: int | None = None) -> list[EventLine]:
    try:
        text = decode_text(read_bytes(path, max_bytes))
    except InvalidInput as exc:
        raise EventFileError(exc.issues) from None
    return parse_event_lines(text)


def dump_event_lines(events: Sequence[Event], header: Sequence[str] = ()) -> str:
    lines = [f"# {h}" if h else "#" for h in header]
    lines += [json.dumps(EVENT.dump_python(e, mode="json", exclude_none=True), ensure_ascii=False)
              for e in events]
    return "\n".join(lines) + "\n"


class ReplayRefused(Exception):
    """The live plan refused a line's batch (the stream does not fit the facts)."""

    def __init__(self, line: int, event_id: str, reasons: list[str]):
        self.line, self.event_id, self.reasons = line, event_id, reasons
        super().__init__(f"line {line} ({event_id}): " + "; ".join(reasons))


@dataclass
class Step:
    """One version of a replay: the line (0: simulated clock after the stream) and its figures."""

    line: int
    label: str
    version: int
    replan_s: float
    berth_changes: int
    shifted: int
    shift_minutes: float
    rta_moved: int
    dwell_so_far_h: float
    planned_dwell_h: float
    waiting_so_far_h: float
    actuals: int
    check_ok: bool
    check_summary: str
    forced: int = 0  # changes the repair had to make (optimizer.live.causes)
    chosen: int = 0  # changes the search chose


@dataclass
class ReplayRun:
    live: LivePlan
    steps: list[Step] = field(default_factory=list)
    failed_checks: list[tuple[int, str]] = field(default_factory=list)  # version number, summary

    @property
    def event_steps(self) -> list[Step]:
        return [s for s in self.steps if s.line > 0]

    def version_after_line(self, k: int) -> Version:
        """The version after the k-th event line (1-based; 0: version 1)."""
        if k <= 0:
            return self.live.versions[0]
        steps = self.event_steps
        return self.live.version(steps[min(k, len(steps)) - 1].version)


def realized(state: LiveState) -> list[CallAssignment]:
    """What really happened: the departed calls at their actual times."""
    out = []
    for cid, a in state.actuals.items():
        if a.departure is not None and a.berthing is not None and a.berth_id is not None:
            out.append(CallAssignment(call_id=cid, berth_id=a.berth_id, arrival=a.arrival or a.berthing,
                                      berth_start=a.berthing, berth_end=a.departure))
    return sorted(out, key=lambda x: (x.berth_start, x.call_id))


def realized_kpis(state: LiveState) -> Kpis:
    return compute_kpis(final_facts_problem(state), realized(state))


def _hours(total_minutes: float) -> float:
    return total_minutes / 60.0


def _step(run: ReplayRun, line: int, label: str, v: Version) -> Step:
    state = run.live.state
    done = realized(state)
    dwell = sum(minutes(a.berth_end - a.arrival) for a in done)
    waiting = sum((minutes(a.berth_start - a.arrival) for a in done), 0.0)
    planned = sum(minutes(a.berth_end - a.arrival) for a in v.timeline())
    shifted = [c for c in v.changes
               if c.start_shift_minutes is not None and abs(c.start_shift_minutes) > SHIFT_MINUTES]
    s = v.stability
    report = check(v.problem, v.plan, run.live.settings.weights)
    if not report.ok:
        run.failed_checks.append((v.number, summary(report)))
    return Step(line=line, label=label, version=v.number, replan_s=v.replan_s,
                berth_changes=s.berth_changes if s else 0, shifted=len(shifted),
                shift_minutes=s.total_start_shift_minutes if s else 0.0, rta_moved=s.rta_moved if s else 0,
                dwell_so_far_h=_hours(dwell), planned_dwell_h=_hours(planned),
                waiting_so_far_h=_hours(waiting),
                actuals=0, check_ok=report.ok, check_summary=summary(report),
                forced=v.moves.forced if v.moves else 0, chosen=v.moves.chosen if v.moves else 0)


def _submit(run: ReplayRun, line: int, label: str, batch: list[Event], actual_count: int) -> Step | None:
    live = run.live
    try:
        live.submit(batch)
    except EventsRefused as exc:
        reasons = []
        for i in exc.issues:
            idx = i.loc[1] if len(i.loc) > 1 and isinstance(i.loc[1], int) else None
            who = batch[idx].event_id if idx is not None and idx < len(batch) else "?"
            reasons.append(f"{who}: {'.'.join(str(x) for x in i.loc[2:]) or '(event)'}: {i.msg}")
        raise ReplayRefused(line, label, reasons) from None
    except EventConflict as exc:
        raise ReplayRefused(line, label, [str(exc)]) from None
    v = live.replan()
    if v is None:
        return None
    st = _step(run, line, label, v)
    st.actuals = actual_count
    run.steps.append(st)
    return st


def run_replay(problem: Problem, lines: Sequence[EventLine], settings: ReplanSettings,
               delay: BerthingDelay | None = None, make: Callable[..., LivePlan] = LivePlan.create,
               on_step: Callable[[Step], Any] | None = None, drain: bool = True) -> ReplayRun:
    """Version 1, one version a line, then the clock run on until every call has departed."""
    run = ReplayRun(live=make(problem, settings))
    first = run.live.current
    report = check(first.problem, first.plan, settings.weights)
    if not report.ok:
        run.failed_checks.append((1, summary(report)))
    for el in lines:
        e = el.event
        batch: list[Event] = []
        if isinstance(e, Clock):
            batch = actuals_due(run.live.state, run.live.current, e.now, delay)
        st = _submit(run, el.line, f"{e.event_id} ({e.type.value})", [*batch, e], len(batch))
        if st is not None and on_step is not None:
            on_step(st)
    if drain:
        for k in range(DRAIN_ROUNDS):
            state = run.live.state
            if all_departed(state):
                break
            ends = [c.berth_end for c in run.live.current.plan.calls]
            until = max([*ends, state.now]) + timedelta(hours=2)
            batch = actuals_due(state, run.live.current, until, delay)
            clock = Clock(event_id=f"sim-clock-end-{k + 1}", now=until, source="simulator")
            st = _submit(run, 0, f"{clock.event_id} (clock)", [*batch, clock], len(batch))
            if st is not None and on_step is not None:
                on_step(st)
    return run


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def timing(run: ReplayRun) -> dict[str, float]:
    """p50 / p95 / max of event -> version (the event lines' replans), and mean changes."""
    xs = [s.replan_s for s in run.event_steps]
    return {"events": float(len(xs)), "p50_s": percentile(xs, 0.5), "p95_s": percentile(xs, 0.95),
            "max_s": max(xs, default=0.0),
            "mean_berth_changes": statistics.fmean([s.berth_changes for s in run.event_steps] or [0]),
            "mean_shifted": statistics.fmean([s.shifted for s in run.event_steps] or [0])}


def now_of(run: ReplayRun) -> datetime:
    return run.live.state.now
