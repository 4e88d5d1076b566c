"""The job runner, in the API process: solver processes, the tasks handed to them, crash recovery.

One mechanism for both kinds of solve: `SolverProcess` is one process (api.jobs.process_main)
that runs one task at a time, sent over a pipe. The runner keeps two groups of them,
`PORTSYNC_WORKERS` for jobs and `PORTSYNC_SYNC_WORKERS` for POST /v1/solve, so that a long job
never delays a synchronous solve. A dispatcher thread waits on every process's pipe and exit
sentinel and on a wake-up socket:

- jobs: when a job process is free it claims the next job from the `JobQueue` (api.jobs.queue) and
  sends it; the process reports when the job has ended (its outcome is in the database).
- synchronous solves: `Runner.solve` queues the request and awaits a future; the dispatcher sends
  it to a free sync process and resolves the future with the plan the process sends back.

A job accepted is never lost: at start-up jobs left `solving` are queued again; a process that
died is replaced, its job goes back to the queue (and fails only after `max_crashes` deaths), a
synchronous solve it was running answers 503. At shutdown the processes are killed and the jobs
they were solving are queued again, resumed at the next start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from api.db import Database
from api.jobs.process import Finished, Ready, SolveJob, SolveNow, Task, WorkerConfig, process_main
from api.jobs.queue import Claim, DatabaseJobQueue, JobQueue
from api.settings import Settings

log = logging.getLogger("portsync.api.jobs")

#: The dispatcher looks for queued jobs at least this often, woken or not.
CLAIM_INTERVAL_S = 1.0


class SolverUnavailable(Exception):
    """A synchronous solve could not be run to its end: its process died, or the server stops."""


class SolveFailed(Exception):
    """A synchronous solve raised in its process (the message says what)."""


class SolverProcess:
    """One solver process and the task it is working on (`task` is None while it is idle)."""

    def __init__(self, name: str, ctx: Any, cfg: WorkerConfig):
        self.name = name
        self.ctx = ctx
        self.cfg = cfg
        self.task: Task | None = None
        self.future: concurrent.futures.Future[str] | None = None  # a synchronous solve's answer
        self.proc: BaseProcess | None = None
        self.conn: Connection | None = None
        self.ready = False
        self.start()

    def start(self) -> None:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=process_main, args=(child, os.getpid(), self.cfg), name=self.name,
                                daemon=True)
        proc.start()
        child.close()
        self.proc, self.conn, self.ready, self.task, self.future = proc, parent, False, None, None

    @property
    def idle(self) -> bool:
        return self.task is None and self.conn is not None

    @property
    def job_id(self) -> str | None:
        return self.task.job_id if isinstance(self.task, SolveJob) else None

    def run(self, task: Task, future: concurrent.futures.Future[str] | None = None) -> None:
        self.task, self.future = task, future
        assert self.conn is not None
        with contextlib.suppress(OSError, ValueError):  # a dead process: the reaper sees it
            self.conn.send(task)

    def receive(self) -> Finished | None:
        """Read what the process sent: the end of its task, if it has ended."""
        finished = None
        try:
            while self.conn is not None and self.conn.poll():
                msg = self.conn.recv()
                if isinstance(msg, Ready):
                    self.ready = True
                elif isinstance(msg, Finished):
                    finished = msg
        except (EOFError, OSError):
            if self.proc is not None:
                self.proc.join(timeout=1)  # the pipe closed: the process is ending
        return finished

    def dead(self) -> bool:
        return self.proc is not None and not self.proc.is_alive()

    def waitables(self) -> list[Any]:
        return [w for w in (self.conn, self.proc.sentinel if self.proc else None) if w is not None]

    def kill(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Runner:
    """Solver processes for jobs and synchronous solves; owned by the app's lifespan."""

    def __init__(self, settings: Settings, db: Database, queue: JobQueue | None = None):
        self.settings = settings
        self.db = db
        self.queue: JobQueue = queue or DatabaseJobQueue(db, max_crashes=settings.max_crashes,
                                                         on_submit=self.wake)
        self.cfg = WorkerConfig(
            database_url=settings.database_url, database_schema=settings.database_schema,
            progress_interval_s=settings.progress_interval_s, poll_interval_s=settings.poll_interval_s,
            log_level=settings.log_level, nice=settings.solver_nice,
            sqlite_busy_timeout_s=settings.sqlite_busy_timeout_s,
        )
        self._ctx = multiprocessing.get_context("spawn")
        self.job_solvers: list[SolverProcess] = []
        self.sync_solvers: list[SolverProcess] = []
        self._requests: deque[tuple[SolveNow, concurrent.futures.Future[str]]] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Queue interrupted jobs again, start every solver process and the dispatcher."""
        with self._lock:
            self._stopping.clear()
            n = self.queue.recover()
            if n:
                log.warning("%d job(s) interrupted by the last shutdown were queued again", n)
            self.job_solvers = [SolverProcess(f"portsync-solver-{i}", self._ctx, self.cfg)
                                for i in range(self.settings.workers)]
            self._start_sync_locked()

    def _start_sync_locked(self) -> None:
        if not self.sync_solvers:
            self.sync_solvers = [SolverProcess(f"portsync-sync-solver-{i}", self._ctx, self.cfg)
                                 for i in range(self.settings.sync_workers)]
        if self._thread is None or not self._thread.is_alive():
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            self._thread = threading.Thread(target=self._loop, name="portsync-dispatcher", daemon=True)
            self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ready(self) -> bool:
        """Every solver process has started (imports done) and the dispatcher runs."""
        solvers = [*self.job_solvers, *self.sync_solvers]
        return self.alive() and bool(self.job_solvers) and all(s.ready for s in solvers)

    def wake(self) -> None:
        """Have the dispatcher look at the queue now."""
        w = self._wake_w
        if w is not None:
            with contextlib.suppress(OSError):  # full: it is woken already; closed: it has stopped
                w.send(b"x")

    def submit(self, job_id: str) -> None:
        """A job was stored as queued."""
        self.queue.submit(job_id)

    def stop(self) -> None:
        """Shut down: running jobs go back to the queue (resumed at the next start), synchronous
        solves in flight answer 503."""
        self._stopping.set()
        self.wake()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
        with self._lock:
            self._thread = None
            for sp in self.job_solvers:
                if isinstance(sp.task, SolveJob):
                    try:
                        self.queue.requeue(Claim(sp.task.job_id, sp.task.attempt), crashed=False)
                    except Exception:
                        log.exception("could not queue job %s again at shutdown", sp.task.job_id)
                sp.kill()
            for sp in self.sync_solvers:
                if sp.future is not None:
                    _fail(sp.future, SolverUnavailable("the server is shutting down; try again"))
                sp.kill()
            while self._requests:
                _, future = self._requests.popleft()
                _fail(future, SolverUnavailable("the server is shutting down; try again"))
            self.job_solvers, self.sync_solvers = [], []
            for s in (self._wake_r, self._wake_w):
                if s is not None:
                    s.close()
            self._wake_r = self._wake_w = None

    # -- synchronous solves --------------------------------------------------------------------

    async def solve(self, problem_json: str, options_json: str) -> str:
        """POST /v1/solve: the plan as JSON, solved by a sync solver process (started on first use
        when the lifespan has not started the runner)."""
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        with self._lock:
            if self._stopping.is_set():
                raise SolverUnavailable("the server is shutting down; try again")
            self._start_sync_locked()
            self._requests.append((SolveNow(problem_json, options_json), future))
        self.wake()
        return await asyncio.wrap_future(future)

    # -- the dispatcher thread -----------------------------------------------------------------

    def _loop(self) -> None:
        wake_r = self._wake_r
        assert wake_r is not None
        last_claim = 0.0
        while not self._stopping.is_set():
            waitables = [wake_r, *(w for sp in (*self.job_solvers, *self.sync_solvers)
                                   for w in sp.waitables())]
            try:
                woken = wake_r in wait(waitables, timeout=CLAIM_INTERVAL_S)
                if woken:
                    with contextlib.suppress(BlockingIOError):
                        while wake_r.recv(4096):
                            pass
            except OSError:
                woken = False
            if self._stopping.is_set():
                return
            try:
                freed = self._reap()
                now = time.monotonic()
                if woken or freed or now - last_claim >= CLAIM_INTERVAL_S:
                    last_claim = now
                    self._dispatch_jobs()
                self._dispatch_solves()
            except Exception:
                log.exception("dispatcher error; retrying")
                time.sleep(0.5)

    def _reap(self) -> bool:
        """Collect ended tasks and replace dead processes; True if a job process became free."""
        freed = False
        for sp in (*self.job_solvers, *self.sync_solvers):
            finished = sp.receive()
            if finished is not None:
                if sp.future is not None:
                    _resolve(sp.future, finished)
                freed = freed or isinstance(sp.task, SolveJob)
                sp.task, sp.future = None, None
            if sp.dead():
                exitcode = sp.proc.exitcode if sp.proc else None
                if isinstance(sp.task, SolveJob):
                    log.error("solver process %s died (exit code %s) on job %s", sp.name, exitcode,
                              sp.task.job_id)
                    self.queue.requeue(Claim(sp.task.job_id, sp.task.attempt), crashed=True)
                    freed = True
                if sp.future is not None:
                    log.error("solver process %s died (exit code %s) in a synchronous solve", sp.name,
                              exitcode)
                    _fail(sp.future, SolverUnavailable("the solver process ended unexpectedly; try again"))
                sp.kill()
                sp.start()
        return freed

    def _dispatch_jobs(self) -> None:
        for sp in self.job_solvers:
            if not sp.idle:
                continue
            claim = self.queue.claim()
            if claim is None:
                return
            sp.run(SolveJob(claim.job_id, claim.attempt))
            log.info("job %s (attempt %s) -> %s", claim.job_id, claim.attempt, sp.name)

    def _dispatch_solves(self) -> None:
        for sp in self.sync_solvers:
            if not sp.idle:
                continue
            with self._lock:
                request = None
                while self._requests and request is None:
                    task, future = self._requests.popleft()
                    if future.set_running_or_notify_cancel():  # False: the client went away
                        request = task, future
            if request is None:
                return
            sp.run(*request)


def _resolve(future: concurrent.futures.Future[str], finished: Finished) -> None:
    if finished.plan_json is not None:
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            future.set_result(finished.plan_json)
    else:
        _fail(future, SolveFailed(finished.error or "the solve ended without a plan"))


def _fail(future: concurrent.futures.Future[str], exc: Exception) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_exception(exc)


__all__ = ["Runner", "SolveFailed", "SolverProcess", "SolverUnavailable"]
