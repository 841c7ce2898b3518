"""The Geometry page's import dialog in Chromium: a 3D Slicer segmentation whose segment names choose the parts, and a
label map without names, in a project without a CT, whose labels' places choose them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.store.database import open_store
from tests.segmentation.test_label_import import asymmetric_phantom
from tests.state.test_geometry import ct_project
from rhinoapp.store.repository import ProjectRepository
from tests.usecases.test_geometry_import import label_file, slicer_file
from tests.waiting import HANG_S
from tests.views.navigation import click_until, go_to

pytestmark = [pytest.mark.browser, pytest.mark.timeout(3 * HANG_S)]


def test_a_slicer_segmentation_is_mapped_by_its_names_and_imported(page, server, tmp_path: Path) -> None:
    url, data = server
    store = open_store(Settings(data_dir=data))
    try:
        project_id = ct_project(store, "Import demo", asymmetric_phantom().ct)
    finally:
        store.close()
    upload = tmp_path / "Segmentation.seg.nrrd"
    upload.write_bytes(slicer_file())
    page.goto(url)
    opened = page.locator(".rh-project", has_text="Project: Import demo")
    click_until(page.locator(".tabulator-row", has_text="Import demo").get_by_text("Open"), opened,
                what="project Import demo to open")
    page.get_by_role("heading", name="Geometry", exact=True).wait_for()
    dialog = page.locator(".rh-geometry-import")
    click_until(dialog.get_by_text("Import an existing segmentation"), dialog.locator(".rh-import-file"),
                what="the import card to open")
    dialog.locator(".rh-import-file input[type=file]").set_input_files(str(upload))
    # each label's select is titled with its segment name and set to the part the name says
    for label, name, part in ((1, "Left nasal cavity", "left"), (2, "Right nasal cavity", "right"),
                              (3, "Nasopharynx", "nasopharynx"), (4, "Maxillary sinus", "sinus")):
        select = dialog.locator(f".rh-import-label-{label}")
        select.get_by_text(f"Label {label} '{name}'").wait_for()
        assert select.locator("select").input_value() == part
    dialog.locator(".rh-import-message", has_text="chosen from the segment names").wait_for()
    dialog.locator(".rh-import-label-4 select").select_option("leave out")  # the user leaves the sinuses out
    dialog.get_by_role("button", name="Import", exact=True).click()
    dialog.locator(".rh-import-message", has_text="as geometry variant 'imported'").wait_for(timeout=1000 * HANG_S)
    report = data / "projects"
    found = list(report.rglob(str(ProjectLayout().geometry("imported").report)))
    assert found, f"no geometry report of the import under {report} (project {project_id})"
    assert '"1": "left"' in found[0].read_text() and '"4": "sinus"' not in found[0].read_text()


def test_a_label_map_without_names_or_ct_is_mapped_by_where_its_labels_lie_and_imported(page, server,
                                                                                        tmp_path: Path) -> None:
    url, data = server
    store = open_store(Settings(data_dir=data))
    try:
        project_id = ProjectRepository(store, owner="local").create("Labels alone").id  # no CT
    finally:
        store.close()
    upload = tmp_path / "labels.nii.gz"
    upload.write_bytes(label_file("nifti"))  # 4 left, 3 right, 5 nasopharynx, 1 sinus, on a flipped grid
    page.goto(url)
    opened = page.locator(".rh-project", has_text="Project: Labels alone")
    click_until(page.locator(".tabulator-row", has_text="Labels alone").get_by_text("Open"), opened,
                what="project Labels alone to open")
    go_to(page, "Geometry", page.get_by_role("heading", name="Geometry", exact=True))  # no CT: not shown by itself
    dialog = page.locator(".rh-geometry-import")
    click_until(dialog.get_by_text("Import an existing segmentation"), dialog.locator(".rh-import-file"),
                what="the import card to open")
    dialog.locator(".rh-import-file input[type=file]").set_input_files(str(upload))
    dialog.locator(".rh-import-message", has_text="chosen from where the labels lie").wait_for()
    for label, part in ((4, "left"), (3, "right"), (5, "nasopharynx"), (1, "sinus")):
        assert dialog.locator(f".rh-import-label-{label} select").input_value() == part, label
    dialog.get_by_role("button", name="Import", exact=True).click()
    dialog.locator(".rh-import-message", has_text="as geometry variant 'imported'").wait_for(timeout=1000 * HANG_S)
    found = list((data / "projects" / project_id).rglob(str(ProjectLayout().geometry("imported").report)))
    assert found and '"on_ct": false' in found[0].read_text() and '"4": "left"' in found[0].read_text()
