"""What a solve returns, whatever solved it: the plan's assignments, status, objective, bound,
runtime and how the incumbent improved; no KPIs, no report (optimizer.report builds the user's
Plan from it at the edges: CLI, API, benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field

from optimizer.plan import CallAssignment, PlanSource, SolveStatus, UnservedCall


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(objective - bound) / objective: the share of the objective a better plan could still
    save at most; None without both figures or with a negative (unusable) bound."""
    if objective is None or bound is None or bound < 0:
        return None
    if objective <= bound:
        return 0.0
    return (objective - bound) / max(abs(objective), 1e-9)


@dataclass(frozen=True)
class Improvement:
    """One better plan, as it was found: its objective (without the unserved penalty), the bound
    among plans serving as many calls (None while there is none), how many calls it leaves
    unserved, and which phase found it."""

    seconds: float
    objective: float
    best_bound: float | None
    gap: float | None
    solutions: int
    unserved: int
    source: PlanSource


@dataclass(frozen=True)
class Progress(Improvement):
    """An improvement with its plan, for whoever follows the solve live (CLI, API jobs)."""

    assignments: list[CallAssignment] = field(default_factory=list)
    unserved_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Yardsticks:
    """The plans a result is compared with: FCFS as ports work today (it may break hard rules)
    and FCFS keeping every hard limit (leaving unserved the calls it cannot serve by them)."""

    fcfs: list[CallAssignment]
    fcfs_keeping_limits: list[CallAssignment]
    fcfs_keeping_limits_unserved: list[str]


@dataclass(frozen=True)
class Result:
    """A solve's answer. `assignments` are in exact time and break no hard rule; `objective` is
    their exact objective (None without a plan); `bound` holds for every plan serving as many
    calls, `proven_optimal` when none of them is better."""

    status: SolveStatus
    assignments: list[CallAssignment]
    unserved: list[UnservedCall]
    objective: float | None
    bound: float | None
    seconds: float
    source: PlanSource
    solutions: int = 0
    stopped: bool = False
    proven_optimal: bool = False
    hint_used: bool | None = None
    repaired_in_exact_time: int = 0
    history: list[Improvement] = field(default_factory=list)
    yardsticks: Yardsticks | None = None
    message: str | None = None

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    @property
    def has_plan(self) -> bool:
        return bool(self.assignments)
