"""The ParaView backend in Chromium: the demo airway drawn by pvpython through Panel's port, a preset turns it.

``tests/render/trame_demo_server.py --backend paraview``: the same page, routes and controls as the
VTK backend's browser tests (:mod:`tests.views.test_trame_view_browser`), drawn by ParaView.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.render.paraview_launch import pvpython_path
from tests.render.conftest import png_pixels
from tests.views.test_trame_view_browser import Demo, demo_server, open_pane
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(pvpython_path() is None, reason="ParaView's pvpython is not installed (Debian's "
                                 "paraview and python3-paraview: scripts/install-system-deps.sh)")]


@pytest.fixture(scope="module")
def paraview_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with demo_server(tmp_path_factory.mktemp("log") / "paraview-demo.log", "--backend", "paraview") as served:
        yield served


def test_paraview_backend_draws_the_demo_airway_through_the_proxy(browser, paraview_demo, output_dir: Path) -> None:
    pane = open_pane(browser, paraview_demo, 20_000)
    try:
        first = wait_until(pane.drawn, what="the airway drawn by ParaView")[0]
        assert first.std() > 20, "the ParaView pane is blank"
        pane.page.screenshot(path=str(output_dir / "paraview-pane.png"))
        pane.page.get_by_role("button", name="Left").click()
        wait_until(lambda: pane.changed_from(first), what="the left preset's picture from ParaView")
        response = pane.page.request.get(f"{paraview_demo.url}render/{pane.view_id}/screenshot.png")
        assert response.status == 200 and png_pixels(response.body()).std() > 20
    finally:
        pane.context.close()
