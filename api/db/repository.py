"""The job store: every read and write of problems, jobs and improvements (the `Database` class).

The API process and the solver processes share the database: it is how a solver process learns
that its job was stopped and how the API learns of every improvement, so no state is held only
in memory and a job accepted survives a crash of any process.

Every write a solver process makes is guarded by the job's `attempt` number: when a job is
handed out again (after a restart or a crash), late writes of the old attempt change nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from api.db.engine import DEFAULT_SQLITE_BUSY_TIMEOUT_S, make_engine, make_sessions, transaction
from api.db.migrate import upgrade
from api.db.models import ImprovementRow, JobKind, JobRow, JobStatus, ProblemRow, StudyRow, utcnow
from optimizer.plan import CallAssignment, Plan

#: How an improvement's assignments are stored: the five fields of each call, compact JSON.
ASSIGNMENTS = TypeAdapter(list[CallAssignment])


def assignments_json(plan: Plan) -> bytes:
    """The plan's calls as bare assignments (call, berth, arrival, berth start and end): a CallPlan
    serialized as a CallAssignment keeps only those five fields."""
    return ASSIGNMENTS.dump_json(list(plan.calls))


def read_assignments(stored: str) -> list[CallAssignment]:
    return ASSIGNMENTS.validate_json(stored)


@dataclass
class NewJob:
    id: str
    replayed: bool


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


class Database:
    """The job store, shared by the API process and the solver processes."""

    def __init__(self, url: str, schema: str | None = None,
                 sqlite_busy_timeout_s: float = DEFAULT_SQLITE_BUSY_TIMEOUT_S):
        self.url = url
        self.schema = schema
        self.engine = make_engine(url, schema, sqlite_busy_timeout_s)
        self.sessions = make_sessions(self.engine)

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration (see api.db.migrate)."""
        upgrade(self.engine, self.schema)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with transaction(self.sessions) as s:
            yield s

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # -- submitting and reading --------------------------------------------------------------

    def create_job(
        self,
        *,
        owner: str,
        problem_json: str,
        problem_name: str,
        calls: int,
        options_json: str,
        request_hash: str,
        idempotency_key: str | None,
        batch_id: str | None = None,
    ) -> NewJob:
        """Store problem and job in one transaction; honour the idempotency key."""
        if idempotency_key is not None:
            found = self._by_key(owner, idempotency_key, request_hash)
            if found:
                return found
        job_id = str(uuid.uuid4())
        problem_id = str(uuid.uuid4())
        try:
            with self.session() as s:
                s.add(ProblemRow(
                    id=problem_id, sha256=hashlib.sha256(problem_json.encode()).hexdigest(),
                    name=problem_name[:200], calls=calls, body=problem_json, created_at=utcnow(),
                ))
                s.flush()
                s.add(JobRow(
                    id=job_id, owner=owner, idempotency_key=idempotency_key, request_hash=request_hash,
                    problem_id=problem_id, problem_name=problem_name[:200], calls=calls,
                    options=options_json, status=JobStatus.QUEUED.value,
                    created_at=utcnow(), batch_id=batch_id,
                ))
        except IntegrityError:
            # Two requests with the same key raced: the other one stored its job first.
            if idempotency_key is not None:
                found = self._by_key(owner, idempotency_key, request_hash)
                if found:
                    return found
            raise
        return NewJob(job_id, replayed=False)

    def _by_key(self, owner: str, key: str, request_hash: str) -> NewJob | None:
        with self.session() as s:
            row = s.execute(
                select(JobRow.id, JobRow.request_hash).where(
                    JobRow.owner == owner, JobRow.idempotency_key == key
                )
            ).first()
        if row is None:
            return None
        if row.request_hash != request_hash:
            raise IdempotencyConflict(key)
        return NewJob(row.id, replayed=True)

    def get_job(self, job_id: str, owner: str | None = None) -> JobRow | None:
        """The job, or None when unknown or (with `owner`) another client's."""
        with self.session() as s:
            q = select(JobRow).where(JobRow.id == job_id)
            if owner is not None:  # a client's read: its solve jobs (a study's months are the study's)
                q = q.where(JobRow.owner == owner, JobRow.kind == JobKind.SOLVE.value)
            return s.execute(q).scalar_one_or_none()

    def get_job_summary(self, job_id: str, owner: str | None = None) -> JobRow | None:
        """Like get_job, without loading the plan text."""
        with self.session() as s:
            q = select(JobRow).options(defer(JobRow.plan), defer(JobRow.result)).where(JobRow.id == job_id)
            if owner is not None:
                q = q.where(JobRow.owner == owner, JobRow.kind == JobKind.SOLVE.value)
            row = s.execute(q).scalar_one_or_none()
            if row is not None:
                s.expunge(row)
            return row

    def problem_body(self, problem_id: str) -> str | None:
        with self.session() as s:
            return s.execute(select(ProblemRow.body).where(ProblemRow.id == problem_id)).scalar_one_or_none()

    def list_jobs(
        self, owner: str, *, limit: int, before_seq: int | None = None, status: str | None = None
    ) -> list[JobRow]:
        """The owner's jobs, newest first, without their plans (keyset pagination on `seq`)."""
        with self.session() as s:
            q = select(JobRow).options(defer(JobRow.plan), defer(JobRow.result)).where(
                JobRow.owner == owner, JobRow.kind == JobKind.SOLVE.value)
            if before_seq is not None:
                q = q.where(JobRow.seq < before_seq)
            if status is not None:
                q = q.where(JobRow.status == status)
            rows = list(s.execute(q.order_by(JobRow.seq.desc()).limit(limit)).scalars())
            for r in rows:
                s.expunge(r)
            return rows

    def batch_jobs(self, owner: str, batch_id: str) -> list[JobRow]:
        """The owner's jobs of a batch, in the order submitted, without their plans."""
        with self.session() as s:
            rows = list(s.execute(
                select(JobRow).options(defer(JobRow.plan))
                .where(JobRow.owner == owner, JobRow.batch_id == batch_id, JobRow.kind == JobKind.SOLVE.value)
                .order_by(JobRow.seq)
            ).scalars())
            for r in rows:
                s.expunge(r)
            return rows

    def improvements(self, job_id: str) -> list[ImprovementRow]:
        with self.session() as s:
            return list(s.execute(
                select(ImprovementRow).where(ImprovementRow.job_id == job_id).order_by(ImprovementRow.seq)
            ).scalars())

    def count_by_status(self) -> dict[str, int]:
        with self.session() as s:
            rows = s.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all()
        return {str(r[0]): int(r[1]) for r in rows}

    # -- stopping ----------------------------------------------------------------------------

    def request_stop(self, job_id: str) -> None:
        """Flag the job; a queued job is stopped at once, a solving one by its solver process."""
        now = utcnow()
        with self.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(stop_requested=True))
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
                .values(status=JobStatus.STOPPED.value, finished_at=now)
            )

    # -- the runner's side -------------------------------------------------------------------

    def requeue_interrupted(self) -> int:
        """At start-up: jobs left solving by a server that died are queued again."""
        with self.session() as s:
            res = s.execute(
                update(JobRow)
                .where(JobRow.status == JobStatus.SOLVING.value)
                .values(status=JobStatus.QUEUED.value, attempt=JobRow.attempt + 1,
                        restarts=JobRow.restarts + 1)
            )
            return int(getattr(res, "rowcount", 0) or 0)

    def requeue(self, job_id: str, attempt: int, *, crashed: bool, max_crashes: int) -> None:
        """Hand a job whose solver process went away back to the queue (or fail it after crashes)."""
        now = utcnow()
        with self.session() as s:
            row = s.execute(
                select(JobRow).where(JobRow.id == job_id, JobRow.attempt == attempt,
                                     JobRow.status == JobStatus.SOLVING.value)
            ).scalar_one_or_none()
            if row is None:
                return
            row.attempt += 1
            if crashed:
                row.crashes += 1
                if row.crashes >= max_crashes:
                    row.status = JobStatus.FAILED.value
                    row.error = f"the solver process died {row.crashes} times on this job"
                    row.finished_at = now
                    return
            else:
                row.restarts += 1
            if row.stop_requested:
                row.status = JobStatus.STOPPED.value
                row.finished_at = now
            else:
                row.status = JobStatus.QUEUED.value

    def claim_next(self) -> tuple[str, int] | None:
        """Take the oldest queued job: (job id, attempt), or None when the queue is empty."""
        for _ in range(5):
            with self.session() as s:
                row = s.execute(
                    select(JobRow.id, JobRow.attempt)
                    .where(JobRow.status == JobStatus.QUEUED.value)
                    .order_by(JobRow.seq)
                    .limit(1)
                ).first()
                if row is None:
                    return None
                now = utcnow()
                res = s.execute(
                    update(JobRow)
                    .where(JobRow.id == row.id, JobRow.status == JobStatus.QUEUED.value,
                           JobRow.attempt == row.attempt)
                    .values(status=JobStatus.SOLVING.value, attempt=row.attempt + 1,
                            started_at=func.coalesce(JobRow.started_at, now),
                            attempt_started_at=now, heartbeat_at=now)
                )
                if getattr(res, "rowcount", 0) == 1:
                    return row.id, row.attempt + 1
        return None

    def load_for_solve(self, job_id: str, attempt: int) -> tuple[JobRow, str] | None:
        with self.session() as s:
            job = s.execute(
                select(JobRow).where(JobRow.id == job_id, JobRow.attempt == attempt)
            ).scalar_one_or_none()
            if job is None:
                return None
            body = s.execute(select(ProblemRow.body).where(ProblemRow.id == job.problem_id)).scalar_one()
            return job, body

    def heartbeat(self, job_id: str, attempt: int, spent_s: float,
                  lease_s: float | None = None) -> tuple[bool, bool]:
        """Beat (and, on a fleet, extend the attempt's lease by `lease_s` from now); returns
        (still this attempt's job, stop requested)."""
        now = utcnow()
        values: dict[str, Any] = dict(heartbeat_at=now, spent_s=spent_s)
        if lease_s is not None:
            values["lease_expires_at"] = now + timedelta(seconds=lease_s)
        with self.session() as s:
            res = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.attempt == attempt,
                       JobRow.status == JobStatus.SOLVING.value)
                .values(**values)
            )
            if getattr(res, "rowcount", 0) != 1:
                return False, True
            stop = s.execute(select(JobRow.stop_requested).where(JobRow.id == job_id)).scalar_one()
            return True, bool(stop)

    def record_plan(
        self,
        job_id: str,
        attempt: int,
        plan: Plan,
        *,
        final_status: JobStatus | None = None,
        error: str | None = None,
        spent_s: float | None = None,
    ) -> bool:
        """Store a better plan, its solver figures and its assignments as an improvement (and, with
        `final_status`, end the job); False when the job is no longer this attempt's."""
        now = utcnow()
        facts = plan.solver
        figures: dict[str, Any] = dict(
            objective=facts.objective if facts else None, best_bound=facts.best_bound if facts else None,
            gap=facts.gap if facts else None, solutions=facts.solutions if facts else 0,
        )
        solver_s = facts.seconds if facts else None
        with self.session() as s:
            row = s.execute(
                select(JobRow.improvements).where(
                    JobRow.id == job_id, JobRow.attempt == attempt, JobRow.status == JobStatus.SOLVING.value
                )
            ).first()
            if row is None:
                return False
            values: dict[str, Any] = dict(
                figures, plan=plan.model_dump_json(), plan_at=now, solver_s=solver_s,
                solver_status=facts.status.value if facts else None,
                improvements=row.improvements + 1, heartbeat_at=now,
            )
            if spent_s is not None:
                values["spent_s"] = spent_s
            if final_status is not None:
                values.update(status=final_status.value, finished_at=now, error=error)
            res = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.attempt == attempt,
                       JobRow.status == JobStatus.SOLVING.value)
                .values(**values)
            )
            if getattr(res, "rowcount", 0) != 1:
                return False
            s.add(ImprovementRow(
                job_id=job_id, seq=row.improvements + 1, attempt=attempt, created_at=now, solver_s=solver_s,
                final=final_status is not None, assignments=assignments_json(plan).decode(), **figures,
            ))
            return True

    def finish(
        self, job_id: str, attempt: int, status: JobStatus, *, error: str | None = None,
        spent_s: float | None = None, solver_status: str | None = None,
    ) -> bool:
        """End the job without a new plan (it keeps the best one stored, if any)."""
        values: dict[str, Any] = dict(status=status.value, finished_at=utcnow(), error=error)
        if spent_s is not None:
            values["spent_s"] = spent_s
        if solver_status is not None:
            values["solver_status"] = solver_status
        with self.session() as s:
            res = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.attempt == attempt,
                       JobRow.status == JobStatus.SOLVING.value)
                .values(**values)
            )
            return getattr(res, "rowcount", 0) == 1

    # -- capacity studies (POST /v1/studies): a study row and one job per month ----------------

    def create_study(self, *, owner: str, name: str, spec_json: str,
                     months: list[tuple[str, str]]) -> tuple[str, list[str]]:
        """Store the study and one queued job of kind study-month per month (`months`: a label and
        the month's body, the key and settings it is lived with), in one transaction; the study's
        id and its jobs' ids, in order."""
        study_id = str(uuid.uuid4())
        ids: list[str] = []
        now = utcnow()
        with self.session() as s:
            s.add(StudyRow(id=study_id, owner=owner, name=name[:200], spec=spec_json, created_at=now))
            for label, body in months:
                problem_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
                digest = hashlib.sha256(body.encode()).hexdigest()
                s.add(ProblemRow(id=problem_id, sha256=digest, name=label[:200], calls=0, body=body,
                                 created_at=now))
                s.flush()
                s.add(JobRow(id=job_id, owner=owner, request_hash=digest,
                             problem_id=problem_id, problem_name=label[:200], calls=0, options="{}",
                             status=JobStatus.QUEUED.value, created_at=now, batch_id=study_id,
                             kind=JobKind.STUDY_MONTH.value))
                ids.append(job_id)
        return study_id, ids

    def get_study(self, study_id: str, owner: str) -> StudyRow | None:
        with self.session() as s:
            row = s.execute(select(StudyRow).where(StudyRow.id == study_id, StudyRow.owner == owner)
                            ).scalar_one_or_none()
            if row is not None:
                s.expunge(row)
            return row

    def list_studies(self, owner: str, limit: int = 100) -> list[StudyRow]:
        """The owner's studies, newest first."""
        with self.session() as s:
            rows = list(s.execute(select(StudyRow).where(StudyRow.owner == owner)
                                  .order_by(StudyRow.created_at.desc()).limit(limit)).scalars())
            for r in rows:
                s.expunge(r)
            return rows

    def study_months(self, study_id: str) -> list[JobRow]:
        """A study's month jobs in the order submitted, with their results."""
        with self.session() as s:
            rows = list(s.execute(
                select(JobRow).options(defer(JobRow.plan))
                .where(JobRow.batch_id == study_id, JobRow.kind == JobKind.STUDY_MONTH.value)
                .order_by(JobRow.seq)
            ).scalars())
            for r in rows:
                s.expunge(r)
            return rows

    def finish_month(self, job_id: str, attempt: int, result_json: str, spent_s: float) -> bool:
        """Store a lived month's result and end its job done; refused (False) when the job is no
        longer this attempt's."""
        now = utcnow()
        with self.session() as s:
            res = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.attempt == attempt,
                       JobRow.status == JobStatus.SOLVING.value)
                .values(status=JobStatus.DONE.value, result=result_json, finished_at=now, heartbeat_at=now,
                        spent_s=spent_s, lease_owner=None, lease_expires_at=None)
            )
            return getattr(res, "rowcount", 0) == 1

    # -- a worker fleet (api.jobs.fleet): leases and the reconciler ---------------------------

    def claim_job(self, job_id: str, owner: str, lease_s: float) -> int | None:
        """Claim this queued job for a new attempt held by `owner` until its lease runs out
        (`lease_s` from now, extended by each heartbeat); the attempt, or None when the job is not
        queued (finished, stopped, or already held: a duplicate or late message changes nothing)."""
        now = utcnow()
        with self.session() as s:
            attempt = s.execute(
                select(JobRow.attempt).where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
            ).scalar_one_or_none()
            if attempt is None:
                return None
            res = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value,
                       JobRow.attempt == attempt)
                .values(status=JobStatus.SOLVING.value, attempt=attempt + 1,
                        started_at=func.coalesce(JobRow.started_at, now), attempt_started_at=now,
                        heartbeat_at=now, lease_owner=owner,
                        lease_expires_at=now + timedelta(seconds=lease_s))
            )
            return attempt + 1 if getattr(res, "rowcount", 0) == 1 else None

    def expire_leases(self, max_crashes: int, now: datetime | None = None) -> list[str]:
        """Jobs whose lease ran out (their worker died, hung or lost the database) are queued
        again with a new attempt, so that every later write of the old holder is refused; each
        counts as a crash (failed after `max_crashes`), a stop requested ends it stopped. Returns
        the ids queued again (to be published)."""
        now = now or utcnow()
        queued: list[str] = []
        with self.session() as s:
            rows = s.execute(
                select(JobRow.id, JobRow.attempt, JobRow.crashes, JobRow.stop_requested)
                .where(JobRow.status == JobStatus.SOLVING.value, JobRow.lease_expires_at < now)
            ).all()
        for row in rows:
            crashes = row.crashes + 1
            values: dict[str, Any] = dict(attempt=row.attempt + 1, crashes=crashes, lease_owner=None,
                                          lease_expires_at=None)
            if crashes >= max_crashes:
                values.update(status=JobStatus.FAILED.value, finished_at=now,
                              error=f"the worker holding this job was lost {crashes} times")
            elif row.stop_requested:
                values.update(status=JobStatus.STOPPED.value, finished_at=now)
            else:
                values.update(status=JobStatus.QUEUED.value, published_at=now)
            with self.session() as s:
                res = s.execute(
                    update(JobRow)
                    .where(JobRow.id == row.id, JobRow.attempt == row.attempt,
                           JobRow.status == JobStatus.SOLVING.value, JobRow.lease_expires_at < now)
                    .values(**values)
                )
                if getattr(res, "rowcount", 0) == 1 and values["status"] == JobStatus.QUEUED.value:
                    queued.append(row.id)
        return queued

    def release_job(self, job_id: str, attempt: int) -> bool:
        """A worker shutting down hands its attempt back: queued again with a new attempt (a
        restart, not a crash), or stopped when a stop was requested. True when it was queued."""
        now = utcnow()
        with self.session() as s:
            stop = s.execute(
                select(JobRow.stop_requested).where(JobRow.id == job_id, JobRow.attempt == attempt,
                                                    JobRow.status == JobStatus.SOLVING.value)
            ).scalar_one_or_none()
            if stop is None:
                return False
            values: dict[str, Any] = dict(attempt=attempt + 1, restarts=JobRow.restarts + 1,
                                          lease_owner=None, lease_expires_at=None)
            if stop:
                values.update(status=JobStatus.STOPPED.value, finished_at=now)
            else:
                values.update(status=JobStatus.QUEUED.value, published_at=now)
            res = s.execute(
                update(JobRow).where(JobRow.id == job_id, JobRow.attempt == attempt,
                                     JobRow.status == JobStatus.SOLVING.value).values(**values))
            return getattr(res, "rowcount", 0) == 1 and not stop

    def unclaimed(self, older_than_s: float, limit: int = 1000) -> list[str]:
        """Queued jobs whose message went out more than `older_than_s` ago (or, never marked,
        whose job was created that long ago) and that no worker has claimed: the message may be
        lost. Marked as published now; returns their ids, oldest first (to be published again)."""
        now = utcnow()
        cutoff = now - timedelta(seconds=older_than_s)
        last = func.coalesce(JobRow.published_at, JobRow.created_at)
        with self.session() as s:
            ids = list(s.execute(
                select(JobRow.id).where(JobRow.status == JobStatus.QUEUED.value, last < cutoff)
                .order_by(JobRow.seq).limit(limit)
            ).scalars())
            if ids:
                s.execute(update(JobRow).where(JobRow.id.in_(ids), JobRow.status == JobStatus.QUEUED.value)
                          .values(published_at=now))
        return ids

    def holders(self) -> list[tuple[str, str, int, datetime | None, str]]:
        """Solving jobs on a fleet: (lease owner, job id, attempt, lease expiry, job owner), by
        lease owner."""
        with self.session() as s:
            rows = s.execute(
                select(JobRow.lease_owner, JobRow.id, JobRow.attempt, JobRow.lease_expires_at, JobRow.owner)
                .where(JobRow.status == JobStatus.SOLVING.value, JobRow.lease_owner.is_not(None))
                .order_by(JobRow.lease_owner, JobRow.seq)
            ).all()
        return [(str(r[0]), str(r[1]), int(r[2]), r[3], str(r[4])) for r in rows]
