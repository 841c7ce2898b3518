"""An existing segmentation's labels, mapped to the airway labels and resampled onto the CT's grid.

A label map made elsewhere (3D Slicer, ITK-SNAP) numbers its labels its own way and often lies on
another grid (a crop, another spacing, axes flipped). :class:`LabelMapping` says which of its
labels are the left cavity, the right cavity, the nasopharynx and the sinuses, or the whole
airway as one label (a binary airway mask, split into sides later from its nostrils);
:func:`imported_labels` applies it and resamples the result onto the CT's grid by nearest
neighbour in patient (LPS) space, through both grids' affines, so that the patient's left stays
left whatever the axes of either file.

Examples
--------
>>> mapping = LabelMapping.parse("4:left,3:right,5:nasopharynx,1:sinus,2:sinus")
>>> mapping.text()
'4:left,3:right,5:nasopharynx,1:sinus,2:sinus'
>>> dict(mapping.lookup())[4], dict(mapping.lookup())[1]
(<AirwayLabel.LEFT_CAVITY: 1>, <AirwayLabel.SINUS: 4>)
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from rhinoapp.core.volume import AirwayLabel, ImageGeometry, LabelMap
from rhinoapp.segmentation.errors import SegmentationError
from rhinoapp.segmentation.shape_interpolation import is_coarser, shape_interpolated
from rhinoapp.segmentation.holes import fill_enclosed_holes
from rhinoapp.segmentation.pits import fill_wall_pits

__all__ = ["WHOLE_AIRWAY", "ImportedLabels", "LabelImportError", "LabelMapping", "Target", "imported_labels", "label_counts",
           "mapping_from_names", "resample_nearest", "target_of_name"]


class LabelImportError(SegmentationError):
    """An imported segmentation cannot be used as it is; the message says why and what to do.

    Examples
    --------
    >>> isinstance(LabelImportError("no overlap"), ValueError)
    True
    """


class Target(enum.Enum):
    """What a label of an imported label map stands for."""

    LEFT = "left"
    RIGHT = "right"
    NASOPHARYNX = "nasopharynx"
    SINUS = "sinus"
    AIRWAY = "airway"  # the whole nasal airway as one label, split into the sides from its nostrils

    @property
    def label(self) -> int:
        """The project's label for this target (:data:`WHOLE_AIRWAY` for the unsplit airway)."""
        return {Target.LEFT: AirwayLabel.LEFT_CAVITY, Target.RIGHT: AirwayLabel.RIGHT_CAVITY,
                Target.NASOPHARYNX: AirwayLabel.NASOPHARYNX, Target.SINUS: AirwayLabel.SINUS,
                Target.AIRWAY: WHOLE_AIRWAY}[self]


#: The value of the whole airway's voxels in :func:`imported_labels`' result, before the split into sides.
WHOLE_AIRWAY = 255
_ALIASES = {"sinuses": Target.SINUS, "whole airway": Target.AIRWAY, "nasal airway": Target.AIRWAY}
_REQUIRED = (Target.LEFT, Target.RIGHT, Target.NASOPHARYNX)
_PARTS_OR_WHOLE = ("the simulation needs a left cavity, a right cavity and a nasopharynx (e.g. 4:left,3:right,"
                   "5:nasopharynx), or the whole airway as one label (e.g. 1:airway)")
_NAMES = ", ".join(t.value for t in Target)


def _target(name: Any) -> Target:
    text = str(name.value if isinstance(name, Target) else name).strip().lower()
    found = _ALIASES.get(text)
    if found is not None:
        return found
    try:
        return Target(text)
    except ValueError:
        raise LabelImportError(f"unknown target {name!r} in the label mapping; use one of {_NAMES} "
                               "(e.g. 4:left,3:right,5:nasopharynx,1:sinus)") from None


