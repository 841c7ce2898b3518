"""Brush-stroke latency of the Geometry page's correction tools on a 512 x 512 x 300 label map.

The label map is the ground truth of the ``sinus-ostia`` hard phantom (ethmoid cells, frontal and
sphenoid sinuses behind ostia) at 0.5 mm, placed in a 512 x 512 x 300 grid (a whole-head field of
view). Each stroke is what a click with the paint or erase brush costs on the server:
:func:`rhinoapp.segmentation.editing.plan_edit` (the sub-block of the sphere), writing it, and the
overlay data the Geometry page's slice viewer sends after it (the edit bumps the viewer's
``labels_revision``, which redraws the label overlay of all three views:
:meth:`rhinoapp.state.slice_viewer.SliceViewerState.labels_image` with the views through the stroke), alternately painting
and erasing with a 3 mm radius at points inside the airway. Printed: p50 and p95 per stroke, and
as the same-run reference one full-volume NumPy copy of the label map (what a naive undo would
cost per stroke). For scale, a region edit (remove the connected region under a point) and its
undo are timed too.

``--quick`` uses a 256 x 256 x 150 grid at 1 mm and fewer strokes (for the tests).

Usage::

    .venv/bin/python benchmarks/brush_latency.py [--quick] [--strokes N] [--out benchmarks/results]

Writes ``brush_latency.json`` and ``brush_latency.txt`` (``-quick`` added with --quick).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

FULL = {"shape": (300, 512, 512), "spacing_mm": 0.5, "strokes": 200}
QUICK = {"shape": (150, 256, 256), "spacing_mm": 1.0, "strokes": 30}
BRUSH_MM = 3.0


def label_map(shape: tuple[int, int, int], spacing_mm: float) -> tuple[np.ndarray, Any]:
    """The hard phantom's ground truth centred in a grid of ``shape`` (k, j, i) at ``spacing_mm``."""
    from rhinoapp.core.volume import ImageGeometry
    from rhinoapp.phantom import generate_phantom, variant_params

    phantom = generate_phantom(variant_params("sinus-ostia", spacing_mm=spacing_mm, noise_hu=0.0))
    small = phantom.truth
    labels = np.zeros(shape, np.uint8)
    start = [max(0, (n - m) // 2) for n, m in zip(shape, small.labels.shape)]
    part = tuple(slice(s, s + min(n, m)) for s, n, m in zip(start, shape, small.labels.shape))
    labels[part] = small.labels[tuple(slice(0, p.stop - p.start) for p in part)]
    origin = np.asarray(small.geometry.origin_mm) - np.asarray(start[::-1]) * spacing_mm
    return labels, ImageGeometry(shape, (spacing_mm,) * 3, tuple(float(v) for v in origin))


def _percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values) * 1000
    return {"p50_ms": round(float(np.percentile(array, 50)), 3), "p95_ms": round(float(np.percentile(array, 95)), 3),
            "max_ms": round(float(array.max()), 3), "n": len(values)}


def run(shape: tuple[int, int, int], spacing_mm: float, strokes: int) -> dict[str, Any]:
    """Time ``strokes`` brush strokes and the references; returns the JSON-ready results."""
    from rhinoapp.core.volume import CTVolume
    from rhinoapp.segmentation.editing import Erase, Paint, RemoveRegion, plan_edit
    from rhinoapp.state.slice_viewer import PLANES, SliceViewerState

    t0 = time.perf_counter()
    labels, geometry = label_map(shape, spacing_mm)
    setup_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    airway = np.argwhere(labels > 0)
    picks = airway[rng.choice(len(airway), size=strokes, replace=len(airway) < strokes)]
    viewer = SliceViewerState(volume=CTVolume(labels, geometry), labels=labels)
    stroke_s, apply_s, changed, undo_bytes = [], [], [], []
    for n, (k, j, i) in enumerate(picks):
        point = tuple(float(v) for v in geometry.index_to_physical((i, j, k)))
        edit = Paint(point, BRUSH_MM, 1 + n % 2) if n % 2 == 0 else Erase(point, BRUSH_MM)
        start = time.perf_counter()
        change = plan_edit(labels, geometry, edit)
        if change is not None:
            change.apply(labels)
        applied = time.perf_counter()
        viewer.cursor = point  # the views through the stroke (set before timing would not change the cost)
        for name in PLANES:  # the overlay of each view, as sent to the browser
            viewer.labels_image(name)
        stroke_s.append(time.perf_counter() - start)
        apply_s.append(applied - start)
        if change is not None:
            changed.append(change.changed)
            undo_bytes.append(change.nbytes)
    copies = []
    for _ in range(5):
        start = time.perf_counter()
        labels.copy()
        copies.append(time.perf_counter() - start)
    k, j, i = airway[len(airway) // 2]
    start = time.perf_counter()
    region = plan_edit(labels, geometry, RemoveRegion(tuple(float(v) for v in geometry.index_to_physical((i, j, k)))))
    region_s = time.perf_counter() - start
    start = time.perf_counter()
    if region is not None:
        region.apply(labels)
        region.revert(labels)
    region_undo_s = time.perf_counter() - start
    return {
        "shape_kji": list(shape), "spacing_mm": spacing_mm, "brush_radius_mm": BRUSH_MM, "setup_s": round(setup_s, 2),
        "stroke_with_overlays": _percentiles(stroke_s), "edit_only": _percentiles(apply_s),
        "voxels_changed_median": int(np.median(changed)) if changed else 0,
        "undo_bytes_median": int(np.median(undo_bytes)) if undo_bytes else 0,
        "reference_full_copy": _percentiles(copies),
        "region_edit_s": round(region_s, 3), "region_apply_and_undo_s": round(region_undo_s, 3),
        "volume_bytes": int(labels.nbytes), "machine": f"{platform.machine()}, {platform.python_version()}",
    }


def text(result: dict[str, Any]) -> str:
    """The results as a short table."""
    stroke, edit, copy = result["stroke_with_overlays"], result["edit_only"], result["reference_full_copy"]
    shape = " x ".join(str(n) for n in result["shape_kji"][::-1])
    return "\n".join([
        f"brush stroke latency, {shape} voxels at {result['spacing_mm']} mm, radius {result['brush_radius_mm']} mm, "
        f"{stroke['n']} strokes",
        f"stroke (edit + 3 plane overlays)  p50 {stroke['p50_ms']:8.3f} ms   p95 {stroke['p95_ms']:8.3f} ms",
        f"edit only (plan + write)          p50 {edit['p50_ms']:8.3f} ms   p95 {edit['p95_ms']:8.3f} ms",
        f"reference: one full-volume copy   p50 {copy['p50_ms']:8.3f} ms   ({result['volume_bytes'] / 1e6:.0f} MB)",
        f"undo memory per stroke (median)   {result['undo_bytes_median']} bytes; "
        f"{result['voxels_changed_median']} voxels changed",
        f"region edit (label the volume)    {result['region_edit_s']:.3f} s; apply + undo "
        f"{result['region_apply_and_undo_s']:.3f} s",
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 x 256 x 150 at 1 mm, 30 strokes")
    parser.add_argument("--strokes", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    result = run(settings["shape"], settings["spacing_mm"], args.strokes or settings["strokes"])
    report = text(result)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    (args.out / f"brush_latency{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"brush_latency{suffix}.txt").write_text(report)
    print(report, end="")  # noqa: T201  a benchmark script's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
