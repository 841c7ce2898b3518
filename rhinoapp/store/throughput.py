"""The solver's measured speed on this machine, kept in the data directory for the run-time estimates.

``<data_dir>/throughput.json`` holds one entry per machine, backend, thread count, flow model and calibration
grid size (:func:`rhinoapp.cfd.throughput.calibration_cells`): the MLUPS that
:func:`~rhinoapp.cfd.throughput.measure_throughput` measured and when. :func:`measured_mlups`
answers from it while the entry is fresh (:data:`MAX_AGE_S`) and measures again when it is stale
or missing (a few seconds, once). A file that cannot be read or written only costs a measurement:
the estimate never fails because of it.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> calls = []
>>> def fake(backend, *, threads, cells, flow_model):  # the real measurement takes seconds
...     calls.append(cells)
...     return 12.5
>>> measured_mlups(folder, "numpy", fluid_cells=20_000, measure=fake)
12.5
>>> measured_mlups(folder, "numpy", fluid_cells=20_000, measure=fake), calls  # the kept figure
(12.5, [16384])
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from rhinoapp.cfd.backends import resolve_backend
from rhinoapp.cfd.config import BackendName, FlowModel
from rhinoapp.cfd.throughput import calibration_cells, measure_throughput

__all__ = ["MAX_AGE_S", "THROUGHPUT_FILE", "machine_key", "measured_mlups"]

_log = logging.getLogger(__name__)

#: File name of the kept measurements inside the data directory.
THROUGHPUT_FILE = "throughput.json"
#: A measurement older than this (seconds) is taken again: the machine's load and software change.
MAX_AGE_S = 6 * 3600.0

Measure = Callable[..., float]


def machine_key(backend: BackendName | str, threads: int | None, cells: int,
                flow_model: FlowModel | str = FlowModel.STANDARD) -> str:
    """The entry's key: host, CPU, backend, threads, calibration grid size and (unless standard) the flow model.

    Examples
    --------
    >>> machine_key("numpy", None, 16384).endswith("|numpy|threads=all|cells=16384")
    True
    >>> machine_key("numpy", None, 16384, "smooth_walls").endswith("|cells=16384|model=smooth_walls")
    True
    """
    cpu = platform.processor() or platform.machine()
    model = FlowModel(flow_model)
    return (f"{platform.node()}|{cpu}|cpus={os.cpu_count()}|{resolve_backend(backend).value}|"
            f"threads={threads or 'all'}|cells={cells}{'' if model is FlowModel.STANDARD else f'|model={model.value}'}")


def measured_mlups(data_dir: Path, backend: BackendName | str, *, fluid_cells: int, threads: int | None = None,
                   flow_model: FlowModel | str = FlowModel.STANDARD, max_age_s: float = MAX_AGE_S,
                   measure: Measure = measure_throughput) -> float:
    """This machine's speed for a run of ``fluid_cells`` on ``backend`` with ``flow_model``'s kernel: kept while
    fresh, else measured and kept."""
    cells = calibration_cells(fluid_cells)
    model = FlowModel(flow_model)
    key = machine_key(backend, threads, cells, model)
    path = Path(data_dir) / THROUGHPUT_FILE
    kept = _read(path)
    entry = kept.get(key)
    now = time.time()
    if isinstance(entry, dict) and now - float(entry.get("measured_at", 0.0)) <= max_age_s \
            and float(entry.get("mlups", 0.0)) > 0:
        return float(entry["mlups"])
    mlups = float(measure(backend, threads=threads, cells=cells, flow_model=model))
    kept[key] = {"mlups": mlups, "measured_at": now, "cells": cells}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        _log.warning("the measured solver speed could not be kept in %s (%s); it is measured again next time",
                     path, error)
    return mlups


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
