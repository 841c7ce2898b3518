"""Approximate signed distance functions and the sampling grid of the phantom.

Every shape is a function of anatomical coordinates ``(x, y, z)`` in millimetres (LPS axes of the
unrotated head) that is negative inside, positive outside and close to the Euclidean distance near
the surface. Only the sign defines the ground truth; the value gives partial-volume fractions, so
"close to a distance near the surface" is all that is needed. Arrays broadcast: an axis-aligned
grid passes open 1-D coordinate vectors, a rotated one full arrays.

Examples
--------
>>> x, y, z = np.ogrid[-2:3, 0:1, 0:1]
>>> ellipsoid(x.astype(float), y, z, (0, 0, 0), (1.0, 1.0, 1.0)).ravel().round(2).tolist()
[1.0, 0.0, -1.0, 0.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rhinoapp.core.volume import ImageGeometry

__all__ = [
    "Grid",
    "box",
    "ellipsoid",
    "elliptic_cylinder",
    "gaussian_bump",
    "slanted_limit",
]

_EPS = 1e-6
Vec3 = tuple[float, float, float]


def ellipsoid(x: np.ndarray, y: np.ndarray, z: np.ndarray | np.floating[Any], centre: Sequence[float],
              radii: Sequence[float], *, flat: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Ellipsoid (optionally stretched by a flat middle ``flat`` along each axis), first-order distance.

    Uses ``k0 * (k0 - 1) / k1`` with ``k0 = |p / r|`` and ``k1 = |p / r**2|``, exact on spheres and
    a good approximation near the surface of ellipsoids.

    Examples
    --------
    >>> float(ellipsoid(np.array(3.0), np.array(0.0), np.array(0.0), (0, 0, 0), (2, 1, 1)))
    1.0
    """
    parts = []
    for value, c, r, f in zip((x, y, z), centre, radii, flat):
        offset = np.abs(value - np.float32(c))
        if f:
            offset = np.maximum(offset - np.float32(f), 0)
        parts.append((offset, np.float32(r)))
    k0 = np.sqrt(sum((o / r) ** 2 for o, r in parts))
    k1 = np.sqrt(sum((o / (r * r)) ** 2 for o, r in parts))
    # k0 / k1 lies between the smallest and largest radius; at the centre it is the smallest.
    ratio = np.where(k1 > _EPS, k0 / np.maximum(k1, _EPS), np.float32(min(radii)))
    return ((k0 - 1) * ratio).astype(np.float32, copy=False)


def elliptic_cylinder(a: np.ndarray, b: np.ndarray, t: np.ndarray, centre_ab: Sequence[float],
                      radii_ab: Sequence[float], t_range: Sequence[float]) -> np.ndarray:
    """Cylinder with an elliptical cross-section in the ``(a, b)`` plane, capped at ``t_range`` along ``t``.

    Examples
    --------
    >>> float(elliptic_cylinder(np.array(0.0), np.array(0.0), np.array(5.0), (0, 0), (1, 2), (0, 10)))
    -1.0
    """
    section = ellipsoid(a, b, np.float32(0), (*centre_ab, 0.0), (*radii_ab, 1.0))
    lo, hi = t_range
    along = np.maximum(np.float32(lo) - t, t - np.float32(hi))
    result: np.ndarray = np.maximum(section, along).astype(np.float32, copy=False)
    return result


def box(x: np.ndarray, y: np.ndarray, z: np.ndarray, lower: Sequence[float], upper: Sequence[float],
        *, rounding: float = 0.0) -> np.ndarray:
    """Axis-aligned box from ``lower`` to ``upper`` with edges rounded by ``rounding`` millimetres.

    Examples
    --------
    >>> float(box(np.array(0.0), np.array(0.0), np.array(0.0), (-1, -1, -1), (1, 1, 1)))
    -1.0
    >>> float(box(np.array(3.0), np.array(0.0), np.array(0.0), (-1, -1, -1), (1, 1, 1)))
    2.0
    """
    q = []
    for value, lo, hi in zip((x, y, z), lower, upper):
        centre, half = (lo + hi) / 2.0, (hi - lo) / 2.0 - rounding
        q.append(np.abs(value - np.float32(centre)) - np.float32(half))
    outside = np.sqrt(sum(np.maximum(c, 0) ** 2 for c in q))
    inside = np.minimum(np.maximum(np.maximum(q[0], q[1]), q[2]), 0)
    return (outside + inside - np.float32(rounding)).astype(np.float32, copy=False)


def slanted_limit(value: np.ndarray, along: np.ndarray, knots: Sequence[float], limits: Sequence[float]) -> np.ndarray:
    """Distance-like function of ``value <= L(along)`` with ``L`` piecewise linear through the knots.

    The difference is divided by ``sqrt(1 + L'**2)`` so that it approximates the distance to the
    slanted surface.

    Examples
    --------
    >>> float(slanted_limit(np.array(3.0), np.array(0.0), (0.0, 10.0), (1.0, 1.0)))
    2.0
    """
    knots_a, limits_a = np.asarray(knots, dtype=float), np.asarray(limits, dtype=float)
    limit = np.interp(along, knots_a, limits_a).astype(np.float32)
    slopes = np.diff(limits_a) / np.diff(knots_a)
    index = np.clip(np.searchsorted(knots_a, along) - 1, 0, len(slopes) - 1)
    slope = slopes[index].astype(np.float32)
    result: np.ndarray = ((value - limit) / np.sqrt(1 + slope * slope)).astype(np.float32, copy=False)
    return result


