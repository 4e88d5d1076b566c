"""What the routers share: the app's state, option limits, problem validation, job views."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import Request
from pydantic import BaseModel

from api.db import TERMINAL, Database, JobRow, JobStatus, utcnow
from api.errors import VALIDATION_TYPE, APIError, field_error, invalid_problem, not_found
from api.jobs.runner import Runner
from api.schemas import JobLinks, JobProgress, JobSummary, SubmitRequest
from api.settings import Settings
from optimizer.domain import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_REASON_CHARS, Problem
from optimizer.params import SolveOptions
from optimizer.plan import Plan
from optimizer.validation import InvalidProblem, Issue, validate_problem

if TYPE_CHECKING:
    from api.jobs.fleet import FleetRunner

#: CP-SAT parameters a client may not set through options.cp_sat: the server decides them.
RESERVED_CP_SAT = frozenset({
    "max_time_in_seconds", "num_workers", "num_search_workers", "log_search_progress", "log_to_stdout",
})


def settings_of(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def db_of(request: Request) -> Database:
    d: Database = request.app.state.db
    return d


def runner_of(request: Request) -> Runner | FleetRunner:
    """The embedded runner (solver processes in this process) or, with a broker, the fleet's."""
    r: Runner | FleetRunner = request.app.state.runner
    return r


def split_body(body: SubmitRequest | Problem) -> tuple[Problem, SolveOptions | None, tuple[str, ...]]:
    """(problem, options, path of the problem in the body) for either accepted body form."""
    if isinstance(body, SubmitRequest):
        return body.problem, body.options, ("body", "problem")
    return body, None, ("body",)


#: Free-text fields of the problem's records and the setting that caps each.
TEXT_LIMITS = {"name": "max_name_chars", "description": "max_description_chars", "reason": "max_reason_chars"}
RECORD_CAPS = {"max_name_chars": MAX_NAME_CHARS, "max_description_chars": MAX_DESCRIPTION_CHARS,
               "max_reason_chars": MAX_REASON_CHARS}


Loc = tuple[str | int, ...]


