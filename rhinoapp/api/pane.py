"""The 3D pane of the API's ``show()``: the web app's trame application in a Jupyter cell.

:class:`Pane3D` is a Panel pane (an HTML pane holding the iframe of a
:class:`~rhinoapp.render.trame_notebook.NotebookPane`), so that ``show()`` can put it beside the
plots; ``pane()`` of a result gives the bare :class:`~rhinoapp.render.trame_notebook.NotebookPane`,
which displays without Panel. Setting :attr:`Pane3D.scene` shows new content (the live view of a
running simulation does: it is drawn in the background, the newest first); a scene that cannot be drawn shows why in the pane, as on the pages.
"""

from __future__ import annotations

import html
import logging
import threading
from typing import Any

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.spec import SceneSpec
from rhinoapp.render.trame_notebook import NotebookPane, NotebookPanes, default_notebook_panes

__all__ = ["NO_SCENE", "Pane3D"]

_log = logging.getLogger(__name__)

#: What the pane shows before it has a scene (a live run before its first checkpoint).
NO_SCENE = "Nothing to show in 3D yet."


class Pane3D:
    """A 3D pane for a notebook, as a Panel pane (``__panel__``).

    Parameters
    ----------
    scene
        What it shows (None: :data:`NO_SCENE` until :attr:`scene` is set).
    height
        Its height in pixels.
    panes
        The trame process serving it (default: the kernel's, started with the first pane).
    """

    def __init__(self, scene: SceneSpec | None, *, height: int = 420, panes: NotebookPanes | None = None) -> None:
        import panel as pn

        self._panes, self.height = panes, height
        self.pane: NotebookPane | None = None
        self._scene = self._drawn = scene
        self._message = ""
        self._lock = threading.Lock()
        self._drawing: threading.Thread | None = None
        self._draw(scene)  # the first scene before the cell's output: it shows at once
        self._html = pn.pane.HTML(self._markup(), height=height, sizing_mode="stretch_width", margin=0)

    @property
    def scene(self) -> SceneSpec | None:
        """What the pane shows, or is about to show (a new scene is drawn in the background)."""
        return self._scene

    @scene.setter
    def scene(self, scene: SceneSpec | None) -> None:
        with self._lock:
            self._scene = scene
            if self._drawing is None:  # else the running drawer takes the newest scene when it is done
                self._drawing = threading.Thread(target=self._follow, name="rhinoapp-pane3d", daemon=True)
                self._drawing.start()

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait until the newest scene is drawn (or could not be)."""
        drawing = self._drawing
        if drawing is not None:
            drawing.join(timeout_s)

    def _follow(self) -> None:
        while True:
            with self._lock:
                scene = self._scene
                if scene == self._drawn:
                    self._drawing = None
                    return
            self._draw(scene)
            self._drawn = scene
            self._html.object = self._markup()

    def _draw(self, scene: SceneSpec | None) -> None:
        self._message = ""
        try:
            if scene is None:
                if self.pane is not None:
                    self.pane.close()
                self.pane = None
            elif self.pane is None:
                self.pane = (self._panes or default_notebook_panes()).open(scene, height=self.height)
            else:
                self.pane.scene = scene
        except RenderError as error:  # e.g. a live checkpoint removed before it was read: the next one comes
            _log.warning("a notebook 3D pane could not be drawn: %s", error)
            self._message = str(error)

    def _markup(self) -> str:
        if self._message or self.pane is None:
            return f'<p class="rhinoapp-pane-message">{html.escape(self._message or NO_SCENE)}</p>'
        return self.pane.html()

    def __panel__(self) -> Any:
        return self._html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self._html._repr_mimebundle_(include, exclude)
