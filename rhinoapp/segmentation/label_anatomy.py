"""What a label map's labels most likely are, from where they lie: a mapping for maps whose labels have no names.

Data sets number their labels as they please (1 left, 2 right; 4 left, 3 right, 5 nasopharynx; a sinus first), and
a plain NIfTI or NRRD label map names none of them. The anatomy says more than the numbers, in the image's own LPS
millimetres (so a flipped or rotated grid reads the same):

* the **two cavities** are the labels that reach furthest forward (the nostrils are the front of the airway), side
  by side: their centres at least :data:`MIN_SIDE_GAP_MM` apart across, and further apart across than along and up
  together (a cavity and a sinus beside it are not side by side: with the head tilted 20 degrees in the scanner, a
  maxillary sinus reaches as far forward as the cavities), with a nasopharynx (below) behind them;
  of several such pairs, the front-most, by :data:`FRONT_MM` (a label in front of the nose, such as a box of
  ambient air drawn over the nostrils, is not one of a pair: it has no nasopharynx behind it and a cavity);
* the **left** one is on the patient's left (larger LPS x) of the right one;
* the **nasopharynx** is the label behind both that touches both in one piece (where the choanae open into it;
  one label for both maxillary sinuses touches both cavities too, but in two pieces); where two
  labels are such (one sinus label for both sides touches both cavities), the one that lies furthest back and
  reaches lowest (the pharynx goes on down the throat), by at least :data:`BEHIND_MM` or :data:`LOWER_MM`;
* a label that touches a cavity but is neither (a maxillary sinus through its ostium, an ethmoid cell) is a
  **sinus**, unless it meets the cavity at its nostril (the contact in the front and lowest :data:`NOSTRIL_FRACTION`
  of the cavity's length and height: a box of air over the nostrils, the external nose); any other label is
  left out (walls to the flow), as are labels under :data:`MIN_LABEL_ML`.

A single label is the whole airway. Where the anatomy does not say (no two cavities side by side at the front, no
label behind that touches both, or two that could be), there is no guess: :func:`mapping_from_anatomy` gives
``None`` and the user says it (``--map``). A guess is a proposal: the command line prints it, the import dialog
preselects it, and every choice stays the user's.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> values = np.zeros((20, 40, 30), dtype=np.uint8)  # [k, j, i]: i to the patient's left, j backwards, k up
>>> values[5:15, 2:25, 17:22] = 7  # the left cavity (larger x), from the front (small j)
>>> values[5:15, 2:25, 8:13] = 9  # the right cavity
>>> values[4:16, 25:35, 8:22] = 2  # the nasopharynx behind both, touching both
>>> values[8:12, 10:16, 22:28] = 5  # a sinus beside the left cavity, touching it
>>> mapping_from_anatomy(values, ImageGeometry(values.shape)).text()
'2:nasopharynx,5:sinus,7:left,9:right'
>>> mapping_from_anatomy(np.where(values > 0, 1, 0), ImageGeometry(values.shape)).text()
'1:airway'
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import ImageGeometry
from rhinoapp.segmentation.label_import import LabelImportError, LabelMapping, Target

__all__ = ["ASKEW_ALLOWED", "ASKEW_FACTOR", "BEHIND_MM", "FRONT_MM", "LOWER_MM", "MIN_LABEL_ML", "MIN_SIDE_GAP_MM",
           "NOSTRIL_FRACTION",
           "label_contacts", "mapping_from_anatomy"]

_log = logging.getLogger(__name__)

#: Labels smaller than this (ml) are specks or markers, not airway parts: left out of the guess.
MIN_LABEL_ML = 0.05
#: Of the pairs of labels side by side with a nasopharynx behind them, those reaching within this many millimetres of
#: the front-most pair's front are candidates for the cavities (labels that stop inside a vestibule still do; a pair
#: of maxillary sinuses, 15-25 mm behind the nostrils, does not).
FRONT_MM = 12.0
#: The two cavities' centres lie at least this far apart across (LPS x); the septum is between them.
MIN_SIDE_GAP_MM = 4.0
#: Of the candidate pairs, those whose centres lie apart along and up at most this many times the straightest pair's
#: (per millimetre across), or at most :data:`ASKEW_ALLOWED`, stay candidates. On the clinical phantom tilted in the
#: scanner (20 degrees about one axis, or about all three) the cavities' pair lies 0.05-0.6 askew, a cavity with the
#: sinus beside it 0.5-0.9 (and 0.05 against 0.6-0.9 tilted 20 degrees forward or back).
ASKEW_FACTOR = 2.0
ASKEW_ALLOWED = 0.25
#: Of two labels that could be the nasopharynx, it reaches this much lower than the other, or lies :data:`BEHIND_MM`
#: further back (and neither less low nor further forward).
LOWER_MM = 5.0
BEHIND_MM = 10.0
#: A label that meets a cavity with its contact (the mean of the touching voxels) in this front and lowest fraction of
#: the cavity's length and height meets it at the nostril: it lies outside the nose (an inlet box, the external
#: nose), left out, not a sinus. On the phantom variants sinuses meet the cavities at 0.45-0.63 of the length and
#: 0.42-0.91 of the height (the ostia in the middle meatus), a box of air over the nostrils at 0.06 and 0.00.
NOSTRIL_FRACTION = 0.2


def label_contacts(values: np.ndarray) -> set[tuple[int, int]]:
    """The pairs of different non-zero labels whose voxels touch across a face (each pair once, smaller first).

    Examples
    --------
    >>> values = np.array([[[1, 1, 2, 0, 3]]])
    >>> sorted(label_contacts(values))
    [(1, 2)]
    """
    pairs: set[tuple[int, int]] = set()
    for axis in range(values.ndim):
        near = np.moveaxis(values, axis, 0)
        first, second = near[:-1], near[1:]
        touching = (first != second) & (first != 0) & (second != 0)
        if touching.any():
            found = np.unique(np.stack([first[touching], second[touching]]), axis=1)
            pairs |= {(int(min(a, b)), int(max(a, b))) for a, b in found.T}
    return pairs


@dataclasses.dataclass(frozen=True)
class _Place:
    """Where a label lies: its centre, its front (smallest LPS y) and its bottom (smallest LPS z), mm, its box
    (index slices ``[k, j, i]``), and its back (largest LPS y) and top (largest LPS z), mm."""

    centre: np.ndarray
    front: float
    bottom: float
    box: tuple[slice, ...]
    back: float
    top: float


def _places(values: np.ndarray, geometry: ImageGeometry, labels: list[int]) -> dict[int, _Place]:
    """Per label: where it lies (:class:`_Place`)."""
    places: dict[int, _Place] = {}
    boxes = ndimage.find_objects(values if values.dtype.kind in "iu" else values.astype(np.int64), max_label=max(labels))
    for label in labels:
        box = boxes[label - 1]
        if box is None:
            continue
        kji = np.argwhere(values[box] == label) + np.array([s.start for s in box])
        points = geometry.index_to_physical(kji[:, ::-1])
        places[label] = _Place(points.mean(axis=0), float(points[:, 1].min()), float(points[:, 2].min()), box,
                               float(points[:, 1].max()), float(points[:, 2].max()))
    return places


def _furthest_back_and_lowest(places: list[_Place]) -> int | None:
    """The index of the place that lies furthest back and reaches lowest, clearly; None where none or unclear."""
    if not places:
        return None
    back = max(range(len(places)), key=lambda index: places[index].centre[1])
    for index, other in enumerate(places):
        if index == back:
            continue
        mine = places[back]
        if other.bottom < mine.bottom:
            return None  # one further back, another lower: no guess
        if mine.centre[1] - other.centre[1] < BEHIND_MM and other.bottom - mine.bottom < LOWER_MM:
            return None  # as far back and as low as each other
    return back


def _around(place: _Place) -> tuple[slice, ...]:
    """The box of a label's place grown by a voxel on every side (so that its face neighbours lie in it)."""
    return tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in place.box)


