"""Paranasal sinuses: large air spaces that hang on the airway through a narrow ostium.

Method
------
1. Cores: voxels at least ``core_radius_mm`` from the wall (a Euclidean distance transform of the
   airway); each connected core is a candidate (a sinus, but also the nasopharynx or a wide
   part of a cavity).
2. Body: the airway within ``core_radius_mm`` (plus one voxel) of the core.
3. Neck: grow the body through the airway one 26-connected layer at a time and watch the size of
   the growing front. A sinus front shrinks to the ostium (area at most ``max_ostium_area_mm2``)
   and then, leaving the ostium into the meatus, grows again; the sinus is everything reached
   until then plus one ostium radius (a mouth cut obliquely by the wall opens on one side
   first), so body, whole ostium and a thin rim of the meatus at its mouth. A candidate
   whose front never narrows within ``max_ostium_length_mm`` is not a sinus.
4. A candidate that contains a seed (nostril) or whose removal separates the seeds is on the way
   from the nostrils to the outlet and is never a sinus.

Examples
--------
>>> airway = np.zeros((30, 30, 60), dtype=bool)
>>> zz, yy, xx = np.ogrid[:30, :30, :60]
>>> airway |= (zz - 15) ** 2 + (yy - 15) ** 2 + (xx - 15) ** 2 <= 100  # a "sinus" of radius 10
>>> airway[14:17, 14:17, 24:36] = True                                 # a 3x3 ostium
>>> airway[5:25, 5:25, 36:42] = True                                   # a wide slab (the meatus)
>>> sinus = find_sinuses(airway, (1.0, 1.0, 1.0), seeds_kji=[(15, 15, 40)], core_radius_mm=4.0,
...                      max_ostium_area_mm2=20.0, max_ostium_length_mm=15.0, min_volume_ml=0.001)
>>> bool(sinus[15, 15, 15]), bool(sinus[15, 15, 35]), bool(sinus[15, 15, 40])
(True, True, False)
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["find_sinuses", "grow_to_neck"]

_LOG = logging.getLogger(__name__)
_OFFSETS = np.array([o for o in itertools.product((-1, 0, 1), repeat=3) if any(o)])


def _expand(box: tuple[slice, ...], margin: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    return tuple(slice(max(0, s.start - m), min(n, s.stop + m)) for s, m, n in zip(box, margin, shape))


def grow_to_neck(airway: np.ndarray, body: np.ndarray, window: tuple[slice, ...], spacing: np.ndarray,
                 max_area_mm2: float, max_length_mm: float, *, window_edge_ends: bool = True,
                 canal_factor: float = 2.0) -> np.ndarray | None:
    """Grow ``body`` (a mask on ``window``) to the far end of its neck; ``None`` when it has no neck.

    With ``window_edge_ends`` a front reaching the window's edge means "no neck" (the candidate is
    longer than the window allows); without, the window's edge is just a wall. A front still in a
    narrow canal at ``max_length_mm`` goes on up to ``canal_factor`` times that length.
    """
    allowed = np.pad(airway[window], 1)  # False border: neighbours never wrap around
    region = np.pad(body, 1)
    shape = np.array(region.shape)
    strides = np.array([shape[1] * shape[2], shape[2], 1])
    offsets = _OFFSETS @ strides
    allowed_flat, region_flat = allowed.ravel(), region.ravel()
    allowed_flat &= ~region_flat
    # Touching the window's own edge (not the volume's) means the candidate is longer than allowed.
    edge = np.zeros(region.shape, dtype=bool)
    edge[1:-1, 1:-1, 1:-1] = True
    edge[2:-2, 2:-2, 2:-2] = False
    if not window_edge_ends:
        edge[:] = False
    edge_flat = edge.ravel()
    front = np.flatnonzero(region_flat)
    step = float(spacing.min())
    voxel_area = float(np.prod(spacing)) / step
    smallest, neck, narrowest = np.inf, False, front
    limit = int(np.ceil(max_length_mm / step)) + 2
    for n in range(int(canal_factor * limit)):  # past max_length_mm only while the front stays in a narrow canal
        reached = (front[:, None] + offsets[None, :]).ravel()
        new = np.unique(reached[allowed_flat[reached]])
        if not len(new) or edge_flat[new].any():
            return None
        count = len(new)
        if n >= limit and not (neck and count * voxel_area <= max_area_mm2):
            return None
        if count * voxel_area <= max_area_mm2:
            neck = True
            if count <= smallest:
                smallest, narrowest = count, new
        region_flat[new] = True
        allowed_flat[new] = False
        front = new
        if neck and (count * voxel_area > max_area_mm2 or count > max(2 * smallest, smallest + 10)):
            # The front leaves the ostium. A mouth cut obliquely by the wall opens on one side first:
            # take the airway within one ostium radius (plus a voxel) of the narrowest front as well.
            radius = float(np.sqrt(smallest * voxel_area / np.pi)) + step
            _take_near(region_flat, allowed_flat, front, narrowest, offsets, shape, spacing, radius)
            return region[1:-1, 1:-1, 1:-1]
    return None


def _take_near(region_flat: np.ndarray, allowed_flat: np.ndarray, front: np.ndarray, narrowest: np.ndarray,
               offsets: np.ndarray, shape: np.ndarray, spacing: np.ndarray, radius: float) -> None:
    """Grow ``front`` through the allowed voxels within ``radius`` mm (Euclidean) of ``narrowest``."""
    points = np.stack(np.unravel_index(narrowest, tuple(shape)), axis=1) * spacing
    for _ in range(int(np.ceil(radius / float(spacing.min()))) + 1):
        reached = (front[:, None] + offsets[None, :]).ravel()
        new = np.unique(reached[allowed_flat[reached]])
        if not len(new):
            return
        where = np.stack(np.unravel_index(new, tuple(shape)), axis=1) * spacing
        near = np.zeros(len(new), dtype=bool)
        for start in range(0, len(new), 4096):
            chunk = where[start:start + 4096]
            d2 = ((chunk[:, None, :] - points[None, :, :]) ** 2).sum(axis=2).min(axis=1)
            near[start:start + 4096] = d2 <= radius * radius
        front = new[near]
        if not len(front):
            return
        region_flat[front] = True
        allowed_flat[front] = False


def _separates(airway: np.ndarray, removed: np.ndarray, seeds_kji: Sequence[Sequence[int]]) -> bool:
    if len(seeds_kji) < 2:
        return False
    labels, _ = ndimage.label(airway & ~removed)
    values = {int(labels[tuple(seed)]) for seed in seeds_kji}
    return len(values) > 1 or 0 in values


def find_sinuses(airway: np.ndarray, spacing_kji: Sequence[float], *, seeds_kji: Sequence[Sequence[int]],
                 core_radius_mm: float, max_ostium_area_mm2: float, max_ostium_length_mm: float,
                 min_volume_ml: float, distance: np.ndarray | None = None, canal_factor: float = 2.0,
                 max_core_extent_mm: float | None = None) -> np.ndarray:
    """Mask of the sinuses (with their ostia) inside the boolean ``airway``; see the module notes.

    Parameters
    ----------
    airway
        Boolean airway mask ``[k, j, i]``.
    spacing_kji
        Voxel size along ``k``, ``j``, ``i`` in millimetres.
    seeds_kji
        Indices of the nostril seeds; no sinus may contain one or cut them apart.
    distance
        The airway's distance transform (mm) when already known (a pass over a part of an airway
        may reuse the whole airway's: its cores then lie within the part).
    canal_factor
        A neck may be a canal up to this many times ``max_ostium_length_mm`` long.
    max_core_extent_mm
        Cores longer than this along any axis are no candidates (small cells only).
    """
    spacing = np.asarray(spacing_kji, dtype=float)
    if distance is None:
        distance = ndimage.distance_transform_edt(airway, sampling=spacing)
    cores, count = ndimage.label((distance >= core_radius_mm) & airway)
    sinus = np.zeros_like(airway)
    voxel_ml = float(np.prod(spacing)) / 1000.0
    reach = np.ceil((core_radius_mm + spacing.max()) / spacing).astype(int)
    margin = np.ceil((core_radius_mm + canal_factor * max_ostium_length_mm + 2 * spacing.max()) / spacing).astype(int)
    for index, box in enumerate(ndimage.find_objects(cores), start=1):
        if box is None:
            continue
        if max_core_extent_mm is not None and max((s.stop - s.start) * d for s, d in zip(box, spacing)) > \
                max_core_extent_mm:
            continue
        near = _expand(box, reach, airway.shape)
        far = _expand(box, margin, airway.shape)
        core = cores[near] == index
        body = ndimage.distance_transform_edt(~core, sampling=spacing) <= core_radius_mm + spacing.max()
        body &= airway[near]
        if body.sum() * voxel_ml < min_volume_ml:
            continue
        body_far = np.zeros(tuple(s.stop - s.start for s in far), dtype=bool)
        body_far[tuple(slice(n.start - f.start, n.stop - f.start) for n, f in zip(near, far))] = body
        region = grow_to_neck(airway, body_far, far, spacing, max_ostium_area_mm2, max_ostium_length_mm,
                              canal_factor=canal_factor)
        if region is None:
            continue
        if any(all(f.start <= s < f.stop for s, f in zip(seed, far)) and region[tuple(
                s - f.start for s, f in zip(seed, far))] for seed in seeds_kji):
            continue
        candidate = np.zeros_like(airway)
        candidate[far] = region
        if _separates(airway, sinus | candidate, seeds_kji):
            _LOG.info("air space at %s hangs on a narrow neck but lies on the way to the outlet: kept", box)
            continue
        _LOG.info("sinus of %.2f ml at %s (core radius %g mm)", region.sum() * voxel_ml, box, core_radius_mm)
        sinus |= candidate
    return sinus
