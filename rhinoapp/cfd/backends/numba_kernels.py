"""Numba kernels of the fused pull stream-collide step and the open boundaries (FP32).

Each block of :data:`~rhinoapp.cfd.lattice.BLOCK` cells is processed in two loops that LLVM
vectorises: a gather of the 18 moving populations into a small scratch array (in L1 cache),
then one straight-line loop over the cells that computes moments and TRT collision and writes
the block's 19 contiguous output rows. All literals are FP32 constants (a Python float would
promote the arithmetic to FP64 and stop the vectorisation). The flags ``FORCE`` (body force) and
``SMAG`` (per-cell relaxation time from Smagorinsky and sponge, with the symmetric
non-equilibrium part regularised, ``REG`` in :func:`_pair`) are compile-time constants of the
step variants, so each variant carries only its own work; ``REC`` (two more variants) adds recursive
regularization, the antisymmetric part rebuilt with third-order Hermite terms. With ``SMAG`` a strain-average rate
``eps > 0`` selects the shear-improved model, which reads and updates its running strain mean in
``strain`` (``(n_blocks, 6, BLOCK)``, each cell by the thread of its block), and a bulk rate
``bulk > 0`` relaxes the trace of the non-equilibrium momentum flux at that rate instead of ``omega+``.

The gather is bound by memory latency, not bandwidth: the sources of a block lie in about fifty
scattered cache lines that the hardware prefetchers cannot predict. While a chunk works on block
``b`` it therefore asks for the lines of block ``b + 4`` (every eighth source, :func:`_prefetch`),
which gains about a fifth on a 2-core AMD EPYC (``benchmarks/bench_lbm.py``). The block's 19 output
rows are computed into a second scratch array and then written with non-temporal (streaming) stores,
16 floats at a time (:func:`_stream16`): the output is not read again this step, and streaming
stores skip the read of every destination line that ordinary stores cost (another quarter). They
need the population arrays aligned to 64 bytes (:func:`aligned_zeros`); a fence after each chunk
orders them before the boundary kernel reads the result.

On CPUs with AVX-512 the gather reads *window tables* instead (:mod:`.numba_windows`): the 16
sources of a group of cells lie in at most three aligned 16-cell chunks of the neighbours' row,
so four aligned vector loads and two two-source permutes (:func:`_window16`) replace 16 scalar
loads. That lifts the kernel by a third to a half on the benchmark sponge; the rare groups the
windows cannot express (links into openings, periodic edges) read a plain gather row.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from rhinoapp.cfd.backends.numba_windows import GROUP, host_has_vector_permute
from rhinoapp.cfd.lattice import BLOCK, OPPOSITE, VELOCITIES, WEIGHTS

__all__ = ["ALIGNMENT", "aligned_zeros", "boundary_step", "run_steps_force", "run_steps_plain",
           "run_steps_smag", "run_steps_smag_force", "run_steps_smag_force_rec", "run_steps_smag_rec"]

_f = np.float32
_HALF, _ONE, _THREE, _NINE, _C15, _C45 = _f(0.5), _f(1.0), _f(3.0), _f(9.0), _f(1.5), _f(4.5)
_W0, _W1, _W2 = _f(1.0 / 3.0), _f(1.0 / 18.0), _f(1.0 / 36.0)
_SMAG = _f(18.0 * math.sqrt(2.0))
_SISM = _f(9.0 / math.sqrt(2.0))  # 3 C^2 |<S>| = _SISM C^2 |<Pi_neq / (rho tau)>|
# Written out here, not taken from lattice.BLOCK: Numba's on-disk cache is invalidated by changes
# to this file only, so a block size edited elsewhere must fail loudly instead of loading stale kernels.
_B = 256
if _B != BLOCK or GROUP != 16:
    raise ImportError(f"numba_kernels is written for blocks of {_B} cells and window groups of 16 but "
                      f"lattice.BLOCK is {BLOCK} and numba_windows.GROUP {GROUP}")
_Q = 19
_CX = tuple(int(v) for v in VELOCITIES[:, 0])
_CY = tuple(int(v) for v in VELOCITIES[:, 1])
_CZ = tuple(int(v) for v in VELOCITIES[:, 2])
_OPP = tuple(int(v) for v in OPPOSITE)
_W64 = tuple(float(v) for v in WEIGHTS)
_PREFETCH_AHEAD = 4  # blocks
_PREFETCH_EVERY = 8  # sources


@intrinsic
def _prefetch(typingctx, array, index):
    """Hint the CPU to load the cache line of ``array[index]`` (``llvm.prefetch``, read, into L2)."""
    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        pointer = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]), "llvm.prefetch.p0")
        builder.call(function, [pointer, ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@intrinsic
def _stream16(typingctx, destination, destination_index, source, source_index):
    """``destination[d:d + 16] = source[s:s + 16]`` with one non-temporal store (``d`` 64-byte aligned)."""
    def codegen(context, builder, signature, args):
        vector = ir.VectorType(ir.FloatType(), 16)
        target = context.make_array(signature.args[0])(context, builder, args[0]).data
        origin = context.make_array(signature.args[2])(context, builder, args[2]).data
        value = builder.load(builder.bitcast(builder.gep(origin, [args[3]]), vector.as_pointer()), align=4)
        store = builder.store(value, builder.bitcast(builder.gep(target, [args[1]]), vector.as_pointer()), align=64)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()

    return types.void(destination, destination_index, source, source_index), codegen


@intrinsic
def _window16(typingctx, row, row_index, src, first, second, third, own, lanes, lanes_index):
    """``row[r:r + 16]`` = lanes picked from 64 values: the chunks ``src[first]``, ``src[second]``,
    ``src[third]`` and ``src[own]`` (16 values each, 64-byte aligned), by ``lanes[l:l + 16]`` (uint8).

    AVX-512 does it with two ``vpermi2ps`` and a blend; elsewhere the same lanes are read back
    from the stack one by one (correct, not fast: there the kernels use the plain gather).
    """
    def codegen(context, builder, signature, args):
        f32x16 = ir.VectorType(ir.FloatType(), 16)
        i32x16 = ir.VectorType(ir.IntType(32), 16)

        def pointer(arg, index, kind):
            data = context.make_array(signature.args[arg])(context, builder, args[arg]).data
            return builder.bitcast(builder.gep(data, [args[index]]), kind.as_pointer())

        chunks = [builder.load(pointer(2, k, f32x16), align=64) for k in (3, 4, 5, 6)]
        lane = builder.zext(builder.load(pointer(7, 8, ir.VectorType(ir.IntType(8), 16)), align=1), i32x16)
        if host_has_vector_permute():
            permute = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(f32x16, [f32x16, i32x16, f32x16]), "llvm.x86.avx512.vpermi2var.ps.512")
            low = builder.call(permute, [chunks[0], lane, chunks[1]])
            high = builder.call(permute, [chunks[2], lane, chunks[3]])
            upper = builder.icmp_unsigned("!=", builder.and_(lane, ir.Constant(i32x16, [32] * 16)),
                                          ir.Constant(i32x16, [0] * 16))
            result = builder.select(upper, high, low)
        else:
            table = cgutils.alloca_once(builder, ir.ArrayType(ir.FloatType(), 64))
            flat = builder.bitcast(table, ir.FloatType().as_pointer())
            for k, chunk in enumerate(chunks):
                builder.store(chunk, builder.bitcast(builder.gep(flat, [ir.Constant(ir.IntType(32), 16 * k)]),
                                                     f32x16.as_pointer()), align=4)
            result = ir.Constant(f32x16, None)
            for n in range(16):
                index = builder.extract_element(lane, ir.Constant(ir.IntType(32), n))
                result = builder.insert_element(result, builder.load(builder.gep(flat, [index])),
                                                ir.Constant(ir.IntType(32), n))
        builder.store(result, pointer(0, 1, f32x16), align=4)
        return context.get_dummy_value()

    return types.void(row, row_index, src, first, second, third, own, lanes, lanes_index), codegen


@njit(inline="always", error_model="numpy")
def _chunk_address(q, chunk):
    """Address of the 16-cell ``chunk`` (``cell // 16``) in row ``q``."""
    return np.uint64(((chunk >> 4) * _Q + q) * _B + (chunk & 15) * 16)


@njit(inline="always", error_model="numpy")
def _gather_windows(src, t, b, chunk0, delta, lanes, fallback):
    """Fill the scratch rows ``t[1:]`` of block ``b`` from the window tables."""
    base = b * _Q * _B
    if b + _PREFETCH_AHEAD < chunk0.size // ((_Q - 1) * 16):
        ahead = (b + _PREFETCH_AHEAD) * (_Q - 1) * 16
        for k in range(ahead, ahead + (_Q - 1) * 16):
            c = np.int64(chunk0[k])
            if c >= 0:
                q = (k // 16) % (_Q - 1) + 1
                _prefetch(src, _chunk_address(q, c))
                _prefetch(src, _chunk_address(q, c + delta[k, 0]))
    for q in range(1, _Q):
        row = t[q]
        own = base + _OPP[q] * _B
        for g in range(16):
            k = (b * (_Q - 1) + q - 1) * 16 + g
            c = np.int64(chunk0[k])
            if c >= 0:
                _window16(row, np.uint64(16 * g), src, _chunk_address(q, c), _chunk_address(q, c + delta[k, 0]),
                          _chunk_address(q, c + delta[k, 1]), np.uint64(own + 16 * g), lanes, np.uint64(16 * k))
            else:
                index = fallback[-1 - c]
                for n in range(16):
                    row[16 * g + n] = src[np.uint32(index[n])]


@intrinsic
def _fence(typingctx):
    """A full memory fence: orders the streaming stores before later loads of other threads."""
    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


#: Byte alignment the kernels need of the population arrays (for the streaming stores).
ALIGNMENT = 64


def aligned_zeros(size: int) -> np.ndarray:
    """A zeroed FP32 array of ``size`` values whose data starts on a :data:`ALIGNMENT`-byte boundary.

    Examples
    --------
    >>> aligned_zeros(10).ctypes.data % ALIGNMENT, aligned_zeros(10).size
    (0, 10)
    """
    raw = np.zeros(size + ALIGNMENT // 4, dtype=np.float32)
    start = (-raw.ctypes.data % ALIGNMENT) // 4
    return raw[start: start + size]


@njit(inline="always", fastmath=True, error_model="numpy")
def _pair(a, b, cu, w, drho, rho, usq, op, om, cf, uf, opf, omf, kr, reg, t3, FORCE, REG, REC):
    """TRT collision of the opposite pair ``(a, b)``; regularized, the non-equilibrium part after it is
    ``kr * reg``, ``reg`` being ``c.P.c - tr(P)/3`` of the pair for the momentum flux ``P`` of :func:`_block`;
    recursive (``REC``), the antisymmetric part after it is the first-order equilibrium plus ``t3`` (the
    pair's third-order Hermite terms)."""
    eqp = w * (drho + rho * (_C45 * cu * cu - usq))
    eqm = w * rho * _THREE * cu
    if REG:
        dp = _HALF * (a + b) - eqp - kr * _C45 * w * reg
    else:
        dp = op * (_HALF * (a + b) - eqp)
    if REC:
        dm = _HALF * (a - b) - eqm - t3
    else:
        dm = om * (_HALF * (a - b) - eqm)
    if FORCE:
        sp = opf * w * (_NINE * cu * cf - uf)
        sm = omf * w * _THREE * cf
        return a - dp - dm + sp + sm, b - dp + dm + sp - sm
    return a - dp - dm, b - dp + dm


@njit(inline="always", fastmath=True, error_model="numpy")
def _block(g0, t, out, tau_cell, strain, tau0, omega, omega_m, magic, csmag, eps, bulk, fx, fy, fz, FORCE, SMAG, REC):
    cf1, cf3, cf5 = fx, fy, fz
    cf7, cf9, cf11, cf13, cf15, cf17 = fx + fy, fx - fy, fx + fz, fx - fz, fy + fz, fy - fz
    for n in range(_B):
        f0 = g0[n]
        f1, f2, f3, f4, f5, f6 = t[1, n], t[2, n], t[3, n], t[4, n], t[5, n], t[6, n]
        f7, f8, f9, f10, f11, f12 = t[7, n], t[8, n], t[9, n], t[10, n], t[11, n], t[12, n]
        f13, f14, f15, f16, f17, f18 = t[13, n], t[14, n], t[15, n], t[16, n], t[17, n], t[18, n]
        s1, s3, s5, s7, s9 = f1 + f2, f3 + f4, f5 + f6, f7 + f8, f9 + f10
        s11, s13, s15, s17 = f11 + f12, f13 + f14, f15 + f16, f17 + f18
        a7, a9, a11, a13, a15, a17 = f7 - f8, f9 - f10, f11 - f12, f13 - f14, f15 - f16, f17 - f18
        drho = f0 + s1 + s3 + s5 + s7 + s9 + s11 + s13 + s15 + s17
        rho = _ONE + drho
        inv = _ONE / rho
        jx = (f1 - f2) + a7 + a9 + a11 + a13
        jy = (f3 - f4) + a7 - a9 + a15 + a17
        jz = (f5 - f6) + a11 - a13 + a15 - a17
        if FORCE:
            jx += _HALF * fx
            jy += _HALF * fy
            jz += _HALF * fz
        ux, uy, uz = jx * inv, jy * inv, jz * inv
        usq = _C15 * (ux * ux + uy * uy + uz * uz)
        op, om = omega, omega_m
        pxx = pyy = pzz = pxy = pxz = pyz = tr3 = kr = _f(0.0)
        t1 = t3 = t5 = t7 = t9 = t11 = t13 = t15 = t17 = _f(0.0)
        if SMAG:
            third = drho * _f(1.0 / 3.0)
            pxx = s1 + s7 + s9 + s11 + s13 - third - rho * ux * ux
            pyy = s3 + s7 + s9 + s15 + s17 - third - rho * uy * uy
            pzz = s5 + s11 + s13 + s15 + s17 - third - rho * uz * uz
            pxy = s7 - s9 - rho * ux * uy
            pxz = s11 - s13 - rho * ux * uz
            pyz = s15 - s17 - rho * uy * uz
            tr3 = (pxx + pyy + pzz) * _f(1.0 / 3.0)
            norm = math.sqrt(pxx * pxx + pyy * pyy + pzz * pzz + _f(2.0) * (pxy * pxy + pxz * pxz + pyz * pyz))
            base_tau = tau_cell[n]
            if eps > _f(0.0):  # shear-improved: the strain less its running mean
                mxx, myy, mzz = strain[0, n], strain[1, n], strain[2, n]
                mxy, mxz, myz = strain[3, n], strain[4, n], strain[5, n]
                mean = math.sqrt(mxx * mxx + myy * myy + mzz * mzz + _f(2.0) * (mxy * mxy + mxz * mxz + myz * myz))
                shifted = base_tau - _SISM * csmag * csmag * mean
                tau = max(base_tau, _HALF * (shifted + math.sqrt(shifted * shifted + _SMAG * csmag * csmag * norm * inv)))
                scale = eps * inv / tau
                strain[0, n] = mxx + (scale * pxx - eps * mxx)
                strain[1, n] = myy + (scale * pyy - eps * myy)
                strain[2, n] = mzz + (scale * pzz - eps * mzz)
                strain[3, n] = mxy + (scale * pxy - eps * mxy)
                strain[4, n] = mxz + (scale * pxz - eps * mxz)
                strain[5, n] = myz + (scale * pyz - eps * myz)
            else:
                tau = _HALF * (base_tau + math.sqrt(base_tau * base_tau + _SMAG * csmag * csmag * norm * inv))
            op = _ONE / tau
            om = _ONE / (magic / (tau - _HALF) + _HALF)
            kr = _ONE - op  # what the regularized collision keeps of the non-equilibrium flux
            if bulk > _f(0.0):  # the deviatoric part relaxed with op, the trace with the bulk rate
                tb = (_ONE - bulk) * tr3
                pxx = kr * (pxx - tr3) + tb
                pyy = kr * (pyy - tr3) + tb
                pzz = kr * (pzz - tr3) + tb
                pxy, pxz, pyz, tr3 = kr * pxy, kr * pxz, kr * pyz, tb
                kr = _ONE
            if REC:  # third moments: rho u u u plus the recursive non-equilibrium part of the flux kr * P
                om = _ONE
                axxy = rho * ux * ux * uy + kr * (_f(2.0) * ux * pxy + uy * pxx)
                ayzz = rho * uy * uz * uz + kr * (_f(2.0) * uz * pyz + uy * pzz)
                axzz = rho * ux * uz * uz + kr * (_f(2.0) * uz * pxz + ux * pzz)
                axyy = rho * ux * uy * uy + kr * (_f(2.0) * uy * pxy + ux * pyy)
                ayyz = rho * uy * uy * uz + kr * (_f(2.0) * uy * pyz + uz * pyy)
                axxz = rho * ux * ux * uz + kr * (_f(2.0) * ux * pxz + uz * pxx)
                x1, x2, x3 = axxy + ayzz, axzz + axyy, ayyz + axxz
                x4, x5, x6 = axxy - ayzz, axzz - axyy, ayyz - axxz
                t1, t3, t5 = -_NINE * _W1 * x2, -_NINE * _W1 * x1, -_NINE * _W1 * x3
                t7 = _C45 * _W2 * (x1 + x2 + x4 - x5)
                t9 = _C45 * _W2 * (x2 - x1 - x4 - x5)
                t11 = _C45 * _W2 * (x2 + x3 + x5 - x6)
                t13 = _C45 * _W2 * (x2 - x3 + x5 + x6)
                t15 = _C45 * _W2 * (x1 + x3 - x4 + x6)
                t17 = _C45 * _W2 * (x1 - x3 - x4 - x6)
        opf = _ONE - _HALF * op
        omf = _ONE - _HALF * om
        uf = _THREE * (ux * fx + uy * fy + uz * fz)
        eq0 = _W0 * (drho - rho * usq)
        if SMAG:
            rest = eq0 - kr * _C45 * _W0 * tr3
        else:
            rest = f0 - op * (f0 - eq0)
        if FORCE:
            rest -= opf * _W0 * uf
        out[n] = rest
        o1, o2 = _pair(f1, f2, ux, _W1, drho, rho, usq, op, om, cf1, uf, opf, omf, kr, pxx - tr3, t1, FORCE, SMAG, REC)
        out[_B + n], out[2 * _B + n] = o1, o2
        o1, o2 = _pair(f3, f4, uy, _W1, drho, rho, usq, op, om, cf3, uf, opf, omf, kr, pyy - tr3, t3, FORCE, SMAG, REC)
        out[3 * _B + n], out[4 * _B + n] = o1, o2
        o1, o2 = _pair(f5, f6, uz, _W1, drho, rho, usq, op, om, cf5, uf, opf, omf, kr, pzz - tr3, t5, FORCE, SMAG, REC)
        out[5 * _B + n], out[6 * _B + n] = o1, o2
        o1, o2 = _pair(f7, f8, ux + uy, _W2, drho, rho, usq, op, om, cf7, uf, opf, omf, kr, pxx + pyy + _f(2.0) * pxy - tr3, t7, FORCE, SMAG, REC)
        out[7 * _B + n], out[8 * _B + n] = o1, o2
        o1, o2 = _pair(f9, f10, ux - uy, _W2, drho, rho, usq, op, om, cf9, uf, opf, omf, kr, pxx + pyy - _f(2.0) * pxy - tr3, t9, FORCE, SMAG, REC)
        out[9 * _B + n], out[10 * _B + n] = o1, o2
        o1, o2 = _pair(f11, f12, ux + uz, _W2, drho, rho, usq, op, om, cf11, uf, opf, omf, kr, pxx + pzz + _f(2.0) * pxz - tr3, t11, FORCE, SMAG, REC)
        out[11 * _B + n], out[12 * _B + n] = o1, o2
        o1, o2 = _pair(f13, f14, ux - uz, _W2, drho, rho, usq, op, om, cf13, uf, opf, omf, kr, pxx + pzz - _f(2.0) * pxz - tr3, t13, FORCE, SMAG, REC)
        out[13 * _B + n], out[14 * _B + n] = o1, o2
        o1, o2 = _pair(f15, f16, uy + uz, _W2, drho, rho, usq, op, om, cf15, uf, opf, omf, kr, pyy + pzz + _f(2.0) * pyz - tr3, t15, FORCE, SMAG, REC)
        out[15 * _B + n], out[16 * _B + n] = o1, o2
        o1, o2 = _pair(f17, f18, uy - uz, _W2, drho, rho, usq, op, om, cf17, uf, opf, omf, kr, pyy + pzz - _f(2.0) * pyz - tr3, t17, FORCE, SMAG, REC)
        out[17 * _B + n], out[18 * _B + n] = o1, o2


@njit(inline="always", fastmath=True, error_model="numpy")
def _step(src, dst, gather, windows, scratch, outs, tau_cell, strain, n_blocks, tau0, omega, omega_m, magic, csmag, eps,
          bulk, fx, fy, fz, FORCE, SMAG, REC):
    n_chunks = scratch.shape[0]
    per = (n_blocks + n_chunks - 1) // n_chunks
    for chunk in prange(n_chunks):
        t = scratch[chunk]  # one scratch block per chunk: an np.empty here would be hoisted and shared
        o = outs[chunk]  # the block's output, streamed to dst
        for b in range(chunk * per, min(n_blocks, (chunk + 1) * per)):
            base = b * _Q * _B
            if windows[0].size:
                _gather_windows(src, t, b, windows[0], windows[1], windows[2], windows[3])
            else:
                gbase = b * (_Q - 1) * _B
                if b + _PREFETCH_AHEAD < n_blocks:
                    ahead = gbase + _PREFETCH_AHEAD * (_Q - 1) * _B
                    for k in range(0, (_Q - 1) * _B, _PREFETCH_EVERY):
                        _prefetch(src, np.uint64(np.uint32(gather[ahead + k])))
                for q in range(1, _Q):
                    row = t[q]
                    index = gather[gbase + (q - 1) * _B: gbase + q * _B]
                    for n in range(_B):
                        row[n] = src[np.uint32(index[n])]
            # the running strain mean of the shear-improved model (one dummy block when it is off)
            _block(src[base: base + _B], t, o, tau_cell[b * _B: (b + 1) * _B], strain[min(b, strain.shape[0] - 1)],
                   tau0, omega, omega_m, magic, csmag, eps, bulk, fx, fy, fz, FORCE, SMAG, REC)
            to = np.uint64(base)
            for v in range(0, _Q * _B, 16):
                _stream16(dst, to + np.uint64(v), o, np.uint64(v))
        _fence()


@njit(cache=True, error_model="numpy")
def boundary_step(g, cells, link_start, link_q, link_opening, link_area, kinds, values, scale, flux, pressure):
    """Fill the ghost slots of ``g`` (after the blocks) with the open-boundary values; add to the sums."""
    ghosts = g.size - link_q.size
    for b in range(cells.size):
        cell = np.int64(cells[b])
        base = (cell // _B) * _Q * _B + cell % _B
        drho = 0.0
        jx = 0.0
        jy = 0.0
        jz = 0.0
        for d in range(_Q):
            v = np.float64(g[base + d * _B])
            drho += v
            jx += v * _CX[d]
            jy += v * _CY[d]
            jz += v * _CZ[d]
        inv = 1.0 / (1.0 + drho)
        ux, uy, uz = jx * inv, jy * inv, jz * inv
        usq = ux * ux + uy * uy + uz * uz
        for link in range(link_start[b], link_start[b + 1]):
            q = np.int64(link_q[link])
            o = np.int64(link_opening[link])
            slot = base + _OPP[q] * _B
            out = np.float64(g[slot])
            kind = kinds[o]
            w = _W64[q]
            if kind == 1:
                rho_w = values[o, 0] * scale
                cu = _CX[q] * ux + _CY[q] * uy + _CZ[q] * uz
                new = np.float32(-out + 2.0 * w * (rho_w + (1.0 + rho_w) * (4.5 * cu * cu - 1.5 * usq)))
            elif kind == 2:
                cuw = _CX[q] * values[o, 1] + _CY[q] * values[o, 2] + _CZ[q] * values[o, 3]
                new = np.float32(out + 6.0 * w * cuw * scale)
            else:
                new = np.float32(out)
            g[ghosts + link] = new
            flux[o] += out - np.float64(new)
            pressure[o] += link_area[link] * drho


@njit(inline="always", error_model="numpy")
def _interpolate_walls(g, walls):
    """Interpolated wall links (see :mod:`rhinoapp.cfd.walls`): ``g[slot] = near g[slot] + far g[second]``,
    every source read (into the scratch ``walls[4]``) before any slot is written; with mass conservation
    (``rest`` and ``start``, links ordered by cell) each cell's rest population gets what its links took."""
    slot, second, near, far, scratch, rest, start = walls
    for link in prange(slot.size):
        scratch[link] = near[link] * g[slot[link]] + far[link] * g[second[link]]
    if rest.size:
        for cell in prange(rest.size):
            taken = 0.0
            for link in range(start[cell], start[cell + 1]):
                taken += np.float64(g[slot[link]]) - np.float64(scratch[link])
                g[slot[link]] = scratch[link]
            g[rest[cell]] += np.float32(taken)
    else:
        for link in prange(slot.size):
            g[slot[link]] = scratch[link]


@njit(parallel=True, fastmath=True, cache=True, error_model="numpy")
def run_steps_plain(ga, gb, gather, windows, tau_cell, strain, n_blocks, n_chunks, tau0, omega, omega_m, magic, csmag, eps,
                    bulk, fx, fy, fz,
                    cells, link_start, link_q, link_opening, link_area, kinds, values, walls, scales, flux, pressure):
    """Run ``scales.size`` steps (TRT); returns 1 if the result ended in ``gb``."""
    src, dst = ga, gb
    scratch = np.empty((n_chunks, _Q, _B), dtype=np.float32)
    outs = np.empty((n_chunks, _Q * _B), dtype=np.float32)
    for s in range(scales.size):
        _step(src, dst, gather, windows, scratch, outs, tau_cell, strain, n_blocks, tau0, omega, omega_m, magic, csmag,
              eps, bulk, fx, fy, fz, False, False, False)
        boundary_step(dst, cells, link_start, link_q, link_opening, link_area, kinds, values, scales[s], flux,
                      pressure)
        _interpolate_walls(dst, walls)
        src, dst = dst, src
    return scales.size % 2


@njit(parallel=True, fastmath=True, cache=True, error_model="numpy")
def run_steps_force(ga, gb, gather, windows, tau_cell, strain, n_blocks, n_chunks, tau0, omega, omega_m, magic, csmag, eps,
                    bulk, fx, fy, fz,
                    cells, link_start, link_q, link_opening, link_area, kinds, values, walls, scales, flux, pressure):
    """Run ``scales.size`` steps (TRT with a body force); returns 1 if the result ended in ``gb``."""
    src, dst = ga, gb
    scratch = np.empty((n_chunks, _Q, _B), dtype=np.float32)
    outs = np.empty((n_chunks, _Q * _B), dtype=np.float32)
    for s in range(scales.size):
        _step(src, dst, gather, windows, scratch, outs, tau_cell, strain, n_blocks, tau0, omega, omega_m, magic, csmag,
              eps, bulk, fx, fy, fz, True, False, False)
        boundary_step(dst, cells, link_start, link_q, link_opening, link_area, kinds, values, scales[s], flux,
                      pressure)
        _interpolate_walls(dst, walls)
        src, dst = dst, src
    return scales.size % 2


@njit(parallel=True, fastmath=True, cache=True, error_model="numpy")
def run_steps_smag(ga, gb, gather, windows, tau_cell, strain, n_blocks, n_chunks, tau0, omega, omega_m, magic, csmag, eps,
                   bulk, fx, fy, fz,
                   cells, link_start, link_q, link_opening, link_area, kinds, values, walls, scales, flux, pressure):
    """Run ``scales.size`` steps (TRT with Smagorinsky); returns 1 if the result ended in ``gb``."""
    src, dst = ga, gb
    scratch = np.empty((n_chunks, _Q, _B), dtype=np.float32)
    outs = np.empty((n_chunks, _Q * _B), dtype=np.float32)
    for s in range(scales.size):
        _step(src, dst, gather, windows, scratch, outs, tau_cell, strain, n_blocks, tau0, omega, omega_m, magic, csmag,
              eps, bulk, fx, fy, fz, False, True, False)
        boundary_step(dst, cells, link_start, link_q, link_opening, link_area, kinds, values, scales[s], flux,
                      pressure)
        _interpolate_walls(dst, walls)
        src, dst = dst, src
    return scales.size % 2


@njit(parallel=True, fastmath=True, cache=True, error_model="numpy")
def run_steps_smag_force(ga, gb, gather, windows, tau_cell, strain, n_blocks, n_chunks, tau0, omega, omega_m, magic, csmag, eps,
                         bulk, fx, fy, fz,
                         cells, link_start, link_q, link_opening, link_area, kinds, values, walls, scales, flux, pressure):
    """Run ``scales.size`` steps (TRT, Smagorinsky and a body force); returns 1 if the result ended in ``gb``."""
    src, dst = ga, gb
    scratch = np.empty((n_chunks, _Q, _B), dtype=np.float32)
    outs = np.empty((n_chunks, _Q * _B), dtype=np.float32)
    for s in range(scales.size):
        _step(src, dst, gather, windows, scratch, outs, tau_cell, strain, n_blocks, tau0, omega, omega_m, magic, csmag,
              eps, bulk, fx, fy, fz, True, True, False)
        boundary_step(dst, cells, link_start, link_q, link_opening, link_area, kinds, values, scales[s], flux,
                      pressure)
        _interpolate_walls(dst, walls)
        src, dst = dst, src
    return scales.size % 2


@njit(parallel=True, fastmath=True, cache=True, error_model="numpy")
def run_steps_smag_rec(ga, gb, gather, windows, tau_cell, strain, n_blocks, n_chunks, tau0, omega, omega_m, magic, csmag, eps,
                       bulk, fx, fy, fz,
                       cells, link_start, link_q, link_opening, link_area, kinds, values, walls, scales, flux, pressure):
    """Run ``scales.size`` steps (recursive-regularized, with Smagorinsky); returns 1 if the result ended in ``gb``."""
    src, dst = ga, gb
    scratch = np.empty((n_chunks, _Q, _B), dtype=np.float32)
    outs = np.empty((n_chunks, _Q * _B), dtype=np.float32)
    for s in range(scales.size):
        _step(src, dst, gather, windows, scratch, outs, tau_cell, strain, n_blocks, tau0, omega, omega_m, magic, csmag,
              eps, bulk, fx, fy, fz, False, True, True)
        boundary_step(dst, cells, link_start, link_q, link_opening, link_area, kinds, values, scales[s], flux,
                      pressure)
        _interpolate_walls(dst, walls)
        src, dst = dst, src
    return scales.size % 2


@njit(parallel=True, fastmath=True, cache=True, error_model="numpy")
def run_steps_smag_force_rec(ga, gb, gather, windows, tau_cell, strain, n_blocks, n_chunks, tau0, omega, omega_m, magic, csmag, eps,
                             bulk, fx, fy, fz,
                             cells, link_start, link_q, link_opening, link_area, kinds, values, walls, scales, flux, pressure):
    """Run ``scales.size`` steps (recursive-regularized, Smagorinsky and a body force); returns 1 if the result ended in ``gb``."""
    src, dst = ga, gb
    scratch = np.empty((n_chunks, _Q, _B), dtype=np.float32)
    outs = np.empty((n_chunks, _Q * _B), dtype=np.float32)
    for s in range(scales.size):
        _step(src, dst, gather, windows, scratch, outs, tau_cell, strain, n_blocks, tau0, omega, omega_m, magic, csmag,
              eps, bulk, fx, fy, fz, True, True, True)
        boundary_step(dst, cells, link_start, link_q, link_opening, link_area, kinds, values, scales[s], flux,
                      pressure)
        _interpolate_walls(dst, walls)
        src, dst = dst, src
    return scales.size % 2
