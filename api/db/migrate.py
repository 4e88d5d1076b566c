"""The schema's migrations (Alembic), run by the server at start: `upgrade(engine, schema)`.

No alembic.ini is needed: the Config is built here, pointing at `api/db/migrations/`. At start the
server upgrades the database to the newest revision (`head`); an empty database gets every
revision, one made by portsync before it had migrations (its tables, no `alembic_version`) is
recognised, stamped with the first revision (which describes exactly that schema) and then
upgraded, its data kept. A second server starting on the same PostgreSQL database waits for the
first one's upgrade (an advisory lock), so the revisions run once.

A new revision: change `api/db/models.py`, then write the migration into `versions/`, e.g. with
`alembic.command.revision(config(url=...), "what changes", autogenerate=True)` against a database
at head, and read what it wrote. `tests/api/test_migrations.py` checks that the revisions arrive at
the tables of `models.py`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text

log = logging.getLogger("portsync.api.db")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The revision that creates the schema create_all() made before there were migrations.
BASELINE = "0001"
#: The tables of the baseline: a database with all of them and no alembic_version is stamped.
BASELINE_TABLES = frozenset({"problems", "jobs", "plan_improvements"})
#: Any number will do, as long as it is always the same: the advisory lock of an upgrade.
PG_LOCK = 0x706F7274  # "port"


class UnknownSchema(RuntimeError):
    """The database has some of portsync's tables but not all, and no migration history."""


def config(connection: Connection | None = None, schema: str | None = None, url: str | None = None) -> Config:
    """An Alembic Config for portsync's migrations, on an open connection (or a URL, offline)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = schema
    return cfg


def current_revision(connection: Connection, schema: str | None = None) -> str | None:
    ctx = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return ctx.get_current_revision()


def upgrade(engine: Engine, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default), in one transaction where the
    backend has transactional DDL (PostgreSQL); an old unversioned database is stamped first."""
    postgres = engine.dialect.name == "postgresql"
    schema = schema if postgres else None
    with engine.begin() as conn:
        if postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK})
            if schema:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        cfg = config(conn, schema)
        tables = set(inspect(conn).get_table_names(schema=schema))
        if "alembic_version" not in tables and tables & BASELINE_TABLES:
            missing = BASELINE_TABLES - tables
            if missing:
                raise UnknownSchema(
                    f"the database has portsync tables but not {', '.join(sorted(missing))}, and no "
                    "alembic_version: it was not made by portsync; use an empty database")
            log.warning("database made before migrations: stamped as revision %s, then upgraded", BASELINE)
            command.stamp(cfg, BASELINE)
        before = current_revision(conn, schema)
        command.upgrade(cfg, revision)
        after = current_revision(conn, schema)
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "nothing", after)
