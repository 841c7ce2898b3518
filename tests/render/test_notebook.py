"""RemoteView in a real Jupyter kernel: it displays after ``pn.extension()`` and its render server answers."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXEC_MIME = "application/vnd.holoviews_exec.v0+json"

CELLS = [
    "import panel as pn\npn.extension()",
    "from rhinoapp.render import SceneSpec, Synthetic\nfrom rhinoapp.views.remote_view import RemoteView\n"
    "view = RemoteView(SceneSpec(synthetic=Synthetic(5000)), jupyter_proxy=False)\nview",
    "import urllib.request\n"
    "url = f'http://127.0.0.1:{view._service.notebook_port()}/' + view.ticket.path('screenshot.png')\n"
    "png = urllib.request.urlopen(url, timeout=120).read()\n"
    "print(png[:4], len(png) > 5000)\n"
    "try:\n"
    "    urllib.request.urlopen(url.split('?')[0], timeout=10)\n"
    "except urllib.error.HTTPError as error:\n"
    "    print('without key:', error.code)",
]


@pytest.mark.notebook
@pytest.mark.timeout(180)
def test_remote_view_displays_in_a_notebook_and_renders(offscreen) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=150, startup_timeout=60,
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    shown = notebook.cells[1].outputs
    assert any(EXEC_MIME in output.get("data", {}) for output in shown), shown
    printed = "".join(output.get("text", "") for output in notebook.cells[2].outputs)
    assert "b'\\x89PNG' True" in printed and "without key: 403" in printed, printed
