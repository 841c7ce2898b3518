"""The API's notebooks run top to bottom in a real Jupyter kernel on the phantom and show their pictures and tables."""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from pathlib import Path

import nbclient
import nbformat
import numpy as np
import pytest
from PIL import Image

from rhinoapp.config import ENV_PREFIX

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory named in ``RHINOAPP_DATA_DIR`` for the kernel."""
    for name in [n for n in os.environ if n.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(ENV_PREFIX + "DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TQDM_MININTERVAL", "1")
    return tmp_path / "data"


def run(name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=240, startup_timeout=60,
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError when any cell fails
    return notebook


def cell(notebook: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.get("id") == cell_id)


def picture(notebook: nbformat.NotebookNode, cell_id: str) -> np.ndarray:
    """The PNG a cell displayed, as pixels; fails when it shows none."""
    pngs = [o["data"]["image/png"] for o in cell(notebook, cell_id).outputs if "image/png" in o.get("data", {})]
    assert pngs, f"cell {cell_id} showed no picture"
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(pngs[0]))).convert("L"))
    assert pixels.std() > 5, f"cell {cell_id} showed a blank picture"
    return pixels


def table(notebook: nbformat.NotebookNode, cell_id: str) -> str:
    """The HTML table a cell displayed; fails when it shows none or an empty one."""
    html = [o["data"]["text/html"] for o in cell(notebook, cell_id).outputs if "text/html" in o.get("data", {})]
    assert html and "<table" in html[0] and html[0].count("<tr") > 1, f"cell {cell_id} showed no table"
    return html[0]


def text(notebook: nbformat.NotebookNode, cell_id: str) -> str:
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell(notebook, cell_id).outputs)


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_case_from_ct_notebook(data_dir: Path) -> None:
    notebook = run("case_from_ct.ipynb")
    for cell_id in ("ct-figure", "ct-with-airway", "profile", "convergence", "loops"):
        picture(notebook, cell_id)
    for cell_id in ("segment", "simulate", "4pr-file", "compare"):
        table(notebook, cell_id)
    assert "mcsa_cm2" in table(notebook, "segment") and "healthy range" in table(notebook, "simulate")
    assert "Resistance left" in table(notebook, "compare")
    shown = [o for o in cell(notebook, "geometry-3d").outputs if "application/vnd.holoviews_exec.v0+json" in o.get("data", {})]
    assert shown, "the geometry's show() displayed no Panel layout"
    assert "report:" in text(notebook, "report") and "bytes" in text(notebook, "report")


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_flow_sweep_notebook(data_dir: Path) -> None:
    notebook = run("flow_sweep.ipynb")
    assert table(notebook, "sweep").count("<tr") >= 5  # a header and two flows breathing in and out
    assert "k1" in table(notebook, "fits")
    assert "inspiration, 250 ml/s inspiration" in text(notebook, "doubts")  # 250 steps: the checks say so
    assert "change of the pressure drop over the last window" in text(notebook, "doubts")
    picture(notebook, "against")


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_postprocessing_notebook(data_dir: Path) -> None:
    pytest.importorskip("pyvista")
    notebook = run("postprocessing.ipynb")
    for cell_id in ("slice", "probe"):
        picture(notebook, cell_id)
    assert "wall shear stress Pa" in table(notebook, "wall-stats")
    panes = [o["data"]["text/html"] for o in cell(notebook, "wall-3d").outputs if "text/html" in o.get("data", {})]
    assert panes and "<iframe" in panes[0] and "rhinoapp-pane" in panes[0], "run.pane() showed no trame pane"
    exported = text(notebook, "export")
    assert all(name in exported for name in ("wall.vtp", "fields.vti", "probe.vtp"))


def _slurm_up() -> str:
    if shutil.which("sinfo") is None:
        return "Slurm is not installed (make test installs and starts it as root)"
    status = subprocess.run(["bash", str(ROOT / "scripts" / "slurm-dev-cluster.sh"), "status"],
                            capture_output=True, text=True, timeout=30)
    return "" if status.returncode == 0 else "the Slurm dev cluster is not running (scripts/slurm-dev-cluster.sh start)"


@pytest.mark.notebook
@pytest.mark.slurm
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(bool(_slurm_up()), reason=_slurm_up() or "Slurm available")
def test_slurm_notebook(data_dir: Path) -> None:
    notebook = run("slurm.ipynb")
    table(notebook, "segment")
    table(notebook, "simulate")
    picture(notebook, "pressure")
    where = text(notebook, "where")
    assert where.count("'slurm'") == 2 and "'done'" in where and "Slurm job" in where, where
