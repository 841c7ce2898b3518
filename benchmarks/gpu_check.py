"""The CuPy solver on a real GPU, in one run (issue 21): correctness, speed against the bandwidth bound, time to solution.

Sections, each timed and reported on its own (one that fails is recorded with its error and the
run goes on):

``environment``        GPU name, driver, CUDA and package versions; what importing the solver pulls in
``bandwidth``          device-to-device copy bandwidth (cudaMemcpy and a copy kernel; CUDA events, best of 10)
``speed``              MFLUPS of the TRT and the production kernel on bench_lbm's 200 x 150 x 300 sponge with
                       15 % fluid and on one 4x larger; bytes per update from the backend's arrays; fraction
                       of the bound ``bandwidth / bytes per update`` (goal 60 %)
``agreement``          the backend against NumPy after 300 steps (phantom with openings, forced duct): 1e-5
``restart``            a run resumed from its checkpoint ends where the uninterrupted one does
``poiseuille``         the square duct against the series solution, second-order convergence
``mass_conservation``  laminar steady flow through the phantom: inflow = outflow to 0.5 %
``time_to_solution``   the realistic phantom airway at 0.5 and 0.25 mm, lattice to converged result; the same
                       steps on 2 CPU cores, estimated from a short timed run there
``partition``          250 ml/s through the symmetric phantom: 50 +- 2 % per side, next to the CPU run
``cupy_tests``         ``pytest tests/cfd/test_backends.py -k cupy`` (the CuPy backend's tests; the emulation of
                       its CUDA source on the CPU runs in every ``make test``)
``profile``            Nsight Compute on one launch of the production kernel (where ncu reads counters)
``rendering``          whether the render stack (VTK with EGL) is there (it is not carried: too large)

Writes ``gpu-<UTC time>.json`` and ``.txt`` into ``--out`` (default ``$OUT``, else ``./gpu-results``)
after every section, plus ``pytest.log`` and ``ncu.txt``; a full GPU run also copies the JSON and
text into ``benchmarks/results/``. ``--dry-run`` runs every solver section at a tiny size on a CPU
backend (NumPy unless ``--backend`` says otherwise): the GPU-only sections then say
``no GPU/CuPy: skipped``.

Usage (the device command is ``bash benchmarks/gpu_check.sh``, which calls this)::

    python3 benchmarks/gpu_check.py [--out DIR] [--sections a,b] [--budget-s 450] [--dry-run] [--backend numpy]
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gpu_solver_checks as checks  # noqa: E402 (the sibling module, found once its folder is on the path)

NO_GPU = "no GPU/CuPy"
#: Rough seconds each section needs at full size on the GPU machine (a section starts only if that much is left).
ESTIMATE_S = {"environment": 5, "bandwidth": 10, "speed": 60, "agreement": 20, "poiseuille": 15,
              "mass_conservation": 20, "partition": 80, "restart": 10, "cupy_tests": 45, "time_to_solution": 150,
              "profile": 90, "rendering": 1}
HEAVY_MODULES = ("vtk", "vtkmodules", "panel", "bokeh", "param", "sqlalchemy", "pydicom", "nibabel", "pyvista")


class Skip(Exception):
    """A section that cannot run here, with the reason."""


class Context:
    """What the sections share: arguments, sizes, CuPy (or None), the report and the output folder."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = checks.TINY if args.dry_run else checks.FULL
        self.backend = args.backend or ("numpy" if args.dry_run else "cupy")
        self.reference = args.reference or ("numpy" if args.dry_run else "numba")
        self.cupy = _cupy_with_gpu()
        self.out = Path(args.out)
        self.deadline = time.monotonic() + args.budget_s
        self.bandwidth_gb_s: float | None = None
        self.lines: list[str] = []

    def log(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def needs_backend(self) -> None:
        if self.backend == "cupy" and self.cupy is None:
            raise Skip(NO_GPU)


def _cupy_with_gpu() -> Any:
    try:
        cupy = importlib.import_module("cupy")
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # ImportError, or CUDA errors without a driver or device
        return None


def _run(command: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run ``command``; past ``timeout`` it is killed and reported with exit code 124 and what it printed."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=max(timeout, 1.0), check=False,
                              **kwargs)
    except subprocess.TimeoutExpired as expired:
        def text(value: str | bytes | None) -> str:
            return value.decode(errors="replace") if isinstance(value, bytes) else value or ""

        return subprocess.CompletedProcess(command, 124, text(expired.stdout),
                                           text(expired.stderr) + f"\n(killed after {timeout:.0f} s)")


# ------------------------------------------------------------------------------------------------- sections


def environment(ctx: Context) -> dict[str, Any]:
    """GPU, driver, CUDA and packages; which heavy modules the solver's imports pull in."""
    versions = {}
    for dist in ("numpy", "scipy", "numba", "llvmlite", "cupy-cuda13x", "cupy-cuda12x", "cupy", "pytest"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    info: dict[str, Any] = {"python": sys.version.split()[0], "executable": sys.executable,
                            "platform": platform.platform(), "cpus": os.cpu_count(), "packages": versions,
                            "backend": ctx.backend, "cpu_reference": ctx.reference, "dry_run": ctx.args.dry_run}
    if shutil.which("nvidia-smi"):
        for fields in ("name,driver_version,memory.total,clocks.max.sm,clocks.max.memory,power.limit,compute_cap",
                       "name,driver_version,memory.total"):  # an older driver may not know every field
            query = _run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader"], 30)
            if query.returncode == 0:
                break
        info["nvidia_smi"] = dict(zip(fields.split(","), (v.strip() for v in query.stdout.split(",")), strict=False))
        info["nvidia_smi_text"] = _run(["nvidia-smi"], 30).stdout
        ctx.log(f"  nvidia-smi: {query.stdout.strip() or query.stderr.strip()}")
    else:
        ctx.log("  nvidia-smi: not found")
    if ctx.cupy is not None:
        runtime = ctx.cupy.cuda.runtime
        props = runtime.getDeviceProperties(0)
        keep = ("name", "totalGlobalMem", "multiProcessorCount", "l2CacheSize", "major", "minor", "memoryBusWidth",
                "memoryClockRate", "clockRate", "maxThreadsPerMultiProcessor", "regsPerMultiprocessor")
        device = {k: (props[k].decode() if isinstance(props[k], bytes) else props[k]) for k in keep if k in props}
        if device.get("memoryClockRate") and device.get("memoryBusWidth"):  # kHz, bits; DDR: two transfers a clock
            device["theoretical_bandwidth_gb_s"] = 2 * device["memoryClockRate"] * 1e3 * device["memoryBusWidth"] / 8 / 1e9
        info |= {"cuda_runtime": runtime.runtimeGetVersion(), "cuda_driver": runtime.driverGetVersion(),
                 "device": device}
        ctx.log(f"  CuPy {versions.get('cupy-cuda13x') or versions.get('cupy-cuda12x') or versions.get('cupy')}, CUDA "
                f"runtime {info['cuda_runtime']}, driver API {info['cuda_driver']}: {device.get('name')}, "
                f"{device.get('multiProcessorCount')} SMs, {device.get('totalGlobalMem', 0) / 2**30:.0f} GiB")
    else:
        ctx.log(f"  CuPy: {NO_GPU}, GPU figures skipped")
    for name in ("rhinoapp.cfd", "rhinoapp.cfd.simulation", "rhinoapp.cfd.backends.numpy_ref",
                 "rhinoapp.cfd.backends.cupy_gpu", "rhinoapp.cfd.shapes", "rhinoapp.phantom"):
        importlib.import_module(name)
    pulled = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY_MODULES))
    info["solver_imports"] = {"heavy_modules_loaded": pulled, "clean": not pulled}
    ctx.log(f"  importing the solver path loads {', '.join(pulled) if pulled else 'none of'} "
            f"{'' if pulled else ' '.join(HEAVY_MODULES)}")
    return info


