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
