"""Check a plan against a problem with the optimizer's independent checker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import caller
from api.body import JSONBodyRoute
from api.errors import responses
from api.routes.common import check_limits, check_problem, settings_of
from api.schemas import CheckReport, CheckRequest

router = APIRouter(prefix="/v1", tags=["check"], responses=responses(401, 413, 415, 422),
                   route_class=JSONBodyRoute)


@router.post("/check", response_model=CheckReport,
             summary="List every violated constraint and recompute the KPIs")
def check_plan(request: Request, body: CheckRequest, _owner: Annotated[str, Depends(caller)]) -> CheckReport:
    """Any plan (the solver's, FCFS, or one a planner made by hand) against its problem. A plan
    with violations is still a 200: `ok` is false and `violations` lists them all."""
    from optimizer.checker import check

    check_limits(body.problem, ("body", "problem"), settings_of(request))
    check_problem(body.problem, ("body", "problem"))
    return check(body.problem, body.plan, body.weights)
