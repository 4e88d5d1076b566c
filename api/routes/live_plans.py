"""Live plans: create, post events, read the current plan, versions and their diffs, the event
log, and a server-sent-event stream of new versions (api.live.store does the work)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import caller
from api.body import JSONListBodyRoute
from api.db.models import LivePlanRow
from api.errors import VALIDATION_TYPE, APIError, field_error, issues_to_errors, not_found, responses
from api.live.replanner import Replanner
from api.live.store import EVENT_LIST, LiveStore
from api.routes.common import check_limits, check_problem, effective_options, settings_of, split_body
from api.schemas import SubmitBody
from optimizer.diff import KpiChange, Stability
from optimizer.live.causes import MoveSummary
from optimizer.live.events import EventType
from optimizer.live.replan import ReplanSettings, VersionChange
from optimizer.live.state import DEFAULT_FROZEN_WINDOW_MINUTES, EventConflict, EventsRefused, LiveState
from optimizer.plan import Plan
from optimizer.validation import issues_from_pydantic

router = APIRouter(
    prefix="/v1/live-plans", tags=["live plans"], responses=responses(401, 404), route_class=JSONListBodyRoute
)

PlanId = Annotated[str, Path(description="The live plan id returned by POST /v1/live-plans.")]
Owner = Annotated[str, Depends(caller)]
EVENT_CONFLICT_TYPE = "urn:portsync:problem:event-id-reused"


class LivePlanOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    status: str = Field(description="planning (version 1 is being made), live, or failed.")
    error: str | None = None
    version: int = Field(description="The current version (0 while version 1 is being made).")
    now: datetime = Field(description="The live plan's clock.")
    frozen_window_minutes: float
    pending_events: int = Field(description="Accepted events waiting for the next version.")
    replanning: bool = Field(description="A replan of this live plan is under way.")
    settings: ReplanSettings
    plan: Plan | None = Field(default=None, description="The current version's plan.")
    links: dict[str, str]


class LivePlanList(BaseModel):
    items: list[LivePlanOut]


class EventsAccepted(BaseModel):
    live_plan_id: str
    version: int = Field(description="The version that will include these events.")
    accepted: list[str] = Field(description="Ids of the events stored now.")
    duplicates: list[str] = Field(description="Ids already applied or waiting (same body): ignored.")


class LoggedEvent(BaseModel):
    seq: int
    event_id: str
    type: str
    version: int | None = Field(description="The version that applied it; None while it waits.")
    accepted_at: datetime
    event: dict[str, Any]


class VersionDiff(BaseModel):
    live_plan_id: str
    number: int
    against: int
    now: datetime
    event_ids: list[str] = Field(description="The events this version applied.")
    changes: list[VersionChange] = Field(description="Each call the version moved, with its cause and "
                                         "reason (see VersionChange.cause).")
    moves: MoveSummary | None = Field(default=None, description="The changes per cause, how many the repair "
                                      "had to make and how many the search chose, and the search's gain.")
    stability: Stability | None
    kpis: KpiChange | None
    cancelled: list[str]
    replan_s: float


def _store(request: Request) -> LiveStore:
    store: LiveStore = request.app.state.live_store
    return store


def _replanner(request: Request) -> Replanner:
    r: Replanner = request.app.state.replanner
    return r


def _path(request: Request, plan_id: str) -> str:
    return f"{request.scope.get('root_path', '')}/v1/live-plans/{plan_id}"


def _out(request: Request, row: LivePlanRow, store: LiveStore, with_plan: bool = True) -> LivePlanOut:
    state = LiveState.model_validate_json(row.state)
    plan = None
    if with_plan and row.version > 0:
        body = store.version(row.id, row.version)
        if body is not None:
            plan = Plan.model_validate(json.loads(body)["plan"])
    base = _path(request, row.id)
    return LivePlanOut(
        id=row.id,
        name=row.name,
        status=row.status,
        error=row.error,
        version=row.version,
        now=state.now,
        frozen_window_minutes=state.frozen_window_minutes,
        pending_events=store.pending_count(row.id, row.version),
        replanning=store.replanning(row),
        settings=ReplanSettings.model_validate_json(row.settings),
        plan=plan,
        links={
            "self": base,
            "events": f"{base}/events",
            "stream": f"{base}/stream",
            "version": f"{base}/versions/{row.version}",
        },
    )


def _row(request: Request, plan_id: str, owner: str) -> LivePlanRow:
    row = _store(request).get(plan_id, owner)
    if row is None:
        raise not_found("live plan", plan_id)
    return row


@router.post(
    "",
    status_code=201,
    response_model=LivePlanOut,
    operation_id="createLivePlan",
    responses={
        **responses(413, 415, 422),
        201: {
            "description": "Created: version 1 is being solved; follow the Location.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
    },
    summary="Create a live plan from a problem",
)
def create_live_plan(
    request: Request,
    response: Response,
    body: SubmitBody,
    owner: Owner,
    time_limit_s: Annotated[float | None, Query(gt=0, description="Version 1's time limit.")] = None,
    replan_time_limit_s: Annotated[float, Query(gt=0, le=600, description="Each later version's.")] = 3.0,
    frozen_window_minutes: Annotated[
        float,
        Query(
            ge=0,
            le=7 * 24 * 60,
            description=("Calls that begin within this long after the plan's now are no longer moved."),
        ),
    ] = DEFAULT_FROZEN_WINDOW_MINUTES,
) -> LivePlanOut:
    """The body is a problem, as for POST /v1/schedules (optionally `{"problem", "options"}`:
    options' seed and weights apply to every version). Version 1 is solved in the background;
    events may be posted at once (they go into version 2)."""
    settings = settings_of(request)
    problem, options, prefix = split_body(body)
    check_limits(problem, prefix, settings)
    opts = effective_options(options, settings, time_limit_s=time_limit_s)
    check_problem(problem, prefix)
    replan = ReplanSettings(
        first_time_limit_s=opts.time_limit_s,
        first_workers=opts.workers,
        replan_time_limit_s=replan_time_limit_s,
        seed=opts.seed,
        weights=opts.weights,
    )
    store = _store(request)
    plan_id = store.create(owner, problem, replan, frozen_window_minutes)
    _replanner(request).wake()
    response.headers["Location"] = _path(request, plan_id)
    return _out(request, _row(request, plan_id, owner), store)


@router.get("", response_model=LivePlanList, operation_id="listLivePlans", summary="List your live plans")
def list_live_plans(request: Request, owner: Owner) -> LivePlanList:
    store = _store(request)
    return LivePlanList(items=[_out(request, r, store, with_plan=False) for r in store.list_plans(owner)])


@router.get(
    "/{plan_id}",
    response_model=LivePlanOut,
    operation_id="getLivePlan",
    summary="Read a live plan: its version, clock and current plan",
)
def get_live_plan(request: Request, plan_id: PlanId, owner: Owner) -> LivePlanOut:
    return _out(request, _row(request, plan_id, owner), _store(request))


EVENTS_DOC = (
    "One event or a list, each with `event_id` and `type`: clock, eta, actual_arrival, actual_berthing, "
    "actual_departure, handling_update, cargo_ready, call_added, call_cancelled, closure, closure_lifted, "
    "maintenance (fields in DESIGN.md §8 and the README). A list is applied whole or not at all."
)


@router.post(
    "/{plan_id}/events",
    status_code=202,
    response_model=EventsAccepted,
    operation_id="postLivePlanEvents",
    responses={
        **responses(409, 413, 415, 422),
        202: {"description": "Accepted: stored, applied in `version`."},
    },
    summary="Post events to a live plan",
)
def post_events(
    request: Request,
    plan_id: PlanId,
    owner: Owner,
    body: Annotated[dict[str, Any] | list[dict[str, Any]], Body(description=EVENTS_DOC)],
) -> EventsAccepted:
    """Each event is checked against the plan's facts with every waiting event applied: a bad one
    gets 422 naming its index and field (`body.<i>.<field>`) and nothing is stored. The same
    `event_id` with the same body is a replay, ignored; with another body, 409."""
    row = _row(request, plan_id, owner)
    items = body if isinstance(body, list) else [body]
    if not items:
        raise APIError(
            422,
            "the list of events is empty",
            title="Invalid events",
            type_=VALIDATION_TYPE,
            errors=[field_error(("body",), "give at least one event", "too_short")],
        )
    prefix: tuple[str | int, ...] = ("body",) if isinstance(body, list) else ("body", 0)
    try:
        events = EVENT_LIST.validate_python(items)
    except ValidationError as exc:
        issues = issues_from_pydantic(exc)
        for i in issues:
            if i.type in ("union_tag_invalid", "union_tag_not_found"):
                given = items[int(i.loc[0])].get("type") if i.loc and isinstance(i.loc[0], int) else None
                i.loc = [*i.loc, "type"]
                i.msg = ("missing" if given is None else f"unknown event type {given!r}") + (
                    "; one of " + ", ".join(t.value for t in EventType))
        for i in issues:  # drop the union tag (the event type) pydantic puts after the index
            if (
                len(i.loc) > 1
                and isinstance(i.loc[0], int)
                and isinstance(i.loc[1], str)
                and (i.loc[1] == items[i.loc[0]].get("type"))
            ):
                del i.loc[1]
        raise _refused(
            issues, prefix if isinstance(body, list) else ("body",), single=not isinstance(body, list)
        ) from None
    try:
        accepted = _store(request).accept(row.id, events)
    except EventsRefused as exc:
        for i in exc.issues:
            i.loc = i.loc[1:]  # events.<i>.<field> -> <i>.<field> under the body
        raise _refused(exc.issues, ("body",), single=not isinstance(body, list)) from None
    except EventConflict as exc:
        loc = ("body", exc.index, "event_id") if isinstance(body, list) else ("body", "event_id")
        raise APIError(
            409,
            str(exc),
            title="Event id reused",
            type_=EVENT_CONFLICT_TYPE,
            errors=[field_error(loc, "already used for an event with another body", "event_id_reused")],
        ) from None
    if accepted.accepted:
        _replanner(request).wake()
    return EventsAccepted(
        live_plan_id=row.id,
        version=accepted.version,
        accepted=accepted.accepted,
        duplicates=accepted.duplicates,
    )


def _refused(issues: list[Any], prefix: tuple[str | int, ...], single: bool) -> APIError:
    if single:
        for i in issues:
            if i.loc and i.loc[0] == 0:
                i.loc = i.loc[1:]
    errors = issues_to_errors(issues, prefix)
    return APIError(
        422,
        "; ".join(f"{e.field}: {e.msg}" for e in errors[:5]),
        title="Invalid events",
        type_=VALIDATION_TYPE,
        errors=errors,
    )


@router.get(
    "/{plan_id}/events",
    response_model=list[LoggedEvent],
    operation_id="listLivePlanEvents",
    summary="The event log, in the order the events were accepted",
)
def list_events(request: Request, plan_id: PlanId, owner: Owner) -> list[LoggedEvent]:
    row = _row(request, plan_id, owner)
    return [
        LoggedEvent(
            seq=r.seq,
            event_id=r.event_id,
            type=r.type,
            version=r.version,
            accepted_at=r.accepted_at,
            event=json.loads(r.body),
        )
        for r in _store(request).event_log(row.id)
    ]


def _version_body(request: Request, plan_id: str, owner: str, number: int) -> str:
    row = _row(request, plan_id, owner)
    body = _store(request).version(row.id, number)
    if body is None:
        raise not_found("version", f"{plan_id}/{number}")
    return body


Number = Annotated[int, Path(ge=1, description="The version number.")]


@router.get(
    "/{plan_id}/versions/{number}",
    operation_id="getLivePlanVersion",
    responses={200: {"description": "The version: plan, the problem it planned, history, changes."}},
    summary="Read one version of a live plan",
)
def get_version(request: Request, plan_id: PlanId, number: Number, owner: Owner) -> Response:
    """`plan` checks clean against `problem` (the planning view: calls still to come, calls at
    berth frozen at their actual times); `history` holds departed calls at their actual times."""
    return Response(_version_body(request, plan_id, owner, number), media_type="application/json")


def _existing(request: Request, plan_id: PlanId, owner: Owner) -> LivePlanRow:
    """The live plan, as a dependency: checked before a stream starts (404 as a problem, not a
    broken stream)."""
    return _row(request, plan_id, owner)


@router.get(
    "/{plan_id}/versions/{number}/diff",
    response_model=VersionDiff,
    operation_id="getLivePlanVersionDiff",
    summary="What a version changed against the one before",
)
def get_diff(request: Request, plan_id: PlanId, number: Number, owner: Owner) -> VersionDiff:
    v = json.loads(_version_body(request, plan_id, owner, number))
    return VersionDiff(
        live_plan_id=plan_id,
        number=number,
        against=number - 1,
        now=v["now"],
        event_ids=v["event_ids"],
        changes=v["changes"],
        moves=v.get("moves"),
        stability=v.get("stability"),
        kpis=v.get("kpis"),
        cancelled=v.get("cancelled", []),
        replan_s=v["replan_s"],
    )


@router.get(
    "/{plan_id}/stream",
    operation_id="streamLivePlan",
    response_class=EventSourceResponse,
    summary="Follow a live plan's versions as server-sent events",
)
async def stream(
    request: Request,
    plan_id: PlanId,
    row: Annotated[LivePlanRow, Depends(_existing)],
    after: Annotated[
        int | None,
        Query(ge=0, description="Send versions after this one first (default: from the current version on)."),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """One `version` event per new version (`id` = its number, data = its diff summary); a client
    that reconnects with `Last-Event-ID` gets the versions it missed."""
    store = _store(request)
    last_id = request.headers.get("last-event-id")
    seen = (
        int(last_id)
        if last_id and last_id.isdigit()
        else (after if after is not None else max(0, row.version - 1))
    )
    while not await request.is_disconnected():
        for number, body in await run_in_threadpool(store.versions_after, plan_id, seen):
            v = json.loads(body)
            yield ServerSentEvent(
                event="version",
                id=str(number),
                data={
                    "live_plan_id": plan_id,
                    "version": number,
                    "now": v["now"],
                    "event_ids": v["event_ids"],
                    "stability": v.get("stability"),
                    "changes": len(v["changes"]),
                    "link": f"{_path(request, plan_id)}/versions/{number}",
                },
            )
            seen = number
        await asyncio.sleep(0.25)
