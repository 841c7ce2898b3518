"""Imported segmentations: the mapping, resampling onto the CT grid (left stays left), openings, bad input."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import ndimage

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.volume import AirwayLabel, ImageGeometry, LabelMap
from rhinoapp.phantom import generate_phantom
from rhinoapp.phantom.generate import Phantom
from rhinoapp.geometry.edited import opening_from_dict
from rhinoapp.segmentation.imported import segmentation_from_labels, segmentation_from_mask
from rhinoapp.segmentation.label_import import (WHOLE_AIRWAY, LabelImportError, LabelMapping, imported_labels,
                                                mapping_from_names, resample_nearest, target_of_name)

#: The file's numbering: 4 left, 3 right, 5 nasopharynx, 1 sinus (as the issue's example).
RENUMBER = np.array([0, 4, 3, 5, 1], dtype=np.int16)
MAPPING = "4:left,3:right,5:nasopharynx,1:sinus"


@functools.cache
def asymmetric_phantom() -> Phantom:
    """The phantom with a swollen left side: the left cavity is smaller than the right."""
    return generate_phantom(spacing_mm=1.0, noise_hu=0.0, left_swelling=0.9)


def other_grid(flipped: bool) -> ImageGeometry:
    """A grid of another spacing and origin covering the phantom; x runs to the patient's right when ``flipped``."""
    direction = (-1, 0, 0, 0, 1, 0, 0, 0, 1) if flipped else (1, 0, 0, 0, 1, 0, 0, 0, 1)
    origin = (37.0, -30.0, -30.0) if flipped else (-37.0, -30.0, -30.0)
    return ImageGeometry((80, 100, 80), spacing_mm=(0.9, 1.2, 1.1), origin_mm=origin, direction=direction)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b)))


def test_mapping_rules() -> None:
    mapping = LabelMapping.parse(" 4:left, 3:right ,5:nasopharynx,1:sinuses,2:sinus")
    assert mapping.as_dict() == {"4": "left", "3": "right", "5": "nasopharynx", "1": "sinus", "2": "sinus"}
    assert LabelMapping.of({4: "left", 3: "right", 5: "nasopharynx"}).text() == "4:left,3:right,5:nasopharynx"
    whole = LabelMapping.parse("1:airway,2:whole airway,3:sinus")  # a binary mask, two airway labels, sinuses
    assert whole.whole_airway and not mapping.whole_airway
    assert dict(whole.lookup()) == {1: WHOLE_AIRWAY, 2: WHOLE_AIRWAY, 3: AirwayLabel.SINUS}
    for text, words in (("4:left,3:right", "names no label for nasopharynx"), ("4:left,4:right,5:nasopharynx",
                        "mapped twice"), ("4:left,3:rigth,5:nasopharynx", "unknown target 'rigth'"),
                        ("4-left", "not LABEL:TARGET"), ("x:left,3:right,5:nasopharynx", "not a whole number"),
                        ("0:left,3:right,5:nasopharynx", "positive whole number"),
                        ("1:sinus", "names no label for left, right, nasopharynx.*or the whole airway as one label"),
                        ("1:airway,2:right,3:sinus", r"names both the whole airway and its parts \(right\)")):
        with pytest.raises(LabelImportError, match=words) as caught:
            LabelMapping.parse(text)
        assert isinstance(caught.value, RhinoappError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("name", "target"), [
    ("Left nasal cavity", "left"), ("nasal cavity R", "right"), ("Cavum nasi links", "left"), ("RT_cavity", "right"),
    ("Naso-pharynx", "nasopharynx"), ("Right maxillary sinus", "sinus"), ("Sinus_L", "sinus"),
    ("Nasal airway", "airway"), ("Upper Airway", "airway"), ("Oral cavity", None), ("Inferior turbinate L", None),
    ("Nasal septum", None), ("Segment_1", None), ("hair", None)])
def test_segment_names_say_their_targets(name: str, target: str | None) -> None:
    found = target_of_name(name)
    assert (found.value if found else None) == target


