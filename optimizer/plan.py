"""The plan (output): per call berth and times, KPIs, the FCFS comparison, solver facts.

A plan a planner writes by hand needs only `call_id`, `berth_id`, `arrival`, `berth_start` and
`berth_end` per call; every other field is derived and filled in by :func:`optimizer.report`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

#: A time in UTC, written with Z: every UTC field of a plan, whatever offset it was given in.
UtcTime = Annotated[AwareDatetime, AfterValidator(lambda t: t.astimezone(UTC))]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaitKind(StrEnum):
    """What a waiting call waited for."""

    BERTH_BUSY = "berth_busy"
    CLOSURE = "closure"
    LINK = "link"
    EARLIEST_START = "earliest_start"
    MAINTENANCE = "maintenance"
    FROZEN = "frozen"  # a frozen call: its wait is a fact
    OTHER = "other"  # nothing in the plan kept the berth: the plan's own choice


class PlanSource(StrEnum):
    """Which phase found the plan."""

    FCFS = "fcfs"
    DISPATCH_SPT = "dispatch-spt"
    DISPATCH_ECT = "dispatch-ect"
    CONSTRUCTION = "feasibility-first"  # built around the hard limits (optimizer.solver.construct)
    PREVIOUS_PLAN = "previous-plan"
    INITIAL_PLAN = "initial-plan"  # the plan the caller started the search from (a resumed job)
    TIME_INDEXED_MIP = "time-indexed-mip"
    CP_SAT = "cp-sat"
    LOCAL_SEARCH = "local-search"
    LNS = "local-search+lns"
    SERVING = "serving-lns"  # CP-SAT rounds around the calls left unserved
    IN_PROGRESS = "in-progress"  # a job's plan while it is still solving
    NONE = "none"  # no plan


class WaitReason(Out):
    """What a waiting call waited for."""

    kind: WaitKind
    detail: str
    blocking_call_id: str | None = None
    until: UtcTime | None = None


class CallAssignment(Out):
    """The decision for one call: where and when."""

    call_id: str
    berth_id: str
    arrival: UtcTime = Field(description="Requested time of arrival at the port (RTA), UTC.")
    berth_start: UtcTime = Field(description="UTC.")
    berth_end: UtcTime = Field(description="Departure from the berth, UTC.")


class CallPlan(CallAssignment):
    """A call's assignment with what follows from it, for people and integrators."""

    vessel_id: str | None = None
    vessel_name: str | None = None
    port_id: str | None = None
    arrival_local: datetime | None = Field(default=None, description="Arrival in the port's local offset.")
    berth_start_local: datetime | None = None
    berth_end_local: datetime | None = None
    waiting_minutes: float | None = Field(default=None, description="At anchorage: berth_start - arrival.")
    waiting_at_sea_minutes: float | None = Field(
        default=None, description="Before arrival, at sea: how much longer the way here (from the "
        "vessel's last served call, over any port it passes, or from its ETA) takes than sailing it "
        "at min speed. Not part of waiting_minutes or dwell_minutes.")
    dwell_minutes: float | None = Field(default=None, description="berth_end - arrival.")
    lateness_minutes: float | None = Field(default=None, description="Past the requested departure.")
    inbound_speed_kn: float | None = Field(
        default=None, description="Recommended speed on the leg into this port (None for the first call)."
    )
    inbound_distance_nm: float | None = None
    fuel_saved_t: float | None = Field(
        default=None,
        description="ESTIMATE: fuel saved on the inbound leg against sailing at service speed and "
        "waiting at anchorage (cubic speed-power law); negative when the plan asks for more speed.",
    )
    waited_for: list[WaitReason] = Field(default_factory=list)


class UnservedKind(StrEnum):
    """Which of two things is true of a call a plan leaves unserved."""

    PROVEN = "proven"  # no plan can serve it: `rule` says what proves it
    NOT_FOUND = "not_found"  # the search found no plan serving it in its time; one may exist


class ProofRule(StrEnum):
    """What proves that no plan can serve a call."""

    NO_COMPATIBLE_BERTH = "no_compatible_berth"  # no berth of its port fits the vessel and cargo
    OWN_WINDOW = "own_window"  # its earliest start is not before its latest departure
    WINDOW_TOO_SHORT = "window_too_short"  # it cannot start early enough to finish by its latest departure
    WINDOW_CLOSED = "window_closed"  # closures and maintenance leave no stay inside its window
    RELAXED_MODEL = "relaxed_model"  # CP-SAT: a relaxation of the problem with it served has no solution


