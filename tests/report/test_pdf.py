"""The clinician's report: the PDF's pages and pictures, rendered with poppler's pdftoppm and checked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rhinoapp.report import gather_report, project_report, report_pdf
from rhinoapp.store.repository import ProjectRepository

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                reason="poppler-utils missing: scripts/install-system-deps.sh installs it")


def pages_of(pdf: bytes, folder: Path) -> list[np.ndarray]:
    """Each page of ``pdf`` as RGB pixels (pdftoppm at 60 dpi)."""
    source = folder / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(source), str(folder / "page")], check=True, timeout=120)
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted(folder.glob("page-*.png"))]


def text_of(pdf: bytes, folder: Path) -> str:
    source = folder / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def coloured(page: np.ndarray) -> int:
    """Pixels that are clearly coloured (not grey, white or black): pictures and plots, not text."""
    channels = page.astype(int)
    return int(np.count_nonzero(channels.max(axis=2) - channels.min(axis=2) > 60))


@pytest.mark.slow
def test_full_report_has_four_pages_of_pictures_and_tables(repo: ProjectRepository, full_case: str,
                                                           tmp_path: Path) -> None:
    pdf = project_report(repo, full_case)
    pages = pages_of(pdf, tmp_path)
    assert len(pages) == 4
    for page in pages:
        assert page.std() > 5, "a blank page"
    # page 1: CT slices with the segmentation, the 3D airway, the area profile; page 2: the pressure and
    # WSS pictures; page 3: the 4PR loops (lines). They hold coloured pixels (text is black); the methods do not.
    counts = [coloured(page) for page in pages]
    assert counts[0] > 3000 and counts[1] > 3000 and counts[2] > 500 and counts[3] < 100, counts
    text = " ".join(text_of(pdf, tmp_path).split())  # words as read, whatever the lines they were wrapped into
    for expected in ("RHINO-", "mCSA", "Results beside the healthy ranges", "healthy range", "Rohrer",
                     "Simulation against 4PR", "Methods", "rhinoapp 0.1.0", "lattice spacing 2 mm",
                     "Every step of the case is done", "How far to trust the pressure drop", "upper bounds: at these settings"):
        assert expected in text, expected
    (tmp_path / "full-report.pdf").write_bytes(pdf)


@pytest.mark.slow
def test_report_without_simulation_is_shorter_and_says_what_is_missing(repo: ProjectRepository, airway_only: str,
                                                                       tmp_path: Path) -> None:
    pdf = project_report(repo, airway_only)
    pages = pages_of(pdf, tmp_path)
    assert len(pages) == 2
    assert coloured(pages[0]) > 3000  # CT slices, 3D airway and area profile
    text = text_of(pdf, tmp_path)
    assert "Simulation: no simulation run yet" in text and "4PR: no rhinomanometry measurement yet" in text
    assert "Results beside the healthy ranges" not in text


def test_report_of_an_empty_project_needs_no_rendering(repo: ProjectRepository, tmp_path: Path) -> None:
    content = gather_report(repo, repo.create("Empty").id)
    assert not content.has_simulation and content.ct is None
    pages = pages_of(report_pdf(content, pictures=False), tmp_path)
    assert len(pages) == 2 and all(page.std() > 1 for page in pages)


@pytest.mark.slow
def test_cli_writes_the_report(repo: ProjectRepository, airway_only: str, data_dir: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from rhinoapp.cli import main

    target = tmp_path / "case.pdf"
    assert main(["report", "Airway only", "--out", str(target), "--data-dir", str(data_dir), "--user", "local"]) == 0
    printed = capsys.readouterr().out
    assert f"written to {target}" in printed and "missing: Simulation" in printed
    assert len(pages_of(target.read_bytes(), tmp_path)) == 2
    assert main(["report", "No such case", "--out", str(target), "--data-dir", str(data_dir)]) == 2