def test_a_mapping_from_names_needs_a_whole_airway_or_all_its_parts() -> None:
    parts = {1: "Left nasal cavity", 2: "Right nasal cavity", 3: "Nasopharynx", 4: "Airway", 5: "Oral cavity"}
    assert mapping_from_names(parts).text() == "1:left,2:right,3:nasopharynx"  # the airway and the mouth left out
    whole = {1: "Nasal cavity", 2: "Nasopharynx", 3: "Left maxillary sinus", 4: "Tongue"}
    assert mapping_from_names(whole).text() == "1:airway,2:airway,3:sinus"
    for names in ({1: "Left", 2: "Right"}, {1: "Segment_1"}, {}, {1: "Maxillary sinus"}):
        assert mapping_from_names(names) is None, names


@pytest.mark.parametrize("flipped", [False, True])
def test_labels_on_another_grid_keep_left_left(flipped: bool) -> None:
    phantom = asymmetric_phantom()
    truth = phantom.truth
    grid = other_grid(flipped)
    values = resample_nearest(RENUMBER[truth.labels], truth.geometry, grid)
    imported = imported_labels(values, grid, phantom.ct.geometry, LabelMapping.parse(MAPPING))
    labels = imported.labels
    assert imported.notes == () and imported.ragged_pits_pct is None
    for label in (AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY, AirwayLabel.NASOPHARYNX):
        assert dice(labels.labels == label, truth.labels == label) > 0.9, label
    # the patient's left is +x: the left label sits at larger x than the right, as in the ground truth
    x = phantom.ct.geometry.index_to_physical(np.stack(np.nonzero(labels.labels)[::-1], axis=1))[:, 0]
    values_at = labels.labels[np.nonzero(labels.labels)]
    assert x[values_at == AirwayLabel.LEFT_CAVITY].mean() > 3 > x[values_at == AirwayLabel.RIGHT_CAVITY].mean() + 6
    assert labels.count(AirwayLabel.LEFT_CAVITY) < 0.95 * labels.count(AirwayLabel.RIGHT_CAVITY)  # the swollen side


def test_openings_of_imported_labels_match_the_phantom() -> None:
    phantom = asymmetric_phantom()
    segmentation = segmentation_from_labels(phantom.ct, phantom.truth)
    landmarks = phantom.landmarks
    for opening, expected in zip((segmentation.inlet_left, segmentation.inlet_right), landmarks.nostrils_lps_mm):
        assert np.linalg.norm(np.subtract(opening.plane.point_mm, expected)) < 2.0
        assert opening.plane.normal == pytest.approx((0.0, 0.0, -1.0), abs=0.3)
    assert segmentation.outlet.plane.normal == (0.0, 0.0, -1.0)
    assert segmentation.options.sinus_mode.value == "keep"


def test_a_binary_airway_is_split_into_sides() -> None:
    phantom = asymmetric_phantom()
    truth = phantom.truth.labels
    airway = (truth > 0) & (truth < AirwayLabel.SINUS)
    segmentation = segmentation_from_mask(phantom.ct, airway)
    for label in (AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY):
        assert dice(segmentation.labels.labels == label, truth == label) > 0.9, label
    picked = segmentation_from_mask(phantom.ct, airway, nostrils=phantom.landmarks.nostrils_lps_mm)
    assert np.array_equal(picked.labels.labels, segmentation.labels.labels)


def test_a_whole_airway_without_its_nasopharynx_is_refused_with_the_reason() -> None:
    """Cavities labelled down to the choanae and nothing behind: two parts that do not join. Before, the error said
    that no nostrils were found, which sent people to the nostrils."""
    phantom = asymmetric_phantom()
    cavities = np.isin(phantom.truth.labels, [AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY])
    for nostrils in (None, phantom.landmarks.nostrils_lps_mm):
        with pytest.raises(LabelImportError, match=r"falls apart into 2 parts that do not join \(\d+\.\d ml, \d+\.\d ml\)"
                                                   r".*Include the nasopharynx") as caught:
            segmentation_from_mask(phantom.ct, cavities, nostrils=nostrils)
        assert "no pair of nostrils" not in str(caught.value)


