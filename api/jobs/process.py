"""Inside a solver process: the tasks it runs, a job's solve (`JobRun`) and a synchronous solve.

Why processes: a solve holds the GIL while the model is built and keeps the cores busy while it
searches; in solver processes it never slows the event loop that answers clients. The API
process side (starting the processes, handing them tasks, replacing dead ones) is api.jobs.runner.

A process gets one task at a time over its pipe and answers each with `Finished`:

- `SolveJob(job_id, attempt)`: solve a stored job as `JobRun` does. The solver process reads the
  problem from the database, solves it, writes each better plan (at most one per
  `progress_interval_s`, and always the last one), reads the job's stop flag every
  `poll_interval_s` and sets the solver's stop event when a client asked, and finally marks the
  job done, stopped or failed. Everything it writes is guarded by the attempt number, so after a
  restart or a crash a late write of an old attempt changes nothing.
- `SolveNow(problem, options)`: POST /v1/solve: solve and send the plan back (nothing stored).

A job that comes back with a stored best plan resumes from it: the plan is the solve's
`initial_plan` (where the search starts), the job gets the rest of its time limit, and the stored
plan is replaced only by a better one.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from api.db import Database, JobKind, JobRow, JobStatus
from api.db.engine import DEFAULT_SQLITE_BUSY_TIMEOUT_S
from api.logs import job_id_var

if TYPE_CHECKING:
    from optimizer.domain import Problem
    from optimizer.params import ObjectiveWeights, SolveOptions
    from optimizer.plan import CallAssignment, CallPlan, Plan, UnservedCall
    from optimizer.solver import Progress, Result

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
    sqlite_busy_timeout_s: float = DEFAULT_SQLITE_BUSY_TIMEOUT_S
    #: On a worker fleet: each heartbeat extends the attempt's lease this far (None: no lease).
    lease_s: float | None = None


# -- the messages between the API process and a solver process ----------------------------------


@dataclass(frozen=True)
class SolveJob:
    """Solve the stored job for this attempt (its claim)."""

    job_id: str
    attempt: int


@dataclass(frozen=True)
class SolveNow:
    """Solve this problem and answer with the plan (POST /v1/solve)."""

    problem_json: str
    options_json: str


Task = SolveJob | SolveNow


@dataclass(frozen=True)
class Ready:
    """The process has started and done its imports."""


@dataclass(frozen=True)
class Finished:
    """The task has ended: a SolveNow's plan, or why the task failed."""

    plan_json: str | None = None
    error: str | None = None


# -- the process --------------------------------------------------------------------------------

_databases: dict[tuple[str, str | None], Database] = {}


def _database(cfg: WorkerConfig) -> Database:
    key = (cfg.database_url, cfg.database_schema)
    if key not in _databases:
        _databases[key] = Database(cfg.database_url, cfg.database_schema, cfg.sqlite_busy_timeout_s)
    return _databases[key]


