"""The 4PR page in real Chromium: upload a recording, see loops and table, and 4PR turn done."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rhinoapp.rhinomanometry.io import write_csv_file
from rhinoapp.rhinomanometry.synthetic import generate
from tests.views.navigation import click_until, go_to

pytestmark = pytest.mark.browser


def open_new_project(page, name: str) -> None:
    page.get_by_placeholder("Project name, e.g. Case 12 pre-op").fill(name)
    page.get_by_role("button", name="Create project").click()
    row = page.locator(".tabulator-row", has_text=name)
    click_until(row.get_by_text("Open"), page.locator(".rh-project", has_text=f"Project: {name}"),
                what=f"project {name} to open")
    go_to(page, "Analysis", page.get_by_role("heading", name="Rhinomanometry (4PR)"))


def upload(page, path: Path) -> None:
    page.locator(".rh-4pr-upload input[type=file]").first.set_input_files(str(path))


def drop(page, path: Path) -> None:
    """Drag ``path`` onto the 4PR drop zone and drop it (the browser's drag events, with the file)."""
    transfer = page.evaluate_handle(
        "([name, bytes]) => { const dt = new DataTransfer();"
        " dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'text/csv' })); return dt; }",
        [path.name, list(path.read_bytes())])
    target = page.locator(".rh-4pr-upload .filepond--drop-label")
    target.scroll_into_view_if_needed()
    box = target.bounding_box()  # FilePond takes a drop only where the pointer is over its drop area
    where = {"clientX": box["x"] + box["width"] / 2, "clientY": box["y"] + box["height"] / 2}
    for event in ("dragenter", "dragover", "drop"):
        target.dispatch_event(event, {"dataTransfer": transfer, **where})


def test_upload_shows_loops_and_table_and_marks_4pr_done(page, tmp_path: Path, output_dir: Path) -> None:
    recording = tmp_path / "case-4pr.csv"
    write_csv_file(generate(duration_s=20.5, seed=3, noise_pa=1.0, noise_ml_s=2.0).measurement, recording)
    open_new_project(page, "Case 4PR")
    page.get_by_text("No measurement yet").wait_for()

    drop(page, recording)  # dragged and dropped onto the page, as on the CT page
    page.get_by_text("case-4pr.csv stored: left (").wait_for()
    loops = page.locator(".rh-4pr-loops")
    loops.locator("canvas").first.wait_for()
    assert loops.get_by_text("Left side: pressure-flow loops").count() + loops.locator("canvas").count() > 0
    table = page.locator(".rh-4pr-parameters table")
    table.wait_for()
    for label in ("R75 [Pa·s/ml]", "R150 [Pa·s/ml]", "VR [Pa·s/ml]", "Reff [Pa·s/ml]", "Obstruction class"):
        assert table.get_by_text(label, exact=True).is_visible()
    assert " ± " in table.locator("tr", has_text="R150 [Pa·s/ml]").inner_text()
    page.locator(".rh-4pr-series canvas").first.wait_for()
    page.mouse.move(900, 5)  # no tooltip over the page in the picture
    page.wait_for_function("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))")  # painted
    page.screenshot(path=str(output_dir / "rhinomanometry.png"), full_page=True)

    for css, label, header in (("loops-csv", "Pressure-flow loops (CSV)", "side,breath,phase"),
                               ("parameters-csv", "4PR parameters (CSV)", "side,parameter,mean")):
        with page.expect_download() as info:
            page.locator(f".rh-download-{css}").get_by_text(label).click()
        download = info.value
        assert re.fullmatch(rf"Case-4PR_.+_\d{{4}}-\d{{2}}-\d{{2}}_4pr_{css.replace('-', '.')}", download.suggested_filename)
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        assert saved.read_text(encoding="utf-8").startswith(header)

    assert page.locator("text=tap to undo >> visible=true").count() == 0  # no undo offer that would not undo
    help_card = page.locator(".rh-4pr-format")
    help_card.get_by_text("The 4PR file format").click()  # the format documentation opens from the page
    help_card.get_by_text("The rhinoapp 4PR recording format").wait_for()

    upload(page, recording)  # browsed for: a second measurement asks first
    page.locator(".rh-4pr-feedback", has_text="already has 1 4PR measurement").wait_for()
    assert page.locator("select option", has_text="Measurement 2").count() == 0
    page.get_by_role("button", name="Store as the latest measurement").click()
    page.locator("select option", has_text="Measurement 2").wait_for(state="attached")

    icon = page.locator(".tabulator-row", has_text="Case 4PR").locator('[data-step="4pr"]')
    go_to(page, "Projects", icon)
    icon.wait_for()
    assert icon.get_attribute("data-status") == "done"


def test_bad_file_shows_a_plain_message_and_stores_nothing(page, tmp_path: Path, output_dir: Path) -> None:
    bad = tmp_path / "export.csv"
    bad.write_text("t_s;side;dp_pa\n0;L;0\n0,01;L;1\n", encoding="utf-8")
    open_new_project(page, "Case bad 4PR")
    upload(page, bad)
    message = page.locator(".rh-4pr-feedback").get_by_text(re.compile(
        r"^export\.csv was not stored: export\.csv, header: The header has no flow column .*; name it flow_ml_s"))
    message.wait_for()
    assert message.is_visible()
    assert page.locator(".rh-4pr-loops").count() == 0
    page.screenshot(path=str(output_dir / "rhinomanometry-bad-file.png"), full_page=True)
    icon = page.locator(".tabulator-row", has_text="Case bad 4PR").locator('[data-step="4pr"]')
    go_to(page, "Projects", icon)
    assert icon.get_attribute("data-status") == "possible"


def test_without_a_project_the_page_points_to_projects(page) -> None:
    go_to(page, "Analysis", page.get_by_text("No project is open: open one on the Projects page"))
    page.get_by_role("button", name="Go to Projects").click()
    page.get_by_role("heading", name="Projects").wait_for()


def test_too_large_files_are_held_back_with_the_limit_named(page, tmp_path: Path) -> None:
    recording = tmp_path / "case-4pr.csv"
    write_csv_file(generate(seed=5).measurement, recording)
    open_new_project(page, "Case large 4PR")
    page.get_by_text("No measurement yet").wait_for()
    feedback = page.locator(".rh-4pr-feedback")
    # 17.7 MB is more than a websocket message carries once encoded; 60 MB far more. Sparse files: nothing is read.
    for size_mb in (17.7, 60.0):
        big = tmp_path / f"export-{size_mb:g}.csv"
        with big.open("wb") as handle:
            handle.truncate(int(size_mb * 1e6))
        upload(page, big)
        message = f"{big.name} was not stored: The file is {size_mb:.1f} MB, more than the 15 MB allowed;"
        feedback.get_by_text(message).wait_for()
        assert page.get_by_text("No measurement yet").is_visible()  # nothing stored
    upload(page, recording)  # the session lives on and the input takes the next file
    feedback.get_by_text("case-4pr.csv stored: left (").wait_for()
