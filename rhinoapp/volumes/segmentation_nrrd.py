"""Label maps in NRRD, including 3D Slicer's segmentation files (``.seg.nrrd``): segment names and layers.

3D Slicer saves a segmentation as an NRRD whose header names each segment
(``Segment0_Name:=Left nasal cavity``, ``Segment0_LabelValue:=1``, ``Segment0_Layer:=0``). While
the segments do not overlap they share one 3D label volume; once they do, Slicer stores several
*layers* along a fourth, non-spatial axis, each layer a label volume of its own. A plain label map
(NRRD without segment fields) reads as it is.

:func:`read_label_nrrd_bytes` gives the label volume on its grid with the segment names per label:
one layer keeps the file's label values; several layers are merged into one volume whose labels
are the segments' order in the file (1 for the first), a voxel in several segments taking the
first of them (the notes say how many voxels overlapped). :func:`segment_names` reads the names
from the header alone.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> from rhinoapp.volumes.nrrd import nrrd_bytes
>>> labels = np.zeros((2, 3, 4), np.uint8); labels[0, 0, 0] = 3
>>> header = {"Segment0_Name": "Left cavity", "Segment0_LabelValue": "3", "Segment0_Layer": "0"}
>>> read_label_nrrd_bytes(nrrd_bytes(CTVolume(labels, ImageGeometry(labels.shape)), header=header)).names
{3: 'Left cavity'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import DEFAULT_LIMITS, InputLimits
from rhinoapp.core.volume import CTVolume
from rhinoapp.volumes.nrrd import from_nrrd, nrrd_data_and_header

__all__ = ["LabelVolume", "Segment", "read_label_nrrd_bytes", "segment_names", "segments_of"]

_FIELD = re.compile(r"^Segment(\d+)_(Name|LabelValue|Layer)$")


@dataclass(frozen=True)
class Segment:
    """One segment of a 3D Slicer segmentation: its name, label value and layer."""

    name: str
    label_value: int
    layer: int


@dataclass(frozen=True)
class LabelVolume:
    """A label map on its grid, the segment name of each label (empty without names) and notes on the reading."""

    volume: CTVolume
    names: Mapping[int, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def segments_of(header: Mapping[str, Any]) -> tuple[Segment, ...]:
    """The segments a 3D Slicer segmentation header declares, in their order (none for a plain label map).

    Examples
    --------
    >>> segments_of({"Segment1_Name": "Right", "Segment0_Name": "Left", "Segment0_LabelValue": "2"})
    (Segment(name='Left', label_value=2, layer=0), Segment(name='Right', label_value=2, layer=0))
    """
    fields: dict[int, dict[str, str]] = {}
    for key, value in header.items():
        match = _FIELD.match(str(key))
        if match:
            fields.setdefault(int(match.group(1)), {})[match.group(2)] = str(value).strip()
    segments = []
    for index in sorted(fields):
        found = fields[index]
        try:
            label, layer = int(found.get("LabelValue", index + 1)), int(found.get("Layer", 0))
        except ValueError:
            raise ValidationError(f"segment {index} of the segmentation has a label value or layer that is not a whole "
                                  "number; the header is damaged: save the segmentation again") from None
        segments.append(Segment(found.get("Name", f"Segment {index}"), label, layer))
    return tuple(segments)


def _layered(segments: tuple[Segment, ...]) -> bool:
    return len({s.layer for s in segments}) > 1


def segment_names(header: Mapping[str, Any], *, layers: bool | None = None) -> dict[int, str]:
    """Label -> segment name, as :func:`read_label_nrrd_bytes` numbers the labels (from the header alone).

    ``layers`` says whether the file holds several layers (default: the segments' layers say).

    Examples
    --------
    >>> header = {"Segment0_Name": "airway", "Segment0_LabelValue": "1", "Segment0_Layer": "0",
    ...           "Segment1_Name": "sinus", "Segment1_LabelValue": "1", "Segment1_Layer": "1"}
    >>> segment_names(header)
    {1: 'airway', 2: 'sinus'}
    """
    segments = segments_of(header)
    if layers if layers is not None else _layered(segments):
        return {number: s.name for number, s in enumerate(segments, start=1)}
    return {s.label_value: s.name for s in segments}


def _spatial_header(header: Mapping[str, Any], list_axis: int) -> dict[str, Any]:
    """``header`` without its non-spatial axis ``list_axis`` (in NRRD order, fastest first)."""
    spatial = dict(header)
    directions = np.asarray(header.get("space directions"), dtype=float)
    if directions.ndim == 2 and directions.shape[0] == 4:
        spatial["space directions"] = np.delete(directions, list_axis, axis=0)
    spatial["sizes"] = np.delete(np.atleast_1d(header["sizes"]), list_axis)
    spatial["dimension"] = 3
    return spatial


def _list_axis(header: Mapping[str, Any]) -> int:
    """The non-spatial axis of a 4D NRRD (NRRD order): the one whose kind is a list or has no direction."""
    kinds = [str(k).lower() for k in np.atleast_1d(header.get("kinds", []))]
    for axis, kind in enumerate(kinds):
        if kind in ("list", "vector", "point", "covariant-vector", "normal"):
            return axis
    directions = np.asarray(header.get("space directions"), dtype=float)
    missing = [a for a in range(directions.shape[0]) if not np.all(np.isfinite(directions[a]))]
    if len(missing) == 1:
        return missing[0]
    raise ValidationError("the 4D NRRD has no axis marked as its layers (kinds: list); save the segmentation from "
                          "3D Slicer again, or export it as a labelmap volume")


def _merged(layers: np.ndarray, segments: tuple[Segment, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """One label volume from ``layers`` ([layer, k, j, i]): segment ``n`` (from 1) where its layer holds its value."""
    merged = np.zeros(layers.shape[1:], dtype=np.uint16)
    overlapping = 0
    for number, segment in enumerate(segments, start=1):
        if not 0 <= segment.layer < layers.shape[0]:
            raise ValidationError(f"segment '{segment.name}' lies in layer {segment.layer}, which the file lacks "
                                  f"({layers.shape[0]} layers); the header is damaged: save the segmentation again")
        inside = layers[segment.layer] == segment.label_value
        overlapping += int(np.count_nonzero(inside & (merged != 0)))
        merged[inside & (merged == 0)] = number
    notes = [f"the segmentation's {len(segments)} segments lie in {layers.shape[0]} layers (they overlap): its labels "
             f"are the segments' order, 1 for the first"]
    if overlapping:
        notes.append(f"{overlapping} voxels lie in more than one segment; each was given the first of them")
    return merged, tuple(notes)


def read_label_nrrd_bytes(data: bytes, *, limits: InputLimits = DEFAULT_LIMITS) -> LabelVolume:
    """A label map from NRRD bytes: a plain label map, or a 3D Slicer segmentation of one or more layers.

    Raises
    ------
    ValidationError
        For a file that is not a readable NRRD, lacks its orientation, or has non-spatial axes other than
        a segmentation's layers.

    Examples
    --------
    >>> import io, nrrd
    >>> layers = np.zeros((2, 2, 3, 4), np.uint8); layers[0, 0, 0, :2] = 1; layers[1, 0, 0, 1:] = 1
    >>> header = {"space": "left-posterior-superior", "kinds": ["list", "domain", "domain", "domain"],
    ...           "space directions": [[np.nan] * 3, [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]],
    ...           "Segment0_Name": "airway", "Segment0_LabelValue": "1", "Segment0_Layer": "0",
    ...           "Segment1_Name": "sinus", "Segment1_LabelValue": "1", "Segment1_Layer": "1"}
    >>> buffer = io.BytesIO(); nrrd.write(buffer, np.moveaxis(layers, 0, -1), header, index_order="C")
    >>> labels = read_label_nrrd_bytes(buffer.getvalue())
    >>> labels.volume.hu[0, 0].tolist(), labels.names, len(labels.notes)
    ([1, 1, 2, 2], {1: 'airway', 2: 'sinus'}, 2)
    """
    values, header = nrrd_data_and_header(data, limits=limits)
    segments = segments_of(header)
    if values.ndim == 4 and segments:
        axis = _list_axis(header)
        layers = np.moveaxis(values, 3 - axis, 0)  # C order reverses NRRD's axes
        spatial = _spatial_header(header, axis)
        if layers.shape[0] == 1:  # one layer stored as 4D: its label values as they are
            return LabelVolume(from_nrrd(layers[0], spatial), segment_names(header, layers=False))
        merged, notes = _merged(layers, segments)
        return LabelVolume(from_nrrd(merged, spatial), segment_names(header, layers=True), notes)
    return LabelVolume(from_nrrd(values, header), segment_names(header, layers=False))

