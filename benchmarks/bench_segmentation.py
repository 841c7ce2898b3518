"""Segmentation, surface and cross-sections of a full-size CT: 512 x 512 x 300 voxels at 0.5 mm.

The volume is the nasal phantom (``rhinoapp.phantom``, straight variant, 0.5 mm) embedded in a
whole-head field of view of 256 x 256 x 150 mm: outside its box, soft tissue fills an elliptical
head (whose face continues the phantom's) and air surrounds it, with the same noise. A child
process loads the volume and times, one after the other:

* ``segment_airway`` (threshold, outside air, nostrils, region growing, outlet, sinuses, sides);
* ``extract_surface`` (smoothed iso-surface, windowed sinc, decimation to 100,000 triangles,
  checks, face labels);
* ``side_metrics`` (coronal area profiles, mCSA, volumes, wall areas);

then reports its peak resident memory (the whole process: Python, VTK, the 157 MB input) and, as
the same-run reference, the time of one ``scipy.ndimage.label`` pass over the thresholded volume
(the floor of any region growing on this machine). Goals on the 2-core machine: at most 15 s and
4 GB.

Usage::

    .venv/bin/python benchmarks/bench_segmentation.py [--repeats 1]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPE = (300, 512, 512)  # k, j, i
SPACING_MM = 0.5


def build_volume(path: Path) -> None:
    """Write the padded phantom (int16 HU) and its grid origin to ``path`` (.npz)."""
    from rhinoapp.phantom import generate_phantom, variant_params

    phantom = generate_phantom(variant_params("straight"))
    small = phantom.ct
    origin = np.array([-128.0, -40.0, -70.0]) + SPACING_MM / 2  # x, y, z of voxel (0, 0, 0)
    nk, nj, ni = SHAPE
    x = origin[0] + SPACING_MM * np.arange(ni)
    y = origin[1] + SPACING_MM * np.arange(nj)
    z = origin[2] + SPACING_MM * np.arange(nk)
    head = ((x[None, :] / 75.0) ** 2 + ((y[:, None] - 70.0) / 105.0) ** 2 <= 1.0) & (y[:, None] >= 0.012 * x[None, :] ** 2)
    rng = np.random.default_rng(1)
    hu = np.empty(SHAPE, dtype=np.int16)
    for k in range(nk):  # slice by slice: the generator's own memory stays small
        noise = rng.standard_normal((nj, ni), dtype=np.float32) * np.float32(phantom.params.noise_hu)
        hu[k] = np.rint(np.where(head, 45.0, -1000.0) + noise).astype(np.int16)
    start = np.rint((np.asarray(small.geometry.origin_mm) - origin) / SPACING_MM).astype(int)  # i, j, k
    box = tuple(slice(s, s + n) for s, n in zip(start[::-1], small.geometry.shape))
    hu[box] = small.hu
    del z
    np.savez(path, hu=hu, origin=origin)


def run_child(path: Path) -> None:
    """Time the pipeline on the saved volume and print one line of numbers."""
    from scipy import ndimage

    from rhinoapp.core.volume import CTVolume, ImageGeometry
    from rhinoapp.geometry import extract_surface, side_metrics
    from rhinoapp.segmentation import segment_airway

    data = np.load(path)
    volume = CTVolume(data["hu"], ImageGeometry(SHAPE, (SPACING_MM,) * 3, tuple(data["origin"])))
    start = time.perf_counter()
    result = segment_airway(volume)
    segmented = time.perf_counter()
    surface = extract_surface(result.labels, [result.inlet_left, result.inlet_right, result.outlet])
    surfaced = time.perf_counter()
    left, right = side_metrics(result.labels, (result.inlet_left, result.inlet_right), surface)
    done = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    check = surface.mesh.check()
    air = volume.hu < -550
    reference_start = time.perf_counter()
    ndimage.label(air)
    reference = time.perf_counter() - reference_start
    print(segmented - start, surfaced - segmented, done - surfaced, peak_gb, reference, len(surface.mesh.triangles),
          int(check.watertight and check.manifold), left.mcsa_cm2, right.mcsa_cm2, left.volume_ml, right.volume_ml)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs, each in a fresh process (median reported)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        run_child(args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="rhinoapp-bench-") as folder:
        path = Path(folder) / "volume.npz"
        build_volume(path)
        rows = []
        for _ in range(args.repeats):
            result = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                                    check=False)
            if result.returncode:
                sys.stderr.write(result.stderr)
                return 1
            rows.append([float(v) for v in result.stdout.split()])
    seg, surf, cross, peak, reference, triangles, closed, mcsa_l, mcsa_r, vol_l, vol_r = (
        statistics.median(column) for column in zip(*rows))
    total = seg + surf + cross
    nk, nj, ni = SHAPE
    print(f"volume: {ni} x {nj} x {nk} voxels at {SPACING_MM} mm ({ni * nj * nk / 1e6:.1f} M voxels, "
          f"{ni * nj * nk * 2 / 1e6:.0f} MB int16); median of {len(rows)} run(s), each in a fresh process")
    print(f"  segmentation     {seg:6.2f} s   (left {vol_l:.2f} ml, right {vol_r:.2f} ml)")
    print(f"  surface          {surf:6.2f} s   ({int(triangles)} triangles, closed and manifold: {bool(closed)})")
    print(f"  cross-sections   {cross:6.2f} s   (mCSA left {mcsa_l:.3f} cm2, right {mcsa_r:.3f} cm2)")
    print(f"  total            {total:6.2f} s   (goal <= 15 s)")
    print(f"  peak memory      {peak:6.2f} GB  (goal <= 4 GB; whole process, input volume included)")
    print(f"reference: one scipy.ndimage.label pass over the thresholded volume {reference:.2f} s; "
          f"total / reference = {total / reference:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