def bandwidth(ctx: Context) -> dict[str, Any]:
    """Copy bandwidth (bytes read + written per second), best of 10: device-to-device on the GPU; in a dry run one
    NumPy copy on the host, so that the fraction-of-bound arithmetic runs too."""
    n = ctx.sizes.bandwidth_mib * 2**20 // 4
    if ctx.cupy is None:
        if not ctx.args.dry_run:
            raise Skip(NO_GPU)
        import numpy as np

        src, dst = np.ones(n, np.float32), np.zeros(n, np.float32)
        timer = checks.StepTimer("numpy")
        best = min(timer.time(lambda: np.copyto(dst, src)) for _ in range(10))
        ctx.bandwidth_gb_s = 2 * src.nbytes / best / 1e9
        ctx.log(f"  {NO_GPU}: skipped; host NumPy copy (one core, dry run only): {ctx.bandwidth_gb_s:.1f} GB/s")
        return {"method": "host numpy copy (dry run)", "bandwidth_gb_s": ctx.bandwidth_gb_s}
    cp = ctx.cupy
    src = cp.arange(n, dtype=cp.float32)
    dst = cp.empty_like(src)
    timer = checks.StepTimer("cupy")
    runtime = cp.cuda.runtime

    def memcpy() -> None:
        runtime.memcpyAsync(dst.data.ptr, src.data.ptr, src.nbytes, runtime.memcpyDeviceToDevice,
                            cp.cuda.get_current_stream().ptr)

    def kernel() -> None:
        cp.copyto(dst, src)

    figures = {}
    for label, work in (("cudaMemcpy device-to-device", memcpy), ("copy kernel (cupy.copyto)", kernel)):
        for _ in range(2):
            work()
        seconds = min(timer.time(work) for _ in range(10))
        figures[label] = 2 * src.nbytes / seconds / 1e9
        ctx.log(f"  {label}: {figures[label]:,.0f} GB/s ({2 * src.nbytes / 1e9:.1f} GB moved in {seconds * 1e3:.2f} ms)")
    ok = bool(cp.all(dst == src))
    ctx.bandwidth_gb_s = max(figures.values())
    return {"array_bytes": int(src.nbytes), "best_of": 10, "gb_s": figures, "bandwidth_gb_s": ctx.bandwidth_gb_s,
            "copy_correct": ok, "vendor_peak_gb_s": 4800}


