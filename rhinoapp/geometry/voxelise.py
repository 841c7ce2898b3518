"""Airway surfaces made elsewhere (STL, VTP): reading, the closedness check and filling them onto a CT grid.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> from vtkmodules.vtkFiltersSources import vtkCubeSource
>>> cube = vtkCubeSource(); cube.SetBounds(1.5, 5.5, 1.5, 3.5, 0.5, 2.5); _ = cube.Update()
>>> surface = closed_surface(cube.GetOutput())
>>> int(voxelise(surface, ImageGeometry((4, 8, 8))).sum())  # 4 x 2 x 2 voxel centres inside
16
"""

from __future__ import annotations

import enum

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkFiltersCore import vtkCleanPolyData, vtkFeatureEdges, vtkTriangleFilter
from vtkmodules.vtkImagingStencil import vtkImageStencilToImage, vtkPolyDataToImageStencil

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.volume import ImageGeometry

__all__ = ["SurfaceFormat", "SurfaceImportError", "closed_surface", "read_surface", "voxelise"]


class SurfaceImportError(RhinoappError, ValueError):
    """An imported airway surface cannot be used; the message says why and what to do."""


class SurfaceFormat(enum.Enum):
    """Surface file formats rhinoapp imports."""

    STL = "stl"
    VTP = "vtp"


def read_surface(path: str, kind: SurfaceFormat) -> vtkPolyData:
    """The poly data of an STL or VTP file (the caller has checked its size)."""
    if kind is SurfaceFormat.STL:
        from vtkmodules.vtkIOGeometry import vtkSTLReader

        reader = vtkSTLReader()
    else:
        from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

        reader = vtkXMLPolyDataReader()  # type: ignore[assignment]
    reader.SetFileName(str(path))
    reader.Update()
    output: vtkPolyData = reader.GetOutput()
    if output is None or output.GetNumberOfCells() == 0:
        raise SurfaceImportError(f"the {kind.value.upper()} file holds no triangles (it is damaged or not a surface); "
                                 "export the airway surface again")
    return output


def closed_surface(surface: vtkPolyData) -> vtkPolyData:
    """``surface`` as clean triangles, refused unless closed (no boundary or non-manifold edge)."""
    triangles = vtkTriangleFilter()
    triangles.SetInputData(surface)
    clean = vtkCleanPolyData()
    clean.SetInputConnection(triangles.GetOutputPort())
    clean.Update()
    result: vtkPolyData = clean.GetOutput()
    if result.GetNumberOfPolys() == 0:
        raise SurfaceImportError("the surface holds no triangles; export the airway as a triangle surface")
    edges = vtkFeatureEdges()
    edges.SetInputData(result)
    edges.BoundaryEdgesOn()
    edges.NonManifoldEdgesOn()
    edges.FeatureEdgesOff()
    edges.ManifoldEdgesOff()
    edges.Update()
    open_edges = edges.GetOutput().GetNumberOfCells()
    if open_edges:
        raise SurfaceImportError(
            f"the surface is not closed ({open_edges} open or non-manifold edges), so its inside is undefined; close "
            "the holes (e.g. at the nostrils and the outlet) in the tool that made it and export it again")
    return result


def voxelise(surface: vtkPolyData, geometry: ImageGeometry) -> np.ndarray:
    """The voxels of ``geometry`` whose centres lie inside the closed ``surface`` (LPS mm), as a bool array.

    The surface is taken into the grid's own axes first, so any orientation of the grid works.
    """
    points = vtk_to_numpy(surface.GetPoints().GetData()).astype(float)
    local = (points - np.asarray(geometry.origin_mm)) @ geometry.direction_matrix  # i, j, k in millimetres
    moved = vtkPolyData()
    moved.ShallowCopy(surface)
    vtk_points = vtkPoints()
    vtk_points.SetData(numpy_to_vtk(np.ascontiguousarray(local), deep=True))
    moved.SetPoints(vtk_points)
    nk, nj, ni = geometry.shape
    stencil = vtkPolyDataToImageStencil()
    stencil.SetInputData(moved)
    stencil.SetOutputOrigin(0.0, 0.0, 0.0)
    stencil.SetOutputSpacing(*geometry.spacing_mm)
    stencil.SetOutputWholeExtent(0, ni - 1, 0, nj - 1, 0, nk - 1)
    image = vtkImageStencilToImage()
    image.SetInputConnection(stencil.GetOutputPort())
    image.SetInsideValue(1)
    image.SetOutsideValue(0)
    image.SetOutputScalarTypeToUnsignedChar()
    image.Update()
    values = vtk_to_numpy(image.GetOutput().GetPointData().GetScalars())
    result: np.ndarray = values.reshape(nk, nj, ni).astype(bool)
    return result
