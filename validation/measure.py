"""Measurements shared by the validation scripts: the same planes and slabs on any solver's cells.

Both solvers' results are reduced to a cloud of cell centres (LPS millimetres), a gauge pressure
(Pa) and a cell volume. Every figure compared is computed from such a cloud by the functions here,
so the two solvers are measured identically:

* :func:`measurement_planes`: the planes of the comparison, from the geometry folder's
  ``geometry.json``: the nostrils (``NOSTRIL_INSET_MM`` inside each inlet plane),
  the choanae (coronal plane ``choana``) and an outlet plane ``OUTLET_INSET_MM`` inside the
  outlet opening (so that neither solver's treatment of the opening itself is measured).
* :func:`plane_average`: the volume-weighted mean pressure of the cells in a slab around a plane,
  within a radius of its centre (or on one side of the midline).
* :func:`axial_profile`: the volume-weighted mean pressure in coronal slabs along the
  anterior-posterior axis (LPS y).

Examples
--------
>>> import numpy as np
>>> xyz = np.array([[0.0, 0.0, 0.0], [0.0, 0.4, 0.0], [0.0, 3.0, 0.0]])
>>> plane = Plane("p", (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), radius_mm=5.0)
>>> plane_average(xyz, np.array([1.0, 3.0, 9.0]), np.ones(3), plane, half_thickness_mm=0.5)
2.0
>>> axial_profile(xyz, np.array([1.0, 3.0, 9.0]), np.ones(3), bin_mm=2.0)[1].tolist()
[2.0, 9.0]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The outlet measurement plane lies this far inside the outlet opening (mm).
OUTLET_INSET_MM = 3.0
#: The nostril measurement planes lie this far inside the nostril openings (mm).
NOSTRIL_INSET_MM = 1.5


@dataclass(frozen=True)
class Plane:
    """A measurement plane: centre and unit normal (LPS mm), the radius it reaches, and the side it keeps.

    ``side`` is ``"left"`` (x > 0, the patient's left in LPS), ``"right"`` (x < 0) or ``None`` (both).
    """

    name: str
    point_mm: tuple[float, float, float]
    normal: tuple[float, float, float]
    radius_mm: float = 1e9
    side: str | None = None


def pressure_drops(cloud: CellCloud, planes: dict[str, Plane], half_thickness_mm: float) -> dict[str, float]:
    """Pressure drops (Pa) between the planes: nostrils (mean of both sides) to the outlet plane and to the
    choanae, and per side from its nostril to its half of the choanae; plus each plane's mean pressure."""
    mean = {name: cloud.average(plane, half_thickness_mm) for name, plane in planes.items()}
    result = {f"p_{name}": mean[name] for name in mean}
    nostrils = [mean[n] for n in ("nostril_left", "nostril_right") if n in mean]
    p_in = float(np.mean(nostrils)) if nostrils else 0.0
    result["nostrils_to_outlet"] = p_in - mean["outlet"]
    if "choanae" in mean:
        result["nostrils_to_choanae"] = p_in - mean["choanae"]
        for side in ("left", "right"):
            if f"nostril_{side}" in mean:
                result[f"{side}_nostril_to_choana"] = mean[f"nostril_{side}"] - mean[f"choana_{side}"]
    return {k: round(float(v), 4) for k, v in result.items()}


@dataclass(frozen=True)
class CellCloud:
    """One solver's steady field: cell centres (LPS mm), gauge pressure (Pa) and cell volumes (mm^3)."""

    xyz_mm: np.ndarray
    pressure_pa: np.ndarray
    volume_mm3: np.ndarray

    def average(self, plane: Plane, half_thickness_mm: float) -> float:
        """:func:`plane_average` of this cloud."""
        return plane_average(self.xyz_mm, self.pressure_pa, self.volume_mm3, plane, half_thickness_mm=half_thickness_mm)

    def profile(self, bin_mm: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        """:func:`axial_profile` of this cloud."""
        return axial_profile(self.xyz_mm, self.pressure_pa, self.volume_mm3, bin_mm=bin_mm)


def measurement_planes(geometry_json: Path) -> dict[str, Plane]:
    """The comparison's planes from a geometry folder's ``geometry.json`` (as ``rhinoapp segment`` writes it)."""
    meta = json.loads(Path(geometry_json).read_text())
    outlet = meta["outlet"]
    normal = np.asarray(outlet["normal_lps"], dtype=float)
    normal /= np.linalg.norm(normal)
    inset = np.asarray(outlet["point_lps_mm"], dtype=float) - OUTLET_INSET_MM * normal
    radius = 1.5 * float(outlet.get("radius_mm", 15.0))
    planes = {"outlet": Plane("outlet", _tuple(inset), _tuple(normal), radius_mm=radius)}
    for side, inlet in (meta.get("inlets") or {}).items():
        n = np.asarray(inlet["normal_lps"], dtype=float)
        n /= np.linalg.norm(n)
        point = np.asarray(inlet["point_lps_mm"], dtype=float) - NOSTRIL_INSET_MM * n
        planes[f"nostril_{side}"] = Plane(f"nostril_{side}", _tuple(point), _tuple(n),
                                          radius_mm=1.2 * float(inlet.get("radius_mm", 6.0)), side=side)
    choana = meta.get("choana")
    if choana:
        point, cnormal = _tuple(choana["point_lps_mm"]), _tuple(choana["normal_lps"])
        planes["choanae"] = Plane("choanae", point, cnormal)
        planes["choana_left"] = Plane("choana_left", point, cnormal, side="left")
        planes["choana_right"] = Plane("choana_right", point, cnormal, side="right")
    return planes


def plane_average(xyz_mm: np.ndarray, values: np.ndarray, weights: np.ndarray, plane: Plane, *,
                  half_thickness_mm: float) -> float:
    """Weighted mean of ``values`` over the cells within ``half_thickness_mm`` of ``plane`` (NaN if none)."""
    offset = np.asarray(xyz_mm, dtype=float) - np.asarray(plane.point_mm)
    normal = np.asarray(plane.normal, dtype=float)
    along = offset @ normal
    across = np.linalg.norm(offset - along[:, None] * normal, axis=1)
    keep = (np.abs(along) <= half_thickness_mm) & (across <= plane.radius_mm)
    if plane.side == "left":
        keep &= np.asarray(xyz_mm)[:, 0] > 0
    elif plane.side == "right":
        keep &= np.asarray(xyz_mm)[:, 0] < 0
    w = np.asarray(weights, dtype=float)[keep]
    if w.sum() <= 0:
        return float("nan")
    return float(np.sum(np.asarray(values, dtype=float)[keep] * w) / w.sum())


def axial_profile(xyz_mm: np.ndarray, values: np.ndarray, weights: np.ndarray, *, bin_mm: float = 2.0,
                  axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of ``values`` in slabs of ``bin_mm`` along LPS ``axis`` (y: anterior to posterior).

    Bins are anchored at 0 mm so that two solvers' profiles share their bin centres.
    """
    coordinate = np.asarray(xyz_mm, dtype=float)[:, axis]
    bins = np.floor(coordinate / bin_mm).astype(np.int64)
    low = bins.min()
    index = bins - low
    w = np.asarray(weights, dtype=float)
    sums = np.bincount(index, weights=np.asarray(values, dtype=float) * w)
    totals = np.bincount(index, weights=w)
    keep = totals > 0
    centres = (np.arange(totals.size) + low + 0.5) * bin_mm
    return centres[keep], sums[keep] / totals[keep]


def read_rhinoapp_fields(run_dir: Path) -> CellCloud:
    """The fluid cells of a rhinoapp run folder's ``fields.vti`` (pressure is gauge, relative to the nostrils)."""
    xyz, volume, arrays = read_fluid_cells(run_dir, ("pressure_pa",))
    return CellCloud(xyz, arrays["pressure_pa"], volume)


def read_fluid_cells(run_dir: Path, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Centres (LPS mm) and volumes (mm^3) of the fluid cells of a run folder's ``fields.vti``, and the named point
    arrays on them (vectors as ``(n, 3)``)."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOXML import vtkXMLImageDataReader

    reader = vtkXMLImageDataReader()
    reader.SetFileName(str(Path(run_dir) / "fields.vti"))
    reader.Update()
    image = reader.GetOutput()
    ni, nj, nk = image.GetDimensions()
    data = image.GetPointData()
    fluid = vtk_to_numpy(data.GetArray("fluid")).astype(bool)
    arrays = {}
    for name in names:
        values = vtk_to_numpy(data.GetArray(name)).astype(float)
        arrays[name] = (values.reshape(len(fluid), -1) if values.ndim > 1 else values)[fluid].squeeze()
    k, j, i = np.meshgrid(np.arange(nk), np.arange(nj), np.arange(ni), indexing="ij")
    index = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1)[fluid]
    spacing = np.asarray(image.GetSpacing())
    direction = np.asarray([image.GetDirectionMatrix().GetElement(r, c) for r in range(3) for c in range(3)]).reshape(3, 3)
    xyz = np.asarray(image.GetOrigin()) + (index * spacing) @ direction.T
    return xyz, np.full(int(fluid.sum()), float(np.prod(spacing))), arrays


def _tuple(values: object) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)  # type: ignore[attr-defined]
    return (a, b, c)
