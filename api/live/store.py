"""Live plans in the service: their store and the events they accept (api.live.replanner turns waiting
events into versions; api.live.jit_gateway speaks DCSA JIT for them).

Every accepted event is stored before the answer (202) and applied exactly once: the replanner
takes a live plan's waiting events as one batch, plans the next version in a solver process, and
stores the version, the facts after it and the events' version number in one transaction that
holds only while the plan is still at the version it started from. A crash or a SIGKILL at any
moment leaves the events waiting; the replanner of the next start plans them. Events that arrive
within `live_batch_window_s` of the first waiting one go into the same version.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from api.db import Database
from api.db.models import LiveEventRow, LivePlanRow, LivePlanStatus, LiveVersionRow, utcnow
from api.live.webhooks import CallMoved, CallUnservable, EventKind, VersionCreated, WebhookService
from optimizer.domain import Problem
from optimizer.live.events import EVENT, Event
from optimizer.live.replan import ReplanSettings, Version
from optimizer.live.state import (
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


def _read(s: Session, plan_id: str) -> tuple[LivePlanRow, str | None, list[LiveEventRow]]:
    """The plan, its current version's body and its waiting events, detached from `s`."""
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
            # the row locked (PostgreSQL): a fleet worker's claim either precedes this accept (its
            # replan does not take these events) or follows it (it does), never half of each
            row = s.scalar(select(LivePlanRow).where(LivePlanRow.id == plan_id).with_for_update())
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
            # version 1 applies no event; a replan under way (in this process, or a worker's lease on
            # a fleet) applies only the events it started with
            busy = self.replanning(row)
            nxt = 2 if row.version == 0 else row.version + (2 if busy else 1)
            return Accepted(
                version=nxt,
                accepted=[e.event_id for e in fresh],
                duplicates=[e.event_id for e in events if e.event_id not in fresh_ids],
            )

    def replanning(self, row: LivePlanRow) -> bool:
        """A replan of the plan is under way: in this process, or on a worker holding its lease
        that has not stored its version yet (one storing the version's REQ timestamps has)."""
        return row.id in self.inflight or (
            _leased(row, utcnow()) and not (row.lease_owner or "").endswith(VERSION_STORED))

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
            return _read(s, plan_id)

    def store(
        self,
        plan_id: str,
        expected: int,
        state_json: str,
        version: Version,
        event_seqs: Sequence[int],
        hooks: WebhookService | None,
        previous: Version | None,
        lease_owner: str | None = None,
    ) -> bool:
        """The version, the facts after it and its events, at once; False when the plan is no
        longer at `expected` (another replan stored it first: nothing is written). On a fleet
        (`lease_owner`) only the holder of the plan's lease writes; it keeps the lease until the
        version's REQ timestamps are stored too (api.live.fleet.replan_once releases it), so that
        two workers never publish one plan's REQs at once: version n's are stored before version
        n+1's, which reply to them. An event accepted meanwhile is the next replan's."""
        fence = [LivePlanRow.lease_owner == lease_owner] if lease_owner is not None else []
        kept = dict(lease_owner=lease_owner + VERSION_STORED) if lease_owner is not None else {}
        with self.lock(plan_id), self.db.session() as s:
            moved = s.execute(
                update(LivePlanRow)
                .where(LivePlanRow.id == plan_id, LivePlanRow.version == expected, *fence)
                .values(
                    version=version.number,
                    state=state_json,
                    status=LivePlanStatus.LIVE.value,
                    updated_at=utcnow(),
                    **kept,
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

    # -- on a worker fleet (api.live.fleet): one replan of a plan at a time, through its lease ----

    def claim(
        self, plan_id: str, owner: str, lease_s: float
    ) -> tuple[LivePlanRow, str | None, list[LiveEventRow]] | None:
        """Take the plan's lease for `owner` (free, or run out) and, in the same transaction, read
        what `load` reads; None when another replan holds it or the plan has failed."""
        now = utcnow()
        with self.db.session() as s:
            took = s.execute(
                update(LivePlanRow)
                .where(
                    LivePlanRow.id == plan_id,
                    LivePlanRow.status.in_([LivePlanStatus.PLANNING.value, LivePlanStatus.LIVE.value]),
                    _free(now),
                )
                .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s),
                        published_at=None)
            )
            if took.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return _read(s, plan_id)

    def extend(self, plan_id: str, owner: str, lease_s: float) -> bool:
        """The heartbeat of a replan: its lease pushed `lease_s` ahead; False once `owner` lost it."""
        with self.db.session() as s:
            res = s.execute(
                update(LivePlanRow)
                .where(LivePlanRow.id == plan_id, _held_by(owner))
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
            )
            return res.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    def release(self, plan_id: str, owner: str) -> bool:
        """Give the lease up (a no-op when the version write released it or another holds it)."""
        with self.lock(plan_id), self.db.session() as s:
            res = s.execute(
                update(LivePlanRow)
                .where(LivePlanRow.id == plan_id, _held_by(owner))
                .values(lease_owner=None, lease_expires_at=None)
            )
            return res.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    def waiting(self, plan_id: str) -> bool:
        """Whether the plan has work no replan holds: version 1 to make or events waiting."""
        with self.db.session() as s:
            row = s.scalar(select(LivePlanRow).where(LivePlanRow.id == plan_id))
            if row is None or _leased(row, utcnow()):
                return False
            if row.status == LivePlanStatus.PLANNING.value:
                return True
            return row.status == LivePlanStatus.LIVE.value and bool(
                s.scalar(select(func.count()).select_from(LiveEventRow).where(
                    LiveEventRow.live_plan_id == plan_id, LiveEventRow.version.is_(None)))
            )

    def mark_published(self, plan_id: str, republish_after_s: float) -> bool:
        """Whether to send the plan's message now: True once per free lease (marked published),
        again only after `republish_after_s` without a claim (a lost message). Two callers racing
        (the API's loop, a worker's recheck, a reconciler) send it once."""
        now = utcnow()
        with self.db.session() as s:
            res = s.execute(
                update(LivePlanRow)
                .where(
                    LivePlanRow.id == plan_id,
                    _free(now),
                    or_(LivePlanRow.published_at.is_(None),
                        LivePlanRow.published_at < now - timedelta(seconds=republish_after_s)),
                )
                .values(published_at=now)
            )
            return res.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    def unmark_published(self, plan_id: str) -> None:
        """The message could not be sent (broker away): the next pass tries again."""
        with self.db.session() as s:
            s.execute(update(LivePlanRow).where(LivePlanRow.id == plan_id).values(published_at=None))

    def leases(self) -> list[tuple[str, str, datetime | None, str]]:
        """Live plans a worker replans now: (lease owner, plan id, lease expiry, plan owner)."""
        with self.db.session() as s:
            rows = s.execute(
                select(LivePlanRow.lease_owner, LivePlanRow.id, LivePlanRow.lease_expires_at,
                       LivePlanRow.owner)
                .where(LivePlanRow.lease_owner.is_not(None))
                .order_by(LivePlanRow.lease_owner)
            ).all()
        return [(str(r[0]).removesuffix(VERSION_STORED), str(r[1]), r[2], str(r[3])) for r in rows]


