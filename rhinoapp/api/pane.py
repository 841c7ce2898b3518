"""The 3D pane of the API's ``show()``: the web app's trame application in a Jupyter cell.

:class:`Pane3D` is a Panel pane (an HTML pane holding the iframe of a
:class:`~rhinoapp.render.trame_notebook.NotebookPane`), so that ``show()`` can put it beside the
plots; ``pane()`` of a result gives the bare :class:`~rhinoapp.render.trame_notebook.NotebookPane`,
which displays without Panel. Setting :attr:`Pane3D.scene` shows new content (the live view of a
running simulation does).
"""

from __future__ import annotations

from typing import Any

from rhinoapp.render.spec import SceneSpec
from rhinoapp.render.trame_notebook import NotebookPane, NotebookPanes, default_notebook_panes

__all__ = ["NO_SCENE", "Pane3D"]

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
        self._html = pn.pane.HTML(self._markup(), height=height, sizing_mode="stretch_width", margin=0)
        if scene is not None:
            self.scene = scene

    @property
    def scene(self) -> SceneSpec | None:
        """What the pane shows."""
        return None if self.pane is None else self.pane.scene

    @scene.setter
    def scene(self, scene: SceneSpec | None) -> None:
        if scene is None:
            if self.pane is not None:
                self.pane.close()
            self.pane = None
        elif self.pane is None:
            self.pane = (self._panes or default_notebook_panes()).open(scene, height=self.height)
        else:
            self.pane.scene = scene
        self._html.object = self._markup()

    def _markup(self) -> str:
        return self.pane.html() if self.pane is not None else f"<p>{NO_SCENE}</p>"

    def __panel__(self) -> Any:
        return self._html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self._html._repr_mimebundle_(include, exclude)
