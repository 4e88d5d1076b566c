"""Persistence: problems, jobs, best plans and their history of improvements (SQLAlchemy 2).

`models` holds the tables, `engine` the engines and sessions, `repository` the `Database` class
that every read and write goes through, `migrations` the schema's Alembic history.
"""

from api.db.engine import make_engine, make_sessions, transaction
from api.db.models import (
    TERMINAL,
    Base,
    ImprovementRow,
    JitPortCallRow,
    JitPortCallServiceRow,
    JitTerminalCallRow,
    JitTimestampRow,
    JitVesselStatusRow,
    JobKind,
    JobRow,
    JobStatus,
    ProblemRow,
    StudyRow,
    UTCDateTime,
    utcnow,
)
from api.db.repository import (
    ASSIGNMENTS,
    Database,
    IdempotencyConflict,
    NewJob,
    assignments_json,
    read_assignments,
)

__all__ = [
    "ASSIGNMENTS", "TERMINAL", "Base", "Database", "IdempotencyConflict", "ImprovementRow", "JitPortCallRow",
    "JitPortCallServiceRow", "JitTerminalCallRow", "JitTimestampRow", "JitVesselStatusRow", "JobKind",
    "JobRow", "JobStatus", "NewJob", "ProblemRow", "StudyRow", "UTCDateTime", "assignments_json",
    "make_engine", "make_sessions", "read_assignments", "transaction", "utcnow",
]