def _one_piece_touches_both(values: np.ndarray, place: _Place, label: int, left: int, right: int) -> bool:
    """Whether one connected piece of ``label`` (at ``place``) touches both ``left`` and ``right`` across a face."""
    near = values[_around(place)]
    pieces, _ = ndimage.label(near == label)
    grown = ndimage.grey_dilation(pieces, footprint=ndimage.generate_binary_structure(3, 1))
    return bool(set(np.unique(grown[near == left])) & set(np.unique(grown[near == right])) - {0})


def _touch(contacts: set[tuple[int, int]], one: int, other: int) -> bool:
    return (min(one, other), max(one, other)) in contacts


def _meets_at_nostril(values: np.ndarray, geometry: ImageGeometry, place: _Place, cavity: int, label: int) -> bool:
    """Whether ``label`` meets ``cavity`` (at ``place``) at its nostril: the touching voxels' mean lies in the front
    and lowest :data:`NOSTRIL_FRACTION` of the cavity's length (LPS y) and height (LPS z)."""
    box = _around(place)
    near = values[box]
    touching = ndimage.binary_dilation(near == cavity, ndimage.generate_binary_structure(3, 1)) & (near == label)
    corner = np.array([s.start for s in box])
    contact = geometry.index_to_physical((np.argwhere(touching) + corner)[:, ::-1]).mean(axis=0)
    along = (contact[1] - place.front) / max(place.back - place.front, 1e-6)
    up = (contact[2] - place.bottom) / max(place.top - place.bottom, 1e-6)
    return bool(along < NOSTRIL_FRACTION and up < NOSTRIL_FRACTION)