def test_bad_labels_are_refused_clearly() -> None:
    phantom = asymmetric_phantom()
    values = RENUMBER[phantom.truth.labels]
    geometry = phantom.truth.geometry
    far = ImageGeometry(geometry.shape, geometry.spacing_mm, (400.0, 0.0, 0.0))
    with pytest.raises(LabelImportError, match="does not overlap the CT.*Import the label map made on this patient"):
        imported_labels(values, far, phantom.ct.geometry, LabelMapping.parse(MAPPING))
    with pytest.raises(LabelImportError, match=r"names label 7, which the label map does not hold \(labels found: 1 "):
        imported_labels(values, geometry, phantom.ct.geometry, LabelMapping.parse("4:left,3:right,7:nasopharynx"))
    imported = imported_labels(values, geometry, phantom.ct.geometry, LabelMapping.parse("4:left,3:right,5:nasopharynx"))
    assert imported.notes == ("labels 1 of the file are not mapped and were left out",)
    assert imported.labels.count(AirwayLabel.SINUS) == 0
    cut = phantom.truth.labels.copy()
    cut[cut == AirwayLabel.LEFT_CAVITY] = 0
    cut[cut == AirwayLabel.SINUS] = AirwayLabel.LEFT_CAVITY  # a "left cavity" closed inside the head
    with pytest.raises(LabelImportError, match="the left cavity .* nostril cannot be found"):
        segmentation_from_labels(phantom.ct, LabelMap(cut, phantom.ct.geometry))


def _cut_in_the_vestibule(phantom: Phantom, cut_mm: float) -> tuple[np.ndarray, float]:
    """The truth's labels with the cavities' lowest ``cut_mm`` left out (the vestibules' air below them unlabelled),
    and the z of the lowest cavity voxel left."""
    geometry = phantom.truth.geometry
    z = geometry.origin_mm[2] + np.arange(geometry.shape[0]) * geometry.spacing_mm[2]
    labels = phantom.truth.labels.copy()
    cavities = np.isin(labels, [AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY])
    lowest = float(z[cavities.any(axis=(1, 2))].min())
    labels[cavities & (z[:, None, None] < lowest + cut_mm)] = 0
    return labels, float(z[np.isin(labels, [1, 2]).any(axis=(1, 2))].min())


def test_labels_that_stop_inside_the_vestibule_open_where_they_end() -> None:
    """Cavities whose labels stop 2 mm above the nostrils, as expert label maps often do: each opens where its labels
    end, facing the vestibule's air (which reaches the outside through the nostril), and the notes say so; a binary
    mask cut the same way is split and opened the same way; uncut labels get no such note."""
    phantom = asymmetric_phantom()
    labels, end_z = _cut_in_the_vestibule(phantom, cut_mm=2.0)
    half = phantom.truth.geometry.spacing_mm[2] / 2
    whole = segmentation_from_labels(phantom.ct, phantom.truth)
    assert not [n for n in whole.warnings if "vestibule" in n]
    cut = segmentation_from_labels(phantom.ct, LabelMap(labels, phantom.truth.geometry))
    mask = segmentation_from_mask(phantom.ct, np.isin(labels, [1, 2, 3]))
    for segmentation in (cut, mask):
        for opening, uncut, nostril in zip((segmentation.inlet_left, segmentation.inlet_right),
                                           (whole.inlet_left, whole.inlet_right), phantom.landmarks.nostrils_lps_mm):
            assert opening.plane.point_mm[2] == pytest.approx(end_z - half)  # the face below the lowest label left
            assert np.linalg.norm(np.subtract(opening.plane.point_mm[:2], nostril[:2])) < 2.0
            assert 0.6 * uncut.area_mm2 < opening.area_mm2 <= 1.1 * uncut.area_mm2
        notes = [n for n in segmentation.warnings if "stop inside the vestibule" in n]
        assert len(notes) == 2 and notes[0].startswith("the left cavity's labels")
        # an axial cut: the ambient air attaches below it as below a nostril, nothing flagged
        assert not segmentation.inlet_left.short_of_nostril and "short_of_nostril" not in segmentation.inlet_left.as_dict()


