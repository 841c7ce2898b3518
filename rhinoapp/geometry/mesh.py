"""Triangle meshes as NumPy arrays: checks (watertight, manifold, oriented), area, volume, VTK exchange.

Examples
--------
>>> points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
>>> tetra = TriangleMesh(points, np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]))
>>> tetra.check()
MeshCheck(boundary_edges=0, non_manifold_edges=0, inconsistent_edges=0, components=1)
>>> round(tetra.enclosed_volume_mm3, 6)
0.166667
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

__all__ = ["MeshCheck", "TriangleMesh", "mesh_from_polydata"]


@dataclasses.dataclass(frozen=True)
class MeshCheck:
    """Edge statistics of a triangle mesh.

    A closed (watertight) surface has no boundary edge (used by one triangle); a manifold one no
    edge shared by more than two triangles; a consistently oriented one uses every edge once in
    each direction.
    """

    boundary_edges: int
    non_manifold_edges: int
    inconsistent_edges: int
    components: int

    @property
    def watertight(self) -> bool:
        """No boundary edges."""
        return self.boundary_edges == 0

    @property
    def manifold(self) -> bool:
        """Every edge shared by exactly two triangles, used once in each direction."""
        return self.non_manifold_edges == 0 and self.inconsistent_edges == 0


@dataclasses.dataclass(frozen=True, eq=False)
class TriangleMesh:
    """Points (n, 3) in LPS millimetres and triangles (m, 3) of point indices."""

    points: np.ndarray
    triangles: np.ndarray

    @property
    def cell_vectors(self) -> np.ndarray:
        """Cross products (m, 3) of each triangle's edges: direction = normal, length = 2 x area."""
        a, b, c = (self.points[self.triangles[:, n]] for n in range(3))
        return np.cross(b - a, c - a)

    @property
    def centroids(self) -> np.ndarray:
        """Centre (m, 3) of each triangle."""
        result: np.ndarray = self.points[self.triangles].mean(axis=1)
        return result

    @property
    def cell_areas_mm2(self) -> np.ndarray:
        """Area of each triangle."""
        result: np.ndarray = 0.5 * np.linalg.norm(self.cell_vectors, axis=1)
        return result

    @property
    def cell_normals(self) -> np.ndarray:
        """Unit normal of each triangle (right-hand rule)."""
        vectors = self.cell_vectors
        result: np.ndarray = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return result

    @property
    def area_mm2(self) -> float:
        """Total area."""
        return float(self.cell_areas_mm2.sum())

    @property
    def enclosed_volume_mm3(self) -> float:
        """Signed enclosed volume (divergence theorem); positive when the normals point outwards."""
        a, b, c = (self.points[self.triangles[:, n]] for n in range(3))
        return float(np.einsum("ij,ij->", a, np.cross(b, c)) / 6.0)

    def flipped(self) -> TriangleMesh:
        """The same mesh with every triangle's orientation reversed."""
        return TriangleMesh(self.points, self.triangles[:, ::-1].copy())

    def check(self) -> MeshCheck:
        """Count boundary, non-manifold and inconsistently oriented edges, and connected components."""
        directed = np.concatenate([self.triangles[:, [0, 1]], self.triangles[:, [1, 2]], self.triangles[:, [2, 0]]])
        undirected = np.sort(directed, axis=1)
        n = len(self.points)
        _, counts = np.unique(undirected[:, 0] * n + undirected[:, 1], return_counts=True)
        _, directed_counts = np.unique(directed[:, 0] * n + directed[:, 1], return_counts=True)
        graph = sparse.coo_matrix((np.ones(len(undirected)), (undirected[:, 0], undirected[:, 1])), shape=(n, n))
        used = np.unique(self.triangles)
        count, labels = csgraph.connected_components(graph, directed=False)
        return MeshCheck(
            boundary_edges=int((counts == 1).sum()),
            non_manifold_edges=int((counts > 2).sum()),
            inconsistent_edges=int((directed_counts > 1).sum()),
            components=int(len(np.unique(labels[used]))) if count else 0,
        )

    def to_polydata(self) -> vtkPolyData:
        """A ``vtkPolyData`` with these points and triangles (no attributes)."""
        points = vtkPoints()
        points.SetData(numpy_to_vtk(np.ascontiguousarray(self.points, dtype=np.float64), deep=True))
        cells = vtkCellArray()
        offsets = np.arange(0, 3 * len(self.triangles) + 1, 3, dtype=np.int64)
        connectivity = np.ascontiguousarray(self.triangles, dtype=np.int64).ravel()
        cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True), numpy_to_vtkIdTypeArray(connectivity, deep=True))
        polydata = vtkPolyData()
        polydata.SetPoints(points)
        polydata.SetPolys(cells)
        return polydata


def mesh_from_polydata(polydata: vtkPolyData) -> TriangleMesh:
    """Points and triangles of a ``vtkPolyData`` made of triangles only.

    Examples
    --------
    >>> from vtkmodules.vtkFiltersSources import vtkSphereSource
    >>> sphere = vtkSphereSource()
    >>> _ = sphere.Update()
    >>> mesh = mesh_from_polydata(sphere.GetOutput())
    >>> mesh.triangles.shape[1], mesh.check().watertight
    (3, True)
    """
    points = vtk_to_numpy(polydata.GetPoints().GetData()).astype(np.float64)
    polys = polydata.GetPolys()
    offsets = vtk_to_numpy(polys.GetOffsetsArray())
    if len(offsets) > 1 and not np.all(np.diff(offsets) == 3):
        raise ValueError("the surface has cells other than triangles; triangulate it first")
    triangles = vtk_to_numpy(polys.GetConnectivityArray()).reshape(-1, 3).astype(np.int64)
    return TriangleMesh(points, triangles)
