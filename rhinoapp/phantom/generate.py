"""Generate the phantom: a CT volume in Hounsfield units plus its ground-truth label map.

How a voxel gets its value
--------------------------
1. The air spaces (:mod:`rhinoapp.phantom.anatomy`) and the air outside the skin are combined
   into one signed distance ``d`` (negative in air).
2. Partial volume: the air fraction of a voxel is ``clip(0.5 - d / w, 0, 1)``, where
   ``w = sum_a |dd/dx_a| * spacing_a`` is the voxel's extent along the local normal (so thick
   slices get wide ramps).
3. ``HU = f * (-1000) + (1 - f) * tissue``, with soft tissue, skin, fat, cartilage and bone drawn
   from the tissue layers; then a Gaussian point-spread function (``blur_mm``) and Gaussian noise
   (``noise_hu``, seeded), rounded to int16.

The ground truth labels a voxel by the part that contains its centre (``d < 0``), so a
segmentation that places the boundary at half the air-tissue contrast is unbiased.

Examples
--------
>>> phantom = generate_phantom(PhantomParams(spacing_mm=1.5, noise_hu=0.0))
>>> phantom.ct.hu.dtype.name, phantom.ct.geometry.shape
('int16', (52, 76, 45))
>>> 2.0 < phantom.truth.volume_ml(AirwayLabel.LEFT_CAVITY) < 20.0
True
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
from typing import Any, cast

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import AirwayLabel, CTVolume, ImageGeometry, LabelMap
from rhinoapp.phantom.anatomy import (
    AIR_HU,
    CHOANA_Y_MM,
    FAT_HU,
    NOSE_BOTTOM_Z_MM,
    NOSTRIL_CENTRE_MM,
    SKIN_HU,
    SOFT_TISSUE_HU,
    VALVE_PURE_Y_MM,
    air_parts,
    body_sdf,
    tissue_parts,
)
from rhinoapp.phantom.hard import MASK_HU, extra_air_parts, mask_region
from rhinoapp.phantom.params import PhantomParams
from rhinoapp.phantom.shapes import Grid

__all__ = ["AirRegion", "Phantom", "PhantomLandmarks", "generate_phantom"]

_LOG = logging.getLogger(__name__)
_PIVOT_MM = (0.0, 30.0, 10.0)
_PHARYNX_CENTRE_Y_MM = 74.0
Vec3 = tuple[float, float, float]


@dataclasses.dataclass(frozen=True)
class PhantomLandmarks:
    """Known positions of the phantom, in LPS millimetres unless said otherwise.

    ``nostrils_lps_mm`` holds the centres of the left and right nostril openings (on the
    underside of the nose), ``nostril_normal_lps`` the direction out of the airway there.
    ``valve_distance_mm`` is the range of distances behind the nostril centre where a coronal
    plane cuts only the valve, whose area there is ``valve_area_mm2``.
    """

    nostrils_lps_mm: tuple[Vec3, Vec3]
    nostril_normal_lps: Vec3
    outlet_point_lps_mm: Vec3
    outlet_normal_lps: Vec3
    choana_y_mm: float
    outlet_z_mm: float
    valve_area_mm2: float
    valve_distance_mm: tuple[float, float]
    rotation: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready landmarks."""
        return dataclasses.asdict(self)


class AirRegion(enum.IntEnum):
    """Values of :attr:`Phantom.air_regions`: which kind of space a voxel centre lies in."""

    TISSUE = 0
    AIRWAY = 1  #: any label of the ground truth (cavities, nasopharynx, sinuses)
    OUTSIDE = 2  #: air outside the body
    OTHER_AIR = 3  #: enclosed air that is no airway: the oral cavity, the pharynx below the outlet
    MASK = 4  #: a -1024 HU de-identification mask (air-valued, but no air)


@dataclasses.dataclass(frozen=True, eq=False)
class Phantom:
    """A generated phantom: CT, ground-truth labels, air regions, the parameters and the landmarks."""

    ct: CTVolume
    truth: LabelMap
    air_regions: LabelMap
    params: PhantomParams
    landmarks: PhantomLandmarks


def _rotation(angles_deg: tuple[float, float, float]) -> np.ndarray | None:
    if not any(angles_deg):
        return None
    ax, ay, az = (math.radians(a) for a in angles_deg)
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    result: np.ndarray = rz @ ry @ rx
    return result


