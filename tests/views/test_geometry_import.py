"""The import dialog's widgets drive its state: an upload lists the labels, each select sets a target."""

from __future__ import annotations

from pathlib import Path

import panel as pn

from rhinoapp.views.geometry_import import GeometryImportDialog
from tests.state.test_geometry_import import _state
from tests.usecases.test_geometry_import import label_file, slicer_file


def test_upload_lists_labels_and_selects_set_targets(tmp_path: Path) -> None:
    state, _, _ = _state(tmp_path)
    dialog = GeometryImportDialog(state=state)
    pn.panel(dialog).get_root()  # the card renders
    dialog._file.filename = "seg.nrrd"
    dialog._file.value = label_file("nrrd")
    assert [label for label, _ in state.labels_found] == [1, 3, 4, 5]
    mapping = dialog._mapping()
    selects = [w for w in mapping.select(pn.widgets.Select)]
    assert [s.label.split(" (")[0] for s in selects] == ["Label 1", "Label 3", "Label 4", "Label 5"]
    selects[2].value = "left"
    assert state.targets[4] == "left" and not dialog._import.disabled


def test_segment_names_title_the_selects(tmp_path: Path) -> None:
    state, _, _ = _state(tmp_path)
    dialog = GeometryImportDialog(state=state)
    dialog._file.filename = "Segmentation.seg.nrrd"
    dialog._file.value = slicer_file()
    selects = list(dialog._mapping().select(pn.widgets.Select))
    assert selects[0].label.startswith("Label 1 'Left nasal cavity' (") and selects[0].value == "left"
    assert [s.value for s in selects] == ["left", "right", "nasopharynx", "sinus"]
