"""One airway, exported as experts' label maps come: does the import and the flow hold whatever the file looks like?

The phantom variant's ground truth (``clinical`` by default: labels that stop before the landmark
planes) is written as the label maps that real data sets and tools give, each imported as
``rhinoapp segment --from-labels`` does (:func:`rhinoapp.usecases.geometry_import.write_import`, the
mapping from ``--map`` or from the segment names) and simulated as ``rhinoapp simulate`` does
(:func:`rhinoapp.usecases.simulation.run_simulation`, default physics, 250 ml/s, each at the default rule's
resolution unless ``--resolution-mm`` gives one for all):

- ``as exported``: the labels renumbered (4 left, 3 right, 5 nasopharynx, 1 sinus), NIfTI, the CT's grid;
- ``RAS, 2 mm slices``: every fourth axial slice, axes flipped to RAS, unsigned 16-bit;
- ``1.5 mm sagittal slices``: every third slice left to right;
- ``float labels``: the values stored as 32-bit floats;
- ``binary mask``: the cavities and the nasopharynx as one label (``--map 1:airway``), split on import;
- ``Slicer, 2 layers``: a 3D Slicer segmentation with named segments and an overlapping "Airway"
  segment in a second layer, RAS, no ``--map``;
- ``cut in vestibule``: the cavities' labels stopping 1.5 mm inside the vestibules and the
  nasopharynx cut by the image's lower face;
- ``front crop``: the label map's field of view ending 4 mm behind the nostrils, so that a coronal
  face cuts the cavities through the vestibules;
- ``specks inside``: 5 % of the airway's inner voxels unlabelled (what a threshold on a noisy CT leaves);
- ``ragged rim``: 20 % of the labels' outer layer unlabelled (a ragged boundary).
- ``inlet box``: the air in front of and below the nostrils labelled too (2, as some data sets label an inlet
  region), left out by the mapping.

The table gives the imported volumes, the pressure drop and partition against ``as exported``, the
steps against the estimate and against the fewest the steady test allows (``/least``), the plausibility
flags, and says when a result is the second try with the recursive collision after the default one diverged
(:func:`rhinoapp.cfd.simulation.simulate`).

With ``--without-ct`` each label map is imported alone, as ``rhinoapp segment --from-labels FILE``
without a CT does: on its own grid, each opening where its label ends (the binary mask is then
refused: its split into sides needs the CT's air at the nostrils).

Run: ``python benchmarks/label_map_variety.py [--variant clinical] [--resolution-mm MM] [--without-ct]
[--only CASE,...] [--name NAME]``; writes ``benchmarks/results/NAME.json`` and ``.txt``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nrrd
import numpy as np
from scipy import ndimage

from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.layout import GeometryFolder
from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.phantom import generate_phantom, variant_params
from rhinoapp.segmentation.label_import import LabelMapping, mapping_from_names
from rhinoapp.usecases.geometry_import import ImportRequest, found_segments, write_import
from rhinoapp.usecases.simulation import estimate_simulation, load_domain, run_simulation
from rhinoapp.volumes import nifti_bytes

RESULTS = Path(__file__).resolve().parent / "results"
RENUMBER = np.array([0, 4, 3, 5, 1], dtype=np.int16)  # truth 1 left, 2 right, 3 nasopharynx, 4 sinus
MAPPING = "4:left,3:right,5:nasopharynx,1:sinus"


def _grid(geometry: ImageGeometry, shape: tuple[int, ...], step_kji: tuple[int, int, int], *,
          flip_xy: bool = False) -> ImageGeometry:
    """The geometry of every ``step`` voxel of ``geometry`` (kji), with the i and j axes reversed when ``flip_xy``."""
    spacing = tuple(s * n for s, n in zip(geometry.spacing_mm, step_kji[::-1]))
    direction = np.asarray(geometry.direction_matrix, dtype=float).copy()
    origin = np.asarray(geometry.origin_mm, dtype=float)
    if flip_xy:  # the last voxel along i and j becomes the first
        for axis in (0, 1):
            origin = origin + direction[:, axis] * spacing[axis] * (shape[2 - axis] - 1)
            direction[:, axis] *= -1
    return ImageGeometry(shape, spacing, tuple(origin), tuple(direction.ravel()))


def _slicer(parts: np.ndarray, geometry: ImageGeometry) -> bytes:
    """A 3D Slicer segmentation of two layers: the parts, named, and an "Airway" segment over them; RAS."""
    signs = np.array([-1.0, -1.0, 1.0])
    directions = (geometry.direction_matrix * np.asarray(geometry.spacing_mm)).T * signs
    header: dict[str, Any] = {"type": "unsigned char", "space": "right-anterior-superior", "encoding": "gzip",
                              "kinds": ["list", "domain", "domain", "domain"],
                              "space directions": np.vstack([np.full(3, np.nan), directions]),
                              "space origin": np.asarray(geometry.origin_mm) * signs}
    names = ("Left nasal cavity", "Right nasal cavity", "Nasopharynx", "Maxillary sinus", "Airway")
    for index, (name, value, layer) in enumerate(zip(names, (1, 2, 3, 4, 1), (0, 0, 0, 0, 1))):
        header |= {f"Segment{index}_Name": name, f"Segment{index}_LabelValue": str(value),
                   f"Segment{index}_Layer": str(layer)}
    layers = np.stack([parts, np.isin(parts, [1, 2, 3])], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    nrrd.write(buffer, layers, header, index_order="C")
    return buffer.getvalue()


def label_maps(phantom: Any) -> dict[str, tuple[str, bytes, str | None]]:
    """(file name, bytes, mapping or None for the segment names) per way of exporting the phantom's truth."""
    truth, geometry = phantom.truth.labels, phantom.truth.geometry
    renumbered = RENUMBER[truth]
    k, j, i = truth.shape
    thick = renumbered[::4, ::-1, ::-1]
    sagittal = renumbered[:, :, ::3]
    z = geometry.origin_mm[2] + np.arange(k) * geometry.spacing_mm[2]
    cut = renumbered.copy()
    cavities = np.isin(truth, [1, 2])
    lowest = z[cavities.any(axis=(1, 2))].min()
    cut[cavities & (z[:, None, None] < lowest + 1.5)] = 0
    first = int(np.searchsorted(z, phantom.landmarks.outlet_z_mm))
    cropped = CTVolume(cut[first:], ImageGeometry(cut[first:].shape, geometry.spacing_mm,
                                                  (geometry.origin_mm[0], geometry.origin_mm[1], float(z[first])),
                                                  geometry.direction))
    airway = renumbered > 0
    inner = ndimage.binary_erosion(np.isin(truth, [1, 2, 3]), iterations=2)
    rim = airway & ~ndimage.binary_erosion(airway)
    y = geometry.origin_mm[1] + np.arange(j) * geometry.spacing_mm[1]
    behind = int(np.searchsorted(y, phantom.landmarks.nostrils_lps_mm[0][1] + 4.0))
    front = CTVolume(renumbered[:, behind:], ImageGeometry(renumbered[:, behind:].shape, geometry.spacing_mm,
                                                           (geometry.origin_mm[0], float(y[behind]),
                                                            geometry.origin_mm[2]), geometry.direction))
    return {
        "as exported": ("labels.nii.gz", nifti_bytes(CTVolume(renumbered, geometry)), MAPPING),
        "RAS, 2 mm slices": ("thick.nii.gz", nifti_bytes(CTVolume(
            thick.astype(np.uint16), _grid(geometry, thick.shape, (4, 1, 1), flip_xy=True))), MAPPING),
        "1.5 mm sagittal slices": ("sagittal.nii.gz", nifti_bytes(CTVolume(
            sagittal, _grid(geometry, sagittal.shape, (1, 1, 3)))), MAPPING),
        "float labels": ("float.nii.gz", nifti_bytes(CTVolume(renumbered.astype(np.float32), geometry)), MAPPING),
        "binary mask": ("mask.nii.gz", nifti_bytes(CTVolume(np.isin(truth, [1, 2, 3]).astype(np.uint8), geometry)),
                        "1:airway"),
        "Slicer, 2 layers": ("Segmentation.seg.nrrd", _slicer(truth.astype(np.uint8), geometry), None),
        "cut in vestibule": ("cut.nii.gz", nifti_bytes(cropped), MAPPING),
        "front crop": ("front.nii.gz", nifti_bytes(front), MAPPING),
        "specks inside": ("specks.nii.gz", nifti_bytes(CTVolume(_without(renumbered, inner, 0.05), geometry)), MAPPING),
        "ragged rim": ("ragged.nii.gz", nifti_bytes(CTVolume(_without(renumbered, rim, 0.2), geometry)), MAPPING),
        "inlet box": ("inlet.nii.gz", nifti_bytes(CTVolume(_with_inlet_box(renumbered, phantom), geometry)), MAPPING),
    }


