"""The error the segmentation raises when it cannot produce a trustworthy airway."""

from __future__ import annotations

from rhinoapp.core.errors import RhinoappError

__all__ = ["SegmentationError"]


class SegmentationError(RhinoappError, ValueError):
    """The volume cannot be segmented as it is; the message says what is missing and what to do.

    Examples
    --------
    >>> isinstance(SegmentationError("no nostrils found"), ValueError)
    True
    """
