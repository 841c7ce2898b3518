"""Flow domains: validation, openings, resampling and connectivity."""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.cfd.domain import FlowDomain, Opening
from rhinoapp.cfd.setup import build_lattice
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import ImageGeometry


def _duct_masks() -> tuple[np.ndarray, np.ndarray, np.ndarray, ImageGeometry]:
    fluid = np.zeros((8, 4, 4), dtype=bool)
    fluid[1:7, 1:3, 1:3] = True
    inlet = np.zeros_like(fluid)
    inlet[0, 1:3, 1:3] = True
    outlet = np.zeros_like(fluid)
    outlet[7, 1:3, 1:3] = True
    return fluid, inlet, outlet, ImageGeometry(fluid.shape)


def test_openings_must_lie_outside_the_air_and_apart() -> None:
    fluid, inlet, outlet, geometry = _duct_masks()
    empty = np.zeros_like(fluid)
    with pytest.raises(ValidationError, match="overlap the fluid"):
        FlowDomain(fluid | inlet, inlet, empty, outlet, geometry)
    with pytest.raises(ValidationError, match="one opening only"):
        FlowDomain(fluid, inlet, empty, inlet, geometry)
    with pytest.raises(ValidationError, match="outlet does not touch"):
        FlowDomain(fluid, inlet, empty, empty, geometry)
    with pytest.raises(ValidationError, match="no nostril inlet"):
        FlowDomain(fluid, empty, empty, outlet, geometry)
    with pytest.raises(ValidationError, match="no fluid"):
        FlowDomain(empty, inlet, empty, outlet, geometry)
    with pytest.raises(ValidationError, match="shape"):
        FlowDomain(fluid[:-1], inlet, empty, outlet, geometry)


def test_carve_turns_air_into_openings() -> None:
    fluid, inlet, outlet, geometry = _duct_masks()
    domain = FlowDomain.carve(fluid | inlet | outlet, geometry, inlet_left=inlet, outlet=outlet)
    assert domain.n_fluid == int(fluid.sum())
    assert domain.touches(Opening.INLET_LEFT) and not domain.touches(Opening.INLET_RIGHT)


def test_blocked_airway_is_refused_naming_the_side() -> None:
    fluid, inlet, outlet, geometry = _duct_masks()
    fluid[4] = False
    domain = FlowDomain(fluid, np.zeros_like(fluid), inlet, outlet, geometry)
    with pytest.raises(ValidationError, match="right nostril inlet to the outlet"):
        domain.connected()


def test_isolated_pockets_are_dropped() -> None:
    fluid, inlet, outlet, geometry = _duct_masks()
    big = np.zeros((8, 8, 8), dtype=bool)
    big[:, :4, :4] = fluid
    big[3, 6, 6] = True  # a pocket of air nobody reaches
    pad = np.zeros_like(big)
    masks = [np.zeros_like(big) for _ in range(2)]
    masks[0][:, :4, :4] = inlet
    masks[1][:, :4, :4] = outlet
    domain = FlowDomain(big, masks[0], pad, masks[1], ImageGeometry(big.shape)).connected()
    assert domain.n_fluid == int(fluid.sum())


@pytest.mark.parametrize("resolution", [0.5, 2.0])
def test_resampling_keeps_the_openings_and_the_box(resolution: float) -> None:
    duct = square_duct(8, 16, spacing_mm=1.0)
    resampled = duct.resampled(resolution)
    assert resampled.geometry.spacing_mm == (resolution,) * 3
    assert np.allclose(resampled.geometry.extent_mm, duct.geometry.extent_mm)
    factor = (1.0 / resolution) ** 3
    assert abs(resampled.n_fluid / (duct.n_fluid * factor) - 1) < 0.15
    for opening in (Opening.INLET_LEFT, Opening.OUTLET):
        assert resampled.touches(opening)
    areas = build_lattice(resampled).opening_area  # also the end on the grid's face, which a coarser grid fills
    assert areas[0] == pytest.approx(areas[2], rel=0.1) and areas[0] >= 0.8 * (8 / resolution) ** 2
    # corner of the grid stays where it was
    old_corner = duct.geometry.index_to_physical(-0.5 * np.ones(3))
    new_corner = resampled.geometry.index_to_physical(-0.5 * np.ones(3))
    assert np.allclose(old_corner, new_corner)


def _staircase_pipe(voxel_mm: float = 0.5, radius_mm: float = 2.6, length_mm: float = 6.0) -> FlowDomain:
    """A round pipe along ``k`` on coarse voxels (a staircase), with an inlet and an outlet layer."""
    n = 2 * int(np.ceil(radius_mm / voxel_mm)) + 4
    centres = (np.arange(n) + 0.5 - n / 2) * voxel_mm
    section = np.hypot(centres[:, None], centres[None, :]) < radius_mm
    fluid = np.broadcast_to(section, (int(round(length_mm / voxel_mm)), n, n)).copy()
    inlet, outlet = np.zeros_like(fluid), np.zeros_like(fluid)
    inlet[0], outlet[-1] = section, section
    return FlowDomain.carve(fluid, ImageGeometry(fluid.shape, (voxel_mm,) * 3), inlet_left=inlet, outlet=outlet)


