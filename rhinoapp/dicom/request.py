"""The request of the CT import, shared by ``rhinoapp import`` and the CT page.

:class:`CTImportRequest` says which series of an upload to import and what to do with a
gantry-tilt; :meth:`CTImportRequest.check_volume` holds the rule every imported volume must
meet, whatever its source (DICOM series, NIfTI, NRRD) and whichever path imports it.

Examples
--------
>>> CTImportRequest(tilt="resample").tilt
<TiltPolicy.RESAMPLE: 'resample'>
>>> CTImportRequest.from_parameters(CTImportRequest(series="2").to_parameters()).series
'2'
>>> CTImportRequest(tilt="rotate")
Traceback (most recent call last):
...
rhinoapp.core.errors.ValidationError: tilt must be one of ['refuse', 'resample'], got 'rotate'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import CTVolume
from rhinoapp.dicom.volume import TiltPolicy

__all__ = ["MIN_SLICES", "CTImportRequest"]

#: The fewest slices a CT volume may have (and a series, to be offered for import).
MIN_SLICES = 3


@dataclasses.dataclass(frozen=True, kw_only=True)
class CTImportRequest:
    """Which series to import (its list number or SeriesInstanceUID; ``None``: the only usable one) and how."""

    series: str | None = None
    tilt: TiltPolicy = TiltPolicy.REFUSE
    min_slices: int = MIN_SLICES

    def __post_init__(self) -> None:
        series = None if self.series is None else str(self.series).strip() or None
        object.__setattr__(self, "series", series)
        try:
            object.__setattr__(self, "tilt", TiltPolicy(self.tilt))
        except ValueError:
            raise ValidationError(f"tilt must be one of {[p.value for p in TiltPolicy]}, got {self.tilt!r}.") from None
        if int(self.min_slices) < MIN_SLICES:
            raise ValidationError(f"min_slices must be at least {MIN_SLICES}; a CT needs that many slices.")

    def check_volume(self, volume: CTVolume) -> CTVolume:
        """``volume`` if it may be stored as the project's CT, else ValidationError.

        Examples
        --------
        >>> import numpy as np
        >>> from rhinoapp.core.volume import ImageGeometry
        >>> flat = np.zeros((2, 8, 8), dtype=np.int16)
        >>> CTImportRequest().check_volume(CTVolume(flat, ImageGeometry(flat.shape)))
        Traceback (most recent call last):
        ...
        rhinoapp.core.errors.ValidationError: the volume has 2 slice(s), fewer than 3; upload a complete CT.
        """
        slices = volume.hu.shape[0]
        if slices < self.min_slices:
            raise ValidationError(f"the volume has {slices} slice(s), fewer than {self.min_slices}; "
                                  "upload a complete CT.")
        return volume

    def to_parameters(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {"series": self.series, "tilt": self.tilt.value, "min_slices": self.min_slices}

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> CTImportRequest:
        """The request of JSON parameters; bad values raise ValidationError."""
        return cls(**{name: parameters[name] for name in ("series", "tilt", "min_slices") if name in parameters})