def _texts(record: BaseModel, loc: Loc = ()) -> Iterator[tuple[Loc, str, str]]:
    """(path, setting, text) of every free-text field in `record` and the records below it."""
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(value, str):
            if name in TEXT_LIMITS:
                yield (*loc, name), TEXT_LIMITS[name], value
        elif isinstance(value, BaseModel):
            yield from _texts(value, (*loc, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _texts(item, (*loc, name, i))


def check_limits(problem: Problem, prefix: Sequence[str | int], settings: Settings,
                 max_calls: int | None = None) -> None:
    """This server's limits on the problem's size and texts: 422 naming each field beyond them."""
    cap = settings.max_calls if max_calls is None else max_calls
    errors = []
    if len(problem.calls) > cap:
        errors.append(field_error((*prefix, "calls"), f"at most {cap} calls on this server "
                                  f"(PORTSYNC_MAX_CALLS); this problem has {len(problem.calls)}", "too_long"))
    limits = {s: getattr(settings, s) for s in RECORD_CAPS}
    if limits != RECORD_CAPS:  # at the records' own caps pydantic has checked them already
        for loc, setting, text in _texts(problem):
            if len(text) > limits[setting]:
                errors.append(field_error(
                    (*prefix, *loc), f"at most {limits[setting]} characters on this server "
                    f"(PORTSYNC_{setting.upper()}); this one has {len(text)}", "string_too_long"))
    if errors:
        n = len(errors)
        raise APIError(422, f"the problem exceeds {n} limit{'s' if n != 1 else ''} of this server: "
                       + "; ".join(f"{e.field}: {e.msg}" for e in errors[:5]) + ("; ..." if n > 5 else ""),
                       title="Problem too large", type_=VALIDATION_TYPE, errors=errors)


def check_problem(problem: Problem, prefix: Sequence[str | int]) -> None:
    """The whole-problem checks of optimizer.validation; 422 with every issue's path."""
    try:
        issues = validate_problem(problem)
    except Exception as exc:  # a validator bug must not look like the client's fault
        issues = [Issue(loc=[], msg=f"the problem could not be validated: {exc}", type="validation_failed")]
    if issues:
        raise invalid_problem(InvalidProblem(issues), prefix)


def effective_options(
    options: SolveOptions | None,
    settings: Settings,
    *,
    time_limit_s: float | None = None,
    cap_s: float | None = None,
    options_loc: Sequence[str | int] = ("body", "options"),
) -> SolveOptions:
    """The options a solve runs with: server defaults and caps applied, cp_sat checked."""
    opts = options.model_copy(deep=True) if options is not None else SolveOptions()
    given = options is not None and "time_limit_s" in options.model_fields_set
    if time_limit_s is not None:
        opts.time_limit_s = time_limit_s
    elif not given:
        opts.time_limit_s = settings.default_time_limit_s
    if cap_s is not None:
        opts.time_limit_s = min(opts.time_limit_s, cap_s)
    elif opts.time_limit_s > settings.max_time_limit_s:
        loc = ("query", "time_limit_s") if time_limit_s is not None else (*options_loc, "time_limit_s")
        raise APIError(422, f"time_limit_s {opts.time_limit_s:g} exceeds this server's maximum of "
                       f"{settings.max_time_limit_s:g} s", title="Invalid request", type_=VALIDATION_TYPE,
                       errors=[field_error(loc, f"at most {settings.max_time_limit_s:g} s on this server",
                                           "less_than_equal")])
    opts.workers = min(opts.workers, settings.solver_threads)
    opts.log_search = False
    check_cp_sat(opts, options_loc)
    return opts


def check_cp_sat(opts: SolveOptions, options_loc: Sequence[str | int]) -> None:
    if not opts.cp_sat:
        return
    from ortools.sat.python import cp_model

    from optimizer.solver import apply_parameters

    errors = []
    for name in opts.cp_sat:
        if name in RESERVED_CP_SAT:
            errors.append(field_error((*options_loc, "cp_sat", name),
                                      "set by the server: use time_limit_s and workers", "reserved"))
    if not errors:
        try:
            apply_parameters(cp_model.CpSolver(), opts)
        except ValueError as exc:
            msg = str(exc)
            name = msg.split(":", 1)[0].removeprefix("options.cp_sat.")
            errors.append(field_error((*options_loc, "cp_sat", name), msg.split(": ", 1)[-1], "cp_sat"))
    if errors:
        raise APIError(422, "; ".join(f"{e.field}: {e.msg}" for e in errors), title="Invalid request",
                       type_=VALIDATION_TYPE, errors=errors)


def request_hash(problem: Problem, options: SolveOptions) -> str:
    """SHA-256 of the request as canonical JSON (keys sorted, so the hash does not depend on field
    order); the same function as before, so idempotency keys stored earlier still match."""
    data = {"problem": problem.model_dump(mode="json"), "options": options.model_dump(mode="json")}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def job_path(request: Request, job_id: str) -> str:
    return f"{request.scope.get('root_path', '')}/v1/schedules/{job_id}"


def _elapsed(row: JobRow, now: datetime) -> float | None:
    if row.started_at is None:
        return None
    end = row.finished_at if row.status in TERMINAL and row.finished_at is not None else now
    return max(0.0, (end - row.started_at).total_seconds())


def summary(request: Request, row: JobRow) -> JobSummary:
    base = job_path(request, row.id)
    return JobSummary(
        id=row.id, status=JobStatus(row.status), problem_name=row.problem_name, calls=row.calls,
        created_at=row.created_at,
        started_at=row.started_at, finished_at=row.finished_at, stop_requested=row.stop_requested,
        has_plan=row.improvements > 0, error=row.error, restarts=row.restarts,
        options=SolveOptions.model_validate_json(row.options),
        progress=JobProgress(
            objective=row.objective, best_bound=row.best_bound, gap=row.gap, solutions=row.solutions,
            improvements=row.improvements, solver_s=row.solver_s,
            elapsed_s=_elapsed(row, utcnow()),
            solver_status=row.solver_status,
        ),
        links=JobLinks(self=base, gantt=f"{base}/gantt", stop=f"{base}/stop",
                       improvements=f"{base}/improvements"),
    )


def job_with_plan(request: Request, job_id: str, owner: str | None) -> tuple[JobRow, Problem, Plan]:
    """The job, its problem and its best plan, for the views of a plan (Gantt chart, board): 404
    for an unknown job, 409 while it has no plan. The stored problem was validated in full when it
    was submitted, so it is read as it is."""
    db = db_of(request)
    row = db.get_job(job_id, owner)
    if row is None:
        raise not_found("job", job_id)
    if row.plan is None:
        raise APIError(409, f"job {job_id} has no plan yet (status {row.status}); try again shortly",
                       title="No plan yet")
    body = db.problem_body(row.problem_id)
    assert body is not None
    return row, Problem.model_validate_json(body), Plan.model_validate_json(row.plan)
