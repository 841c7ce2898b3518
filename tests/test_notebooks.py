"""The example notebook runs top to bottom in a real Jupyter kernel and shows the dashboard."""

from __future__ import annotations

import os
from pathlib import Path

import nbclient
import nbformat
import pytest

from rhinoapp.config import ENV_PREFIX, Settings
from rhinoapp.store import ProjectRepository, open_store

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
DASHBOARD = NOTEBOOKS / "dashboard.ipynb"
EXEC_MIME = "application/vnd.holoviews_exec.v0+json"


def _cell(notebook: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.get("id") == cell_id)


def _text(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell printed or returned, as plain text."""
    parts: list[str] = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory holding one project, named in ``RHINOAPP_DATA_DIR`` for the kernel."""
    folder = tmp_path / "data"
    store = open_store(Settings(data_dir=folder))
    try:
        ProjectRepository(store, owner="local").create("Notebook case", "made by the notebook test")
    finally:
        store.close()
    for name in [n for n in os.environ if n.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)  # only the data directory comes from the test
    monkeypatch.setenv(ENV_PREFIX + "DATA_DIR", str(folder))
    return folder


@pytest.mark.notebook
@pytest.mark.timeout(180)
def test_dashboard_notebook_runs_and_displays_the_app(data_dir: Path) -> None:
    notebook = nbformat.read(DASHBOARD, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        startup_timeout=60,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError when any cell fails

    assert str(data_dir) in _text(_cell(notebook, "settings"))
    assert "'Notebook case'" in _text(_cell(notebook, "projects-list"))

    last = notebook.cells[-1]
    assert last.source.strip() == "app"
    shown = [o for o in last.outputs if EXEC_MIME in o.get("data", {})]
    assert len(shown) == 1, [list(o.get("data", {})) for o in last.outputs]
    output = shown[0]
    root_id = output["metadata"][EXEC_MIME]["id"]
    html = output["data"]["text/html"]
    # A Bokeh document whose root is the app shell, rendered into the div Panel made for it.
    assert f'data-root-id="{root_id}"' in html
    assert "docs_json" in html
    assert "panel.models.layout.Column" in html
    assert '"rh-root"' in html
    assert "Notebook case" in html
    assert "AppShell" in output["data"]["text/plain"]
