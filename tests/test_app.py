"""The app served in-process: HTTP 200, and the session document lists the user's projects."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator

import pytest

from rhinoapp import create_app
from rhinoapp.app import app_factory


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
