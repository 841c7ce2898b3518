"""Slice spacing of a stack: regular, missing slices, or uneven; resampling onto a regular grid.

A step between neighbouring slices (along the slice normal) that is a whole multiple of the
regular spacing means missing slices; steps that change from one run to another (a scan whose
protocol switches from 4 mm to 7 mm slices, say) are uneven spacing. Missing slices are always
refused (resampling would invent them); uneven spacing and gantry tilt can be resampled onto a
regular orthogonal grid by :func:`resample_stack`, which interpolates linearly between the two
actual slices either side of each new one, each placed in-plane by its own position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from rhinoapp.dicom.series import SeriesError

__all__ = ["SpacingCheck", "check_spacing", "resample_stack"]


@dataclass(frozen=True)
class SpacingCheck:
    """The slice spacing of a stack: the step of a regular grid and whether the stack is uneven."""

    step_mm: float  #: the regular step (the finest run of equal steps when uneven)
    uneven: bool
    description: str  #: e.g. "4.00 mm (13 steps), then 1.08 mm, then 7.00 mm (13 steps)"; "" when regular


def _runs(steps: np.ndarray, tolerance: float) -> list[tuple[float, int]]:
    """Consecutive steps that agree within ``tolerance`` (a fraction): (mean step, count) per run."""
    runs: list[list[float]] = [[float(steps[0])]]
    for step in steps[1:]:
        mean = float(np.mean(runs[-1]))
        if abs(float(step) - mean) <= tolerance * mean:
            runs[-1].append(float(step))
        else:
            runs.append([float(step)])
    return [(float(np.mean(run)), len(run)) for run in runs]


def _describe(runs: list[tuple[float, int]]) -> str:
    shown = [f"{value:.2f} mm" + (f" ({count} steps)" if count > 1 else "") for value, count in runs[:6]]
    more = f", and {len(runs) - 6} more change(s)" if len(runs) > 6 else ""
    return ", then ".join(shown) + more


def check_spacing(along: np.ndarray, *, gap_factor: float = 1.5, tolerance: float = 0.1) -> SpacingCheck:
    """Classify the slice positions ``along`` the normal (sorted, mm) and refuse missing slices.

    Parameters
    ----------
    along
        Slice positions along the slice normal, ascending, without duplicates.
    gap_factor
        A step larger than this times the regular spacing is a gap.
    tolerance
        Steps within this fraction of each other count as equal.

    Uneven spacing is returned (``uneven``, with a ``description`` for the caller's message);
    missing slices raise :class:`~rhinoapp.dicom.series.SeriesError`: steps that are whole
    multiples of the regular spacing, or, in an uneven stack, a step over ``gap_factor`` times
    its coarsest run of equal steps.

    Examples
    --------
    >>> check_spacing(np.array([0.0, 1.0, 2.0, 3.0]))
    SpacingCheck(step_mm=1.0, uneven=False, description='')
    >>> uneven = np.array([0.0, 4.0, 8.0, 12.0, 13.1, 20.1, 27.1])
    >>> check_spacing(uneven).description
    '4.00 mm (3 steps), then 1.10 mm, then 7.00 mm (2 steps)'
    >>> check_spacing(np.array([0.0, 1.0, 2.0, 5.0, 6.0]))
    Traceback (most recent call last):
    ...
    rhinoapp.dicom.series.SeriesError: missing slices: a gap of 3.0 mm (2 slice(s) missing) between the slices \
at 2.00 mm and 5.00 mm along the slice normal, where the spacing is 1.00 mm (1 gap(s) in all). Export the \
complete series, or choose another series.
    """
    steps = np.diff(along)
    typical = float(np.median(steps))
    regular = np.abs(steps - typical) <= tolerance * typical
    if regular.all():
        return SpacingCheck(float((along[-1] - along[0]) / (len(along) - 1)), False, "")
    ratio = steps / typical
    multiple = (steps > gap_factor * typical) & (np.abs(steps - np.rint(ratio) * typical) <= tolerance * typical)
    if (regular | multiple).all():
        gaps = np.flatnonzero(multiple)
        k = int(gaps[0])
        raise SeriesError(
            f"missing slices: a gap of {steps[k]:.1f} mm ({int(np.rint(ratio[k])) - 1} slice(s) missing) between the "
            f"slices at {along[k]:.2f} mm and {along[k + 1]:.2f} mm along the slice normal, where the spacing is "
            f"{typical:.2f} mm ({gaps.size} gap(s) in all). Export the complete series, or choose another series.")
    runs = _runs(steps, tolerance)
    description = _describe(runs)
    repeated = [value for value, count in runs if count > 1]
    coarsest = max(repeated) if repeated else typical
    too_far = np.flatnonzero(steps > gap_factor * coarsest)
    if too_far.size:
        k = int(too_far[0])
        raise SeriesError(
            f"missing slices: a gap of {steps[k]:.1f} mm between the slices at {along[k]:.2f} mm and "
            f"{along[k + 1]:.2f} mm along the slice normal, in a series whose spacing is uneven ({description}); "
            "resampling would invent the missing slices. Export the complete series, or choose another series.")
    return SpacingCheck(min(repeated) if repeated else typical, True, description)


def resample_stack(slices: np.ndarray, along: np.ndarray, shifts: np.ndarray, step_mm: float,
                   *, fill: float) -> tuple[np.ndarray, tuple[float, float]]:
    """Resample a stack onto a regular orthogonal grid.

    Parameters
    ----------
    slices
        (k, j, i) values of the actual slices, in the order of ``along``.
    along
        Each slice's position along the slice normal (mm, ascending).
    shifts
        (k, 2): each slice's in-plane offset from the first, in voxels along i and j (from its
        ImagePositionPatient; a gantry tilt or a table shift makes them non-zero).
    step_mm
        Spacing of the new slices along the normal, the first at ``along[0]``.
    fill
        Value outside the slices' extent.

    Returns
    -------
    The new (k, j, i) stack and the offset (voxels along i and j, both <= 0) of its first voxel
    from the first slice's first voxel.

    Examples
    --------
    >>> stack = np.stack([np.full((2, 2), v, dtype=np.int16) for v in (0, 30, 100)])
    >>> out, offset = resample_stack(stack, np.array([0.0, 1.0, 4.0]), np.zeros((3, 2)), 2.0, fill=-1024)
    >>> out[:, 0, 0].tolist(), offset
    ([0, 53, 100], (0.0, 0.0))
    """
    count = int(np.floor((along[-1] - along[0]) / step_mm + 1e-6)) + 1
    a, b = float(min(0.0, shifts[:, 0].min())), float(min(0.0, shifts[:, 1].min()))
    nj = slices.shape[1] + int(np.ceil(float(shifts[:, 1].max()) - b - 1e-6))
    ni = slices.shape[2] + int(np.ceil(float(shifts[:, 0].max()) - a - 1e-6))
    out = np.empty((count, nj, ni), dtype=np.float32)
    placed: dict[int, np.ndarray] = {}

    def place(k: int) -> np.ndarray:
        if k not in placed:
            if len(placed) > 2:
                placed.clear()
            placed[k] = ndimage.affine_transform(
                slices[k].astype(np.float32), np.eye(2), offset=(b - shifts[k, 1], a - shifts[k, 0]),
                output_shape=(nj, ni), order=1, mode="constant", cval=fill)
        return placed[k]

    for index in range(count):
        z = along[0] + index * step_mm
        k = int(min(np.searchsorted(along, z, side="right") - 1, len(along) - 2))
        weight = float(np.clip((z - along[k]) / (along[k + 1] - along[k]), 0.0, 1.0))
        if weight < 1e-6 or weight > 1 - 1e-6:
            out[index] = place(k + int(weight > 0.5))
        else:
            out[index] = (1 - weight) * place(k) + weight * place(k + 1)
    if np.issubdtype(slices.dtype, np.integer):
        return np.rint(out).astype(slices.dtype), (a, b)
    return out.astype(slices.dtype), (a, b)
