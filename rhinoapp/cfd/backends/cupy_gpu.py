"""CuPy backend: one fused CUDA kernel per step (NVRTC-compiled ``RawModule``), for NVIDIA GPUs.

One thread per cell; a CUDA block of 256 threads is exactly one lattice block, so the rows of a
block are read and written coalesced and the gathered neighbours mostly are. The equations are
those of :mod:`rhinoapp.cfd.backends.base`, written out as in the Numba kernels; ``FORCE`` and
``LOCAL`` (Smagorinsky and sponge, with the regularized symmetric part) are compile-time macros;
a strain-average rate ``eps > 0`` selects the shear-improved model (running strain mean per cell),
a bulk rate ``bulk > 0`` relaxes the trace of the non-equilibrium momentum flux at that rate;
``RECURSIVE`` (a macro, with ``LOCAL``) rebuilds the antisymmetric part with third-order Hermite terms.
Interpolated wall links run after the open boundaries as CuPy array code shared with the NumPy
reference (:func:`~rhinoapp.cfd.backends.base.interpolate_walls`).
CuPy is imported when a backend is created; without it the error carries the install hint
``pip install rhinoapp[gpu]``.
"""

from __future__ import annotations

import importlib
import math
from types import ModuleType
from typing import Any

import numpy as np

from rhinoapp.cfd.backends.base import Backend, BoundaryValues, KernelParameters, interpolate_walls
from rhinoapp.cfd.lattice import BLOCK, OPPOSITE, VELOCITIES, WEIGHTS
from rhinoapp.cfd.setup import SparseLattice
from rhinoapp.core.errors import ConfigurationError

__all__ = ["CupyBackend"]

_PAIRS = ((1, 2, "ux", "W1", "fx", "pxx"), (3, 4, "uy", "W1", "fy", "pyy"), (5, 6, "uz", "W1", "fz", "pzz"),
          (7, 8, "ux + uy", "W2", "fx + fy", "pxx + pyy + 2.0f * pxy"),
          (9, 10, "ux - uy", "W2", "fx - fy", "pxx + pyy - 2.0f * pxy"),
          (11, 12, "ux + uz", "W2", "fx + fz", "pxx + pzz + 2.0f * pxz"),
          (13, 14, "ux - uz", "W2", "fx - fz", "pxx + pzz - 2.0f * pxz"),
          (15, 16, "uy + uz", "W2", "fy + fz", "pyy + pzz + 2.0f * pyz"),
          (17, 18, "uy - uz", "W2", "fy - fz", "pyy + pzz - 2.0f * pyz"))
# the third-order Hermite terms of each pair's first direction (recursive regularization), from the six
# combinations x1..x6 of third moments (see numpy_ref._third_order_basis)
_THIRD = {1: "-9.0f * W1 * x2", 3: "-9.0f * W1 * x1", 5: "-9.0f * W1 * x3",
          7: "4.5f * W2 * (x1 + x2 + x4 - x5)", 9: "4.5f * W2 * (x2 - x1 - x4 - x5)",
          11: "4.5f * W2 * (x2 + x3 + x5 - x6)", 13: "4.5f * W2 * (x2 - x3 + x5 + x6)",
          15: "4.5f * W2 * (x1 + x3 - x4 + x6)", 17: "4.5f * W2 * (x1 - x3 - x4 - x6)"}


