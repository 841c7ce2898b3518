"""Carrying openings to a new grid: which layers are flat, and which of their voxels cap the air."""

from __future__ import annotations

import numpy as np

from rhinoapp.cfd.regrid import facing_the_air, flat_axis, sample_linear


def test_a_staircase_or_a_ring_has_no_flat_axis_and_keeps_every_voxel() -> None:
    stairs = np.zeros((3, 4, 4), dtype=bool)
    stairs[0, :, :2] = stairs[1, :, 2:] = True
    assert flat_axis(stairs) is None
    fluid = np.zeros_like(stairs)
    fluid[2] = True
    assert np.array_equal(facing_the_air(stairs, fluid, flat_axis(stairs)), stairs)


def test_a_flat_layer_keeps_the_voxels_facing_the_air_on_either_side() -> None:
    fluid = np.zeros((5, 4, 4), dtype=bool)
    fluid[:2, 1:3, 1:3] = True  # a passage ending below the layer at k = 2 ...
    fluid[3:, 0:2, 0:2] = True  # ... and another above it
    layer = np.zeros_like(fluid)
    layer[2] = True
    kept = facing_the_air(layer, fluid, flat_axis(layer))
    assert flat_axis(layer) == 0 and int(kept.sum()) == 7  # 2 x 2 below, 2 x 2 above, one cell shared
    assert np.array_equal(facing_the_air(layer, np.zeros_like(fluid), 0), layer)  # nothing faces the air: all kept


def test_linear_sampling_keeps_a_linear_ramp() -> None:
    ramp = np.broadcast_to(np.arange(8, dtype=np.float32), (4, 4, 8)).copy()  # rises along i
    half = sample_linear(ramp, np.array([16, 8, 8]), np.array([1.0, 1.0, 1.0]), 0.5, (False, False, False))
    assert half.shape == (8, 8, 16)
    inner = half[0, 0, 1:-1]
    assert np.allclose(inner, (np.arange(1, 15) + 0.5) * 0.5 - 0.5)
