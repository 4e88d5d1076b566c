"""Liveness and readiness, outside /v1 and without an API key (for load balancers)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.errors import APIError, responses
from api.routes.common import db_of, runner_of
from api.schemas import Health, Ready

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, operation_id="getHealth", summary="The process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses=responses(503), operation_id="getReadiness",
            summary="Database and solvers (or broker) are up")
def readyz(request: Request) -> Ready:
    db = db_of(request)
    try:
        db.ping()
        counts = db.count_by_status()
    except Exception as exc:
        raise APIError(503, f"database unreachable: {type(exc).__name__}") from exc
    runner = runner_of(request)
    if runner.settings.fleet:
        # the fleet: the broker must take messages and this API's reconciler run (it re-publishes
        # what a lost message or a dead worker left); the workers are elsewhere (GET /v1/workers)
        if not runner.alive():
            raise APIError(503, "the job runner is not running")
        if not runner.ready():
            raise APIError(503, "the broker is unreachable", headers={"Retry-After": "1"})
        return Ready(status="ready", database="ok", broker="ok", solver_processes=0, jobs=counts)
    if not runner.alive():
        raise APIError(503, "the job runner is not running")
    if not runner.ready():
        raise APIError(503, "the solver processes are starting", headers={"Retry-After": "1"})
    return Ready(status="ready", database="ok", solver_processes=runner.settings.workers, jobs=counts)
