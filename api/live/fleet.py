"""Live plans on a worker fleet: each replan runs on a `portsync worker`, one at a time per live
plan through a lease on the plan, different plans in parallel on different workers.

Chosen with the job fleet (`PORTSYNC_BROKER_URL`, api.jobs.fleet); without a broker the API's own
replanner (api.live.replanner) makes every version, and nothing here is used.

How a replan travels:

1. The API's `FleetReplanner` keeps the embedded replanner's loop (`LiveStore.work`: version 1 to
   make, or events waiting longer than `PORTSYNC_LIVE_BATCH_WINDOW_S`) but, instead of solving,
   *marks* the plan published (a guarded update: only while no lease holds the plan and no message
   for it waits unclaimed) and sends `portsync.replan(plan_id)` to the queue `portsync.live`.
2. A worker process **claims** the plan: a guarded update taking the lease when it is free or has
   run out, which reads the plan, its current version and its waiting events in the same
   transaction (an event accepted before the claim is in this replan, one accepted after it in the
   next: `LiveStore.accept` locks the same row). A message for a plan another replan holds
   changes nothing.
3. The worker makes the version in its own process (`plan_version`) while a heartbeat thread
   extends the lease; the version write is the one transaction it is with the embedded
   replanner, refused unless the plan is still at the version the replan started from and this
   worker still holds the lease. The worker then stores the version's DCSA JIT REQ timestamps
   and only then releases the lease: a next replan on another worker, publishing its own REQs
   while these were being stored, deriving the same JIT records, lost its REQs to a unique
   violation (and would have replied to the wrong timestamps).
4. **Then** the worker looks again for waiting events (or version 1 still to make) and, if there
   are any, publishes the plan again. Releasing before looking closes the lost wakeup: an event
   accepted while the lease was held is seen by this look; one accepted after the release finds
   the lease free, and the API's loop publishes it.
5. A worker killed mid-replan leaves the lease to run out (`PORTSYNC_LEASE_S`); the events stay
   waiting (nothing was written), the API's loop and every worker's reconciler publish the plan
   again, and another worker replans it. A frozen worker that wakes up after that writes nothing:
   its version write finds another holder, or a newer version.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from api.jit import JitStore
from api.jobs.fleet import REPLAN, Publisher, celery_app, lease_owner, worker_state
from api.live.replanner import Replanner, plan_version
from api.live.store import LiveStore
from api.live.webhooks import WebhookService
from api.logs import live_plan_id_var

log = logging.getLogger("portsync.api.live")


class LivePublisher(Protocol):
    """Sends a live plan's "replan" message (api.jobs.fleet.Publisher on a broker)."""

    def publish_live(self, plan_id: str) -> bool:
        """True once the broker has the message."""
        ...


def publish_due(store: LiveStore, publish: LivePublisher, batch_window_s: float,
                republish_after_s: float) -> int:
    """Send a message for each live plan with work due that no replan holds and no unclaimed
    message waits for (or one older than `republish_after_s`); how many were sent."""
    sent = 0
    for plan_id in store.work(batch_window_s):
        if _send(store, publish, plan_id, republish_after_s):
            sent += 1
    return sent


def _send(store: LiveStore, publish: LivePublisher, plan_id: str, republish_after_s: float) -> bool:
    """Mark the plan published and send its message; False when another publisher did already
    (or a replan holds it), or when the broker refused it (the mark undone: tried again at the
    next pass rather than after `republish_after_s`)."""
    if not store.mark_published(plan_id, republish_after_s):
        return False
    if publish.publish_live(plan_id):
        return True
    store.unmark_published(plan_id)
    return False


