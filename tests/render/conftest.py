"""Offscreen rendering for the render tests, and image comparison with stored references."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.render.offscreen import OffscreenCheck, RenderError, check_offscreen

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
UPDATE_ENV = "RHINOAPP_UPDATE_RENDER_REFERENCES"


@pytest.fixture(scope="session")
def offscreen() -> OffscreenCheck:
    """The working backend (checked in a child process), set for VTK in this process."""
    try:
        check = check_offscreen()
    except RenderError as error:
        pytest.fail(str(error))
    os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = check.backend.window_class
    return check


def png_pixels(data: bytes) -> np.ndarray:
    """RGB pixels of a PNG (or JPEG) file's bytes."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def image_difference(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """Mean absolute difference (0-255) and the fraction of pixels off by more than 48."""
    if actual.shape != expected.shape:
        return 255.0, 1.0
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16)).max(axis=2)
    return float(diff.mean()), float((diff > 48).mean())


def assert_matches_reference(pixels: np.ndarray, name: str, output_dir: Path, *,
                             mean_tolerance: float = 2.0, outlier_tolerance: float = 0.01) -> None:
    """Compare with ``reference/<name>.png``; write the actual image to test-output when it differs.

    Set ``RHINOAPP_UPDATE_RENDER_REFERENCES=1`` to (re)write the references.
    """
    from rhinoapp.render.frames import ImageFormat, encode

    reference = REFERENCE_DIR / f"{name}.png"
    if os.environ.get(UPDATE_ENV) == "1":
        REFERENCE_DIR.mkdir(exist_ok=True)
        reference.write_bytes(encode(pixels, ImageFormat.PNG))
        return
    if not reference.is_file():
        pytest.fail(f"no reference image {reference}: run with {UPDATE_ENV}=1 once and check the images")
    mean, outliers = image_difference(pixels, png_pixels(reference.read_bytes()))
    if mean > mean_tolerance or outliers > outlier_tolerance:
        (output_dir / f"render-{name}-actual.png").write_bytes(encode(pixels, ImageFormat.PNG))
        pytest.fail(f"{name}: differs from its reference (mean {mean:.2f} > {mean_tolerance} or "
                    f"{outliers:.2%} pixels off > {outlier_tolerance:.0%}); see test-output/render-{name}-actual.png")
