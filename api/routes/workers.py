"""GET /v1/workers: who solves, what each holds and what waits (operations)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import caller
from api.db import JobStatus
from api.errors import responses
from api.routes.common import db_of, runner_of
from api.schemas import HeldJob, HeldLivePlan, WorkerList, WorkerView

router = APIRouter(prefix="/v1", tags=["operations"], responses=responses(401))


@router.get("/workers", response_model=WorkerList, operation_id="listWorkers",
            summary="The solver workers, what each holds, the queue")
def list_workers(request: Request, owner: Annotated[str, Depends(caller)]) -> WorkerList:
    """On a fleet: every worker answering a broadcast within 1 s and every worker holding a lease
    (a holder that does not answer may be gone; its lease runs out), the jobs each holds (yours
    listed, everyone's counted) and the messages waiting in each broker queue. Embedded: this
    server's solver processes and its queued jobs."""
    db = db_of(request)
    runner = runner_of(request)
    if not runner.settings.fleet:
        counts = db.count_by_status()
        solving = db.list_jobs(owner, limit=100, status=JobStatus.SOLVING.value)
        return WorkerList(
            backend="embedded", queue_depth={"jobs": counts.get(JobStatus.QUEUED.value, 0)},
            workers=[WorkerView(
                name="embedded", processes=runner.settings.workers, answering=True,
                holding=counts.get(JobStatus.SOLVING.value, 0),
                jobs=[HeldJob(job_id=j.id, attempt=j.attempt, process="embedded", lease_expires_at=None)
                      for j in solving])])
    from api.jobs.fleet import FleetRunner

    assert isinstance(runner, FleetRunner)
    live_leases = request.app.state.live_store.leases()  # read before the broadcast's wait
    answering = runner.workers()
    held: dict[str, list[tuple[str, int, datetime | None, str, str]]] = {}
    for process, job_id, attempt, expiry, client in db.holders():
        node = process.rsplit("/", 1)[0]
        held.setdefault(node, []).append((job_id, attempt, expiry, client, process))
    live: dict[str, list[HeldLivePlan]] = {}
    for process, plan_id, expiry, client in live_leases:
        if client == owner:
            live.setdefault(process.rsplit("/", 1)[0], []).append(
                HeldLivePlan(live_plan_id=plan_id, process=process, lease_expires_at=expiry))
    views = []
    for node in sorted(set(answering) | set(held) | set(live)):
        mine = [HeldJob(job_id=j, attempt=a, process=p, lease_expires_at=e)
                for j, a, e, c, p in held.get(node, []) if c == owner]
        views.append(WorkerView(name=node, processes=answering.get(node, {}).get("processes"),
                                answering=node in answering, holding=len(held.get(node, [])), jobs=mine,
                                live_plans=live.get(node, [])))
    return WorkerList(backend="fleet", queue_depth=runner.queue_depth(), workers=views)
