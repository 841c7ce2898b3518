"""From voxels to the sparse lattice: fluid cells, the gather table and the boundary links.

Layout
------
Only fluid cells are stored, in lexicographic ``[k, j, i]`` order, grouped in blocks of
:data:`~rhinoapp.cfd.lattice.BLOCK` cells (an array of structures of arrays): population ``q``
of cell ``n`` lives at ``address(q, n) = ((n // B) * 19 + q) * B + n % B``. A block's 19 rows
are contiguous, so a kernel streams one block in and one block out while the loops over its
cells vectorise. The last block is padded with inert cells that bounce back on themselves.

Streaming is a *pull*: cell ``x`` reads population ``q`` from ``x - c_q``. The int32 gather
table holds, for ``q = 1..18`` and every cell, the address to read. Links to walls fold
half-way bounce-back in: they read ``address(opposite(q), x)``, the population that left ``x``
towards the wall in the previous step. Links into an opening read a *ghost slot* after the
blocks (one per open link, in link order), which the boundary kernel fills after every step with
the inlet/outlet value; the stored populations stay the true post-collision state. Same layout
on every backend.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from rhinoapp.cfd.domain import FlowDomain, Opening
from rhinoapp.cfd.lattice import BLOCK, OPPOSITE, Q, VELOCITIES, WEIGHTS
from rhinoapp.core.errors import ValidationError

__all__ = ["SparseLattice", "address", "build_lattice", "distance_through_air", "lattice_bytes_per_cell"]

_log = logging.getLogger(__name__)
_INT32_MAX = np.iinfo(np.int32).max


def address(q: int | np.ndarray, cell: int | np.ndarray) -> np.ndarray:
    """Flat index of population ``q`` of ``cell`` in the blocked layout.

    Examples
    --------
    >>> int(address(0, 0)), int(address(1, 0)), int(address(0, BLOCK))
    (0, 256, 4864)
    """
    cell = np.asarray(cell, dtype=np.int64)
    result: np.ndarray = ((cell // BLOCK) * Q + np.asarray(q, dtype=np.int64)) * BLOCK + cell % BLOCK
    return result


def lattice_bytes_per_cell() -> int:
    """Bytes of solver state per fluid cell: two FP32 population sets and the int32 gather table.

    Examples
    --------
    >>> lattice_bytes_per_cell()
    224
    """
    return 2 * Q * 4 + (Q - 1) * 4


@dataclass(frozen=True, eq=False)
class SparseLattice:
    """The lattice of one :class:`FlowDomain`, ready for a backend.

    Attributes
    ----------
    domain
        The domain it was built from.
    voxels
        Flat ``[k, j, i]`` voxel index of each fluid cell (lexicographic, so sorted).
    n_blocks
        Number of blocks; ``n_blocks * BLOCK >= n_cells``.
    gather
        int32, ``n_blocks * 18 * BLOCK``: the source address of ``q = 1..18`` per cell.
    boundary_cells, link_start
        Fluid cells with links into an opening, and the start of each one's links (CSR).
    link_q, link_opening
        Per link: the direction pulled into the cell, and the opening's index in :class:`Opening`.
    opening_normal
        ``(3, 3)`` unit normal of each opening, pointing from the air into the opening.
    opening_area
        Effective open area of each opening in cells: ``sum 6 w_q (-c_q . n)`` over its links, so a
        plug velocity ``s`` along ``n`` carries ``s * opening_area`` cells^3 per step.
    """

    domain: FlowDomain
    voxels: np.ndarray
    n_blocks: int
    gather: np.ndarray
    boundary_cells: np.ndarray
    link_start: np.ndarray
    link_q: np.ndarray
    link_opening: np.ndarray
    opening_normal: np.ndarray
    opening_area: np.ndarray

    @property
    def n_cells(self) -> int:
        """Number of fluid cells."""
        return int(self.voxels.size)

    @property
    def n_links(self) -> int:
        """Number of links into openings."""
        return int(self.link_q.size)

    @property
    def population_size(self) -> int:
        """Length of one population array: the blocks (padding included), then one ghost slot per open link."""
        return self.n_blocks * Q * BLOCK + self.n_links

    @property
    def ghost_start(self) -> int:
        """Index of the first ghost slot (the incoming population of open link 0)."""
        return self.n_blocks * Q * BLOCK

    def link_cells(self) -> np.ndarray:
        """The fluid cell of every boundary link."""
        return np.repeat(self.boundary_cells, np.diff(self.link_start))

    def cell_coordinates(self) -> np.ndarray:
        """``(n_cells, 3)`` grid indices ``(i, j, k)`` of the fluid cells."""
        k, j, i = np.unravel_index(self.voxels, self.domain.geometry.shape)
        return np.stack([i, j, k], axis=1)

    def to_grid(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Scatter per-cell ``values`` (last axis ``n_cells``) onto the dense ``[k, j, i]`` grid."""
        values = np.asarray(values)
        lead = values.shape[:-1]
        grid = np.full(lead + (int(np.prod(self.domain.geometry.shape)),), fill, dtype=np.float64)
        grid[..., self.voxels] = values
        return grid.reshape(lead + self.domain.geometry.shape)

    def memory_bytes(self) -> int:
        """Bytes the solver state of this lattice occupies on a backend."""
        return self.n_blocks * BLOCK * lattice_bytes_per_cell() + self.n_links * 8


