"""3D Slicer segmentation files (``.seg.nrrd``): segment names, one layer or several overlapping ones."""

from __future__ import annotations

import io
from collections.abc import Sequence

import nrrd
import numpy as np
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import ImageGeometry
from rhinoapp.volumes.segmentation_nrrd import Segment, read_label_nrrd_bytes, segment_names

RAS = (-1.0, -1.0, 1.0)


def slicer_segmentation(layers: Sequence[np.ndarray], geometry: ImageGeometry, segments: Sequence[Segment], *,
                        space: str = "left-posterior-superior") -> bytes:
    """A segmentation as 3D Slicer saves it: one 3D label volume, or a 4D one whose first (fastest) axis is the layers.

    ``layers`` hold ``[k, j, i]`` arrays on ``geometry`` (LPS); ``space`` RAS writes the directions and origin in RAS.
    """
    signs = np.asarray(RAS if space == "right-anterior-superior" else (1.0, 1.0, 1.0))
    directions = (geometry.direction_matrix * np.asarray(geometry.spacing_mm)).T * signs
    header: dict = {"type": "unsigned char", "space": space, "encoding": "gzip",
                    "space origin": np.asarray(geometry.origin_mm) * signs,
                    "Segmentation_MasterRepresentation": "Binary labelmap",
                    "Segmentation_ReferenceImageExtentOffset": "0 0 0"}
    for index, segment in enumerate(segments):
        header |= {f"Segment{index}_ID": f"Segment_{index + 1}", f"Segment{index}_Name": segment.name,
                   f"Segment{index}_LabelValue": str(segment.label_value), f"Segment{index}_Layer": str(segment.layer),
                   f"Segment{index}_Color": "0.5 0.5 0.5"}
    if len(layers) == 1:
        data = np.asarray(layers[0], dtype=np.uint8)
        header |= {"kinds": ["domain"] * 3, "space directions": directions}
    else:
        data = np.stack(layers, axis=-1).astype(np.uint8)  # C order: the last axis is NRRD's first (fastest)
        header |= {"kinds": ["list", "domain", "domain", "domain"],
                   "space directions": np.vstack([np.full(3, np.nan), directions])}
    buffer = io.BytesIO()
    nrrd.write(buffer, data, header, index_order="C")
    return buffer.getvalue()


GRID = ImageGeometry((4, 5, 6), spacing_mm=(0.5, 0.6, 2.0), origin_mm=(10.0, -20.0, 30.0))


def test_one_layer_keeps_its_label_values_and_names_them() -> None:
    labels = np.zeros(GRID.shape, np.uint8)
    labels[1, 2, :3], labels[1, 2, 3:] = 4, 7
    data = slicer_segmentation([labels], GRID, [Segment("Left nasal cavity", 4, 0), Segment("Nasopharynx", 7, 0)])
    read = read_label_nrrd_bytes(data)
    assert np.array_equal(read.volume.hu, labels) and read.names == {4: "Left nasal cavity", 7: "Nasopharynx"}
    assert read.volume.geometry.spacing_mm == pytest.approx(GRID.spacing_mm)
    assert read.volume.geometry.origin_mm == pytest.approx(GRID.origin_mm) and read.notes == ()


@pytest.mark.parametrize("space", ["left-posterior-superior", "right-anterior-superior"])
def test_overlapping_layers_merge_in_the_segments_order(space: str) -> None:
    """Two layers (an airway overlapping a sinus by two voxels): labels 1, 2 in the segments' order; the first wins."""
    airway, sinus = np.zeros(GRID.shape, np.uint8), np.zeros(GRID.shape, np.uint8)
    airway[2, 1:4, 1:4] = 1
    sinus[2, 3, 3:6] = 1  # (2, 3, 3) lies in both
    sinus[3, 0, 0] = 1
    data = slicer_segmentation([airway, sinus], GRID, [Segment("Airway", 1, 0), Segment("Maxillary sinus", 1, 1)],
                               space=space)
    read = read_label_nrrd_bytes(data)
    assert read.names == {1: "Airway", 2: "Maxillary sinus"}
    assert np.count_nonzero(read.volume.hu == 1) == 9 and np.count_nonzero(read.volume.hu == 2) == 3
    assert read.volume.hu[2, 3, 3] == 1 and read.volume.hu[3, 0, 0] == 2
    assert read.volume.geometry.origin_mm == pytest.approx(GRID.origin_mm)  # RAS read back into LPS
    assert "2 layers" in read.notes[0] and read.notes[1].startswith("1 voxels lie in more than one segment")
    assert segment_names(nrrd.read_header(io.BytesIO(data))) == read.names  # from the header alone


def test_a_plain_label_map_has_no_names_and_bad_layers_are_refused() -> None:
    labels = np.zeros(GRID.shape, np.uint8)
    labels[0, 0, 0] = 3
    plain = read_label_nrrd_bytes(slicer_segmentation([labels], GRID, []))
    assert plain.names == {} and plain.volume.hu[0, 0, 0] == 3
    with pytest.raises(ValidationError, match="4 dimensions"):  # a 4D volume that is no segmentation
        read_label_nrrd_bytes(slicer_segmentation([labels, labels], GRID, []))
    with pytest.raises(ValidationError, match="lies in layer 5, which the file lacks"):
        read_label_nrrd_bytes(slicer_segmentation([labels, labels], GRID, [Segment("a", 3, 0), Segment("b", 3, 5)]))
    damaged = slicer_segmentation([labels], GRID, [Segment("a", 3, 0)]).replace(b"Segment0_LabelValue:=3",
                                                                               b"Segment0_LabelValue:=x")
    with pytest.raises(ValidationError, match="not a whole number"):
        read_label_nrrd_bytes(damaged)
