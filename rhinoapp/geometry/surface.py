"""The airway surface: iso-surface of a smoothed label field, smoothed, decimated, checked, face-labelled.

Pipeline
--------
1. Airway mask (labels 1-3, and 4 when the sinuses were kept), padded with background.
2. Gaussian smoothing of the 0/1 field (``sigma_voxels``, about 0.8 voxel: binary marching cubes
   on thin passages gives non-manifold surfaces) and ``vtkFlyingEdges3D`` at 0.5.
3. ``vtkWindowedSincPolyDataFilter`` (windowed sinc, which hardly shrinks, unlike Laplacian
   smoothing), then ``vtkQuadricDecimation`` with volume preservation down to
   ``target_triangles``; if that breaks the topology, topology-preserving ``vtkDecimatePro``.
4. Points go to LPS millimetres; triangles are oriented outwards; the mesh must be watertight and
   manifold, else :class:`SurfaceError`.
5. Cell data ``face`` (see :class:`Face`): a triangle lies on an opening when its centre is
   within one voxel of the opening's plane and inside its rim, and it faces the same way
   (within 60 degrees); ``region`` is the airway label inside each triangle.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkStringArray
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import (
    vtkDecimatePro,
    vtkFlyingEdges3D,
    vtkQuadricDecimation,
    vtkWindowedSincPolyDataFilter,
)

from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.core.progress import ProgressCallback, ProgressReport
from rhinoapp.core.volume import AirwayLabel, LabelMap
from rhinoapp.geometry.mesh import TriangleMesh, mesh_from_polydata
from rhinoapp.segmentation.options import Opening

__all__ = ["AirwaySurface", "Face", "SurfaceError", "SurfaceOptions", "contour_half", "extract_surface"]

_LOG = logging.getLogger(__name__)


class SurfaceError(RhinoappError, ValueError):
    """The surface cannot be built or fails its checks; the message says which part failed."""


class Face(enum.IntEnum):
    """Values of the ``face`` cell data: which boundary a triangle belongs to."""

    WALL = 0
    INLET_LEFT = 1
    INLET_RIGHT = 2
    OUTLET = 3

    @property
    def key(self) -> str:
        """Lower-case name as written into files (``wall``, ``inlet_left`` ...)."""
        return self.name.lower()


@dataclasses.dataclass(frozen=True)
class SurfaceOptions:
    """Settings of :func:`extract_surface`.

    Examples
    --------
    >>> SurfaceOptions(target_triangles=None).sigma_voxels
    0.8
    """

    sigma_voxels: float = 0.8
    smoothing_iterations: int = 20
    pass_band: float = 0.1
    target_triangles: int | None = 100_000
    include_sinuses: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.sigma_voxels <= 3.0:
            raise ValidationError(f"sigma_voxels must lie between 0 and 3 voxels, got {self.sigma_voxels!r}")
        if not 0 <= self.smoothing_iterations <= 200 or not 0.0 < self.pass_band <= 2.0:
            raise ValidationError("smoothing_iterations must lie in 0..200 and pass_band in (0, 2]")
        if self.target_triangles is not None and self.target_triangles < 1000:
            raise ValidationError(f"target_triangles must be at least 1000 (or None), got {self.target_triangles!r}")


@dataclasses.dataclass(frozen=True, eq=False)
class AirwaySurface:
    """A closed airway surface in LPS millimetres with per-triangle ``face`` and ``region`` labels."""

    mesh: TriangleMesh
    face: np.ndarray
    region: np.ndarray
    options: SurfaceOptions

    @property
    def enclosed_volume_mm3(self) -> float:
        """Volume inside the surface."""
        return self.mesh.enclosed_volume_mm3

    def area_mm2(self, face: Face | None = None, region: int | None = None) -> float:
        """Area of the triangles of one face and/or one region (all when ``None``)."""
        keep = np.ones(len(self.face), dtype=bool)
        if face is not None:
            keep &= self.face == face
        if region is not None:
            keep &= self.region == region
        return float(self.mesh.cell_areas_mm2[keep].sum())

    def to_polydata(self) -> vtkPolyData:
        """``vtkPolyData`` with cell data ``face`` and ``region`` and field data naming the faces and units."""
        polydata = self.mesh.to_polydata()
        for name, values in (("face", self.face), ("region", self.region)):
            array = numpy_to_vtk(np.ascontiguousarray(values, dtype=np.uint8), deep=True)
            array.SetName(name)
            polydata.GetCellData().AddArray(array)
        polydata.GetCellData().SetActiveScalars("face")
        for name, text in (("face_names", [f.key for f in Face]), ("coordinate_system", ["LPS"]), ("units", ["mm"])):
            strings = vtkStringArray()
            strings.SetName(name)
            for value in text:
                strings.InsertNextValue(value)
            polydata.GetFieldData().AddArray(strings)
        return polydata


def _padded_field(mask: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed 0/1 field of the mask's bounding box with a background margin, and the box start (k, j, i)."""
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    pad = int(np.ceil(3 * sigma)) + 2
    start = np.array([s.start for s in box]) - pad
    field = np.pad(mask[box].astype(np.float32), pad)
    if sigma > 0:
        field = ndimage.gaussian_filter(field, sigma=sigma, mode="constant")
    return field, start


