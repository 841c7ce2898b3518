"""The API's 3D pane: a Panel HTML pane holding a notebook trame pane that follows new scenes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.api.pane import NO_SCENE, Pane3D
from rhinoapp.render import SceneSpec, Synthetic
from rhinoapp.render.trame_notebook import NotebookPanes
from tests.waiting import HANG_S


@pytest.fixture(scope="module")
def panes() -> Iterator[NotebookPanes]:
    served = NotebookPanes()
    yield served
    served.stop()


@pytest.mark.timeout(2 * HANG_S)
def test_the_pane_shows_a_scene_follows_new_ones_and_says_when_one_cannot_be_drawn(panes: NotebookPanes,
                                                                                 tmp_path: Path) -> None:
    view = Pane3D(None, height=300, panes=panes)
    assert NO_SCENE in view.__panel__().object and view.pane is None
    first = SceneSpec(synthetic=Synthetic(3000))
    view.scene = first
    view.wait(HANG_S)
    assert view.pane is not None and view.pane.scene == first and "<iframe" in view.__panel__().object
    missing = SceneSpec(surface=str(tmp_path / "gone.vtp"))
    view.scene = missing
    assert view.scene == missing  # at once; drawn in the background
    view.wait(HANG_S)
    assert "does not exist" in view.__panel__().object
    second = SceneSpec(synthetic=Synthetic(4000))
    view.scene = second
    view.wait(HANG_S)
    assert "<iframe" in view.__panel__().object and view.pane.scene == second
