"""The default resolution's bottleneck: measured on the air inside the smooth wall, so ragged labels do not narrow it."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.resolution import CELLS_ACROSS, bottleneck_width_mm, choose_resolution, given_resolution
from rhinoapp.cfd.shapes import round_pipe


def _ragged(domain, fraction: float, seed: int = 3):
    """``domain`` with ``fraction`` of its air's outer layer taken away (single voxels a threshold missed)."""
    openings = domain.inlet_left | domain.inlet_right | domain.outlet
    rim = domain.fluid & ~ndimage.binary_erosion(domain.fluid) & ~ndimage.binary_dilation(openings, iterations=2)
    fluid = domain.fluid & ~(rim & (np.random.default_rng(seed).random(rim.shape) < fraction))
    return dataclasses.replace(domain, fluid=fluid)


def test_a_ragged_wall_does_not_narrow_the_bottleneck() -> None:
    pipe = round_pipe(8.5, 40, spacing_mm=0.5)  # 8.5 mm across
    ragged = _ragged(pipe, 0.1)
    clean = bottleneck_width_mm(pipe)
    assert abs(bottleneck_width_mm(ragged) - clean) <= 0.25, (bottleneck_width_mm(ragged), clean)
    # the voxels as they are: every missing voxel is a wall, and the widest sphere shrinks by a voxel and more
    assert bottleneck_width_mm(ragged, smoothing_voxels=0.0) < clean - 0.5
    assert choose_resolution(ragged).resolution_mm >= choose_resolution(pipe).resolution_mm - 0.05


def test_a_channel_the_smooth_wall_closes_is_measured_on_the_voxels() -> None:
    """A plug four voxels long with a channel one voxel wide: the smooth wall closes it, the lattice of the voxels
    (the standard model's) has it; the bottleneck is then that voxel, not a figure of air that does not connect."""
    pipe = round_pipe(8.5, 40, spacing_mm=0.5)
    fluid = pipe.fluid.copy()
    k, middle = fluid.shape[0] // 2, fluid.shape[1] // 2
    fluid[k - 2:k + 2] = False
    fluid[k - 2:k + 2, middle, middle] = True
    plug = dataclasses.replace(pipe, fluid=fluid)
    assert not (plug.smooth_air(0.75) >= 0.5)[k, middle, middle]
    width = bottleneck_width_mm(plug)
    assert width == bottleneck_width_mm(plug, smoothing_voxels=0.0) == 0.5


def test_a_spacing_given_by_hand_is_measured_against_the_rule() -> None:
    """The rule's own spacing and one a little finer or coarser (within 5 %) meet it; a coarser one does not, and its
    message says how many cells it puts across the bottleneck and what the rule's spacing would be."""
    pipe = round_pipe(8.5, 40, spacing_mm=0.5)
    rule = choose_resolution(pipe)
    width = bottleneck_width_mm(pipe)
    for spacing in (rule.resolution_mm, 0.5, width / (0.96 * CELLS_ACROSS)):
        given = given_resolution(pipe, spacing)
        assert given.rule_met and not given.message and given.rule == "given by the user", spacing
        assert given.width_mm == rule.width_mm and given.cells_across == round(width / spacing, 2)
    coarse = given_resolution(pipe, 2.0)
    assert not coarse.rule_met and coarse.cells_across == round(width / 2.0, 2) < CELLS_ACROSS
    assert f"{coarse.cells_across:.1f} lattice cells across" in coarse.message
    assert f"({rule.resolution_mm:g} mm here)" in coarse.message and "quick look" in coarse.message
    assert coarse.as_dict()["cells_wanted"] == CELLS_ACROSS


def test_a_side_narrowed_behind_its_nostril_sets_the_bottleneck() -> None:
    """The walls beyond the openings count as air to the distances (the air goes on there), but a way to the outlet
    runs through the air: through the walls around the ambient-air chambers the narrowed left side's way had
    reached the right chamber and the wider right side (3.5 mm, the left narrowed to 1.5 mm: both read 3.5)."""
    from rhinoapp.cfd.inputs import airway_domain
    from rhinoapp.cfd.shapes import two_channel_labels
    from rhinoapp.core.volume import LabelMap

    labels = two_channel_labels(0.5)
    values = labels.labels.copy()
    left = values == 1
    slab = np.zeros_like(left)
    slab[:, 30:40] = True  # a stretch of the left passage 15-20 mm behind its nostril
    values[left & slab & ~ndimage.binary_erosion(left, iterations=2)] = 0  # 1 mm narrower on every side there
    narrowed = LabelMap(values, labels.geometry)
    assert bottleneck_width_mm(airway_domain(labels)) == 3.5
    width = bottleneck_width_mm(airway_domain(narrowed))
    assert width == 1.5 == bottleneck_width_mm(airway_domain(narrowed, open_surroundings=False))
    assert choose_resolution(airway_domain(narrowed)).resolution_mm == 0.25
