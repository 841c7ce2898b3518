"""`serve` over TLS with logins: HSTS on every response, Secure cookies, and the login gate, on the app's real server."""

from __future__ import annotations

import asyncio
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import panel as pn
import pytest

from rhinoapp.app import auth_provider, make_server
from rhinoapp.config import Settings
from rhinoapp.jobs.credentials import make_credentials_pem
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.database import open_store
from tests.test_app import free_port
from tests.waiting import HANG_S

_UNVERIFIED = ssl._create_unverified_context()  # the test's own self-signed certificate


@pytest.fixture(scope="module")
def https_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("tls")
    _ca, cert, key = make_credentials_pem(common_name="127.0.0.1", valid_days=1)
    (folder / "cert.pem").write_bytes(cert)
    (folder / "key.pem").write_bytes(key)
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("data")), port=free_port(),
                        ssl_certfile=str(folder / "cert.pem"), ssl_keyfile=str(folder / "key.pem"))
    store = open_store(settings)
    AccountStore(store).add("ana", "ana's long password")
    ready, box = threading.Event(), {}

    def run() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        server = make_server({"/": lambda: pn.pane.Markdown("app")}, settings,
                             auth=auth_provider(settings, store))
        box["server"] = server
        server.start()
        ready.set()
        server.io_loop.start()

    thread = threading.Thread(target=run, name="tls-server", daemon=True)
    thread.start()
    assert ready.wait(HANG_S)
    try:
        yield f"https://127.0.0.1:{settings.port}"
    finally:
        box["server"].io_loop.add_callback(box["server"].io_loop.stop)
        thread.join(HANG_S)
        box["server"].stop()
        store.close()


def response(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, context=_UNVERIFIED, timeout=60) as answer:
            return answer.status, answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_tls_sends_hsts_secure_cookies_and_gates_the_routes(https_url: str) -> None:
    status, headers = response(https_url + "/login")
    assert status == 200 and headers["Strict-Transport-Security"] == "max-age=31536000"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("_xsrf=") and "Secure" in cookie and "HttpOnly" in cookie
    for path in ("/health", "/ws", "/render/t0123456789abcdef01234567/screenshot.png"):
        status, headers = response(https_url + path)
        assert status == 403 and headers["Strict-Transport-Security"], path


def test_hsts_only_over_tls() -> None:
    from rhinoapp.render.security import HSTS, SecurityHeaders
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    for protocol, expected in (("http", None), ("https", HSTS[1])):
        request = HTTPServerRequest(start_line=RequestStartLine("GET", "/", "HTTP/1.1"),
                                     headers=HTTPHeaders({"Host": "127.0.0.1"}))
        request.protocol = protocol
        _status, headers, _chunk = SecurityHeaders(request).transform_first_chunk(200, HTTPHeaders(), b"", True)
        assert headers.get(HSTS[0]) == expected
