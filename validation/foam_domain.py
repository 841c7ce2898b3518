"""rhinoapp's own flow domain as a surface for OpenFOAM: the airway with its ambient-air chambers and outlet extension.

``rhinoapp simulate`` does not solve the airway as segmented: it attaches a chamber of ambient air in front
of each nostril and a straight extension to the outlet (:func:`rhinoapp.cfd.inputs.airway_domain`), so the
air enters the nostrils from still air, over their rims. An OpenFOAM case meshed from the segmented
``airway.vtp`` instead takes the air in through the nostril caps themselves. To compare the two solvers on
the same problem, :func:`write_domain_geometry` writes a geometry folder whose ``airway.vtp`` is the
surface of rhinoapp's domain (on the label map's own voxels): the chambers' far faces and sides are the
``inlet_left``/``inlet_right`` faces, the end of the extension the ``outlet`` face, the rest wall. The
folder's ``labels.nii.gz`` and ``geometry.json`` are the original's, so the measurement planes are the same.

Examples
--------
>>> labels = np.zeros((3, 4, 4), dtype=np.uint8)
>>> labels[1, 1:3, 1:3] = WALL; labels[2, 1:3, 1:3] = INLET_LEFT
>>> face_of_triangles(np.array([[1.6, 1.5, 1.5], [0.5, 1.5, 1.5]]), labels).tolist()
[1, 0]
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np

from rhinoapp.cfd.walls import WALL_SMOOTHING_VOXELS

_log = logging.getLogger("foam_domain")

AIR, WALL, INLET_LEFT, INLET_RIGHT, OUTLET = 0, 1, 2, 3, 4
#: ``face`` values of ``airway.vtp`` (``foam_case.FACES`` order) per voxel label.
_FACE_OF_LABEL = {WALL: 0, INLET_LEFT: 1, INLET_RIGHT: 2, OUTLET: 3}


def face_of_triangles(centroids_kji: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The ``face`` of each triangle from the non-air voxels around its centroid (continuous ``k, j, i``).

    An opening among the eight voxels around the centroid wins over the wall; a triangle with only air
    around it (it cannot lie on the surface) counts as wall.
    """
    base = np.floor(centroids_kji).astype(int)
    votes = np.zeros((len(base), 5), dtype=int)
    for offset in np.ndindex(2, 2, 2):
        index = np.clip(base + np.array(offset), 0, np.array(labels.shape) - 1)
        label = labels[index[:, 0], index[:, 1], index[:, 2]]
        votes[np.arange(len(base)), label] += 1
    votes[:, AIR] = 0
    openings = votes[:, [INLET_LEFT, INLET_RIGHT, OUTLET]]
    chosen = np.where(openings.max(axis=1) > 0, np.argmax(openings, axis=1) + INLET_LEFT, WALL)
    return np.array([_FACE_OF_LABEL[int(c)] for c in chosen], dtype=np.int32)


def write_domain_geometry(geometry_dir: Path, out_dir: Path, *, smoothing_voxels: float = WALL_SMOOTHING_VOXELS) -> Path:
    """Write ``out_dir`` (a geometry folder) whose ``airway.vtp`` is rhinoapp's flow domain of ``geometry_dir``.

    The surface is the 0.5 level of the domain's air mask blurred by a Gaussian of ``smoothing_voxels``
    (so that the staircase of the voxels becomes a smooth wall, as the segmentation's own surface is).
    """
    from scipy import ndimage
    from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkPolyData
    from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

    from rhinoapp.geometry.surface import contour_half
    from rhinoapp.usecases.simulation import load_domain

    geometry_dir, out_dir = Path(geometry_dir), Path(out_dir)
    if (out_dir / "airway.vtp").is_file():
        return out_dir
    domain = load_domain(geometry_dir)
    pad = 3
    air = np.pad(domain.fluid, pad)
    labels = np.where(air, AIR, WALL).astype(np.uint8)
    for mask, value in ((domain.inlet_left, INLET_LEFT), (domain.inlet_right, INLET_RIGHT), (domain.outlet, OUTLET)):
        labels[np.pad(mask, pad)] = value
    surface = contour_half(ndimage.gaussian_filter(air.astype(np.float32), sigma=smoothing_voxels))
    ijk = vtk_to_numpy(surface.GetPoints().GetData()).astype(float)
    triangles = vtk_to_numpy(surface.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    centroids_kji = ijk[triangles].mean(axis=1)[:, ::-1]
    faces = face_of_triangles(centroids_kji, labels)
    lps = domain.geometry.index_to_physical(ijk - pad)
    points = vtkPoints()
    points.SetData(numpy_to_vtk(lps, deep=True))
    poly = vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(surface.GetPolys())
    face_array = numpy_to_vtk(faces, deep=True)
    face_array.SetName("face")
    poly.GetCellData().AddArray(face_array)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("labels.nii.gz", "geometry.json"):
        shutil.copy2(geometry_dir / name, out_dir / name)
    writer = vtkXMLPolyDataWriter()
    writer.SetFileName(str(out_dir / "airway.tmp.vtp"))
    writer.SetInputData(poly)
    writer.Write()
    (out_dir / "airway.tmp.vtp").rename(out_dir / "airway.vtp")
    counts = {name: int(np.sum(faces == value)) for name, value in (("wall", 0), ("inlet_left", 1), ("inlet_right", 2),
                                                                  ("outlet", 3))}
    (out_dir / "domain.json").write_text(json.dumps({"source": str(geometry_dir), "triangles": counts,
                                                     "smoothing_voxels": smoothing_voxels}, indent=1))
    _log.info("rhinoapp's domain as a surface: %s triangles per face", counts)
    return out_dir
