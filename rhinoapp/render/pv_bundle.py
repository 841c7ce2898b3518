"""A scene as files for ParaView: the data a :class:`~rhinoapp.render.spec.SceneSpec` shows, ready to draw.

Both ParaView paths start here: the ``pvpython`` render worker (:mod:`rhinoapp.render.paraview_app`)
and the "download for ParaView" state (:mod:`rhinoapp.render.paraview_export`). The files are what
the VTK backend (:mod:`rhinoapp.render.pv_scenes`) draws from the same scene description, computed
with the same code (the robust colour ranges, the exact colour tables, the streamlines from the
nostrils), written as VTK XML so that ParaView's readers open them:

* ``wall.vtp``: the airway with normals and the array it is coloured by;
* ``slices.vtp``: three orthogonal CT planes with their values (``ct_hu``), where the scene has slices;
* ``streamlines.vtp``: streamlines with ``speed_m_s``, where the scene has them;
* ``scene.json``: what to draw and how (:data:`SCENE_FILE`), plain data that ``pvpython`` reads.

Run as ``python -m rhinoapp.render.pv_bundle FOLDER`` with the scene's JSON on stdin (the render
worker does this, so that its own Python, ParaView's, never loads this VTK).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from rhinoapp.render.spec import Colouring, SceneSpec

__all__ = ["SCENE_FILE", "scene_description", "write_bundle"]

_log = logging.getLogger(__name__)
#: The description the ParaView side reads (file names in it are relative to its folder).
SCENE_FILE = "scene.json"
_WINDOW, _LEVEL = 2000.0, -200.0  # the CT slices' grey window, as the VTK scenes draw them


def _write(data: Any, path: Path) -> str:
    """Write ``data`` as VTK XML (binary, compressed) to ``path`` atomically; returns the file's name."""
    from vtkmodules.vtkIOXML import vtkXMLImageDataWriter, vtkXMLPolyDataWriter

    writer = vtkXMLImageDataWriter() if path.suffix == ".vti" else vtkXMLPolyDataWriter()
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    writer.SetFileName(str(partial))
    writer.SetInputData(data)
    writer.SetDataModeToAppended()
    writer.SetCompressorTypeToZLib()
    if not writer.Write():
        raise OSError(f"could not write {path.name} in {path.parent}: check the free space")
    os.replace(partial, path)
    return path.name


def _slices(volume: Any, through_mm: tuple[float, float, float]) -> Any:
    """Three orthogonal CT planes through ``through_mm`` as one polygon mesh with the HU on its points."""
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkFiltersCore import vtkAppendPolyData
    from vtkmodules.vtkFiltersSources import vtkPlaneSource

    geometry = volume.geometry
    nk, nj, ni = geometry.shape
    i0, j0, k0 = (int(v) for v in np.clip(np.round(geometry.physical_to_index(through_mm)), 0, [ni - 1, nj - 1, nk - 1]))
    hu = volume.hu.astype(np.float32)
    planes = ((hu[k0, :, :], (0, 0, k0), (ni - 1, 0, k0), (0, nj - 1, k0)),
              (hu[:, j0, :], (0, j0, 0), (ni - 1, j0, 0), (0, j0, nk - 1)),
              (hu[:, :, i0], (i0, 0, 0), (i0, nj - 1, 0), (i0, 0, nk - 1)))
    append = vtkAppendPolyData()
    for image, origin, point1, point2 in planes:
        plane = vtkPlaneSource()  # points run along point1 first: the image's columns, then its rows
        plane.SetOrigin(*geometry.index_to_physical(origin))
        plane.SetPoint1(*geometry.index_to_physical(point1))
        plane.SetPoint2(*geometry.index_to_physical(point2))
        plane.SetResolution(image.shape[1] - 1, image.shape[0] - 1)
        plane.Update()
        mesh = plane.GetOutput()
        values = numpy_to_vtk(np.ascontiguousarray(image).ravel(), deep=True)
        values.SetName("ct_hu")
        mesh.GetPointData().AddArray(values)
        append.AddInputData(mesh)
    append.Update()
    return append.GetOutput()


def _quantity(span: Any, colour_map: Any, title: str, array: str, association: str) -> dict[str, Any]:
    from rhinoapp.render.colours import ABOVE_COLOUR, BELOW_COLOUR, colour_table

    return {"array": array, "association": association, "title": title, "range": [span.low, span.high],
            "table": [[round(float(c), 5) for c in row] for row in colour_table(colour_map)],
            "below": list(BELOW_COLOUR) if span.clipped_below else None,
            "above": list(ABOVE_COLOUR) if span.clipped_above else None}


