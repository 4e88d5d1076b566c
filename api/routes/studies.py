"""Capacity studies: one request lives every (option, growth level, seed) month, each month a job
run by the solver processes or across the fleet's workers, gathered into the study's figures,
knees, CSVs and plots as the months end."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import caller
from api.body import JSONBodyRoute
from api.db import TERMINAL, JobStatus
from api.errors import VALIDATION_TYPE, APIError, field_error, not_found, responses
from api.routes.common import db_of, runner_of, settings_of
from optimizer.study.capacity import Knee, StudySpec, SummaryRow, knees, summarize, write_csvs
from optimizer.study.records import MonthKey, MonthResult
from optimizer.study.runner import StudySettings, mistakes, month_body

router = APIRouter(
    prefix="/v1/studies", tags=["studies"], responses=responses(401, 422), route_class=JSONBodyRoute
)

StudyId = Annotated[str, Path(description="The study id returned by POST /v1/studies.")]
Owner = Annotated[str, Depends(caller)]


class StudyRequest(BaseModel):
    """What a capacity study lives: options x growth levels x seeds months, each lived with FCFS and
    with a portsync live plan on the same event stream."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200, description="A name to find the study by.")
    options: list[str] = Field(
        default_factory=lambda: ["base"],
        min_length=1,
        description="Options compared "
        "side by side ('base' = the ports as they are; e.g. 'add-berth:KZAAU-B1', "
        "'productivity:AZBAK-B3:1.25', 'storms:1.5', 'ferries:+2').",
    )
    growth: list[Annotated[float, Field(gt=0, le=10)]] = Field(
        min_length=1, description="Traffic levels, multiples of today's (1.0 = today)."
    )
    seeds: list[Annotated[int, Field(ge=0, le=2**31 - 1)]] = Field(
        min_length=1, description="Seeded months per level (two or more for intervals)."
    )
    settings: StudySettings = Field(
        default_factory=StudySettings,
        description="The traffic model's overrides and the limits every month is lived with.",
    )


class StudyMonthOut(BaseModel):
    key: MonthKey = Field(description="The month's option, growth level and seed.")
    job_id: str = Field(description="The job living it (it runs, leases and recovers as any job).")
    status: JobStatus = Field(description="queued, solving (being lived), done, stopped or failed.")
    error: str | None = Field(default=None, description="Why it failed or stopped.")
    spent_s: float = Field(description="Seconds spent living it so far.")


class StudyOut(BaseModel):
    """A study as its months stand: what is lived, the figures over the months done so far (means
    and 95 % intervals over seeds), the knees, and where to fetch the CSVs and plots."""

    id: str = Field(description="The study id: GET /v1/studies/{id}.")
    name: str = Field(description="The name given.")
    status: Literal["running", "finished"] = Field(
        description="finished: every month done, stopped or failed."
    )
    counts: dict[str, int] = Field(description="Months per status.")
    months: list[StudyMonthOut] = Field(description="Every month, in the order options x levels x seeds.")
    summary: list[SummaryRow] = Field(
        description="Per option, level, planner and port, over the months done."
    )
    knees: list[Knee] = Field(
        description="Where each port chokes, per option and planner (over the months done)."
    )
    files: dict[str, str] = Field(description="The CSVs and plots of the months done: name -> URL.")


class StudyListItem(BaseModel):
    id: str = Field(description="The study id.")
    name: str = Field(description="The name given.")
    created_at: datetime = Field(description="When it was submitted.")
    status: Literal["running", "finished"] = Field(description="finished: every month ended.")
    counts: dict[str, int] = Field(description="Months per status.")


class StudyList(BaseModel):
    items: list[StudyListItem] = Field(description="The caller's studies, newest first (at most 100).")


FILES = {
    "points.csv": "text/csv",
    "summary.csv": "text/csv",
    "knees.csv": "text/csv",
    "demand.png": "image/png",
    "demand.svg": "image/svg+xml",
    "congestion.png": "image/png",
    "congestion.svg": "image/svg+xml",
}


