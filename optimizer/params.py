"""Solver parameters and objective weights as small records (they round-trip to JSON)."""

from __future__ import annotations

import os
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
