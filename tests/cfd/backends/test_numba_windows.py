"""Window tables: they encode exactly the lattice's gather, and the windowed kernel equals the plain one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.cfd.backends import BoundaryValues, KernelParameters
from rhinoapp.cfd.backends.numba_cpu import NumbaBackend
from rhinoapp.cfd.backends.numba_windows import GROUP, WindowTables, build_window_tables
from rhinoapp.cfd.config import PhysicsConfig
from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.lattice import BLOCK, OPPOSITE, Q
from rhinoapp.cfd.setup import SparseLattice, address, build_lattice
from rhinoapp.cfd.shapes import sponge_mask, square_duct
from rhinoapp.cfd.simulation import boundary_values, sponge_relaxation_times
from rhinoapp.cfd.solver import ramp
from rhinoapp.cfd.units import choose_lattice_parameters
from rhinoapp.core.volume import ImageGeometry


def _sponge() -> SparseLattice:
    mask = sponge_mask((24, 30, 40), 0.15, seed=3, smoothing=2.0)
    empty = np.zeros_like(mask)
    return build_lattice(FlowDomain(mask, empty, empty, empty, ImageGeometry(mask.shape), periodic=(True,) * 3))


def decode(tables: WindowTables, n_blocks: int) -> np.ndarray:
    """The gather table the window tables stand for (the kernel's reading, written in NumPy)."""
    per_block = BLOCK // GROUP
    group = np.arange(tables.n_groups)
    q = (group // per_block) % (Q - 1) + 1
    own_cell = (group // ((Q - 1) * per_block)) * BLOCK + (group % per_block) * GROUP
    lanes = tables.lanes.astype(np.int64)
    chunks = np.stack([tables.chunk0, tables.chunk0 + tables.delta[:, 0], tables.chunk0 + tables.delta[:, 1]], axis=1)
    slot = np.minimum(lanes // GROUP, 2)
    cell = np.take_along_axis(chunks.astype(np.int64), slot, axis=1) * GROUP + lanes % GROUP
    bounce_cell = own_cell[:, None] + np.arange(GROUP)
    decoded = np.where(lanes >= 48, address(OPPOSITE[q][:, None], bounce_cell), address(q[:, None], cell))
    fallback = tables.chunk0 < 0
    decoded[fallback] = tables.fallback[-1 - tables.chunk0[fallback]]
    return decoded.ravel()


@pytest.mark.parametrize("shape", ["sponge", "phantom", "duct"])
def test_tables_encode_the_gather_exactly(shape: str, phantom_2mm: FlowDomain) -> None:
    lattice = {"sponge": _sponge, "phantom": lambda: build_lattice(phantom_2mm),
               "duct": lambda: build_lattice(square_duct(9, 7, periodic=True))}[shape]()
    tables = build_window_tables(lattice.gather, lattice.n_blocks, lattice.ghost_start)
    assert tables.n_groups * GROUP == lattice.gather.size
    assert np.array_equal(decode(tables, lattice.n_blocks), lattice.gather)
    assert tables.nbytes / (lattice.n_blocks * BLOCK) < 30  # bytes per cell, beside 72 of the gather table
    if shape != "duct":  # in a 9-cell duct every row wraps: most groups fall back, as they should
        assert tables.fallback_fraction < 0.1


def test_links_into_openings_fall_back_to_the_gather(phantom_2mm: FlowDomain) -> None:
    lattice = build_lattice(phantom_2mm)
    tables = build_window_tables(lattice.gather, lattice.n_blocks, lattice.ghost_start)
    ghost_groups = (lattice.gather.reshape(-1, GROUP) >= lattice.ghost_start).any(axis=1)
    assert ghost_groups.any() and np.all(tables.chunk0[ghost_groups] < 0)


def test_wrong_table_size_is_refused() -> None:
    with pytest.raises(ValueError, match="gather table has 5 entries"):
        build_window_tables(np.zeros(5, np.int32), 1, 10**6)


def _problems(phantom: FlowDomain) -> dict[str, tuple[SparseLattice, KernelParameters, BoundaryValues]]:
    lattice = build_lattice(phantom)
    physics = PhysicsConfig(flow_ml_s=250.0)
    units = choose_lattice_parameters(lattice.domain, physics)
    params = KernelParameters(tau=units.tau, magic=units.trt_magic, smagorinsky=units.smagorinsky_constant,
                              tau_cells=sponge_relaxation_times(lattice, units.tau, 6, 30.0))
    return {"physiological": (lattice, params, boundary_values(lattice, physics, units)),
            "forced": (_sponge(), KernelParameters(tau=0.7, force=(1e-5, 2e-6, 3e-5)), BoundaryValues.closed())}


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["physiological", "forced"])
def test_windowed_and_plain_gather_are_bit_identical(variant: str, phantom_2mm: FlowDomain) -> None:
    lattice, params, boundary = _problems(phantom_2mm)[variant]
    states = []
    for windows in (True, False):
        backend = NumbaBackend(lattice, params, boundary, windows=windows)
        assert (backend.windows.n_groups > 0) is windows
        backend.advance(ramp(np.arange(1, 201), 100))
        states.append((backend.get_state(), backend.take_diagnostics()))
    (windowed, (flux_w, p_w, _)), (plain, (flux, p, _)) = states
    assert np.any(windowed != 0) and np.array_equal(windowed, plain)
    assert np.array_equal(flux_w, flux) and np.array_equal(p_w, p)


@pytest.mark.slow
def test_kernels_without_avx512_compile_and_agree(tmp_path: Path) -> None:
    """Where the CPU lacks AVX-512 the permute is written portably; emulate such a CPU in a fresh process."""
    script = textwrap.dedent("""
        import numpy as np
        from rhinoapp.cfd.backends import numba_windows
        numba_windows.host_has_vector_permute = lambda: False
        from rhinoapp.cfd.backends import BoundaryValues, KernelParameters
        from rhinoapp.cfd.backends.numba_cpu import NumbaBackend
        from rhinoapp.cfd.domain import FlowDomain
        from rhinoapp.cfd.setup import build_lattice
        from rhinoapp.cfd.shapes import sponge_mask
        from rhinoapp.core.volume import ImageGeometry
        mask = sponge_mask((12, 20, 24), 0.2, seed=5, smoothing=2.0)
        empty = np.zeros_like(mask)
        lattice = build_lattice(FlowDomain(mask, empty, empty, empty, ImageGeometry(mask.shape), periodic=(True,) * 3))
        states = []
        for windows in (True, False):
            backend = NumbaBackend(lattice, KernelParameters(tau=0.7, force=(1e-5, 0.0, 2e-5)),
                                   BoundaryValues.closed(), windows=windows)
            backend.advance(np.ones(50))
            states.append(backend.get_state())
        assert np.any(states[0] != 0) and np.array_equal(states[0], states[1])
        print("portable windows agree")
    """)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "portable windows agree" in done.stdout