def _source() -> str:
    loads = "\n".join(f"    const float f{q} = src[gather[gbase + {q - 1} * B]];" for q in range(1, 19))
    pairs = "\n".join(
        f"    pair(f{a}, f{b}, {cu}, {w}, drho, rho, usq, op, om, {cf}, uf, kr, {reg} - tr3, "
        f"RECURSIVE ? {_THIRD[a]} : 0.0f, dst[base + {a} * B], dst[base + {b} * B]);" for a, b, cu, w, cf, reg in _PAIRS)
    return f"""
#define B {BLOCK}
#ifndef RECURSIVE
#define RECURSIVE 0
#endif
#define W0 (1.0f / 3.0f)
#define W1 (1.0f / 18.0f)
#define W2 (1.0f / 36.0f)

__device__ __forceinline__ void pair(float a, float b, float cu, float w, float drho, float rho, float usq,
                                     float op, float om, float cf, float uf, float kr, float reg, float t3,
                                     float &oa, float &ob) {{
    const float eqp = w * (drho + rho * (4.5f * cu * cu - usq));
    const float eqm = w * rho * 3.0f * cu;
#if LOCAL
    const float dp = 0.5f * (a + b) - eqp - kr * 4.5f * w * reg;
#else
    const float dp = op * (0.5f * (a + b) - eqp);
#endif
#if RECURSIVE
    const float dm = 0.5f * (a - b) - eqm - t3;
#else
    const float dm = om * (0.5f * (a - b) - eqm);
#endif
#if FORCE
    const float sp = (1.0f - 0.5f * op) * w * (9.0f * cu * cf - uf);
    const float sm = (1.0f - 0.5f * om) * w * 3.0f * cf;
    oa = a - dp - dm + sp + sm;
    ob = b - dp + dm + sp - sm;
#else
    oa = a - dp - dm;
    ob = b - dp + dm;
#endif
}}

extern "C" __global__ void stream_collide(const float* __restrict__ src, float* __restrict__ dst,
        const int* __restrict__ gather, const float* __restrict__ tau_cell, float* __restrict__ strain,
        const long long n_padded, const float omega, const float omega_m, const float magic, const float csmag,
        const float eps, const float bulk, const float fx, const float fy, const float fz) {{
    const long long cell = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (cell >= n_padded) return;
    const long long blk = cell / B;
    const int lane = (int)(cell % B);
    const long long base = blk * 19 * B + lane;
    const long long gbase = blk * 18 * B + lane;
    const float f0 = src[base];
{loads}
    const float s1 = f1 + f2, s3 = f3 + f4, s5 = f5 + f6, s7 = f7 + f8, s9 = f9 + f10;
    const float s11 = f11 + f12, s13 = f13 + f14, s15 = f15 + f16, s17 = f17 + f18;
    const float a7 = f7 - f8, a9 = f9 - f10, a11 = f11 - f12, a13 = f13 - f14, a15 = f15 - f16, a17 = f17 - f18;
    const float drho = f0 + s1 + s3 + s5 + s7 + s9 + s11 + s13 + s15 + s17;
    const float rho = 1.0f + drho;
    const float inv = 1.0f / rho;
    float jx = (f1 - f2) + a7 + a9 + a11 + a13;
    float jy = (f3 - f4) + a7 - a9 + a15 + a17;
    float jz = (f5 - f6) + a11 - a13 + a15 - a17;
#if FORCE
    jx += 0.5f * fx; jy += 0.5f * fy; jz += 0.5f * fz;
#endif
    const float ux = jx * inv, uy = jy * inv, uz = jz * inv;
    const float usq = 1.5f * (ux * ux + uy * uy + uz * uz);
    float op = omega, om = omega_m;
    float pxx = 0.0f, pyy = 0.0f, pzz = 0.0f, pxy = 0.0f, pxz = 0.0f, pyz = 0.0f, tr3 = 0.0f, kr = 0.0f;
#if LOCAL
    const float third = drho * (1.0f / 3.0f);
    pxx = s1 + s7 + s9 + s11 + s13 - third - rho * ux * ux;
    pyy = s3 + s7 + s9 + s15 + s17 - third - rho * uy * uy;
    pzz = s5 + s11 + s13 + s15 + s17 - third - rho * uz * uz;
    pxy = s7 - s9 - rho * ux * uy;
    pxz = s11 - s13 - rho * ux * uz;
    pyz = s15 - s17 - rho * uy * uz;
    tr3 = (pxx + pyy + pzz) * (1.0f / 3.0f);
    const float norm = sqrtf(pxx * pxx + pyy * pyy + pzz * pzz + 2.0f * (pxy * pxy + pxz * pxz + pyz * pyz));
    const float t0 = tau_cell[cell];
    float tau;
    if (eps > 0.0f) {{  // shear-improved: the strain less its running mean (blk, 6, B)
        float* m = strain + blk * 6 * B + lane;
        const float mxx = m[0], myy = m[B], mzz = m[2 * B], mxy = m[3 * B], mxz = m[4 * B], myz = m[5 * B];
        const float mean = sqrtf(mxx * mxx + myy * myy + mzz * mzz + 2.0f * (mxy * mxy + mxz * mxz + myz * myz));
        const float shifted = t0 - {9.0 / math.sqrt(2.0)!r}f * csmag * csmag * mean;
        tau = fmaxf(t0, 0.5f * (shifted + sqrtf(shifted * shifted + {18.0 * math.sqrt(2.0)!r}f * csmag * csmag * norm * inv)));
        const float scale = eps * inv / tau;
        m[0] = mxx + (scale * pxx - eps * mxx);
        m[B] = myy + (scale * pyy - eps * myy);
        m[2 * B] = mzz + (scale * pzz - eps * mzz);
        m[3 * B] = mxy + (scale * pxy - eps * mxy);
        m[4 * B] = mxz + (scale * pxz - eps * mxz);
        m[5 * B] = myz + (scale * pyz - eps * myz);
    }} else {{
        tau = 0.5f * (t0 + sqrtf(t0 * t0 + {18.0 * math.sqrt(2.0)!r}f * csmag * csmag * norm * inv));
    }}
    op = 1.0f / tau;
    om = 1.0f / (magic / (tau - 0.5f) + 0.5f);
    kr = 1.0f - op;  // what the regularized collision keeps of the non-equilibrium flux
    if (bulk > 0.0f) {{  // the deviatoric part relaxed with op, the trace with the bulk rate
        const float tb = (1.0f - bulk) * tr3;
        pxx = kr * (pxx - tr3) + tb;
        pyy = kr * (pyy - tr3) + tb;
        pzz = kr * (pzz - tr3) + tb;
        pxy = kr * pxy; pxz = kr * pxz; pyz = kr * pyz; tr3 = tb;
        kr = 1.0f;
    }}
#endif
    float x1 = 0.0f, x2 = 0.0f, x3 = 0.0f, x4 = 0.0f, x5 = 0.0f, x6 = 0.0f;
#if RECURSIVE  // third moments: rho u u u plus the recursive non-equilibrium part of the flux kr * P
    om = 1.0f;
    const float axxy = rho * ux * ux * uy + kr * (2.0f * ux * pxy + uy * pxx);
    const float ayzz = rho * uy * uz * uz + kr * (2.0f * uz * pyz + uy * pzz);
    const float axzz = rho * ux * uz * uz + kr * (2.0f * uz * pxz + ux * pzz);
    const float axyy = rho * ux * uy * uy + kr * (2.0f * uy * pxy + ux * pyy);
    const float ayyz = rho * uy * uy * uz + kr * (2.0f * uy * pyz + uz * pyy);
    const float axxz = rho * ux * ux * uz + kr * (2.0f * ux * pxz + uz * pxx);
    x1 = axxy + ayzz; x2 = axzz + axyy; x3 = ayyz + axxz;
    x4 = axxy - ayzz; x5 = axzz - axyy; x6 = ayyz - axxz;
#endif
    const float uf = 3.0f * (ux * fx + uy * fy + uz * fz);
    const float eq0 = W0 * (drho - rho * usq);
#if LOCAL
    float rest = eq0 - kr * 4.5f * W0 * tr3;
#else
    float rest = f0 - op * (f0 - eq0);
#endif
#if FORCE
    rest -= (1.0f - 0.5f * op) * W0 * uf;
#endif
    dst[base] = rest;
{pairs}
}}

__constant__ int CX[19] = {{{", ".join(str(int(v)) for v in VELOCITIES[:, 0])}}};
__constant__ int CY[19] = {{{", ".join(str(int(v)) for v in VELOCITIES[:, 1])}}};
__constant__ int CZ[19] = {{{", ".join(str(int(v)) for v in VELOCITIES[:, 2])}}};
__constant__ int OPP[19] = {{{", ".join(str(int(v)) for v in OPPOSITE)}}};
__constant__ double W[19] = {{{", ".join(repr(float(v)) for v in WEIGHTS)}}};

extern "C" __global__ void open_boundaries(float* g, const long long ghosts, const int* cells, const int* start,
        const signed char* link_q, const signed char* link_opening, const double* link_area,
        const signed char* kinds, const double* values, const double scale, const int n_cells,
        double* flux, double* pressure) {{
    const int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= n_cells) return;
    const long long cell = cells[b];
    const long long base = (cell / B) * 19 * B + cell % B;
    double drho = 0.0, jx = 0.0, jy = 0.0, jz = 0.0;
    for (int q = 0; q < 19; ++q) {{
        const double v = (double)g[base + q * B];
        drho += v; jx += v * CX[q]; jy += v * CY[q]; jz += v * CZ[q];
    }}
    const double inv = 1.0 / (1.0 + drho);
    const double ux = jx * inv, uy = jy * inv, uz = jz * inv;
    const double usq = ux * ux + uy * uy + uz * uz;
    for (int link = start[b]; link < start[b + 1]; ++link) {{
        const int q = link_q[link];
        const int o = link_opening[link];
        const double out = (double)g[base + OPP[q] * B];
        const double w = W[q];
        float incoming = (float)out;
        if (kinds[o] == 1) {{
            const double rho_w = values[4 * o] * scale;
            const double cu = CX[q] * ux + CY[q] * uy + CZ[q] * uz;
            incoming = (float)(-out + 2.0 * w * (rho_w + (1.0 + rho_w) * (4.5 * cu * cu - 1.5 * usq)));
        }} else if (kinds[o] == 2) {{
            const double cuw = CX[q] * values[4 * o + 1] + CY[q] * values[4 * o + 2] + CZ[q] * values[4 * o + 3];
            incoming = (float)(out + 6.0 * w * cuw * scale);
        }}
        g[ghosts + link] = incoming;
        atomicAdd(&flux[o], out - (double)incoming);
        atomicAdd(&pressure[o], link_area[link] * drho);
    }}
}}

extern "C" __global__ void speed_squared(const float* g, const long long n_cells, double* speed2) {{
    const long long cell = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (cell >= n_cells) return;
    const long long base = (cell / B) * 19 * B + cell % B;
    double drho = 0.0, jx = 0.0, jy = 0.0, jz = 0.0;
    for (int q = 0; q < 19; ++q) {{
        const double v = (double)g[base + q * B];
        drho += v; jx += v * CX[q]; jy += v * CY[q]; jz += v * CZ[q];
    }}
    speed2[cell] = (jx * jx + jy * jy + jz * jz) / ((1.0 + drho) * (1.0 + drho));
}}
"""