@dataclasses.dataclass(frozen=True)
class LabelMapping:
    """Pairs (label in the file, target); every label once, left, right and nasopharynx present, or the whole airway.

    A mapping names either the parts (left, right, nasopharynx; sinuses optional) or the whole
    airway (one or more labels mapped to ``airway``, sinuses optional), not both.

    Examples
    --------
    >>> LabelMapping.parse("1:left,1:right,2:nasopharynx")
    Traceback (most recent call last):
    ...
    rhinoapp.segmentation.label_import.LabelImportError: label 1 is mapped twice in the label mapping; give each label of the file once (e.g. 4:left,3:right,5:nasopharynx).
    >>> LabelMapping.parse("1:left,2:nose,3:nasopharynx")
    Traceback (most recent call last):
    ...
    rhinoapp.segmentation.label_import.LabelImportError: unknown target 'nose' in the label mapping; use one of left, right, nasopharynx, sinus, airway (e.g. 4:left,3:right,5:nasopharynx,1:sinus)
    """

    pairs: tuple[tuple[int, Target], ...]

    def __post_init__(self) -> None:
        pairs = []
        for source, target in self.pairs:
            try:
                number = int(source)
            except (TypeError, ValueError):
                raise LabelImportError(f"label {source!r} of the label mapping is not a whole number; write "
                                       "LABEL:TARGET pairs such as 4:left") from None
            if number != float(source) or number <= 0:
                raise LabelImportError(f"label {source!r} of the label mapping must be a positive whole number "
                                       "(0 is the background)")
            pairs.append((number, _target(target)))
        seen: set[int] = set()
        for number, _ in pairs:
            if number in seen:
                raise LabelImportError(f"label {number} is mapped twice in the label mapping; give each label of the "
                                       "file once (e.g. 4:left,3:right,5:nasopharynx).")
            seen.add(number)
        targets = {target for _, target in pairs}
        missing = [t.value for t in _REQUIRED if t not in targets]
        if Target.AIRWAY in targets and len(missing) < len(_REQUIRED):
            parts = ", ".join(t.value for t in _REQUIRED if t in targets)
            raise LabelImportError(f"the label mapping names both the whole airway and its parts ({parts}); map the "
                                   "airway's labels either to left, right and nasopharynx, or all of them to airway")
        if missing and Target.AIRWAY not in targets:
            raise LabelImportError(f"the label mapping names no label for {', '.join(missing)}; {_PARTS_OR_WHOLE}")
        object.__setattr__(self, "pairs", tuple(pairs))

    @classmethod
    def parse(cls, text: str) -> LabelMapping:
        """The mapping written as ``LABEL:TARGET`` pairs separated by commas (the CLI's ``--map``)."""
        pairs = []
        for part in (p.strip() for p in str(text).split(",")):
            if not part:
                continue
            source, sep, target = part.partition(":")
            if not sep:
                raise LabelImportError(f"{part!r} in the label mapping is not LABEL:TARGET; write pairs such as "
                                       "4:left,3:right,5:nasopharynx,1:sinus")
            pairs.append((source.strip(), target.strip()))
        return cls(tuple(pairs))  # type: ignore[arg-type]

    @classmethod
    def of(cls, mapping: Mapping[Any, Any]) -> LabelMapping:
        """The mapping of a ``{label: target}`` dictionary (targets as names or :class:`Target`)."""
        return cls(tuple(mapping.items()))

    def text(self) -> str:
        """The ``LABEL:TARGET,...`` form."""
        return ",".join(f"{number}:{target.value}" for number, target in self.pairs)

    def as_dict(self) -> dict[str, str]:
        """JSON-ready ``{label: target}``."""
        return {str(number): target.value for number, target in self.pairs}

    @property
    def whole_airway(self) -> bool:
        """True when the mapping names the whole airway (split into sides after the import), not its parts.

        Examples
        --------
        >>> LabelMapping.parse("1:airway").whole_airway, LabelMapping.parse("4:left,3:right,5:nasopharynx").whole_airway
        (True, False)
        """
        return any(target is Target.AIRWAY for _, target in self.pairs)

    def lookup(self) -> tuple[tuple[int, int], ...]:
        """Pairs (label in the file, project label; :data:`WHOLE_AIRWAY` for the whole airway)."""
        return tuple((number, target.label) for number, target in self.pairs)


