"""Request and response bodies of the API. Problem, SolveOptions, Plan, CallAssignment and
CheckReport are the optimizer's own records, used as they are."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from api.db import JobStatus
from optimizer.checker import CheckReport
from optimizer.domain import Problem
from optimizer.params import ObjectiveWeights, SolveOptions
from optimizer.plan import CallAssignment, Plan, SolveStatus

__all__ = [
    "CheckReport", "CheckRequest", "JobList", "JobOut", "JobProgress", "JobSummary", "Plan",
    "SubmitBody", "SubmitRequest",
]


log = logging.getLogger("portsync.api")


def _input_fault(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A validator that breaks on odd input (not with a ValueError) is still the input's fault: 422,
    not 500. The traceback is logged, since it is a bug in that validator."""
    try:
        return handler(value)
    except (OSError, ArithmeticError, LookupError, TypeError, RecursionError) as exc:
        log.warning("a validator failed on a request body with %s", type(exc).__name__, exc_info=exc)
        raise PydanticCustomError(
            "unvalidatable", "a value in this object could not be validated ({kind})",
            {"kind": type(exc).__name__},
        ) from None


#: Marks a body part whose validation must never end in a 500.
Guarded = WrapValidator(_input_fault)


class SubmitRequest(BaseModel):
    """A problem and how to solve it."""

    model_config = ConfigDict(extra="forbid")

    problem: Problem
    options: SolveOptions | None = Field(
        default=None,
        description="Time limit, gap, workers, seed, objective weights; defaults apply when absent.",
    )


def _submit_kind(value: Any) -> str:
    return "wrapped_problem" if isinstance(value, dict) and "problem" in value else "bare_problem"


#: The body of POST /v1/schedules and /v1/solve: {"problem": ..., "options": ...}, or a bare problem.
SubmitBody = Annotated[
    Annotated[SubmitRequest, Tag("wrapped_problem")] | Annotated[Problem, Tag("bare_problem")],
    Discriminator(_submit_kind),
    Guarded,
]


def _plan_kind(value: Any) -> str:
    return "assignment_list" if isinstance(value, list) else "full_plan"


class CheckRequest(BaseModel):
    """A problem and a plan to check against it (a full Plan, or bare assignments)."""

    model_config = ConfigDict(extra="forbid")

    problem: Annotated[Problem, Guarded]
    plan: Annotated[
        Annotated[Plan, Tag("full_plan")] | Annotated[list[CallAssignment], Tag("assignment_list")],
        Discriminator(_plan_kind),
    ] = Field(description="A Plan (only call_id, berth_id, arrival, berth_start, berth_end are needed per "
                          "call) or a list of such assignments.")
    weights: ObjectiveWeights | None = Field(
        default=None, description="Weights for the recomputed objective."
    )
    force: bool = Field(default=False, description="Check a plan whose problem_digest names another "
                        "problem (refused with 409 otherwise).")


class BoardPlanRequest(CheckRequest):
    """A problem and a plan made elsewhere (a file of `portsync solve --out`, a planner's own, another
    tool's), to be drawn on the berth board as it is: nothing is solved and nothing is stored."""

    title: str | None = Field(default=None, max_length=200, description="The board's title (default: the "
                              "problem's name, 'plan from a file').")


class JobProgress(BaseModel):
    """How the search is going; objective and bound are CP-SAT's (see ObjectiveWeights)."""

    objective: float | None = Field(default=None, description="Objective of the best plan so far.")
    best_bound: float | None = Field(default=None, description="No plan can be better than this.")
    gap: float | None = Field(default=None, description="(objective - bound) / objective.")
    solutions: int = Field(default=0, description="Solutions found by the last attempt.")
    improvements: int = Field(default=0, description="Best-plan improvements stored.")
    solver_s: float | None = Field(default=None, description="Solver time at the best plan.")
    elapsed_s: float | None = Field(default=None, description="Since the job started solving.")
    solver_status: SolveStatus | None = Field(default=None, description="Status of the best plan.")


class JobLinks(BaseModel):
    self: str
    gantt: str
    stop: str
    improvements: str


class JobSummary(BaseModel):
    """A job without its plan."""

    id: str
    status: JobStatus
    problem_name: str
    calls: int = Field(description="Calls in the problem.")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stop_requested: bool = False
    has_plan: bool = Field(description="A best plan is stored (GET the job without summary=true).")
    error: str | None = Field(default=None, description="Why a failed job failed.")
    restarts: int = Field(default=0, description="Times the job was resumed after a server restart.")
    options: SolveOptions
    progress: JobProgress
    links: JobLinks


class JobOut(JobSummary):
    """A job with its best plan so far (while solving) or its final plan."""

    plan: Plan | None = None


