"""The job queue: how queued jobs reach a solver process, behind one small interface.

`JobQueue` is what the runner (api.jobs.runner) needs from a queue; `DatabaseJobQueue` is the one in
use: the database is the queue (a job row `queued` is a message, claiming it flips it to
`solving` with attempt + 1), and submitting only wakes the runner's dispatcher thread in this
process. It needs nothing but the database, and it is why a job accepted survives any crash.

A broker version (e.g. Celery on RabbitMQ, so that solver workers run on other machines) must
implement the same four methods with the same guarantees:

- `submit(job_id)`: publish the job to a durable queue *after* the job row is committed (the
  row stays the record: status, plans, stop flag). Publishing may fail after the commit: such a
  job is found again by `recover`.
- `claim()`: in the worker, take one message (prefetch 1, acknowledged late, i.e. only once the
  job has ended) and turn it into a claim with a guarded update of that job's row (queued ->
  solving, attempt + 1, as `Database.claim_next` does for the oldest row): the attempt number is
  what makes a redelivered message of a job that is already solving, or finished, change
  nothing. `None` when there is no work.
- `requeue(claim, crashed=...)`: the worker died or shut down: put the job back (negative
  acknowledgement with requeue, or republish) and count a crash against `max_crashes` in the
  database, failing the job there once it has died too often.
- `recover()`: at start, jobs left `solving` by a dead process are queued again (their
  unacknowledged messages are redelivered by the broker; rows whose message is lost are
  published again). Returns how many.

Stopping a job is not the queue's business: the stop flag is in the job's row and the solving
process polls it, wherever it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

from api.db import Database


class Claim(NamedTuple):
    """A job handed to a solver process for one attempt; every write of that attempt carries it."""

    job_id: str
    attempt: int


class JobQueue(Protocol):
    """What the runner needs from a job queue (see the module docstring for the contract)."""

    def submit(self, job_id: str) -> None:
        """A job was stored as queued: get it to a solver."""

    def claim(self) -> Claim | None:
        """The next job to solve, now marked solving for a new attempt; None when none waits."""

    def requeue(self, claim: Claim, *, crashed: bool) -> None:
        """The claim's process went away (crashed, or shut down): queue the job again."""

    def recover(self) -> int:
        """At start: jobs left solving by a server that died are queued again; how many."""


class DatabaseJobQueue:
    """The database as the queue, in one server process (the JobQueue in use)."""

    def __init__(self, db: Database, *, max_crashes: int, on_submit: Callable[[], None] | None = None):
        self.db = db
        self.max_crashes = max_crashes
        self.on_submit = on_submit

    def submit(self, job_id: str) -> None:
        # The row is already queued (Database.create_job): wake the dispatcher to claim it now
        # rather than at its next periodic look.
        if self.on_submit is not None:
            self.on_submit()

    def claim(self) -> Claim | None:
        claimed = self.db.claim_next()
        return Claim(*claimed) if claimed is not None else None

    def requeue(self, claim: Claim, *, crashed: bool) -> None:
        self.db.requeue(claim.job_id, claim.attempt, crashed=crashed, max_crashes=self.max_crashes)

    def recover(self) -> int:
        return self.db.requeue_interrupted()


__all__ = ["Claim", "DatabaseJobQueue", "JobQueue"]
