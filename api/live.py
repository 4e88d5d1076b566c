"""Live plans in the service: their store, the events they accept and the replanner that turns
waiting events into versions.

Every accepted event is stored before the answer (202) and applied exactly once: the replanner
takes a live plan's waiting events as one batch, plans the next version in a solver process, and
stores the version, the facts after it and the events' version number in one transaction that
holds only while the plan is still at the version it started from. A crash or a SIGKILL at any
moment leaves the events waiting; the replanner of the next start plans them. Events that arrive
within `live_batch_window_s` of the first waiting one go into the same version.

Nothing here solves in the API process: the replans run in a process pool of one process (its
CP-SAT uses one worker, so a replay of the event log gives the same versions).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from api.db import Database
from api.db.models import LiveEventRow, LivePlanRow, LivePlanStatus, LiveVersionRow, utcnow
from api.jit import CallRef, JitStore
from api.jit import EventsRefused as JitEventsRefused
from api.jit.publish import publish_requests
from api.jobs import init_solver_process
from api.webhooks import CallMoved, CallUnservable, EventKind, VersionCreated, WebhookService
from optimizer.domain import Problem
from optimizer.live.events import EVENT, Event
from optimizer.live.replan import ReplanSettings, Version, first_version, replan
from optimizer.live.state import (
    EventConflict,
    EventsRefused,
    LiveState,
    apply_events,
    event_digest,
    new_events,
)

log = logging.getLogger("portsync.api.live")

EVENT_LIST = TypeAdapter(list[Event])


@dataclass
class Accepted:
    version: int  # the version that will include the events
    accepted: list[str]
    duplicates: list[str]


def _pending(s: Session, plan_id: str) -> list[LiveEventRow]:
    return list(
        s.scalars(
            select(LiveEventRow)
            .where(LiveEventRow.live_plan_id == plan_id, LiveEventRow.version.is_(None))
            .order_by(LiveEventRow.seq)
        )
    )


def _events(rows: Sequence[LiveEventRow]) -> list[Event]:
    return [EVENT.validate_json(r.body) for r in rows]


class LiveStore:
    """Reads and writes of live plans, their events and versions."""

    def __init__(self, db: Database):
        self.db = db
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.inflight: set[str] = set()  # live plans a replan is running for (in this process)

    def lock(self, plan_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(plan_id, threading.Lock())

    def create(
        self, owner: str, problem: Problem, settings: ReplanSettings, frozen_window_minutes: float
    ) -> str:
        plan_id = str(uuid.uuid4())
        state = LiveState.start(problem, None, frozen_window_minutes)
        with self.db.session() as s:
            s.add(
                LivePlanRow(
                    id=plan_id,
                    owner=owner,
                    name=problem.name,
                    calls=len(problem.calls),
                    settings=settings.model_dump_json(),
                    state=state.model_dump_json(),
                    status=LivePlanStatus.PLANNING.value,
                    version=0,
                )
            )
        return plan_id

    def get(self, plan_id: str, owner: str | None = None) -> LivePlanRow | None:
        with self.db.session() as s:
            row = s.scalar(select(LivePlanRow).where(LivePlanRow.id == plan_id))
            if row is None or (owner is not None and row.owner != owner):
                return None
            s.expunge(row)
            return row

    def exists(self, plan_id: str) -> bool:
        return self.get(plan_id) is not None

    def list_plans(self, owner: str, limit: int = 50) -> list[LivePlanRow]:
        with self.db.session() as s:
            rows = list(
                s.scalars(
                    select(LivePlanRow)
                    .where(LivePlanRow.owner == owner)
                    .order_by(LivePlanRow.seq.desc())
                    .limit(limit)
                )
            )
            for r in rows:
                s.expunge(r)
            return rows

    def version(self, plan_id: str, number: int) -> str | None:
        with self.db.session() as s:
            return s.scalar(
                select(LiveVersionRow.body).where(
                    LiveVersionRow.live_plan_id == plan_id, LiveVersionRow.number == number
                )
            )

    def versions_after(self, plan_id: str, number: int) -> list[tuple[int, str]]:
        with self.db.session() as s:
            return [
                (n, b)
                for n, b in s.execute(
                    select(LiveVersionRow.number, LiveVersionRow.body)
                    .where(LiveVersionRow.live_plan_id == plan_id, LiveVersionRow.number > number)
                    .order_by(LiveVersionRow.number)
                )
            ]

    def pending_count(self, plan_id: str, version: int) -> int:
        """Events not applied by `version`: waiting ones, and any a later version applied since the
        caller read `version` (so that a reader never sees an old version with nothing waiting)."""
        with self.db.session() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(LiveEventRow)
                    .where(
                        LiveEventRow.live_plan_id == plan_id,
                        or_(LiveEventRow.version.is_(None), LiveEventRow.version > version),
                    )
                )
                or 0
            )

    def event_log(self, plan_id: str) -> list[LiveEventRow]:
        with self.db.session() as s:
            rows = list(
                s.scalars(
                    select(LiveEventRow)
                    .where(LiveEventRow.live_plan_id == plan_id)
                    .order_by(LiveEventRow.seq)
                )
            )
            for r in rows:
                s.expunge(r)
            return rows

    def accept(self, plan_id: str, events: Sequence[Event]) -> Accepted:
        """Check a batch against the facts with every waiting event applied and store the new ones
        (EventsRefused / EventConflict: nothing stored)."""
        with self.lock(plan_id), self.db.session() as s:
            row = s.scalar(select(LivePlanRow).where(LivePlanRow.id == plan_id))
            assert row is not None
            state = LiveState.model_validate_json(row.state)
            waiting = _pending(s, plan_id)
            if waiting:
                state = apply_events(state, _events(waiting)).state
            fresh = new_events(state, events)
            if fresh:
                apply_events(state, fresh)
            for e in fresh:
                s.add(
                    LiveEventRow(
                        live_plan_id=plan_id,
                        event_id=e.event_id,
                        type=e.type.value,
                        digest=event_digest(e),
                        body=EVENT.dump_json(e, exclude_none=True).decode(),
                    )
                )
            fresh_ids = {e.event_id for e in fresh}
            # version 1 applies no event; a replan under way applies only the events it started with
            nxt = 2 if row.version == 0 else row.version + (2 if plan_id in self.inflight else 1)
            return Accepted(
                version=nxt,
                accepted=[e.event_id for e in fresh],
                duplicates=[e.event_id for e in events if e.event_id not in fresh_ids],
            )

    def work(self, batch_window_s: float) -> list[str]:
        """Live plans with work due: version 1 to make, or events waiting longer than the window."""
        due = datetime.now(UTC) - timedelta(seconds=batch_window_s)
        with self.db.session() as s:
            planning = list(
                s.scalars(select(LivePlanRow.id).where(LivePlanRow.status == LivePlanStatus.PLANNING.value))
            )
            waiting = list(
                s.scalars(
                    select(LiveEventRow.live_plan_id)
                    .join(LivePlanRow, LivePlanRow.id == LiveEventRow.live_plan_id)
                    .where(LiveEventRow.version.is_(None), LivePlanRow.status == LivePlanStatus.LIVE.value)
                    .group_by(LiveEventRow.live_plan_id)
                    .having(func.min(LiveEventRow.accepted_at) <= due)
                )
            )
        return [*planning, *waiting]

    def load(self, plan_id: str) -> tuple[LivePlanRow, str | None, list[LiveEventRow]]:
        """The plan, its current version and its waiting events; marks a replan under way (the
        caller ends it with `done`)."""
        with self.lock(plan_id), self.db.session() as s:
            self.inflight.add(plan_id)
            row = s.scalar(select(LivePlanRow).where(LivePlanRow.id == plan_id))
            assert row is not None
            last = s.scalar(
                select(LiveVersionRow.body).where(
                    LiveVersionRow.live_plan_id == plan_id, LiveVersionRow.number == row.version
                )
            )
            waiting = _pending(s, plan_id)
            for r in (row, *waiting):
                s.expunge(r)
            return row, last, waiting

    def store(
        self,
        plan_id: str,
        expected: int,
        state_json: str,
        version: Version,
        event_seqs: Sequence[int],
        hooks: WebhookService | None,
        previous: Version | None,
    ) -> bool:
        """The version, the facts after it and its events, at once; False when the plan is no
        longer at `expected` (another replan stored it first: nothing is written)."""
        with self.lock(plan_id), self.db.session() as s:
            moved = s.execute(
                update(LivePlanRow)
                .where(LivePlanRow.id == plan_id, LivePlanRow.version == expected)
                .values(
                    version=version.number,
                    state=state_json,
                    status=LivePlanStatus.LIVE.value,
                    updated_at=utcnow(),
                )
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return False
            s.add(
                LiveVersionRow(
                    live_plan_id=plan_id,
                    number=version.number,
                    now=version.now,
                    body=version.model_dump_json(),
                )
            )
            if event_seqs:
                s.execute(
                    update(LiveEventRow)
                    .where(LiveEventRow.seq.in_(list(event_seqs)))
                    .values(version=version.number)
                )
            if hooks is not None:
                _notify(hooks, s, plan_id, version, previous)
            self.inflight.discard(plan_id)  # under the lock: an accept after it sees the new version
            return True

    def done(self, plan_id: str) -> None:
        with self.lock(plan_id):
            self.inflight.discard(plan_id)

    def fail(self, plan_id: str, error: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(LivePlanRow)
                .where(LivePlanRow.id == plan_id)
                .values(status=LivePlanStatus.FAILED.value, error=error, updated_at=utcnow())
            )


def _notify(hooks: WebhookService, s: Session, plan_id: str, v: Version, previous: Version | None) -> None:
    """The version's webhook deliveries, in the same transaction as the version (an outbox)."""
    link = f"/v1/live-plans/{plan_id}/versions/{v.number}"
    if v.stability is not None:
        hooks.enqueue(
            plan_id,
            EventKind.VERSION_CREATED,
            VersionCreated(version=v.number, now=v.now, stability=v.stability, link=link),
            session=s,
        )
    for ch in v.changes:
        if ch.berth_before is not None and ch.berth_after is not None:
            hooks.enqueue(
                plan_id,
                EventKind.CALL_MOVED,
                CallMoved(
                    call_id=ch.call_id,
                    version=v.number,
                    berth_before=ch.berth_before,
                    berth_after=ch.berth_after,
                    shift_minutes=ch.start_shift_minutes,
                    new_rta=ch.arrival_after,
                ),
                session=s,
            )
    before = {u.call_id for u in previous.plan.unserved} if previous is not None else set()
    for u in v.plan.unserved:
        if u.call_id not in before:
            hooks.enqueue(
                plan_id,
                EventKind.CALL_UNSERVABLE,
                CallUnservable(call_id=u.call_id, version=v.number, reasons=u.reasons),
                session=s,
            )