class UnservedCall(Out):
    """A call the plan leaves unserved: whether that is proven or only what the search found, and
    why, in sentences (`reasons`: the binding rule, with times in the port's offset and UTC)."""

    call_id: str
    kind: UnservedKind = Field(default=UnservedKind.NOT_FOUND, description=(
        "proven: no plan can serve it (rule says what proves it); not_found: the search found no "
        "plan serving it in its time, one may exist (the reasons say what holds in this plan)."))
    rule: ProofRule | None = Field(default=None, description="What proves it (proven only).")
    reasons: list[str]

    @model_validator(mode="after")
    def _rule_with_proof(self) -> UnservedCall:
        if self.kind == UnservedKind.PROVEN and self.rule is None:
            raise ValueError("rule: a proven unserved call names the rule that proves it")
        if self.kind == UnservedKind.NOT_FOUND and self.rule is not None:
            raise ValueError("rule: only a proven unserved call has a rule")
        return self


WAITING_AT_SEA = ("Hours vessels spend at sea beyond the slowest sailing of their way to the calls "
                  "(over the ports they pass): time they cannot spend sailing, so wait, off a port. "
                  "Counted at the port they arrive at; not part of waiting or dwell, which count "
                  "from the arrival.")


class PortKpis(Out):
    port_id: str
    calls: int
    total_dwell_hours: float
    mean_dwell_hours: float
    total_waiting_hours: float
    mean_waiting_hours: float
    total_waiting_at_sea_hours: float = Field(default=0.0, description=WAITING_AT_SEA)
    total_lateness_hours: float
    late_calls: int
    berth_utilization: float = Field(description="Busy berth-hours / available berth-hours in the horizon.")


class Kpis(Out):
    """Totals over all ports, then per port."""

    calls: int
    total_dwell_hours: float
    mean_dwell_hours: float
    total_waiting_hours: float
    mean_waiting_hours: float
    total_waiting_at_sea_hours: float = Field(default=0.0, description=WAITING_AT_SEA)
    total_lateness_hours: float
    late_calls: int
    berth_utilization: float
    weighted_dwell_minutes: float
    weighted_lateness_minutes: float
    objective: float = Field(description="This plan's objective: weighted dwell, lateness and changes "
                                       "against a previous plan, with the weights of the options.")
    fuel_saved_t: float = 0.0
    per_port: list[PortKpis] = Field(default_factory=list)


class SolveStatus(StrEnum):
    """optimal: every call served, proven best; feasible: every call served; partial: some calls
    cannot be served (listed with reasons), the rest planned; infeasible: no call can be served;
    unknown: the solve ended before any plan (no plan: not a plan with zero dwell)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    PARTIAL = "partial"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"
    MODEL_INVALID = "model_invalid"


class SolverFacts(Out):
    status: SolveStatus
    objective: float | None = None
    best_bound: float | None = None
    gap: float | None = Field(default=None, description="(objective - bound) / objective")
    seconds: float = 0.0
    solutions: int = 0
    stopped: bool = Field(default=False, description="True when the solve was stopped on request.")
    hint_used: bool | None = Field(default=None, description="The start plan was complete and feasible.")
    source: PlanSource = Field(default=PlanSource.CP_SAT, description="The phase that found the plan.")
    repaired_in_exact_time: int = Field(default=0, description="Calls the model's time grid could not "
                                        "fit, served in exact time after the search.")
    proven_optimal: bool = Field(default=False, description="No plan serving as many calls is better "
                                 "(on the model's time grid).")
    served_calls: int = 0
    unserved_calls: int = 0
    proven_unserved_calls: int = Field(default=0, description="Of the unserved calls, those proven "
                                       "unservable: no plan can serve them.")


class PlanWarning(Out):
    """Something true of the plan that is not its fault: a frozen call that breaks a hard rule
    (kind frozen_<rule>, the fact is kept), a previous-plan entry that was ignored."""

    kind: str
    call_id: str | None = None
    detail: str


class Plan(Out):
    problem_name: str = ""
    problem_digest: str | None = Field(default=None, description="SHA-256 of the problem this plan was "
                                       "made for; `check` refuses the plan for another problem.")
    calls: list[CallPlan] = Field(default_factory=list)
    unserved: list[UnservedCall] = Field(default_factory=list)
    warnings: list[PlanWarning] = Field(default_factory=list)
    kpis: Kpis | None = None
    baseline_kpis: Kpis | None = Field(default=None, description="First-come-first-served, as the ports "
                                       "plan today, for comparison; it may break hard limits (see "
                                       "baseline_violations).")
    baseline_violations: dict[str, int] | None = Field(
        default=None, description="Hard rules the FCFS plan breaks, counted per checker kind.")
    feasible_baseline_kpis: Kpis | None = Field(
        default=None, description="FCFS that keeps every hard limit, leaving unserved the calls that "
        "cannot make theirs: the yardstick that breaks no rule.")
    feasible_baseline_unserved: list[str] | None = None
    solver: SolverFacts | None = None
    message: str | None = Field(default=None, description="Why there is no plan, when there is none.")

    @property
    def has_plan(self) -> bool:
        return bool(self.calls)

    def by_call(self) -> dict[str, CallPlan]:
        return {c.call_id: c for c in self.calls}
