"""Where a label map stops: open end faces, also where the image's face cuts the labels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from rhinoapp.cfd.domain import Opening
from rhinoapp.cfd.inputs import airway_domain, domain_from_labels
from rhinoapp.cfd.label_ends import open_ends
from rhinoapp.cfd.resolution import bottleneck_width_mm
from rhinoapp.core.volume import AirwayLabel, ImageGeometry, LabelMap
from rhinoapp.phantom import generate_phantom, variant_params


def _front_cropped(labels: LabelMap, y_mm: float) -> LabelMap:
    """``labels`` with the field of view starting at ``y_mm`` (LPS; the grid's j axis is y)."""
    g = labels.geometry
    y = g.origin_mm[1] + np.arange(g.shape[1]) * g.spacing_mm[1]
    first = int(np.searchsorted(y, y_mm))
    kept = labels.labels[:, first:]
    return LabelMap(kept, ImageGeometry(kept.shape, g.spacing_mm, (g.origin_mm[0], float(y[first]), g.origin_mm[2]),
                                        g.direction))


def test_labels_cut_by_the_front_face_open_through_the_whole_cut_and_say_what_is_missing() -> None:
    """A field of view that ends 4 mm behind the nostrils, as a label map alone (no geometry.json): each nostril
    opens through all of its cavity's cut, looking forward. Before, only the part within one diameter of the
    label's far end opened; the rest stayed air walled off by the image's edge, the ambient chamber met the
    opening at a corner, and the bottleneck shrank from 5.0 to 2.5 mm (the default spacing with it)."""
    phantom = generate_phantom(variant_params("straight", spacing_mm=1.0, noise_hu=0))
    cut = _front_cropped(phantom.truth, phantom.landmarks.nostrils_lps_mm[0][1] + 4.0)
    values = cut.labels
    ends = open_ends(values, values > 0, cut.geometry.spacing_mm[::-1], [Opening.INLET_LEFT, Opening.INLET_RIGHT],
                     inferior_kji=(-1.0, 0.0, 0.0))
    for opening, label in ((Opening.INLET_LEFT, AirwayLabel.LEFT_CAVITY), (Opening.INLET_RIGHT, AirwayLabel.RIGHT_CAVITY)):
        whole_cut = np.zeros(values.shape, dtype=bool)
        whole_cut[:, 0] = values[:, 0] == label
        assert np.array_equal(ends[opening].mask, whole_cut), (int(ends[opening].mask.sum()), int(whole_cut.sum()))
        assert ends[opening].outward_kji == (0, -1, 0)  # forward: LPS -y
    domain = domain_from_labels(cut)
    assert set(domain.short_of_nostril) == {"inlet_left", "inlet_right"}
    assert "looking forward" in domain.short_of_nostril["inlet_left"]
    assert bottleneck_width_mm(airway_domain(cut)) == bottleneck_width_mm(airway_domain(phantom.truth))
    # the whole airway's nostrils open downward: nothing is missing
    assert domain_from_labels(phantom.truth).short_of_nostril == {}


@pytest.mark.parametrize("tilt_deg", [-20, 0, 20])
def test_a_nasopharynx_as_long_as_it_is_wide_opens_down_where_its_label_is_cut_not_through_its_back_wall(
        tilt_deg: int) -> None:
    """A nasopharynx label is often a room behind the choanae, about as long as it is wide, cut below. Tilted 20
    degrees forward or back in the scanner, its far end from the choanae is a corner, and seen from behind its back
    wall (the posterior pharyngeal wall) outscored the cut: on the clinical phantom tilted forward, back or askew
    the outlet was the back wall. The nasopharynx goes on down into the oropharynx: the whole cut below is its open
    end."""
    values = np.zeros((60, 70, 16), dtype=np.uint8)
    values[25:45, 5:32, 2:6] = AirwayLabel.RIGHT_CAVITY
    values[25:45, 5:32, 10:14] = AirwayLabel.LEFT_CAVITY
    values[15:50, 32:50, 3:13] = AirwayLabel.NASOPHARYNX  # 18 mm deep, 35 mm tall, cut at its bottom: 180 mm²
    values = ndimage.rotate(values, tilt_deg, axes=(0, 1), order=0, reshape=True)
    outlet = open_ends(values, values > 0, (1.0, 1.0, 1.0), [Opening.OUTLET])[Opening.OUTLET]
    assert outlet.outward_kji == (-1, 0, 0)
    assert outlet.mask.sum() >= 160  # the whole cut, seen from below