def build_lattice(domain: FlowDomain) -> SparseLattice:
    """The sparse lattice of ``domain`` (connected part only: see :meth:`FlowDomain.connected`).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(4, 6))
    >>> lattice.n_cells, lattice.n_blocks, lattice.opening_area.round(3).tolist()
    (96, 1, [13.333, 0.0, 13.333])
    """
    domain = domain.connected()
    shape = domain.geometry.shape
    voxels = np.flatnonzero(domain.fluid)
    n = voxels.size
    n_blocks = -(-n // BLOCK)
    if n_blocks * Q * BLOCK + 6 * n >= _INT32_MAX:
        raise ValidationError(f"{n} fluid cells exceed the int32 gather table of this solver; "
                              "use a coarser resolution")
    cell_id = np.full(int(np.prod(shape)), -1, dtype=np.int64)
    cell_id[voxels] = np.arange(n)
    cell_id = cell_id.reshape(shape)
    opening_id = np.full(shape, -1, dtype=np.int8)
    for index, member in enumerate(Opening):
        opening_id[domain.opening_mask(member)] = index
    kji = np.stack(np.unravel_index(voxels, shape))  # (3, n) as k, j, i
    cells = np.arange(n, dtype=np.int64)
    padded = np.arange(n_blocks * BLOCK, dtype=np.int64)
    gather = np.empty((Q - 1, n_blocks * BLOCK), dtype=np.int32)
    links_cell, links_q, links_open = [], [], []
    for q in range(1, Q):
        source = kji - VELOCITIES[q][::-1, None]  # pull from x - c_q, in k, j, i order
        inside = np.ones(n, dtype=bool)
        for axis in range(3):
            size = shape[axis]
            if domain.periodic[2 - axis]:
                source[axis] %= size
            else:
                inside &= (source[axis] >= 0) & (source[axis] < size)
        neighbour = np.full(n, -1, dtype=np.int64)
        opening = np.full(n, -1, dtype=np.int8)
        src = source[:, inside]
        neighbour[inside] = cell_id[src[0], src[1], src[2]]
        opening[inside] = opening_id[src[0], src[1], src[2]]
        row = address(OPPOSITE[q], padded)  # padding and walls bounce back
        row[:n] = np.where(neighbour >= 0, address(q, np.maximum(neighbour, 0)), address(OPPOSITE[q], cells))
        gather[q - 1] = row
        open_link = (neighbour < 0) & (opening >= 0)
        links_cell.append(cells[open_link])
        links_q.append(np.full(int(open_link.sum()), q, dtype=np.int8))
        links_open.append(opening[open_link])
    link_cell = np.concatenate(links_cell)
    order = np.argsort(link_cell, kind="stable")
    link_cell = link_cell[order]
    link_q = np.concatenate(links_q)[order]
    link_opening = np.concatenate(links_open)[order]
    # links into openings read a ghost slot after the populations, which the boundary kernel fills
    gather[link_q.astype(np.int64) - 1, link_cell] = n_blocks * Q * BLOCK + np.arange(link_cell.size)
    gather = np.ascontiguousarray(gather.reshape(Q - 1, n_blocks, BLOCK).transpose(1, 0, 2))
    boundary_cells, counts = np.unique(link_cell, return_counts=True)
    link_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    normals, areas = _opening_normals(link_q, link_opening)
    lattice = SparseLattice(domain, voxels, n_blocks, gather.ravel(), boundary_cells.astype(np.int32),
                            link_start, link_q, link_opening, normals, areas)
    _log.info("lattice: %d fluid cells in %d blocks, %d open links, %.1f MB", n, n_blocks, lattice.n_links,
              lattice.memory_bytes() / 1e6)
    return lattice


def _opening_normals(link_q: np.ndarray, link_opening: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    normals = np.zeros((len(Opening), 3))
    areas = np.zeros(len(Opening))
    c = VELOCITIES[link_q].astype(np.float64)
    w = WEIGHTS[link_q]
    for index in range(len(Opening)):
        mine = link_opening == index
        if not mine.any():
            continue
        direction = -(w[mine, None] * c[mine]).sum(axis=0)
        norm = np.linalg.norm(direction)
        if norm == 0:
            raise ValidationError(f"the {list(Opening)[index].value} opening has no direction (it surrounds "
                                  "the air symmetrically); make it a layer across the airway")
        normals[index] = direction / norm
        areas[index] = float(np.sum(6.0 * w[mine] * -(c[mine] @ normals[index])))
    return normals, areas


def distance_through_air(lattice: SparseLattice, sources: np.ndarray) -> np.ndarray:
    """Shortest distance (cells, face steps) from any of the ``sources`` cells to every cell; inf if cut off.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(1, 4))
    >>> distance_through_air(lattice, np.array([0])).tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    n = lattice.n_cells
    if n == 0 or len(sources) == 0:
        return np.full(n, np.inf)
    gather = lattice.gather.reshape(lattice.n_blocks, Q - 1, BLOCK).transpose(1, 0, 2).reshape(Q - 1, -1)[:6, :n]
    rows, cols = [], []
    for q in range(1, 7):
        source = gather[q - 1].astype(np.int64)
        fluid = (source < lattice.ghost_start) & ((source // BLOCK) % Q == q)
        rows.append(np.flatnonzero(fluid))
        cols.append((source[fluid] // (Q * BLOCK)) * BLOCK + source[fluid] % BLOCK)
    rows_all, cols_all = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(rows_all.size), (rows_all, cols_all)), shape=(n, n)).tocsr()
    result: np.ndarray = dijkstra(graph, directed=False, indices=np.unique(sources), min_only=True)
    return result