def contour_half(field: np.ndarray, spacing_ijk: Sequence[float] = (1.0, 1.0, 1.0)) -> vtkPolyData:
    """The 0.5 iso-surface (``vtkFlyingEdges3D``) of a ``[k, j, i]`` field; points in index units times spacing.

    Examples
    --------
    >>> field = np.zeros((4, 4, 4), dtype=np.float32); field[1:3, 1:3, 1:3] = 1.0
    >>> surface = contour_half(field)
    >>> surface.GetNumberOfPoints() > 0, surface.GetPointData().GetNumberOfArrays()
    (True, 0)
    """
    image = vtkImageData()
    nk, nj, ni = field.shape
    image.SetDimensions(ni, nj, nk)
    image.SetSpacing(*spacing_ijk)
    image.GetPointData().SetScalars(numpy_to_vtk(np.ascontiguousarray(field).ravel(), deep=True))
    contour = vtkFlyingEdges3D()
    contour.SetInputData(image)
    contour.SetValue(0, 0.5)
    contour.ComputeNormalsOff()
    contour.ComputeGradientsOff()
    contour.ComputeScalarsOff()
    contour.Update()
    result: vtkPolyData = contour.GetOutput()
    return result


def _iso_surface(field: np.ndarray, spacing_ijk: Sequence[float], options: SurfaceOptions) -> vtkPolyData:
    surface = contour_half(field, spacing_ijk)
    if options.smoothing_iterations:
        smoother = vtkWindowedSincPolyDataFilter()
        smoother.SetInputData(surface)
        smoother.SetNumberOfIterations(options.smoothing_iterations)
        smoother.SetPassBand(options.pass_band)
        smoother.BoundarySmoothingOff()
        smoother.FeatureEdgeSmoothingOff()
        smoother.NonManifoldSmoothingOn()
        smoother.NormalizeCoordinatesOn()
        smoother.Update()
        surface = smoother.GetOutput()
    return surface


def _decimate(surface: vtkPolyData, target: int | None) -> vtkPolyData:
    """``surface`` decimated to about ``target`` triangles, closed and manifold: quadric decimation, else the
    topology-preserving one, each at twice and four times the target if need be (a ragged label map's one-voxel
    pits and pinches can defeat both), else the surface as it is."""
    count = surface.GetNumberOfPolys()
    if target is None or count <= target:
        return surface
    for fewest in (target, 2 * target, 4 * target):
        if fewest >= count:
            break
        for decimated in (_quadric(surface, 1.0 - fewest / count), _preserving(surface, 1.0 - fewest / count)):
            check = mesh_from_polydata(decimated).check()
            if check.watertight and check.manifold:
                if fewest > target:
                    _LOG.info("decimation to %d triangles broke the surface's topology; kept %d", target, fewest)
                return decimated
            _LOG.info("a decimation to %d triangles broke the topology (%s)", fewest, check)
    _LOG.warning("no decimation kept the surface closed and manifold: it keeps all %d triangles", count)
    return surface


def _quadric(surface: vtkPolyData, reduction: float) -> vtkPolyData:
    quadric = vtkQuadricDecimation()
    quadric.SetInputData(surface)
    quadric.SetTargetReduction(reduction)
    quadric.VolumePreservationOn()
    quadric.Update()
    result: vtkPolyData = quadric.GetOutput()
    return result


def _preserving(surface: vtkPolyData, reduction: float) -> vtkPolyData:
    pro = vtkDecimatePro()
    pro.SetInputData(surface)
    pro.SetTargetReduction(reduction)
    pro.PreserveTopologyOn()
    pro.SplittingOff()
    pro.BoundaryVertexDeletionOff()
    pro.Update()
    preserved: vtkPolyData = pro.GetOutput()
    return preserved


