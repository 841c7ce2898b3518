"""Analysis across steps: the simulation beside the rhinomanometry (4PR) measurement."""

from rhinoapp.analysis.compare import Comparison, ComparisonRow, compare_with_rhinomanometry

__all__ = ["Comparison", "ComparisonRow", "compare_with_rhinomanometry"]