def _watch_parent(parent_pid: int) -> None:
    """End this process when the server that started it is gone (even after SIGKILL)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(0.2)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def init_solver_process(parent_pid: int, log_level: str, nice: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    if nice:
        # Lower priority than the API process: clients get their answers while the cores solve.
        with contextlib.suppress(OSError):
            os.nice(nice)
    _watch_parent(parent_pid)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import optimizer.solver  # noqa: F401  warm up: the first task should not pay for the imports


def process_main(conn: Connection, parent_pid: int, cfg: WorkerConfig) -> None:
    """A solver process: run the tasks the runner sends, one at a time, until it sends None."""
    init_solver_process(parent_pid, cfg.log_level, cfg.nice)
    conn.send(Ready())
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(run_task(cfg, task))


def run_task(cfg: WorkerConfig, task: Task) -> Finished:
    if isinstance(task, SolveJob):
        try:
            JobRun(cfg, _database(cfg), task.job_id, task.attempt).run()
        except Exception as exc:
            log.exception("job %s attempt %s: unexpected error", task.job_id, task.attempt)
            return Finished(error=f"{type(exc).__name__}: {exc}")
        return Finished()
    try:
        return Finished(plan_json=solve_sync(task.problem_json, task.options_json))
    except Exception as exc:
        log.exception("synchronous solve failed")
        return Finished(error=f"{type(exc).__name__}: {exc}")


def solve_sync(problem_json: str, options_json: str) -> str:
    """POST /v1/solve: the plan as JSON."""
    from optimizer.loading import load_problem
    from optimizer.report import plan_from_result
    from optimizer.solver import SolveOptions, solve

    problem, options = load_problem(problem_json), SolveOptions.model_validate_json(options_json)
    return plan_from_result(problem, solve(problem, options), options.weights).model_dump_json()


# -- one attempt at one job ---------------------------------------------------------------------


class JobRun:
    """One attempt at one job: load it, solve it while a monitor thread stores improvements (at
    most one per progress interval), beats the heartbeat and polls the stop flag, then finish.

    The solver calls `on_progress` from its own thread; the monitor thread takes the latest
    progress from there, so the search never waits for the database."""

    def __init__(self, cfg: WorkerConfig, db: Database, job_id: str, attempt: int):
        self.cfg = cfg
        self.db = db
        self.job_id = job_id
        self.attempt = attempt
        self.t_start = time.monotonic()
        self.stop = threading.Event()  # the solver's stop event
        self.lost = False  # the job was handed to another attempt: write nothing more
        self.user_stop = False  # a client asked to stop
        self.spent_before = 0.0
        self.best_objective = math.inf  # of the best plan stored, this attempt's or an earlier one's
        self.best_before: Plan | None = None  # an earlier attempt's best plan, with calls
        self.baseline: list[CallAssignment] | None = None
        self.unplannable: dict[str, UnservedCall] | None = None  # calls proven by their own limits
        self._latest: Progress | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Event()
        self._solving: tuple[Problem, ObjectiveWeights] | None = None  # while the search runs

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> None:
        from optimizer.solver import solve

        job_id_var.set(self.job_id)  # every log line of this solve names the job (api.logs)
        # The monitor beats from the claim to the last write: loading a large problem in a fresh
        # worker process (imports included), or writing its final plan, can take longer than a
        # lease, and an attempt that stops beating is handed to another worker.
        watcher = threading.Thread(target=contextvars.copy_context().run, args=(self.monitor,),
                                   name=f"job-{self.job_id[:8]}", daemon=True)
        watcher.start()
        try:
            loaded = self.load()
            if loaded is None:
                return
            problem, options, weights = loaded
            initial_plan, options = self.resume_from_best(options)
            self._solving = (problem, weights)
            try:
                result = solve(problem, options, initial_plan=initial_plan, on_progress=self.on_progress,
                               stop=self.stop)
            except Exception as exc:
                log.warning("job %s failed: %s", self.job_id, exc)
                self.db.finish(self.job_id, self.attempt, JobStatus.FAILED,
                               error=str(exc) or type(exc).__name__, spent_s=self.spent())
                return
            finally:
                with self._lock:  # the final plan is finish's to write, not the monitor's
                    self._solving, self._latest = None, None
            self.finish(problem, weights, result)
        finally:
            self._end_monitor(watcher)

    def load(self) -> tuple[Problem, SolveOptions, ObjectiveWeights] | None:
        """The job's problem, options and weights, and what an earlier attempt left; None when the
        job is not this attempt's (or cannot be read: then it is failed)."""
        from optimizer.loading import load_problem
        from optimizer.plan import Plan
        from optimizer.solver import SolveOptions

        loaded = self.db.load_for_solve(self.job_id, self.attempt)
        if loaded is None:
            return None
        job, body = loaded
        if job.kind == JobKind.STUDY_MONTH.value:
            self.live_month(job, body)
            return None
        try:
            problem = load_problem(body)
            options = SolveOptions.model_validate_json(job.options)
            best_before = Plan.model_validate_json(job.plan) if job.plan else None
        except Exception as exc:
            self.db.finish(self.job_id, self.attempt, JobStatus.FAILED,
                           error=f"the stored job cannot be read: {exc}")
            return None
        self._take_over(job, best_before)
        return problem, options, options.weights

    def live_month(self, job: JobRow, body: str) -> None:
        """A capacity study's month: live it (optimizer.study) and store its result. It runs to its
        end once started (a stop asked before it starts ends it stopped, unlived)."""
        from optimizer.study.runner import live_month_body

        self._take_over(job, None)
        if self.user_stop:
            self.db.finish(self.job_id, self.attempt, JobStatus.STOPPED, error="stopped on request before "
                           "the month was lived", spent_s=self.spent())
            return
        try:
            result = live_month_body(body)
        except Exception as exc:
            log.warning("study month %s failed: %s", self.job_id, exc)
            self.db.finish(self.job_id, self.attempt, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}",
                           spent_s=self.spent())
            return
        if not self.lost:
            self.db.finish_month(self.job_id, self.attempt, result, self.spent())

    def _take_over(self, job: JobRow, best_before: Plan | None) -> None:
        self.spent_before = job.spent_s or 0.0
        if best_before is not None and best_before.calls:
            self.best_before = best_before
            if best_before.kpis is not None:
                self.best_objective = best_before.kpis.objective
        if job.stop_requested:
            self.user_stop = True
            self.stop.set()

    def resume_from_best(self, options: SolveOptions) -> tuple[list[CallPlan] | None, SolveOptions]:
        """Where the search starts and the options it runs with: for a job that comes back with a
        best plan, that plan as the initial plan and the rest of the time limit (at least
        RESUME_MIN_S); otherwise no initial plan and the options as stored."""
        best = self.best_before
        if best is None or not math.isfinite(self.best_objective):
            return None, options
        limit = options.time_limit_s
        log.info("job %s: resuming from its best stored plan (objective %s)", self.job_id,
                 self.best_objective)
        return list(best.calls), options.model_copy(update={
            "time_limit_s": max(limit - self.spent_before, min(limit, RESUME_MIN_S)),
        })

    def spent(self) -> float:
        """Solving time of all attempts so far."""
        return self.spent_before + (time.monotonic() - self.t_start)

    # -- while the solver searches -------------------------------------------------------------

    def on_progress(self, p: Progress) -> None:
        """The solver's callback (its thread): keep only the latest progress, wake the monitor."""
        with self._lock:
            self._latest = p
        self._wake.set()

    def monitor(self) -> None:
        """The monitor thread: poll the stop flag and beat, store the latest progress when the
        throttle interval is over, until the solve has ended."""
        last_write = -math.inf
        last_poll = -math.inf
        last_beat = time.monotonic()
        while not self._done.is_set():
            self._wake.wait(self.cfg.poll_interval_s)
            self._wake.clear()
            now = time.monotonic()
            try:
                if now - last_poll >= self.cfg.poll_interval_s:
                    last_poll = now
                    beat = now - last_beat >= self.cfg.heartbeat_s
                    if beat:
                        last_beat = now
                    self.poll_stop(beat)
                taken = self._take_latest() if now - last_write >= self.cfg.progress_interval_s else None
                if taken is not None and not self.lost:
                    last_write = now
                    self.record_progress(*taken)
                elif self._latest is not None:
                    # Come back when the throttle interval is over, not a whole poll later.
                    self._wake.wait(max(0.0, last_write + self.cfg.progress_interval_s - now))
            except Exception:
                log.exception("job %s: progress bookkeeping failed; the solve goes on", self.job_id)

    def _take_latest(self) -> tuple[Problem, ObjectiveWeights, Progress] | None:
        with self._lock:
            p, self._latest = self._latest, None
            if p is None or self._solving is None:
                return None
            return (*self._solving, p)

    def poll_stop(self, beat: bool) -> None:
        """Read (with `beat`, also beat) the job's row: stop the search when a client asked, or
        when the job is no longer this attempt's."""
        if beat:
            ours, stop_req = self.db.heartbeat(self.job_id, self.attempt, self.spent(), self.cfg.lease_s)
        else:
            row = self.db.get_job_summary(self.job_id)
            ours = row is not None and row.attempt == self.attempt and row.status == JobStatus.SOLVING.value
            stop_req = bool(row.stop_requested) if ours and row is not None else True
        if not ours:
            self._lose()
        elif stop_req and not self.stop.is_set():
            self.user_stop = True
            self.stop.set()

    def _lose(self) -> None:
        if not self.lost:
            log.warning("job %s attempt %s: the job is no longer this attempt's (another attempt holds "
                        "it, or it has ended); its writes are refused and the solve stops",
                        self.job_id, self.attempt)
        self.lost = True
        self.stop.set()

    def record_progress(self, problem: Problem, weights: ObjectiveWeights, p: Progress) -> None:
        """Store an improvement as an in-progress plan, unless it is no better than the best stored."""
        from optimizer.explain import unplannable_reasons
        from optimizer.plan import PlanSource, SolverFacts, SolveStatus, UnservedKind
        from optimizer.report import build_plan
        from optimizer.solver.proof import ProofBudget, explain_unserved

        if self.unplannable is None:
            self.unplannable = {u.call_id: u for u in unplannable_reasons(problem)}
        # while the search runs only the calls proven by their own limits are proven; the others
        # are tried once it ends (optimizer.solver.proof)
        left = explain_unserved(problem, p.assignments, p.unserved_ids, self.unplannable,
                                ProofBudget(0.0, 0.0), "the search has not found one yet")
        status = SolveStatus.PARTIAL if p.unserved_ids else SolveStatus.FEASIBLE
        facts = SolverFacts(status=status, objective=p.objective, best_bound=p.best_bound, gap=p.gap,
                            seconds=p.seconds, solutions=p.solutions, source=PlanSource.IN_PROGRESS,
                            served_calls=len(p.assignments), unserved_calls=len(p.unserved_ids),
                            proven_unserved_calls=sum(u.kind == UnservedKind.PROVEN for u in left))
        plan = build_plan(problem, p.assignments, weights=weights, solver=facts,
                          baseline=self._baseline(problem), unserved=left)
        objective = plan.kpis.objective if plan.kpis is not None else math.inf
        if objective >= self.best_objective - 1e-9:
            return  # a resumed search re-finding its start plan: nothing better to store
        self.best_objective = objective
        if not self.db.record_plan(self.job_id, self.attempt, plan, spent_s=self.spent()):
            self._lose()

    def _baseline(self, problem: Problem) -> list[CallAssignment]:
        from optimizer.baseline import fcfs

        if self.baseline is None:
            self.baseline = fcfs(problem)
        return self.baseline

    def _end_monitor(self, watcher: threading.Thread) -> None:
        self._done.set()
        self._wake.set()
        watcher.join()

    # -- at the end ----------------------------------------------------------------------------

    def finish(self, problem: Problem, weights: ObjectiveWeights, result: Result) -> None:
        """Store the final plan and end the job: done, stopped (on request, with or without a plan),
        or failed when there is no plan at all; a stored plan better than the final one (a resumed
        search that ran short) stays the job's plan."""
        from optimizer.report import plan_from_result

        if self.lost:
            log.info("job %s attempt %s was handed to another attempt; its result is dropped",
                     self.job_id, self.attempt)
            return
        plan = plan_from_result(problem, result, weights)
        if not plan.calls and self.best_before is None and self.user_stop:
            self.db.finish(self.job_id, self.attempt, JobStatus.STOPPED, spent_s=self.spent(),
                           error="stopped on request before a first plan was found")
            log.info("job %s stopped before a first plan", self.job_id)
            return
        if not plan.calls and self.best_before is None:
            why = plan.message or "no call can be served: " + "; ".join(
                f"{u.call_id}: {u.reasons[0]}" for u in plan.unserved[:5] if u.reasons)
            self.db.finish(self.job_id, self.attempt, JobStatus.FAILED, error=f"no plan: {why}",
                           spent_s=self.spent())
            log.info("job %s failed: no plan", self.job_id)
            return
        status = JobStatus.STOPPED if self.user_stop else JobStatus.DONE
        objective = plan.kpis.objective if plan.calls and plan.kpis is not None else math.inf
        if math.isfinite(self.best_objective) and objective > self.best_objective + 1e-9:
            self.db.finish(self.job_id, self.attempt, status, spent_s=self.spent())
            log.info("job %s %s (kept the stored plan, objective %s)", self.job_id, status.value,
                     self.best_objective)
            return
        self.db.record_plan(self.job_id, self.attempt, plan, final_status=status, spent_s=self.spent())
        facts = plan.solver
        log.info("job %s %s: %s, objective %s", self.job_id, status.value,
                 facts.status.value if facts else "?", facts.objective if facts else None)


__all__ = ["Finished", "JobRun", "Ready", "SolveJob", "SolveNow", "Task", "WorkerConfig", "process_main"]