class FleetReplanner(Replanner):
    """The API's replanner on a fleet: the same loop, but each due plan is published to the
    workers rather than solved here (no solver process in the API)."""

    def __init__(self, store: LiveStore, publish: LivePublisher, batch_window_s: float,
                 republish_after_s: float, poll_s: float = 0.2):
        super().__init__(store, None, batch_window_s=batch_window_s, poll_s=poll_s)
        self.publish_to = publish
        self.republish_after_s = republish_after_s

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="portsync-live-publisher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                publish_due(self.store, self.publish_to, self.batch_window_s, self.republish_after_s)
            except Exception as exc:  # the store is away: try again at the next pass
                if not self._stop.is_set():
                    log.warning("live publisher: %s: %s", type(exc).__name__, exc)
                    time.sleep(0.5)


class WorkerReplanner(Replanner):
    """A replan in a worker process: plan_version runs right here (the worker process is the
    solver process), the version's webhooks and JIT timestamps stored as the embedded one does."""

    def _plan(self, plan_id: str, settings_json: str, state_json: str, last_json: str | None,
              events_json: str) -> tuple[str, str] | None:
        return plan_version(settings_json, state_json, last_json, events_json)


class Heartbeat:
    """Extends a replan's lease every third of it, beside the solve."""

    def __init__(self, store: LiveStore, plan_id: str, owner: str, lease_s: float):
        self.store, self.plan_id, self.owner, self.lease_s = store, plan_id, owner, lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="portsync-live-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(max(0.1, self.lease_s / 3)):
            try:
                if not self.store.extend(self.plan_id, self.owner, self.lease_s):
                    log.warning("live plan %s: its lease was taken over; this replan's version will be "
                                "refused", self.plan_id)
                    return
            except Exception as exc:  # the store is away: the lease may run out, the write is fenced
                log.warning("live plan %s: heartbeat failed: %s: %s", self.plan_id, type(exc).__name__, exc)


def replan_once(replanner: Replanner, publish: LivePublisher, plan_id: str, owner: str, lease_s: float,
                republish_after_s: float) -> str:
    """Claim the plan, make its next version under the lease, release it, then look again.

    What it did: "held" (another replan holds the plan: nothing done), "ran" (a version made, or
    nothing was waiting), "ran, published again" (events arrived meanwhile)."""
    store = replanner.store
    loaded = store.claim(plan_id, owner, lease_s)
    if loaded is None:
        log.info("live plan %s: held by another replan (or failed); message dropped", plan_id)
        return "held"
    try:
        with Heartbeat(store, plan_id, owner, lease_s):  # the version, then its REQ timestamps
            replanner.make_version(plan_id, loaded=loaded, lease_owner=owner)
    finally:
        store.release(plan_id, owner)  # a no-op when another replan took the lease over
    # after the release: an event accepted while this replan held the lease is seen here; one
    # accepted from now on finds the lease free and is published by the API's loop
    if store.waiting(plan_id) and _send(store, publish, plan_id, republish_after_s):
        return "ran, published again"
    return "ran"


@dataclass
class _LiveWorker:
    replanner: WorkerReplanner
    publish: Publisher


_live: _LiveWorker | None = None


def _live_worker() -> _LiveWorker:
    """This worker process's replanner (made on first use, after the fork)."""
    global _live
    state = worker_state()
    if _live is None or _live.replanner.store.db is not state.db:
        store = LiveStore(state.db)
        replanner = WorkerReplanner(store, WebhookService(state.db, state.settings), jit=JitStore(state.db))
        _live = _LiveWorker(replanner, Publisher(celery_app))
    return _live


@celery_app.task(name=REPLAN, bind=True, ignore_result=True)
def replan_task(task: Any, plan_id: str) -> str:
    """`portsync.replan(plan_id)`: the live plan's next version on this worker (replan_once)."""
    token = live_plan_id_var.set(plan_id)  # this task's log lines name the plan (api.logs)
    try:
        state = worker_state()
        live = _live_worker()
        owner = lease_owner(getattr(task.request, "hostname", None))
        return replan_once(live.replanner, live.publish, plan_id, owner, state.settings.lease_s,
                           state.settings.republish_after_s)
    finally:
        live_plan_id_var.reset(token)


__all__ = ["FleetReplanner", "WorkerReplanner", "publish_due", "replan_once", "replan_task"]
