"""Interpolated (Bouzidi) bounce-back: wall fractions, backends, and a pipe whose wall is not half-way."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rhinoapp.cfd.backends import BoundaryValues, KernelParameters, create_backend
from rhinoapp.cfd.config import PhysicsConfig, RunConfig, WallBoundary
from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.inputs import domain_from_labels
from rhinoapp.cfd.postprocess import cell_moments
from rhinoapp.cfd.lattice import BLOCK, Q
from rhinoapp.cfd.setup import build_lattice
from rhinoapp.cfd.shapes import two_channel_labels
from rhinoapp.cfd.simulation import boundary_values, simulate, sponge_relaxation_times
from rhinoapp.cfd.solver import ramp
from rhinoapp.cfd.units import choose_lattice_parameters
from rhinoapp.cfd.walls import interpolated_walls, signed_distance_mm, wall_link_ends
from rhinoapp.core.volume import ImageGeometry

REFINE = 8  # airway voxels per lattice cell


def _fine_pipe(radius: float, *, periodic: bool = True) -> FlowDomain:
    """A pipe of ``radius`` lattice cells along ``k`` on voxels ``REFINE`` times finer (1 mm cells), its axis
    through a lattice cell corner; periodic along the axis or with an inlet and an outlet layer."""
    width = 2 * math.ceil(radius) + 2
    n = width * REFINE
    centres = (np.arange(n) + 0.5) / REFINE - width / 2
    section = centres[:, None] ** 2 + centres[None, :] ** 2 < radius**2
    length = 2 * REFINE if periodic else 8 * REFINE
    fluid = np.broadcast_to(section, (length, n, n)).copy()
    geometry = ImageGeometry(fluid.shape, (1.0 / REFINE,) * 3)
    empty = np.zeros_like(fluid)
    if periodic:
        return FlowDomain(fluid, empty, empty, empty, geometry, periodic=(False, False, True))
    inlet, outlet = empty.copy(), empty.copy()
    inlet[:REFINE], outlet[-REFINE:] = section, section
    return FlowDomain.carve(fluid, geometry, inlet_left=inlet, outlet=outlet)


def _pipe_flow_error(radius: float, interpolated: bool, tau: float = 1.0) -> tuple[float, float]:
    """Body-force Poiseuille flow in the periodic pipe, developed: the flow through a section and the rms
    velocity error, both relative to the analytic profile ``F (R^2 - r^2) / (4 nu)`` at the same cells."""
    fine = _fine_pipe(radius)
    lattice = build_lattice(fine.resampled(1.0))
    walls = interpolated_walls(lattice, fine) if interpolated else None
    force, nu = 1e-6, (tau - 0.5) / 3.0
    backend = create_backend("numpy", lattice, KernelParameters(tau=tau, force=(0.0, 0.0, force), walls=walls),
                             BoundaryValues.closed())
    backend.advance(np.ones(int(16 / (nu * 5.783 / radius**2))))  # 16 e-folds of the slowest mode
    _, u = cell_moments(lattice, backend.get_state(), (0.0, 0.0, force))
    coords = lattice.cell_coordinates().astype(np.float64)
    section = coords[:, 2] == 0
    middle = lattice.domain.geometry.shape[1] / 2
    r2 = (coords[section, 0] + 0.5 - middle) ** 2 + (coords[section, 1] + 0.5 - middle) ** 2
    exact = force / (4 * nu) * (radius**2 - r2)
    flow = u[2][section]
    return float(flow.sum() / exact.sum() - 1), float(np.sqrt(np.mean((flow - exact) ** 2)) / exact.max())


def test_signed_distance_and_fractions_of_a_pipe() -> None:
    fine = _fine_pipe(5.0)
    phi = signed_distance_mm(fine)
    centre = phi.shape[1] // 2
    assert phi[0, centre, centre] == pytest.approx(5.0, abs=0.2)  # the axis, 5 mm from the wall
    assert phi[0, centre, 0] < 0 < phi[0, centre, centre]
    lattice = build_lattice(fine.resampled(1.0))
    walls = interpolated_walls(lattice, fine, smoothing_voxels=0)
    cells, _, _ = wall_link_ends(lattice)
    assert 0 < walls.size <= cells.size and walls.size + walls.halfway <= cells.size
    assert np.all((walls.fraction > 0) & (walls.fraction <= 1)) and np.all(np.abs(walls.fraction - 0.5) > 1e-6)
    assert np.allclose(walls.near + walls.far, 1.0, atol=1e-6)  # the weights of an interpolation
    # on the airway's own grid the flat walls of a duct lie half-way: only the diagonal links into its four
    # edges move (to 0.35, the voxel distance's error at a convex corner of the wall)
    flat = FlowDomain(np.pad(np.ones((2, 4, 4), bool), ((0, 0), (1, 1), (1, 1))), *(np.zeros((2, 6, 6), bool),) * 3,
                      ImageGeometry((2, 6, 6)), periodic=(False, False, True))
    edges = interpolated_walls(build_lattice(flat), flat, smoothing_voxels=0)
    assert edges.size == 8 and np.all((edges.slot // BLOCK) % Q >= 7)
    assert np.allclose(edges.fraction, 0.5 / math.sqrt(2))


def test_the_smooth_wall_keeps_flat_walls_and_rounds_the_edges() -> None:
    """The default wall is the 0.5 level of the blurred air mask: on a duct's own grid its flat faces stay
    half-way between the cells (within 0.02 of a link, from the opposite wall's blur) and its four edges are
    rounded, so the links near them find the wall closer than the voxels' corner."""
    flat = FlowDomain(np.pad(np.ones((2, 8, 8), bool), ((0, 0), (1, 1), (1, 1))), *(np.zeros((2, 10, 10), bool),) * 3,
                      ImageGeometry((2, 10, 10)), periodic=(False, False, True))
    lattice = build_lattice(flat)
    walls = interpolated_walls(lattice, flat)
    cells, _, _ = wall_link_ends(lattice)
    assert walls.size + walls.halfway <= cells.size and np.all((walls.fraction > 0) & (walls.fraction < 0.5))
    coordinates = lattice.cell_coordinates()[(walls.slot % BLOCK) + BLOCK * (walls.slot // (BLOCK * Q))]
    middle = ~np.all((coordinates[:, :2] <= 2) | (coordinates[:, :2] >= 7), axis=1)  # away from the edges
    assert middle.sum() > 50 and np.all(np.abs(walls.fraction[middle] - 0.5) < 0.02)
    assert walls.fraction[~middle].min() < 0.25  # the links into a rounded edge


def test_pipe_flow_interpolated_walls_beat_halfway() -> None:
    """Known answer: the wall of a pipe of radius 4.5-6 cells is nowhere half-way between the cells.

    Measured (tau = 1): flow error halfway -4.6 / -4.1 / -2.2 %, interpolated +2.0 / -0.2 / +0.3 % at radius
    4.5 / 5 / 6 (the staircase of the fine voxels: +1.5 / -0.2 / +0.2 %); rms velocity error halfway
    6.5 / 3.6 / 3.1 %, interpolated 1.5 / 0.6 / 0.6 % of the peak.
    """
    for radius in (4.5, 5.0, 6.0):
        halfway, halfway_rms = _pipe_flow_error(radius, False)
        interpolated, interpolated_rms = _pipe_flow_error(radius, True)
        assert abs(interpolated) < 0.025 and abs(interpolated) < 0.5 * abs(halfway), (radius, halfway, interpolated)
        assert interpolated_rms < 0.5 * halfway_rms, (radius, halfway_rms, interpolated_rms)


@pytest.mark.parametrize("conserve_mass", [False, True])
def test_numpy_and_numba_agree_with_interpolated_walls(conserve_mass: bool) -> None:
    """The production collision (shear-improved Smagorinsky, bulk rate, sponge, open boundaries) with
    interpolated walls on the phantom resampled from 1 mm voxels to a 2 mm lattice, at a flow that stays laminar
    there (at 250 ml/s this coarse lattice is chaotic, and the two kernels' rounding differences grow to 20 %)."""
    airway = domain_from_labels(two_channel_labels(1.0))
    lattice = build_lattice(airway.resampled(2.0))
    walls = interpolated_walls(lattice, airway, conserve_mass=conserve_mass)
    assert walls.size > 0.3 * wall_link_ends(lattice)[0].size and walls.conserving == conserve_mass
    physics = PhysicsConfig(flow_ml_s=20.0)
    units = choose_lattice_parameters(lattice.domain, physics)
    params = KernelParameters(tau=units.tau, magic=units.trt_magic, smagorinsky=units.smagorinsky_constant,
                              tau_cells=sponge_relaxation_times(lattice, units.tau, 6, 30.0),
                              strain_average=0.05, bulk_omega=1.0, walls=walls)
    plain = KernelParameters(tau=params.tau, magic=params.magic, smagorinsky=params.smagorinsky,
                             tau_cells=params.tau_cells, strain_average=0.05, bulk_omega=1.0)
    assert params.digest() != plain.digest() and params.interpolated_walls and not plain.interpolated_walls
    boundary = boundary_values(lattice, physics, units)
    states, fluxes = {}, {}
    for name, kernel in (("numpy", params), ("numba", params), ("halfway", plain)):
        backend = create_backend("numpy" if name == "halfway" else name, lattice, kernel, boundary)
        backend.advance(ramp(np.arange(1, 301), 150))
        states[name], (fluxes[name], _, _) = backend.get_state(), backend.take_diagnostics()
    scale = np.max(np.abs(states["numpy"]))
    assert np.all(np.isfinite(states["numba"]))
    assert np.max(np.abs(states["numba"] - states["numpy"])) / scale < 1e-5  # measured 3e-7
    assert np.allclose(fluxes["numba"], fluxes["numpy"], rtol=1e-4, atol=1e-9)
    assert np.max(np.abs(states["halfway"] - states["numpy"])) / scale > 1e-3  # the walls do change the flow


def test_simulate_with_interpolated_walls_reports_them_and_the_conserving_ones_keep_the_flow() -> None:
    """A short pipe with an inlet and a prescribed outlet flow of 1 ml/s: plain interpolation loses mass at
    the walls (the inlet takes in 0.7 % less than the outlet lets out), the conserving walls do not."""
    assert PhysicsConfig().wall_boundary is WallBoundary.HALFWAY  # the default is unchanged
    fine = _fine_pipe(4.0, periodic=False)
    inflow = {}
    for walls in ("interpolated", "interpolated_conserving"):
        physics = PhysicsConfig(flow_ml_s=1.0, kinematic_viscosity_m2_s=1e-4, sponge_cells=0, wall_boundary=walls)
        assert physics.wall_boundary is WallBoundary(walls) and physics.wall_boundary.interpolated
        result = simulate(fine, physics, RunConfig(backend="numpy", max_steps=1500), resolution_mm=1.0)
        lattice = result.results["lattice"]
        assert lattice["wall_boundary"] == walls and lattice["interpolated_wall_links"] > 0
        assert lattice["fluid_cells_from"] == "inside the smooth wall"
        inflow[walls] = result.results["flow_ml_s"]["total"]
    assert inflow["interpolated_conserving"] == pytest.approx(1.0, abs=1e-3)
    assert inflow["interpolated"] < 0.997, inflow  # measured 0.9926 (at steady state)


def test_smooth_wall_cells_put_every_wall_link_inside_the_link() -> None:
    """On a staircase of coarse voxels, a lattice sampled at the nearest voxel has fluid cells inside the smooth
    wall and wall cells inside its air, whose links the wall has to be clamped to (``q`` = 1 or
    :data:`MIN_FRACTION`); the smooth wall's own cells (``resampled(..., smooth_wall_voxels=...)``) need none
    (but at the rims of the openings, whose air the blur carries beyond the grid's faces)."""
    from rhinoapp.cfd.walls import MIN_FRACTION, WALL_SMOOTHING_VOXELS

    fluid = np.zeros((12, 16, 16), dtype=bool)
    centres = np.arange(16) + 0.5 - 8
    fluid[:] = np.hypot(centres[:, None] * 1.4, centres[None, :]) < 6.3  # an oval on 0.5 mm voxels, inside the grid
    end = np.zeros_like(fluid)
    end[0] = end[-1] = fluid[0]
    first = (np.arange(12) < 6)[:, None, None]
    airway = FlowDomain.carve(fluid, ImageGeometry(fluid.shape, (0.5,) * 3), inlet_left=end & first,
                              outlet=end & ~first)
    clamped = {}
    for smooth in (0.0, WALL_SMOOTHING_VOXELS):
        lattice = build_lattice(airway.resampled(0.33, smooth_wall_voxels=smooth))
        walls = interpolated_walls(lattice, airway)
        cells = (walls.slot % BLOCK) + BLOCK * (walls.slot // (BLOCK * Q))
        layer = lattice.cell_coordinates()[cells][:, 2]  # k: the openings' rims lie in their layers and beyond
        domain = lattice.domain
        first_open, last_open = (int(np.argwhere(domain.inlet_left)[:, 0].max()), int(np.argwhere(domain.outlet)[:, 0].min()))
        inner = (layer > first_open) & (layer < last_open)
        clamped[smooth] = int(np.sum(((walls.fraction >= 1.0) | (walls.fraction <= MIN_FRACTION)) & inner))
        assert inner.sum() > 500
    assert clamped[0.0] > 50 and clamped[WALL_SMOOTHING_VOXELS] == 0, clamped
