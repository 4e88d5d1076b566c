"""The job runner: solver processes that take queued jobs from the database and solve them.

Why processes: a solve holds the GIL while the model is built and keeps the cores busy while it
searches; in worker processes it never slows the event loop that answers clients.

How a job travels: the API stores it as `queued` and wakes the dispatcher (a thread of the API
process); the dispatcher claims the oldest queued job for a free solver slot (`solving`, attempt
+1) and sends (job id, attempt) to that slot's process. The solver process reads the problem
from the database, solves it, writes each better plan (at most one per `progress_interval_s`,
and always the last one), reads the job's stop flag every `poll_interval_s` and sets the solver's
stop event when a client asked, and finally marks the job done, stopped or failed. Everything
it writes is guarded by the attempt number, so after a restart or a crash a late write of an old
attempt changes nothing.

A job accepted is never lost: at start-up jobs left `solving` are queued again; a slot whose
process died gets a new process and its job goes back to the queue (and fails only after
`max_crashes` deaths). A job that comes back with a stored best plan resumes from it: the plan is
given to CP-SAT as its start plan, the job gets the rest of its time limit, and the stored plan is
replaced only by a better one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from api.db import Database, JobStatus
from api.settings import Settings

log = logging.getLogger("portsync.api.jobs")

#: A resumed job gets at least this long (or its whole time limit when shorter).
RESUME_MIN_S = 5.0


@dataclass(frozen=True)
class WorkerConfig:
    """What a solver process needs to know; small and picklable."""

    database_url: str
    database_schema: str | None
    progress_interval_s: float
    poll_interval_s: float
    heartbeat_s: float = 1.0
    log_level: str = "info"
    nice: int = 10


# -- inside a solver process --------------------------------------------------------------------

_databases: dict[tuple[str, str | None], Database] = {}


def _database(cfg: WorkerConfig) -> Database:
    key = (cfg.database_url, cfg.database_schema)
    if key not in _databases:
        _databases[key] = Database(cfg.database_url, cfg.database_schema)
    return _databases[key]


def _watch_parent(parent_pid: int) -> None:
    """End this process when the server that started it is gone (even after SIGKILL)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(0.2)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_process(parent_pid: int, log_level: str, nice: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    if nice:
        # Lower priority than the API process: clients get their answers while the cores solve.
        with contextlib.suppress(OSError):
            os.nice(nice)
    _watch_parent(parent_pid)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import optimizer.solver  # noqa: F401  warm up: the first job should not pay for the imports


def _slot_main(conn: Connection, parent_pid: int, cfg: WorkerConfig) -> None:
    """A solver slot's process: run the jobs the dispatcher sends, one at a time."""
    _init_process(parent_pid, cfg.log_level, cfg.nice)
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        job_id, attempt = msg
        try:
            run_job(cfg, job_id, attempt)
        except Exception:
            log.exception("job %s attempt %s: unexpected error", job_id, attempt)
        conn.send(("done", job_id, attempt))


def run_job(cfg: WorkerConfig, job_id: str, attempt: int) -> None:
    """Solve one job and store what it finds; see the module docstring."""
    from optimizer.baseline import fcfs
    from optimizer.domain import PreviousAssignment
    from optimizer.explain import unserved_reasons
    from optimizer.plan import CallAssignment, Plan, PlanSource, SolverFacts, SolveStatus, UnservedCall
    from optimizer.report import build_plan, plan_from_result
    from optimizer.solver import Progress, SolveOptions, solve
    from optimizer.validation import load_problem

    db = _database(cfg)
    t_start = time.monotonic()
    loaded = db.load_for_solve(job_id, attempt)
    if loaded is None:
        return
    job, body = loaded
    try:
        problem = load_problem(body)
        options = SolveOptions.model_validate_json(job.options)
        best_before = Plan.model_validate_json(job.plan) if job.plan else None
    except Exception as exc:
        db.finish(job_id, attempt, JobStatus.FAILED, error=f"the stored job cannot be read: {exc}")
        return
    spent_before = job.spent_s or 0.0
    weights = options.weights
    best_objective = math.inf
    if best_before is not None and best_before.calls and best_before.kpis is not None:
        best_objective = best_before.kpis.objective
    solve_problem, solve_options = problem, options
    resumed = math.isfinite(best_objective) and problem.previous_plan is None and best_before is not None
    if resumed and best_before is not None:
        # Start from the best stored plan: as the previous plan with no penalty for changing it.
        hint = [PreviousAssignment(call_id=c.call_id, berth_id=c.berth_id, berth_start=c.berth_start)
                for c in best_before.calls]
        solve_problem = problem.model_copy(update={"previous_plan": hint})
        solve_options = options.model_copy(update={
            "start_from": "previous",
            "weights": weights.model_copy(update={"berth_change": 0, "start_change": 0}),
            "time_limit_s": max(options.time_limit_s - spent_before, min(options.time_limit_s, RESUME_MIN_S)),
        })
        log.info("job %s: resuming from its best stored plan (objective %s)", job_id, best_objective)
    if best_before is not None and not best_before.calls:
        best_before = None

    baseline: list[CallAssignment] | None = None
    lock = threading.Lock()
    latest: list[Progress] = []
    wake = threading.Event()
    done = threading.Event()
    stop = threading.Event()
    flags = {"lost": False, "user_stop": bool(job.stop_requested)}
    if job.stop_requested:
        stop.set()

    def spent() -> float:
        return spent_before + (time.monotonic() - t_start)

    def on_progress(p: Progress) -> None:
        with lock:
            latest[:] = [p]
        wake.set()

    def write(p: Progress) -> None:
        nonlocal baseline, best_objective
        if baseline is None:
            baseline = fcfs(problem)
        status = SolveStatus.PARTIAL if p.unserved_ids else SolveStatus.FEASIBLE
        facts = SolverFacts(status=status, objective=p.objective, best_bound=p.best_bound, gap=p.gap,
                            seconds=p.seconds, solutions=p.solutions, source=PlanSource.IN_PROGRESS,
                            served_calls=len(p.assignments), unserved_calls=len(p.unserved_ids))
        why = unserved_reasons(problem, p.assignments, p.unserved_ids)
        left = [UnservedCall(call_id=cid, reasons=why[cid]) for cid in p.unserved_ids]
        plan = build_plan(problem, p.assignments, weights=weights, solver=facts, baseline=baseline,
                          unserved=left)
        objective = plan.kpis.objective if plan.kpis is not None else math.inf
        if objective >= best_objective - 1e-9:
            return  # a resumed search re-finding its start plan: nothing better to store
        best_objective = objective
        ok = db.record_plan(
            job_id, attempt, plan_json=plan.model_dump_json(),
            assignments_json=_assignments_json(p.assignments), objective=p.objective,
            best_bound=p.best_bound, gap=p.gap, seconds=p.seconds, solutions=p.solutions,
            solver_status=status.value, spent_s=spent(),
        )
        if not ok:
            flags["lost"] = True
            stop.set()

    def monitor() -> None:
        last_write = -math.inf
        last_poll = -math.inf
        last_beat = time.monotonic()
        while not done.is_set():
            wake.wait(cfg.poll_interval_s)
            wake.clear()
            now = time.monotonic()
            try:
                if now - last_poll >= cfg.poll_interval_s:
                    last_poll = now
                    if now - last_beat >= cfg.heartbeat_s:
                        ours, stop_req = db.heartbeat(job_id, attempt, spent())
                        last_beat = now
                    else:
                        ours, stop_req = _read_flags(db, job_id, attempt)
                    if not ours:
                        flags["lost"] = True
                        stop.set()
                    elif stop_req and not stop.is_set():
                        flags["user_stop"] = True
                        stop.set()
                with lock:
                    p = latest[0] if latest and now - last_write >= cfg.progress_interval_s else None
                    if p is not None:
                        latest.clear()
                if p is not None and not flags["lost"]:
                    last_write = now
                    write(p)
                elif latest:
                    # Come back when the throttle interval is over, not a whole poll later.
                    wake.wait(max(0.0, last_write + cfg.progress_interval_s - now))
            except Exception:
                log.exception("job %s: progress bookkeeping failed; the solve goes on", job_id)

    watcher = threading.Thread(target=monitor, name=f"job-{job_id[:8]}", daemon=True)
    watcher.start()
    try:
        plan = plan_from_result(solve_problem, solve(solve_problem, solve_options, on_progress=on_progress,
                                                     stop=stop), solve_options.weights)
    except Exception as exc:
        done.set()
        wake.set()
        watcher.join()
        log.warning("job %s failed: %s", job_id, exc)
        db.finish(job_id, attempt, JobStatus.FAILED, error=str(exc) or type(exc).__name__, spent_s=spent())
        return
    done.set()
    wake.set()
    watcher.join()
    if flags["lost"]:
        log.info("job %s attempt %s was handed to another attempt; its result is dropped", job_id, attempt)
        return
    if not plan.calls and best_before is None:
        why = plan.message or "no call can be served: " + "; ".join(
            f"{u.call_id}: {u.reasons[0]}" for u in plan.unserved[:5] if u.reasons)
        db.finish(job_id, attempt, JobStatus.FAILED, error=f"no plan: {why}", spent_s=spent())
        log.info("job %s failed: no plan", job_id)
        return
    status = JobStatus.STOPPED if flags["user_stop"] else JobStatus.DONE
    if resumed and plan.solver is not None:
        # Report against the problem as submitted (the start plan was only a hint).
        plan = build_plan(problem, [CallAssignment(**{f: getattr(c, f) for f in CallAssignment.model_fields})
                                    for c in plan.calls],
                          weights=weights, solver=plan.solver, baseline=baseline or fcfs(problem),
                          unserved=plan.unserved)
    objective = plan.kpis.objective if plan.calls and plan.kpis is not None else math.inf
    facts = plan.solver
    if math.isfinite(best_objective) and objective > best_objective + 1e-9:
        # The stored plan is better (a resumed search that ran short): keep it, end the job.
        db.finish(job_id, attempt, status, spent_s=spent())
        log.info("job %s %s (kept the stored plan, objective %s)", job_id, status.value, best_objective)
        return
    db.record_plan(
        job_id, attempt, plan_json=plan.model_dump_json(), assignments_json=_assignments_json(plan.calls),
        objective=facts.objective if facts else None, best_bound=facts.best_bound if facts else None,
        gap=facts.gap if facts else None, seconds=facts.seconds if facts else None,
        solutions=facts.solutions if facts else 0, solver_status=facts.status.value if facts else None,
        final_status=status, spent_s=spent(),
    )
    log.info("job %s %s: %s, objective %s", job_id, status.value, facts.status.value if facts else "?",
             facts.objective if facts else None)


def _read_flags(db: Database, job_id: str, attempt: int) -> tuple[bool, bool]:
    row = db.get_job_summary(job_id)
    if row is None or row.attempt != attempt or row.status != JobStatus.SOLVING.value:
        return False, True
    return True, bool(row.stop_requested)


def _assignments_json(calls: Any) -> str:
    import json

    fields = ("call_id", "berth_id", "arrival", "berth_start", "berth_end")
    return json.dumps([{f: (getattr(c, f).isoformat() if f not in ("call_id", "berth_id") else getattr(c, f))
                        for f in fields} for c in calls], separators=(",", ":"))


def solve_sync(problem_json: str, options_json: str) -> str:
    """POST /v1/solve in a solver process: the plan as JSON."""
    from optimizer.report import plan_from_result
    from optimizer.solver import SolveOptions, solve
    from optimizer.validation import load_problem

    problem, options = load_problem(problem_json), SolveOptions.model_validate_json(options_json)
    plan = plan_from_result(problem, solve(problem, options), options.weights)
    return plan.model_dump_json()


def _noop() -> None:
    return None


def _sync_init(parent_pid: int, log_level: str, nice: int) -> None:
    _init_process(parent_pid, log_level, nice)


# -- in the API process -------------------------------------------------------------------------


class _Slot:
    """One solver process and the job it is working on."""

    def __init__(self, index: int, ctx: Any, cfg: WorkerConfig):
        self.index = index
        self.ctx = ctx
        self.cfg = cfg
        self.job: tuple[str, int] | None = None
        self.proc: BaseProcess | None = None
        self.conn: Connection | None = None
        self.ready = False
        self.start()

    def start(self) -> None:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_slot_main, args=(child, os.getpid(), self.cfg),
                                name=f"portsync-solver-{self.index}", daemon=True)
        proc.start()
        child.close()
        self.proc, self.conn, self.ready, self.job = proc, parent, False, None

    def kill(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        if self.conn is not None:
            self.conn.close()


class Runner:
    """Dispatches queued jobs to solver processes; owned by the app's lifespan."""

    def __init__(self, settings: Settings, db: Database):
        self.settings = settings
        self.db = db
        self.cfg = WorkerConfig(
            database_url=settings.database_url, database_schema=settings.database_schema,
            progress_interval_s=settings.progress_interval_s, poll_interval_s=settings.poll_interval_s,
            log_level=settings.log_level, nice=settings.solver_nice,
        )
        self._ctx = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._sync_pool: ProcessPoolExecutor | None = None
        self._sync_lock = threading.Lock()

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        n = self.db.requeue_interrupted()
        if n:
            log.warning("%d job(s) interrupted by the last shutdown were queued again", n)
        self._slots = [_Slot(i, self._ctx, self.cfg) for i in range(self.settings.workers)]
        self._thread = threading.Thread(target=self._loop, name="portsync-dispatcher", daemon=True)
        self._thread.start()
        self.sync_pool().submit(_noop)  # start the /v1/solve process now, not on the first request

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ready(self) -> bool:
        """Every solver process has started (imports done) and the dispatcher runs."""
        return self.alive() and bool(self._slots) and all(s.ready for s in self._slots)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Shut down: running jobs go back to the queue (resumed at the next start)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for slot in self._slots:
            if slot.job is not None:
                job_id, attempt = slot.job
                try:
                    self.db.requeue(job_id, attempt, crashed=False, max_crashes=self.settings.max_crashes)
                except Exception:
                    log.exception("could not queue job %s again at shutdown", job_id)
            slot.kill()
        self._slots = []
        if self._sync_pool is not None:
            _kill_pool(self._sync_pool)
            self._sync_pool = None

    # -- dispatching ---------------------------------------------------------------------------

    def _loop(self) -> None:
        last_claim = 0.0
        while not self._stopping.is_set():
            woken = self._wake.wait(0.1)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                freed = self._reap()
                now = time.monotonic()
                if woken or freed or now - last_claim >= 1.0:
                    last_claim = now
                    self._dispatch()
            except Exception:
                log.exception("dispatcher error; retrying")
                time.sleep(0.5)

    def _reap(self) -> bool:
        """Collect finished jobs and replace dead processes; True if a slot became free."""
        freed = False
        for slot in self._slots:
            conn = slot.conn
            try:
                while conn is not None and conn.poll():
                    msg = conn.recv()
                    if msg[0] == "ready":
                        slot.ready = True
                    elif msg[0] == "done":
                        slot.job = None
                        freed = True
            except (EOFError, OSError):
                pass
            if slot.proc is not None and not slot.proc.is_alive():
                if slot.job is not None:
                    job_id, attempt = slot.job
                    log.error("solver process %s died (exit code %s) on job %s", slot.index,
                              slot.proc.exitcode, job_id)
                    self.db.requeue(job_id, attempt, crashed=True, max_crashes=self.settings.max_crashes)
                slot.kill()
                slot.start()
                freed = True
        return freed

    def _dispatch(self) -> None:
        for slot in self._slots:
            if slot.job is not None or slot.conn is None:
                continue
            claimed = self.db.claim_next()
            if claimed is None:
                return
            slot.job = claimed
            with contextlib.suppress(OSError, ValueError):  # a dead process: _reap requeues the job
                slot.conn.send(claimed)
            log.info("job %s (attempt %s) -> solver %s", claimed[0], claimed[1], slot.index)

    # -- synchronous solves --------------------------------------------------------------------

    def sync_pool(self) -> ProcessPoolExecutor:
        with self._sync_lock:
            if self._sync_pool is None:
                self._sync_pool = ProcessPoolExecutor(
                    max_workers=self.settings.sync_workers, mp_context=self._ctx,
                    initializer=_sync_init,
                    initargs=(os.getpid(), self.settings.log_level, self.settings.solver_nice),
                )
            return self._sync_pool

    def sync_pool_broken(self, pool: ProcessPoolExecutor) -> None:
        with self._sync_lock:
            if self._sync_pool is pool:
                self._sync_pool = None
        _kill_pool(pool)


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """End a pool now, even in the middle of a solve (its queues are closed cleanly)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.kill()
    pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["BrokenProcessPool", "Runner", "WorkerConfig", "run_job", "solve_sync"]
