"""Window tables: the gather of a block as vector loads and permutes instead of scalar loads.

A *group* is 16 consecutive cells of a block and one direction ``q`` (16 groups per block and
direction). Streaming pulls population ``q`` of the group's cells from their neighbours
``x - c_q``, which lie in the same row ``q`` of nearby cells: in a lattice in lexicographic order
the 16 sources almost always fall into at most three aligned 16-cell *chunks* of that row (95 % of
the groups into two, on the porous benchmark sponge). The kernel then loads those chunks (and the
group's own chunk of row ``opposite(q)``, which holds the wall bounce-backs) with four aligned
vector loads and picks each lane with two two-source permutes (``vpermi2ps`` on AVX-512). That
replaces 16 scalar loads of a gather, which cost about a cycle each even from L1, by a handful of
vector instructions, and reads 1.5 bytes of table per population instead of 4.

Per group the table holds:

* ``chunk0`` (int32): the first chunk (global chunk number ``cell // 16``); ``-1 - f`` marks a
  group that the windows cannot express (a link into an opening, or sources in more than three
  chunks, as across a periodic edge), which reads its 16 addresses from row ``f`` of ``fallback``;
* ``delta`` (int16, 2): the second and third chunk as offsets from the first;
* ``lanes`` (uint8, 16): per cell the lane of the 64 candidate values: ``16 * s + i`` for lane
  ``i`` of chunk ``s`` (``s = 0, 1, 2``) and ``48 + n`` for a bounce-back from the cell's own
  population ``opposite(q)``.

The tables are a layout of the Numba backend; the gather table of
:class:`~rhinoapp.cfd.setup.SparseLattice` stays the reference every backend reads. The kernel
that reads them is ``_gather_windows`` in :mod:`.numba_kernels`: change the format in both files
together (Numba's on-disk cache of the kernels only notices edits of that file).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numba import njit

from rhinoapp.cfd.lattice import BLOCK, Q

__all__ = ["GROUP", "WindowTables", "build_window_tables", "host_has_vector_permute"]

#: Cells per group: one AVX-512 vector of FP32.
GROUP = 16
_CHUNKS = 3
_INT16_MIN, _INT16_MAX = int(np.iinfo(np.int16).min), int(np.iinfo(np.int16).max)


@dataclass(frozen=True, eq=False)
class WindowTables:
    """The window tables of one lattice (see the module docstring); empty ones select the plain gather."""

    chunk0: np.ndarray
    delta: np.ndarray
    lanes: np.ndarray
    fallback: np.ndarray

    @classmethod
    def empty(cls) -> WindowTables:
        """Tables of no group: the kernels use the scalar gather of the lattice's table.

        Examples
        --------
        >>> WindowTables.empty().n_groups
        0
        """
        return cls(np.zeros(0, np.int32), np.zeros((0, 2), np.int16), np.zeros((0, GROUP), np.uint8),
                   np.zeros((1, GROUP), np.int32))

    @property
    def n_groups(self) -> int:
        """Number of groups (``n_blocks * 18 * BLOCK / 16``), 0 for empty tables."""
        return int(self.chunk0.size)

    @property
    def fallback_fraction(self) -> float:
        """Fraction of groups that read a plain gather row."""
        return float(np.mean(self.chunk0 < 0)) if self.n_groups else 1.0

    @property
    def nbytes(self) -> int:
        """Bytes the tables occupy."""
        return sum(int(a.nbytes) for a in (self.chunk0, self.delta, self.lanes, self.fallback))


def build_window_tables(gather: np.ndarray, n_blocks: int, ghost_start: int) -> WindowTables:
    """The window tables equivalent to a lattice's gather table.

    Parameters
    ----------
    gather
        The lattice's int32 gather table (``n_blocks * 18 * BLOCK`` source addresses).
    n_blocks
        Number of blocks.
    ghost_start
        Address of the first ghost slot (links into openings read there: always a fallback).

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(4, 6))
    >>> tables = build_window_tables(lattice.gather, lattice.n_blocks, lattice.ghost_start)
    >>> tables.n_groups, round(tables.fallback_fraction, 3)
    (288, 0.035)
    """
    gather = np.ascontiguousarray(gather, dtype=np.int32)
    n_groups = n_blocks * (Q - 1) * (BLOCK // GROUP)
    if gather.size != n_groups * GROUP:
        raise ValueError(f"the gather table has {gather.size} entries, not {n_groups * GROUP} for {n_blocks} blocks")
    chunk0 = np.empty(n_groups, dtype=np.int32)
    delta = np.empty((n_groups, 2), dtype=np.int16)
    lanes = np.empty((n_groups, GROUP), dtype=np.uint8)
    n_fallback = _fill_windows(gather, np.int64(ghost_start), chunk0, delta, lanes)
    fallback = np.zeros((max(1, n_fallback), GROUP), dtype=np.int32)
    _copy_fallback(gather, chunk0, fallback)
    return WindowTables(chunk0, delta, lanes, fallback)


@njit(cache=True)
def _fill_windows(gather, ghost_start, chunk0, delta, lanes):
    """Fill the tables group by group; returns the number of fallback groups (numbered in order)."""
    per_block = BLOCK // GROUP
    n_fallback = 0
    chunks = np.empty(_CHUNKS, dtype=np.int64)
    for group in range(chunk0.size):
        q = (group // per_block) % (Q - 1) + 1
        count = 0
        bad = False
        for n in range(GROUP):
            source = np.int64(gather[group * GROUP + n])
            if source >= ghost_start:
                bad = True
                break
            if (source // BLOCK) % Q != q:  # a wall: half-way bounce-back from the cell itself
                lanes[group, n] = 48 + n
                continue
            cell = (source // (Q * BLOCK)) * BLOCK + source % BLOCK
            chunk = cell // GROUP
            slot = -1
            for s in range(count):
                if chunks[s] == chunk:
                    slot = s
            if slot < 0:
                if count == _CHUNKS:
                    bad = True
                    break
                chunks[count] = chunk
                slot = count
                count += 1
            lanes[group, n] = slot * GROUP + cell % GROUP
        if count == 0:  # every lane bounces back: any chunk will do, take the group's own
            chunks[0] = (group // ((Q - 1) * per_block)) * per_block + group % per_block
            count = 1
        for s in range(count, _CHUNKS):
            chunks[s] = chunks[0]
        for s in range(1, _CHUNKS):
            offset = chunks[s] - chunks[0]
            if offset < _INT16_MIN or offset > _INT16_MAX:
                bad = True
            delta[group, s - 1] = offset if not bad else 0
        if bad:
            chunk0[group] = -1 - n_fallback
            n_fallback += 1
            lanes[group, :] = 0
            delta[group, :] = 0
        else:
            chunk0[group] = chunks[0]
    return n_fallback


@njit(cache=True)
def _copy_fallback(gather, chunk0, fallback):
    for group in range(chunk0.size):
        if chunk0[group] < 0:
            fallback[-1 - chunk0[group], :] = gather[group * GROUP: (group + 1) * GROUP]


@functools.cache
def host_has_vector_permute() -> bool:
    """True if this CPU has AVX-512, whose two-source permute makes the windows pay off.

    Examples
    --------
    >>> isinstance(host_has_vector_permute(), bool)
    True
    """
    import llvmlite.binding as llvm

    return bool(llvm.get_host_cpu_features().get("avx512f", False))
