"""Interpolated bounce-back: where the airway's wall cuts each wall link, and the weights of the rule.

Half-way bounce-back puts every wall half-way between a fluid cell and its wall neighbour, so a
smooth, slanted wall becomes a staircase. The linear interpolated bounce-back of Bouzidi,
Firdaouss and Lallemand (2001) uses the fraction ``q`` of the link from the fluid cell ``x``
towards its wall neighbour ``x + c_i`` at which the wall lies. The population that returns to
``x`` from the wall in the next step is::

    q <  1/2:  f_ibar(x, t+1) = 2q f*_i(x) + (1 - 2q) f*_i(x - c_i)
    q >= 1/2:  f_ibar(x, t+1) = f*_i(x) / (2q) + (2q - 1) / (2q) f*_ibar(x)

with ``f*`` the post-collision populations; ``q = 1/2`` is half-way bounce-back. In the pull
layout of :mod:`rhinoapp.cfd.setup` the cell ``x`` pulls ``f_ibar`` from its own slot
``address(i, x)`` (which nothing else reads, as ``x + c_i`` is no fluid cell), so after each step
a pass over the wall links overwrites that slot with ``near * g[slot] + far * g[second]``, all
sources read before any slot is written (:func:`rhinoapp.cfd.backends.base.interpolate_walls`).
Populations are deviations from the rest state, which the weights (summing to 1) carry through.

``q`` is where the airway's smooth wall crosses the link. The smooth wall is the 0.5 level of the air
mask on the voxels the airway was given on (before it is resampled to the lattice), blurred by a Gaussian
of :data:`WALL_SMOOTHING_VOXELS` voxels: the wall of the anatomy that the voxels sample, as the
segmentation's surface and a body-fitted mesh have it, not the voxels' own staircase (whose steps, half a
voxel high, act as roughness in a passage a few voxels wide). The blurred mask is sampled along each
link (:data:`LINK_SAMPLES` intervals, trilinear) and ``q`` is its first crossing of 0.5. With
``smoothing_voxels=0`` the wall is the staircase of the voxel faces, from a signed distance interpolated
trilinearly to the two ends of the link: ``q = phi(x) / (phi(x) - phi(x + c_i))``. With the smooth wall the
lattice's cells are the air inside it (``FlowDomain.resampled(..., smooth_wall_voxels=...)``, as
:func:`rhinoapp.cfd.simulation.simulate` builds them), so every wall link finds the wall within it. Where the
resampled cells and the wall disagree (cells sampled at the nearest voxel, the rims of the openings, a passage
about a voxel wide that the smooth wall would close) the wall goes to the nearer end of the link (``q = 1`` where
the wall cell lies in the air, ``q`` = :data:`MIN_FRACTION` where the fluid cell lies in the wall). Sampled at
the nearest of the hard phantom's 0.5 mm voxels, 18-19 % of the wall links of its 0.41 and 0.33 mm lattices were
clamped so, the wall put up to half a voxel from the smooth one (docs/validation.md, fourteenth follow-up). A link keeps half-way bounce-back
where the wall does not fall towards it, and where ``q < 1/2`` but ``x - c_i`` is no fluid cell (thin
passages and corners).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.lattice import BLOCK, OPPOSITE, Q, VELOCITIES
from rhinoapp.cfd.setup import SparseLattice, address

__all__ = ["WallLinks", "interpolated_walls", "signed_distance_mm", "smooth_wall_fractions", "wall_link_ends",
           "wall_links"]

_log = logging.getLogger(__name__)

#: The smallest wall fraction ``q`` (a fluid cell that the distance puts inside the wall).
MIN_FRACTION = 1e-3

#: Gaussian blur (in voxels of the airway's own grid) whose 0.5 level is the smooth wall; the OpenFOAM
#: comparison meshes the same level (``validation/foam_domain.py``), the segmentation's surface about it.
WALL_SMOOTHING_VOXELS = 0.75

#: Intervals per link at which the blurred air mask is sampled to find the wall.
LINK_SAMPLES = 16

#: Links sampled at once (``LINK_SAMPLES + 1`` points each), which bounds the memory of the sampling.
_CHUNK_LINKS = 65_536


@dataclass(frozen=True, eq=False)
class WallLinks:
    """The wall links that do not bounce back half-way, as the backends apply them.

    Attributes
    ----------
    slot
        int64 population addresses ``address(i, x)`` that the cell ``x`` pulls back from the wall.
    second
        int64 address of the second source: ``address(i, x - c_i)`` where ``q < 1/2``, else
        ``address(opposite(i), x)``.
    near, far
        float32 weights of ``g[slot]`` and ``g[second]``.
    fraction
        float32 ``q`` of each link.
    rest, start
        Mass-conserving links only (else empty): the rest population ``address(0, x)`` of every cell with
        interpolated links, and where each one's links start (the links are ordered by cell; ``start`` has one
        more entry). What a cell's links take from the mass that left towards the wall (``g[slot]`` before
        less after) is added to its rest population, so the walls neither create nor destroy mass.
    halfway
        Number of wall links that keep half-way bounce-back by the fallback rules (no second fluid cell, or
        a distance that does not fall towards the wall); links whose wall lies half-way are not counted.

    Examples
    --------
    >>> empty = WallLinks.none()
    >>> empty.size, empty.digest()[:8]
    (0, 'e3b0c442')
    """

    slot: np.ndarray
    second: np.ndarray
    near: np.ndarray
    far: np.ndarray
    fraction: np.ndarray
    rest: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    halfway: int = 0

    @property
    def conserving(self) -> bool:
        """True if the mass the interpolation takes or adds goes to the cells' rest populations."""
        return bool(self.rest.size)

    @classmethod
    def none(cls) -> WallLinks:
        """No interpolated link (every wall half-way)."""
        index, weight = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return cls(index, index, weight, weight, weight)

    @property
    def size(self) -> int:
        """Number of interpolated links."""
        return int(self.slot.size)

    def digest(self) -> str:
        """A digest of the links (for checkpoints)."""
        digest = hashlib.sha256()
        for array in (self.slot, self.second, self.near, self.far, self.rest, self.start):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def signed_distance_mm(domain: FlowDomain) -> np.ndarray:
    """Signed distance (mm) of every voxel centre to the voxel faces between air and wall; positive in the air.

    The air is the fluid and the openings (an opening is no wall).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> phi = signed_distance_mm(square_duct(4, 2, spacing_mm=0.5))
    >>> phi[1, :, 2].tolist()
    [-0.25, 0.25, 0.75, 0.75, 0.25, -0.25]
    """
    air = domain.air()
    spacing = tuple(float(s) for s in domain.geometry.spacing_mm[::-1])
    half = 0.5 * float(np.mean(spacing))
    inside = ndimage.distance_transform_edt(air, sampling=spacing) if (~air).any() else np.full(air.shape, np.inf)
    outside = ndimage.distance_transform_edt(~air, sampling=spacing) if air.any() else np.full(air.shape, np.inf)
    result: np.ndarray = np.where(air, inside - half, half - outside)
    return result


