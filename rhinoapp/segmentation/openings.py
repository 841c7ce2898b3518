"""Openings of the airway to the outside air: nostril detection and inlet/outlet planes.

An opening is a cluster of voxel faces between enclosed air and outside air (see
:func:`rhinoapp.segmentation.masks.outside_air`), which always lie between two axial slices.
The nostrils are the two openings facing down (outside air below) of one large enclosed air
space, side by side (5-45 mm apart left to right, within 15 mm in height and 25 mm front to back),
and of all such pairs the highest one: an open mouth or the pharynx below a lip gap opens lower.

Examples
--------
>>> inside = np.zeros((4, 3, 3), dtype=bool); inside[2:, 1, 1] = True
>>> outside = np.zeros_like(inside); outside[:2] = True
>>> [(c.step, c.size) for c in interface_clusters(inside, outside, 0)]
[(-1, 1)]
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import ImageGeometry
from rhinoapp.segmentation.masks import AxisFrame, voxel_centres
from rhinoapp.segmentation.options import Opening, Plane

__all__ = ["Cluster", "interface_clusters", "opening_from_cluster", "pick_nostrils"]


@dataclasses.dataclass(frozen=True, eq=False)
class Cluster:
    """Enclosed-air voxels ``inner_kji`` (n, 3) whose axial neighbour at ``+step`` is outside air."""

    inner_kji: np.ndarray
    step: int
    component: int = 0

    @property
    def size(self) -> int:
        """Number of voxel faces."""
        return len(self.inner_kji)

    def face_centres(self, geometry: ImageGeometry, axial_axis: int) -> np.ndarray:
        """LPS centres (n, 3) of the faces between the inner voxels and the outside air."""
        index = self.inner_kji.astype(float)
        index[:, axial_axis] += self.step / 2.0
        return voxel_centres(geometry, index.T)


def interface_clusters(inside: np.ndarray, outside: np.ndarray, axial_axis: int,
                       components: np.ndarray | None = None) -> list[Cluster]:
    """Connected clusters of faces between ``inside`` and ``outside`` voxels along the axial axis."""
    clusters: list[Cluster] = []
    n = inside.shape[axial_axis]
    for step in (-1, 1):
        here = [slice(None)] * 3
        there = [slice(None)] * 3
        here[axial_axis] = slice(1, n) if step < 0 else slice(0, n - 1)
        there[axial_axis] = slice(0, n - 1) if step < 0 else slice(1, n)
        faces = inside[tuple(here)] & outside[tuple(there)]
        index = np.nonzero(faces)
        if not len(index[0]):
            continue
        offset = np.array([0, 0, 0])
        offset[axial_axis] = 1 if step < 0 else 0
        lo = [int(a.min()) for a in index]
        box = tuple(slice(a, int(b.max()) + 1) for a, b in zip(lo, index))
        labels, count = ndimage.label(faces[box], structure=np.ones((3, 3, 3), dtype=bool))
        local = labels[tuple(a - o for a, o in zip(index, lo))]
        order = np.argsort(local, kind="stable")
        voxels = np.stack(index, axis=1)[order] + offset
        bounds = np.searchsorted(local[order], np.arange(1, count + 2))
        for start, stop in zip(bounds[:-1], bounds[1:]):
            inner = voxels[start:stop]
            component = 0
            if components is not None:
                values = components[tuple(inner.T)]
                component = int(np.bincount(values).argmax())
            clusters.append(Cluster(inner, step, component))
    return clusters


def opening_from_cluster(name: str, cluster: Cluster, geometry: ImageGeometry, axial_axis: int) -> Opening:
    """Plane (least-squares fit, normal towards the outside air), area and extent of an opening.

    Examples
    --------
    >>> g = ImageGeometry((4, 4, 4))
    >>> cluster = Cluster(np.array([[2, 1, 1], [2, 1, 2], [2, 2, 1], [2, 2, 2]]), -1)
    >>> opening = opening_from_cluster("inlet_left", cluster, g, 0)
    >>> opening.plane.point_mm, opening.plane.normal, opening.area_mm2
    ((1.5, 1.5, 1.5), (0.0, 0.0, -1.0), 4.0)
    """
    points = cluster.face_centres(geometry, axial_axis)
    centre = points.mean(axis=0)
    axis_column = 2 - axial_axis
    outward = geometry.direction_matrix[:, axis_column] * cluster.step
    normal = outward
    if len(points) >= 6:
        _, vectors = np.linalg.eigh(np.cov((points - centre).T))
        fitted = vectors[:, 0] * np.sign(vectors[:, 0] @ outward or 1.0)
        if fitted @ outward > 0.7:  # a staircase over a few slices: tilted plane
            normal = fitted
    spacing = np.asarray(geometry.spacing_mm)
    pixel = float(np.prod(np.delete(spacing, axis_column)))
    area = cluster.size * pixel / abs(float(normal @ outward))
    offsets = points - centre
    in_plane = offsets - np.outer(offsets @ normal, normal)
    radius = float(np.sqrt((in_plane**2).sum(axis=1)).max()) + float(np.sqrt(pixel)) / 2
    bounds = tuple((float(lo), float(hi)) for lo, hi in zip(points.min(axis=0), points.max(axis=0)))
    return Opening(name, Plane(tuple(centre), tuple(normal)), area, radius, bounds)  # type: ignore[arg-type]


def pick_nostrils(clusters: list[Cluster], geometry: ImageGeometry, frame: AxisFrame, *,
                  min_area_mm2: float, component_volumes_ml: dict[int, float], min_volume_ml: float = 2.0
                  ) -> tuple[Cluster, Cluster] | None:
    """The (left, right) nostril openings among ``clusters``, or ``None`` when no pair qualifies."""
    spacing = np.asarray(geometry.spacing_mm)
    pixel = float(np.prod(np.delete(spacing, 2 - frame.axial)))
    down = -frame.axial_sign
    candidates = []
    for cluster in clusters:
        if cluster.step != down or cluster.size * pixel < min_area_mm2:
            continue
        if component_volumes_ml.get(cluster.component, 0.0) < min_volume_ml:
            continue
        candidates.append((cluster, cluster.face_centres(geometry, frame.axial).mean(axis=0)))
    best: tuple[float, tuple[Cluster, Cluster]] | None = None
    for a, (first, p) in enumerate(candidates):
        for second, q in candidates[a + 1:]:
            if first.component != second.component:
                continue
            dx, dy, dz = np.abs(p - q)
            if not (5.0 <= dx <= 45.0 and dy <= 25.0 and dz <= 15.0):
                continue
            height = float(p[2] + q[2]) / 2
            pair = (first, second) if p[0] > q[0] else (second, first)  # +x is the patient's left
            if best is None or height > best[0]:
                best = (height, pair)
    return None if best is None else best[1]
