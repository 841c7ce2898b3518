"""Read the files a :class:`~rhinoapp.render.spec.SceneSpec` names (or build the synthetic airway)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkTriangleFilter
from vtkmodules.vtkIOGeometry import vtkSTLReader
from vtkmodules.vtkIOLegacy import vtkPolyDataReader
from vtkmodules.vtkIOPLY import vtkPLYReader
from vtkmodules.vtkIOXML import vtkXMLImageDataReader, vtkXMLPolyDataReader

from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.render import synthetic
from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.spec import SceneSpec

__all__ = ["SceneData", "ct_from_image", "load_scene_data", "read_surface", "read_volume"]

_SURFACE_READERS = {".vtp": vtkXMLPolyDataReader, ".vtk": vtkPolyDataReader, ".stl": vtkSTLReader, ".ply": vtkPLYReader}


@dataclasses.dataclass(frozen=True, eq=False)
class SceneData:
    """The data of one scene: surface, optional CT and optional flow field."""

    surface: vtkPolyData
    volume: CTVolume | None = None
    flow: vtkImageData | None = None


def _existing(path: str, what: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise RenderError(f"the {what} file {file} does not exist: run the step that makes it, or choose another file")
    return file


def read_surface(path: str) -> vtkPolyData:
    """A triangle surface from ``.vtp``, ``.vtk``, ``.stl`` or ``.ply``."""
    file = _existing(path, "surface")
    reader_class = _SURFACE_READERS.get(file.suffix.lower())
    if reader_class is None:
        raise RenderError(f"cannot read a surface from {file.name}: use .vtp, .vtk, .stl or .ply")
    reader = reader_class()
    reader.SetFileName(str(file))
    triangles = vtkTriangleFilter()
    triangles.SetInputConnection(reader.GetOutputPort())
    triangles.PassLinesOff()
    triangles.PassVertsOff()
    triangles.Update()
    surface = triangles.GetOutput()
    if surface.GetNumberOfCells() == 0:
        raise RenderError(f"the surface file {file} holds no triangles: make the geometry again")
    return surface


def ct_from_image(image: vtkImageData, array: str | None = None) -> CTVolume:
    """A :class:`CTVolume` from VTK image data (its origin, spacing and direction are LPS).

    Examples
    --------
    >>> import numpy as np
    >>> from rhinoapp.render.synthetic import flow_field
    >>> from vtkmodules.util.numpy_support import numpy_to_vtk
    >>> image = flow_field(spacing_mm=8.0)
    >>> hu = numpy_to_vtk(np.zeros(image.GetNumberOfPoints(), dtype=np.int16)); hu.SetName("hu")
    >>> _ = image.GetPointData().AddArray(hu)
    >>> ct_from_image(image, "hu").geometry.spacing_mm
    (8.0, 8.0, 8.0)
    """
    data = image.GetPointData().GetArray(array) if array else image.GetPointData().GetScalars()
    if data is None:
        data = image.GetPointData().GetArray(0)
    if data is None or data.GetNumberOfComponents() != 1:
        raise RenderError("the CT image has no single-component array of HU values")
    ni, nj, nk = image.GetDimensions()
    matrix = image.GetDirectionMatrix()
    direction = tuple(matrix.GetElement(r, c) for r in range(3) for c in range(3))
    geometry = ImageGeometry((nk, nj, ni), image.GetSpacing(), image.GetOrigin(), direction)
    return CTVolume(vtk_to_numpy(data).reshape(nk, nj, ni), geometry)


def read_volume(path: str) -> CTVolume:
    """A CT volume from ``.vti`` (LPS), or NIfTI / NRRD through :mod:`rhinoapp.volumes`."""
    file = _existing(path, "CT volume")
    if file.suffix.lower() == ".vti":
        reader = vtkXMLImageDataReader()
        reader.SetFileName(str(file))
        reader.Update()
        return ct_from_image(reader.GetOutput())
    from rhinoapp import volumes

    if volumes.format_of(file) is None:
        raise RenderError(f"cannot read a CT volume from {file.name}: use .vti, .nii.gz or .nrrd")
    return volumes.read_volume(file)


def read_flow(path: str) -> vtkImageData:
    """A velocity field from ``.vti``."""
    file = _existing(path, "flow field")
    reader = vtkXMLImageDataReader()
    reader.SetFileName(str(file))
    reader.Update()
    return reader.GetOutput()


def load_scene_data(spec: SceneSpec) -> SceneData:
    """Everything ``spec`` needs, read from its files or built synthetically.

    Examples
    --------
    >>> from rhinoapp.render.spec import Synthetic
    >>> data = load_scene_data(SceneSpec(synthetic=Synthetic(2000)))
    >>> data.surface.GetNumberOfCells() > 1500, data.volume is None
    (True, True)
    """
    if spec.synthetic is not None:
        surface = synthetic.airway_surface(spec.synthetic.triangles)
        volume = synthetic.ct_volume() if spec.slices and spec.synthetic.with_ct else None
        flow = synthetic.flow_field() if spec.streamlines and spec.synthetic.with_flow else None
    else:
        surface = read_surface(spec.surface)  # type: ignore[arg-type]
        volume = read_volume(spec.volume) if spec.slices and spec.volume else None
        flow = read_flow(spec.flow) if spec.streamlines and spec.flow else None
    return SceneData(surface, volume, flow)
