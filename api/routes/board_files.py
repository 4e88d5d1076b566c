"""Plans made elsewhere on the berth board: a problem and a plan posted together (a file of
`portsync solve --out`, or bare assignments as POST /v1/check takes them) come back as the board's
data, with every rule the plan breaks. Nothing is solved or stored: the page at /board posts the
files a planner opens."""

from __future__ import annotations

import gzip
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.auth import caller
from api.body import JSONBodyRoute
from api.errors import responses
from api.routes.board import _answer
from api.routes.check import validate_check_body
from api.schemas import BoardPlanRequest

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
    data = file_board_data(body.problem, body.plan, title=body.title, weights=body.weights)
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return _answer(request, (raw, gzip.compress(raw, compresslevel=5)))
