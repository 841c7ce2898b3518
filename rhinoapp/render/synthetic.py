"""A synthetic airway for demonstrations, tests and benchmarks: two nasal tubes merging.

The left and right nasal cavities run from the nostrils (anterior, inferior) back to the
nasopharynx, which turns down to the outlet. Coordinates are LPS millimetres (+x patient left,
+y posterior, +z superior). The left cavity is narrower in its middle (a septal deviation), so
the shape is not mirror-symmetric and every camera preset gives a different picture.

Everything here is deterministic: the same arguments give the same arrays.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData

from rhinoapp.core.volume import CTVolume, ImageGeometry

__all__ = ["FACE_CODES", "Tube", "airway_surface", "airway_tubes", "ct_volume", "flow_field"]

FACE_CODES = {"wall": 0, "inlet_left": 1, "inlet_right": 2, "outlet": 3}


@dataclasses.dataclass(frozen=True)
class Tube:
    """One tube: a centreline (control points, LPS mm) and its cross-section half-axes."""

    name: str
    control: tuple[tuple[float, float, float], ...]
    half_width: tuple[float, float]  # along the lateral axis, at start and middle (mm)
    half_height: tuple[float, float]
    start_face: str  # face code of the start cap
    end_face: str | None  # None: open (ends inside another tube)
    pressure: tuple[float, float]  # Pa at start and end


def airway_tubes() -> tuple[Tube, ...]:
    """The three tubes of the synthetic airway (left cavity, right cavity, nasopharynx).

    Examples
    --------
    >>> [t.name for t in airway_tubes()]
    ['left', 'right', 'nasopharynx']
    """
    return (
        Tube("left", ((9, -48, -18), (9, -30, -10), (6, 0, -4), (3, 28, -6)), (4.0, 1.8), (5.0, 11.0),
             "inlet_left", None, (0.0, -75.0)),
        Tube("right", ((-9, -48, -18), (-10, -30, -10), (-7, 0, -4), (-3, 28, -6)), (4.0, 3.4), (5.0, 12.0),
             "inlet_right", None, (0.0, -55.0)),
        Tube("nasopharynx", ((0, 24, 2), (0, 34, -8), (0, 38, -28), (0, 38, -48)), (10.0, 9.0), (8.0, 8.0),
             "wall", "outlet", (-65.0, -140.0)),
    )


def _centreline(control: tuple[tuple[float, float, float], ...], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and unit tangents of a Catmull-Rom curve through ``control``, sampled ``n`` times."""
    pts = np.asarray(control, dtype=float)
    padded = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    t = np.linspace(0.0, len(pts) - 1, n)
    seg = np.minimum(t.astype(int), len(pts) - 2)
    u = (t - seg)[:, None]
    p0, p1, p2, p3 = (padded[seg + k] for k in range(4))
    points = 0.5 * ((2 * p1) + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * u**3)
    tangents = np.gradient(points, axis=0)
    return points, tangents / np.linalg.norm(tangents, axis=1, keepdims=True)


