"""A case scripted from Python imports a segmentation made elsewhere, as the CLI and the import card do."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.api import Case
from rhinoapp.config import Settings
from rhinoapp.core.errors import ValidationError
from rhinoapp.segmentation.label_import import LabelMapping
from rhinoapp.volumes import nifti_bytes
from tests.segmentation.test_label_import import MAPPING, asymmetric_phantom
from tests.usecases.test_geometry_import import FAST, cavities_only_file, label_file, slicer_file, whole_airway_file


def test_a_case_imports_segmentations_by_their_names_their_places_a_mapping_or_as_a_whole_airway(tmp_path: Path) -> None:
    phantom = asymmetric_phantom()
    files = {"ct.nii.gz": nifti_bytes(phantom.ct), "Segmentation.seg.nrrd": slicer_file(), "seg.nrrd": label_file("nrrd"),
             "mask.nii.gz": whole_airway_file(sinuses=False), "cavities.nii.gz": cavities_only_file()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with Case.open("Imports", settings=Settings(data_dir=tmp_path / "data")) as case:
        case.import_ct(tmp_path / "ct.nii.gz", progress=False)
        named = case.import_segmentation(tmp_path / "Segmentation.seg.nrrd", variant="slicer",
                                         target_triangles=FAST)  # the segment names say the mapping
        assert named.report.document["provenance"]["mapping"] == {"1": "left", "2": "right", "3": "nasopharynx",
                                                                  "4": "sinus"}
        placed = case.import_segmentation(tmp_path / "seg.nrrd", variant="placed", target_triangles=FAST)
        assert placed.report.document["provenance"]["mapping"] == LabelMapping.parse(MAPPING).as_dict()  # by place
        with pytest.raises(ValidationError, match=r"cavities.nii.gz: say what its labels are with mapping= \(labels "
                                                  r"found: 3 \("):
            case.import_segmentation(tmp_path / "cavities.nii.gz")
        mapped = case.import_segmentation(tmp_path / "seg.nrrd", mapping=MAPPING, variant="mapped",
                                          target_triangles=FAST)
        whole = case.import_segmentation(tmp_path / "mask.nii.gz", mapping={1: "airway"}, variant="mask",
                                         target_triangles=FAST)
        for geometry in (named, mapped, whole):
            assert 0.5 < geometry.report.volume_ml("left") < 0.95 * geometry.report.volume_ml("right")  # swollen left
        assert {g.variant for g in (named, mapped, whole)} == {"slicer", "mapped", "mask"}
