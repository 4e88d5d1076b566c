"""The schema's migrations on SQLite and (with PORTSYNC_TEST_POSTGRES_URL) PostgreSQL: a database
made before migrations is recognised, stamped and upgraded with its jobs kept; upgrading twice
changes nothing; the revisions arrive at the tables of api/db/models.py."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient

from api.app import create_app
from api.db import Base, Database, make_engine
from api.db.migrate import config, current_revision, upgrade
from tests.api.conftest import make_settings, tiny_problem

DATA = Path(__file__).resolve().parent / "data"
OLD_SQLITE = DATA / "portsync-v0.db"
OLD_POSTGRES_DDL = DATA / "portsync-v0-postgresql.sql"
DONE_JOB = "96bbd404-92e3-4c9e-b1a3-6c477df1a323"
QUEUED_JOB = "f09da54c-75b3-47f5-b808-2315e2b6d21b"
HEAD = "0009_studies"


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """(database URL, PostgreSQL schema) of an empty database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portsync.db'}", None
    url, schema = request.getfixturevalue("pg_schema")
    return url, schema


@pytest.fixture
def engine(target: tuple[str, str | None]) -> Iterator[sa.Engine]:
    e = make_engine(*target)
    yield e
    e.dispose()


def old_rows() -> dict[str, list[dict[str, Any]]]:
    """The rows of the database made before migrations, datetimes as UTC."""
    con = sqlite3.connect(f"file:{OLD_SQLITE}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    out: dict[str, list[dict[str, Any]]] = {}
    for table in ("problems", "jobs", "plan_improvements"):
        out[table] = [dict(r) for r in con.execute(f"SELECT * FROM {table}")]
    con.close()
    return out


def make_old_database(target: tuple[str, str | None]) -> None:
    """The database as the code before migrations left it: the SQLite file as it is; on
    PostgreSQL, that code's DDL with the same rows copied in."""
    url, schema = target
    if schema is None:
        path = Path(sa.make_url(url).database or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(OLD_SQLITE, path)
        return
    pg = make_engine(url, schema)
    with pg.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        for statement in OLD_POSTGRES_DDL.read_text().split(";"):
            if statement.strip().strip("-").strip() and "CREATE" in statement:
                conn.execute(sa.text(statement))
        meta = sa.MetaData()
        meta.reflect(conn)
        sqlite_types = {"problems": ("created_at",),
                        "jobs": ("created_at", "started_at", "attempt_started_at", "finished_at",
                                 "heartbeat_at", "plan_at"),
                        "plan_improvements": ("created_at",)}
        for table, rows in old_rows().items():
            for row in rows:
                for col in sqlite_types[table]:
                    if row[col] is not None:
                        row[col] = datetime.fromisoformat(row[col]).replace(tzinfo=UTC)
                for col in ("stop_requested", "final"):
                    if col in row:
                        row[col] = bool(row[col])
            conn.execute(meta.tables[table].insert(), rows)
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('jobs', 'seq'), max(seq)) FROM jobs"))
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('plan_improvements', 'id'), max(id)) "
                             "FROM plan_improvements"))
    pg.dispose()


def schema_of(conn: sa.Connection) -> dict[str, Any]:
    """Tables, columns (type, nullable), keys, unique constraints and indexes, as reflected."""
    insp = sa.inspect(conn)
    out: dict[str, Any] = {}
    for table in sorted(set(insp.get_table_names()) - {"alembic_version"}):
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                          for f in insp.get_foreign_keys(table)),
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in insp.get_indexes(table)),
        }
    return out


def test_the_first_revision_is_the_schema_made_before_migrations(
        target: tuple[str, str | None], engine: sa.Engine, tmp_path: Path) -> None:
    upgrade(engine, target[1], revision="0001")
    with engine.connect() as conn:
        assert current_revision(conn, target[1]) == "0001"
        fresh = schema_of(conn)
    url, schema = target
    old_target = (f"sqlite:///{tmp_path / 'old' / 'portsync.db'}", None) if schema is None else (
        url, f"{schema}_old")
    make_old_database(old_target)
    old = make_engine(*old_target)
    try:
        with old.connect() as conn:
            assert schema_of(conn) == fresh
    finally:
        old.dispose()
        if schema:
            cleanup = sa.create_engine(url)
            with cleanup.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}_old" CASCADE'))
            cleanup.dispose()