def _with_inlet_box(renumbered: np.ndarray, phantom: Any) -> np.ndarray:
    """The labels with the air in front of and below the nostrils as a label of its own (2, not mapped): a box from
    4 mm behind the nostrils to the image's front face, 20 mm below them, 15 mm to each side of them."""
    geometry = phantom.truth.geometry
    k, j, i = np.indices(renumbered.shape)
    points = geometry.index_to_physical(np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1))
    x, y, z = (points[:, axis].reshape(renumbered.shape) for axis in range(3))
    nostrils = np.asarray(phantom.landmarks.nostrils_lps_mm)
    bottom = max(float(z[renumbered == label].min()) for label in (4, 3))
    box = ((renumbered == 0) & (y <= nostrils[:, 1].max() + 4.0) & (z <= bottom + 1.5)
           & (z >= nostrils[:, 2].min() - 20.0) & (x >= nostrils[:, 0].min() - 15.0)
           & (x <= nostrils[:, 0].max() + 15.0))
    out = renumbered.copy()
    out[box] = 2
    return out


def _without(labels: np.ndarray, where: np.ndarray, fraction: float) -> np.ndarray:
    """``labels`` with a random ``fraction`` (fixed seed) of the voxels ``where`` unlabelled."""
    out = labels.copy()
    out[where & (np.random.default_rng(1).random(labels.shape) < fraction)] = 0
    return out


