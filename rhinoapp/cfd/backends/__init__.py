"""Compute backends with one set of equations: NumPy reference, Numba CPU, CuPy GPU.

Examples
--------
>>> resolve_backend("numpy")
<BackendName.NUMPY: 'numpy'>
>>> resolve_backend("auto") in (BackendName.NUMBA, BackendName.CUPY)
True
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

from rhinoapp.cfd.backends.base import Backend, BoundaryKind, BoundaryValues, KernelParameters
from rhinoapp.cfd.config import BackendName
from rhinoapp.cfd.setup import SparseLattice
from rhinoapp.core.errors import ConfigurationError

__all__ = [
    "Backend",
    "BoundaryKind",
    "BoundaryValues",
    "KernelParameters",
    "cupy_available",
    "create_backend",
    "resolve_backend",
]

_log = logging.getLogger(__name__)

_INSTALL_HINT = {
    BackendName.NUMBA: "install Numba (pip install numba), or choose --backend numpy",
    BackendName.CUPY: "install the GPU extra (pip install rhinoapp[gpu]) on a machine with an NVIDIA GPU and "
                      "CUDA 12 driver, or choose --backend numba",
}


def cupy_available() -> bool:
    """True if CuPy imports and sees at least one CUDA device."""
    try:
        cupy = importlib.import_module("cupy")
        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:  # ImportError, or CUDA errors when no driver or device is present
        return False


def resolve_backend(name: BackendName | str) -> BackendName:
    """The concrete backend for ``name``: ``auto`` picks CuPy with a GPU, else Numba, else NumPy."""
    name = BackendName(name)
    if name is not BackendName.AUTO:
        return name
    if cupy_available():
        return BackendName.CUPY
    try:
        importlib.import_module("numba")
    except ImportError:
        return BackendName.NUMPY
    return BackendName.NUMBA


def create_backend(name: BackendName | str, lattice: SparseLattice, params: KernelParameters,
                   boundary: BoundaryValues, *, threads: int | None = None) -> Backend:
    """A backend of kind ``name`` loaded with ``lattice``; a missing package raises with an install hint."""
    name = resolve_backend(name)
    module = {BackendName.NUMPY: "numpy_ref", BackendName.NUMBA: "numba_cpu", BackendName.CUPY: "cupy_gpu"}[name]
    try:
        backend_module = importlib.import_module(f"rhinoapp.cfd.backends.{module}")
    except ImportError as error:
        raise ConfigurationError(f"the {name.value} backend is not available ({error}): "
                                 f"{_INSTALL_HINT.get(name, '')}") from error
    if name is BackendName.CUPY and not cupy_available():
        installed = importlib.util.find_spec("cupy") is not None
        raise ConfigurationError(("CuPy is installed but finds no usable CUDA GPU: " if installed else
                                  "the cupy backend needs CuPy, which is not installed: ") + _INSTALL_HINT[name])
    cls = {BackendName.NUMPY: "NumpyBackend", BackendName.NUMBA: "NumbaBackend", BackendName.CUPY: "CupyBackend"}
    _log.info("backend: %s", name.value)
    result: Backend = getattr(backend_module, cls[name])(lattice, params, boundary, threads=threads)
    return result