def test_the_migrations_arrive_at_the_models(target: tuple[str, str | None], engine: sa.Engine) -> None:
    upgrade(engine, target[1])
    with engine.connect() as conn:
        assert current_revision(conn, target[1]) == HEAD
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_an_old_database_is_stamped_upgraded_and_read_back_through_the_api(
        target: tuple[str, str | None], tmp_path: Path) -> None:
    make_old_database(target)
    before = {r["id"]: r for r in old_rows()["jobs"]}[DONE_JOB]
    app = create_app(make_settings(tmp_path, database_url=target[0], database_schema=target[1]))
    try:
        c = TestClient(app)
        job = c.get(f"/v1/schedules/{DONE_JOB}").json()
        assert job["status"] == "done" and job["problem_name"] == "old-done"
        assert {p["call_id"] for p in job["plan"]["calls"]} == {"C1", "C2"}
        assert job["progress"]["solver_s"] == before["solver_seconds"]
        assert job["progress"]["objective"] == before["objective"] and job["progress"]["improvements"] == 2
        history = c.get(f"/v1/schedules/{DONE_JOB}/improvements?assignments=true").json()
        assert [h["seq"] for h in history] == [1, 2] and history[-1]["final"] is True
        assert all(h["solver_s"] is not None for h in history) and len(history[-1]["assignments"]) == 2
        assert c.get(f"/v1/schedules/{DONE_JOB}/gantt").status_code == 200
        assert c.get(f"/v1/schedules/{QUEUED_JOB}?summary=true").json()["status"] == "queued"
        r = c.post("/v1/schedules", json=tiny_problem("after-upgrade"))
        assert r.status_code == 202, r.text
        assert [j["problem_name"] for j in c.get("/v1/schedules").json()["items"]] == [
            "after-upgrade", "old-queued", "old-done"]
        # The idempotency key of the old job still answers with the old job.
        old_request = {"problem": tiny_problem("old-done"), "options": {"time_limit_s": 5}}
        r = c.post("/v1/schedules", json=old_request, headers={"Idempotency-Key": "old-1"})
        assert r.status_code == 202 and r.json()["id"] == DONE_JOB
        assert r.headers["idempotent-replayed"] == "true"
        with app.state.db.engine.connect() as conn:
            assert current_revision(conn, target[1]) == HEAD
            columns = {c["name"] for c in sa.inspect(conn).get_columns("jobs")}
        assert "solver_s" in columns and "solver_seconds" not in columns
    finally:
        app.state.runner.stop()
        app.state.db.dispose()


def test_upgrade_is_idempotent(target: tuple[str, str | None], engine: sa.Engine) -> None:
    upgrade(engine, target[1])
    with engine.connect() as conn:
        first = schema_of(conn)
    db = Database(*target)
    job_id = db.create_job(owner="", problem_json="{}", problem_name="p", calls=1, options_json="{}",
                           request_hash="h", idempotency_key=None).id
    for _ in range(2):
        db.migrate()
        upgrade(engine, target[1])
    with engine.connect() as conn:
        assert current_revision(conn, target[1]) == HEAD
        assert schema_of(conn) == first
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    row = db.get_job(job_id)
    assert row is not None and row.status == "queued"
    db.dispose()


def test_the_time_columns_migrate_down_and_up_again(target: tuple[str, str | None], tmp_path: Path) -> None:
    make_old_database(target)
    engine = make_engine(*target)
    try:
        upgrade(engine, target[1])
        with engine.begin() as conn:
            command.downgrade(config(conn, target[1]), "0001")
            assert current_revision(conn, target[1]) == "0001"
            solver = conn.execute(sa.text("SELECT solver_seconds FROM jobs WHERE id = :id"),
                                  {"id": DONE_JOB}).scalar_one()
        upgrade(engine, target[1])
        with engine.connect() as conn:
            after = conn.execute(sa.text("SELECT solver_s FROM jobs WHERE id = :id"),
                                 {"id": DONE_JOB}).scalar_one()
        assert solver is not None and after == solver
    finally:
        engine.dispose()