def test_labels_cut_by_a_coronal_face_open_at_the_cut() -> None:
    """A label map whose field of view ends 3 mm behind the nostrils (the cavities cut through the vestibules by a
    coronal face): each cavity opens at that cut, facing forward, as large as the vestibule there, not through the
    strip of its floor that still meets the air below the nose; the notes say so."""
    phantom = asymmetric_phantom()
    geometry = phantom.truth.geometry
    y = geometry.origin_mm[1] + np.arange(geometry.shape[1]) * geometry.spacing_mm[1]
    cut_y = phantom.landmarks.nostrils_lps_mm[0][1] + 3.0
    labels = phantom.truth.labels.copy()
    labels[:, y < cut_y] = 0
    segmentation = segmentation_from_labels(phantom.ct, LabelMap(labels, geometry))
    front = y[y >= cut_y].min() - geometry.spacing_mm[1] / 2
    for opening in (segmentation.inlet_left, segmentation.inlet_right):
        assert opening.plane.normal == pytest.approx((0.0, -1.0, 0.0), abs=0.05)
        assert opening.plane.point_mm[1] == pytest.approx(front)
        assert opening.area_mm2 > 40.0, opening.area_mm2  # the vestibule's section, not a strip of its floor
        # what the cut leaves out travels with the opening (geometry.json, then the simulation's flags)
        assert "coronal plane inside the vestibule" in opening.as_dict()["short_of_nostril"]
        assert opening_from_dict(opening.name, opening.as_dict()).short_of_nostril == opening.short_of_nostril
    assert len([n for n in segmentation.warnings if "cut by the label map's front face" in n]) == 2


def test_a_cavity_that_does_not_join_the_nasopharynx_is_named() -> None:
    phantom = asymmetric_phantom()
    labels = phantom.truth.labels.copy()
    near = ndimage.binary_dilation(labels == AirwayLabel.NASOPHARYNX, iterations=2)
    labels[near & (labels == AirwayLabel.LEFT_CAVITY)] = 0  # a gap of two voxels between the left side and it
    segmentation = segmentation_from_labels(phantom.ct, LabelMap(labels, phantom.truth.geometry))
    gaps = [n for n in segmentation.warnings if "does not join the nasopharynx" in n]
    assert len(gaps) == 1 and gaps[0].startswith("the left cavity")
    assert not [n for n in segmentation_from_labels(phantom.ct, phantom.truth).warnings if "join" in n]


def test_ragged_walls_are_filled_and_the_import_says_so() -> None:
    phantom = asymmetric_phantom()
    truth = phantom.truth
    values = RENUMBER[truth.labels]
    airway = values > 0
    rim = airway & ~ndimage.binary_erosion(airway)
    ragged = values.copy()
    ragged[rim & (np.random.default_rng(1).random(values.shape) < 0.2)] = 0  # a fifth of the outer layer taken
    imported = imported_labels(ragged, truth.geometry, truth.geometry, LabelMapping.parse(MAPPING))
    labels, notes = imported.labels, imported.notes
    assert len(notes) == 1 and notes[0].startswith("the labels' walls are ragged: ")
    assert imported.ragged_pits_pct is not None and 3.0 < imported.ragged_pits_pct < 10.0  # what the results carry
    taken = np.count_nonzero(airway) - np.count_nonzero(ragged)
    missing = np.count_nonzero((truth.labels > 0) & (labels.labels == 0))
    assert missing < 0.35 * taken  # most pits filled
    assert np.count_nonzero((truth.labels == 0) & (labels.labels > 0)) < 0.02 * taken  # hardly a voxel more
    for label in (AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY, AirwayLabel.NASOPHARYNX):
        assert dice(labels.labels == label, truth.labels == label) > 0.97, label
    clean = imported_labels(values, truth.geometry, truth.geometry, LabelMapping.parse(MAPPING))
    assert clean.notes == () and clean.ragged_pits_pct is None