@router.post(
    "",
    status_code=202,
    response_model=StudyOut,
    operation_id="submitStudy",
    summary="Start a capacity study (months lived with FCFS and with portsync)",
    responses={
        **responses(413, 415),
        202: {
            "description": "Accepted: every month is stored and queued; poll the Location.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
    },
)
def submit_study(request: Request, response: Response, body: StudyRequest, owner: Owner) -> StudyOut:
    """One job per month (options x growth x seeds), run in parallel by the solver processes or
    the fleet's workers; each month is lived twice on the same events (each port re-planning first
    come, first served; one portsync live plan) and its realized figures stored when it ends.
    Options and settings are checked before anything is stored: a bad one gets 422 naming it."""
    settings = settings_of(request)
    spec = StudySpec(
        options=list(dict.fromkeys(body.options)),
        growth=list(dict.fromkeys(body.growth)),
        seeds=list(dict.fromkeys(body.seeds)),
        settings=body.settings.model_dump(mode="json"),
    )
    keys = spec.months()
    if len(keys) > settings.max_batch_items:
        raise APIError(
            422,
            f"{len(keys)} months asked for (options x growth x seeds); at most "
            f"{settings.max_batch_items} in one study on this server",
            title="Invalid request",
            type_=VALIDATION_TYPE,
            errors=[field_error(("body", "seeds"), "too many months", "too_long")],
        )
    wrong = mistakes(body.options, body.settings)
    if wrong:
        raise APIError(422, "the study cannot be lived: " + "; ".join(msg for _, msg in wrong),
                       title="Invalid request", type_=VALIDATION_TYPE,
                       errors=[field_error(("body", *loc), msg, "value_error") for loc, msg in wrong])
    bodies = [(f"study {k.slug()}", month_body(k, body.settings)) for k in keys]
    db = db_of(request)
    study_id, job_ids = db.create_study(
        owner=owner, name=body.name, spec_json=spec.model_dump_json(), months=bodies
    )
    runner = runner_of(request)
    for job_id in job_ids:
        runner.submit(job_id)
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/v1/studies/{study_id}"
    return _gather(request, owner, study_id)


@router.get("", response_model=StudyList, operation_id="listStudies", summary="Your capacity studies")
def list_studies(request: Request, owner: Owner) -> StudyList:
    """Newest first, each with its months per status (the board lists them with their plots)."""
    db = db_of(request)
    items = []
    for row in db.list_studies(owner):
        counts: dict[str, int] = {}
        for m in db.study_months(row.id):
            counts[m.status] = counts.get(m.status, 0) + 1
        finished = all(JobStatus(k) in TERMINAL for k in counts)
        items.append(
            StudyListItem(
                id=row.id,
                name=row.name,
                created_at=row.created_at,
                counts=counts,
                status="finished" if finished else "running",
            )
        )
    return StudyList(items=items)


@router.get(
    "/{study_id}",
    response_model=StudyOut,
    responses=responses(404),
    operation_id="getStudy",
    summary="A study's months, figures, knees and files so far",
)
def get_study(request: Request, study_id: StudyId, owner: Owner) -> StudyOut:
    """Every month's status, and the figures over the months done (the CSVs and plots too)."""
    return _gather(request, owner, study_id)


@router.post(
    "/{study_id}/stop",
    response_model=StudyOut,
    responses=responses(404),
    operation_id="stopStudy",
    summary="Stop a study: months not yet lived end stopped",
)
def stop_study(request: Request, study_id: StudyId, owner: Owner) -> StudyOut:
    """Months queued end stopped; a month being lived runs to its end (its figures are kept)."""
    db = db_of(request)
    _months(request, owner, study_id)
    for row in db.study_months(study_id):
        if row.status not in TERMINAL:
            db.request_stop(row.id)
    return _gather(request, owner, study_id)


@router.get(
    "/{study_id}/files/{name}",
    responses={
        **responses(404),
        200: {"content": {"text/csv": {}, "image/png": {}, "image/svg+xml": {}}, "description": "The file."},
    },
    response_class=Response,
    operation_id="getStudyFile",
    summary="A study's CSV or plot",
)
def get_study_file(
    request: Request,
    study_id: StudyId,
    owner: Owner,
    name: Annotated[
        Literal[
            "points.csv",
            "summary.csv",
            "knees.csv",
            "demand.png",
            "demand.svg",
            "congestion.png",
            "congestion.svg",
        ],
        Path(
            description="points.csv (one row per level x seed x planner x port x option), "
            "summary.csv (means and 95 % intervals), knees.csv, or a plot."
        ),
    ],
) -> Response:
    """Built from the months done so far (404 while none is)."""
    import tempfile
    from pathlib import Path as FsPath

    _, done = _months(request, owner, study_id)
    if not done:
        raise APIError(404, f"study {study_id!r} has no month lived yet")
    with tempfile.TemporaryDirectory() as tmp:
        root = FsPath(tmp)
        if name.endswith(".csv"):
            write_csvs(done, root)
        else:
            from optimizer.study.plots import write_plots
            from optimizer.study.queueing import me2n_wait_ratio

            s = summarize(done)
            write_plots(s, knees(s), root, theory=me2n_wait_ratio)
        data = (root / name).read_bytes()
    return Response(
        content=data,
        media_type=FILES[name],
        headers={"Content-Disposition": f'inline; filename="study-{study_id[:8]}-{name}"'},
    )


def _months(request: Request, owner: str, study_id: str) -> tuple[list[StudyMonthOut], list[MonthResult]]:
    db = db_of(request)
    if db.get_study(study_id, owner) is None:
        raise not_found("study", study_id)
    months, done = [], []
    for row in db.study_months(study_id):
        result = MonthResult.model_validate_json(row.result) if row.result else None
        key = result.key if result else MonthKey.model_validate_json(_key_of(db.problem_body(row.problem_id)))
        months.append(
            StudyMonthOut(
                key=key,
                job_id=row.id,
                status=JobStatus(row.status),
                error=row.error,
                spent_s=row.spent_s or 0.0,
            )
        )
        if result is not None:
            done.append(result)
    return months, done


def _key_of(body: str | None) -> str:
    import json

    data = json.loads(body or "{}")
    return json.dumps(data.get("key", {}))


def _gather(request: Request, owner: str, study_id: str) -> StudyOut:
    row = db_of(request).get_study(study_id, owner)
    if row is None:
        raise not_found("study", study_id)
    months, done = _months(request, owner, study_id)
    counts: dict[str, int] = {}
    for m in months:
        counts[m.status.value] = counts.get(m.status.value, 0) + 1
    summary = summarize(done)
    base = f"{request.scope.get('root_path', '')}/v1/studies/{study_id}/files"
    return StudyOut(
        id=study_id,
        name=row.name,
        months=months,
        counts=counts,
        status="finished" if all(m.status in TERMINAL for m in months) else "running",
        summary=summary,
        knees=knees(summary),
        files={n: f"{base}/{n}" for n in FILES} if done else {},
    )
