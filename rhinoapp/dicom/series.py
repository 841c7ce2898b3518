"""Grouping DICOM objects into series, listing the candidates and choosing one.

A series is every image object with one SeriesInstanceUID. Localizers (ImageType LOCALIZER)
and objects without pixel data (reports, presentation states) are dropped and counted. An
Enhanced CT object contributes one slice per frame, read from its functional groups.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
from pydicom.dataset import Dataset

from rhinoapp.core.errors import ValidationError

__all__ = ["Series", "SeriesError", "SeriesKind", "SeriesSummary", "SliceRef", "choose_series", "group_series"]

logger = logging.getLogger(__name__)

_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
_ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"


class SeriesError(ValidationError):
    """A series cannot become a volume as it is; the message says why and what to do."""


class SeriesKind(enum.Enum):
    """How a series stores its slices."""

    SLICES = "slices"  #: one object per slice (classic CT Image Storage)
    MULTIFRAME = "multi-frame"  #: one object, one frame per slice (Enhanced CT)


@dataclass(frozen=True, eq=False)
class SliceRef:
    """One 2D image: an object, or one frame of a multi-frame object, with its geometry."""

    dataset: Dataset = field(repr=False)
    frame: int | None
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    pixel_spacing: tuple[float, float]  #: (between rows, between columns), as DICOM orders it
    rows: int
    columns: int
    slope: float
    intercept: float


@dataclass(frozen=True)
class SeriesSummary:
    """One line of the candidate list."""

    index: int
    uid: str
    number: int | None
    description: str
    modality: str
    slice_count: int
    rows: int
    columns: int
    spacing_mm: tuple[float, float, float] | None
    usable: bool
    reason: str = ""

    def line(self) -> str:
        """A human-readable line, e.g. for the CLI."""
        spacing = "x".join(f"{s:.3g}" for s in self.spacing_mm) + " mm" if self.spacing_mm else "spacing unknown"
        status = "" if self.usable else f"  [not usable: {self.reason}]"
        desc = self.description or "(no description)"
        return (f"{self.index:>2}  #{self.number if self.number is not None else '-':<4} {self.modality:<3} "
                f"{desc[:32]:<32} {self.slice_count:>4} slices  {self.columns}x{self.rows}  {spacing}{status}")


@dataclass(frozen=True, eq=False)
class Series:
    """The image objects of one SeriesInstanceUID (localizers and non-images dropped)."""

    uid: str
    number: int | None
    description: str
    modality: str
    kind: SeriesKind
    slices: tuple[SliceRef, ...]
    notes: tuple[str, ...] = ()

    def summary(self, index: int, *, min_slices: int = 3) -> SeriesSummary:
        """The candidate-list entry of this series."""
        rows = self.slices[0].rows if self.slices else 0
        columns = self.slices[0].columns if self.slices else 0
        spacing = None
        if self.slices:
            row_mm, col_mm = self.slices[0].pixel_spacing
            spacing = (col_mm, row_mm, _slice_spacing(self.slices))
        reason = ""
        if not self.slices:
            reason = "no usable images" + (f" ({'; '.join(self.notes)})" if self.notes else "")
        elif self.modality != "CT":
            reason = f"modality {self.modality or 'unknown'}, not CT"
        elif len(self.slices) < min_slices:
            reason = f"{len(self.slices)} slice(s); at least {min_slices} needed"
        return SeriesSummary(index, self.uid, self.number, self.description, self.modality, len(self.slices), rows,
                             columns, spacing, not reason, reason)


def _slice_spacing(slices: tuple[SliceRef, ...]) -> float:
    if len(slices) < 2:
        return 0.0
    o = np.asarray(slices[0].orientation)
    normal = np.cross(o[:3], o[3:])
    positions = np.sort([float(np.dot(s.position, normal)) for s in slices])
    steps = np.diff(positions)
    steps = steps[steps > 1e-3]
    return round(float(np.median(steps)), 4) if steps.size else 0.0


@overload
def _floats(value: object, count: Literal[2], what: str) -> tuple[float, float]: ...
@overload
def _floats(value: object, count: Literal[3], what: str) -> tuple[float, float, float]: ...
@overload
def _floats(value: object, count: Literal[6], what: str) -> tuple[float, float, float, float, float, float]: ...
def _floats(value: object, count: int, what: str) -> tuple[float, ...]:
    try:
        numbers = tuple(float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != count or not all(np.isfinite(numbers)):
        raise SeriesError(f"an image has no usable {what}; it cannot be placed in the volume. Export the series again.")
    return numbers


def _first(sequence_holder: Dataset | None, keyword: str) -> Dataset | None:
    if sequence_holder is None or keyword not in sequence_holder or not sequence_holder[keyword].value:
        return None
    result: Dataset = sequence_holder[keyword].value[0]
    return result


def _frame_value(frame: Dataset | None, shared: Dataset | None, sequence: str, keyword: str) -> Any:
    # a DICOM element's value: its type depends on the VR (pydicom types it Any)
    for holder in (frame, shared):
        item = _first(holder, sequence)
        if item is not None and keyword in item:
            return item[keyword].value
    return None


def _slices_of(ds: Dataset) -> list[SliceRef]:
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if "PerFrameFunctionalGroupsSequence" not in ds and str(ds.get("SOPClassUID", "")) != _ENHANCED_CT:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        return [SliceRef(ds, None, _floats(ds.get("ImagePositionPatient"), 3, "ImagePositionPatient"),
                         _floats(ds.get("ImageOrientationPatient"), 6, "ImageOrientationPatient"),
                         _floats(ds.get("PixelSpacing"), 2, "PixelSpacing"), int(ds.Rows), int(ds.Columns),
                         slope, intercept)]
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    per_frame = list(ds.get("PerFrameFunctionalGroupsSequence", []) or [])
    out = []
    for index in range(frames):
        frame = per_frame[index] if index < len(per_frame) else None
        slope = _frame_value(frame, shared, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = _frame_value(frame, shared, "PixelValueTransformationSequence", "RescaleIntercept")
        out.append(SliceRef(
            ds, index,
            _floats(_frame_value(frame, shared, "PlanePositionSequence", "ImagePositionPatient"), 3,
                    "ImagePositionPatient (Plane Position Sequence)"),
            _floats(_frame_value(frame, shared, "PlaneOrientationSequence", "ImageOrientationPatient"), 6,
                    "ImageOrientationPatient (Plane Orientation Sequence)"),
            _floats(_frame_value(frame, shared, "PixelMeasuresSequence", "PixelSpacing"), 2,
                    "PixelSpacing (Pixel Measures Sequence)"),
            int(ds.Rows), int(ds.Columns),
            float(slope if slope not in (None, "") else 1), float(intercept if intercept not in (None, "") else 0)))
    return out


def _is_localizer(ds: Dataset) -> bool:
    image_type = ds.get("ImageType") or ds.get("FrameType") or []
    values = [str(v).upper() for v in (image_type if not isinstance(image_type, str) else [image_type])]
    return "LOCALIZER" in values


def group_series(datasets: Iterable[Dataset]) -> tuple[Series, ...]:
    """Group image objects by SeriesInstanceUID, dropping localizers and objects without pixels.

    Series are ordered by SeriesNumber, then description. Objects whose geometry cannot be read
    make their series unusable (it keeps a note), never the whole upload.

    Examples
    --------
    >>> from rhinoapp.dicom.testing import make_ct_series
    >>> [series] = group_series(make_ct_series(slices=3, shape=(8, 8), phi=False))
    >>> len(series.slices), series.modality, series.kind.value
    (3, 'CT', 'slices')
    """
    groups: dict[str, list[Dataset]] = {}
    dropped: dict[str, list[str]] = {}
    heads: dict[str, Dataset] = {}
    for ds in datasets:
        uid = str(ds.get("SeriesInstanceUID", "") or "")
        heads.setdefault(uid, ds)
        if not any(tag in ds for tag in _PIXEL_TAGS):
            dropped.setdefault(uid, []).append("non-image object")
            continue
        if _is_localizer(ds):
            dropped.setdefault(uid, []).append("localizer")
            continue
        groups.setdefault(uid, []).append(ds)
    result = []
    for uid in set(groups) | set(dropped):
        members = groups.get(uid, [])
        notes = [f"{dropped[uid].count(kind)} {kind}(s) dropped" for kind in sorted(set(dropped.get(uid, [])))]
        slices: list[SliceRef] = []
        try:
            for ds in members:
                slices.extend(_slices_of(ds))
        except SeriesError as error:
            notes.append(str(error))
            slices = []
        head = members[0] if members else heads[uid]
        kind = SeriesKind.MULTIFRAME if any(s.frame is not None for s in slices) else SeriesKind.SLICES
        number = head.get("SeriesNumber")
        result.append(Series(uid, int(number) if number not in (None, "") else None,
                             str(head.get("SeriesDescription", "") or ""), str(head.get("Modality", "") or ""), kind,
                             tuple(slices), tuple(notes)))
        logger.debug("series %d: %d slices (%s)", len(result), len(slices), ", ".join(notes) or "complete")
    result.sort(key=lambda s: (s.number if s.number is not None else 1 << 30, s.description, s.uid))
    return tuple(result)


def choose_series(series: tuple[Series, ...], selector: str | None = None, *, min_slices: int = 3,
                  uid_aliases: dict[str, str] | None = None) -> Series:
    """Pick the series to import.

    ``selector`` is a 1-based index into the candidate list, or a SeriesInstanceUID
    (``uid_aliases`` maps other spellings, e.g. an original UID, to the de-identified one).
    Without a selector, the only usable CT series is taken; otherwise the error lists them.

    Examples
    --------
    >>> from rhinoapp.dicom.testing import make_ct_series
    >>> series = group_series(make_ct_series(slices=3, shape=(8, 8), phi=False)
    ...                       + make_ct_series(slices=2, shape=(8, 8), series=2, phi=False))
    >>> choose_series(series).number  # the 2-slice series is not usable
    1
    >>> choose_series(series, "2")
    Traceback (most recent call last):
    ...
    rhinoapp.dicom.series.SeriesError: series 2 cannot be imported: 2 slice(s); at least 3 needed.
    """
    summaries = [s.summary(i, min_slices=min_slices) for i, s in enumerate(series, start=1)]
    listing = "\n".join(s.line() for s in summaries)
    if not series:
        raise SeriesError("the upload holds no images (only reports, localizers or other non-image objects).")
    if selector:
        chosen = None
        if selector.isdigit() and 1 <= int(selector) <= len(series):
            chosen = series[int(selector) - 1]
        else:
            uid = (uid_aliases or {}).get(selector, selector)
            chosen = next((s for s in series if s.uid == uid), None)
        if chosen is None:
            shown = repr(selector) if selector.isdigit() else "with that UID"  # never echo an original UID
            raise SeriesError(f"no series {shown} in the upload; choose a number or UID from:\n{listing}")
        summary = summaries[series.index(chosen)]
        if not summary.usable:
            shown = selector if selector.isdigit() else str(summary.index)
            raise SeriesError(f"series {shown} cannot be imported: {summary.reason}.")
        return chosen
    usable = [s for s, summary in zip(series, summaries, strict=True) if summary.usable]
    if len(usable) == 1:
        return usable[0]
    if not usable:
        reasons = "; ".join(sorted({s.reason for s in summaries}))
        raise SeriesError(f"no series can be imported ({reasons}). rhinoapp needs a CT series of at least "
                          f"{min_slices} slices:\n{listing}")
    raise SeriesError(f"the upload holds {len(usable)} CT series; choose one with --series N (or its UID):\n{listing}")
