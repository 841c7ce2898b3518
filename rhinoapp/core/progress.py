"""Progress as numbers: what a long computation reports, from the solver to the page, and one duration text.

A domain function that takes a while (the segmentation, the surface, the flow solver) calls a
:data:`ProgressCallback` with a :class:`ProgressReport`. The report keeps every figure as a number
(fraction, step and total, time left, pressure drop, flow, speed); the job layer carries it to the
store as JSON (:meth:`ProgressReport.to_dict`), and the pages read the numbers back, never the
text. The sentence people read is built from the numbers only when it is shown
(:attr:`ProgressReport.message`), so its wording can change without breaking anything that uses
the numbers. :func:`format_duration` is the one way a duration (an ETA, a run time) becomes text.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ProgressCallback", "ProgressReport", "format_duration", "part_of"]


def format_duration(seconds: float | None) -> str:
    """Seconds as people read them (``''`` for an unknown duration).

    Examples
    --------
    >>> format_duration(None), format_duration(4.2), format_duration(125), format_duration(7322)
    ('', '4 s', '2 min 5 s', '2 h 2 min')
    >>> format_duration(float("nan")), format_duration(-3)
    ('', '0 s')
    """
    if seconds is None or not math.isfinite(seconds):
        return ""
    whole = max(0, int(round(seconds)))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60} min"


def _optional(value: Any, kind: Callable[[Any], Any]) -> Any:
    if value is None:
        return None
    try:
        converted = kind(value)
    except (TypeError, ValueError):
        return None
    return converted if not isinstance(converted, float) or math.isfinite(converted) else None


@dataclasses.dataclass(frozen=True)
class ProgressReport:
    """One progress update of a long computation; every figure is a number (``None``: not known).

    Parameters
    ----------
    fraction
        Share of the work done, 0 to 1.
    stage
        What is being done now, in words ("finding the nostrils"); empty for the solver's steps.
    step, total
        Time steps done and expected (the solver).
    eta_s
        Seconds left (estimated).
    steady
        The solver found the flow steady (the run ends).
    pressure_drop_pa, flow_ml_s, mlups
        The solver's latest pressure drop (Pa), nostril flow (ml/s, negative while breathing out) and
        speed (million lattice updates per second).
    live_step
        The step of the solver's latest live checkpoint (:mod:`rhinoapp.cfd.live`), if it writes them.

    Examples
    --------
    >>> report = ProgressReport(0.22, step=4730, total=21570, eta_s=143.0, mlups=4.7, pressure_drop_pa=19.756,
    ...                         flow_ml_s=249.81)
    >>> report.message
    'step 4,730 of 21,570, 4.7 MLUPS, pressure drop 19.76 Pa, flow 249.8 ml/s'
    >>> ProgressReport.from_dict(report.to_dict()) == report
    True
    >>> ProgressReport(0.5, stage="finding the nostrils").within(0.02, 0.6)
    ProgressReport(fraction=0.32, stage='finding the nostrils', step=None, total=None, eta_s=None, steady=False, pressure_drop_pa=None, flow_ml_s=None, mlups=None, live_step=None)
    """

    fraction: float
    stage: str = ""
    step: int | None = None
    total: int | None = None
    eta_s: float | None = None
    steady: bool = False
    pressure_drop_pa: float | None = None
    flow_ml_s: float | None = None
    mlups: float | None = None
    live_step: int | None = None

    def __post_init__(self) -> None:
        fraction = float(self.fraction)
        object.__setattr__(self, "fraction", min(max(fraction, 0.0), 1.0) if math.isfinite(fraction) else 0.0)

    @property
    def message(self) -> str:
        """The report in words, built from the numbers (for display only: read the fields, not this)."""
        parts = [self.stage] if self.stage else []
        if self.step is not None:
            parts.append(f"step {self.step:,}" + (f" of {self.total:,}" if self.total else ""))
            if self.steady:
                parts.append("steady")
            elif self.total and self.step > self.total:
                parts.append("past the estimate")
        if self.mlups is not None:
            parts.append(f"{self.mlups:.1f} MLUPS")
        if self.pressure_drop_pa is not None:
            parts.append(f"pressure drop {self.pressure_drop_pa:.2f} Pa")
        if self.flow_ml_s is not None:
            parts.append(f"flow {self.flow_ml_s:.1f} ml/s")
        return ", ".join(parts)

    def within(self, offset: float, scale: float) -> ProgressReport:
        """The report of a part of a larger task: the fraction mapped to ``offset + scale * fraction``.

        The part's time left is not the task's: it is dropped (the task estimates its own).
        """
        return dataclasses.replace(self, fraction=offset + scale * self.fraction, eta_s=None)

    def with_eta(self, elapsed_s: float) -> ProgressReport:
        """The report with a time left estimated from the share done in ``elapsed_s``, if it has none.

        Examples
        --------
        >>> ProgressReport(0.25).with_eta(30.0).eta_s, ProgressReport(0.25, eta_s=5.0).with_eta(30.0).eta_s
        (90.0, 5.0)
        >>> ProgressReport(0.0).with_eta(30.0).eta_s is None  # nothing done yet: no estimate
        True
        """
        if self.eta_s is not None or self.fraction <= 0.01:
            return self
        return dataclasses.replace(self, eta_s=max(0.0, elapsed_s) * (1.0 - self.fraction) / self.fraction)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (unknown figures left out)."""
        return {key: value for key, value in dataclasses.asdict(self).items()
                if value is not None and not (key == "stage" and not value) and not (key == "steady" and not value)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProgressReport:
        """A report from :meth:`to_dict`'s output; unknown keys are ignored and bad values become unknown.

        Examples
        --------
        >>> ProgressReport.from_dict({"fraction": 0.5, "step": "300", "flow_ml_s": "n/a", "colour": "red"})
        ProgressReport(fraction=0.5, stage='', step=300, total=None, eta_s=None, steady=False, pressure_drop_pa=None, flow_ml_s=None, mlups=None, live_step=None)
        """
        return cls(fraction=_optional(data.get("fraction"), float) or 0.0, stage=str(data.get("stage") or ""),
                   step=_optional(data.get("step"), int), total=_optional(data.get("total"), int),
                   eta_s=_optional(data.get("eta_s"), float), steady=bool(data.get("steady", False)),
                   pressure_drop_pa=_optional(data.get("pressure_drop_pa"), float),
                   flow_ml_s=_optional(data.get("flow_ml_s"), float), mlups=_optional(data.get("mlups"), float),
                   live_step=_optional(data.get("live_step"), int))


#: What long domain functions call with each update; it may raise (for example to cancel a job).
ProgressCallback = Callable[[ProgressReport], None]


def part_of(progress: ProgressCallback | None, offset: float, scale: float, *, stage: str | None = None,
            last: bool = True) -> ProgressCallback | None:
    """``progress`` for one part of a larger task: each report's fraction mapped to ``offset + scale * fraction``
    (:meth:`ProgressReport.within`), its stage named ``stage`` if given, and (unless it is the ``last`` part) its
    steady state not taken for the end of the whole task. None stays None.

    Examples
    --------
    >>> seen = []
    >>> first = part_of(seen.append, 0.0, 0.25, stage="coarse start", last=False)
    >>> first(ProgressReport(1.0, step=10, steady=True))
    >>> seen[-1].fraction, seen[-1].stage, seen[-1].steady
    (0.25, 'coarse start', False)
    >>> part_of(None, 0.0, 0.5) is None
    True
    """
    if progress is None:
        return None
    report_to = progress

    def report(part: ProgressReport) -> None:
        whole = part.within(offset, scale)
        if stage is not None or not last:
            whole = dataclasses.replace(whole, stage=whole.stage if stage is None else stage,
                                        steady=whole.steady and last)
        report_to(whole)
    return report
