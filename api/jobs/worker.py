"""`portsync worker`: one worker of the fleet (api.jobs.fleet), a Celery prefork worker.

Its main process consumes the queues `portsync.jobs`, `portsync.solve` and `portsync.live`
(live plans' replans, api.live.fleet), prefetch 1 per process, hands each message to one of its
solver processes (`--concurrency`, the cores by default: one solve or replan per process) and runs a
reconciler thread (leases run out, lost messages).
SIGTERM (or Ctrl-C) is a warm shutdown: the jobs this worker holds are handed back at once,
queued again with a new attempt and published, so another worker resumes each from its best
stored plan while this one's solves see their attempt superseded and stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from typing import Annotated, Any

import typer

log = logging.getLogger("portsync.api.jobs")

_main_db: Any = None  # the main process's store (the reconciler's), never used by a solver process


def forget_inherited_connections() -> None:
    """In a freshly forked solver process: the main process's pooled connections are its own."""
    if _main_db is not None:
        _main_db.engine.dispose(close=False)


def worker_command(
    concurrency: Annotated[int | None, typer.Option(
        help="Solver processes (one solve each); default PORTSYNC_WORKER_CONCURRENCY or the cores.")] = None,
    queues: Annotated[str, typer.Option(
        help="Queues to consume: portsync.jobs (jobs), portsync.solve (POST /v1/solve), "
             "portsync.live (live plans' replans).")
    ] = "portsync.jobs,portsync.solve,portsync.live",
    name: Annotated[str | None, typer.Option(
        help="Node name (default portsync-<pid>@<host>): how GET /v1/workers and Flower name it.")] = None,
    loglevel: Annotated[str | None, typer.Option(help="Default PORTSYNC_LOG_LEVEL.")] = None,
) -> None:
    """Start a worker of the fleet: solves jobs from the broker (PORTSYNC_BROKER_URL) in the store
    (PORTSYNC_DATABASE_URL, PostgreSQL)."""
    from api.settings import settings_or_exit

    settings = settings_or_exit("portsync worker")
    if not settings.fleet:
        typer.echo("portsync worker: PORTSYNC_BROKER_URL is not set (amqp://user:password@host:5672/vhost); "
                   "a worker takes its jobs from the broker", err=True)
        raise typer.Exit(2)
    run(settings, concurrency=concurrency or settings.worker_concurrency, queues=queues,
        name=name or f"portsync-{os.getpid()}@{socket.gethostname()}",
        loglevel=(loglevel or settings.log_level).upper())


def run(settings: Any, *, concurrency: int, queues: str, name: str, loglevel: str) -> None:
    """Run the worker until it is told to stop (SIGTERM, SIGINT)."""
    global _main_db
    from celery import signals

    from api.db import Database
    from api.jobs.fleet import Publisher, Reconciler, celery_app, configure
    from api.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format, root=True)
    app = configure(celery_app, settings)
    publish = Publisher(app)
    db = Database(settings.database_url, settings.database_schema, settings.sqlite_busy_timeout_s)
    db.migrate()
    _main_db = db
    reconciler = Reconciler(db, settings, publish)

    @signals.worker_ready.connect(weak=False)
    def _ready(**_: Any) -> None:
        reconciler.start()
        log.info("worker %s ready: %d solver process(es), queues %s", name, concurrency, queues)

    @signals.worker_shutting_down.connect(weak=False)
    def _shutting_down(**_: Any) -> None:
        handed = 0
        with contextlib.suppress(Exception):
            for owner, job_id, attempt, _expiry, _client in db.holders():
                if owner.startswith(f"{name}/") and db.release_job(job_id, attempt):
                    publish(job_id)
                    handed += 1
        if handed:
            log.warning("worker %s shutting down: %d job(s) handed back to the queue", name, handed)
        reconciler.stop()

    @signals.worker_process_init.connect(weak=False)
    def _solver_process(**_: Any) -> None:
        if settings.solver_nice:
            with contextlib.suppress(OSError):
                os.nice(settings.solver_nice)

    import api.live.fleet  # noqa: F401  registers portsync.replan
    import optimizer.live.replan
    import optimizer.solver  # noqa: F401  imported once, before the solver processes fork

    app.worker_main([
        "worker", "--pool=prefork", f"--concurrency={concurrency}", "--prefetch-multiplier=1",
        f"--queues={queues}", f"--hostname={name}", f"--loglevel={loglevel}", "--task-events",
        "--without-mingle", "--without-gossip",
    ])
