"""Colour maps and colour ranges of the 3D views: values in, values out (no VTK here).

* :func:`colour_table`: the exact 256-colour table of a perceptually uniform, colour-blind safe map
  (:class:`ColourMap`, read from matplotlib's tables, not approximated);
* :func:`robust_range`: the default colour range of a field, its 2nd to 98th percentile, so that a few
  extreme cells (at a sharp edge, an opening) cannot turn the whole airway one colour; what falls
  outside is drawn in the :data:`BELOW_COLOUR` / :data:`ABOVE_COLOUR` and said in :attr:`ColourRange.note`.

Examples
--------
>>> import numpy as np
>>> values = np.r_[np.linspace(0.0, 10.0, 999), 1e4]  # one extreme cell in a thousand
>>> found = robust_range(values)
>>> round(found.low, 1), round(found.high, 1), found.clipped_above
(0.2, 9.8, True)
>>> colour_table(ColourMap.VIRIDIS).shape
(256, 3)
"""

from __future__ import annotations

import dataclasses
import enum
import math

import numpy as np

from rhinoapp.core.errors import ValidationError

__all__ = ["ABOVE_COLOUR", "BELOW_COLOUR", "DEFAULT_PERCENTILES", "ColourMap", "ColourRange", "colour_table",
           "robust_range"]

#: The percentiles of the default colour range.
DEFAULT_PERCENTILES: tuple[float, float] = (2.0, 98.0)
#: Colours of the values below and above the colour range (neither occurs in the maps' ends).
BELOW_COLOUR: tuple[float, float, float] = (0.55, 0.55, 0.55)  # grey
ABOVE_COLOUR: tuple[float, float, float] = (1.0, 1.0, 1.0)  # white


class ColourMap(enum.Enum):
    """Perceptually uniform, colour-blind safe colour maps (matplotlib's)."""

    VIRIDIS = "viridis"
    CIVIDIS = "cividis"  # optimised for red-green colour vision deficiency
    MAGMA = "magma"


def colour_table(colour_map: ColourMap, size: int = 256) -> np.ndarray:
    """The ``size`` x 3 RGB table (0 to 1) of ``colour_map``, exactly as the colour library defines it.

    Examples
    --------
    >>> table = colour_table(ColourMap.VIRIDIS)
    >>> [round(float(v), 3) for v in table[0]], [round(float(v), 3) for v in table[-1]]
    ([0.267, 0.005, 0.329], [0.993, 0.906, 0.144])
    """
    from matplotlib import colormaps  # the colour library; imported here, where a table is wanted

    return np.asarray(colormaps[ColourMap(colour_map).value].resampled(size)(np.arange(size)))[:, :3]


@dataclasses.dataclass(frozen=True)
class ColourRange:
    """The values a colour bar spans, the field's extremes, and whether values fall outside.

    Examples
    --------
    >>> ColourRange(0.0, 10.0, -3.0, 250.0).note
    'clipped at 0 (lowest -3) and 10 (highest 250)'
    >>> ColourRange(0.0, 10.0, 0.0, 10.0).note
    ''
    """

    low: float
    high: float
    data_low: float
    data_high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.high <= self.low:
            raise ValidationError(f"a colour range needs a lower value below the upper one, got {self.low} to "
                                  f"{self.high}: enter the range again")

    @property
    def clipped_below(self) -> bool:
        """Some values lie below the range (drawn in :data:`BELOW_COLOUR`)."""
        return self.data_low < self.low

    @property
    def clipped_above(self) -> bool:
        """Some values lie above the range (drawn in :data:`ABOVE_COLOUR`)."""
        return self.data_high > self.high

    @property
    def note(self) -> str:
        """What the colour bar leaves out, in words (empty when nothing)."""
        parts = []
        if self.clipped_below:
            parts.append(f"{self.low:.3g} (lowest {self.data_low:.3g})")
        if self.clipped_above:
            parts.append(f"{self.high:.3g} (highest {self.data_high:.3g})")
        return "clipped at " + " and ".join(parts) if parts else ""


def robust_range(values: np.ndarray, *, percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
                 fixed: tuple[float, float] | None = None) -> ColourRange:
    """The colour range of a field: ``fixed`` when given (a range the user set), else its percentiles.

    Non-finite values are ignored; a constant field gets a range of width one around its value.

    Examples
    --------
    >>> import numpy as np
    >>> robust_range(np.arange(101.0)).low, robust_range(np.arange(101.0)).high
    (2.0, 98.0)
    >>> robust_range(np.arange(101.0), fixed=(10.0, 20.0)).note
    'clipped at 10 (lowest 0) and 20 (highest 100)'
    >>> robust_range(np.full(5, 3.0)).low
    2.5
    """
    finite = np.asarray(values, dtype=float).ravel()
    finite = finite[np.isfinite(finite)]
    data_low, data_high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if fixed is not None:
        return ColourRange(float(fixed[0]), float(fixed[1]), data_low, data_high)
    low, high = (float(v) for v in np.percentile(finite, percentiles)) if finite.size else (0.0, 1.0)
    if high <= low:
        low, high = (data_low, data_high) if data_high > data_low else (low - 0.5, low + 0.5)
    return ColourRange(low, high, data_low, data_high)
