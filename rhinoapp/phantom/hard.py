"""Features of clinical scans for the hard phantom variants: ethmoid cells, frontal and sphenoid
sinuses behind narrow ostia, and the -1024 HU masks of de-identification tools.

Anatomical frame and units as in :mod:`rhinoapp.phantom.anatomy`. Every extra air space hangs on
the nasal cavity (or the nasopharynx) through an ostium canal of 1-1.1 mm radius and is sinus in
the ground truth: expert labels keep ethmoid cells out of the nasal cavity.

* Ethmoid cells: five small cells (radius 2.6-3.4 mm) per side above and lateral to the middle
  meatus (z 38-49 mm), each with its own ostium to the upper cavity. A field of view ending at
  z = 46 mm cuts the highest ones open at the superior face (the usual crop of sinus-CT data).
* Frontal sinus: one per side in front of the cavity roof (z 46-62 mm), draining through a
  nasofrontal duct 12 mm long; sphenoid sinus: above the nasopharynx, with an ostium in its floor.
* Masks: a block over the left orbit and a disc over the right one, set to -1024 HU, reaching
  the anterior, lateral and superior faces; their medial edge touches the lateral ethmoid cells.

Examples
--------
>>> [p.name for p in extra_air_parts(ethmoid=True, frontal_sphenoid=False)][:1]
['ethmoid cell']
>>> capsule(np.array(0.0), np.array(0.0), np.array(2.0), (0, 0, 0), (0, 0, 10), 1.0).item()
-1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rhinoapp.core.volume import AirwayLabel
from rhinoapp.phantom.anatomy import AirPart
from rhinoapp.phantom.shapes import box, ellipsoid

__all__ = ["MASK_HU", "capsule", "extra_air_parts", "mask_region"]

MASK_HU = -1024

#: (|x|, y, z, radius) of the ethmoid cells of one side, and the point of the cavity their ostium opens to.
_ETHMOID = (
    ((7.5, 19.0, 44.5, 3.0), (3.0, 19.0, 34.0)),
    ((8.5, 27.0, 40.0, 2.8), (3.0, 27.0, 36.0)),
    ((8.0, 35.0, 45.0, 3.4), (3.0, 35.0, 36.5)),
    ((9.0, 43.0, 39.5, 2.6), (3.2, 43.0, 35.5)),
    ((7.5, 50.0, 44.0, 3.0), (3.0, 50.0, 34.0)),
)
_ETHMOID_OSTIUM_MM = 1.0
_FRONTAL = ((8.0, 8.0, 54.0), (6.5, 4.5, 7.5))  # centre (|x|, y, z), radii
_FRONTAL_DUCT = ((5.0, 8.5, 50.0), (3.5, 14.0, 29.0), 1.1)  # from, to, radius
_SPHENOID = ((6.0, 70.0, 36.0), (5.5, 7.0, 5.0))
_SPHENOID_OSTIUM = ((5.5, 68.0, 33.0), (4.0, 65.0, 23.0), 1.0)
_ORBIT_BLOCK = ((11.4, -40.0, 32.0), (60.0, 46.0, 90.0))  # left: a block (lower and upper corner, |x| >= 11.8)
_ORBIT_DISC = ((-24.0, 44.0), 13.0, (-40.0, 28.0))  # right: a disc around (x, z), radius, y range


def capsule(x: np.ndarray, y: np.ndarray, z: np.ndarray, start: Sequence[float], end: Sequence[float],
            radius: float) -> np.ndarray:
    """Exact signed distance of a capsule (a segment from ``start`` to ``end`` thickened by ``radius``)."""
    a = np.asarray(start, dtype=np.float32)
    ab = np.asarray(end, dtype=np.float32) - a
    px, py, pz = x - a[0], y - a[1], z - a[2]
    t = np.clip((px * ab[0] + py * ab[1] + pz * ab[2]) / np.float32(ab @ ab), 0, 1)
    dx, dy, dz = px - t * ab[0], py - t * ab[1], pz - t * ab[2]
    result: np.ndarray = (np.sqrt(dx * dx + dy * dy + dz * dz) - np.float32(radius)).astype(np.float32, copy=False)
    return result


def _mirrored(point: Sequence[float], sign: float) -> tuple[float, float, float]:
    return (sign * point[0], point[1], point[2])


def _cell(centre: Sequence[float], radii: Sequence[float], ostium: tuple[Sequence[float], Sequence[float], float]
          ) -> tuple[AirPart, AirPart]:
    def body(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return ellipsoid(x, y, z, centre, radii)

    def canal(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return capsule(x, y, z, ostium[0], ostium[1], ostium[2])

    reach = max(radii) + 1.0
    bounds = tuple((c - reach, c + reach) for c in centre)
    points = np.array([ostium[0], ostium[1]])
    canal_bounds = tuple((float(lo) - ostium[2] - 1, float(hi) + ostium[2] + 1)
                         for lo, hi in zip(points.min(axis=0), points.max(axis=0)))
    label = int(AirwayLabel.SINUS)
    return AirPart("ostium", label, canal_bounds, canal), AirPart("body", label, bounds, body)  # type: ignore[arg-type]


def extra_air_parts(*, ethmoid: bool, frontal_sphenoid: bool) -> list[AirPart]:
    """Air parts of the ethmoid cells and of the frontal and sphenoid sinuses (both sides), with ostia."""
    parts: list[AirPart] = []
    for sign in (1.0, -1.0):
        if ethmoid:
            for (cx, cy, cz, radius), opening in _ETHMOID:
                centre = _mirrored((cx, cy, cz), sign)
                ostium = (centre, _mirrored(opening, sign), _ETHMOID_OSTIUM_MM)
                canal, body = _cell(centre, (radius,) * 3, ostium)
                parts += [AirPart("ethmoid cell", body.label, body.bounds, body.sdf),
                          AirPart("ethmoid ostium", canal.label, canal.bounds, canal.sdf)]
        if frontal_sphenoid:
            for name, (centre, radii), (start, end, radius) in (
                    ("frontal sinus", _FRONTAL, _FRONTAL_DUCT), ("sphenoid sinus", _SPHENOID, _SPHENOID_OSTIUM)):
                ostium = (_mirrored(start, sign), _mirrored(end, sign), radius)
                canal, body = _cell(_mirrored(centre, sign), radii, ostium)
                parts += [AirPart(name, body.label, body.bounds, body.sdf),
                          AirPart(f"{name} ostium", canal.label, canal.bounds, canal.sdf)]
    return parts


def mask_region(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Where the de-identification masks lie (anatomical coordinates; broadcasts like the shapes).

    Examples
    --------
    >>> bool(mask_region(np.array(25.0), np.array(0.0), np.array(45.0)))
    True
    >>> bool(mask_region(np.array(0.0), np.array(30.0), np.array(10.0)))
    False
    """
    lower, upper = _ORBIT_BLOCK
    block = box(x, y, z, lower, upper) <= 0
    (dx, dz), radius, (y0, y1) = _ORBIT_DISC
    disc = ((x - np.float32(dx)) ** 2 + (z - np.float32(dz)) ** 2 <= radius * radius) & (y >= y0) & (y <= y1)
    result: np.ndarray = block | disc
    return result
