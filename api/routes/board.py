"""The berth board: the page at /board (static HTML and script, served with the vendored timeline
library from /static) and its data, one plan at a time, as compact JSON under /v1/board.

The page itself needs no key (it holds no data); the data routes are /v1 routes like any other:
with API keys configured the page asks for one and sends it as X-API-Key, and a caller sees only
its own jobs and live plans.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.auth import caller
from api.errors import APIError, not_found, responses
from api.routes.common import db_of, job_with_plan

STATIC = FilePath(__file__).resolve().parent.parent / "static"
BOARD_HTML = STATIC / "board" / "index.html"
#: Answers larger than this are sent gzip-compressed to a client that accepts it.
GZIP_MIN_BYTES = 2048

router = APIRouter(tags=["board"])
Owner = Annotated[str, Depends(caller)]


def warm() -> None:
    """Draw a small plan once at start, so that the first board a planner opens does not pay for
    the first use of the layout, KPI and time-zone code (a few hundred ms on a busy machine)."""
    from optimizer.baseline import fcfs
    from optimizer.gantt.board import board_data
    from optimizer.generator import generate
    from optimizer.report import build_plan

    problem = generate(6, 2, 0)
    assignments = fcfs(problem)
    plan = build_plan(problem, assignments, baseline=assignments)
    json.dumps(board_data(problem, plan, title="warm-up"))


@router.get("/board", include_in_schema=False)
def board_page(request: Request, job: str | None = None) -> HTMLResponse:
    """The board's page; `?job=<id>` or `?live=<id>` opens one plan, with neither it lists them."""
    if job:
        prefetch_job(request, job)
    return HTMLResponse(BOARD_HTML.read_text(encoding="utf-8"),
                        headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP})


def _inline_hashes(page: str) -> str:
    """CSP sources for the page's own inline scripts (the one that asks for the data early)."""
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
                    for body in re.findall(r"<script>(.*?)</script>", page, flags=re.S))


#: Nothing but this server: scripts and styles from /static and the page's one inline script (by
#: its hash; the timeline library injects its styles, hence 'unsafe-inline' for styles only), data
#: from /v1, images drawn in the page.
CSP = (f"default-src 'none'; script-src 'self' {_inline_hashes(BOARD_HTML.read_text(encoding='utf-8'))}; "
       "style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'self'")


class _Cache:
    """The last few answers, raw and gzipped, by (kind, id, what changes them): a board that many
    planners keep open, or that polls, is built once per plan or version. Owners are checked before
    a lookup, so the cache never shows one caller's plan to another."""

    def __init__(self, size: int = 8):
        self.size = size
        self.items: OrderedDict[tuple[str, ...], tuple[bytes, bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> tuple[bytes, bytes] | None:
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key: tuple[str, ...], data: dict[str, Any]) -> tuple[bytes, bytes]:
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        both = (raw, gzip.compress(raw, compresslevel=5))
        with self.lock:
            self.items[key] = both
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return both


CACHE = _Cache()


def _answer(request: Request, both: tuple[bytes, bytes]) -> Response:
    """Compact JSON, gzipped when the client accepts it (a 2,000-call month is ~1.1 MB raw, ~0.15 MB
    compressed)."""
    raw, packed = both
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if len(raw) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/json", headers=headers)
    return Response(raw, media_type="application/json", headers=headers)


BOARD_DOC = ("The board's data for one plan: ports with berth rows, closures, maintenance, calls (Unix "
             "seconds, UTC), unserved calls with their reasons, KPIs beside FCFS and the solver's facts; "
             "for a live plan, the version's changes and the events behind them.")
BOARD_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": BOARD_DOC, "content": {"application/json": {"schema": {"type": "object"}}}}}


def _job_key(head: Any) -> tuple[str, ...]:
    """What a job's board data changes with: a better plan, the end of the job."""
    return ("job", head.id, str(head.improvements), head.status)


def _build_job(request: Request, job_id: str, owner: str | None) -> tuple[bytes, bytes]:
    from optimizer.gantt.board import board_data

    row, problem, plan = job_with_plan(request, job_id, owner)
    data = board_data(problem, plan, title=f"{problem.name} · job {row.status}", extra={
        "source": {"kind": "job", "id": job_id, "status": row.status,
                   "links": {"self": f"/v1/schedules/{job_id}", "gantt": f"/v1/schedules/{job_id}/gantt"}},
    })
    return CACHE.put(_job_key(row), data)


#: Board data being made ahead, by cache key: the page's request starts it (below), the data
#: request waits for it rather than making it twice.
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="board")
_AHEAD: dict[tuple[str, ...], Future[tuple[bytes, bytes]]] = {}
_AHEAD_LOCK = threading.Lock()