def _faces(mesh: TriangleMesh, openings: Sequence[Opening], tolerance_mm: float) -> np.ndarray:
    faces = np.full(len(mesh.triangles), Face.WALL, dtype=np.uint8)
    centres, normals = mesh.centroids, mesh.cell_normals
    names = {"inlet_left": Face.INLET_LEFT, "inlet_right": Face.INLET_RIGHT, "outlet": Face.OUTLET}
    for opening in openings:
        if opening.name not in names:
            raise ValidationError(f"unknown opening {opening.name!r}; expected one of {sorted(names)}")
        offset = centres - np.asarray(opening.plane.point_mm)
        normal = np.asarray(opening.plane.normal)
        across = offset @ normal
        within = np.linalg.norm(offset - np.outer(across, normal), axis=1)
        on = (np.abs(across) <= tolerance_mm) & (within <= opening.radius_mm + tolerance_mm) & (normals @ normal >= 0.5)
        faces[on & (faces == Face.WALL)] = names[opening.name]
    return faces


def _regions(mesh: TriangleMesh, labels: LabelMap, step_mm: float) -> np.ndarray:
    geometry = labels.geometry
    upper = np.asarray(geometry.shape) - 1
    found = np.zeros(len(mesh.triangles), dtype=np.uint8)
    for depth in (0.5, 1.0, 0.0, 1.5):
        points = mesh.centroids - depth * step_mm * mesh.cell_normals
        index = np.clip(np.rint(geometry.physical_to_index(points)[:, ::-1]).astype(int), 0, upper)
        values = labels.labels[tuple(index.T)]
        fill = (found == 0) & (values > 0)
        found[fill] = values[fill]
    return found


def extract_surface(labels: LabelMap, openings: Sequence[Opening], options: SurfaceOptions | None = None, *,
                    progress: ProgressCallback | None = None) -> AirwaySurface:
    """The closed, face-labelled airway surface of a label map; see the module notes.

    Parameters
    ----------
    labels
        Airway labels (:class:`~rhinoapp.core.volume.AirwayLabel`).
    openings
        The inlets and the outlet (names ``inlet_left``, ``inlet_right``, ``outlet``).
    options
        :class:`SurfaceOptions`; defaults when ``None``.
    progress
        Called with a :class:`~rhinoapp.core.progress.ProgressReport` (fraction done, stage).

    Examples
    --------
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> zz, yy, xx = np.ogrid[:24, :24, :24]
    >>> ball = ((zz - 12) ** 2 + (yy - 12) ** 2 + (xx - 12) ** 2 <= 64).astype(np.uint8)
    >>> surface = extract_surface(LabelMap(ball, ImageGeometry(ball.shape)), [])
    >>> check = surface.mesh.check(); check.watertight and check.manifold
    True
    >>> bool(abs(surface.enclosed_volume_mm3 / ball.sum() - 1) < 0.05)
    True
    """
    options = options if options is not None else SurfaceOptions()
    geometry = labels.geometry
    highest = AirwayLabel.SINUS if options.include_sinuses else AirwayLabel.NASOPHARYNX
    mask = (labels.labels > 0) & (labels.labels <= highest)
    if not mask.any():
        raise SurfaceError("the label map holds no airway voxel; segment the airway first")
    if progress:
        progress(ProgressReport(0.0, stage="smoothing the airway field"))
    field, start = _padded_field(mask, options.sigma_voxels)
    if progress:
        progress(ProgressReport(0.2, stage="extracting and smoothing the iso-surface"))
    spacing = np.asarray(geometry.spacing_mm)
    surface = _iso_surface(field, geometry.spacing_mm, options)
    del field
    if progress:
        progress(ProgressReport(0.6, stage="decimating"))
    surface = _decimate(surface, options.target_triangles)
    mesh = mesh_from_polydata(surface)
    if not len(mesh.triangles):
        raise SurfaceError("the iso-surface is empty: the airway is thinner than the smoothing; lower sigma_voxels")
    shift = spacing * start[::-1]  # index-space millimetres of the padded box origin, (i, j, k)
    lps = (mesh.points + shift) @ geometry.direction_matrix.T + np.asarray(geometry.origin_mm)
    mesh = TriangleMesh(lps, mesh.triangles)
    if mesh.enclosed_volume_mm3 < 0:
        mesh = mesh.flipped()
    check = mesh.check()
    if not (check.watertight and check.manifold):
        raise SurfaceError(f"the airway surface is not a closed manifold ({check}); try a larger sigma_voxels")
    if progress:
        progress(ProgressReport(0.9, stage="labelling inlets, outlet and walls"))
    faces = _faces(mesh, openings, float(spacing.max()))
    regions = _regions(mesh, labels, float(spacing.min()))
    _LOG.debug("surface: %d triangles, %s", len(mesh.triangles), check)
    if progress:
        progress(ProgressReport(1.0, stage="surface done"))
    return AirwaySurface(mesh, faces, regions, options)