#: Words of a segment's name that say its target, checked in this order (a "left maxillary sinus" is a sinus).
_NAME_WORDS: tuple[tuple[Target, tuple[str, ...]], ...] = (
    (Target.SINUS, ("sinus", "maxillary", "frontal", "sphenoid", "ethmoid", "antrum")),
    (Target.NASOPHARYNX, ("pharynx", "pharyngeal", "choana")),
    (Target.LEFT, ("left", "lt", "l", "links", "gauche", "sinistra", "izquierda")),
    (Target.RIGHT, ("right", "rt", "r", "rechts", "droite", "destra", "derecha")),
    (Target.AIRWAY, ("airway", "air", "nasal", "nose", "cavity", "cavities")),
)
#: Words of names that are not air: such a segment is left out whatever else its name says.
_NOT_AIR = ("oral", "mouth", "tongue", "teeth", "tooth", "bone", "septum", "turbinate", "concha", "mucosa", "tumor",
            "tumour", "polyp", "skin", "brain", "orbit", "eye", "muscle", "cartilage")


def target_of_name(name: str) -> Target | None:
    """The target a segment's name says (e.g. 3D Slicer's segment names), or None when it says none.

    Examples
    --------
    >>> [target_of_name(n) for n in ("Left nasal cavity", "R_cavity", "Nasopharynx", "left maxillary sinus",
    ...                              "Nasal airway", "Segment_1")]  # doctest: +NORMALIZE_WHITESPACE
    [<Target.LEFT: 'left'>, <Target.RIGHT: 'right'>, <Target.NASOPHARYNX: 'nasopharynx'>, <Target.SINUS: 'sinus'>,
     <Target.AIRWAY: 'airway'>, None]
    """
    text = name.lower()
    words = set(re.split(r"[^a-z]+", text))
    if any(key in words or (len(key) > 3 and key in text) for key in _NOT_AIR):
        return None
    for target, keys in _NAME_WORDS:
        if any(key in words or (len(key) > 3 and key in text) for key in keys):
            return target
    return None


def mapping_from_names(names: Mapping[int, str]) -> LabelMapping | None:
    """The mapping the segment ``names`` (label -> name) say, or None when they do not name a usable airway.

    Labels whose names say nothing are left out. Where the names give the parts (left, right,
    nasopharynx), a whole-airway name beside them is left out; where they do not but one says the
    airway (a "nasal cavity" and a "nasopharynx"), the airway's labels together are the whole airway.

    Examples
    --------
    >>> mapping_from_names({1: "Left cavity", 2: "Right cavity", 3: "Nasopharynx", 4: "Sinus L"}).text()
    '1:left,2:right,3:nasopharynx,4:sinus'
    >>> mapping_from_names({1: "Nasal cavity", 2: "Nasopharynx", 3: "Maxillary sinus"}).text()
    '1:airway,2:airway,3:sinus'
    >>> mapping_from_names({1: "Segment_1", 2: "Segment_2"}) is None
    True
    """
    guessed = {label: target_of_name(name) for label, name in names.items()}
    targets = {target for target in guessed.values() if target is not None}
    if all(t in targets for t in _REQUIRED):
        guessed = {label: t for label, t in guessed.items() if t is not Target.AIRWAY}
    elif Target.AIRWAY in targets:
        guessed = {label: t if t in (None, Target.SINUS) else Target.AIRWAY for label, t in guessed.items()}
    else:
        return None
    try:
        return LabelMapping.of({label: target for label, target in sorted(guessed.items()) if target is not None})
    except LabelImportError:
        return None


def label_counts(values: np.ndarray) -> dict[int, int]:
    """Voxels per non-zero label of a label array.

    Examples
    --------
    >>> label_counts(np.array([[0, 3, 3], [5, 0, 3]]))
    {3: 3, 5: 1}
    """
    if not np.issubdtype(values.dtype, np.integer):
        whole = np.isfinite(values) & (np.mod(values, 1) == 0)
        if not np.all(whole):
            raise LabelImportError("the label map holds values that are not whole numbers: it is an image, not a label "
                                   "map; export the segmentation as a label map (labelmap volume)")
        values = values.astype(np.int64)
    found, counts = np.unique(values[values != 0], return_counts=True)
    return {int(v): int(c) for v, c in zip(found, counts)}


