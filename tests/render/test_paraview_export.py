"""The "download for ParaView": the zip opens, the state names its data relatively, and pvpython loads and draws it."""

from __future__ import annotations

import io
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.render.paraview_export import STATE_NAME, paraview_state_zip
from rhinoapp.render.paraview_launch import paraview_command, pvpython_path
from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic
from rhinoapp.render.x_display import SharedDisplay
from tests.render.conftest import png_pixels
from tests.waiting import HANG_S

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(pvpython_path() is None, reason="ParaView's pvpython is not installed "
                                 "(Debian's paraview and python3-paraview: scripts/install-system-deps.sh)")]


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """The X display of this module's pvpython processes (one shared Xvfb, as the server's)."""
    shared = SharedDisplay()
    yield shared.display()
    shared.stop()


def test_the_state_zip_opens_names_its_data_relatively_and_loads_in_pvpython(tmp_path: Path, display: str) -> None:
    spec = SceneSpec(synthetic=Synthetic(4000, with_ct=True), colouring=Colouring.WALL_SHEAR_STRESS, slices=True)
    data = paraview_state_zip(spec, display=display)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(Path(n).name for n in archive.namelist())
        assert {STATE_NAME, "wall.vtp", "slices.vtp", "README.txt"} <= set(names)
        archive.extractall(tmp_path)
    folder = tmp_path / "rhinoapp-paraview"
    state = (folder / STATE_NAME).read_text()
    assert 'value="wall.vtp"' in state and 'value="slices.vtp"' in state
    assert "rhinoapp-pvsm-" not in state and "/tmp/" not in state, "the state names a file by its absolute path"
    assert "Wall shear stress (Pa)" in state  # the scalar bar's title with its units

    picture = tmp_path / "loaded.png"
    command = paraview_command("rhinoapp.render.pv_pipeline", "load", str(folder / STATE_NAME), str(picture),
                               display=display)
    done = subprocess.run(command.argv, env={**os.environ, **command.environment}, capture_output=True,
                          timeout=HANG_S, check=False, cwd=tmp_path)
    told = done.stderr.decode(errors="replace")
    assert done.returncode == 0, told[:4000] + "\n...\n" + told[-2000:]  # the cause is at the start of a crash's report
    pixels = png_pixels(picture.read_bytes())
    background = pixels[2, 2].astype(int)
    drawn = (abs(pixels.astype(int) - background).max(axis=2) > 40).mean()
    assert pixels.std() > 20 and drawn > 0.05, "pvpython drew a blank picture of the state"
