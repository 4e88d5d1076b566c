"""Plans made elsewhere on the berth board: a problem and a plan posted together (a file of
`portsync solve --out`, or bare assignments as POST /v1/check takes them) come back as the board's
data, with every rule the plan breaks. Nothing is solved or stored: the page at /board posts the
files a planner opens."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.auth import caller
from api.body import JSONBodyRoute
from api.errors import VALIDATION_TYPE, APIError, field_error, responses
from api.routes.board import _answer
from api.routes.check import validate_check_body
from api.schemas import BoardPlanRequest

#: How far outside the problem's horizon a plan's time may lie: farther, the board could not show
#: the plan and the week together (and a year 1 or 9999 is a typo, not a plan).
SLACK = timedelta(days=366)

router = APIRouter(prefix="/v1", tags=["board"], responses=responses(401, 409, 413, 415, 422),
                   route_class=JSONBodyRoute)

FILE_DOC = ("The board's data for the posted plan, as for a job (ports, berth rows, calls, unserved calls "
            "with their reasons, KPIs beside FCFS), with `breaches`: every rule the plan breaks as the "
            "independent checker finds it (kind, call id, berth, detail), `br` on each breaching call, "
            "and `check`: the verdict and the counts per kind.")


@router.post("/board/plans", operation_id="openPlanOnBoard", summary="A plan made elsewhere as board data",
             responses={200: {"description": FILE_DOC,
                              "content": {"application/json": {"schema": {"type": "object"}}}}})
def plan_board(request: Request, body: BoardPlanRequest, _owner: Annotated[str, Depends(caller)]) -> Response:
    """Draws the plan as it is, even if it breaks rules: each breach is listed, and the calls it
    leaves out are unserved. Validated as POST /v1/check validates: a plan made for another problem
    (its `problem_digest` differs) is a 409 unless `force` is true."""
    from optimizer.gantt.board import file_board_data

    validate_check_body(request, body, "open it")
    _check_times(body)
    data = file_board_data(body.problem, body.plan, title=body.title, weights=body.weights)
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return _answer(request, (raw, gzip.compress(raw, compresslevel=5)))


def _check_times(body: BoardPlanRequest) -> None:
    """422 naming every time more than a year outside the problem's horizon."""
    from optimizer.plan import Plan

    try:
        lo = body.problem.horizon_start - SLACK
    except OverflowError:
        lo = datetime.min.replace(tzinfo=UTC)
    try:
        hi = body.problem.horizon_end + SLACK
    except OverflowError:
        hi = datetime.max.replace(tzinfo=UTC)
    prefix: tuple[str, ...] = ("body", "plan", "calls") if isinstance(body.plan, Plan) else ("body", "plan")
    calls = body.plan.calls if isinstance(body.plan, Plan) else body.plan
    errors = [field_error((*prefix, i, name), f"{t.isoformat()} is more than a year outside the problem's "
                          f"horizon ({body.problem.horizon_start.isoformat()} to "
                          f"{body.problem.horizon_end.isoformat()})", "time_out_of_range", a.call_id)
              for i, a in enumerate(calls) for name in ("arrival", "berth_start", "berth_end")
              for t in (getattr(a, name),) if not lo <= t <= hi]
    if errors:
        n = len(errors)
        raise APIError(422, f"the plan has {n} time{'s' if n != 1 else ''} the board cannot draw: "
                       + "; ".join(f"{e.field}: {e.msg}" for e in errors[:5]) + ("; ..." if n > 5 else ""),
                       title="Invalid plan", type_=VALIDATION_TYPE, errors=errors)