def _box_in(source: ImageGeometry, target: ImageGeometry, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, ...] | None:
    """The box (``[k, j, i]`` slices) of ``target`` covering the source's voxels ``lo``..``hi`` (kji), or None."""
    corners = np.array([[a, b, c] for a in (lo[2] - 0.5, hi[2] + 0.5) for b in (lo[1] - 0.5, hi[1] + 0.5)
                        for c in (lo[0] - 0.5, hi[0] + 0.5)])  # (i, j, k)
    index = target.physical_to_index(source.index_to_physical(corners))[:, ::-1]  # k, j, i
    start = np.maximum(np.floor(index.min(axis=0)).astype(int), 0)
    stop = np.minimum(np.ceil(index.max(axis=0)).astype(int) + 1, target.shape)
    if np.any(stop <= start):
        return None
    return tuple(slice(int(a), int(b)) for a, b in zip(start, stop))


def resample_nearest(values: np.ndarray, source: ImageGeometry, target: ImageGeometry) -> np.ndarray:
    """``values`` on ``source`` resampled onto ``target`` by nearest neighbour in LPS space (0 outside).

    Each target voxel centre is taken to patient coordinates and back into the source's indices,
    so flipped or permuted axes and other spacings and origins come out right.

    Examples
    --------
    >>> labels = np.zeros((1, 1, 4), dtype=np.uint8); labels[0, 0, 0] = 7
    >>> flipped = ImageGeometry((1, 1, 4), origin_mm=(3.0, 0, 0), direction=(-1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> resample_nearest(labels, flipped, ImageGeometry((1, 1, 8), spacing_mm=(0.5, 1, 1))).tolist()
    [[[0, 0, 0, 0, 0, 0, 7, 7]]]
    """
    result = np.zeros(target.shape, dtype=values.dtype)
    present = np.nonzero(values)
    if not len(present[0]):
        return result
    lo = np.array([a.min() for a in present])
    hi = np.array([a.max() for a in present])
    box = _box_in(source, target, lo, hi)
    if box is None:
        return result
    to_source = np.linalg.inv(source.affine_lps) @ target.affine_lps  # target (i, j, k, 1) -> source (i, j, k)
    jj, ii = np.meshgrid(np.arange(box[1].start, box[1].stop), np.arange(box[2].start, box[2].stop), indexing="ij")
    base = to_source[:3, 0, None, None] * ii + to_source[:3, 1, None, None] * jj + to_source[:3, 3, None, None]
    lower, upper = lo[::-1], hi[::-1]  # i, j, k bounds of the labelled voxels
    for k in range(box[0].start, box[0].stop):
        index = np.floor(base + to_source[:3, 2, None, None] * k + 0.5).astype(np.int64)
        inside = np.all((index >= lower[:, None, None]) & (index <= upper[:, None, None]), axis=0)
        if inside.any():
            i, j, kk = (axis[inside] for axis in index)
            plane = result[k, box[1], box[2]]
            plane[inside] = values[kk, j, i]
    return result


def _extent_text(geometry: ImageGeometry) -> str:
    nk, nj, ni = geometry.shape
    corners = geometry.index_to_physical(np.array([[a, b, c] for a in (0, ni - 1) for b in (0, nj - 1)
                                                   for c in (0, nk - 1)]))
    return ", ".join(f"{axis} {lo:.1f} to {hi:.1f}" for axis, lo, hi in
                     zip("xyz", corners.min(axis=0), corners.max(axis=0)))


@dataclasses.dataclass(frozen=True)
class ImportedLabels:
    """An imported label map on the project's labels and grid, what to tell people about it (``notes``), and, where
    its walls were ragged and their pits were filled (:func:`~rhinoapp.segmentation.pits.fill_wall_pits`), the
    percentage of its wall voxels that were pits (``ragged_pits_pct``; None: the walls were not ragged)."""

    labels: LabelMap
    notes: tuple[str, ...] = ()
    ragged_pits_pct: float | None = None


