"""An imported airway without its CT: the segmentation of a label map whose openings are where its labels end.

The end faces come from :func:`rhinoapp.cfd.inputs.label_end_faces` (as ``rhinoapp segment --from-labels FILE``
without a CT takes them); these tests check what :func:`segmentation_from_ends` makes of them: the planes, the
seeds, the outlet, and the notes a user reads (a cut nostril, swapped sides, a cavity that does not join).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from rhinoapp.cfd.domain import Opening as FlowOpening
from rhinoapp.cfd.inputs import label_end_faces, nostril_cut_short
from rhinoapp.cfd.shapes import two_channel_labels
from rhinoapp.core.volume import AirwayLabel, LabelMap
from rhinoapp.segmentation.imported import EndFace, segmentation_from_ends
from rhinoapp.segmentation.label_import import LabelImportError


def _ends(labels: LabelMap) -> tuple[EndFace, EndFace, EndFace]:
    ends = label_end_faces(labels)
    faces = [EndFace(ends[o].mask, ends[o].outward_kji, nostril_cut_short(labels.geometry, ends[o]) if o.is_inlet else "")
             for o in FlowOpening]
    return faces[0], faces[1], faces[2]


def test_the_openings_are_the_label_ends_and_a_front_cut_is_written_as_short_of_the_nostril() -> None:
    labels = two_channel_labels(2.0)  # nostrils cut flat by the image's front face, the outlet by its lower face
    segmentation = segmentation_from_ends(labels, _ends(labels), warnings=("from the file",))
    left, right, outlet = segmentation.inlet_left, segmentation.inlet_right, segmentation.outlet
    assert left.plane.normal == pytest.approx((0.0, -1.0, 0.0)) and right.plane.normal == pytest.approx((0.0, -1.0, 0.0))
    assert outlet.plane.normal == pytest.approx((0.0, 0.0, -1.0))
    front = labels.geometry.origin_mm[1] - labels.geometry.spacing_mm[1] / 2  # the image's front face
    assert left.plane.point_mm[1] == pytest.approx(front) and left.plane.point_mm[0] > 0 > right.plane.point_mm[0]
    assert left.area_mm2 == pytest.approx(14 * 4.0) and outlet.area_mm2 == pytest.approx(60 * 4.0)
    assert left.short_of_nostril and right.short_of_nostril and not outlet.short_of_nostril
    assert segmentation.warnings[0] == "from the file"
    assert sum("coronal face inside the vestibule" in w for w in segmentation.warnings) == 2
    assert segmentation.seeds_lps_mm[0][0] > 0 > segmentation.seeds_lps_mm[1][0]
    document = segmentation.metadata()
    assert document["inlets"]["left"]["short_of_nostril"] == left.short_of_nostril


def test_swapped_sides_and_a_cavity_that_does_not_join_are_noted() -> None:
    labels = two_channel_labels(2.0)
    values = labels.labels
    swapped = values.copy()
    swapped[values == AirwayLabel.LEFT_CAVITY] = AirwayLabel.RIGHT_CAVITY
    swapped[values == AirwayLabel.RIGHT_CAVITY] = AirwayLabel.LEFT_CAVITY
    swapped_labels = LabelMap(swapped, labels.geometry)
    notes = segmentation_from_ends(swapped_labels, _ends(swapped_labels)).warnings
    assert any("swap left and right" in note for note in notes)
    ends = _ends(labels)
    apart = values.copy()
    left = np.argwhere(values == AirwayLabel.LEFT_CAVITY)
    joins = np.zeros(values.shape, dtype=bool)  # the left cavity's voxels next to the nasopharynx
    joins[tuple(left.T)] = True
    joins &= ndimage.binary_dilation(values == AirwayLabel.NASOPHARYNX, np.ones((3, 3, 3), dtype=bool))
    apart[joins] = 0
    notes = segmentation_from_ends(LabelMap(apart, labels.geometry), ends).warnings
    assert any("the left cavity does not join the nasopharynx" in note for note in notes)


def test_labels_without_a_nasopharynx_are_refused() -> None:
    labels = two_channel_labels(2.0)
    ends = _ends(labels)
    values = labels.labels.copy()
    values[values == AirwayLabel.NASOPHARYNX] = 0
    with pytest.raises(LabelImportError, match="no nasopharynx"):
        segmentation_from_ends(LabelMap(values, labels.geometry), ends)
