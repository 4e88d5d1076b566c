"""Logging for the API and the workers: plain text (the default) or one JSON object a line, each
with the job or live plan id it is about (`PORTSYNC_LOG_FORMAT=json`).

The ids come from context variables set where the work starts (a job's solve, a live plan's
replan) and copied into the threads it starts, so every line of that work carries them.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

job_id_var: ContextVar[str | None] = ContextVar("portsync_job_id", default=None)
live_plan_id_var: ContextVar[str | None] = ContextVar("portsync_live_plan_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "pid", "msg", "job_id"?, "live_plan_id"?, "exc"?} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "pid": record.process,
            "msg": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None) or job_id_var.get()
        if job_id:
            out["job_id"] = job_id
        plan_id = getattr(record, "live_plan_id", None) or live_plan_id_var.get()
        if plan_id:
            out["live_plan_id"] = plan_id
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def setup_logging(level: str, fmt: str = "text", *, root: bool = False) -> None:
    """portsync's loggers (and with `root`, every logger: a worker's Celery lines too) write to
    stderr in `fmt`; a handler someone else installed is left alone in text mode."""
    target = logging.getLogger() if root or fmt == "json" else logging.getLogger("portsync")
    if fmt == "json":
        for h in list(target.handlers):
            target.removeHandler(h)
    if not target.handlers and (fmt == "json" or not logging.getLogger().handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(formatter(fmt))
        target.addHandler(handler)
    logging.getLogger("portsync").setLevel(level.upper())
    if root:
        logging.getLogger().setLevel(level.upper())
