"""Obstruction classes from logarithmic 4PR resistances, with limits held in configuration.

Vogt's 4PR classification grades nasal obstruction in five classes of LVR = log10(VR) or
LReff = log10(Reff). The numeric limits are **not verified** against the publications, so
they are never hard-coded in the analysis: an :class:`ObstructionClasses` value carries them,
together with a ``source`` saying where they come from, and the caller passes it in.

Examples
--------
>>> classify(-0.2, DEFAULT_OBSTRUCTION_CLASSES).label
'slight'
>>> classes = ObstructionClasses.from_mapping({"parameter": "lreff", "limits": [0.0],
...     "labels": ["open", "obstructed"], "source": "clinic SOP 2026-03"})
>>> classify(0.1, classes).label
'obstructed'
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any

from rhinoapp.core.errors import ConfigurationError

__all__ = [
    "DEFAULT_OBSTRUCTION_CLASSES",
    "ClassParameter",
    "ObstructionClass",
    "ObstructionClasses",
    "classify",
]


class ClassParameter(enum.Enum):
    """The logarithmic resistance the classes grade (both log10 of Pa·s/ml)."""

    LVR = "lvr"
    LREFF = "lreff"


@dataclasses.dataclass(frozen=True)
class ObstructionClasses:
    """Class limits: ``labels[i]`` applies from ``limits[i-1]`` (inclusive) to ``limits[i]``.

    There is one label more than there are limits; limits ascend strictly. ``source`` says
    where the limits come from (a publication, a clinic's procedure) or that they are
    unverified.
    """

    parameter: ClassParameter
    limits: tuple[float, ...]
    labels: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "parameter", ClassParameter(self.parameter))
        except ValueError:
            raise ConfigurationError(
                f"Obstruction classes: parameter {self.parameter!r} is unknown; use 'lvr' or 'lreff'."
            ) from None
        limits = tuple(float(x) for x in self.limits)
        labels = tuple(str(x) for x in self.labels)
        if len(labels) != len(limits) + 1 or not all(label.strip() for label in labels):
            raise ConfigurationError(
                f"Obstruction classes: {len(limits)} limits need {len(limits) + 1} non-empty labels,"
                f" not {len(labels)}; give one label per class."
            )
        if not all(math.isfinite(x) for x in limits) or any(b <= a for a, b in zip(limits, limits[1:])):
            raise ConfigurationError(
                f"Obstruction classes: the limits {list(limits)} must be finite and strictly ascending."
            )
        if not str(self.source).strip():
            raise ConfigurationError("Obstruction classes: say where the limits come from in 'source'.")
        object.__setattr__(self, "limits", limits)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ObstructionClasses:
        """Build from a configuration mapping with keys parameter, limits, labels and source."""
        missing = [k for k in ("parameter", "limits", "labels", "source") if k not in values]
        if missing:
            raise ConfigurationError(f"Obstruction classes: the configuration lacks {', '.join(missing)}.")
        return cls(values["parameter"], tuple(values["limits"]), tuple(values["labels"]), str(values["source"]))


#: Placeholder limits, UNVERIFIED: log10 of 0.5, 0.8, 1.25 and 2.5 Pa·s/ml for one side's LVR.
#: They were chosen around the single-side reference of 0.44 +- 0.25 Pa·s/ml and are *not*
#: Vogt's published limits; replace them with limits from a verified source.
DEFAULT_OBSTRUCTION_CLASSES = ObstructionClasses(
    parameter=ClassParameter.LVR,
    limits=(-0.30, -0.10, 0.10, 0.40),
    labels=("none", "slight", "moderate", "marked", "severe"),
    source="UNVERIFIED placeholder limits of rhinoapp (log10 of 0.5, 0.8, 1.25, 2.5 Pa·s/ml),"
           " not taken from a publication; configure verified limits before clinical use",
)


@dataclasses.dataclass(frozen=True)
class ObstructionClass:
    """The class a value falls in (``index`` 0 is the least obstructed)."""

    index: int
    label: str
    parameter: ClassParameter
    value: float
    source: str


def classify(value: float, classes: ObstructionClasses) -> ObstructionClass:
    """Return the class of ``value`` (a log10 resistance) under ``classes``.

    Examples
    --------
    >>> c = classify(0.5, DEFAULT_OBSTRUCTION_CLASSES)
    >>> c.index, c.label, c.source.startswith("UNVERIFIED")
    (4, 'severe', True)
    """
    index = sum(1 for limit in classes.limits if value >= limit)
    return ObstructionClass(index, classes.labels[index], classes.parameter, float(value), classes.source)
