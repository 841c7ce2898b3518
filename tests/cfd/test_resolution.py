"""The default resolution's bottleneck: measured on the air inside the smooth wall, so ragged labels do not narrow it."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.resolution import bottleneck_width_mm, choose_resolution
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