def _pair_front(places: dict[int, _Place], left: int, right: int) -> float:
    """How far forward both labels of a pair reach: the front of the one that starts further back (LPS y, mm)."""
    return max(places[left].front, places[right].front)


def _askew(places: dict[int, _Place], left: int, right: int) -> float:
    """How far two labels' centres lie apart along and up (LPS y and z) for each millimetre across (x): 0 for mirror
    images side by side, as the cavities are."""
    offset = places[left].centre - places[right].centre
    return float(np.hypot(offset[1], offset[2]) / max(abs(offset[0]), 1e-6))


def _arrangements(values: np.ndarray, places: dict[int, _Place],
                  contacts: set[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Every (left, right, nasopharynx) that the places allow: two labels side by side and a label behind both
    that touches both in one piece, clearly the furthest back and lowest of such labels."""
    guesses = []
    for one, other in itertools.combinations(sorted(places), 2):
        left, right = sorted((one, other), key=lambda label: -places[label].centre[0])
        if places[left].centre[0] - places[right].centre[0] < MIN_SIDE_GAP_MM or _askew(places, left, right) >= 1.0:
            continue  # not side by side: too close across, or further apart along and up than across
        behind = [label for label in places if label not in (left, right)
                  and _touch(contacts, label, left) and _touch(contacts, label, right)
                  and places[label].centre[1] > max(places[left].centre[1], places[right].centre[1])
                  and _one_piece_touches_both(values, places[label], label, left, right)]
        pharynx = _furthest_back_and_lowest([places[label] for label in behind])
        if pharynx is not None:
            guesses.append((left, right, behind[pharynx]))
    return guesses


def mapping_from_anatomy(values: np.ndarray, geometry: ImageGeometry, *,
                         counts: Mapping[int, int] | None = None) -> LabelMapping | None:
    """The mapping where the labels lie says (see the module notes), or None when it does not say one clearly.

    ``values`` are the label map's whole-number labels ``[k, j, i]`` on ``geometry``; ``counts`` its voxel counts
    per label where known already.
    """
    if counts is None:
        found, number = np.unique(values[values != 0], return_counts=True)
        counts = {int(label): int(n) for label, n in zip(found, number)}
    voxel_ml = geometry.voxel_volume_mm3 / 1000.0
    labels = sorted(label for label, n in counts.items() if label > 0 and n * voxel_ml >= MIN_LABEL_ML)
    if len(labels) == 1:
        return LabelMapping.of({labels[0]: Target.AIRWAY})
    if len(labels) < 3:
        return None
    places = _places(values, geometry, labels)
    contacts = label_contacts(values)
    guesses = _arrangements(values, places, contacts)
    if guesses:  # the cavities are the front-most pair: a label in front of the nose (an inlet box) is not one
        first = min(_pair_front(places, left, right) for left, right, _ in guesses)
        guesses = [guess for guess in guesses if _pair_front(places, guess[0], guess[1]) <= first + FRONT_MM]
        # and the pair most side by side: a cavity with a sinus beside it lies askew (a tilted head brings the sinus
        # forward); two pairs about as askew are no guess
        straightest = min(_askew(places, left, right) for left, right, _ in guesses)
        guesses = [guess for guess in guesses
                   if _askew(places, guess[0], guess[1]) <= max(ASKEW_FACTOR * straightest, ASKEW_ALLOWED)]
    if len(guesses) != 1:
        _log.info("no mapping from the anatomy: %d candidate arrangements of cavities and nasopharynx", len(guesses))
        return None
    left, right, pharynx = guesses[0]
    chosen = {left: Target.LEFT, right: Target.RIGHT, pharynx: Target.NASOPHARYNX}
    for label in labels:
        touched = [cavity for cavity in (left, right) if _touch(contacts, label, cavity)]
        if label in chosen or not touched:
            continue
        if any(_meets_at_nostril(values, geometry, places[cavity], cavity, label) for cavity in touched):
            _log.info("label %d meets a cavity at its nostril: outside the nose, left out", label)
            continue
        chosen[label] = Target.SINUS
    try:
        return LabelMapping.of(dict(sorted(chosen.items())))
    except LabelImportError:
        return None
