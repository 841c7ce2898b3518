"""Verification shapes and the symmetric phantom."""

from __future__ import annotations

import numpy as np

from rhinoapp.cfd.shapes import round_pipe, sponge_mask, square_duct, two_channel_labels
from rhinoapp.core.volume import AirwayLabel


def test_duct_and_pipe_sections() -> None:
    duct = square_duct(5, 3)
    assert duct.n_fluid == 75 and duct.inlet_left[0].sum() == 25 and duct.outlet[-1].sum() == 25
    pipe = round_pipe(24, 2, periodic=True)
    section = pipe.fluid[0]
    assert np.array_equal(section, section[::-1]) and np.array_equal(section, section.T)
    assert abs(section.sum() / (np.pi * 24**2) - 1) < 0.01


def test_phantom_is_mirror_symmetric_and_nose_like() -> None:
    labels = two_channel_labels(1.0)
    left = labels.labels == AirwayLabel.LEFT_CAVITY
    right = labels.labels == AirwayLabel.RIGHT_CAVITY
    assert np.array_equal(left, right[:, :, ::-1])
    centre_x = labels.geometry.index_to_physical(np.argwhere(left)[:, ::-1]).mean(axis=0)[0]
    assert centre_x > 0  # the patient's left is +x in LPS
    total_ml = sum(labels.volume_ml(v) for v in (1, 2, 3))
    assert 15 < total_ml < 35


def test_sponge_mask_fraction() -> None:
    mask = sponge_mask((30, 20, 20), 0.2, seed=2, smoothing=2.0)
    assert abs(mask.mean() - 0.2) < 0.005
