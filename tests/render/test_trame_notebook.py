"""Notebook 3D panes: a real kernel shows a trame pane, whose server answers only with the key.

One kernel for the module: it displays a pane (a cell's text/html output, an iframe of the
kernel's trame process); the test then reads the key and the port from that output as a browser
would, and checks the pane's page and websocket with and without the key, its screenshot, and
(in Chromium) that a page holding the cell's output shows a non-blank view.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbclient
import nbformat
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.trame_notebook import COOKIE_PREFIX, pane_markup, trame_address
from tests.render.conftest import png_pixels
from tests.views.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.waiting import HANG_S, wait_until

ROOT = Path(__file__).resolve().parents[2]
CELLS = [
    "from rhinoapp.render import SceneSpec, Synthetic\nfrom rhinoapp.render.trame_notebook import default_notebook_panes",
    "pane = default_notebook_panes().open(SceneSpec(synthetic=Synthetic(5000)), height=320)\npane",
]


@dataclass(frozen=True)
class Shown:
    """What the pane's cell showed: its HTML, and the port, cookie and key a browser takes from it."""

    markup: str
    port: int
    cookie: str
    key: str

    def get(self, path: str, key: str | None) -> tuple[int, bytes]:
        headers = {"Cookie": f"{self.cookie}={key}"} if key is not None else {}
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=HANG_S) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, b""


@pytest.fixture(scope="module")
def shown() -> Iterator[Shown]:
    """A kernel that displayed a pane; it runs (and so does the pane's process) until the module ends."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=HANG_S, startup_timeout=60,
                                     resources={"metadata": {"path": str(ROOT)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        outputs = notebook.cells[1].outputs
        markup = next((o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})), "")
        assert "<iframe" in markup, outputs
        script = html.unescape(re.search(r'srcdoc="([^"]*)"', markup).group(1))  # type: ignore[union-attr]
        target = json.loads(re.search(r"t = (\{.*?\});", script).group(1))  # type: ignore[union-attr]
        cookie, key = re.search(rf"({COOKIE_PREFIX}[0-9a-f]+)=([^;]+);", script).groups()  # type: ignore[union-attr]
        yield Shown(markup, int(target["port"]), cookie, key)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.mark.notebook
@pytest.mark.timeout(2 * HANG_S)
def test_a_kernel_shows_a_pane_whose_server_answers_only_with_the_key(shown: Shown) -> None:
    assert f":{shown.port}/index.html" in html.unescape(shown.markup) and shown.key not in re.sub(
        r'srcdoc="[^"]*"', "", shown.markup), "the key must stay out of the iframe's address"
    status, page = shown.get("index.html", shown.key)
    assert status == 200 and b"<html" in page.lower()
    assert shown.get("index.html", None)[0] == 403 and shown.get("index.html", "wrong")[0] == 403
    status, png = shown.get("screenshot.png", shown.key)
    assert status == 200 and png_pixels(png).std() > 20, "the pane's scene is blank"
    assert shown.get("screenshot.png", "wrong")[0] == 403

    async def connect(key: str | None) -> int:
        headers = {"Cookie": f"{shown.cookie}={key}"} if key is not None else {}
        try:
            socket = await websocket_connect(HTTPRequest(f"ws://127.0.0.1:{shown.port}/ws", headers=headers))
        except HTTPClientError as error:
            return error.code
        socket.close()
        return 101

    assert asyncio.run(connect(shown.key)) == 101
    assert asyncio.run(connect(None)) == 403 and asyncio.run(connect("wrong")) == 403


@pytest.mark.notebook
@pytest.mark.browser
@pytest.mark.timeout(2 * HANG_S)
def test_the_cells_output_shows_a_non_blank_view_in_chromium(shown: Shown, browser, output_dir: Path) -> None:
    """A page on 127.0.0.1 with the cell's output (as the notebook's page): its frame shows the airway."""
    body = f"<!doctype html><html><body style='margin:0'>{shown.markup}</body></html>".encode()

    class Notebook(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Notebook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context(viewport={"width": 900, "height": 400})
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/notebook")
        frame = page.locator("iframe.rhinoapp-pane")
        wait_until(lambda: any(f.url.startswith(f"http://127.0.0.1:{shown.port}/") for f in page.frames),
                   what="the pane's frame to load the trame page")
        pixels = wait_until(lambda: (p := png_pixels(frame.screenshot())).std() > 20 and [p], what="a non-blank view")[0]
        page.screenshot(path=str(output_dir / "notebook-pane.png"))
        assert pixels.shape[0] >= 300
        assert any(c["name"] == shown.cookie for c in context.cookies())
    finally:
        context.close()
        server.shutdown()


def test_behind_jupyterhub_the_pane_goes_through_jupyter_server_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAME_IFRAME_BUILDER", raising=False)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    address = trame_address("t1", 8123)
    assert address == "/user/ada/proxy/8123/index.html?ui=main&reconnect=auto"
    script = html.unescape(pane_markup(address, cookie=COOKIE_PREFIX + "ab", key="k", height=300))
    assert '"port": 0' in script and '"path": "/user/ada/proxy/8123/index.html' in script
    with pytest.raises(RenderError, match="cannot be shown"):  # another origin: its cookie could not be set
        pane_markup("https://example.org/x/index.html", cookie="c", key="k", height=300)
