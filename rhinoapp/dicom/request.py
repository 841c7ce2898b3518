"""The request of the CT import, shared by ``rhinoapp import`` and the CT page, and the rules of a CT.

:class:`CTImportRequest` says which series of an upload to import and what to do with a
gantry-tilt. :func:`check_ct_volume` holds the rules every CT must meet, whatever its source
(DICOM series, NIfTI, NRRD) and whichever path brings it in: the CLI import and the page's import
(through :meth:`CTImportRequest.check_volume` in the import use case), ``rhinoapp segment`` and
the segmentation job (on the stored CT, which may predate a rule). The rules:

* at least :data:`MIN_SLICES` slices and :data:`MIN_IN_PLANE` x :data:`MIN_IN_PLANE` voxels per slice;
* every value finite: NaN and infinite voxels are refused, not repaired (a repair would invent
  tissue where the file holds none);
* every value within :data:`HU_RANGE`: below -1024 HU nothing is measured, but scanners write the
  area outside the field of view as padding down to -3024 HU, so values to -4096 HU are accepted;
  above +3071 HU only the extended CT scale for metal reaches, up to about +30,700 HU, so the
  upper bound is the 16-bit limit 32767 HU. Anything outside is not a Hounsfield unit (wrong
  rescale slope or intercept, or a damaged file).

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

import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import CTVolume
from rhinoapp.dicom.volume import TiltPolicy

__all__ = ["HU_RANGE", "MIN_IN_PLANE", "MIN_SLICES", "CTImportRequest", "check_ct_volume"]

#: The fewest slices a CT volume may have (and a series, to be offered for import).
MIN_SLICES = 3
#: The fewest rows and columns a CT slice may have.
MIN_IN_PLANE = 8
#: Lowest and highest value (HU) a CT voxel may hold; see the module's notes.
HU_RANGE: tuple[float, float] = (-4096.0, 32767.0)


def check_ct_volume(volume: CTVolume, *, min_slices: int = MIN_SLICES) -> CTVolume:
    """``volume`` if it meets the rules of a CT (dimensions, finite values, Hounsfield range), else ValidationError.

    Examples
    --------
    >>> import numpy as np
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> hu = np.full((3, 8, 8), -1000.0, dtype=np.float32)
    >>> check_ct_volume(CTVolume(hu, ImageGeometry(hu.shape))).hu.shape
    (3, 8, 8)
    >>> hu[1, 2, 3] = np.nan
    >>> check_ct_volume(CTVolume(hu, ImageGeometry(hu.shape)))
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: the volume holds 1 voxel(s) that are not numbers (NaN or infinite); a CT holds finite Hounsfield units: export the volume again from the original CT.
    >>> hu[1, 2, 3] = 3e33
    >>> check_ct_volume(CTVolume(hu, ImageGeometry(hu.shape)))
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: the volume holds values from -1000 to 3e+33, outside the Hounsfield range -4096 to 32767 HU a CT can hold; check the rescale slope and intercept of the export (the values must be Hounsfield units).
    """
    slices, rows, columns = volume.hu.shape
    if slices < min_slices:
        raise ValidationError(f"the volume has {slices} slice(s), fewer than {min_slices}; upload a complete CT.")
    if min(rows, columns) < MIN_IN_PLANE:
        raise ValidationError(f"the slices have {rows} x {columns} voxels, fewer than {MIN_IN_PLANE} x {MIN_IN_PLANE}; "
                              "upload the complete CT (a CT slice is usually 512 x 512).")
    hu = volume.hu
    if np.issubdtype(hu.dtype, np.floating) or np.issubdtype(hu.dtype, np.complexfloating):
        bad = hu.size - int(np.count_nonzero(np.isfinite(hu)))
        if bad:
            raise ValidationError(f"the volume holds {bad} voxel(s) that are not numbers (NaN or infinite); a CT holds "
                                  "finite Hounsfield units: export the volume again from the original CT.")
    if np.issubdtype(hu.dtype, np.complexfloating):
        raise ValidationError("the volume holds complex numbers; a CT holds real Hounsfield units.")
    low, high = float(hu.min()), float(hu.max())
    if low < HU_RANGE[0] or high > HU_RANGE[1]:
        raise ValidationError(f"the volume holds values from {low:.6g} to {high:.6g}, outside the Hounsfield range "
                              f"{HU_RANGE[0]:g} to {HU_RANGE[1]:g} HU a CT can hold; check the rescale slope and "
                              "intercept of the export (the values must be Hounsfield units).")
    return volume


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
        return check_ct_volume(volume, min_slices=self.min_slices)

    def to_parameters(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {"series": self.series, "tilt": self.tilt.value, "min_slices": self.min_slices}

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> CTImportRequest:
        """The request of JSON parameters; bad values raise ValidationError."""
        return cls(**{name: parameters[name] for name in ("series", "tilt", "min_slices") if name in parameters})
