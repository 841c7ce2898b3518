"""Analysis across steps: the simulation beside the rhinomanometry (4PR) measurement."""

from rhinoapp.analysis.compare import ComparisonRow, compare_with_rhinomanometry

__all__ = ["ComparisonRow", "compare_with_rhinomanometry"]
