"""Re-export: the solver's parameters live in optimizer.params (importable without OR-Tools)."""

from optimizer.params import ObjectiveWeights, SolveOptions

__all__ = ["ObjectiveWeights", "SolveOptions"]
