"""The sparse lattice: gather table, bounce-back, ghost slots, periodicity, boundary links."""

from __future__ import annotations

import numpy as np

from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.lattice import BLOCK, OPPOSITE, Q, VELOCITIES
from rhinoapp.cfd.setup import address, build_lattice, distance_through_air, lattice_bytes_per_cell
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.core.volume import ImageGeometry


def _gather_rows(lattice):  # (18, n)
    n = lattice.n_cells
    return lattice.gather.reshape(lattice.n_blocks, Q - 1, BLOCK).transpose(1, 0, 2).reshape(Q - 1, -1)[:, :n]


def test_gather_pulls_from_neighbours_and_bounces_off_walls() -> None:
    lattice = build_lattice(square_duct(3, 5))
    coords = lattice.cell_coordinates()
    index = {tuple(c): n for n, c in enumerate(coords)}
    rows = _gather_rows(lattice)
    ghosts = {}
    for link, (cell, q) in enumerate(zip(lattice.link_cells(), lattice.link_q, strict=True)):
        ghosts[(int(cell), int(q))] = lattice.ghost_start + link
    for n, c in enumerate(coords):
        for q in range(1, Q):
            source = tuple(c - VELOCITIES[q])
            got = rows[q - 1, n]
            if source in index:
                assert got == address(q, index[source])
            elif (n, q) in ghosts:
                assert got == ghosts[(n, q)]
            else:
                assert got == address(OPPOSITE[q], n)


def test_padding_bounces_on_itself_and_tables_are_int32() -> None:
    lattice = build_lattice(square_duct(3, 5))
    assert lattice.gather.dtype == np.int32
    assert lattice.n_blocks == 1 and lattice.n_cells == 45
    rows = lattice.gather.reshape(1, Q - 1, BLOCK)[0]
    lanes = np.arange(45, BLOCK)
    for q in range(1, Q):
        assert np.array_equal(rows[q - 1, 45:], address(OPPOSITE[q], lanes))
    assert lattice.population_size == Q * BLOCK + lattice.n_links


def test_periodic_axis_wraps() -> None:
    lattice = build_lattice(square_duct(2, 4, periodic=True))
    rows = _gather_rows(lattice)
    coords = lattice.cell_coordinates()
    q_up = 5  # c = (0, 0, 1): pulls from k - 1
    bottom = np.flatnonzero(coords[:, 2] == 0)
    sources = (rows[q_up - 1, bottom] // (Q * BLOCK)) * BLOCK + rows[q_up - 1, bottom] % BLOCK
    assert np.all(coords[sources, 2] == 3)
    assert lattice.n_links == 0


def test_opening_normals_and_areas() -> None:
    lattice = build_lattice(square_duct(4, 6))
    assert np.allclose(lattice.opening_normal[0], [0, 0, -1]) and np.allclose(lattice.opening_normal[2], [0, 0, 1])
    # per cell: the axis link carries 1/3, each diagonal 1/6; rim cells lose the diagonals into the wall ring
    expected = 4 * 1.0 + 8 * (1 / 3 + 3 / 6) + 4 * (1 / 3 + 2 / 6)
    assert np.isclose(lattice.opening_area[0], expected) and np.isclose(lattice.opening_area[2], expected)


def test_memory_per_cell_meets_the_goal() -> None:
    assert lattice_bytes_per_cell() <= 260
    lattice = build_lattice(square_duct(20, 20))
    assert lattice.memory_bytes() / lattice.n_cells < 260


def test_distance_through_air_follows_the_fluid() -> None:
    fluid = np.zeros((1, 3, 5), dtype=bool)
    fluid[0, 0, :] = fluid[0, 2, :] = True
    fluid[0, 1, 4] = True  # a U: from (0,0) to (0,2) the way round is 6 steps
    empty = np.zeros_like(fluid)
    domain = FlowDomain(fluid, empty, empty, empty, ImageGeometry(fluid.shape), periodic=(True, False, False))
    lattice = build_lattice(domain)
    coords = lattice.cell_coordinates()
    start = int(np.flatnonzero((coords[:, 0] == 0) & (coords[:, 1] == 0))[0])
    end = int(np.flatnonzero((coords[:, 0] == 0) & (coords[:, 1] == 2))[0])
    distance = distance_through_air(lattice, np.array([start]))
    assert distance[end] == 4.0  # periodic in i: across the seam, along i = 4, and back across