@pytest.mark.parametrize("resolution", [0.5, 0.33, 0.8])
def test_smooth_resampling_makes_the_air_inside_the_smooth_wall_the_fluid(resolution: float) -> None:
    """With the smooth wall, a lattice cell is fluid exactly where its centre lies inside the blurred air's 0.5
    level (also on the airway's own grid, which nearest sampling returns unchanged); the openings stay open."""
    pipe = _staircase_pipe()
    smooth = pipe.resampled(resolution, smooth_wall_voxels=0.75)
    nearest = pipe.resampled(resolution)
    assert smooth is not pipe and smooth.geometry == nearest.geometry
    level = _blurred_at_cells(pipe, smooth)
    openings = smooth.inlet_left | smooth.outlet
    inside = level >= 0.5
    assert np.all(level[smooth.fluid] >= 0.5) and not np.any(inside & ~smooth.fluid & ~openings & ~_near_ends(smooth))
    if resolution < 0.5:  # finer than the voxels, nearest sampling keeps fluid cells in the smooth wall
        assert np.any(level[nearest.fluid] < 0.5)
    for opening in (Opening.INLET_LEFT, Opening.OUTLET):
        assert smooth.touches(opening)
    assert smooth.n_fluid == pytest.approx(nearest.n_fluid, rel=0.1)


def _blurred_at_cells(airway: FlowDomain, grid: FlowDomain) -> np.ndarray:
    """The airway's blurred air (0.75 voxels) at the centres of ``grid``'s cells, trilinear."""
    from scipy import ndimage

    k, j, i = np.meshgrid(*(np.arange(n, dtype=float) for n in grid.geometry.shape), indexing="ij")
    ijk = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1)
    old = airway.geometry.physical_to_index(grid.geometry.index_to_physical(ijk))
    values = ndimage.map_coordinates(airway.smooth_air(0.75), old[:, ::-1].T, order=1, mode="nearest")
    return values.reshape(grid.geometry.shape)


def _near_ends(domain: FlowDomain) -> np.ndarray:
    """The first and last layers along ``k`` (where the old openings lie)."""
    ends = np.zeros(domain.geometry.shape, dtype=bool)
    ends[:2], ends[-2:] = True, True
    return ends


def test_smooth_resampling_keeps_a_passage_one_voxel_wide_open(caplog: pytest.LogCaptureFixture) -> None:
    """A passage one voxel wide lies below the blurred air's 0.5 level everywhere: the smooth wall would close the
    airway there, so the voxels' own cells are kept (with a warning) instead of refusing a run the voxels allow."""
    fluid = np.zeros((16, 9, 9), dtype=bool)
    fluid[:, 1:8, 1:8] = True
    fluid[7:9] = False
    fluid[7:9, 4, 4] = True  # the only way through: one voxel across
    inlet, outlet = np.zeros_like(fluid), np.zeros_like(fluid)
    inlet[0], outlet[-1] = fluid[0], fluid[-1]
    duct = FlowDomain.carve(fluid, ImageGeometry(fluid.shape, (0.5,) * 3), inlet_left=inlet, outlet=outlet).connected()
    level = _blurred_at_cells(duct, duct)
    assert level[7, 4, 4] < 0.5  # the smooth wall closes the passage
    with caplog.at_level("WARNING", logger="rhinoapp.cfd.domain"):
        smooth = duct.resampled(0.5, smooth_wall_voxels=0.75)
    assert smooth.fluid[7, 4, 4] and smooth.fluid[8, 4, 4] and "closes a passage" in caplog.text
    assert smooth.connected().n_fluid == smooth.n_fluid


@pytest.mark.parametrize("resolution", [0.33, 0.75, 0.8])
def test_a_flat_opening_on_a_new_grid_caps_the_passage_without_a_rim(resolution: float) -> None:
    """An outlet that is one layer across a round passage is, on the new grid, the cells that face the air across
    that layer: not the rim round the passage's end, whose cells touch the air only across an edge (a third of a
    rolled head's outlet on the 0.75 mm lattice was such a rim)."""
    smooth = _staircase_pipe().resampled(resolution, smooth_wall_voxels=0.75)
    for mask in (smooth.outlet, smooth.inlet_left):
        layers = np.unique(np.nonzero(mask)[0])
        assert layers.size == 1
        layer = int(layers[0])
        inward = max((n for n in (layer - 1, layer + 1) if 0 <= n < len(mask)), key=lambda n: smooth.fluid[n].sum())
        assert np.array_equal(mask[layer], smooth.fluid[inward] & ~smooth.fluid[layer])
