"""The CP-SAT berth planner; `solve` is the entry point (see optimizer.solver.solve)."""

from optimizer.params import ObjectiveWeights, SolveOptions
from optimizer.solver.solve import (
    FULL_MODEL_CALLS,
    Progress,
    apply_parameters,
    relative_gap,
    solve,
    start_plan,
)

__all__ = [
    "FULL_MODEL_CALLS",
    "ObjectiveWeights",
    "Progress",
    "SolveOptions",
    "apply_parameters",
    "relative_gap",
    "solve",
    "start_plan",
]