def _grid(params: PhantomParams) -> Grid:
    shape_ijk, origin = [], []
    for (lo, hi), s in zip(params.field_of_view_mm, params.spacing_mm):
        shape_ijk.append(max(1, round((hi - lo) / s)))
        origin.append(lo + s / 2.0)
    geometry = ImageGeometry(cast("tuple[int, int, int]", tuple(reversed(shape_ijk))), params.spacing_mm,
                             cast("tuple[float, float, float]", tuple(origin)))
    return Grid(geometry, _rotation(params.rotation_deg), _PIVOT_MM)


def _air_fraction(distance: np.ndarray, spacing_ijk: tuple[float, float, float]) -> np.ndarray:
    """Partial-volume air fraction from a signed distance on a grid with voxel size ``spacing``."""
    si, sj, sk = spacing_ijk
    gradients = np.gradient(distance, sk, sj, si)
    width = np.zeros_like(distance)
    for gradient, s in zip(gradients, (sk, sj, si)):
        width += np.abs(gradient) * np.float32(s)
    np.maximum(width, np.float32(1e-3), out=width)
    fraction = np.float32(0.5) - distance / width
    result: np.ndarray = np.clip(fraction, 0, 1, out=fraction)
    return result


def _anatomical(grid: Grid, index_kji: tuple[np.ndarray, ...]) -> np.ndarray:
    """Anatomical coordinates (n, 3) of voxel indices."""
    k, j, i = index_kji
    lps = grid.geometry.index_to_physical(np.stack([i, j, k], axis=1))
    if grid.rotation is None:
        return lps
    pivot = np.asarray(grid.pivot_mm)
    result: np.ndarray = (lps - pivot) @ grid.rotation + pivot
    return result


