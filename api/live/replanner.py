"""The replanner: the thread that turns a live plan's waiting events into its next version, and
the solver process it hands each replan to (api.live.store has the store and its guarantees).

Nothing solves in the API process: the replans run in a process pool of one process, niced like
the job solvers and ended with the server (even a SIGKILL); its CP-SAT uses one worker, so a replay
of the event log gives the same versions. On a worker fleet (PORTSYNC_BROKER_URL) the API runs
api.live.fleet's FleetReplanner instead, and each version is made on a worker.
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

from api.db.models import LiveEventRow, LivePlanRow
from api.jit import JitStore
from api.jit.publish import publish_requests
from api.jobs.process import init_solver_process
from api.live.jit_gateway import call_refs, requested_arrivals
from api.live.store import EVENT_LIST, LiveStore
from api.live.webhooks import WebhookService
from api.logs import live_plan_id_var
from optimizer.live.replan import ReplanSettings, Version, first_version, replan
from optimizer.live.state import LiveState

log = logging.getLogger("portsync.api.live")


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
        token = live_plan_id_var.set(plan_id)  # every log line of this replan names the plan (api.logs)
        try:
            self.make_version(plan_id)
        finally:
            self.store.done(plan_id)
            live_plan_id_var.reset(token)

    def _plan(self, plan_id: str, settings_json: str, state_json: str, last_json: str | None,
              events_json: str) -> tuple[str, str] | None:
        """plan_version in the solver process; None when that process died (a new one is started,
        the events stay waiting)."""
        assert self._pool is not None
        try:
            future = self._pool.submit(plan_version, settings_json, state_json, last_json, events_json)
            return future.result()
        except concurrent.futures.process.BrokenProcessPool:
            if self._stop.is_set():
                return None
            log.error("the replan process of live plan %s died; starting a new one", plan_id)
            self._pool = self._new_pool()
            return None

    def make_version(self, plan_id: str,
                     loaded: tuple[LivePlanRow, str | None, list[LiveEventRow]] | None = None,
                     lease_owner: str | None = None) -> None:
        """The next version of the plan from its waiting events (`loaded` when a fleet worker's
        claim read them, its `lease_owner` fencing the version write)."""
        row, last_json, waiting = loaded if loaded is not None else self.store.load(plan_id)
        if last_json is None and row.version != 0:
            return
        if last_json is not None and not waiting:
            return
        events_json = json.dumps([json.loads(r.body) for r in waiting])
        try:
            made = self._plan(plan_id, row.settings, row.state, last_json, events_json)
        except Exception as exc:
            log.exception("live plan %s: replan failed", plan_id)
            if last_json is None:
                self.store.fail(plan_id, f"version 1 could not be made: {exc}")
            return
        if made is None:
            return
        state_json, version_json = made
        version = Version.model_validate_json(version_json)
        previous = Version.model_validate_json(last_json) if last_json is not None else None
        if self.store.store(
            plan_id, row.version, state_json, version, [r.seq for r in waiting], self.hooks, previous,
            lease_owner=lease_owner,
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
