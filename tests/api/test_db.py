"""The job store on SQLite and (when PORTSYNC_TEST_POSTGRES_URL is set) PostgreSQL: nothing lost,
nothing written twice, late writes of an old attempt ignored."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from api.db import Database, IdempotencyConflict, JobStatus
from optimizer.plan import Plan, SolverFacts, SolveStatus


def new_job(db: Database, key: str | None = None, body: str = "{}", owner: str = "") -> str:
    return db.create_job(owner=owner, problem_json=body, problem_name="p", calls=1, options_json="{}",
                         request_hash=str(hash(body)), idempotency_key=key).id


def test_claim_takes_the_oldest_queued_job_once(db: Database) -> None:
    first, second = new_job(db), new_job(db)
    assert db.claim_next() == (first, 1)
    assert db.claim_next() == (second, 1)
    assert db.claim_next() is None


def test_jobs_left_solving_are_queued_again_at_start(db: Database) -> None:
    job_id = new_job(db)
    db.claim_next()
    assert db.requeue_interrupted() == 1
    row = db.get_job(job_id)
    assert row is not None and row.status == "queued" and row.restarts == 1
    assert db.claim_next() == (job_id, 3)


def test_writes_of_an_old_attempt_change_nothing(db: Database) -> None:
    job_id = new_job(db)
    _, attempt = db.claim_next() or ("", 0)
    db.requeue_interrupted()
    plan = Plan(solver=SolverFacts(status=SolveStatus.FEASIBLE, objective=1.0, best_bound=0.0, gap=1.0,
                                   seconds=1.0, solutions=1))
    assert db.record_plan(job_id, attempt, plan) is False
    assert db.finish(job_id, attempt, JobStatus.DONE) is False
    assert db.heartbeat(job_id, attempt, 1.0) == (False, True)
    _, attempt2 = db.claim_next() or ("", 0)
    assert db.record_plan(job_id, attempt2, plan, final_status=JobStatus.DONE) is True
    row = db.get_job(job_id)
    assert row is not None and row.status == "done" and row.plan is not None
    assert Plan.model_validate_json(row.plan) == plan
    assert (row.objective, row.best_bound, row.gap, row.solutions, row.solver_status) == (
        1.0, 0.0, 1.0, 1, "feasible")
    assert [i.attempt for i in db.improvements(job_id)] == [attempt2]


def test_stop_of_a_solving_job_is_a_flag_for_its_solver(db: Database) -> None:
    job_id = new_job(db)
    _, attempt = db.claim_next() or ("", 0)
    db.request_stop(job_id)
    assert db.heartbeat(job_id, attempt, 0.5) == (True, True)
    row = db.get_job(job_id)
    assert row is not None and row.status == "solving"


def test_a_crashing_job_fails_after_the_limit(db: Database) -> None:
    job_id = new_job(db)
    for _ in range(3):
        _, attempt = db.claim_next() or ("", 0)
        db.requeue(job_id, attempt, crashed=True, max_crashes=3)
    row = db.get_job(job_id)
    assert row is not None and row.status == "failed" and "died 3 times" in (row.error or "")


def test_racing_requests_with_one_idempotency_key_store_one_job(db: Database) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            ids.append(new_job(db, key="race", body="same"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 1 and len(ids) == 8
    with pytest.raises(IdempotencyConflict):
        new_job(db, key="race", body="other")
    assert len(db.list_jobs("", limit=10)) == 1


def test_a_job_stopped_before_its_first_plan_ends_stopped_not_failed(tmp_path: Path) -> None:
    from api.jobs.process import JobRun, WorkerConfig
    from optimizer.params import ObjectiveWeights
    from optimizer.plan import PlanSource
    from optimizer.result import Result
    from tests.builders import two_ships_one_berth

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    db = Database(url)
    db.migrate()
    job_id = new_job(db)
    _, attempt = db.claim_next() or ("", 0)
    cfg = WorkerConfig(database_url=url, database_schema=None, progress_interval_s=1, poll_interval_s=1)
    run = JobRun(cfg, db, job_id, attempt)
    run.user_stop = True  # the client's stop reached the solve while it compiled the problem
    nothing = Result(status=SolveStatus.UNKNOWN, assignments=[], unserved=[], objective=None, bound=None,
                     seconds=0.1, source=PlanSource.NONE, stopped=True, message="no plan: stopped")
    run.finish(two_ships_one_berth(), ObjectiveWeights(), nothing)
    row = db.get_job(job_id)
    assert row is not None and row.status == "stopped"
    assert row.error is not None and "before a first plan" in row.error
    db.dispose()


def test_sqlite_is_wal_with_the_busy_timeout_of_the_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from api.settings import Settings

    monkeypatch.setenv("PORTSYNC_SQLITE_BUSY_TIMEOUT_S", "1.5")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'busy.db'}")
    assert settings.sqlite_busy_timeout_s == 1.5
    db = Database(settings.database_url, None, settings.sqlite_busy_timeout_s)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 1500
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    finally:
        db.dispose()