class BatchRequest(BaseModel):
    """Many solves from one request: `items` (each a problem and its options: the levels of a
    capacity study), or one `problem` solved once per seed in `seeds` (a benchmark's seeds)."""

    model_config = ConfigDict(extra="forbid")

    items: list[SubmitRequest] | None = Field(default=None, min_length=1, description="The solves, "
                                              "each as the body of POST /v1/schedules.")
    problem: Problem | None = Field(default=None, description="With `seeds`: the problem of every solve.")
    options: SolveOptions | None = Field(default=None, description="With `seeds`: the options of every "
                                         "solve (its `seed` replaced by each of `seeds`).")
    seeds: list[Annotated[int, Field(ge=0, le=2**31 - 1)]] | None = Field(
        default=None, min_length=1, description="With `problem`: one solve per seed.")

    @model_validator(mode="after")
    def _one_form(self) -> BatchRequest:
        if (self.items is None) == (self.problem is None):
            raise ValueError("give `items`, or `problem` with `seeds`, not both")
        if self.problem is not None and self.seeds is None:
            raise ValueError("`problem` needs `seeds` (one solve per seed)")
        if self.items is not None and (self.seeds is not None or self.options is not None):
            raise ValueError("`seeds` and `options` go with `problem`; each item has its own options")
        return self


class BatchBest(BaseModel):
    job_id: str = Field(description="The job with the lowest objective (GET /v1/schedules/{job_id}).")
    objective: float = Field(description="Its objective (the plan's `objective`).")


class BatchObjective(BaseModel):
    """Objectives of the items with a plan (the best plan so far while they solve)."""

    min: float = Field(description="The lowest objective.")
    median: float = Field(description="The median objective.")
    max: float = Field(description="The highest objective.")
    items: int = Field(description="How many items have a plan (the others are not counted).")


class BatchOut(BaseModel):
    """A batch's solves gathered: each item's job (in the order given), how many are in each
    status, and the objectives over those with a plan."""

    id: str = Field(description="The batch id: GET /v1/batches/{id}.")
    status: Literal["running", "finished"] = Field(description="finished: every job done, stopped "
                                                   "or failed.")
    counts: dict[str, int] = Field(description="Jobs per status.")
    best: BatchBest | None = Field(default=None, description="The item with the lowest objective.")
    objective: BatchObjective | None = Field(default=None, description="Over the items with a plan "
                                             "(none yet: null).")
    items: list[JobSummary] = Field(description="Each item's job, in the order given.")


class JobList(BaseModel):
    items: list[JobSummary]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next (older) page.")


class ImprovementOut(BaseModel):
    """One stored best-plan improvement."""

    seq: int
    attempt: int
    at: datetime
    objective: float | None
    best_bound: float | None
    gap: float | None
    solver_s: float | None = Field(description="Solver time when it found this plan.")
    solutions: int
    final: bool
    assignments: list[CallAssignment] | None = None


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    broker: str | None = Field(default=None, description="With a worker fleet: ok when the broker answers.")
    solver_processes: int = Field(description="This process's job solver processes (0 on a fleet).")
    jobs: dict[str, int] = Field(default_factory=dict, description="Jobs per status.")


class HeldJob(BaseModel):
    job_id: str = Field(description="The job's id (GET /v1/schedules/{job_id}).")
    attempt: int = Field(description="Its attempt: every write of the holder carries it (fencing).")
    process: str = Field(description="The worker process holding the job's lease: node/pid.")
    lease_expires_at: datetime | None = Field(description="When its lease runs out unless the holder "
                                              "renews it (then the job goes to another worker).")


class HeldLivePlan(BaseModel):
    live_plan_id: str = Field(description="The live plan being replanned (GET /v1/live-plans/{id}).")
    process: str = Field(description="The worker process holding the live plan's lease: node/pid.")
    lease_expires_at: datetime | None = Field(description="When its lease runs out unless the holder "
                                              "renews it (then another worker replans it).")


class WorkerView(BaseModel):
    name: str = Field(description="The worker's node name (portsync worker --name), or 'embedded'.")
    processes: int | None = Field(description="Its solver processes (null: it did not answer in time).")
    answering: bool = Field(description="It answered the broadcast (a worker holding leases that does not "
                            "answer may be gone: its leases run out and its jobs go to another).")
    holding: int = Field(description="Jobs it holds (every client's).")
    jobs: list[HeldJob] = Field(description="Of those, your jobs.")
    live_plans: list[HeldLivePlan] = Field(default_factory=list, description="Your live plans it is "
                                           "replanning now (fleet).")


class WorkerList(BaseModel):
    backend: Literal["embedded", "fleet"] = Field(
        description="embedded: this server's solver processes; fleet: portsync workers through the broker.")
    queue_depth: dict[str, int | None] = Field(
        description="Messages waiting per broker queue (fleet), or jobs queued (embedded: 'jobs').")
    workers: list[WorkerView] = Field(description="Each worker, what it holds.")