# -- the solver process's side ----------------------------------------------------------------------


def plan_version(
    settings_json: str, state_json: str, last_json: str | None, events_json: str
) -> tuple[str, str]:
    """In the solver process: version 1 (no last version) or the next one; JSON in and out."""
    settings = ReplanSettings.model_validate_json(settings_json)
    state = LiveState.model_validate_json(state_json)
    if last_json is None:
        new_state, version = first_version(state.problem, settings, state.now, state.frozen_window_minutes)
    else:
        last = Version.model_validate_json(last_json)
        new_state, version = replan(state, last, EVENT_LIST.validate_json(events_json), settings)
    return new_state.model_dump_json(), version.model_dump_json()


def _warm() -> None:
    import optimizer.live.replan  # noqa: F401  (imports done before the first replan)


class Replanner:
    """The thread that makes versions, and the solver process it hands them to."""

    def __init__(
        self,
        store: LiveStore,
        hooks: WebhookService | None,
        batch_window_s: float = 0.5,
        poll_s: float = 0.2,
        jit: JitStore | None = None,
        log_level: str = "info",
        nice: int = 0,
    ):
        self.log_level, self.nice = log_level, nice
        self.store = store
        self.hooks = hooks
        self.jit = jit
        self.batch_window_s = batch_window_s
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.busy_with: str | None = None

    def start(self) -> None:
        self._stop.clear()
        self._pool = self._new_pool()
        self._thread = threading.Thread(target=self._loop, name="portsync-replanner", daemon=True)
        self._thread.start()

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        """One solver process, niced like the job solvers and ended with the server (even a SIGKILL)."""
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_solver_process,
            initargs=(os.getpid(), self.log_level, self.nice),
        )
        pool.submit(_warm)
        return pool

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._pool is not None:
            for p in list(getattr(self._pool, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    p.kill()
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = self._pool = None

    def wake(self) -> None:
        self._wake.set()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                for plan_id in self.store.work(self.batch_window_s):
                    if self._stop.is_set():
                        return
                    self.run(plan_id)
            except Exception:
                if not self._stop.is_set():
                    log.exception("replanner error; retrying")
                    time.sleep(0.5)

    def run(self, plan_id: str) -> None:
        try:
            self._run(plan_id)
        finally:
            self.store.done(plan_id)

    def _run(self, plan_id: str) -> None:
        row, last_json, waiting = self.store.load(plan_id)
        if last_json is None and row.version != 0:
            return
        if last_json is not None and not waiting:
            return
        events_json = json.dumps([json.loads(r.body) for r in waiting])
        assert self._pool is not None
        self.busy_with = plan_id
        try:
            future = self._pool.submit(plan_version, row.settings, row.state, last_json, events_json)
            state_json, version_json = future.result()
        except concurrent.futures.process.BrokenProcessPool:
            if self._stop.is_set():
                return
            log.error("the replan process of live plan %s died; starting a new one", plan_id)
            self._pool = self._new_pool()
            return
        except Exception as exc:
            log.exception("live plan %s: replan failed", plan_id)
            if last_json is None:
                self.store.fail(plan_id, f"version 1 could not be made: {exc}")
            return
        finally:
            self.busy_with = None
        version = Version.model_validate_json(version_json)
        previous = Version.model_validate_json(last_json) if last_json is not None else None
        if self.store.store(
            plan_id, row.version, state_json, version, [r.seq for r in waiting], self.hooks, previous
        ):
            log.info(
                "live plan %s: version %d (%d events, %.2f s)",
                plan_id,
                version.number,
                len(waiting),
                version.replan_s,
            )
            if self.jit is not None:
                self.publish(plan_id, version)

    def publish(self, plan_id: str, version: Version) -> None:
        """REQ timestamps for the version's changed RTAs (after the version is stored: a failure
        here is logged, the version stands)."""
        assert self.jit is not None
        try:
            publish_requests(
                self.jit, call_refs(plan_id, version.problem), plan_id, requested_arrivals(version)
            )
        except Exception:
            log.exception(
                "live plan %s: REQ timestamps of version %d could not be published", plan_id, version.number
            )


# -- DCSA JIT: the live plans as the JIT module's gateway, and REQs for every changed RTA -----------


class LiveGateway:
    """api.jit.LivePlanGateway over the live plans: a Terminal Call names its call by
    `terminalCallReference` = the call id; without it, by port + vessel IMO/MMSI, the call nearest
    in time. Events from carriers go through the same checks as POSTed ones."""

    def __init__(self, store: LiveStore, replanner: Replanner | None = None):
        self.store = store
        self.replanner = replanner

    def _plans(self) -> list[tuple[str, LiveState]]:
        with self.store.db.session() as s:
            rows = s.execute(
                select(LivePlanRow.id, LivePlanRow.state)
                .where(LivePlanRow.status != LivePlanStatus.FAILED.value)
                .order_by(LivePlanRow.seq.desc())
            )
            return [(pid, LiveState.model_validate_json(st)) for pid, st in rows]

    def find_call(
        self,
        *,
        terminal_call_reference: str | None,
        un_location_code: str | None,
        imo: str | None,
        mmsi: str | None,
        near: datetime | None,
    ) -> CallRef | None:
        best: tuple[float, CallRef] | None = None
        for plan_id, state in self._plans():
            p = state.problem
            refs = call_refs(plan_id, p)
            for c in p.calls:
                ref = refs[c.id]
                if terminal_call_reference is not None:
                    if c.id == terminal_call_reference:
                        return ref
                    continue
                if c.port_id != un_location_code or not (
                    (imo and ref.vessel_imo == imo) or (mmsi and ref.vessel_mmsi == mmsi)
                ):
                    continue
                voyage, _ = p.voyage_order()[c.id]
                when = state.reported_etas.get(c.id) or voyage.eta
                gap = abs((when - (near or state.now)).total_seconds())
                if best is None or gap < best[0]:
                    best = (gap, ref)
        return best[1] if best is not None else None

    def post_events(self, live_plan_id: str, events: list[dict[str, Any]]) -> None:
        try:
            parsed = EVENT_LIST.validate_python(events)
            self.store.accept(live_plan_id, parsed)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise JitEventsRefused(err["msg"], ".".join(str(x) for x in err["loc"])) from None
        except EventsRefused as exc:
            issue = exc.issues[0]
            raise JitEventsRefused(issue.msg, ".".join(str(x) for x in issue.loc[2:]) or None) from None
        except EventConflict as exc:
            raise JitEventsRefused(str(exc), "event_id") from None
        if self.replanner is not None:
            self.replanner.wake()


def call_refs(plan_id: str, problem: Problem) -> dict[str, CallRef]:
    """What a Port Call needs to name each call of a problem (port, time zone, vessel ids)."""
    vessels = problem.vessel_map()
    zones = {p.id: p.timezone for p in problem.ports}
    return {
        c.id: CallRef(
            live_plan_id=plan_id,
            call_id=c.id,
            port_id=c.port_id,
            timezone=zones[c.port_id],
            vessel_imo=vessels[c.vessel_id].imo,
            vessel_mmsi=vessels[c.vessel_id].mmsi,
            vessel_name=vessels[c.vessel_id].name or None,
        )
        for c in problem.calls
    }


def requested_arrivals(version: Version) -> list[tuple[str, datetime, str]]:
    """(call, RTA, port time zone) of every call whose requested arrival this version changed (all
    calls for version 1): what the JIT module answers carriers with, as REQ timestamps."""
    ports = {p.id: p.timezone for p in version.problem.ports}
    calls = version.problem.call_map()
    planned = version.plan.by_call()
    if version.number == 1:
        ids = list(planned)
    else:
        ids = [
            ch.call_id
            for ch in version.changes
            if ch.call_id in planned and (ch.berth_before is None or (ch.rta_shift_minutes or 0) != 0)
        ]
    return [
        (cid, planned[cid].arrival, ports[calls[cid].port_id])
        for cid in ids
        if calls[cid].frozen is None or version.number == 1
    ]
