"""Synchronous solve for small problems, with a time limit capped by configuration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.auth import caller
from api.body import JSONBodyRoute
from api.errors import VALIDATION_TYPE, APIError, field_error, responses
from api.jobs.runner import SolverUnavailable
from api.routes.common import (
    check_limits,
    check_problem,
    effective_options,
    runner_of,
    settings_of,
    split_body,
)
from api.schemas import Plan, SubmitBody

router = APIRouter(prefix="/v1", tags=["solve"], responses=responses(401, 413, 415, 422),
                   route_class=JSONBodyRoute)


@router.post(
    "/solve",
    response_model=Plan,
    operation_id="solveNow",
    responses={200: {"description": "The plan, its KPIs and the FCFS comparison",
                     "headers": {"X-Time-Limit-S": {"schema": {"type": "number"},
                                                    "description": "The time limit the solve ran with."}}}},
    summary="Solve a small problem and wait for the plan",
)
async def solve_now(
    request: Request,
    body: SubmitBody,
    _owner: Annotated[str, Depends(caller)],
    time_limit_s: Annotated[float | None, Query(gt=0, description="Overrides options.time_limit_s.")] = None,
) -> Response:
    """Same body as POST /v1/schedules. The time limit is capped at PORTSYNC_SYNC_TIME_LIMIT_CAP_S
    and the problem at PORTSYNC_SYNC_MAX_CALLS calls; larger work belongs in a job."""
    settings = settings_of(request)
    problem, options, prefix = split_body(body)
    if len(problem.calls) > settings.sync_max_calls:
        raise APIError(422, f"{len(problem.calls)} calls is too many for a synchronous solve (at most "
                       f"{settings.sync_max_calls}); submit it as a job with POST /v1/schedules",
                       title="Problem too large to solve synchronously", type_=VALIDATION_TYPE,
                       errors=[field_error((*prefix, "calls"), f"at most {settings.sync_max_calls} calls",
                                           "too_long")])
    check_limits(problem, prefix, settings)
    opts = await run_in_threadpool(effective_options, options, settings, time_limit_s=time_limit_s,
                                   cap_s=settings.sync_time_limit_cap_s)
    await run_in_threadpool(check_problem, problem, prefix)
    try:
        plan_json = await runner_of(request).solve(problem.model_dump_json(), opts.model_dump_json())
    except SolverUnavailable as exc:
        raise APIError(503, str(exc), headers={"Retry-After": "1"}) from exc
    return Response(plan_json, media_type="application/json",
                    headers={"X-Time-Limit-S": f"{opts.time_limit_s:g}"})
