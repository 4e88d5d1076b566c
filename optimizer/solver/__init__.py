"""The CP-SAT berth planner; `solve` is the entry point (see optimizer.solver.solve)."""

from optimizer.params import ObjectiveWeights, SearchParameters, SolveOptions
from optimizer.result import Improvement, Progress, Result, relative_gap
from optimizer.solver.solve import apply_parameters, solve, start_plan

__all__ = [
    "Improvement",
    "ObjectiveWeights",
    "Progress",
    "Result",
    "SearchParameters",
    "SolveOptions",
    "apply_parameters",
    "relative_gap",
    "solve",
    "start_plan",
]
