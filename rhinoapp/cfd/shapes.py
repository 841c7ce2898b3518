"""Simple flow domains with known answers, for verification, tests, benchmarks and demos.

* :func:`square_duct` and :func:`round_pipe` run along ``k``; periodic (driven by a body force)
  or with an inlet layer at ``k = 0`` and an outlet layer at the far end.
* :func:`two_channel_labels` is a left-right mirror-symmetric nose-like airway in LPS
  millimetres: two nasal passages from the nostrils (anterior, low ``y``) with a nasal-valve
  narrowing, a septum between them, merging at the choanae into one nasopharynx that turns down
  to the outlet (inferior, low ``z``). Labels follow :class:`~rhinoapp.core.volume.AirwayLabel`.
* :func:`sponge_mask` is a random porous box with a chosen fluid fraction (benchmarks).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import AirwayLabel, ImageGeometry, LabelMap

__all__ = ["round_pipe", "sponge_mask", "square_duct", "two_channel_labels"]


def _tube(section: np.ndarray, length: int, *, periodic: bool, spacing_mm: float) -> FlowDomain:
    """Extrude a 2D ``[j, i]`` cross-section along ``k``, with a wall ring and openings or periodicity."""
    section = np.pad(section, 1)
    ends = 0 if periodic else 2
    rows, columns = section.shape
    fluid = np.zeros((length + ends, rows, columns), dtype=bool)
    geometry = ImageGeometry(fluid.shape, (spacing_mm,) * 3)
    if periodic:
        fluid[:] = section
        empty = np.zeros_like(fluid)
        return FlowDomain(fluid, empty, empty, empty, geometry, periodic=(False, False, True))
    fluid[1:-1] = section
    inlet = np.zeros_like(fluid)
    inlet[0] = section
    outlet = np.zeros_like(fluid)
    outlet[-1] = section
    return FlowDomain(fluid, inlet, np.zeros_like(fluid), outlet, geometry)


def square_duct(width: int, length: int, *, periodic: bool = False, spacing_mm: float = 1.0) -> FlowDomain:
    """A duct of ``width x width`` fluid cells along ``k``, walled on four sides.

    Examples
    --------
    >>> duct = square_duct(4, 6)
    >>> duct.geometry.shape, duct.n_fluid
    ((8, 6, 6), 96)
    >>> square_duct(4, 1, periodic=True).periodic
    (False, False, True)
    """
    if width < 1 or length < 1:
        raise ValidationError("a duct needs a positive width and length in cells")
    return _tube(np.ones((width, width), dtype=bool), length, periodic=periodic, spacing_mm=spacing_mm)


def round_pipe(radius: float, length: int, *, periodic: bool = False, spacing_mm: float = 1.0) -> FlowDomain:
    """A pipe along ``k``: the cells whose centres lie within ``radius`` cells of the axis.

    The axis passes through a cell corner, so the section is symmetric in ``i`` and ``j``.

    Examples
    --------
    >>> pipe = round_pipe(3, 2, periodic=True)
    >>> pipe.geometry.shape, pipe.n_fluid
    ((2, 8, 8), 64)
    """
    if radius <= 0 or length < 1:
        raise ValidationError("a pipe needs a positive radius and length in cells")
    half = int(np.ceil(radius))
    centres = np.arange(2 * half) + 0.5 - half
    section = centres[:, None] ** 2 + centres[None, :] ** 2 < radius**2
    return _tube(section, length, periodic=periodic, spacing_mm=spacing_mm)


# Nasal passage of one side along y (mm): (y, half-width in x, half-height in z, centre z).
_PASSAGE = np.array([
    [0.0, 3.5, 5.0, -8.0],    # nostril
    [10.0, 3.0, 5.5, -7.0],   # vestibule
    [16.0, 2.0, 6.5, -5.0],   # nasal valve (narrowest)
    [26.0, 2.5, 12.0, 0.0],   # cavity
    [66.0, 2.5, 13.0, 0.0],
    [74.0, 3.5, 10.0, -2.0],  # choana
])
_SEPTUM_HALF_WIDTH_MM = 5.0  # passages are centred 2.5 mm further out
_BOX_MM = ((-16.0, 16.0), (0.0, 86.0), (-30.0, 16.0))  # x, y, z extents


def two_channel_labels(voxel_mm: float = 1.0) -> LabelMap:
    """A mirror-symmetric two-passage nose-like airway as a label map (identity LPS orientation).

    Left cavity (``x > 0``, the patient's left) is label 1, right is 2, the merged nasopharynx 3.
    Nostrils open at the anterior face (``j = 0``), the outlet at the inferior face (``k = 0``). The nostrils are
    flat ends that look forward at the image's face, as a label map cut there has them, so a simulation's results
    carry an ``openings`` plausibility warning (the nostrils of :mod:`rhinoapp.phantom` open downward: none).
    About 24 ml of air; at 250 ml/s the nasal valves carry about 3 m/s.

    Examples
    --------
    >>> labels = two_channel_labels(2.0)
    >>> labels.geometry.shape
    (23, 43, 16)
    >>> labels.count(AirwayLabel.LEFT_CAVITY) == labels.count(AirwayLabel.RIGHT_CAVITY)
    True
    """
    if not 0.05 <= voxel_mm <= 4.0:
        raise ValidationError(f"voxel size {voxel_mm} mm is outside 0.05-4 mm")
    (x0, x1), (y0, y1), (z0, z1) = _BOX_MM
    shape_ijk = [int(round((b - a) / voxel_mm)) for a, b in _BOX_MM]
    x = x0 + (np.arange(shape_ijk[0]) + 0.5) * voxel_mm
    y = y0 + (np.arange(shape_ijk[1]) + 0.5) * voxel_mm
    z = z0 + (np.arange(shape_ijk[2]) + 0.5) * voxel_mm
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    half_x = np.interp(yy, _PASSAGE[:, 0], _PASSAGE[:, 1])
    half_z = np.interp(yy, _PASSAGE[:, 0], _PASSAGE[:, 2])
    centre_z = np.interp(yy, _PASSAGE[:, 0], _PASSAGE[:, 3])
    centre_x = _SEPTUM_HALF_WIDTH_MM + half_x
    along = yy <= _PASSAGE[-1, 0]
    shape = ((np.abs(xx) - centre_x) / half_x) ** 4 + ((zz - centre_z) / half_z) ** 4 <= 1.0
    passage = along & shape
    pharynx = (yy >= 70.0) & (yy <= 84.0) & (np.abs(xx) <= 11.0) & (zz >= -12.0) & (zz <= 8.0)
    pharynx |= (yy >= 72.0) & (yy <= 84.0) & (np.abs(xx) <= 9.0) & (zz < -12.0)
    labels = np.zeros(zz.shape, dtype=np.uint8)
    labels[passage & (xx > 0)] = AirwayLabel.LEFT_CAVITY
    labels[passage & (xx < 0)] = AirwayLabel.RIGHT_CAVITY
    labels[pharynx & ~passage] = AirwayLabel.NASOPHARYNX
    origin = (x[0], y[0], z[0])
    return LabelMap(labels, ImageGeometry(labels.shape, (voxel_mm,) * 3, origin))


def sponge_mask(shape: tuple[int, int, int], fluid_fraction: float, *, seed: int = 0,
                smoothing: float = 4.0) -> np.ndarray:
    """A porous ``[k, j, i]`` mask: smoothed noise above the quantile giving ``fluid_fraction``.

    Examples
    --------
    >>> mask = sponge_mask((20, 20, 20), 0.15, seed=1, smoothing=2.0)
    >>> round(float(mask.mean()), 2)
    0.15
    """
    if not 0.0 < fluid_fraction < 1.0:
        raise ValidationError("the fluid fraction must lie between 0 and 1")
    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    field = ndimage.gaussian_filter(noise, smoothing)
    result: np.ndarray = field > np.quantile(field, 1.0 - fluid_fraction)
    return result
