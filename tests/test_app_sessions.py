"""Signed sessions, render keys tied to them, and security headers, on the app's real server.

The server is the one ``rhinoapp serve`` builds (:func:`rhinoapp.app.make_server`) on a thread of
this process, with a page holding one 3D view; requests are real HTTP and websocket requests.
"""

from __future__ import annotations

import asyncio
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import panel as pn
import pytest
from bokeh.util.token import check_session_id_signature, generate_jwt_token, generate_session_id, get_session_id
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from rhinoapp.app import make_server, session_secret
from rhinoapp.config import Settings
from rhinoapp.render.security import SECURITY_HEADERS
from rhinoapp.render.trame_service import KEY_COOKIE, TrameService
from rhinoapp.render.spec import SceneSpec, Synthetic
from rhinoapp.views.trame_view import TrameView
from tests.page_session import TokenSession, page_token, pull_page_session
from tests.test_app import free_port
from tests.waiting import HANG_S, wait_until


@dataclass(frozen=True)
class Served:
    url: str
    settings: Settings
    render: TrameService


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), port=free_port())
    render = TrameService()

    def page() -> pn.viewable.Viewable:
        return pn.Column(TrameView(SceneSpec(synthetic=Synthetic(2000)), service=render))

    ready, box = threading.Event(), {}

    def run() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        # Sessions without a connection end at once, so that "the session ended" is quick to reach.
        server = make_server({"/": page}, settings, render=render, unused_session_lifetime_milliseconds=200,
                             check_unused_sessions_milliseconds=100)
        box["server"] = server
        server.start()
        ready.set()
        server.io_loop.start()

    thread = threading.Thread(target=run, name="hardened-server", daemon=True)
    thread.start()
    assert ready.wait(HANG_S)
    server = box["server"]
    try:
        yield Served(f"http://127.0.0.1:{settings.port}/", settings, render)
    finally:
        server.io_loop.add_callback(server.io_loop.stop)
        thread.join(HANG_S)
        server.stop()