def speed(ctx: Context) -> dict[str, Any]:
    ctx.needs_backend()
    return checks.speed(ctx.backend, ctx.sizes, ctx.bandwidth_gb_s, ctx.log)


def agreement(ctx: Context) -> dict[str, Any]:
    ctx.needs_backend()
    return checks.agreement(ctx.backend, ctx.sizes, ctx.log)


def poiseuille(ctx: Context) -> dict[str, Any]:
    ctx.needs_backend()
    return checks.poiseuille(ctx.backend, ctx.sizes, ctx.log)


def mass_conservation(ctx: Context) -> dict[str, Any]:
    ctx.needs_backend()
    return checks.mass_conservation(ctx.backend, ctx.sizes, ctx.log)


def partition(ctx: Context) -> dict[str, Any]:
    ctx.needs_backend()
    return checks.partition(ctx.backend, ctx.reference, ctx.sizes, ctx.log)


def restart(ctx: Context) -> dict[str, Any]:
    ctx.needs_backend()
    return checks.restart(ctx.backend, ctx.sizes, ctx.log)


def time_to_solution(ctx: Context) -> dict[str, Any]:
    ctx.needs_backend()
    return checks.time_to_solution(ctx.backend, ctx.reference, ctx.sizes, ctx.log,
                                   variant=ctx.args.phantom_variant,
                                   memory_limit_bytes=int(ctx.args.memory_limit_gb * 2**30))


def cupy_tests(ctx: Context) -> dict[str, Any]:
    """The CuPy backend's tests, without the repository's top conftest (it needs the store's SQLAlchemy)."""
    if ctx.cupy is None and not ctx.args.dry_run:
        raise Skip(NO_GPU)
    command = [sys.executable, "-m", "pytest", "tests/cfd/test_backends.py", "-k", "cupy", "-q", "-rs",
               "-p", "no:cacheprovider", f"--confcutdir={ROOT / 'tests' / 'cfd'}"]
    run = _run(command, min(240.0, ctx.remaining()), cwd=ROOT, env=os.environ | {"PYTHONPATH": _pythonpath()})
    (ctx.out / "pytest.log").write_text(f"$ {' '.join(command)}\n{run.stdout}\n{run.stderr}")
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", run.stdout)}
    last = next((line for line in reversed(run.stdout.splitlines()) if line.strip()), "")
    ctx.log(f"  pytest: {last} (exit {run.returncode}; full output in pytest.log)")
    for line in run.stdout.splitlines():
        if line.startswith(("SKIPPED", "FAILED", "ERROR")):
            ctx.log(f"    {line}")
    return {"command": command, "returncode": run.returncode, "counts": counts, "summary": last,
            "passed_check": {"value": counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
                             "limit": 0, "passed": run.returncode == 0}}


def _pythonpath() -> str:
    return os.pathsep.join([str(ROOT), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]])


