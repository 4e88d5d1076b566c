"""Check a plan against a problem with the optimizer's independent checker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import caller
from api.body import JSONBodyRoute
from api.errors import APIError, field_error, responses
from api.routes.common import check_limits, check_problem, settings_of
from api.schemas import CheckReport, CheckRequest

router = APIRouter(prefix="/v1", tags=["check"], responses=responses(401, 409, 413, 415, 422),
                   route_class=JSONBodyRoute)


@router.post("/check", response_model=CheckReport, operation_id="checkPlan",
             summary="List every violated constraint and recompute the KPIs")
def check_plan(request: Request, body: CheckRequest, _owner: Annotated[str, Depends(caller)]) -> CheckReport:
    """Any plan (the solver's, FCFS, or one a planner made by hand) against its problem. A plan
    with violations is still a 200: `ok` is false and `violations` lists them all. A plan made for
    another problem (its `problem_digest` differs) is a 409 unless `force` is true."""
    from optimizer.checker import check

    validate_check_body(request, body, "check it")
    return check(body.problem, body.plan, body.weights)


def validate_check_body(request: Request, body: CheckRequest, verb: str) -> None:
    """The checks a body with a problem and a plan passes beyond its schema (also the board's, for
    a plan opened from files): this server's limits, the whole problem, and a plan made for another
    problem (its `problem_digest` differs) refused with 409 unless `force` is true."""
    from optimizer.plan import Plan
    from optimizer.report import problem_digest

    check_limits(body.problem, ("body", "problem"), settings_of(request))
    check_problem(body.problem, ("body", "problem"))
    plan = body.plan
    if isinstance(plan, Plan) and plan.problem_digest is not None and not body.force \
            and plan.problem_digest != problem_digest(body.problem):
        raise APIError(409, "the plan was made for another problem (its problem_digest differs); "
                       f"send force=true to {verb} anyway",
                       errors=[field_error(["body", "plan", "problem_digest"], "made for another problem",
                                           "problem_mismatch")])