def status_of(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def websocket(url: str, key: str | None = None) -> int | str:
    """The HTTP status that refused the websocket (``key`` in the panes' cookie), or how it went on once let in."""
    async def connect() -> int | str:
        request = HTTPRequest(url, headers={"Cookie": f"{KEY_COOKIE}={key}"} if key else {})
        try:
            connection = await websocket_connect(request)
        except HTTPClientError as error:
            return error.code
        message = await connection.read_message()
        connection.close()
        return message if isinstance(message, str) else f"closed: {connection.close_reason}"

    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the loop the bokeh clients use
    try:
        return loop.run_until_complete(connect())
    finally:
        loop.close()


def status_with_key(url: str, key: str | None) -> int:
    """The status of a pane's route, ``key`` in the panes' cookie (as the pane's page sends it)."""
    return status_of(url, headers={"Cookie": f"{KEY_COOKIE}={key}"} if key else {})[0]


def view_route(session: TokenSession) -> tuple[str, str]:
    """The view id and render key the page got (the pane's folder route and the key handed over beside it)."""
    [(path, key)] = {(m.path, m.key) for m in session.document.models if getattr(m, "path", "") and hasattr(m, "key")}
    assert key not in path
    return path.rstrip("/").split("/")[-1], key


def test_session_ids_are_signed_with_the_private_secret_of_the_data_directory(served: Served) -> None:
    secret_file = served.settings.session_secret_file
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = session_secret(served.settings)
    assert secret == secret_file.read_bytes().strip() and len(secret) >= 32
    session_id = get_session_id(page_token(served.url))
    assert check_session_id_signature(session_id, secret_key=secret, signed=True)
    assert not check_session_id_signature(session_id, secret_key=b"another secret of 32 bytes or more", signed=True)


@pytest.mark.parametrize("query", ["?bokeh-session-id=chosen-by-the-client", "?bokeh-session-id={signed}",
                                   "?bokeh-token={token}"])
def test_a_page_request_that_brings_its_own_session_is_refused(served: Served, query: str) -> None:
    """Made-up ids, ids signed by the server and tokens of a live page: only the server starts sessions."""
    signed = generate_session_id(secret_key=session_secret(served.settings), signed=True)
    with pull_page_session(served.url) as live:
        status, _headers = status_of(served.url + query.format(signed=signed, token=live.token))
    assert status == 403
    status, _headers = status_of(served.url, headers={"Bokeh-Session-Id": signed})
    assert status == 403


def test_a_websocket_needs_a_token_signed_by_the_server(served: Served) -> None:
    """A client-made token is refused; one signed with the server's secret opens a session."""
    forged_id = generate_session_id(secret_key=b"not the server's secret, but long enough", signed=True)
    forged = TokenSession(generate_jwt_token(forged_id, secret_key=b"not the server's secret, but long enough",
                                             signed=True), served.url)
    with pytest.raises(OSError, match="HTTP-Error|failed to connect"):  # refused at the handshake
        forged.pull()
    unsigned = TokenSession(generate_jwt_token(generate_session_id(signed=False), signed=False), served.url)
    with pytest.raises(OSError, match="HTTP-Error|failed to connect"):  # refused at the handshake
        unsigned.pull()
    secret = session_secret(served.settings)
    session_id = generate_session_id(secret_key=secret, signed=True)
    with TokenSession(generate_jwt_token(session_id, secret_key=secret, signed=True), served.url) as signed:
        signed.pull()
        assert view_route(signed)[0]
    with pull_page_session(served.url) as page:  # what a browser does: the token from the page
        assert view_route(page)[0]


def test_another_sessions_render_key_opens_nothing(served: Served) -> None:
    ws, http = served.url.replace("http://", "ws://"), served.url
    with pull_page_session(served.url) as first, pull_page_session(served.url) as second:
        view_a, key_a = view_route(first)
        view_b, key_b = view_route(second)
        assert view_a != view_b and key_a != key_b
        # Nothing to draw in A's view: its key is let in and told so (no trame process is started).
        served.render.update_view(view_a, None)
        assert status_with_key(f"{http}render/{view_a}/index.html", key_a) == 503
        assert "could not start" in str(websocket(f"{ws}render/{view_a}/ws", key_a))
        assert not served.render.process_ids
        # A's key on B's view, B's key on A's view, a wrong key or no key: refused before anything opens.
        for view, key in ((view_b, key_a), (view_a, key_b), (view_a, "not-the-key"), (view_a, None)):
            assert websocket(f"{ws}render/{view}/ws", key) == 403
            assert status_with_key(f"{http}render/{view}/screenshot.png", key) == 403
            assert status_with_key(f"{http}render/{view}/index.html?key={key}", None) == 403  # never from a URL
    # Without its session (the page was closed), A's key opens nothing either.
    wait_until(lambda: websocket(f"{ws}render/{view_a}/ws", key_a) == 403,
               what="the render key of an ended session to be refused")
    assert status_with_key(f"{http}render/{view_a}/screenshot.png", key_a) == 403


@pytest.mark.parametrize("route", ["", "health", "assets/style.css", "static/js/bokeh.min.js",
                                   "render/t0123456789abcdef01234567/screenshot.png", "?bokeh-session-id=chosen",
                                   "no-such-page"])
def test_every_route_sends_the_security_headers(served: Served, route: str) -> None:
    status, headers = status_of(served.url + route)
    assert status in (200, 403, 404)
    for name, value in SECURITY_HEADERS:
        assert headers.get(name) == value, (route, name)
    assert "Set-Cookie" not in headers  # the app sets no cookie (tests/render/test_security.py: flags if one is set)


def test_the_secret_is_made_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = session_secret(settings)
    settings.session_secret_file.chmod(0o644)  # loosened by hand: made private again, value kept
    assert session_secret(settings) == first
    assert stat.S_IMODE(settings.session_secret_file.stat().st_mode) == 0o600


@pytest.mark.slow
def test_rhinoapp_serve_signs_its_sessions_and_sends_the_headers(tmp_path: Path) -> None:
    """The real entry point (what `make run` starts): secret made private, client ids refused, headers sent."""
    import os
    import signal
    import subprocess
    import sys

    from tests.test_app import wait_for_http
    from tests.test_packaging import _register_panel_models

    _register_panel_models()  # the page's document holds Panel's models (loaded lazily)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(tmp_path), "--port", str(port)],
                               env={**os.environ, "RHINOAPP_DEMO": "false"}, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, timeout=HANG_S)
        assert stat.S_IMODE((tmp_path / "session-secret").stat().st_mode) == 0o600
        secret = (tmp_path / "session-secret").read_bytes().strip()
        with pull_page_session(url) as page:
            assert check_session_id_signature(page.id, secret_key=secret, signed=True)
            assert [m for m in page.document.models if type(m).__name__ == "DataTabulator"]
        assert status_of(url + "?bokeh-session-id=chosen-by-the-client")[0] == 403
        for route in ("", "health", "assets/style.css"):
            status, headers = status_of(url + route)
            assert status == 200 and all(headers.get(name) == value for name, value in SECURITY_HEADERS), route
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