def prefetch_job(request: Request, job_id: str) -> None:
    """Start making a job's board data while the browser loads the page and its scripts (a few
    hundred ms on a 2,000-call month). Nothing is shown here: the data request checks the caller
    as always before it answers from the cache."""
    head = db_of(request).get_job_summary(job_id)
    if head is None or head.plan_at is None:
        return
    key = _job_key(head)
    with _AHEAD_LOCK:
        if key in _AHEAD or CACHE.get(key) is not None:
            return
        future = _POOL.submit(_build_job, request, job_id, None)
        _AHEAD[key] = future
    future.add_done_callback(lambda _: _AHEAD.pop(key, None))


@router.get("/v1/board/jobs/{job_id}", operation_id="getJobBoard", responses={**BOARD_RESPONSE,
            **responses(401, 404, 409)}, summary="A job's plan as board data")
def job_board(
    request: Request, owner: Owner,
    job_id: Annotated[str, Path(description="The job id returned by POST /v1/schedules.")],
) -> Response:
    head = db_of(request).get_job_summary(job_id, owner)
    if head is None:
        raise not_found("job", job_id)
    key = _job_key(head)
    t0 = time.perf_counter()
    both = CACHE.get(key)
    if both is None:
        with _AHEAD_LOCK:
            ahead = _AHEAD.get(key)
        if ahead is not None:
            with contextlib.suppress(Exception):  # it failed: made here, with the error a caller can read
                both = ahead.result(timeout=120)
        if both is None:
            both = _build_job(request, job_id, owner)
    out = _answer(request, both)
    out.headers["Server-Timing"] = f"board;dur={(time.perf_counter() - t0) * 1000:.0f}"
    return out


@router.get("/v1/board/live-plans/{plan_id}", operation_id="getLivePlanBoard",
            responses={**BOARD_RESPONSE, **responses(401, 404, 409)},
            summary="A live plan's version as board data")
def live_board(
    request: Request, owner: Owner,
    plan_id: Annotated[str, Path(description="The live plan id returned by POST /v1/live-plans.")],
    version: Annotated[int | None, Query(ge=1, description="The version to show (default: the current one).")]
    = None,
) -> Response:
    """The version's plan with the departed calls (history) and the calls at berth as facts, its
    now, its changes against the version before with their causes and the events behind them."""
    from optimizer.gantt import live_chart
    from optimizer.gantt.board import board_data
    from optimizer.live.replan import Version
    from optimizer.live.state import LiveState

    store = request.app.state.live_store
    row = store.get(plan_id, owner)
    if row is None:
        raise not_found("live plan", plan_id)
    if row.version < 1:
        raise APIError(409, f"live plan {plan_id} has no version yet (status {row.status}); try again "
                       "shortly", title="No version yet")
    number = row.version if version is None else version
    key = ("live", plan_id, str(number), str(row.version), row.status)
    hit = CACHE.get(key)
    if hit is not None:
        return _answer(request, hit)
    body = store.version(row.id, number)
    if body is None:
        raise not_found("version", f"{plan_id}/{number}")
    v = Version.model_validate_json(body)
    state = LiveState.model_validate_json(row.state)
    problem, plan, marks = live_chart(v, state.problem)
    wanted = {i for c in v.changes for i in (c.cause_event_ids or c.caused_by)} | set(v.event_ids)
    events = {r.event_id: {"type": r.type, "seq": r.seq, "event": json.loads(r.body)}
              for r in store.event_log(row.id) if r.event_id in wanted}
    base = f"/v1/live-plans/{plan_id}"
    data = board_data(problem, plan, title=f"{row.name} · live plan · version {number}", live=marks,
                      changes=[c.model_dump(mode="json") for c in v.changes], events=events, extra={
                          "source": {"kind": "live", "id": plan_id, "status": row.status, "version": number,
                                     "latest": row.version, "event_ids": v.event_ids,
                                     "stability": v.stability.model_dump() if v.stability else None,
                                     "links": {"self": base, "version": f"{base}/versions/{number}",
                                               "diff": f"{base}/versions/{number}/diff",
                                               "events": f"{base}/events", "stream": f"{base}/stream"}},
                      })
    return _answer(request, CACHE.put(key, data))