def run_case(name: str, phantom: Any, filename: str, data: bytes, mapping_text: str | None,
             resolution_mm: float | None, folder: Path, *, with_ct: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    if mapping_text is None:
        mapping = mapping_from_names(found_segments(data, filename)[1])
        assert mapping is not None, "the segment names say no mapping"
    else:
        mapping = LabelMapping.parse(mapping_text)
    geometry = GeometryFolder(folder / "geometry")
    try:
        report = write_import(phantom.ct if with_ct else None, data, ImportRequest(filename=filename, mapping=mapping),
                              geometry)
    except RhinoappError as error:  # an import refused says why: a row of its own
        return {"case": name, "file": filename, "mapping": mapping.text(), "error": str(error),
                "wall_s": round(time.perf_counter() - started, 1)}
    domain = load_domain(geometry)
    request = SimulationRequest(resolution_mm=resolution_mm, backend="numba")  # None: the default rule
    estimate = estimate_simulation(domain, request)
    try:
        results = run_simulation(domain, request, folder / "run").results
    except RhinoappError as error:  # a run that stops says why: a row of its own
        return {"case": name, "file": filename, "mapping": mapping.text(), "error": str(error),
                "volume_left_ml": round(report.volume_ml("left"), 2),
                "volume_right_ml": round(report.volume_ml("right"), 2), "estimate_steps": estimate.steps,
                "wall_s": round(time.perf_counter() - started, 1)}
    return {"case": name, "file": filename, "mapping": mapping.text(),
            "resolution_mm": float(results["lattice"]["dx_mm"]),
            "volume_left_ml": round(report.volume_ml("left"), 2), "volume_right_ml": round(report.volume_ml("right"), 2),
            "pressure_drop_pa": round(float(results["pressure_drop_pa"]), 3),
            "partition_left_pct": round(float(results["flow_partition_left_pct"]), 2),
            "max_velocity_m_s": round(float(results["max_velocity_m_s"]), 2),
            "converged": bool(results["converged"]), "steps": int(results["steps"]), "estimate_steps": estimate.steps,
            "least_steps": estimate.least_steps,  # the fewest the steady test allows (a flow steady after the ramp)
            "flags": [f"{flag['kind']} ({flag['severity']})" for flag in results["plausibility"]],
            "warnings": list((report.document.get("provenance") or {}).get("warnings") or []),
            # the default collision diverged at this step and the result is the recursive collision's second try
            "second_try_after_step": (results.get("steadier_collision") or {}).get("diverged_at_step"),
            "wall_s": round(time.perf_counter() - started, 1)}


def _table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    base = rows[0]
    where = f"{args.resolution_mm} mm" if args.resolution_mm else "the default rule's resolution"
    how = "imported without the CT (each on its own grid)" if args.without_ct else "imported"
    tilt = (f", the head tilted {', '.join(f'{a:g}' for a in args.rotation_deg)} degrees about x, y, z"
            if any(args.rotation_deg) else "")
    lines = [f"label maps of one airway ({args.variant} phantom{tilt}, CT 0.5 mm), {how} and simulated at {where}, "
             "250 ml/s, default physics",
             f"{'case':<24}{'left ml':>8}{'right ml':>9}{'res mm':>7}{'drop Pa':>9}{'vs first':>9}{'left %':>8}"
             f"{'steps/est':>10}{'/least':>7}{'wall s':>8}  flags"]
    for row in rows:
        head = (f"{row['case']:<24}{row['volume_left_ml']:>8.2f}{row['volume_right_ml']:>9.2f}" if "volume_left_ml" in row
                else f"{row['case']:<24}{'-':>8}{'-':>9}")
        if "error" in row:
            lines.append(f"{head}  stopped: {row['error'][:150]}")
            continue
        ratio = row["pressure_drop_pa"] / base["pressure_drop_pa"] if "pressure_drop_pa" in base else float("nan")
        lines.append(f"{head}{row['resolution_mm']:>7.2f}{row['pressure_drop_pa']:>9.2f}{ratio:>9.3f}"
                     f"{row['partition_left_pct']:>8.1f}{row['steps'] / row['estimate_steps']:>10.2f}"
                     f"{row['steps'] / row['least_steps'] if row.get('least_steps') else float('nan'):>7.2f}"
                     f"{row['wall_s']:>8.0f}  {', '.join(row['flags']) or 'none'}"
                     f"{'' if row['converged'] else ' (NOT CONVERGED)'}"
                     + (f"; second try, the first diverged at step {row['second_try_after_step']}"
                        if row.get("second_try_after_step") else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="clinical")
    parser.add_argument("--resolution-mm", type=float, help="one lattice spacing for all (default: the rule's)")
    parser.add_argument("--only", help="case names separated by commas (default: all); a name with a comma of its "
                                       "own, such as 'RAS, 2 mm slices', is matched whole")
    parser.add_argument("--name", default="label_map_variety")
    parser.add_argument("--rotation-deg", type=lambda text: tuple(float(v) for v in text.split(",")),
                        default=(0.0, 0.0, 0.0), help="the head tilted in the scanner: degrees about LPS x, y and z "
                                                      "(for example 15,10,10; a negative first angle as --rotation-deg=-20,0,0)")
    parser.add_argument("--without-ct", action="store_true",
                        help="import each label map alone (no CT: on its own grid, the openings where its labels end)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    phantom = generate_phantom(variant_params(args.variant, spacing_mm=0.5, noise_hu=0, rotation_deg=args.rotation_deg))
    cases = label_maps(phantom)
    chosen = [c for c in cases if args.only is None or c in args.only.split(",") or c in args.only]
    if args.only and not chosen:
        parser.error(f"--only names no case; the cases: {', '.join(cases)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="rhinoapp-labelmaps-") as scratch:
        for index, name in enumerate(chosen):
            filename, data, mapping = cases[name]
            rows.append(run_case(name, phantom, filename, data, mapping, args.resolution_mm,
                                 Path(scratch) / str(index), with_ct=not args.without_ct))
            logging.getLogger("label_map_variety").warning("%s: %s", name, rows[-1])
    text = _table(rows, args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps({"variant": args.variant, "rotation_deg": args.rotation_deg,
                                                            "resolution_mm": args.resolution_mm, "rows": rows},
                                                           indent=1))
    (RESULTS / f"{args.name}.txt").write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