def _paint_air(grid: Grid, params: PhantomParams, body: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed distance to air (negative inside), ground-truth labels and air regions."""
    distance = -body
    truth = np.zeros(grid.geometry.shape, dtype=np.uint8)
    parts = extra_air_parts(ethmoid=params.ethmoid_cells, frontal_sphenoid=params.frontal_sphenoid)
    parts += air_parts(params.septal_deviation, _swelling(params), params.valve_radii_mm,
                       mouth_open=params.mouth_open, contact=params.septum_contact, opacified=params.opacified_sinus)
    for part in parts:
        window, coords = grid.coordinates(part.bounds)
        shape = tuple(s.stop - s.start for s in window)
        if 0 in shape:
            continue
        d = np.broadcast_to(part.sdf(*coords), shape)
        np.minimum(distance[window], d, out=distance[window])
        truth[window][d < 0] = part.label
    labelled = np.nonzero(truth)
    anatomical = _anatomical(grid, labelled)
    values = truth[labelled]
    side = (values == AirwayLabel.LEFT_CAVITY) | (values == AirwayLabel.RIGHT_CAVITY)
    values[side & (anatomical[:, 1] >= CHOANA_Y_MM)] = AirwayLabel.NASOPHARYNX
    outlet_z = -params.outlet_depth_mm
    values[(values == AirwayLabel.NASOPHARYNX) & (anatomical[:, 2] <= outlet_z)] = AirwayLabel.BACKGROUND
    truth[labelled] = values
    outside = body > 0
    truth[outside] = AirwayLabel.BACKGROUND
    regions = np.where(distance < 0, np.uint8(AirRegion.OTHER_AIR), np.uint8(AirRegion.TISSUE))
    regions[truth > 0] = AirRegion.AIRWAY
    regions[outside] = AirRegion.OUTSIDE
    return distance, truth, regions


def _paint_tissue(grid: Grid, params: PhantomParams, body: np.ndarray, x: np.ndarray) -> np.ndarray:
    tissue = np.full(grid.geometry.shape, SOFT_TISSUE_HU, dtype=np.float32)
    depth = -body
    tissue[(depth >= 0) & (depth < 1.5)] = SKIN_HU
    tissue[(depth >= 1.5) & (depth < 5.0) & (np.abs(x) >= 15.0)] = FAT_HU
    for part in tissue_parts(params.septal_deviation, _swelling(params), contact=params.septum_contact):
        window, coords = grid.coordinates(part.bounds)
        if any(s.stop <= s.start for s in window):
            continue
        d = np.broadcast_to(part.sdf(*coords), tuple(s.stop - s.start for s in window))
        tissue[window][(d >= part.low) & (d < part.high)] = part.hu
    return tissue


def _swelling(params: PhantomParams) -> float | tuple[float, float]:
    if params.left_swelling is None:
        return params.turbinate_swelling
    return (float(params.left_swelling), params.turbinate_swelling)


def _landmarks(grid: Grid, params: PhantomParams) -> PhantomLandmarks:
    lateral, ny = NOSTRIL_CENTRE_MM
    nostrils = tuple(tuple(float(v) for v in grid.to_lps((sign * lateral, ny, NOSE_BOTTOM_Z_MM))) for sign in (1, -1))
    down = tuple(float(v) for v in grid.direction_to_lps((0.0, 0.0, -1.0)))
    outlet_z = -params.outlet_depth_mm
    outlet = tuple(float(v) for v in grid.to_lps((0.0, _PHARYNX_CENTRE_Y_MM, outlet_z)))
    rotation = np.eye(3) if grid.rotation is None else grid.rotation
    return PhantomLandmarks(
        nostrils_lps_mm=nostrils,  # type: ignore[arg-type]
        nostril_normal_lps=down,  # type: ignore[arg-type]
        outlet_point_lps_mm=outlet,  # type: ignore[arg-type]
        outlet_normal_lps=down,  # type: ignore[arg-type]
        choana_y_mm=CHOANA_Y_MM,
        outlet_z_mm=outlet_z,
        valve_area_mm2=params.valve_area_mm2,
        valve_distance_mm=(VALVE_PURE_Y_MM[0] - ny, VALVE_PURE_Y_MM[1] - ny),
        rotation=tuple(float(v) for v in rotation.ravel()),
    )


def generate_phantom(params: PhantomParams | None = None, **overrides: Any) -> Phantom:
    """Generate the CT volume and ground-truth labels described by ``params``.

    Parameters
    ----------
    params
        Phantom parameters; default :class:`PhantomParams()`.
    **overrides
        Fields of :class:`PhantomParams` to replace, e.g. ``seed=3``.

    Returns
    -------
    Phantom
        ``ct`` (int16 HU), ``truth`` (uint8 :class:`~rhinoapp.core.volume.AirwayLabel` values,
        sinuses labelled 4), ``params`` and ``landmarks``.

    Examples
    --------
    >>> phantom = generate_phantom(spacing_mm=2.0, noise_hu=0.0)
    >>> int(phantom.ct.hu.min()), int(phantom.ct.hu.max()) > 500
    (-1000, True)
    """
    params = params if params is not None else PhantomParams()
    if overrides:
        params = dataclasses.replace(params, **overrides)
    grid = _grid(params)
    _, (x, y, z) = grid.coordinates()
    body = np.broadcast_to(body_sdf(x, y, z), grid.geometry.shape)
    distance, truth, regions = _paint_air(grid, params, body)
    tissue = _paint_tissue(grid, params, body, x)
    air = _air_fraction(distance, params.spacing_mm)
    del distance
    hu = tissue
    hu += air * (np.float32(AIR_HU) - tissue)
    del air
    if params.blur_mm > 0:
        sigma = [params.blur_mm / s for s in reversed(params.spacing_mm)]
        hu = ndimage.gaussian_filter(hu, sigma=sigma, mode="nearest")
    if params.noise_hu > 0:
        rng = np.random.default_rng(params.seed)
        hu += rng.standard_normal(hu.shape, dtype=np.float32) * np.float32(params.noise_hu)
    values = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    if params.anonymisation_masks:
        masked = np.broadcast_to(mask_region(x, y, z), grid.geometry.shape)
        values[masked] = MASK_HU
        truth[masked] = AirwayLabel.BACKGROUND
        regions[masked] = AirRegion.MASK
    _LOG.debug("phantom %s: %d voxels", params, values.size)
    return Phantom(CTVolume(values, grid.geometry), LabelMap(truth, grid.geometry), LabelMap(regions, grid.geometry),
                   params, _landmarks(grid, params))