def wall_links(lattice: SparseLattice, distance_at: np.ndarray | None, *, conserve_mass: bool = False) -> WallLinks:
    """The interpolated wall links of ``lattice`` from a signed distance per link end.

    Parameters
    ----------
    lattice
        The lattice.
    distance_at
        ``(2, n_wall_links)``: the signed distance (any unit) at the fluid cell and at its wall neighbour
        of every wall link, in the order of :func:`wall_link_ends`; None keeps every wall half-way.
    conserve_mass
        Give each cell's rest population what its interpolated links take from the mass that left towards
        the wall (see :class:`WallLinks`): linear interpolation alone loses or gains mass at every link whose
        two sources differ.

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(4, 2, periodic=True))
    >>> cells, directions, ends = wall_link_ends(lattice)
    >>> links = wall_links(lattice, np.stack([np.full(cells.size, 0.25), np.full(cells.size, -0.75)]))
    >>> sorted(set(links.fraction.tolist())), sorted(set(links.near.tolist())), links.size + links.halfway == cells.size
    ([0.25], [0.5], True)
    """
    cells, directions, _ = wall_link_ends(lattice)
    if distance_at is None or cells.size == 0:
        return WallLinks.none()
    phi_fluid, phi_wall = (np.asarray(d, dtype=np.float64) for d in distance_at)
    # where the resampled cells and the distance disagree, the wall is put at the nearer end: a wall cell that the
    # distance puts in the air has the wall beyond it (q = 1), a fluid cell that it puts in the wall has it at
    # the cell (q = MIN_FRACTION); a distance that does not fall towards the wall keeps half-way
    falls = phi_fluid > phi_wall
    fraction = phi_fluid / np.where(falls, phi_fluid - np.minimum(phi_wall, 0.0), 1.0)
    fraction = np.where(falls, np.clip(np.where(phi_fluid > 0, fraction, 0.0), MIN_FRACTION, 1.0), 0.5)
    rows = lattice.gather.reshape(lattice.n_blocks, Q - 1, BLOCK).transpose(1, 0, 2).reshape(Q - 1, -1)
    behind = rows[directions - 1, cells].astype(np.int64)  # what x pulls along c_i: from x - c_i
    fluid_behind = (behind < lattice.ghost_start) & ((behind // BLOCK) % Q == directions)
    thin = (fraction < 0.5) & ~fluid_behind
    fraction = np.where(thin, 0.5, fraction)
    moved = np.abs(fraction - 0.5) > 1e-6
    fraction, cells, directions, behind = fraction[moved], cells[moved], directions[moved], behind[moved]
    low = fraction < 0.5
    slot = address(directions, cells)
    second = np.where(low, behind, address(OPPOSITE[directions], cells))
    near = np.where(low, 2.0 * fraction, 0.5 / fraction)
    far = np.where(low, 1.0 - 2.0 * fraction, 1.0 - 0.5 / fraction)
    order = np.argsort(cells, kind="stable")
    owners, first = np.unique(cells[order], return_index=True)
    rest, start = ((address(0, owners), np.append(first, order.size).astype(np.int64)) if conserve_mass
                   else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
    links = WallLinks(slot[order].astype(np.int64), second[order].astype(np.int64), near[order].astype(np.float32),
                      far[order].astype(np.float32), fraction[order].astype(np.float32), rest=rest, start=start,
                      halfway=int((thin | ~falls).sum()))
    _log.info("interpolated bounce-back on %d of %d wall links (%d kept half-way for want of a second fluid cell "
              "or a distance falling towards the wall)", links.size, moved.size, links.halfway)
    return links


def wall_link_ends(lattice: SparseLattice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every wall link: its fluid cell ``x``, the direction ``i`` towards the wall and the wall neighbour
    ``x + c_i`` as grid indices ``(n, 3)`` in ``(i, j, k)`` order (periodic axes wrapped, others may lie off
    the grid). Links into openings are not wall links.

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> cells, directions, ends = wall_link_ends(build_lattice(square_duct(1, 3, periodic=True)))
    >>> cells.size, sorted(set(directions.tolist()))
    (48, [1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])
    """
    n = lattice.n_cells
    rows = lattice.gather.reshape(lattice.n_blocks, Q - 1, BLOCK).transpose(1, 0, 2).reshape(Q - 1, -1)[:, :n]
    cells_all = np.arange(n, dtype=np.int64)
    found_cells, found_dirs = [], []
    for pulled in range(1, Q):
        bounce = rows[pulled - 1] == address(OPPOSITE[pulled], cells_all)
        found_cells.append(cells_all[bounce])
        found_dirs.append(np.full(int(bounce.sum()), OPPOSITE[pulled], dtype=np.int64))
    cells = np.concatenate(found_cells)
    directions = np.concatenate(found_dirs)
    ends = lattice.cell_coordinates()[cells] + VELOCITIES[directions]
    shape_ijk = np.asarray(lattice.domain.geometry.shape[::-1])
    periodic = np.asarray(lattice.domain.periodic)
    ends = np.where(periodic, ends % shape_ijk, ends)
    return cells, directions, ends


def interpolated_walls(lattice: SparseLattice, airway: FlowDomain, *, conserve_mass: bool = False,
                       smoothing_voxels: float = WALL_SMOOTHING_VOXELS) -> WallLinks:
    """The interpolated wall links of ``lattice`` from the wall of ``airway``'s air on its own grid.

    ``airway`` is the domain before resampling (the same box; any grid). Its wall is the smooth one
    (:func:`smooth_wall_fractions`, blurred by ``smoothing_voxels``) or, with ``smoothing_voxels=0``, the
    staircase of its voxel faces (:func:`signed_distance_mm`, interpolated trilinearly to the two ends of every
    wall link). With ``conserve_mass`` the links keep the mass balance of every cell (:func:`wall_links`).

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import round_pipe
    >>> fine = round_pipe(16, 8, periodic=True, spacing_mm=0.25)
    >>> links = interpolated_walls(build_lattice(fine.resampled(1.0)), fine)
    >>> links.size > 0, bool(np.all((links.fraction > 0) & (links.fraction <= 1)))
    (True, True)
    """
    cells, _, ends = wall_link_ends(lattice)
    if cells.size == 0:
        return WallLinks.none()
    grid = lattice.domain.geometry
    points = np.concatenate([lattice.cell_coordinates()[cells], ends]).astype(np.float64)
    ijk = airway.geometry.physical_to_index(grid.index_to_physical(points))
    if smoothing_voxels > 0:
        fraction = smooth_wall_fractions(airway, ijk[:cells.size], ijk[cells.size:], smoothing_voxels=smoothing_voxels)
        # as distances along the link (in link lengths) whose linear zero is the crossing: q and q - 1
        return wall_links(lattice, np.stack([fraction, fraction - 1.0]), conserve_mass=conserve_mass)
    phi = signed_distance_mm(airway)
    shape_ijk = np.asarray(airway.geometry.shape[::-1], dtype=np.float64)
    periodic = np.asarray(airway.periodic)
    ijk = np.where(periodic, np.mod(ijk, shape_ijk), ijk)
    values = ndimage.map_coordinates(phi, ijk[:, ::-1].T, order=1, mode="nearest")
    return wall_links(lattice, values.reshape(2, cells.size), conserve_mass=conserve_mass)


def smooth_wall_fractions(airway: FlowDomain, start_ijk: np.ndarray, end_ijk: np.ndarray, *,
                          smoothing_voxels: float = WALL_SMOOTHING_VOXELS) -> np.ndarray:
    """Where the smooth wall of ``airway`` crosses each link, as a fraction of it from ``start_ijk``.

    The smooth wall is the 0.5 level of the air mask (fluid and openings) blurred by a Gaussian of
    ``smoothing_voxels``; each link from ``start_ijk`` to ``end_ijk`` (continuous ``(i, j, k)`` indices of
    ``airway``'s grid, ``(n, 3)``) is sampled at :data:`LINK_SAMPLES` intervals. Returns 0 where the start lies
    in the wall and 1 where the whole link lies in the air.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> duct = square_duct(8, 4, spacing_mm=0.5)  # air at j = 1..8 (the walls on the faces j = 0.5 and 8.5)
    >>> start = np.array([[4.0, 7.0, 2.0], [4.0, 8.0, 2.0]])
    >>> smooth_wall_fractions(duct, start, start + [0.0, 2.0, 0.0]).round(2).tolist()
    [0.75, 0.25]
    """
    blurred = airway.smooth_air(smoothing_voxels)
    shape_ijk = np.asarray(airway.geometry.shape[::-1], dtype=np.float64)
    periodic = np.asarray(airway.periodic)
    steps = np.linspace(0.0, 1.0, LINK_SAMPLES + 1)
    result = np.empty(len(start_ijk))
    for first in range(0, len(start_ijk), _CHUNK_LINKS):
        a, b = start_ijk[first:first + _CHUNK_LINKS], end_ijk[first:first + _CHUNK_LINKS]
        points = a[:, None, :] + steps[None, :, None] * (b - a)[:, None, :]
        points = np.where(periodic, np.mod(points, shape_ijk), points).reshape(-1, 3)
        values = ndimage.map_coordinates(blurred, points[:, ::-1].T, order=1, mode="nearest")
        values = values.reshape(len(a), steps.size) - 0.5
        below = values < 0
        crossing = np.where(below.any(axis=1), np.argmax(below, axis=1), steps.size)
        inside = np.clip(crossing - 1, 0, steps.size - 1)
        outside = np.clip(crossing, 0, steps.size - 1)
        rows = np.arange(len(a))
        v0, v1 = values[rows, inside], values[rows, outside]
        share = np.where(v0 > v1, v0 / np.where(v0 > v1, v0 - v1, 1.0), 0.0)
        fraction = steps[inside] + share * (steps[1] - steps[0])
        result[first:first + _CHUNK_LINKS] = np.where(crossing == 0, 0.0, np.where(crossing == steps.size, 1.0, fraction))
    return result
