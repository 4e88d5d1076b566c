"""The tables: problems, jobs and their best-plan improvements, webhook subscriptions and their
deliveries (SQLAlchemy 2 declarative).

The schema is made and changed by the migrations in `api/db/migrations/`; these classes describe
the schema those migrations arrive at (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class JobStatus(StrEnum):
    QUEUED = "queued"
    SOLVING = "solving"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"


TERMINAL = (JobStatus.DONE, JobStatus.STOPPED, JobStatus.FAILED)


class JobKind(StrEnum):
    """What a job does: solve a problem (POST /v1/schedules, /v1/batches), or live one month of a
    capacity study (POST /v1/studies: the problem row holds the month's key and settings)."""

    SOLVE = "solve"
    STUDY_MONTH = "study-month"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class ProblemRow(Base):
    """A submitted problem, stored exactly once per job, validated before it is stored."""

    __tablename__ = "problems"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    calls: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JobRow(Base):
    """One solve job: its state, its latest progress figures and its best plan so far.

    Durations are seconds and end in `_s`: `spent_s` is the solving time of all attempts together
    (what a resumed job subtracts from its time limit), `solver_s` the solver's own time at the
    best plan (optimizer.plan.SolverFacts.seconds)."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        Index("ix_jobs_owner_seq", "owner", "seq"),
        Index("ix_jobs_status_seq", "status", "seq"),
        Index("ix_jobs_status_lease", "status", "lease_expires_at"),
        Index("ix_jobs_batch_seq", "batch_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    problem_id: Mapped[str] = mapped_column(ForeignKey("problems.id"))
    problem_name: Mapped[str] = mapped_column(String(200), default="")
    calls: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    crashes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    spent_s: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    objective: Mapped[float | None] = mapped_column(Float, nullable=True)
    best_bound: Mapped[float | None] = mapped_column(Float, nullable=True)
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    solver_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    solutions: Mapped[int] = mapped_column(Integer, default=0)
    improvements: Mapped[int] = mapped_column(Integer, default=0)
    solver_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    plan: Mapped[str | None] = mapped_column(Text, nullable=True)
    plan_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # On a worker fleet (api.jobs.fleet): the worker process holding the job, until when (its
    # heartbeat extends the lease), and when the job's message last went to the broker.
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    batch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # POST /v1/batches, a study's id
    kind: Mapped[str] = mapped_column(String(16), default=JobKind.SOLVE.value,
                                      server_default=JobKind.SOLVE.value)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # a study month's MonthResult JSON


class StudyRow(Base):
    """A capacity study (POST /v1/studies): what it lives; its months are jobs of kind study-month
    whose batch_id is the study's id."""

    __tablename__ = "studies"
    __table_args__ = (Index("ix_studies_owner_created", "owner", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    spec: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImprovementRow(Base):
    """One best-plan improvement of a job (its figures and the assignments, compact JSON);
    `solver_s` is the solver's time when it found the plan."""

    __tablename__ = "plan_improvements"
    __table_args__ = (Index("ix_plan_improvements_job_seq", "job_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    objective: Mapped[float | None] = mapped_column(Float, nullable=True)
    best_bound: Mapped[float | None] = mapped_column(Float, nullable=True)
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    solver_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    solutions: Mapped[int] = mapped_column(Integer, default=0)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    assignments: Mapped[str] = mapped_column(Text)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookSubscriptionRow(Base):
    """A subscriber's URL for the events of one live plan. `kinds` is a JSON list of event kinds
    (api.live.webhooks.EventKind values); `secret` signs the deliveries and is never given out; `owner` is
the API key's owner id (api.auth), as for jobs.
    `live_plan_id` is a plain string, not a foreign key (the live plans have no table yet)."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_live_plan_id", "live_plan_id", "active"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    url: Mapped[str] = mapped_column(Text)
    live_plan_id: Mapped[str] = mapped_column(String(255))
    secret: Mapped[str] = mapped_column(String(255))
    kinds: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDeliveryRow(Base):
    """One event for one subscription (the outbox): `id` is the delivery id a receiver sees on every
    attempt, `seq` the creation order, `next_attempt_at` when the deliverer may (re)try it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_seq", "subscription_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    live_plan_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LivePlanStatus(StrEnum):
    PLANNING = "planning"  # version 1 is being solved
    LIVE = "live"
    FAILED = "failed"  # version 1 could not be made (the error says why)


class LivePlanRow(Base):
    """A standing plan that follows the ports' events; `state` is the facts after `version`."""

    __tablename__ = "live_plans"
    __table_args__ = (Index("ix_live_plans_owner_seq", "owner", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    calls: Mapped[int] = mapped_column(Integer, default=0)
    settings: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=LivePlanStatus.PLANNING.value)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # On a fleet (api.live.fleet): the worker process replanning it, until when, and when a
    # message for it went out unclaimed; NULL with the embedded replanner
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LiveEventRow(Base):
    """One accepted event, in the order accepted; `version` is the version that applied it (None
    while it waits for the next replan)."""

    __tablename__ = "live_events"
    __table_args__ = (
        UniqueConstraint("live_plan_id", "event_id", name="uq_live_events_plan_event"),
        Index("ix_live_events_plan_version", "live_plan_id", "version"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    live_plan_id: Mapped[str] = mapped_column(ForeignKey("live_plans.id"))
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LiveVersionRow(Base):
    """One version of a live plan (optimizer.live.replan.Version as JSON)."""

    __tablename__ = "live_versions"
    __table_args__ = (UniqueConstraint("live_plan_id", "number", name="uq_live_versions_plan_number"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    live_plan_id: Mapped[str] = mapped_column(ForeignKey("live_plans.id"))
    number: Mapped[int] = mapped_column(Integer)
    now: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- DCSA JIT 2.0 (api/jit) ---------------------------------------------------------------------
#
# Each record keeps its body (the standard's JSON, as portsync would return it) and the ids and
# filters it is looked up by. `origin` is "carrier" (received) or "portsync" (derived or sent by
# portsync); `live_plan_id` and `call_id` bind a record to a portsync call (None: not bound).
# `seq` is the order records arrived in.


class JitPortCallRow(Base):
    __tablename__ = "jit_port_calls"
    __table_args__ = (Index("ix_jit_port_calls_plan_call", "live_plan_id", "call_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    port_call_id: Mapped[str] = mapped_column(String(36), unique=True)
    un_location_code: Mapped[str] = mapped_column(String(5), index=True)
    vessel_imo: Mapped[str | None] = mapped_column(String(8), nullable=True)
    vessel_mmsi: Mapped[str | None] = mapped_column(String(9), nullable=True)
    origin: Mapped[str] = mapped_column(String(16))
    live_plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    omitted: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JitTerminalCallRow(Base):
    __tablename__ = "jit_terminal_calls"
    __table_args__ = (Index("ix_jit_terminal_calls_plan_call", "live_plan_id", "call_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    terminal_call_id: Mapped[str] = mapped_column(String(36), unique=True)
    port_call_id: Mapped[str] = mapped_column(String(36), index=True)
    terminal_call_reference: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    origin: Mapped[str] = mapped_column(String(16))
    live_plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    omitted: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JitPortCallServiceRow(Base):
    __tablename__ = "jit_port_call_services"
    __table_args__ = (Index("ix_jit_port_call_services_plan_call", "live_plan_id", "call_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    port_call_service_id: Mapped[str] = mapped_column(String(36), unique=True)
    terminal_call_id: Mapped[str] = mapped_column(String(36), index=True)
    service_type_code: Mapped[str] = mapped_column(String(50))
    event_type_code: Mapped[str] = mapped_column(String(4))
    origin: Mapped[str] = mapped_column(String(16))
    live_plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    declined: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JitTimestampRow(Base):
    """`revision` counts the changes a re-sent timestampID made (0: as first received)."""

    __tablename__ = "jit_timestamps"
    __table_args__ = (Index("ix_jit_timestamps_service_seq", "port_call_service_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp_id: Mapped[str] = mapped_column(String(36), unique=True)
    port_call_service_id: Mapped[str] = mapped_column(String(36))
    classifier_code: Mapped[str] = mapped_column(String(3))
    reply_to_timestamp_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    origin: Mapped[str] = mapped_column(String(16))
    live_plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JitVesselStatusRow(Base):
    """The latest Vessel Status of a Port Call Service (a PUT replaces it)."""

    __tablename__ = "jit_vessel_statuses"

    port_call_service_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