def gaussian_bump(y: np.ndarray, z: np.ndarray, centre: Sequence[float], sigma: Sequence[float]) -> np.ndarray:
    """Unit-height Gaussian in the ``(y, z)`` plane (the shape of a septal deviation).

    Examples
    --------
    >>> float(gaussian_bump(np.array(1.0), np.array(2.0), (1.0, 2.0), (3.0, 3.0)))
    1.0
    """
    dy = (y - np.float32(centre[0])) / np.float32(sigma[0])
    dz = (z - np.float32(centre[1])) / np.float32(sigma[1])
    return np.exp(-0.5 * (dy * dy + dz * dz)).astype(np.float32, copy=False)


@dataclass(frozen=True, eq=False)
class Grid:
    """Voxel centres of an axis-aligned LPS grid, seen from a head rotated about ``pivot_mm``.

    ``rotation`` maps anatomical (head) coordinates to LPS: ``p = R @ (q - pivot) + pivot``.
    :meth:`coordinates` returns the anatomical coordinates ``q`` of the voxels inside a
    sub-box, as arrays broadcastable to the sub-box shape ``[k, j, i]``.

    Examples
    --------
    >>> grid = Grid(ImageGeometry((2, 3, 4), (0.5, 0.5, 1.0), (-1.0, 0.0, 0.0)))
    >>> window, (x, y, z) = grid.coordinates(((-10, 10), (-10, 10), (-10, 10)))
    >>> x.ravel().tolist(), z.ravel().tolist()
    ([-1.0, -0.5, 0.0, 0.5], [0.0, 1.0])
    """

    geometry: ImageGeometry
    rotation: np.ndarray | None = None
    pivot_mm: Vec3 = (0.0, 0.0, 0.0)

    def _axes(self) -> list[np.ndarray]:
        g = self.geometry
        nk, nj, ni = g.shape
        return [np.float32(o) + np.float32(s) * np.arange(n, dtype=np.float32)
                for o, s, n in zip(g.origin_mm, g.spacing_mm, (ni, nj, nk))]

    def window(self, bounds: Sequence[Sequence[float]]) -> tuple[slice, slice, slice]:
        """Array slices ``[k, j, i]`` covering anatomical ``bounds`` ((x0, x1), (y0, y1), (z0, z1))."""
        corners = np.array(np.meshgrid(*bounds, indexing="ij")).reshape(3, -1).T
        if self.rotation is not None:
            pivot = np.asarray(self.pivot_mm)
            corners = (corners - pivot) @ self.rotation.T + pivot
        g = self.geometry
        index = (corners - np.asarray(g.origin_mm)) / np.asarray(g.spacing_mm)
        lo = np.clip(np.floor(index.min(axis=0)).astype(int), 0, None)
        nk, nj, ni = g.shape
        hi = np.minimum(np.ceil(index.max(axis=0)).astype(int) + 1, (ni, nj, nk))
        hi = np.maximum(hi, lo)
        return slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0])

    def coordinates(self, bounds: Sequence[Sequence[float]] | None = None
                    ) -> tuple[tuple[slice, slice, slice], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Window for ``bounds`` (whole grid when ``None``) and the anatomical coordinates inside it."""
        nk, nj, ni = self.geometry.shape
        window = (slice(0, nk), slice(0, nj), slice(0, ni)) if bounds is None else self.window(bounds)
        xs, ys, zs = self._axes()
        x = xs[window[2]][None, None, :]
        y = ys[window[1]][None, :, None]
        z = zs[window[0]][:, None, None]
        if self.rotation is None:
            return window, (x, y, z)
        inverse = self.rotation.T.astype(np.float32)
        pivot = np.asarray(self.pivot_mm, dtype=np.float32)
        px, py, pz = x - pivot[0], y - pivot[1], z - pivot[2]
        coords = tuple(inverse[r, 0] * px + inverse[r, 1] * py + inverse[r, 2] * pz + pivot[r] for r in range(3))
        return window, coords

    def to_lps(self, point: Sequence[float]) -> np.ndarray:
        """LPS millimetres of an anatomical point."""
        q = np.asarray(point, dtype=float)
        if self.rotation is None:
            return q
        pivot = np.asarray(self.pivot_mm)
        result: np.ndarray = self.rotation @ (q - pivot) + pivot
        return result

    def direction_to_lps(self, vector: Sequence[float]) -> np.ndarray:
        """An anatomical direction expressed in LPS."""
        v = np.asarray(vector, dtype=float)
        return v if self.rotation is None else self.rotation @ v
