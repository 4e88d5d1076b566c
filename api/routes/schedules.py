"""Solve jobs: submit, read (with the best plan so far), list, stop, history, Gantt chart."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.auth import caller
from api.body import JSONBodyRoute
from api.db import TERMINAL, IdempotencyConflict, JobRow, JobStatus, read_assignments
from api.errors import IDEMPOTENCY_TYPE, APIError, field_error, not_found, responses
from api.routes.common import (
    check_limits,
    check_problem,
    db_of,
    effective_options,
    job_path,
    job_with_plan,
    request_hash,
    runner_of,
    settings_of,
    split_body,
    summary,
)
from api.schemas import ImprovementOut, JobList, JobOut, JobSummary, SubmitBody

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], responses=responses(401, 422),
                   route_class=JSONBodyRoute)

JobId = Annotated[str, Path(description="The job id returned by POST /v1/schedules.")]
Owner = Annotated[str, Depends(caller)]


@router.post(
    "",
    status_code=202,
    operation_id="submitSchedule",
    response_model=JobSummary,
    responses={**responses(413, 415), 202: {"description": "Accepted: the job is stored and queued; poll its "
                                       "Location.", "headers": {"Location": {"schema": {"type": "string"}}}}},
    summary="Submit a problem as a solve job",
)
def submit(
    request: Request,
    response: Response,
    body: SubmitBody,
    owner: Owner,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=255,
        description="A retry with the same key and body returns the same job; another body is refused.",
    )] = None,
    time_limit_s: Annotated[float | None, Query(
        gt=0, description="Overrides options.time_limit_s (handy with a bare problem body).",
    )] = None,
) -> JobSummary:
    """Store the problem and queue a job. The body is `{"problem": ..., "options": ...}` or a bare problem.

    The problem is validated in full before anything is stored: a bad one gets 422 with every issue
    and its field path, and nothing is kept.
    """
    settings = settings_of(request)
    db = db_of(request)
    problem, options, prefix = split_body(body)
    check_limits(problem, prefix, settings)
    opts = effective_options(options, settings, time_limit_s=time_limit_s)
    check_problem(problem, prefix)
    try:
        new = db.create_job(
            owner=owner, problem_json=problem.model_dump_json(), problem_name=problem.name,
            calls=len(problem.calls), options_json=opts.model_dump_json(),
            request_hash=request_hash(problem, opts), idempotency_key=idempotency_key,
        )
    except IdempotencyConflict as exc:
        raise APIError(
            422, "this Idempotency-Key was already used with a different request body; use a new key "
            "for a new problem", title="Idempotency-Key reused", type_=IDEMPOTENCY_TYPE,
            errors=[field_error(("header", "Idempotency-Key"), "already used with a different body",
                                "idempotency_key_reused")],
        ) from exc
    if not new.replayed:
        runner_of(request).submit(new.id)
    row = db.get_job_summary(new.id)
    assert row is not None
    response.headers["Location"] = job_path(request, new.id)
    if new.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return summary(request, row)


@router.get("", response_model=JobList, operation_id="listSchedules", summary="List your jobs, newest first")
def list_jobs(
    request: Request,
    owner: Owner,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[str | None, Query(
        pattern=r"^[0-9]{1,18}$", description="next_cursor of the previous page.",
    )] = None,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status.")] = None,
) -> JobList:
    rows = db_of(request).list_jobs(owner, limit=limit + 1, before_seq=int(cursor) if cursor else None,
                                    status=status.value if status else None)
    more = len(rows) > limit
    rows = rows[:limit]
    return JobList(items=[summary(request, r) for r in rows],
                   next_cursor=str(rows[-1].seq) if more and rows else None)


def _job(request: Request, job_id: str, owner: str) -> JobRow:
    row = db_of(request).get_job_summary(job_id, owner)
    if row is None:
        raise not_found("job", job_id)
    return row


@router.get(
    "/{job_id}",
    response_model=JobOut,
    operation_id="getSchedule",
    responses=responses(404),
    summary="Read a job: status, progress, and the best plan so far",
)
def get_job(
    request: Request,
    job_id: JobId,
    owner: Owner,
    summary_only: Annotated[bool, Query(
        alias="summary", description="Leave the plan out: the answer has no `plan` key (`has_plan` says "
        "whether there is one).",
    )] = False,
) -> Response:
    """While solving, `plan` is the best plan found so far (with its KPIs and the FCFS comparison);
    when done or stopped, the final plan. `plan` is null until the first plan is found. With
    `summary=true` there is no `plan` key at all; `has_plan` tells whether a plan is stored."""
    if summary_only:
        row = _job(request, job_id, owner)
        return Response(summary(request, row).model_dump_json(), media_type="application/json")
    full = db_of(request).get_job(job_id, owner)
    if full is None:
        raise not_found("job", job_id)
    head = summary(request, full).model_dump_json()
    body = head[:-1] + ',"plan":' + (full.plan or "null") + "}"
    return Response(body, media_type="application/json")


#: How often a stop request looks whether the job has ended.
STOP_POLL_S = 0.05


async def _stop(request: Request, response: Response, job_id: str, owner: str) -> JobSummary:
    """Flag the job, then wait (at most PORTSYNC_STOP_WAIT_S) until it has left queued/solving.
    200 with the final state once it has; 202 with the current one if it is still ending."""
    db = db_of(request)
    row = await run_in_threadpool(_job, request, job_id, owner)
    if row.status not in TERMINAL:
        await run_in_threadpool(db.request_stop, job_id)
        deadline = time.monotonic() + settings_of(request).stop_wait_s
        while True:
            row = await run_in_threadpool(_job, request, job_id, owner)
            if row.status in TERMINAL or time.monotonic() >= deadline:
                break
            await asyncio.sleep(STOP_POLL_S)
    if row.status not in TERMINAL:
        response.status_code = 202
        response.headers["Location"] = job_path(request, job_id)
        response.headers["Retry-After"] = "1"
    return summary(request, row)


STOP_RESPONSES = {**responses(404), 202: {
    "model": JobSummary, "description": "The stop is requested but the job has not ended within "
    "PORTSYNC_STOP_WAIT_S: it is still `solving` with `stop_requested`; poll its Location."}}


@router.post(
    "/{job_id}/stop",
    response_model=JobSummary,
    operation_id="stopSchedule",
    responses=STOP_RESPONSES,
    summary="Stop a job and keep its best plan",
)
async def stop_job(request: Request, response: Response, job_id: JobId, owner: Owner) -> JobSummary:
    """Ends the search within 2 s; the best plan found so far stays the job's plan. A queued job is
    stopped before it starts. Answers 200 once the job has stopped, with its final state; 202 if it
    is still ending after PORTSYNC_STOP_WAIT_S."""
    return await _stop(request, response, job_id, owner)


@router.delete(
    "/{job_id}",
    response_model=JobSummary,
    operation_id="deleteSchedule",
    responses=STOP_RESPONSES,
    summary="Same as POST /stop: stop the job, keep its plan and record",
)
async def delete_job(request: Request, response: Response, job_id: JobId, owner: Owner) -> JobSummary:
    """Jobs are kept as a record; DELETE stops a queued or solving job like POST .../stop."""
    return await _stop(request, response, job_id, owner)


@router.get(
    "/{job_id}/improvements",
    response_model=list[ImprovementOut],
    operation_id="listScheduleImprovements",
    responses=responses(404),
    summary="The history of best-plan improvements",
)
def improvements(
    request: Request,
    job_id: JobId,
    owner: Owner,
    assignments: Annotated[bool, Query(description="Include each improvement's assignments.")] = False,
) -> list[ImprovementOut]:
    _job(request, job_id, owner)
    return [
        ImprovementOut(seq=r.seq, attempt=r.attempt, at=r.created_at, objective=r.objective,
                       best_bound=r.best_bound, gap=r.gap, solver_s=r.solver_s, solutions=r.solutions,
                       final=r.final, assignments=read_assignments(r.assignments) if assignments else None)
        for r in db_of(request).improvements(job_id)
    ]


@router.get(
    "/{job_id}/gantt",
    response_class=HTMLResponse,
    operation_id="getScheduleGantt",
    responses={**responses(404, 409), 200: {"content": {"text/html": {"schema": {"type": "string"}}},
                                           "description": "A self-contained HTML page"}},
    summary="The job's plan as a Gantt chart (HTML)",
)
def gantt(request: Request, job_id: JobId, owner: Owner) -> HTMLResponse:
    """One row per berth, grouped by port. While the job is solving the page reloads itself every
    5 seconds to show the latest best plan."""
    from optimizer.gantt import gantt_html

    row, problem, plan = job_with_plan(request, job_id, owner)
    title = f"Berth plan · {problem.name} · job {row.status}"
    page = gantt_html(problem, plan, title)
    if row.status in (JobStatus.SOLVING.value, JobStatus.QUEUED.value):
        page = page.replace("<head>", '<head><meta http-equiv="refresh" content="5">', 1)
    return HTMLResponse(page)