def imported_labels(values: np.ndarray, source: ImageGeometry, ct: ImageGeometry,
                    mapping: LabelMapping) -> ImportedLabels:
    """The project's label map on the CT grid ``ct`` from a label array on ``source``, with its warnings.

    A label map coarser than the CT (thick slices) is interpolated by shape
    (:func:`~rhinoapp.segmentation.shape_interpolation.shape_interpolated`), any other sampled at the nearest voxel.

    Raises :class:`LabelImportError` when the mapping names a label the file lacks, or when a
    target (left, right, nasopharynx; or the whole airway) has no voxel inside the CT. Voxels of a
    whole airway get the value :data:`WHOLE_AIRWAY` (to be split into sides). Unlabelled specks that
    the labels enclose are filled (:func:`~rhinoapp.segmentation.holes.fill_enclosed_holes`), so are the pits of
    ragged walls (:func:`~rhinoapp.segmentation.pits.fill_wall_pits`), and the warnings say so.

    Examples
    --------
    >>> values = np.zeros((4, 4, 4), dtype=np.int16); values[1, 1, 1], values[1, 1, 2], values[2, 2, 2] = 9, 8, 5
    >>> imported = imported_labels(values, ImageGeometry((4, 4, 4)), ImageGeometry((4, 4, 4)),
    ...                            LabelMapping.parse("9:left,8:right,5:nasopharynx"))
    >>> labels = imported.labels
    >>> labels.count(1), labels.count(2), labels.count(3), imported.notes, imported.ragged_pits_pct
    (1, 1, 1, (), None)
    >>> imported_labels(values, ImageGeometry((4, 4, 4), origin_mm=(500, 0, 0)), ImageGeometry((4, 4, 4)),
    ...                 LabelMapping.parse("9:left,8:right,5:nasopharynx"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rhinoapp.segmentation.label_import.LabelImportError: the label map does not overlap the CT: ...
    """
    counts = label_counts(values)
    missing = [number for number, _ in mapping.pairs if number not in counts]
    if missing:
        found = ", ".join(f"{v} ({c} voxels)" for v, c in sorted(counts.items())) or "none"
        raise LabelImportError(f"the label mapping names label {', '.join(map(str, missing))}, which the label map "
                               f"does not hold (labels found: {found}); map only labels of the file")
    unmapped = sorted(set(counts) - {number for number, _ in mapping.pairs})
    mapped = np.zeros(values.shape, dtype=np.uint8)
    for number, label in mapping.lookup():
        mapped[values == number] = label
    interpolate = is_coarser(source, ct)
    resampled = shape_interpolated(mapped, source, ct) if interpolate else resample_nearest(mapped, source, ct)
    required = (Target.AIRWAY,) if mapping.whole_airway else _REQUIRED
    empty = [target.value for target in required if not np.any(resampled == target.label)]
    if len(empty) == len(required):
        raise LabelImportError(
            f"the label map does not overlap the CT: none of its labelled voxels lies inside the CT (label map: "
            f"{_extent_text(source)} mm; CT: {_extent_text(ct)} mm, LPS). Import the label map made on this "
            "patient's CT, exported with its position (origin and axes) kept")
    if empty:
        raise LabelImportError(f"no voxel of the {', '.join(empty)} label lies inside the CT (the label map reaches "
                               "beyond the CT's field of view); check the mapping or use a label map made on this CT")
    notes: tuple[str, ...] = ((f"labels {', '.join(map(str, unmapped))} of the file are not mapped and were left "
                               "out",) if unmapped else ())
    if interpolate:
        notes += (f"the label map's voxels ({' x '.join(f'{v:g}' for v in source.spacing_mm)} mm) are coarser than the "
                  f"grid it was imported onto ({' x '.join(f'{v:g}' for v in ct.spacing_mm)} mm): its labels were "
                  "interpolated by shape between its slices, smooth instead of in steps as thick as a slice",)
    filled = fill_enclosed_holes(resampled, ct)  # specks a threshold left inside the air: walls to the simulation
    smoothed = fill_wall_pits(filled.labels, ct)  # pits of ragged walls: notches in the narrow passages
    return ImportedLabels(LabelMap(smoothed.labels, ct), notes + tuple(note for note in (filled.note, smoothed.note)
                                                                       if note),
                          round(100.0 * smoothed.pit_fraction, 2) if smoothed.voxels else None)
