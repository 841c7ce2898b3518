"""An opening's plane cuts off its layer near the opening and what the cut separates, never a half-space.

Regression: a label map with 2 mm slices, imported without its CT, got a left nostril plane tilted by the
staircase of its faces (normal about (0, 0.35, -0.94)). Everything of the left cavity on the far side of that
plane, the floor of the nose from 2 cm behind the nostril on, was taken out of the airway, and the run diverged.
"""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.cfd.domain import Opening
from rhinoapp.cfd.inputs import OpeningPlane, domain_from_labels
from rhinoapp.cfd.plane_cut import plane_cut
from rhinoapp.cfd.shapes import two_channel_labels
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import AirwayLabel, ImageGeometry

TILTED = (0.0, 0.35, -0.94)  # down and back, as the staircase of a thick-slice nostril fits


def _phantom():
    from rhinoapp.phantom import generate_phantom, variant_params

    return generate_phantom(variant_params("straight", spacing_mm=1.0, noise_hu=0))


def _half_space(geometry, point, normal) -> np.ndarray:
    centres = geometry.index_to_physical(np.argwhere(np.ones(geometry.shape, dtype=bool))[:, ::-1])
    along = (centres - np.asarray(point)) @ (np.asarray(normal) / np.linalg.norm(normal))
    return (along >= -0.5 * max(geometry.spacing_mm)).reshape(geometry.shape)


@pytest.mark.parametrize("radius_mm", [6.0, None])
def test_a_tilted_nostril_plane_cuts_the_nostril_and_keeps_the_cavity(radius_mm: float | None) -> None:
    phantom = _phantom()
    labels, marks = phantom.truth, phantom.landmarks
    geometry = labels.geometry
    left = labels.labels == AirwayLabel.LEFT_CAVITY
    # the plane's half-space holds a large part of the cavity: cutting it off would close the nose
    assert (_half_space(geometry, marks.nostrils_lps_mm[0], TILTED) & left).sum() > 0.2 * left.sum()
    planes = {Opening.INLET_LEFT: OpeningPlane(marks.nostrils_lps_mm[0], TILTED, radius_mm=radius_mm),
              Opening.INLET_RIGHT: OpeningPlane(marks.nostrils_lps_mm[1], marks.nostril_normal_lps)}
    domain = domain_from_labels(labels, planes=planes)
    kept = (domain.fluid | domain.inlet_left) & left
    assert kept.sum() >= 0.97 * left.sum()
    inlet = geometry.index_to_physical(np.argwhere(domain.inlet_left)[:, ::-1])
    # the nostril's layer, and the voxels that cap its columns ending short of the plane (within 13 mm); not the
    # cavity's floor 2 cm behind
    assert np.linalg.norm(inlet - np.asarray(marks.nostrils_lps_mm[0]), axis=1).max() < 13.0
    assert domain.inlet_left.sum() > 0.5 * domain.inlet_right.sum()


def test_an_outlet_plane_above_the_labels_end_cuts_off_all_below_it() -> None:
    labels = two_channel_labels(2.0)
    geometry = labels.geometry
    pharynx = labels.labels == AirwayLabel.NASOPHARYNX
    point = (0.0, 80.0, geometry.origin_mm[2] + 6.0)
    cut = plane_cut(geometry, point, (0.0, 0.0, -1.0), 40.0, pharynx, labels.labels > 0)
    below = np.zeros_like(pharynx)
    below[tuple(np.argwhere(pharynx).T)] = geometry.index_to_physical(np.argwhere(pharynx)[:, ::-1])[:, 2] <= point[2] + 1
    assert below.any() and np.array_equal(cut, below)  # the layer at the plane and everything below it


def test_a_plane_radius_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="radius must be positive"):
        OpeningPlane((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), radius_mm=0.0)


def _tube_drawn_to_a_tilted_plane(roll_deg: float) -> tuple[np.ndarray, ImageGeometry, np.ndarray, np.ndarray]:
    """A round tube along k (1 mm voxels), labelled down to a plane rolled ``roll_deg`` about y: its end a staircase."""
    geometry = ImageGeometry((30, 24, 24))
    k, j, i = np.indices(geometry.shape)
    tube = (i - 11.5) ** 2 + (j - 11.5) ** 2 < 9.0**2
    normal = np.array([np.sin(np.radians(roll_deg)), 0.0, -np.cos(np.radians(roll_deg))])  # out of the tube, down
    point = np.array([11.5, 11.5, 6.0])
    along = (np.stack([i, j, k], axis=-1) - point) @ normal  # the voxel grid is LPS with 1 mm voxels
    return tube & (along <= 0.0), geometry, point, normal


@pytest.mark.parametrize("roll_deg", [5.0, 10.0, 20.0])
def test_a_label_drawn_to_a_tilted_plane_is_capped_in_every_column(roll_deg: float) -> None:
    """The label ends in a staircase at the plane. Where a column's last voxel lies more than half a voxel short of
    the plane, the plane's layer holds none of it: the cut caps the column with the voxel beyond its end.
    Regression: a head rolled 10 degrees had its outlet in slits (three columns of every six walled), and its
    flow diverged there."""
    region, geometry, point, normal = _tube_drawn_to_a_tilted_plane(roll_deg)
    cut = plane_cut(geometry, point, normal, 9.0, region, region)
    remaining = region & ~cut
    ends = {(j, i): k for k, j, i in np.argwhere(remaining)[::-1]}  # each column's lowest voxel left
    assert all(cut[k - 1, j, i] for (j, i), k in ends.items())  # every column ends in the opening
    assert (cut & ~region).any()  # some of it caps columns that end short of the plane's layer
    section = region.any(axis=0)
    assert np.array_equal(cut.any(axis=0), section)
