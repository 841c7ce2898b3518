"""Automatic segmentation on the hard phantom variants: Dice per variant, and a 512 x 512 x 300 case.

1. Every hard variant (:data:`rhinoapp.phantom.HARD_VARIANTS`) at its own voxel size: Dice of the
   whole airway (labels 1-3) and of each side against the ground truth, sinus or ethmoid air inside
   labels 1-3 as a share of the true airway volume, time. Goals: Dice >= 0.95 whole, >= 0.90 per
   side, at most 2 % sinus air.
2. A 512 x 512 x 300 volume at 0.5 mm: the hard phantom (ethmoid cells, frontal and sphenoid
   sinuses behind ostia, one-sided swelling, a septum touching the turbinate, noise, orbit masks
   reaching the image edges) embedded in a whole-head field of view as in
   ``bench_segmentation.py``. A child process times ``segment_airway`` and reports its peak
   resident memory (the whole process, input included) and, as the same-run reference, a NumPy
   threshold pass and a ``scipy.ndimage.label`` pass over the volume. Goals: 15 s and 4 GB.

``--quick`` runs two variants and the large case at 1 mm (256 x 256 x 150) for the tests.

Usage::

    .venv/bin/python benchmarks/segmentation_hard.py [--quick] [--out benchmarks/results]

Writes ``segmentation_hard.json`` and ``segmentation_hard.txt`` (``-quick`` added with --quick).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

QUICK_VARIANTS = ("thick-noisy", "clinical")
GOALS = {"dice_whole": 0.95, "dice_side": 0.90, "sinus_share": 0.02, "seconds": 15.0, "peak_gb": 4.0}
LARGE_SHAPE_MM = (150.0, 256.0, 256.0)  # k, j, i extent
LARGE_ORIGIN_MM = (-128.0, -40.0, -70.0)  # x, y, z of the volume's corner


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0


def scores(truth: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Dice of the whole airway and per side, and the share of sinus air inside labels 1-3."""
    true_airway = (truth > 0) & (truth < 4)
    nasal = (labels > 0) & (labels < 4)
    return {"dice_whole": _dice(true_airway, nasal), "dice_left": _dice(truth == 1, labels == 1),
            "dice_right": _dice(truth == 2, labels == 2),
            "sinus_share": int((nasal & (truth == 4)).sum()) / max(1, int(true_airway.sum()))}