def _ncu() -> str | None:
    found = shutil.which("ncu") or sorted(glob.glob("/opt/nvidia/nsight-compute/*/ncu") +
                                          glob.glob("/usr/local/cuda*/bin/ncu"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def profile(ctx: Context) -> dict[str, Any]:
    """Nsight Compute on the fourth launch of the production kernel on the benchmark sponge."""
    if ctx.cupy is None:
        raise Skip(NO_GPU)
    ncu = _ncu()
    if ncu is None:
        raise Skip("ncu (Nsight Compute) not found on this machine")
    command = [ncu, "--clock-control", "none", "--target-processes", "all", "-k", "regex:stream_collide", "-s", "3",
               "-c", "1", *[a for s in ("SpeedOfLight", "MemoryWorkloadAnalysis", "Occupancy", "LaunchStats",
                                        "WarpStateStats", "SchedulerStats") for a in ("--section", s)],
               sys.executable, str(Path(__file__).resolve()), "--profile-target"]
    run = _run(command, min(150.0, ctx.remaining()), cwd=ROOT, env=os.environ | {"PYTHONPATH": _pythonpath()})
    (ctx.out / "ncu.txt").write_text(f"$ {' '.join(command)}\n{run.stdout}\n{run.stderr}")
    wanted = ("Duration", "DRAM Throughput", "Memory Throughput", "L1/TEX Hit Rate", "L2 Hit Rate",
              "Achieved Occupancy", "Theoretical Occupancy", "Registers Per Thread", "Compute (SM) Throughput",
              "Mem Busy", "Max Bandwidth", "Issue Slots Busy", "Block Limit Registers")
    metrics = {}
    for line in run.stdout.splitlines():
        parts = line.strip().split()
        for name in wanted:
            if line.strip().startswith(name) and len(parts) >= 2:
                metrics[name] = " ".join(parts[len(name.split()):])
    for name, value in metrics.items():
        ctx.log(f"  {name}: {value}")
    if run.returncode != 0 or not metrics:
        ctx.log(f"  ncu exit {run.returncode}; see ncu.txt: {(run.stderr or run.stdout).strip()[-300:]}")
    return {"command": command, "returncode": run.returncode, "metrics": metrics}


def profile_target() -> int:
    """The program ncu profiles: five steps of the production kernel on the benchmark sponge."""
    import numpy as np

    from rhinoapp.cfd.backends import BoundaryValues, KernelParameters, create_backend
    from rhinoapp.cfd.domain import FlowDomain
    from rhinoapp.cfd.setup import build_lattice
    from rhinoapp.cfd.shapes import sponge_mask
    from rhinoapp.core.volume import ImageGeometry

    mask = sponge_mask(checks.SPONGE_GRID, 0.15, seed=1)
    empty = np.zeros_like(mask)
    lattice = build_lattice(FlowDomain(mask, empty, empty, empty, ImageGeometry(checks.SPONGE_GRID),
                                       periodic=(True, True, True)))
    backend = create_backend("cupy", lattice, KernelParameters(tau=0.5018, magic=0.0009, smagorinsky=0.15),
                             BoundaryValues.closed())
    backend.advance(np.ones(5))
    return 0 if math.isfinite(backend.max_speed()) else 1


def rendering(ctx: Context) -> dict[str, Any]:
    """GPU rendering needs VTK built with EGL; the machine has no VTK and a call cannot carry it."""
    if importlib.util.find_spec("vtkmodules") is None:
        raise Skip("VTK is not installed on the GPU machine and cannot be carried: the VTK 9.7 wheel unpacks to "
                   "about 570 MB, far above the 64 MiB a device call can carry, and nothing can be downloaded "
                   "there; the render worker's EGL frame times stay unmeasured")
    from vtkmodules import vtkRenderingOpenGL2  # noqa: F401 - registers the render window classes
    from vtkmodules.vtkCommonCore import vtkVersion

    egl = importlib.util.find_spec("vtkmodules.vtkRenderingEGL") is not None
    ctx.log(f"  VTK {vtkVersion.GetVTKVersion()} found; EGL module {'present' if egl else 'absent'} "
            "(frame timing is bench_trame.py's job)")
    return {"vtk": vtkVersion.GetVTKVersion(), "egl_module": egl}


#: In order of priority (the figures the issue asks for first), as they run.
SECTIONS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "environment": environment, "bandwidth": bandwidth, "speed": speed, "agreement": agreement, "restart": restart,
    "poiseuille": poiseuille, "mass_conservation": mass_conservation, "time_to_solution": time_to_solution,
    "partition": partition, "cupy_tests": cupy_tests, "profile": profile, "rendering": rendering}


# ------------------------------------------------------------------------------------------------- report


def _plain(value: Any) -> Any:
    """JSON-ready: NumPy scalars to Python, NaN and inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def failed_checks(report: dict[str, Any]) -> list[str]:
    """Paths of every check (``{"value", "limit", "passed"}`` or ``*_passed``) that did not pass."""
    found = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("passed") is False and "limit" in node:
                found.append(path)
            for key, value in node.items():
                if key.endswith("_passed") and value is False:
                    found.append(f"{path}.{key}")
                walk(value, f"{path}.{key}" if path else str(key))

    walk(report.get("sections", {}), "")
    return found


def render_text(report: dict[str, Any]) -> str:
    """The readable summary: headline, then every section's lines, status and error."""
    env = report["sections"].get("environment", {})
    smi = env.get("nvidia_smi", {})
    lines = [f"rhinoapp GPU check (issue 21), {report['started']} UTC, {report['elapsed_s']:.0f} s",
             (f"GPU: {smi.get('name', 'none')}, driver {smi.get('driver_version', '-')}, backend {report['backend']}"
              f"{' (DRY RUN: tiny sizes, CPU backend)' if report['dry_run'] else ''}"),
             "sections: " + ", ".join(f"{k} {v['status']}" for k, v in report["sections"].items()),
             f"checks failed: {', '.join(report['failed_checks']) or 'none'}", ""]
    for name, section in report["sections"].items():
        lines.append(f"== {name}: {section['status']} ({section.get('seconds', 0):.1f} s)")
        lines += section.get("log", [])
        if section.get("reason") and not any(section["reason"] in line for line in section.get("log", [])):
            lines.append(f"  reason: {section['reason']}")
        if section.get("error"):
            lines += ["  " + row for row in section["error"].rstrip().splitlines()[-12:]]
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out: Path, stem: str) -> tuple[Path, Path]:
    report = _plain(report)
    report["failed_checks"] = failed_checks(report)
    json_path, text_path = out / f"{stem}.json", out / f"{stem}.txt"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    text_path.write_text(render_text(report))
    return json_path, text_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu-results", help="folder for the results")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of: {', '.join(SECTIONS)}")
    parser.add_argument("--budget-s", type=float, default=450.0,
                        help="a section starts only while its estimate fits in what is left of this")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on a CPU backend (no GPU needed)")
    parser.add_argument("--backend", choices=["cupy", "numba", "numpy"], default=None,
                        help="backend checked (default cupy; numpy in a dry run)")
    parser.add_argument("--reference", choices=["numba", "numpy"], default=None,
                        help="CPU backend for the CPU figures (default numba; numpy in a dry run)")
    parser.add_argument("--phantom-variant", default="straight", help="phantom of the time-to-solution runs")
    parser.add_argument("--memory-limit-gb", type=float, default=64.0,
                        help="host memory simulate() may plan for (the GPU machine's RAM grows as it is used)")
    parser.add_argument("--no-save", action="store_true", help="do not copy the report into benchmarks/results/")
    parser.add_argument("--profile-target", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile_target:
        return profile_target()
    names = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    ctx = Context(args)
    ctx.out.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    stem = f"gpu-{started:%Y%m%d-%H%M%S}"
    report: dict[str, Any] = {"issue": 21, "started": started.isoformat(timespec="seconds"), "backend": ctx.backend,
                              "dry_run": args.dry_run, "argv": sys.argv[1:], "sections": {}, "elapsed_s": 0.0}
    clock = time.monotonic()
    for name, section in SECTIONS.items():
        if name not in names:
            continue
        ctx.lines = []
        ctx.log(f"== {name}")
        began = time.monotonic()
        entry: dict[str, Any]
        try:
            if not args.dry_run and ctx.remaining() < ESTIMATE_S[name]:
                raise Skip(f"time budget: {ctx.remaining():.0f} s left of --budget-s, the section needs about "
                           f"{ESTIMATE_S[name]} s")
            entry = {"status": "ok", **section(ctx)}
        except Skip as reason:
            entry = {"status": "skipped", "reason": str(reason)}
            ctx.log(f"  {reason}: skipped")
        except Exception as error:  # keep going: one broken section must not cost the others' figures
            entry = {"status": "failed", "error": traceback.format_exc()}
            ctx.log(f"  FAILED: {type(error).__name__}: {error}")
        entry |= {"seconds": time.monotonic() - began, "log": ctx.lines[1:]}
        report["sections"][name] = entry
        report["elapsed_s"] = time.monotonic() - clock
        json_path, text_path = write_report(report, ctx.out, stem)
    report = json.loads(json_path.read_text())
    ran_on_gpu = ctx.cupy is not None and ctx.backend == "cupy" and not args.dry_run
    if ran_on_gpu and not args.no_save:
        results = ROOT / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        for path in (json_path, text_path):
            shutil.copy2(path, results / path.name)
    failed = [k for k, v in report["sections"].items() if v["status"] == "failed"]
    print(f"\nreport: {json_path} and {text_path}; sections failed: {', '.join(failed) or 'none'}; "
          f"checks failed: {', '.join(report['failed_checks']) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