def scene_description(spec: SceneSpec, folder: Path, data: Any = None) -> dict[str, Any]:
    """Write ``spec``'s data files into ``folder``; returns the description (also ``folder/scene.json``).

    ``data`` is the scene's :class:`~rhinoapp.render.loaders.SceneData` (read from the spec's
    files when omitted).

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.render.spec import Synthetic
    >>> folder = Path(tempfile.mkdtemp())
    >>> scene = scene_description(SceneSpec(synthetic=Synthetic(2000), colouring=Colouring.PRESSURE), folder)
    >>> scene["surface"], scene["wall"]["title"], len(scene["wall"]["table"])
    ('wall.vtp', 'Pressure (Pa)', 256)
    >>> sorted(p.name for p in folder.iterdir())
    ['scene.json', 'wall.vtp']
    """
    import pyvista as pv

    from rhinoapp.render import pv_scenes, scenes
    from rhinoapp.render.colours import ColourMap, robust_range
    from rhinoapp.render.loaders import load_scene_data

    folder.mkdir(parents=True, exist_ok=True)
    data = load_scene_data(spec) if data is None else data
    surface = pv.wrap(scenes.with_normals(data.surface))
    keep: list[str] = ["Normals"]
    wall: dict[str, Any] | None = None
    faces = scenes.find_array(surface, ("face",)) if spec.colouring is Colouring.FACES else None
    if faces is not None:
        keep.append(faces.name)
        wall = {"array": faces.name, "association": "POINTS" if faces.on_points else "CELLS", "faces":
                [list(c) for c in scenes.FACE_COLOURS]}
    elif spec.colouring in pv_scenes.FIELD_TITLES:
        found = scenes.find_array(surface, pv_scenes.ALIASES[spec.colouring])
        if found is not None:
            keep.append(found.name)
            colour_map, title = pv_scenes.FIELD_TITLES[spec.colouring]
            span = robust_range(scenes.array_values(surface, found), fixed=spec.colour_range)
            wall = _quantity(span, colour_map, title, found.name, "POINTS" if found.on_points else "CELLS")
    for arrays in (surface.point_data, surface.cell_data):
        for name in [n for n in arrays.keys() if n not in keep]:  # noqa: SIM118 (pyvista's keys, not a dict's)
            arrays.remove(name)
    bounds = tuple(float(b) for b in data.surface.GetBounds())
    scene: dict[str, Any] = {
        "surface": _write(surface, folder / "wall.vtp"), "wall": wall, "mucosa": list(scenes.MUCOSA),
        "bounds": list(bounds), "camera": spec.camera.value, "title": spec.title, "lod_triangles": spec.lod_triangles,
        "clip": None if spec.clip is None else {**dataclasses.asdict(spec.clip), "axis": spec.clip.axis.value},
        "markers": spec.markers, "slices": None, "streamlines": None, "opacity": 1.0}
    if spec.slices and data.volume is not None:
        centre = ((bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, (bounds[4] + bounds[5]) / 2)
        scene["slices"] = {"file": _write(_slices(data.volume, centre), folder / "slices.vtp"), "array": "ct_hu",
                           "window": [_LEVEL - _WINDOW / 2, _LEVEL + _WINDOW / 2]}
    if spec.streamlines and data.flow is not None:
        scene["opacity"] = 0.3
        lines = pv_scenes.streamline_mesh(data.flow, data.surface)
        if lines is not None:
            span = robust_range(np.asarray(lines.point_data["speed_m_s"]), fixed=spec.velocity_range)
            scene["streamlines"] = {"file": _write(lines, folder / "streamlines.vtp"),
                                    **_quantity(span, ColourMap.MAGMA, pv_scenes.VELOCITY_TITLE, "speed_m_s", "POINTS")}
    partial = folder / f".{SCENE_FILE}.partial"
    partial.write_text(json.dumps(scene, indent=1))
    os.replace(partial, folder / SCENE_FILE)
    return scene


def write_bundle(spec: SceneSpec, folder: Path) -> Path:
    """Write ``spec``'s scene files into ``folder``; returns the path of its ``scene.json``."""
    scene_description(spec, folder)
    return folder / SCENE_FILE


def main() -> int:
    """``python -m rhinoapp.render.pv_bundle FOLDER`` with the scene's JSON on stdin."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    write_bundle(SceneSpec.from_json(sys.stdin.read()), Path(sys.argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