def variant_rows(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Segment each named variant at its own voxel size and score it."""
    from rhinoapp.phantom import generate_phantom, variant_params
    from rhinoapp.segmentation import SegmentationError, segment_airway

    rows = []
    for name in names:
        phantom = generate_phantom(variant_params(name))
        start = time.perf_counter()
        try:
            result = segment_airway(phantom.ct)
        except SegmentationError as error:
            rows.append({"variant": name, "error": str(error)})
            continue
        row: dict[str, Any] = {"variant": name, "spacing_mm": list(phantom.params.spacing_mm),
                               "shape_kji": list(phantom.ct.geometry.shape), "seconds": time.perf_counter() - start,
                               **scores(phantom.truth.labels, result.labels.labels), "warnings": len(result.warnings)}
        row["pass"] = bool(row["dice_whole"] >= GOALS["dice_whole"] and min(row["dice_left"], row["dice_right"])
                           >= GOALS["dice_side"] and row["sinus_share"] <= GOALS["sinus_share"])
        rows.append(row)
    return rows


def build_large(path: Path, spacing: float) -> None:
    """Write the embedded hard phantom (int16 HU, ground truth, origin) to ``path`` (.npz)."""
    from rhinoapp.phantom import generate_phantom, variant_params
    from rhinoapp.phantom.hard import MASK_HU, mask_region

    phantom = generate_phantom(variant_params("sinus-ostia", spacing_mm=spacing, anonymisation_masks=True,
                                              left_swelling=0.9, septal_deviation=1.0, septum_contact=True,
                                              noise_hu=20.0))
    small = phantom.ct
    shape = tuple(int(round(n / spacing)) for n in LARGE_SHAPE_MM)
    origin = np.array(LARGE_ORIGIN_MM) + spacing / 2  # x, y, z of voxel (0, 0, 0)
    nk, nj, ni = shape
    x = origin[0] + spacing * np.arange(ni)
    y = origin[1] + spacing * np.arange(nj)
    z = origin[2] + spacing * np.arange(nk)
    head = ((x[None, :] / 75.0) ** 2 + ((y[:, None] - 70.0) / 105.0) ** 2 <= 1.0) & (y[:, None] >= 0.012 * x[None, :] ** 2)
    rng = np.random.default_rng(1)
    hu = np.empty(shape, dtype=np.int16)
    for k in range(nk):  # slice by slice: the generator's own memory stays small
        noise = rng.standard_normal((nj, ni), dtype=np.float32) * np.float32(phantom.params.noise_hu)
        slab = np.rint(np.where(head, 45.0, -1000.0) + noise)
        slab[mask_region(x[None, :].astype(np.float32), y[:, None].astype(np.float32), np.float32(z[k]))] = MASK_HU
        hu[k] = np.clip(slab, -1024, 3071).astype(np.int16)
    start = np.rint((np.asarray(small.geometry.origin_mm) - origin) / spacing).astype(int)  # i, j, k
    box = tuple(slice(s, s + n) for s, n in zip(start[::-1], small.geometry.shape))
    hu[box] = small.hu
    truth = np.zeros(shape, dtype=np.uint8)
    truth[box] = phantom.truth.labels
    np.savez(path, hu=hu, truth=truth, origin=origin, spacing=spacing)


def run_child(path: Path) -> None:
    """Time the segmentation of the saved volume; print one JSON line."""
    from scipy import ndimage

    from rhinoapp.core.volume import CTVolume, ImageGeometry
    from rhinoapp.segmentation import segment_airway

    data = np.load(path)
    hu, spacing = data["hu"], float(data["spacing"])
    volume = CTVolume(hu, ImageGeometry(hu.shape, (spacing,) * 3, tuple(float(v) for v in data["origin"])))
    start = time.perf_counter()
    result = segment_airway(volume)
    seconds = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    start = time.perf_counter()
    air = hu < -550
    count = int(np.count_nonzero(air))
    numpy_pass = time.perf_counter() - start
    start = time.perf_counter()
    ndimage.label(air)
    label_pass = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_gb": peak_gb, "numpy_pass_s": numpy_pass, "label_pass_s": label_pass,
                      "air_voxels": count, "warnings": list(result.warnings),
                      **scores(data["truth"], result.labels.labels)}))


def large_case(spacing: float) -> dict[str, Any]:
    """Build the large volume, segment it in a fresh process, return its numbers."""
    with tempfile.TemporaryDirectory(prefix="rhinoapp-bench-") as folder:
        path = Path(folder) / "volume.npz"
        build_large(path, spacing)
        run = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                             check=False)
        if run.returncode:
            raise RuntimeError(f"the child process failed:\n{run.stderr}")
        shape = [int(round(n / spacing)) for n in LARGE_SHAPE_MM]
        numbers: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    numbers.update(shape_kji=shape, spacing_mm=spacing, ratio_to_numpy_pass=numbers["seconds"] / numbers["numpy_pass_s"],
                   ratio_to_label_pass=numbers["seconds"] / numbers["label_pass_s"])
    numbers["pass"] = bool(numbers["seconds"] <= GOALS["seconds"] and numbers["peak_gb"] <= GOALS["peak_gb"])
    return numbers


def report(rows: list[dict[str, Any]], large: dict[str, Any]) -> str:
    """The text table."""
    lines = ["variant              voxel (mm)       Dice   left   right  sinus in 1-3  time   pass"]
    for row in rows:
        if "error" in row:
            lines.append(f"{row['variant']:<20} refused: {row['error']}")
            continue
        spacing = "x".join(f"{s:g}" for s in row["spacing_mm"])
        lines.append(f"{row['variant']:<20} {spacing:<15} {row['dice_whole']:.4f} {row['dice_left']:.4f} "
                     f"{row['dice_right']:.4f} {100 * row['sinus_share']:6.2f} %    {row['seconds']:5.1f} s "
                     f"{'yes' if row['pass'] else 'NO'}")
    nk, nj, ni = large["shape_kji"]
    lines += ["", f"large hard phantom {ni} x {nj} x {nk} at {large['spacing_mm']:g} mm: segmentation "
              f"{large['seconds']:.2f} s (goal <= {GOALS['seconds']:g} s), peak memory {large['peak_gb']:.2f} GB "
              f"(goal <= {GOALS['peak_gb']:g} GB, whole process), Dice {large['dice_whole']:.4f} "
              f"(left {large['dice_left']:.4f}, right {large['dice_right']:.4f}), pass: {large['pass']}",
              f"reference in the same run: a NumPy threshold pass {large['numpy_pass_s']:.3f} s "
              f"(ratio {large['ratio_to_numpy_pass']:.0f}), a scipy.ndimage.label pass {large['label_pass_s']:.2f} s "
              f"(ratio {large['ratio_to_label_pass']:.1f})"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from rhinoapp.phantom import HARD_VARIANTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two variants and the large case at 1 mm")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results", help="folder of the results")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        run_child(args.child)
        return 0
    names = QUICK_VARIANTS if args.quick else tuple(v.value for v in HARD_VARIANTS)
    rows = variant_rows(names)
    large = large_case(1.0 if args.quick else 0.5)
    text = report(rows, large)
    sys.stdout.write(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "segmentation_hard-quick" if args.quick else "segmentation_hard"
    (args.out / f"{stem}.txt").write_text(text)
    (args.out / f"{stem}.json").write_text(json.dumps(
        {"goals": GOALS, "machine": platform.platform(), "python": platform.python_version(), "variants": rows,
         "large": large, "quick": args.quick}, indent=2))
    return 0 if all(row.get("pass") for row in rows) and large["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
