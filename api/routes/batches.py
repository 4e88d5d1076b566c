"""Fan-out: one request, many solves (a benchmark's seeds, a capacity study's levels), each a job
on the embedded runner or the worker fleet, gathered into one answer."""

from __future__ import annotations

import statistics
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from api.auth import caller
from api.body import JSONBodyRoute
from api.db import TERMINAL
from api.errors import VALIDATION_TYPE, APIError, field_error, not_found, responses
from api.routes.common import (
    check_limits,
    check_problem,
    db_of,
    effective_options,
    request_hash,
    runner_of,
    settings_of,
    summary,
)
from api.schemas import BatchBest, BatchObjective, BatchOut, BatchRequest
from optimizer.domain import Problem
from optimizer.params import SolveOptions

router = APIRouter(prefix="/v1/batches", tags=["batches"], responses=responses(401, 422),
                   route_class=JSONBodyRoute)

BatchId = Annotated[str, Path(description="The batch id returned by POST /v1/batches.")]
Owner = Annotated[str, Depends(caller)]


Loc = tuple[str | int, ...]
#: One solve of a batch: its problem and options, and where each is in the body (for errors).
Item = tuple[Problem, SolveOptions | None, Loc, Loc]


def _items(body: BatchRequest, max_items: int) -> list[Item]:
    """Each solve the batch asks for."""
    if body.items is not None:
        where: Loc = ("body", "items")
        found: list[Item] = [(it.problem, it.options, ("body", "items", i, "problem"),
                              ("body", "items", i, "options")) for i, it in enumerate(body.items)]
    else:
        assert body.problem is not None and body.seeds is not None
        where = ("body", "seeds")
        base = body.options or SolveOptions()
        found = [(body.problem, base.model_copy(update={"seed": seed}), ("body", "problem"),
                  ("body", "options")) for seed in body.seeds]
    if len(found) > max_items:
        raise APIError(422, f"{len(found)} solves asked for; at most {max_items} in one batch on this server",
                       title="Invalid request", type_=VALIDATION_TYPE,
                       errors=[field_error(where, f"at most {max_items} items", "too_long")])
    return found


@router.post(
    "",
    status_code=202,
    response_model=BatchOut,
    responses={**responses(413, 415), 202: {
        "description": "Accepted: every solve is stored and queued; poll the Location.",
        "headers": {"Location": {"schema": {"type": "string"}}}}},
    summary="Submit many solves at once (seeds, capacity levels)",
    operation_id="submitBatch",
)
def submit_batch(request: Request, response: Response, body: BatchRequest, owner: Owner) -> BatchOut:
    """One job per item (or per seed), each as POST /v1/schedules would make it, run in parallel
    by the solver processes or across the fleet's workers. Every item is validated before anything
    is stored: a bad one gets 422 naming it, and no job is made."""
    settings = settings_of(request)
    db = db_of(request)
    checked = []
    for problem, options, problem_at, options_at in _items(body, settings.max_batch_items):
        check_limits(problem, problem_at, settings)
        opts = effective_options(options, settings, options_loc=options_at)
        check_problem(problem, problem_at)
        checked.append((problem, opts))
    batch_id = str(uuid.uuid4())
    runner = runner_of(request)
    for problem, opts in checked:
        new = db.create_job(
            owner=owner, problem_json=problem.model_dump_json(), problem_name=problem.name,
            calls=len(problem.calls), options_json=opts.model_dump_json(),
            request_hash=request_hash(problem, opts), idempotency_key=None, batch_id=batch_id,
        )
        runner.submit(new.id)
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/v1/batches/{batch_id}"
    return _gather(request, owner, batch_id)


@router.get("/{batch_id}", response_model=BatchOut, responses=responses(404), operation_id="getBatch",
            summary="A batch's solves gathered: statuses, objectives, the best")
def get_batch(request: Request, batch_id: BatchId, owner: Owner) -> BatchOut:
    """Each item's job (its summary; GET the job for its plan), the count per status, and the
    objectives of the items with a plan: the best one, min / median / max."""
    return _gather(request, owner, batch_id)


def _gather(request: Request, owner: str, batch_id: str) -> BatchOut:
    rows = db_of(request).batch_jobs(owner, batch_id)
    if not rows:
        raise not_found("batch", batch_id)
    items = [summary(request, r) for r in rows]
    counts: dict[str, int] = {}
    for it in items:
        counts[it.status.value] = counts.get(it.status.value, 0) + 1
    scored = [(it.progress.objective, it.id) for it in items if it.progress.objective is not None]
    best = objective = None
    if scored:
        values = sorted(v for v, _ in scored)
        low = min(scored)
        best = BatchBest(job_id=low[1], objective=low[0])
        objective = BatchObjective(min=values[0], median=statistics.median(values), max=values[-1],
                                   items=len(values))
    finished = all(r.status in TERMINAL for r in rows)
    return BatchOut(id=batch_id, status="finished" if finished else "running", counts=counts, best=best,
                    objective=objective, items=items)
