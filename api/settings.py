"""Service settings, read from environment variables prefixed ``PORTSYNC_``.

Every limit a client can hit lives here so an operator can change it without code.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.db.engine import DEFAULT_SQLITE_BUSY_TIMEOUT_S
from optimizer.domain import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_REASON_CHARS


def _cores() -> int:
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Configuration of the API server (see the README's table of ``PORTSYNC_*`` variables)."""

    model_config = SettingsConfigDict(env_prefix="PORTSYNC_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/portsync.db",
        description="SQLAlchemy URL; SQLite file by default, e.g. postgresql+psycopg://user@host/db.",
    )
    database_schema: str | None = Field(
        default=None, description="PostgreSQL only: schema to keep the tables in (search_path)."
    )
    sqlite_busy_timeout_s: float = Field(
        default=DEFAULT_SQLITE_BUSY_TIMEOUT_S, ge=0, le=600,
        description="SQLite only (always in WAL mode): how long a write waits for another connection's "
        "or process's write transaction before failing with 'database is locked'.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1, le=64, description="Solver processes for jobs.")
    sync_workers: int = Field(default=1, ge=1, le=64, description="Solver processes for POST /v1/solve.")
    solver_threads: int = Field(
        default_factory=_cores, ge=1, le=64, description="Cap on CP-SAT threads of one solve."
    )
    max_body_bytes: int = Field(default=20_000_000, ge=256, description="Largest request body accepted.")
    max_calls: int = Field(default=5000, ge=1, description="Largest problem (calls) a job or a check takes.")
    max_batch_items: int = Field(default=100, ge=1, le=10_000, description="Most solves one POST /v1/batches "
                                 "asks for.")
    max_name_chars: int = Field(default=MAX_NAME_CHARS, ge=1, le=MAX_NAME_CHARS,
                                description="Longest name (problem, port, berth, vessel).")
    max_description_chars: int = Field(default=MAX_DESCRIPTION_CHARS, ge=1, le=MAX_DESCRIPTION_CHARS,
                                       description="Longest problem description.")
    max_reason_chars: int = Field(default=MAX_REASON_CHARS, ge=1, le=MAX_REASON_CHARS,
                                  description="Longest reason (closure, link, maintenance window).")
    default_time_limit_s: float = Field(default=30.0, gt=0, description="Job time limit when none is given.")
    max_time_limit_s: float = Field(default=3600.0, gt=0, description="Cap on a job's time limit.")
    sync_time_limit_cap_s: float = Field(default=10.0, gt=0, description="Cap on /v1/solve's time limit.")
    sync_max_calls: int = Field(default=300, ge=1, description="Largest problem (calls) /v1/solve takes.")
    progress_interval_s: float = Field(
        default=0.5, gt=0, description="At most one stored best-plan improvement per interval."
    )
    poll_interval_s: float = Field(
        default=0.25, gt=0, le=1.0, description="How often a solving job looks for a stop request."
    )
    stop_wait_s: float = Field(
        default=3.0, ge=0, le=30, description="How long POST .../stop waits for the solve to end."
    )
    solver_nice: int = Field(
        default=10, ge=0, le=19, description="Niceness of the solver processes, so the API stays quick."
    )
    max_crashes: int = Field(default=3, ge=1, description="Solver process crashes before a job fails.")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated API keys; empty runs the server open."
    )
    live_batch_window_s: float = Field(
        default=0.5, ge=0, le=60, description="Events a live plan receives within this long of the first "
        "waiting one go into the same version."
    )
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Longest wait for a webhook receiver's answer (connect + read)."
    )
    webhook_retry_base_s: float = Field(
        default=1.0, gt=0, description="Delay before a delivery's first retry; doubled after each failure."
    )
    webhook_retry_cap_s: float = Field(default=600.0, gt=0, description="Longest delay between two attempts.")
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts of one delivery before it is marked failed."
    )
    webhook_concurrency: int = Field(
        default=16, ge=1, le=256, description="Deliveries sent at the same time (to distinct subscriptions)."
    )
    webhook_poll_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="How often the deliverer looks for due deliveries (retries, "
        "other processes' events); a local enqueue wakes it at once."
    )
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or json: one JSON object a line, with the job or live plan id."
    )
    # -- a worker fleet (api.jobs.fleet): Celery on RabbitMQ, PostgreSQL as the store ------------
    broker_url: str | None = Field(
        default=None, description="amqp://user:password@host:5672/vhost: solve jobs on a fleet of "
        "`portsync worker` processes; unset, the API solves them in its own solver processes.",
    )
    lease_s: float = Field(
        default=30.0, ge=2, le=3600, description="Fleet: a worker's claim on a job runs out this long after "
        "its last heartbeat (one a second); then the job is queued again for another worker.",
    )
    reconcile_interval_s: float = Field(
        default=5.0, gt=0, le=600,
        description="Fleet: how often expired leases and unclaimed jobs are looked for.",
    )
    republish_after_s: float = Field(
        default=120.0, gt=0, description="Fleet: a job queued this long since its message was published, "
        "and not claimed, is published again (its message may be lost; a duplicate changes nothing).",
    )
    worker_concurrency: int = Field(
        default_factory=_cores, ge=1, le=256, description="Fleet: solver processes of one `portsync worker`.",
    )

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, v: str | None) -> str | None:
        v = v.strip() if v is not None else None
        if not v:
            return None
        if not v.startswith(("amqp://", "amqps://", "pyamqp://")):
            raise ValueError("PORTSYNC_BROKER_URL must be an AMQP URL (amqp://user:password@host:5672/vhost)")
        return v

    @model_validator(mode="after")
    def _fleet_store(self) -> Settings:
        if self.broker_url is not None and not self.database_url.startswith("postgresql"):
            raise ValueError("PORTSYNC_BROKER_URL needs a PostgreSQL PORTSYNC_DATABASE_URL "
                             "(postgresql+psycopg://...): the workers and the API share the store")
        return self

    @property
    def fleet(self) -> bool:
        """Jobs are solved by `portsync worker` processes through the broker."""
        return self.broker_url is not None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: object) -> object:
        if isinstance(v, str):
            return [k.strip() for k in v.split(",") if k.strip()]
        return v

    @property
    def open(self) -> bool:
        return not self.api_keys


def settings_or_exit(program: str) -> Settings:
    """The settings from the environment, or each bad PORTSYNC_* variable named on stderr and exit
    code 2 (a start-up script sees what to fix, not a traceback)."""
    import sys

    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"])
            name = f"PORTSYNC_{loc.upper()}" if loc else "settings"
            print(f"{program}: {name}: {e['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        raise SystemExit(2) from None