def _frames(tangents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lateral and vertical unit vectors along a centreline (reference: +x for lateral)."""
    reference = np.array([1.0, 0.0, 0.0])
    lateral = reference - (tangents @ reference)[:, None] * tangents
    lateral /= np.linalg.norm(lateral, axis=1, keepdims=True)
    return lateral, np.cross(tangents, lateral)


def _profile(pair: tuple[float, float], s: np.ndarray) -> np.ndarray:
    """Half-axis along the tube: ``pair[0]`` at the start, ``pair[1]`` in the middle and after."""
    return pair[1] + (pair[0] - pair[1]) * np.clip(1 - 3 * s, 0, 1) ** 2


def _tube_mesh(tube: Tube, n_along: int, n_around: int) -> dict[str, np.ndarray]:
    centre, tangent = _centreline(tube.control, n_along)
    lateral, vertical = _frames(tangent)
    s = np.linspace(0.0, 1.0, n_along)
    theta = np.linspace(0.0, 2 * math.pi, n_around, endpoint=False)
    a = _profile(tube.half_width, s)[:, None]
    b = _profile(tube.half_height, s)[:, None]
    ridges = 1 + 0.07 * np.sin(3 * theta)[None, :] * np.sin(math.pi * 5 * s)[:, None] ** 2  # turbinate-like folds
    ring = (centre[:, None, :] + (a * ridges * np.cos(theta))[..., None] * lateral[:, None, :]
            + (b * ridges * np.sin(theta))[..., None] * vertical[:, None, :])
    points = ring.reshape(-1, 3)
    i, j = np.meshgrid(np.arange(n_along - 1), np.arange(n_around), indexing="ij")
    v00 = i * n_around + j
    v01 = i * n_around + (j + 1) % n_around
    v10 = v00 + n_around
    v11 = v01 + n_around
    tris = np.concatenate([np.stack([v00, v10, v11], -1).reshape(-1, 3), np.stack([v00, v11, v01], -1).reshape(-1, 3)])
    faces = [np.full(len(tris), FACE_CODES["wall"])]
    pressure_along = np.interp(s, [0, 1], tube.pressure)
    narrow = 1.0 / (a * b)
    wss = (0.4 + 40 * narrow) * (1 + 0.5 * np.sin(5 * theta)[None, :] ** 2)
    point_p = np.repeat(pressure_along, n_around) + 3 * np.sin(theta)[None, :].repeat(n_along, 0).ravel()
    caps = [(0, tube.start_face)] + ([(n_along - 1, tube.end_face)] if tube.end_face else [])
    extra_points, extra_p, extra_wss, cap_tris = [], [], [], []
    for k, face in caps:
        centre_index = len(points) + len(extra_points)
        extra_points.append(centre[k])
        extra_p.append(pressure_along[k])
        extra_wss.append(0.0)
        ring_ids = k * n_around + np.arange(n_around)
        fan = np.stack([np.full(n_around, centre_index), ring_ids, np.roll(ring_ids, -1)], -1)
        cap_tris.append(fan if k else fan[:, ::-1])
        faces.append(np.full(n_around, FACE_CODES[face]))
    return {
        "points": np.vstack([points, np.asarray(extra_points)]),
        "triangles": np.vstack([tris, *cap_tris]),
        "face": np.concatenate(faces),
        "pressure": np.concatenate([point_p, extra_p]),
        "wss": np.concatenate([wss.ravel(), extra_wss]),
    }


def _polydata(points: np.ndarray, triangles: np.ndarray, point_arrays: dict[str, np.ndarray],
              cell_arrays: dict[str, np.ndarray]) -> vtkPolyData:
    vpoints = vtkPoints()
    vpoints.SetData(numpy_to_vtk(np.ascontiguousarray(points, dtype=np.float32), deep=True))
    offsets = np.arange(0, 3 * len(triangles) + 1, 3, dtype=np.int64)
    cells = vtkCellArray()
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                  numpy_to_vtkIdTypeArray(np.ascontiguousarray(triangles, dtype=np.int64).ravel(), deep=True))
    poly = vtkPolyData()
    poly.SetPoints(vpoints)
    poly.SetPolys(cells)
    for name, values in point_arrays.items():
        array = numpy_to_vtk(np.ascontiguousarray(values, dtype=np.float32), deep=True)
        array.SetName(name)
        poly.GetPointData().AddArray(array)
    for name, values in cell_arrays.items():
        array = numpy_to_vtk(np.ascontiguousarray(values, dtype=np.int32), deep=True)
        array.SetName(name)
        poly.GetCellData().AddArray(array)
    return poly


def airway_surface(triangles: int = 20_000) -> vtkPolyData:
    """The synthetic airway surface with about ``triangles`` triangles.

    Cell data ``face`` (see :data:`FACE_CODES`); point data ``pressure`` and ``wss`` in Pa.

    Examples
    --------
    >>> surface = airway_surface(5000)
    >>> 4500 < surface.GetNumberOfCells() < 5500, surface.GetCellData().GetArray("face") is not None
    (True, True)
    >>> xmin, xmax = surface.GetBounds()[:2]
    >>> xmin < 0 < xmax  # both sides of the patient (LPS: +x is the patient's left)
    True
    """
    tubes = airway_tubes()
    weights = np.array([len(t.control) * (t.half_width[1] + t.half_height[1]) for t in tubes], dtype=float)
    quads = (triangles / 2) * weights / weights.sum()
    parts = []
    for tube, q in zip(tubes, quads, strict=True):
        length = sum(math.dist(p, r) for p, r in zip(tube.control, tube.control[1:], strict=False))
        perimeter = math.pi * (tube.half_width[1] + tube.half_height[1])
        n_around = max(8, round(math.sqrt(q * perimeter / length)))
        parts.append(_tube_mesh(tube, max(3, round(q / n_around) + 1), n_around))
    offset = np.cumsum([0] + [len(p["points"]) for p in parts[:-1]])
    return _polydata(
        np.vstack([p["points"] for p in parts]),
        np.vstack([p["triangles"] + o for p, o in zip(parts, offset, strict=True)]),
        {"pressure": np.concatenate([p["pressure"] for p in parts]), "wss": np.concatenate([p["wss"] for p in parts])},
        {"face": np.concatenate([p["face"] for p in parts])},
    )


def _centre_samples(n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centreline points, tangents and mean radius of all tubes (for the CT and the flow)."""
    points, tangents, radii = [], [], []
    for tube in airway_tubes():
        c, t = _centreline(tube.control, n)
        s = np.linspace(0, 1, n)
        points.append(c)
        tangents.append(t)
        radii.append(0.5 * (_profile(tube.half_width, s) + _profile(tube.half_height, s)))
    return np.vstack(points), np.vstack(tangents), np.concatenate(radii)


def _grid(spacing: float, margin: float) -> tuple[np.ndarray, tuple[float, float, float], tuple[int, int, int]]:
    lo = np.array([-30.0, -60.0, -60.0]) - margin
    hi = np.array([30.0, 50.0, 20.0]) + margin
    shape = tuple(int(n) for n in np.ceil((hi - lo) / spacing).astype(int) + 1)
    axes = [lo[d] + spacing * np.arange(shape[d]) for d in range(3)]
    zz, yy, xx = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")  # [k, j, i]
    return np.stack([xx, yy, zz], -1), tuple(lo), (shape[2], shape[1], shape[0])


def _nearest(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    centre, _tangent, _radius = _centre_samples()
    distance, index = cKDTree(centre).query(points.reshape(-1, 3))
    return distance, index


def ct_volume(spacing_mm: float = 2.0) -> CTVolume:
    """A synthetic head CT in HU around the airway: air inside, soft tissue, a bony shell.

    Examples
    --------
    >>> ct = ct_volume(spacing_mm=6.0)
    >>> ct.hu.dtype, int(ct.hu.min()), int(ct.hu.max())
    (dtype('int16'), -1000, 900)
    """
    grid, origin, shape = _grid(spacing_mm, margin=12.0)
    distance, index = _nearest(grid)
    _c, _t, radius = _centre_samples()
    hu = np.full(len(distance), 40.0)
    hu[distance < radius[index]] = -1000.0
    centre = np.array([0.0, -5.0, -20.0])
    semi = np.array([40.0, 60.0, 48.0])
    r = np.linalg.norm((grid.reshape(-1, 3) - centre) / semi, axis=1)
    hu[(r > 0.92) & (r <= 1.0)] = 900.0
    hu[r > 1.0] = -1000.0
    volume = hu.reshape(shape).astype(np.int16)
    return CTVolume(volume, ImageGeometry(shape, spacing_mm=(spacing_mm,) * 3, origin_mm=origin))


def flow_field(spacing_mm: float = 2.0, peak_m_s: float = 4.0) -> vtkImageData:
    """A synthetic velocity field (point array ``velocity``, m/s) following the tubes.

    Examples
    --------
    >>> field = flow_field(spacing_mm=6.0)
    >>> field.GetPointData().GetArray("velocity").GetNumberOfComponents()
    3
    """
    grid, origin, shape = _grid(spacing_mm, margin=4.0)
    distance, index = _nearest(grid)
    _c, tangent, radius = _centre_samples()
    profile = np.clip(1 - (distance / radius[index]) ** 2, 0, None)
    velocity = tangent[index] * (peak_m_s * profile)[:, None]
    image = vtkImageData()
    image.SetDimensions(shape[2], shape[1], shape[0])
    image.SetSpacing(spacing_mm, spacing_mm, spacing_mm)
    image.SetOrigin(*origin)
    array = numpy_to_vtk(np.ascontiguousarray(velocity, dtype=np.float32), deep=True)
    array.SetName("velocity")
    image.GetPointData().AddArray(array)
    image.GetPointData().SetActiveVectors("velocity")
    return image
