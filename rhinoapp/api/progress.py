"""Progress bars of the Python API: tqdm's (a widget in a notebook, a line in a terminal) when installed.

:class:`ProgressBar` is a :data:`~rhinoapp.core.progress.ProgressCallback`: the API hands it to the
use-case functions and jobs, which report :class:`~rhinoapp.core.progress.ProgressReport` values.
"""

from __future__ import annotations

import logging
from typing import Any

from rhinoapp.core.progress import ProgressReport

__all__ = ["ProgressBar"]

_log = logging.getLogger(__name__)
_SCALE = 1000


class ProgressBar:
    """A bar from 0 to 100 % showing each report's words; silent when ``enabled`` is False or tqdm is missing.

    Examples
    --------
    >>> bar = ProgressBar("segmenting", enabled=False)
    >>> bar(ProgressReport(0.5, stage="surface"))
    >>> bar.fraction, bar.message
    (0.5, 'surface')
    >>> bar.close()
    """

    def __init__(self, description: str, *, enabled: bool = True) -> None:
        self.fraction = 0.0
        self.message = ""
        self._bar: Any = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm is optional: progress then goes to the log only
                _log.debug("tqdm is not installed: no progress bar")
            else:
                self._bar = tqdm(total=_SCALE, desc=description, unit="‰", leave=True,
                                 bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def __call__(self, report: ProgressReport) -> None:
        self.fraction = max(self.fraction, min(1.0, float(report.fraction)))
        self.message = report.message
        if self._bar is not None:
            self._bar.n = int(self.fraction * _SCALE)
            self._bar.set_postfix_str(self.message[:80], refresh=False)
            self._bar.refresh()

    def close(self, *, done: bool = True) -> None:
        """End the bar (full when ``done``)."""
        if self._bar is not None:
            if done:
                self._bar.n = _SCALE
                self._bar.refresh()
            self._bar.close()
