"""Engines and sessions: SQLite (a file, WAL mode, shared by processes) or PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

#: How long a SQLite connection waits for another's write lock before "database is locked"
#: (the default of PORTSYNC_SQLITE_BUSY_TIMEOUT_S).
DEFAULT_SQLITE_BUSY_TIMEOUT_S = 30.0


def make_engine(url: str, schema: str | None = None,
                sqlite_busy_timeout_s: float = DEFAULT_SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """An engine for `url`. SQLite gets WAL (readers never wait for the writer, nor it for them) and
    a busy timeout (`sqlite_busy_timeout_s`: how long a write waits for the one write lock, held by
    a transaction of another connection or process, before failing with "database is locked"), so
    that processes share the file. On PostgreSQL, `schema` becomes the connections' search_path
    (where the tables live).

    Either way, no code path holds a transaction that has written while it waits for a write of
    another connection of the same process (api/jit/README.md, "Transactions"): on SQLite that
    wait could only end in the busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        busy_ms = int(sqlite_busy_timeout_s * 1000)
        engine = create_engine(
            url, connect_args={"timeout": sqlite_busy_timeout_s, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the repository hands rows out)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed at the end, rolled back on an exception."""
    with sessions() as s, s.begin():
        yield s
