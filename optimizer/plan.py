"""The plan (output): per call berth and times, KPIs, the FCFS comparison, solver facts.

A plan a planner writes by hand needs only `call_id`, `berth_id`, `arrival`, `berth_start` and
`berth_end` per call; every other field is derived and filled in by :func:`optimizer.report`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaitReason(Out):
    """What a waiting call waited for."""

    kind: str = Field(description="berth_busy | closure | link | earliest_start | maintenance | voyage")
    detail: str
    blocking_call_id: str | None = None
    until: AwareDatetime | None = None


class CallAssignment(Out):
    """The decision for one call: where and when."""

    call_id: str
    berth_id: str
    arrival: AwareDatetime = Field(description="Requested time of arrival at the port (RTA).")
    berth_start: AwareDatetime
    berth_end: AwareDatetime = Field(description="Departure from the berth.")


class CallPlan(CallAssignment):
    """A call's assignment with what follows from it, for people and integrators."""

    vessel_id: str | None = None
    vessel_name: str | None = None
    port_id: str | None = None
    arrival_local: datetime | None = Field(default=None, description="Arrival in the port's local offset.")
    berth_start_local: datetime | None = None
    berth_end_local: datetime | None = None
    waiting_minutes: float | None = Field(default=None, description="At anchorage: berth_start - arrival.")
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


class UnservedCall(Out):
    call_id: str
    reasons: list[str]


class PortKpis(Out):
    port_id: str
    calls: int
    total_dwell_hours: float
    mean_dwell_hours: float
    total_waiting_hours: float
    mean_waiting_hours: float
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
    total_lateness_hours: float
    late_calls: int
    berth_utilization: float
    weighted_dwell_minutes: float
    weighted_lateness_minutes: float
    objective: float = Field(description="The weighted objective of DESIGN section 4 for this plan.")
    fuel_saved_t: float = 0.0
    per_port: list[PortKpis] = Field(default_factory=list)


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
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
    source: str = Field(default="cp-sat", description="cp-sat | fcfs | previous-plan | lns")


class Plan(Out):
    problem_name: str = ""
    calls: list[CallPlan] = Field(default_factory=list)
    unserved: list[UnservedCall] = Field(default_factory=list)
    kpis: Kpis | None = None
    baseline_kpis: Kpis | None = Field(default=None, description="First-come-first-served, for comparison.")
    solver: SolverFacts | None = None

    def by_call(self) -> dict[str, CallPlan]:
        return {c.call_id: c for c in self.calls}
