"""The hardening of a tornado application: headers, cookie flags and refused sessions, over real HTTP."""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from rhinoapp.render.security import SECURITY_HEADERS, harden
from tests.waiting import HANG_S


class _Cookies(RequestHandler):
    def get(self) -> None:
        self.set_cookie("plain", "1")
        self.set_cookie("strict", "2", samesite="Strict")
        self.add_header("Set-Cookie", "added=3; Path=/")
        self.set_header("Content-Security-Policy", "default-src 'self'")
        self.finish("ok")


class _Page(RequestHandler):
    def get(self) -> None:
        self.finish("page")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    ready, box = threading.Event(), {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        application = Application([(r"/cookies", _Cookies), (r"/", _Page)])
        harden(application)
        server = HTTPServer(application)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        box.update(loop=loop, port=sockets[0].getsockname()[1])
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(HANG_S)
    yield f"http://127.0.0.1:{box['port']}"
    box["loop"].call_soon_threadsafe(box["loop"].stop)
    thread.join(HANG_S)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_every_response_has_the_headers(base_url: str) -> None:
    for path in ("/", "/missing"):
        status, headers = get(base_url + path)
        assert status in (200, 404)
        assert [(name, headers[name]) for name, _value in SECURITY_HEADERS] == list(SECURITY_HEADERS)


def test_cookies_are_http_only_and_same_site_and_a_handlers_policy_keeps_its_rules(base_url: str) -> None:
    status, headers = get(base_url + "/cookies")
    assert status == 200
    cookies = sorted(headers.get_all("Set-Cookie"))
    assert cookies == ["added=3; Path=/; HttpOnly; SameSite=Lax", "plain=1; Path=/; HttpOnly; SameSite=Lax",
                       "strict=2; Path=/; SameSite=Strict; HttpOnly"]
    assert headers["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'self'"


@pytest.mark.parametrize(("path", "headers"), [
    ("/?bokeh-session-id=chosen", {}), ("/?bokeh-token=abc", {}), ("/missing?bokeh-session-id=x", {}),
    ("/", {"Bokeh-Session-Id": "chosen"}),
])
def test_a_request_that_names_its_session_is_refused_on_any_path(base_url: str, path: str, headers: dict[str, str]) -> None:
    status, answer = get(base_url + path, headers)
    assert status == 403 and answer["X-Content-Type-Options"] == "nosniff"
    assert get(base_url + "/?other=1")[0] == 200
