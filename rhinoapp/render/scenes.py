"""Scene builders: data in, VTK actors out. Pure functions; nothing here opens a window.

* :func:`surface_actor`: the airway coloured by face, pressure or wall shear stress (with
  :func:`scalar_bar` for units); quantities span a robust colour range (2nd to 98th percentile, or the
  range the scene sets) in exact perceptually uniform maps (:mod:`rhinoapp.render.colours`), and the
  clipped extremes get their own colours and swatches on the bar;
* :func:`decimated`: the level-of-detail mesh shown while the user interacts;
* :func:`slice_actors`: three orthogonal CT slices (textured quads, any orientation);
* :func:`streamline_actor`: velocity streamlines seeded at the nostrils.

Camera presets, direction labels and the clip plane are in :mod:`rhinoapp.render.orientation`.

Coordinates are LPS millimetres: +x patient left, +y posterior, +z superior.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkDataObject, vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkMassProperties, vtkPolyDataNormals, vtkQuadricClustering
from vtkmodules.vtkFiltersFlowPaths import vtkStreamTracer
from vtkmodules.vtkFiltersGeometry import vtkGeometryFilter
from vtkmodules.vtkFiltersSources import vtkPlaneSource
from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkPolyDataMapper,
    vtkTexture,
)

from rhinoapp.core.volume import CTVolume
from rhinoapp.render.colours import ABOVE_COLOUR, BELOW_COLOUR, ColourMap, ColourRange, colour_table, robust_range
from rhinoapp.render.spec import Colouring

__all__ = [
    "FACE_COLOURS", "FieldArray", "array_values", "decimated", "find_array", "lookup_table", "scalar_bar", "scale_text",
    "slice_actors", "streamline_actor", "surface_actor", "with_normals",
]

MUCOSA = (0.93, 0.64, 0.60)
FACE_COLOURS = (MUCOSA, (0.27, 0.55, 0.95), (0.30, 0.78, 0.42), (0.96, 0.80, 0.26))  # wall, left, right, outlet
_FIELDS = {
    Colouring.PRESSURE: (("pressure_pa", "pressure", "p", "static_pressure"), "Pressure\n(Pa)", ColourMap.CIVIDIS),
    Colouring.WALL_SHEAR_STRESS: (("wss_pa", "wss", "wall_shear_stress", "wallshearstress"), "Wall shear\nstress (Pa)",
                                  ColourMap.VIRIDIS),
}
_VELOCITY = ("velocity_m_s", "velocity", "u", "v")


@dataclasses.dataclass(frozen=True)
class FieldArray:
    """A data array found on a dataset: its name, whether on points, and its range."""

    name: str
    on_points: bool
    range: tuple[float, float]


def find_array(data: vtkDataObject, aliases: tuple[str, ...]) -> FieldArray | None:
    """The first point or cell array whose name matches one of ``aliases`` (case-insensitive).

    Examples
    --------
    >>> from rhinoapp.render.synthetic import airway_surface
    >>> found = find_array(airway_surface(1000), ("Pressure",))
    >>> found.name, found.on_points, found.range[0] < found.range[1]
    ('pressure', True, True)
    """
    for on_points, attributes in ((True, data.GetPointData()), (False, data.GetCellData())):
        names = {attributes.GetArrayName(i).lower(): attributes.GetArrayName(i)
                 for i in range(attributes.GetNumberOfArrays()) if attributes.GetArrayName(i)}
        for alias in aliases:
            if alias.lower() in names:
                array = attributes.GetArray(names[alias.lower()])
                low, high = array.GetRange(-1 if array.GetNumberOfComponents() > 1 else 0)
                return FieldArray(names[alias.lower()], on_points, (float(low), float(high) if high > low else float(low) + 1.0))
    return None


def array_values(data: vtkDataObject, found: FieldArray) -> np.ndarray:
    """The values of a found array (the magnitude of a vector array), for its colour range.

    Examples
    --------
    >>> from rhinoapp.render.synthetic import airway_surface
    >>> surface = airway_surface(1000)
    >>> array_values(surface, find_array(surface, ("pressure",))).ndim
    1
    """
    attributes = data.GetPointData() if found.on_points else data.GetCellData()
    values = vtk_to_numpy(attributes.GetArray(found.name)).astype(float)
    return np.linalg.norm(values, axis=1) if values.ndim == 2 else values


def lookup_table(colour_map: ColourMap, colour_range: ColourRange) -> vtkLookupTable:
    """The exact 256-colour table of ``colour_map`` over ``colour_range``; values below and above the range
    get :data:`~rhinoapp.render.colours.BELOW_COLOUR` and :data:`~rhinoapp.render.colours.ABOVE_COLOUR`.

    Examples
    --------
    >>> table = lookup_table(ColourMap.VIRIDIS, ColourRange(0.0, 10.0, -5.0, 500.0))
    >>> table.GetRange(), table.GetUseAboveRangeColor(), table.GetAboveRangeColor()
    ((0.0, 10.0), 1, (1.0, 1.0, 1.0, 1.0))
    """
    table = vtkLookupTable()
    colours = colour_table(colour_map)
    table.SetNumberOfTableValues(len(colours))
    for i, rgb in enumerate(colours):
        table.SetTableValue(i, *(float(v) for v in rgb), 1.0)
    table.SetRange(colour_range.low, colour_range.high)
    table.SetBelowRangeColor(*BELOW_COLOUR, 1.0)
    table.SetAboveRangeColor(*ABOVE_COLOUR, 1.0)
    table.SetUseBelowRangeColor(colour_range.clipped_below)
    table.SetUseAboveRangeColor(colour_range.clipped_above)
    return table


def scalar_bar(table: vtkLookupTable, title: str, *, colour_range: ColourRange | None = None,
               slot: int = 0) -> vtkScalarBarActor:
    """A vertical colour bar on the right edge, with the quantity and its unit as title.

    A ``colour_range`` that clips the field adds swatches in the colours of the values below and above
    it (grey and white; the page says where the colours were clipped: ``ColourRange.note``). ``slot`` 1 places a second bar left of the first (one bar per quantity).
    Its font sizes follow the picture's height: see :func:`scale_text`.

    Examples
    --------
    >>> bar = scalar_bar(lookup_table(ColourMap.MAGMA, ColourRange(0.0, 2.0, 0.0, 9.0)), "Speed (m/s)",
    ...                  colour_range=ColourRange(0.0, 2.0, 0.0, 9.0))
    >>> bar.GetDrawAboveRangeSwatch(), bar.GetAboveRangeAnnotation(), bar.GetDrawBelowRangeSwatch()
    (True, 'above', False)
    """
    bar = vtkScalarBarActor()
    bar.SetLookupTable(table)
    bar.SetTitle(title)
    bar.SetNumberOfLabels(5)
    bar.SetLabelFormat("%.3g")
    bar.SetPosition(0.78 - 0.17 * slot, 0.1)
    bar.SetWidth(0.2 if slot == 0 else 0.17)
    bar.SetHeight(0.8)
    bar.SetBarRatio(0.22)
    bar.UnconstrainedFontSizeOn()
    if colour_range is not None:
        bar.SetDrawBelowRangeSwatch(colour_range.clipped_below)
        bar.SetDrawAboveRangeSwatch(colour_range.clipped_above)
        bar.SetBelowRangeAnnotation("below")
        bar.SetAboveRangeAnnotation("above")
    for prop, size in ((bar.GetTitleTextProperty(), 13), (bar.GetLabelTextProperty(), 12),
                       (bar.GetAnnotationTextProperty(), 11)):
        prop.SetColor(0.95, 0.95, 0.95)
        prop.SetFontSize(size)
        prop.ShadowOff()
        prop.ItalicOff()
    return bar


def scale_text(bar: vtkScalarBarActor, height: int) -> None:
    """Font sizes of a colour bar for a picture ``height`` pixels high (readable, never crowded)."""
    bar.GetTitleTextProperty().SetFontSize(int(min(max(height / 36, 8), 15)))
    bar.GetLabelTextProperty().SetFontSize(int(min(max(height / 40, 7), 13)))
    bar.GetAnnotationTextProperty().SetFontSize(int(min(max(height / 44, 7), 12)))


def decimated(surface: vtkPolyData, triangles: int) -> vtkPolyData:
    """``surface`` reduced to about ``triangles`` triangles (quadric clustering; keeps data arrays).

    Returns ``surface`` itself when it is already small enough.

    Examples
    --------
    >>> from rhinoapp.render.synthetic import airway_surface
    >>> full = airway_surface(60_000)
    >>> small = decimated(full, 10_000)
    >>> 4_000 < small.GetNumberOfCells() < 16_000, small.GetCellData().GetArray("face") is not None
    (True, True)
    """
    if surface.GetNumberOfCells() <= triangles:
        return surface
    mass = vtkMassProperties()
    mass.SetInputData(surface)
    spacing = math.sqrt(2.4 * mass.GetSurfaceArea() / triangles)
    bounds = surface.GetBounds()
    clustering = vtkQuadricClustering()
    clustering.SetInputData(surface)
    clustering.AutoAdjustNumberOfDivisionsOff()
    clustering.SetNumberOfDivisions(*(max(2, int((bounds[2 * d + 1] - bounds[2 * d]) / spacing) + 1) for d in range(3)))
    clustering.CopyCellDataOn()
    clustering.UseInputPointsOn()
    clustering.Update()
    return clustering.GetOutput()


def with_normals(surface: vtkPolyData) -> vtkPolyData:
    """``surface`` with smooth point normals (for shading), unless it has them already."""
    if surface.GetPointData().GetNormals() is not None:
        return surface
    normals = vtkPolyDataNormals()
    normals.SetInputData(surface)
    normals.SplittingOff()
    normals.ConsistencyOn()
    normals.ComputeCellNormalsOff()
    normals.Update()
    return normals.GetOutput()


def surface_actor(surface: vtkPolyData, colouring: Colouring, *, opacity: float = 1.0,
                  colour_range: tuple[float, float] | None = None) -> tuple[vtkActor, vtkScalarBarActor | None]:
    """The airway surface coloured as asked, and a scalar bar when the colour is a quantity.

    A quantity spans ``colour_range`` when given, else the 2nd to 98th percentile of its values
    (:func:`~rhinoapp.render.colours.robust_range`).

    Faces need a cell or point array ``face`` (0 wall, 1 left nostril, 2 right nostril, 3 outlet);
    quantities are point or cell arrays ``pressure_pa``/``pressure`` and ``wss_pa``/``wss`` (Pa).
    Without them the surface is plain mucosa pink and no bar is returned.

    Examples
    --------
    >>> from rhinoapp.render.synthetic import airway_surface
    >>> actor, bar = surface_actor(airway_surface(1000), Colouring.PRESSURE)
    >>> bar.GetTitle()
    'Pressure\\n(Pa)'
    """
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(with_normals(surface))
    mapper.ScalarVisibilityOff()
    bar = None
    faces = find_array(surface, ("face",)) if colouring is Colouring.FACES else None
    if faces is not None:  # cell data (geometry) or point data (simulation surface)
        table = vtkLookupTable()
        table.SetNumberOfTableValues(len(FACE_COLOURS))
        for i, rgb in enumerate(FACE_COLOURS):
            table.SetTableValue(i, *rgb, 1.0)
        table.SetRange(0, len(FACE_COLOURS) - 1)
        _colour_by(mapper, FieldArray(faces.name, faces.on_points, (0.0, 3.0)), table)
        mapper.InterpolateScalarsBeforeMappingOn()  # no blended colours between faces
    elif colouring in _FIELDS and (found := find_array(surface, _FIELDS[colouring][0])) is not None:
        aliases, title, cmap = _FIELDS[colouring]
        span = robust_range(array_values(surface, found), fixed=colour_range)
        table = lookup_table(cmap, span)
        _colour_by(mapper, found, table)
        bar = scalar_bar(table, title, colour_range=span)
    actor = vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(*MUCOSA)
    prop.SetOpacity(opacity)
    prop.SetAmbient(0.15)
    prop.SetDiffuse(0.85)
    prop.SetSpecular(0.25)
    prop.SetSpecularPower(20)
    return actor, bar


def _colour_by(mapper: vtkPolyDataMapper, found: FieldArray, table: vtkLookupTable) -> None:
    mapper.ScalarVisibilityOn()
    mapper.SetColorModeToMapScalars()  # uint8 labels are values, not colours
    if found.on_points:
        mapper.SetScalarModeToUsePointFieldData()
    else:
        mapper.SetScalarModeToUseCellFieldData()
    mapper.SelectColorArray(found.name)
    mapper.SetLookupTable(table)
    mapper.UseLookupTableScalarRangeOn()


def slice_actors(volume: CTVolume, *, through_mm: tuple[float, float, float] | None = None,
                 window: float = 2000.0, level: float = -200.0) -> list[vtkActor]:
    """Three orthogonal CT slices (along ``k``, ``j`` and ``i``) through a point (default: centre).

    Each slice is a textured quad placed with the volume's LPS geometry, so oblique volumes show
    where they are. ``window``/``level`` in HU (default suits air and bone).

    Examples
    --------
    >>> from rhinoapp.render.synthetic import ct_volume
    >>> len(slice_actors(ct_volume(spacing_mm=6.0)))
    3
    """
    geometry = volume.geometry
    nk, nj, ni = geometry.shape
    centre = np.array([(ni - 1) / 2, (nj - 1) / 2, (nk - 1) / 2]) if through_mm is None else \
        np.clip(np.round(geometry.physical_to_index(through_mm)), 0, [ni - 1, nj - 1, nk - 1])
    i0, j0, k0 = (int(round(v)) for v in centre)
    grey = np.clip((volume.hu.astype(np.float32) - (level - window / 2)) / window, 0, 1)
    slices = (  # (2D image [rows, columns], origin, end of columns, end of rows) in (i, j, k) indices
        (grey[k0, :, :], (0, 0, k0), (ni - 1, 0, k0), (0, nj - 1, k0)),
        (grey[:, j0, :], (0, j0, 0), (ni - 1, j0, 0), (0, j0, nk - 1)),
        (grey[:, :, i0], (i0, 0, 0), (i0, nj - 1, 0), (i0, 0, nk - 1)),
    )
    actors = []
    for image, origin, point1, point2 in slices:
        plane = vtkPlaneSource()
        plane.SetOrigin(*geometry.index_to_physical(origin))
        plane.SetPoint1(*geometry.index_to_physical(point1))
        plane.SetPoint2(*geometry.index_to_physical(point2))
        texture_image = vtkImageData()
        texture_image.SetDimensions(image.shape[1], image.shape[0], 1)
        pixels = numpy_to_vtk(np.ascontiguousarray((image * 255).astype(np.uint8)).ravel(), deep=True)
        texture_image.GetPointData().SetScalars(pixels)
        texture = vtkTexture()
        texture.SetInputData(texture_image)
        texture.InterpolateOn()
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(plane.GetOutputPort())
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.SetTexture(texture)
        actor.GetProperty().LightingOff()
        actors.append(actor)
    return actors


def _nostril_seeds(surface: vtkPolyData, per_nostril: int) -> vtkPolyData:
    found = find_array(surface, ("face",))
    if found is None:
        return vtkPolyData()
    points = vtk_to_numpy(surface.GetPoints().GetData()).astype(float)
    if found.on_points:  # e.g. the simulation's surface.vtp
        face = vtk_to_numpy(surface.GetPointData().GetArray(found.name))
        places = points
    else:  # the geometry's airway.vtp: one label per triangle
        face = vtk_to_numpy(surface.GetCellData().GetArray(found.name))
        places = points[vtk_to_numpy(surface.GetPolys().GetConnectivityArray()).reshape(-1, 3)].mean(axis=1)
    seeds = []
    for code in (1, 2):
        centres = places[np.round(face) == code]
        if len(centres) == 0:
            continue
        middle = centres.mean(axis=0)
        rings = np.concatenate([middle + f * (centres - middle) for f in (0.25, 0.7, 1.15)])
        step = max(1, len(rings) // per_nostril)
        seeds.append(rings[::step][:per_nostril])
    vpoints = vtkPoints()
    if seeds:
        vpoints.SetData(numpy_to_vtk(np.vstack(seeds), deep=True))
    poly = vtkPolyData()
    poly.SetPoints(vpoints)
    return poly


def streamline_actor(flow: vtkImageData, surface: vtkPolyData, *, per_nostril: int = 60,
                     colour_range: tuple[float, float] | None = None, slot: int = 0
                     ) -> tuple[vtkActor, vtkScalarBarActor]:
    """Streamlines of the velocity field seeded at the nostrils, coloured by speed (m/s).

    The speed spans ``colour_range`` when given, else the 2nd to 98th percentile along the lines;
    ``slot`` places its bar (see :func:`scalar_bar`).

    The nostrils are the surface cells (or points) with ``face`` 1 (left) and 2 (right); the
    velocity is the point array ``velocity_m_s`` or ``velocity``.

    Examples
    --------
    >>> from rhinoapp.render.synthetic import airway_surface, flow_field
    >>> actor, bar = streamline_actor(flow_field(spacing_mm=4.0), airway_surface(2000), per_nostril=8)
    >>> actor.GetMapper().GetInput().GetNumberOfLines() > 0, bar.GetTitle()
    (True, 'Velocity\\n(m/s)')
    """
    found = find_array(flow, _VELOCITY)
    if found is None:
        from rhinoapp.render.offscreen import RenderError

        raise RenderError("the flow field has no 'velocity' array: check the simulation's fields.vti")
    flow.GetPointData().SetActiveVectors(found.name)
    tracer = vtkStreamTracer()
    tracer.SetInputData(flow)
    tracer.SetSourceData(_nostril_seeds(surface, per_nostril))
    tracer.SetIntegratorTypeToRungeKutta45()
    tracer.SetIntegrationDirectionToForward()
    tracer.SetMaximumPropagation(400.0)
    tracer.SetInitialIntegrationStep(0.3)
    tracer.SetMaximumNumberOfSteps(4000)
    tracer.SetTerminalSpeed(1e-3)
    tracer.Update()
    lines = vtkGeometryFilter()
    lines.SetInputData(tracer.GetOutput())
    lines.Update()
    traced = lines.GetOutput()
    along = FieldArray(found.name, True, found.range)
    speeds = array_values(traced, along) if traced.GetPointData().GetArray(found.name) is not None else np.zeros(0)
    span = robust_range(speeds if speeds.size else np.asarray(found.range), fixed=colour_range)
    table = lookup_table(ColourMap.MAGMA, span)
    table.SetVectorModeToMagnitude()
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(traced)
    _colour_by(mapper, along, table)
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetLineWidth(2.0)
    actor.GetProperty().LightingOff()
    return actor, scalar_bar(table, "Velocity\n(m/s)", colour_range=span, slot=slot)