def _cupy() -> ModuleType:
    try:
        return importlib.import_module("cupy")
    except ImportError as error:
        raise ConfigurationError(f"the cupy backend needs CuPy ({error}): install the GPU extra with "
                                 "pip install rhinoapp[gpu] on a machine with an NVIDIA GPU, or choose "
                                 "--backend numba") from error


class CupyBackend(Backend):
    """CuPy ``RawModule`` backend (populations, tables and sums live on the GPU).

    Examples
    --------
    >>> "stream_collide" in _source() and "open_boundaries" in _source()
    True
    """

    name = "cupy"

    def __init__(self, lattice: SparseLattice, params: KernelParameters, boundary: BoundaryValues,
                 *, threads: int | None = None) -> None:
        super().__init__(lattice, params, boundary, threads=threads)
        cp = self._cp = _cupy()
        options = ("--std=c++14", f"-DFORCE={int(params.has_force)}", f"-DLOCAL={int(params.local_tau)}",
                   f"-DRECURSIVE={int(params.recursive)}", "--use_fast_math")
        module = cp.RawModule(code=_source(), options=options)
        self._collide = module.get_function("stream_collide")
        self._boundary = module.get_function("open_boundaries")
        self._speed = module.get_function("speed_squared")
        self._g = [cp.zeros(lattice.population_size, dtype=cp.float32) for _ in range(2)]
        self._current = 0
        self._gather = cp.asarray(lattice.gather)
        self._tau = cp.asarray(params.cell_tau(lattice.n_blocks * BLOCK))
        # running strain mean of the shear-improved model, (n_blocks, 6, BLOCK) (one value if off)
        self._strain = cp.zeros(lattice.n_blocks * 6 * BLOCK if params.shear_improved else 1, dtype=cp.float32)
        self._links = (cp.asarray(lattice.boundary_cells, dtype=cp.int32), cp.asarray(lattice.link_start, cp.int32),
                       cp.asarray(lattice.link_q, cp.int8), cp.asarray(lattice.link_opening, cp.int8),
                       cp.asarray(self.link_area, cp.float64), cp.asarray(boundary.kinds, cp.int8),
                       cp.asarray(boundary.values, cp.float64).ravel())
        self._flux = cp.zeros(3, dtype=cp.float64)
        self._pressure = cp.zeros(3, dtype=cp.float64)
        self._steps = 0
        walls = params.walls if params.interpolated_walls else None
        # interpolated wall links: the array code of the NumPy reference, on device copies of the tables
        self._walls = None if walls is None else tuple(cp.asarray(a) for a in (
            walls.slot, walls.second, walls.near, walls.far, walls.rest, walls.start))
        f32 = np.float32
        self._scalars = (f32(params.omega), f32(params.omega_minus), f32(params.magic), f32(params.smagorinsky),
                         f32(params.strain_average if params.shear_improved else 0.0), f32(params.bulk_omega),
                         *(f32(v) for v in params.force))

    def _load(self, g: np.ndarray) -> None:
        self._g[self._current][...] = self._cp.asarray(np.asarray(g, dtype=np.float32))

    def get_state(self) -> np.ndarray:
        result: np.ndarray = self._cp.asnumpy(self._g[self._current])
        return result

    def live_state(self) -> Any:
        return self._g[self._current]

    def to_host(self, array: Any) -> np.ndarray:
        result: np.ndarray = self._cp.asnumpy(array)
        return result

    def advance(self, scales: np.ndarray) -> None:
        lattice = self.lattice
        n_padded = lattice.n_blocks * BLOCK
        n_boundary = int(lattice.boundary_cells.size)
        scales = np.asarray(scales, dtype=np.float64)
        for scale, rate in zip(scales, self._strain_rate_per_step(scales.size)):
            src, dst = self._g[self._current], self._g[1 - self._current]
            scalars = (*self._scalars[:4], rate, *self._scalars[5:])  # the strain mean's rate of this step
            self._collide((lattice.n_blocks,), (BLOCK,),
                          (src, dst, self._gather, self._tau, self._strain, np.int64(n_padded), *scalars))
            if n_boundary:
                self._boundary(((n_boundary + 127) // 128,), (128,),
                               (dst, np.int64(lattice.ghost_start), *self._links, np.float64(scale),
                                np.int32(n_boundary), self._flux, self._pressure))
            if self._walls is not None:
                interpolate_walls(dst, *self._walls)
            self._current = 1 - self._current
            self._steps += 1

    def take_diagnostics(self) -> tuple[np.ndarray, np.ndarray, int]:
        cp = self._cp
        result = (cp.asnumpy(self._flux), cp.asnumpy(self._pressure), self._steps)
        self._flux[...] = 0.0
        self._pressure[...] = 0.0
        self._steps = 0
        return result

    def max_speed(self) -> float:
        cp, n = self._cp, self.lattice.n_cells
        if n == 0:
            return 0.0
        speed2 = cp.empty(n, dtype=cp.float64)
        self._speed(((n + 255) // 256,), (256,), (self._g[self._current], np.int64(n), speed2))
        return float(math.sqrt(float(cp.max(speed2))))