#: Appended to a lease's owner by its version write: the replan has stored its version and is
#: storing the version's REQ timestamps; it still holds the plan (no other replan claims it), but
#: an event accepted now is the next version's, not the one after.
VERSION_STORED = " (version stored)"


def _held_by(owner: str) -> Any:
    """The plan's lease is `owner`'s (before or after its version write)."""
    return LivePlanRow.lease_owner.in_([owner, owner + VERSION_STORED])


def _leased(row: LivePlanRow, now: datetime) -> bool:
    """A replan on a worker holds the plan (its lease has not run out)."""
    return row.lease_owner is not None and row.lease_expires_at is not None and row.lease_expires_at > now


def _free(now: datetime) -> ColumnElement[bool]:
    """No replan holds the plan: no lease, or one that ran out (its worker died or hung)."""
    return or_(LivePlanRow.lease_owner.is_(None), LivePlanRow.lease_expires_at.is_(None),
               LivePlanRow.lease_expires_at < now)


def _notify(hooks: WebhookService, s: Session, plan_id: str, v: Version, previous: Version | None) -> None:
    """The version's webhook deliveries, in the same transaction as the version (an outbox)."""
    link = f"/v1/live-plans/{plan_id}/versions/{v.number}"
    if v.stability is not None:
        hooks.enqueue(
            plan_id,
            EventKind.VERSION_CREATED,
            VersionCreated(version=v.number, now=v.now, stability=v.stability, link=link, moves=v.moves,
                           reconciliations=v.reconciliations),
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
                    cause=ch.cause,
                    forced=ch.forced,
                    reason=ch.reason,
                    cause_event_ids=ch.cause_event_ids,
                    cause_call_id=ch.cause_call_id,
                ),
                session=s,
            )
    before = {u.call_id for u in previous.plan.unserved} if previous is not None else set()
    for u in v.plan.unserved:
        if u.call_id not in before:
            hooks.enqueue(
                plan_id,
                EventKind.CALL_UNSERVABLE,
                CallUnservable(call_id=u.call_id, version=v.number, kind=u.kind, rule=u.rule,
                               reasons=u.reasons),
                session=s,
            )
