"""PORTSYNC_LOG_FORMAT=json: one JSON object a line, naming the job or live plan it is about."""

from __future__ import annotations

import contextvars
import json
import logging
import threading

from api.logs import JsonFormatter, job_id_var, live_plan_id_var


def _line(name: str = "portsync.api.jobs", msg: str = "solving %s", arg: str = "x") -> dict[str, object]:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, (arg,), None)
    out: dict[str, object] = json.loads(JsonFormatter().format(record))
    return out


def test_a_line_names_the_job_set_where_the_work_started_and_in_the_threads_it_starts() -> None:
    token = job_id_var.set("job-1")
    try:
        assert _line()["job_id"] == "job-1" and _line()["msg"] == "solving x"
        seen: list[dict[str, object]] = []
        t = threading.Thread(target=contextvars.copy_context().run, args=(lambda: seen.append(_line()),))
        t.start()
        t.join()
        assert seen[0]["job_id"] == "job-1"
    finally:
        job_id_var.reset(token)
    assert "job_id" not in _line()


def test_a_line_names_the_live_plan_and_keeps_the_level_and_logger() -> None:
    token = live_plan_id_var.set("plan-7")
    try:
        line = _line("portsync.api.live", "version %s", "3")
    finally:
        live_plan_id_var.reset(token)
    assert line["live_plan_id"] == "plan-7" and line["level"] == "INFO"
    assert line["logger"] == "portsync.api.live"
    assert line["msg"] == "version 3" and "ts" in line and "job_id" not in line
