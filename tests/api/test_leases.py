"""The fleet's claims in the store (no broker): a lease per attempt, run-out leases queued again with
a new attempt, every write of the old attempt refused, unclaimed jobs found again."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from api.db import Database, JobStatus, utcnow
from optimizer.plan import Plan, SolverFacts, SolveStatus
from optimizer.solver import SolveOptions


def new_job(db: Database) -> str:
    return db.create_job(owner="o", problem_json="{}", problem_name="p", calls=1, options_json="{}",
                         request_hash="h", idempotency_key=None).id


PLAN = Plan(solver=SolverFacts(status=SolveStatus.FEASIBLE, objective=1.0, best_bound=0.0, gap=1.0,
                               seconds=1.0, solutions=1))


def test_a_job_is_claimed_once_whatever_the_messages(db: Database) -> None:
    job_id = new_job(db)
    assert db.claim_job(job_id, "w1/1", lease_s=30) == 1
    assert db.claim_job(job_id, "w2/2", lease_s=30) is None  # a duplicate or redelivered message
    row = db.get_job(job_id)
    assert row is not None and row.status == "solving" and row.lease_owner == "w1/1"
    assert row.lease_expires_at is not None and row.lease_expires_at > utcnow() + timedelta(seconds=25)
    assert db.holders() == [("w1/1", job_id, 1, row.lease_expires_at, "o")]


def test_a_heartbeat_extends_the_lease_and_an_expired_lease_hands_the_job_on(db: Database) -> None:
    job_id = new_job(db)
    attempt = db.claim_job(job_id, "w1/1", lease_s=2)
    assert attempt == 1
    assert db.expire_leases(max_crashes=3) == []  # not yet
    assert db.heartbeat(job_id, attempt, 0.5, lease_s=2) == (True, False)
    later = utcnow() + timedelta(seconds=3)
    assert db.expire_leases(max_crashes=3, now=later) == [job_id]
    row = db.get_job(job_id)
    assert row is not None and row.status == "queued" and row.attempt == 2 and row.crashes == 1
    # every write of the old holder is refused, and it is told to stop
    assert db.heartbeat(job_id, attempt, 1.0, lease_s=2) == (False, True)
    assert db.record_plan(job_id, attempt, PLAN) is False
    assert db.finish(job_id, attempt, JobStatus.DONE) is False
    assert db.claim_job(job_id, "w2/2", lease_s=30) == 3
    assert db.record_plan(job_id, 3, PLAN, final_status=JobStatus.DONE) is True
    assert [i.attempt for i in db.improvements(job_id)] == [3]


def test_a_lost_worker_too_often_fails_the_job_and_a_stop_wins(db: Database) -> None:
    failing, stopping = new_job(db), new_job(db)
    for _ in range(2):
        attempt = db.claim_job(failing, "w/1", lease_s=1)
        assert attempt is not None
        db.expire_leases(max_crashes=2, now=utcnow() + timedelta(seconds=5))
    row = db.get_job(failing)
    assert row is not None and row.status == "failed" and "lost 2 times" in (row.error or "")
    assert db.claim_job(stopping, "w/1", lease_s=1) == 1
    db.request_stop(stopping)
    assert db.expire_leases(max_crashes=5, now=utcnow() + timedelta(seconds=5)) == []
    row = db.get_job(stopping)
    assert row is not None and row.status == "stopped"


def test_a_released_job_is_a_restart_not_a_crash(db: Database) -> None:
    job_id = new_job(db)
    assert db.claim_job(job_id, "w/1", lease_s=30) == 1
    assert db.release_job(job_id, 1) is True
    assert db.release_job(job_id, 1) is False  # once
    row = db.get_job(job_id)
    assert row is not None and row.status == "queued" and row.restarts == 1 and row.crashes == 0
    assert row.lease_owner is None and row.attempt == 2


def test_unclaimed_jobs_are_found_once_per_interval(db: Database) -> None:
    old, claimed = new_job(db), new_job(db)
    db.claim_job(claimed, "w/1", lease_s=30)
    time.sleep(1.1)
    assert db.unclaimed(older_than_s=1.0) == [old]
    assert db.unclaimed(older_than_s=1.0) == []  # just published again
    fresh = new_job(db)
    assert fresh not in db.unclaimed(older_than_s=1.0)


def test_an_attempt_beats_while_it_loads_so_a_slow_start_keeps_its_lease(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh worker process imports the solver and parses a large problem before it searches:
    longer than a lease. The attempt beats from its claim, so the job is not handed on meanwhile."""
    import optimizer.loading
    from api.jobs.process import JobRun, WorkerConfig
    from tests.builders import two_ships_one_berth

    real_load = optimizer.loading.load_problem

    def slow_load(body: str) -> Any:
        time.sleep(3.0)
        return real_load(body)

    monkeypatch.setattr(optimizer.loading, "load_problem", slow_load)
    job_id = db.create_job(owner="o", problem_json=two_ships_one_berth().model_dump_json(), problem_name="p",
                           calls=2, options_json=SolveOptions(time_limit_s=1).model_dump_json(),
                           request_hash="h", idempotency_key=None).id
    attempt = db.claim_job(job_id, "w1/1", lease_s=2)
    assert attempt == 1
    cfg = WorkerConfig(database_url="unused", database_schema=None, progress_interval_s=0.2,
                       poll_interval_s=0.1, lease_s=2)
    run = threading.Thread(target=JobRun(cfg, db, job_id, attempt).run)
    run.start()
    time.sleep(2.5)  # past the claim's lease, still loading
    assert db.expire_leases(max_crashes=3) == []
    run.join(timeout=30)
    row = db.get_job(job_id)
    assert row is not None and row.status == "done" and row.attempt == 1 and row.crashes == 0
