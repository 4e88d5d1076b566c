"""Jobs on a worker fleet: Celery on RabbitMQ carries "go", PostgreSQL stays the truth.

Chosen by `PORTSYNC_BROKER_URL` (with a PostgreSQL `PORTSYNC_DATABASE_URL`); without it the API
solves in its own solver processes (api.jobs.runner) and nothing here is used.

How a job travels (the `JobQueue` contract of api.jobs.queue, on a broker):

1. The API commits the job row (`queued`), then publishes a `portsync.solve_job(job_id)` message
   to the durable queue `portsync.jobs` (persistent, publisher-confirmed). A publish that fails
   leaves the row queued: the reconciler publishes it again.
2. A worker process takes the message and **claims** the job in the store: a guarded update
   queued -> solving with `attempt + 1`, `lease_owner` (node/pid) and `lease_expires_at`. A message
   for a job that is not queued (finished, stopped, already held: a duplicate or a redelivery)
   changes nothing and is dropped.
3. The message is acknowledged when the worker process takes it (Celery's early acknowledgement),
   not when the solve ends: RabbitMQ closes a channel whose delivery stays unacknowledged longer
   than its consumer timeout (30 min by default) and redelivers everything on it, so a late
   acknowledgement would cut every solve longer than that. Delivery of a job once claimed is
   carried by the lease instead: the solve's heartbeat (every second, api.jobs.process.JobRun)
   extends it by `PORTSYNC_LEASE_S`.
4. The **reconciler** (a thread in the API and in every worker's main process, every
   `PORTSYNC_RECONCILE_INTERVAL_S`) queues again each job whose lease ran out (its worker was
   killed, hung or cut off) with a new attempt and publishes it; the new attempt resumes from the
   best stored plan. It also publishes again queued jobs left unclaimed for
   `PORTSYNC_REPUBLISH_AFTER_S` (a message lost with a broker or a connection). Every write of a
   solve (heartbeat, progress, best plan, final plan) carries its attempt and is refused once the
   job has another attempt: the superseded solve learns it at its next heartbeat and stops.
5. Stopping is the store's stop flag, polled beside the solve every `PORTSYNC_POLL_INTERVAL_S`, as
   with the embedded runner (no `revoke`).

`POST /v1/solve` on a fleet is a `portsync.solve_now` task on the queue `portsync.solve`, its plan
sent back over the broker (Celery's rpc result backend).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from celery import Celery, signals
from kombu import Exchange, Queue

from api.db import Database
from api.jobs.process import JobRun, WorkerConfig, solve_sync
from api.logs import job_id_var
from api.settings import Settings

log = logging.getLogger("portsync.api.jobs")

JOBS_QUEUE = "portsync.jobs"
SOLVE_QUEUE = "portsync.solve"
LIVE_QUEUE = "portsync.live"
SOLVE_JOB = "portsync.solve_job"
SOLVE_NOW = "portsync.solve_now"
REPLAN = "portsync.replan"  # a live plan's next version (api.live.fleet)
QUEUES = (JOBS_QUEUE, SOLVE_QUEUE, LIVE_QUEUE)
#: How a publish is retried before it gives up (the reconciler publishes a job again later).
PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0.0, "interval_step": 0.2, "interval_max": 0.5}

#: The worker's app (its tasks are registered on it); the API publishes through its own (new_app).
celery_app = Celery("portsync", set_as_current=False)


def configure(app: Celery, settings: Settings) -> Celery:
    """Point a Celery app at the broker of `settings`."""
    if not settings.broker_url:
        raise ValueError("PORTSYNC_BROKER_URL is not set: there is no fleet to send work to")
    app.conf.update(
        broker_url=settings.broker_url,
        result_backend="rpc://",
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name, durable=True)
                     for name in QUEUES],
        task_default_queue=JOBS_QUEUE,
        task_routes={SOLVE_JOB: {"queue": JOBS_QUEUE, "routing_key": JOBS_QUEUE},
                     SOLVE_NOW: {"queue": SOLVE_QUEUE, "routing_key": SOLVE_QUEUE},
                     REPLAN: {"queue": LIVE_QUEUE, "routing_key": LIVE_QUEUE}},
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=False,  # acknowledged as a worker process takes it: see the module docstring
        task_ignore_result=True,
        task_default_delivery_mode="persistent",
        # publisher confirms: a publish returns once the broker has the message; a broker that is
        # away fails a publish within a second (not kombu's default of 2 + 4 s of retries): the
        # job is stored, and the reconciler publishes it again
        broker_transport_options={"confirm_publish": True, "max_retries": 1, "interval_start": 0,
                                  "interval_step": 0.2, "interval_max": 0.5},
        broker_connection_timeout=2.0,
        broker_connection_retry_on_startup=True,
        # A message prefetched while every process solves waits unacknowledged: past the consumer
        # timeout the broker closes the channel (406) and requeues it. Reconnect rather than shut
        # down; the running solves were acknowledged when they started and go on untouched.
        broker_channel_error_retry=True,
        worker_cancel_long_running_tasks_on_connection_loss=True,  # late-acknowledged tasks only: none
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=True,  # Flower and `celery events` see the tasks
        task_send_sent_event=True,
        result_expires=600,
    )
    return app


def new_app(settings: Settings) -> Celery:
    """A Celery app of its own on the broker of `settings` (the API's, to publish and to wait)."""
    return configure(Celery("portsync", set_as_current=False), settings)


class Publisher:
    """Sends jobs' "go" messages through one Celery app."""

    def __init__(self, app: Celery):
        self.app = app

    def publish(self, job_id: str) -> None:
        """Send the job's message to the fleet; raises when the broker cannot take it."""
        self.app.send_task(SOLVE_JOB, args=[job_id], queue=JOBS_QUEUE, routing_key=JOBS_QUEUE,
                           retry=True, retry_policy=PUBLISH_RETRY)

    def publish_live(self, plan_id: str) -> bool:
        """Send a live plan's "replan" message (api.live.fleet); False, logged, when the broker
        cannot take it (the plan stays marked published: it is sent again after
        PORTSYNC_REPUBLISH_AFTER_S)."""
        try:
            self.app.send_task(REPLAN, args=[plan_id], queue=LIVE_QUEUE, routing_key=LIVE_QUEUE,
                               retry=True, retry_policy=PUBLISH_RETRY)
            return True
        except Exception as exc:
            log.warning("live plan %s: could not publish its replan (%s: %s); sent again later", plan_id,
                        type(exc).__name__, exc, extra={"live_plan_id": plan_id})
            return False

    def depth(self) -> int | None:
        """Messages ready in the jobs queue (None when the broker does not answer)."""
        try:
            with self.app.connection_for_read() as conn:
                return int(conn.default_channel.queue_declare(JOBS_QUEUE, passive=True).message_count)
        except Exception:
            return None

    def __call__(self, job_id: str) -> bool:
        """publish, logging a failure (the row is the record: the reconciler publishes it again)."""
        try:
            self.publish(job_id)
            return True
        except Exception as exc:
            log.warning("job %s: could not publish to the broker (%s: %s); the reconciler will publish "
                        "it again", job_id, type(exc).__name__, exc, extra={"job_id": job_id})
            return False


# -- the reconciler ---------------------------------------------------------------------------


class Reconciler:
    """Expired leases queued again and unclaimed jobs published again, every interval; live
    plans whose replan was lost published again."""

    def __init__(self, db: Database, settings: Settings, publish: Publisher):
        self.db = db
        self.settings = settings
        self.publish = publish
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Any = None  # the live plans' store, made on first use

    def once(self) -> tuple[int, int]:
        """One pass: (jobs whose lease ran out, queued again; unclaimed jobs published again)."""
        expired = self.db.expire_leases(self.settings.max_crashes)
        for job_id in expired:
            log.warning("job %s: its worker's lease ran out; queued again for another worker", job_id,
                        extra={"job_id": job_id})
            self.publish(job_id)
        # Only as many as the broker's queue lacks: with a long queue every job waits longer than
        # republish_after_s, and its message is still there (a duplicate would change nothing but
        # would grow the queue). Unknown depth (broker away): the publishes fail and are retried.
        queued = self.db.count_by_status().get("queued", 0)
        depth = self.publish.depth()
        missing = queued - (depth or 0)
        stale = self.db.unclaimed(self.settings.republish_after_s, limit=missing) if missing > 0 else []
        for job_id in stale:
            log.info("job %s: unclaimed since its message went out; published again", job_id,
                     extra={"job_id": job_id})
            self.publish(job_id)
        self.live_once()
        return len(expired), len(stale)

    def live_once(self) -> int:
        """Live plans with work due and no replan holding them (a worker died mid-replan, a
        message was lost, the API is away): published again (api.live.fleet); how many."""
        from api.live.fleet import publish_due
        from api.live.store import LiveStore

        if self._live is None:
            self._live = LiveStore(self.db)
        return publish_due(self._live, self.publish, self.settings.live_batch_window_s,
                           self.settings.republish_after_s)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="portsync-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.reconcile_interval_s):
            try:
                self.once()
            except Exception as exc:  # the store or the broker is away: try again next time
                log.warning("reconciler: %s: %s", type(exc).__name__, exc)


# -- the API's side: the runner of a fleet ------------------------------------------------------


class FleetRunner:
    """What the API's routes need from a runner (api.jobs.runner.Runner), on a fleet: jobs are
    published, synchronous solves sent to a worker and awaited; no solver process in the API."""

    def __init__(self, settings: Settings, db: Database):
        self.settings = settings
        self.db = db
        self.app = new_app(settings)
        self.publish = Publisher(self.app)
        self.reconciler = Reconciler(db, settings, self.publish)

    def start(self) -> None:
        self.reconciler.start()

    def stop(self) -> None:
        self.reconciler.stop()
        self.app.close()

    def alive(self) -> bool:
        return self.reconciler.alive()

    def ready(self) -> bool:
        return self.broker_ok()

    def broker_ok(self) -> bool:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            return True
        except Exception:
            return False

    def wake(self) -> None:
        """Nothing to wake: the workers consume the broker's queue."""

    def submit(self, job_id: str) -> None:
        self.publish(job_id)

    async def solve(self, problem_json: str, options_json: str) -> str:
        """POST /v1/solve: solved by a worker, the plan sent back over the broker."""
        from api.jobs.runner import SolveFailed, SolverUnavailable

        options = json.loads(options_json)
        wait_s = float(options.get("time_limit_s", self.settings.sync_time_limit_cap_s)) + 60.0
        try:
            result = self.app.send_task(SOLVE_NOW, args=[problem_json, options_json], queue=SOLVE_QUEUE,
                                        routing_key=SOLVE_QUEUE, ignore_result=False, retry=True,
                                        retry_policy=PUBLISH_RETRY)
        except Exception as exc:
            raise SolverUnavailable(f"the broker cannot take the solve: {type(exc).__name__}") from exc
        try:
            plan: Any = await asyncio.to_thread(result.get, timeout=wait_s, propagate=True)
        except TimeoutError as exc:
            raise SolverUnavailable("no worker answered in time; try again") from exc
        except Exception as exc:
            raise SolveFailed(str(exc)) from exc
        return str(plan)

    def workers(self, timeout_s: float = 1.0) -> dict[str, dict[str, Any]]:
        """The workers answering a broadcast within `timeout_s`: node name -> {processes, active
        (tasks running)}; empty when none answers."""
        found: dict[str, dict[str, Any]] = {}
        try:
            inspect = self.app.control.inspect(timeout=timeout_s)
            stats = inspect.stats() or {}
            active = inspect.active() or {}
        except Exception as exc:
            log.warning("could not ask the workers: %s: %s", type(exc).__name__, exc)
            return found
        for name, st in stats.items():
            pool = st.get("pool", {}) if isinstance(st, dict) else {}
            found[name] = {"processes": int(pool.get("max-concurrency", 0) or 0),
                           "active": len(active.get(name, []) or [])}
        return found

    def queue_depth(self) -> dict[str, int | None]:
        """Messages waiting in each queue (None when the broker does not answer)."""
        depth: dict[str, int | None] = {}
        try:
            with self.app.connection_for_read() as conn:
                channel = conn.default_channel
                for name in QUEUES:
                    depth[name] = int(channel.queue_declare(name, passive=True).message_count)
        except Exception:
            depth = dict.fromkeys(QUEUES)
        return depth


# -- the worker's side: the tasks -------------------------------------------------------------


@dataclass
class _WorkerState:
    settings: Settings
    db: Database
    cfg: WorkerConfig


_state: _WorkerState | None = None


def worker_state() -> _WorkerState:
    """This worker process's settings, store and solve configuration (made on first use, after
    the fork: connections are never shared between processes)."""
    global _state
    if _state is None:
        settings = Settings()
        db = Database(settings.database_url, settings.database_schema, settings.sqlite_busy_timeout_s)
        cfg = WorkerConfig(
            database_url=settings.database_url, database_schema=settings.database_schema,
            progress_interval_s=settings.progress_interval_s, poll_interval_s=settings.poll_interval_s,
            log_level=settings.log_level, nice=settings.solver_nice, lease_s=settings.lease_s,
        )
        _state = _WorkerState(settings, db, cfg)
    return _state


def lease_owner(hostname: str | None) -> str:
    """Who holds a claim: the Celery node name and the worker process id."""
    return f"{hostname or socket.gethostname()}/{os.getpid()}"


@celery_app.task(name=SOLVE_JOB, bind=True, ignore_result=True)
def solve_job(task: Any, job_id: str) -> str:
    """Claim the job for a new attempt, then solve it as the embedded runner does (JobRun)."""
    token = job_id_var.set(job_id)  # this task's log lines name the job (api.logs)
    try:
        state = worker_state()
        owner = lease_owner(getattr(task.request, "hostname", None))
        attempt = state.db.claim_job(job_id, owner, state.settings.lease_s)
        if attempt is None:
            log.info("job %s: not queued any more (finished, stopped or held); message dropped", job_id)
            return "not queued"
        log.info("job %s: attempt %s claimed by %s", job_id, attempt, owner)
        JobRun(state.cfg, state.db, job_id, attempt).run()
        return "ran"
    finally:
        job_id_var.reset(token)


@celery_app.task(name=SOLVE_NOW, ignore_result=False)
def solve_now(problem_json: str, options_json: str) -> str:
    """POST /v1/solve on a worker: the plan as JSON."""
    return solve_sync(problem_json, options_json)


@signals.worker_process_init.connect
def _after_fork(**_: Any) -> None:
    """A new worker process: drop any store connection inherited from the main process."""
    global _state
    _state = None
    from api.jobs import worker

    worker.forget_inherited_connections()

__all__ = ["JOBS_QUEUE", "SOLVE_QUEUE", "FleetRunner", "Publisher", "Reconciler", "celery_app", "configure",
           "new_app"]
