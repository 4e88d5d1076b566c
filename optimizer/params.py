"""Solve options, objective weights and the search's parameters as small records (options and
weights round-trip to JSON)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ObjectiveWeights(BaseModel):
    """Weights of the objective (dwell, lateness, changes against a previous plan), all per
    minute unless said otherwise.

    objective = dwell        * sum_c priority_c * (berth_end_c - arrival_c)
              + lateness     * sum_c priority_c * max(0, berth_end_c - requested_departure_c)
              + berth_change * (number of calls on another berth than in the previous plan)
              + start_change * sum_c |berth_start_c - previous berth_start_c|
    """

    model_config = ConfigDict(extra="forbid")

    dwell: int = Field(default=10, ge=0, le=10_000)
    lateness: int = Field(default=5, ge=0, le=10_000)
    berth_change: int = Field(default=300, ge=0, le=1_000_000, description="Per call moved to another berth.")
    start_change: int = Field(default=1, ge=0, le=10_000, description="Per minute a start moved.")


class SolveOptions(BaseModel):
    """How to solve: stopping criteria, search, weights; `cp_sat` goes straight to CP-SAT."""

    model_config = ConfigDict(extra="forbid")

    time_limit_s: float = Field(default=30.0, gt=0, le=24 * 3600)
    relative_gap: float = Field(default=0.0, ge=0, le=1)
    workers: int = Field(default_factory=lambda: max(1, min(8, os.cpu_count() or 1)), ge=1, le=64)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
    start_from: Literal["auto", "fcfs", "previous", "none"] = Field(
        default="auto",
        description="Complete start plan given to CP-SAT as a hint: the previous plan when the "
        "problem has one, else FCFS ('auto').",
    )
    log_search: bool = Field(default=False, description="Print CP-SAT's search log.")
    cp_sat: dict[str, Any] = Field(
        default_factory=dict, description="Any CP-SAT SatParameters field, passed through."
    )


@dataclass(frozen=True)
class OneWorkerBudgets:
    """With one worker every budget is counted in work, not seconds, so that a seed gives one
    plan; set to end well within the time limit on a 2-core machine."""

    deterministic_share: float = 0.6  # CP-SAT's deterministic time on the whole model, of the limit
    ls_moves_per_s: int = 3000  # local-search moves in all, per second of limit
    lns_rounds_per_s: float = 1.0  # CP-SAT neighbourhood rounds, per second of limit
    lns_round_deterministic_s: float = 0.1  # ... each this long on CP-SAT's deterministic clock
    report_every_moves: int = 5000  # local search reports its best every this many moves


@dataclass(frozen=True)
class ReportReserve:
    """Time kept aside from the limit for what follows the search: serving in exact time what
    the grid could not, and the plan's report (waits explained, KPIs, the checker on FCFS)."""

    s_per_call: float = 0.0008
    share: float = 0.4  # ... but no more than this share of the limit
    max_s: float = 1.5  # ... and no more than this: past the limit, the report takes the grace


@dataclass(frozen=True)
class RepairParameters:
    """Serving in exact time, after the search, the calls the step grid could not fit."""

    seconds: float = 0.5  # at most
    max_calls: int = 600  # above, each trial (a whole check) costs too much for the little it wins
    max_trials: int = 40  # starts tried per unserved call


@dataclass(frozen=True)
class ProofParameters:
    """Proving, after the search, that the calls it left unserved cannot be served by any plan
    (optimizer.solver.proof); counted on CP-SAT's deterministic clock."""

    share: float = 0.1  # of the time limit, for all the calls of a plan ...
    max_s: float = 0.5  # ... and no more than this (past the limit, the proofs take the grace)
    per_call_s: float = 0.1  # one call's proof at most
    per_solve_s: float = 0.02  # each CP-SAT solve counts at least this much: building and starting
    #   one costs wall time its deterministic clock does not see, and a count keeps the result the
    #   same run after run


@dataclass(frozen=True)
class MipParameters:
    """The time-indexed bound (a MIP by SCIP) on small problems."""

    max_s: float = 30.0  # at most this long ...
    share: float = 0.5  # ... and this share of the limit
    max_nonzeros: int = 2_500_000  # berth-step entries of all columns; above, it is not attempted


@dataclass(frozen=True)
class ContentionBoundParameters:
    """The contention-aware LP bound (optimizer.solver.bound.contention_bound) on large problems,
    which CP-SAT's own bound and the simple one leave far below the plans."""

    share: float = 0.08  # of the limit, at most ...
    max_s: float = 15.0  # ... and at most this long
    bucket_hours: float = 4.0  # berth time is counted per bucket this long
    window_hours: float = 48.0  # start columns per call from its release; later starts cost as at the end
    nonzeros_per_s: int = 150_000  # LP size attempted per second of its budget; above, not attempted

    def seconds(self, time_limit_s: float) -> float:
        return min(self.max_s, self.share * time_limit_s)


@dataclass(frozen=True)
class LocalSearchParameters:
    """Which call a local-search move starts from."""

    pick_greedy: float = 0.8  # share of moves that start from the costliest of a few random calls
    pick_tournament: int = 4  # ... that many


@dataclass(frozen=True)
class ServingParameters:
    """The phase that looks for a way to serve the calls the start plan leaves unserved: CP-SAT
    rounds around each (optimizer.solver.lns.Lns.serving_neighbourhood)."""

    radius_hours: float = 6.0  # the window around the call, doubled every second try ...
    tries: int = 8  # rounds per call (every second one wide) before the search improves the rest ...
    max_doublings: int = 4  # ... and goes on trying, one serving round in place of each LNS round
    round_s: float = 1.5  # CP-SAT time per round (several workers) ...
    round_deterministic_s: float = 0.5  # ... or on CP-SAT's deterministic clock (one worker)
    max_free: int = 400  # calls a round may re-plan; a wider window is cut to the nearest in time
    slab_after: int = 2  # berth neighbourhoods of a call proven without a way, then time slabs (all berths)
    # feasibility-first constructions, one per (urgent hours, lookahead hours): see ConstructionParameters
    constructions: tuple[tuple[float, float], ...] = ((24.0, 12.0), (12.0, 12.0), (24.0, 96.0))


@dataclass(frozen=True)
class SearchParameters:
    """How the search spends a time limit: which phases run at which size, and their budgets.
    The search's own knobs, not the user's (those are SolveOptions); benchmarks vary them."""

    full_model_calls: int = 80  # up to this size the whole model gets the whole time; above, LNS
    full_model_share: float = 0.25  # of the limit, for the whole model beside local search (large)
    dispatch_calls: int = 1000  # above, the dispatch rules (quadratic) cost more than they win
    ls_patience: int = 20_000  # moves without a new best before a CP-SAT neighbourhood round ...
    ls_burst_s: float = 0.5  # ... or this long (several workers), whichever comes first
    report_every_s: float = 0.5  # local search reports its best at most this often
    lns_round_s: float = 1.0  # CP-SAT time per neighbourhood round (several workers)
    one_worker: OneWorkerBudgets = field(default_factory=OneWorkerBudgets)
    reserve: ReportReserve = field(default_factory=ReportReserve)
    repair: RepairParameters = field(default_factory=RepairParameters)
    mip: MipParameters = field(default_factory=MipParameters)
    proof: ProofParameters = field(default_factory=ProofParameters)
    contention: ContentionBoundParameters = field(default_factory=ContentionBoundParameters)
    local_search: LocalSearchParameters = field(default_factory=LocalSearchParameters)
    serving: ServingParameters = field(default_factory=ServingParameters)
