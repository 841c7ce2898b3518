"""Openings that hold for any airway: ambient-air chambers, the outlet extension and the measurement planes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from rhinoapp.cfd.domain import FlowDomain, Opening, link_structure
from rhinoapp.cfd.inputs import airway_domain, domain_from_labels
from rhinoapp.cfd.openings import PLANE_OUTLET, SurroundingsConfig, with_open_surroundings
from rhinoapp.cfd.shapes import square_duct, two_channel_labels
from rhinoapp.core.volume import ImageGeometry, LabelMap


def test_the_chambers_of_the_two_nostrils_meet_only_through_the_airway() -> None:
    plain = domain_from_labels(two_channel_labels(2.0))
    domain = with_open_surroundings(plain)
    assert domain.touches(Opening.INLET_LEFT) and domain.touches(Opening.INLET_RIGHT) and domain.touches(Opening.OUTLET)
    # without the former nostril layers, the two chambers are apart
    cut = domain.fluid & ~domain.planes["nostril_left"] & ~domain.planes["nostril_right"]
    components, _ = ndimage.label(cut, structure=link_structure())
    near = [ndimage.binary_dilation(domain.opening_mask(o), link_structure()) & cut
            for o in (Opening.INLET_LEFT, Opening.INLET_RIGHT)]
    left, right = (set(np.unique(components[m]).tolist()) - {0} for m in near)
    assert left and right and not left & right
    # the openings never touch the airway itself, only the chambers
    airway = np.pad(plain.fluid, [(a, b) for a, b in _padding(plain, domain)])
    for opening in Opening:
        assert not (ndimage.binary_dilation(domain.opening_mask(opening), link_structure()) & airway).any()
    assert domain.connected().n_fluid == domain.n_fluid


def _padding(plain: FlowDomain, grown: FlowDomain) -> list[tuple[int, int]]:
    """Voxels added before and after each axis: from the origins (identity direction, same spacing)."""
    before = np.round((np.asarray(plain.geometry.origin_mm) - grown.geometry.origin_mm)
                      / np.asarray(plain.geometry.spacing_mm)).astype(int)[::-1]
    after = np.asarray(grown.geometry.shape) - np.asarray(plain.geometry.shape) - before
    return [(int(a), int(b)) for a, b in zip(before, after)]


def test_the_outlet_extension_is_a_prism_several_diameters_long() -> None:
    duct = square_duct(6, 10)
    domain = with_open_surroundings(duct, SurroundingsConfig(extension_diameters=3.0, chamber_depth_mm=4.0))
    diameter = 2.0 * np.sqrt(36.0 / np.pi)
    added_below = domain.geometry.shape[0] - duct.geometry.shape[0]
    assert added_below >= 3.0 * diameter + 4.0
    assert int(domain.outlet.sum()) == 36
    assert int(domain.planes[PLANE_OUTLET].sum()) == 36  # the former outlet layer, now fluid


def test_an_airway_cut_at_the_image_face_grows_the_grid() -> None:
    labels = two_channel_labels(2.0)
    # the nasopharynx now ends at the lower image face: two slices fewer
    cropped = LabelMap(labels.labels[2:], ImageGeometry(labels.labels[2:].shape, labels.geometry.spacing_mm,
                                                        (labels.geometry.origin_mm[0], labels.geometry.origin_mm[1],
                                                         labels.geometry.origin_mm[2] + 4.0)))
    domain = airway_domain(cropped)
    assert domain.geometry.origin_mm[2] < cropped.geometry.origin_mm[2] - 8.0
    assert domain.touches(Opening.OUTLET)
    assert {"choana_left", "choana_right", "outlet"} <= set(domain.planes)


def test_planes_survive_resampling() -> None:
    domain = airway_domain(two_channel_labels(2.0))
    fine = domain.resampled(1.0)
    for name, mask in domain.planes.items():
        assert fine.planes[name].any(), name
        assert not (fine.planes[name] & ~fine.fluid).any()
    assert fine.touches(Opening.INLET_LEFT) and fine.touches(Opening.OUTLET)


def test_periodic_domains_are_left_alone() -> None:
    periodic = square_duct(4, 4, periodic=True)
    assert with_open_surroundings(periodic) is periodic


@pytest.mark.parametrize("bad", [{"chamber_depth_mm": -1.0}, {"extension_diameters": float("nan")}])
def test_sizes_must_be_non_negative(bad: dict[str, float]) -> None:
    from rhinoapp.core.errors import ValidationError

    with pytest.raises(ValidationError, match="non-negative"):
        SurroundingsConfig(**bad)
