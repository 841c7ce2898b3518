"""The app served in-process: HTTP 200, and the session document lists the user's projects."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence

import pytest

from rhinoapp import create_app
from rhinoapp.app import app_factory
from tests.waiting import HANG_S


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def served(settings, store) -> Iterator[str]:
    import panel as pn

    port = free_port()
    server = pn.serve({"/": app_factory(settings, store)}, address="127.0.0.1", port=port, show=False,
                      threaded=True, websocket_origin=[f"127.0.0.1:{port}"], print=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.stop()


@pytest.mark.slow
def test_served_app_answers_and_lists_projects(served: str, repo) -> None:
    from bokeh.client import pull_session

    repo.create("Case 1", "shown in the table")
    repo.create("Case 2")
    assert wait_for_http(served) == 200
    with pull_session(url=served) as session:
        tables = [m for m in session.document.models if type(m).__name__ == "DataTabulator"]
        [table] = tables
        assert sorted(table.source.data["Name"]) == ["Case 1", "Case 2"]
        assert all('data-status="possible"' in cell for cell in table.source.data["DICOM"])
        assert all('data-status="not-possible-yet"' in cell for cell in table.source.data["Geometry"])


def test_create_app_is_a_panel_object_for_notebooks(settings) -> None:
    import panel as pn

    app = create_app(settings)
    layout = app.__panel__()
    assert isinstance(layout, pn.layout.Column)
    assert app.session.page == "Projects" and app.session.user == "local"
    # Each call is an independent session state.
    assert create_app(settings).session is not app.session


def _panel_serve(tmp_path, port: int, env: dict[str, str | None]):
    import os
    import subprocess
    import sys
    from pathlib import Path

    app_file = Path(__file__).resolve().parents[1] / "rhinoapp" / "app.py"
    panel = Path(sys.executable).with_name("panel")
    environment = {**os.environ, "RHINOAPP_DATA_DIR": str(tmp_path), **env}
    return subprocess.Popen(
        [str(panel), "serve", str(app_file), "--address", "127.0.0.1", "--port", str(port)],
        env={name: value for name, value in environment.items() if value is not None}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_panel_serve_of_the_app_module(tmp_path) -> None:
    """`panel serve rhinoapp/app.py` serves the same app, configured by RHINOAPP_* variables, with signed sessions."""
    import os
    import secrets
    import signal
    import urllib.error

    from rhinoapp.config import Settings
    from rhinoapp.store import ProjectRepository, open_store
    from tests.page_session import pull_page_session

    store = open_store(Settings(data_dir=tmp_path))
    ProjectRepository(store, owner="local").create("Served by panel")
    store.close()
    port = free_port()
    process = _panel_serve(tmp_path, port, {"BOKEH_SIGN_SESSIONS": "true", "BOKEH_SECRET_KEY": secrets.token_urlsafe(48)})
    try:
        url = f"http://127.0.0.1:{port}/app"
        assert wait_for_http(url, timeout=60) == 200
        with pull_page_session(url) as session:
            [table] = [m for m in session.document.models if type(m).__name__ == "DataTabulator"]
            assert list(table.source.data["Name"]) == ["Served by panel"]
        with pytest.raises(urllib.error.HTTPError) as refused:  # Bokeh checks the signature of a client's id
            urllib.request.urlopen(url + "?bokeh-session-id=chosen-by-the-client", timeout=60)
        assert refused.value.code == 403
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


@pytest.mark.slow
def test_panel_serve_without_signed_sessions_shows_how_to_sign_them(tmp_path) -> None:
    import os
    import signal

    from rhinoapp.app import UNSIGNED
    from tests.page_session import pull_page_session

    port = free_port()
    process = _panel_serve(tmp_path, port, {"BOKEH_SIGN_SESSIONS": None})  # Bokeh reads any value as true
    try:
        url = f"http://127.0.0.1:{port}/app"
        assert wait_for_http(url, timeout=60) == 200
        with pull_page_session(url) as session:
            texts = [str(getattr(m, "text", "")) for m in session.document.models]
            assert any("BOKEH_SECRET_KEY" in text for text in texts), UNSIGNED
            assert not [m for m in session.document.models if type(m).__name__ == "DataTabulator"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


class HeldUpload(Sequence[bytes]):
    """An upload's files whose first read waits until the test lets it go.

    While it waits, the page's upload handler is provably in the middle of the upload, so a
    ``/health`` answer then shows the server is not blocked by it.
    """

    def __init__(self, contents: Sequence[bytes]) -> None:
        self._contents = list(contents)
        self.reading, self.release = threading.Event(), threading.Event()

    def __len__(self) -> int:
        return len(self._contents)

    def __getitem__(self, index):  # noqa: ANN001, ANN204 - Sequence's int and slice forms
        self.reading.set()
        if not self.release.wait(timeout=HANG_S):
            raise TimeoutError("the test never released the upload")
        return self._contents[index]


def nifti_gzip_bomb() -> bytes:
    """A .nii.gz whose header declares 512 x 512 x 2048 int16 voxels (1 GiB); the refusal reads only the header."""
    import gzip

    import nibabel as nib
    import numpy as np

    header = nib.Nifti1Header()
    header.set_data_shape((512, 512, 2048))
    header.set_data_dtype(np.int16)
    header.set_data_offset(352)
    header.set_sform(np.eye(4), code=1)
    return gzip.compress(header.binaryblock + bytes(4) + bytes(8 << 20), compresslevel=9)


def zip_bomb() -> bytes:
    """1,100 members of 256 KiB zeros each (the probe's held 1 MiB each), about 0.3 MB."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for number in range(1_100):
            archive.writestr(f"IM{number:05d}.dcm", bytes(256 * 1024))
    return buffer.getvalue()


@pytest.fixture
def served_with_health(settings, store) -> Iterator[tuple[str, object]]:
    """The app as ``rhinoapp serve`` mounts it (with the render routes, so ``/health``), and the server's loop."""
    import panel as pn

    from rhinoapp.render.trame_service import TrameService

    port = free_port()
    server = pn.serve({"/": app_factory(settings, store)}, address="127.0.0.1", port=port, show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"], print=False, extra_patterns=TrameService().routes())
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=HANG_S)
        yield f"http://127.0.0.1:{port}/", server.asyncio_loop
    finally:
        server.stop()


def health(url: str) -> int:
    with urllib.request.urlopen(url + "health", timeout=HANG_S) as response:
        return response.status


@pytest.mark.parametrize(("bomb", "filename", "message"), [
    (nifti_gzip_bomb, "ct.nii.gz", "RHINOAPP_MAX_VOXELS"),
    (zip_bomb, "series.zip", "above the limit of 200:1"),
])
def test_health_answers_while_the_page_refuses_a_bomb(served_with_health, settings, repo, bomb, filename,
                                                      message) -> None:
    """The CT page's upload handler runs a bomb on the server's event loop; /health answers meanwhile."""
    import asyncio

    from rhinoapp.core.workflow import Step
    from rhinoapp.state.ct_import import CTImportState
    from rhinoapp.state.session import SessionState

    url, loop = served_with_health
    session = SessionState(repository=repo, settings=settings)
    session.open_project(repo.create("Case 1").id)
    state = CTImportState(session=session)
    upload = HeldUpload([bomb()])
    outcome = asyncio.run_coroutine_threadsafe(state.upload_async(upload, filenames=[filename]), loop)
    assert upload.reading.wait(timeout=HANG_S), "the upload handler never read the upload"
    assert health(url) == 200  # the handler is inside the upload now, and the server answers
    upload.release.set()
    assert outcome.result(timeout=HANG_S) is False
    assert state.feedback_kind == "error" and message in state.feedback
    assert health(url) == 200
    assert state.volume is None and not repo.artifacts(session.current_project_id, Step.DICOM)
