"""A 3D pane served as a trame application, embedded as an iframe (see :mod:`rhinoapp.render.trame_proxy`).

The page loads the pane from Panel's own port under ``/render/<view>/``; the session's key
reaches those routes as a cookie scoped to that path, set by the frame's script (it travels
inside the Panel session, never in a URL). The controls are Panel widgets above the frame:
they set the trame application's state (camera preset, clip plane), which redraws the view.
With render workers on Slurm (the render profile), the pane shows the job's queue state
(:data:`WAITING`) until its worker has connected back through the relay. If the session's
trame process (or render job) dies, the pane shows
:data:`~rhinoapp.render.trame_service.STOPPED_MESSAGE` (``data-state="failed"``); reloading the
page starts a new process. When the user or the server already runs as many processes as the
settings allow (``max_render_workers_per_user``, ``render_pool_size``), the pane shows which
sessions hold them instead (also ``failed``), and a reload tries again. A scene that cannot be drawn
(its files gone or broken) shows why, and the pane loads again when a later scene is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import panel as pn
import param
from panel.custom import JSComponent
from panel.io.state import set_curdoc

from rhinoapp.render.spec import Axis, CameraPreset, ClipPlane, SceneSpec
from rhinoapp.render.trame_service import TrameService, TrameTicket, default_trame_service
from rhinoapp.views.assets import assets_dir

__all__ = ["TrameFrame", "TrameView"]

NO_SCENE = "Nothing to show in 3D yet."
NOT_MOUNTED = "3D panes need the render routes on this server: start it with `rhinoapp serve`."
_NO_CLIP = "No clip"
#: What the pane adds to the reason when a scene could not be drawn (the pane loads again with the next one).
SCENE_FAILED = "The view shows the next scene as soon as there is one; if none comes, reload the page."
#: What the pane shows until the queue state of its render job is known.
WAITING = "Waiting for a render node..."


class TrameFrame(JSComponent):
    """The browser side: ``assets/trame_pane.js``."""

    path = param.String(default="", doc="The pane's folder route (no key in it)")
    key = param.String(default="", doc="The session's key, handed to the route as a path-scoped cookie")
    reload = param.Integer(default=0, doc="Changes to load the pane again (a new scene the page cannot take in place)")
    scene = param.Integer(default=0, doc="Counts the pane's scenes (shown as data-scene; a new one is drawn in place)")
    message = param.String(default="", doc="Shown instead of the pane")
    failed = param.Boolean(default=False, doc="The pane's process died (the message says what to do)")
    label = param.String(default="3D view")

    _esm = assets_dir() / "trame_pane.js"


class TrameView(pn.viewable.Viewer):
    """A 3D view of a :class:`~rhinoapp.render.spec.SceneSpec` as a trame pane driven by Panel widgets.

    Examples
    --------
    >>> from rhinoapp.render import SceneSpec, Synthetic
    >>> view = TrameView(SceneSpec(synthetic=Synthetic(2000)), service=TrameService())
    >>> view.ticket.path().startswith("render/t"), view.ticket.key not in view.ticket.path()
    (True, True)
    """

    scene = param.ClassSelector(class_=SceneSpec, doc="What the view shows")
    label = param.String(default="3D view of the airway")
    height = param.Integer(default=520, bounds=(200, None))

    def __init__(self, scene: SceneSpec | None = None, *, service: TrameService | None = None, **params: object) -> None:
        super().__init__(scene=scene, **params)
        self._service = service or default_trame_service()
        context = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
        session_id = context.id if context is not None else "notebook"
        if context is not None:
            pn.state.on_session_destroyed(lambda _context: self._service.end_session(session_id))
        self._doc = pn.state.curdoc if context is not None else None
        page = pn.state.location.pathname if context is not None and pn.state.location is not None else ""
        self.ticket: TrameTicket = self._service.open_view(session_id, scene, user=pn.state.user, label=page or "",
                                                           on_stopped=partial(self._on_page, self._show_failure),
                                                           on_scene=partial(self._on_page, self._show_scene_outcome))
        self._frame: TrameFrame | None = None
        self._presets = [pn.widgets.Button(label=p.label, color="light", margin=(2, 2)) for p in CameraPreset]
        for preset, button in zip(CameraPreset, self._presets, strict=True):
            button.on_click(partial(self._on_preset, preset))
        self._axis = pn.widgets.Select(options=[_NO_CLIP, *(a.value for a in Axis)], value=_NO_CLIP, width=90,
                                       margin=(2, 6))
        self._position = pn.widgets.FloatSlider(start=0.0, end=1.0, step=0.02, value=0.5, width=140, margin=(2, 6),
                                                label="Clip at")
        self._flip = pn.widgets.Checkbox(label="Other side", margin=(10, 6))
        for widget in (self._axis, self._position, self._flip):
            widget.param.watch(self._clip_changed, "value")
        self.param.watch(self._scene_changed, "scene")

    def _on_preset(self, preset: CameraPreset, _event: object) -> None:
        self.show_camera(preset)

    def show_camera(self, preset: CameraPreset) -> None:
        """Look from a standard direction (as the preset buttons do)."""
        self._service.set_state(self.ticket.view_id, preset=CameraPreset(preset).value)

    def set_clip(self, clip: ClipPlane | None) -> None:
        """Clip the scene with one plane, or remove the clip (as the clip widgets do)."""
        value = None if clip is None else {"axis": clip.axis.value, "position": clip.position, "flip": clip.flip}
        self._service.set_state(self.ticket.view_id, clip=value)

    def _clip_changed(self, _event: param.parameterized.Event) -> None:
        axis = self._axis.value
        self.set_clip(None if axis == _NO_CLIP else ClipPlane(Axis(axis), float(self._position.value or 0.0), bool(self._flip.value)))

    def _scene_changed(self, event: param.parameterized.Event) -> None:
        self._service.update_view(self.ticket.view_id, event.new)
        if self._frame is not None:
            again = 0 if self._service.redraws_in_place else 1
            self._frame.param.update(reload=self._frame.reload + again, scene=self._frame.scene + 1,
                                     **self._frame_options())

    def _on_page(self, show: Callable[..., None], value: str | None) -> None:
        """Run ``show(value)`` in the page's session: called on the server's loop, by the service (the render job's
        queue state, the process's death, a scene's outcome)."""
        doc = self._doc
        if doc is None:
            show(value)
        else:
            doc.add_next_tick_callback(partial(show, value, doc=doc))

    def _show_status(self, text: str, *, doc: object = None) -> None:
        """The render job's queue state; ``""``: the pane may load."""
        if self._frame is None or self._frame.failed:
            return
        with set_curdoc(doc):  # type: ignore[arg-type]
            self._frame.param.update(**(self._frame_options() if not text else {"path": "", "message": text}))

    def _show_failure(self, message: str, *, doc: object = None) -> None:
        """The session's process died: show ``message`` in the pane."""
        if self._frame is None:
            return
        with set_curdoc(doc):  # type: ignore[arg-type]
            self._frame.param.update(path="", message=message, failed=True)
            self._screenshot.object = ""

    def _show_scene_outcome(self, error: str | None, *, doc: object = None) -> None:
        """A scene could not be drawn (``error``), or was drawn after such a failure (``None``)."""
        if self._frame is None or self._frame.failed:
            return
        with set_curdoc(doc):  # type: ignore[arg-type]
            if error is not None:  # say why, instead of a broken page that a later scene drawn in place cannot mend
                self._frame.param.update(path="", message=f"{error.rstrip('.')}. {SCENE_FAILED}")
            elif not self._frame.path:  # drawn again after a failure: load the page again
                self._frame.param.update(reload=self._frame.reload + 1, **self._frame_options())

    def close(self) -> None:
        """End this view now; the session's other views go on."""
        self._service.close_view(self.ticket.view_id)

    def _frame_options(self) -> dict[str, object]:
        # the key goes with every state: a page given its first scene later must not load the pane before
        # its key has arrived (the route would refuse it)
        if not self._service.mounted:
            return {"path": "", "key": self.ticket.key, "message": NOT_MOUNTED}
        if self.scene is None:
            return {"path": "", "key": self.ticket.key, "message": NO_SCENE}
        return {"path": f"{pn.state.base_url.rstrip('/')}/{self.ticket.path()}", "key": self.ticket.key, "message": ""}

    def __panel__(self) -> pn.viewable.Viewable:
        if self._frame is None:
            options = self._frame_options()
            if options["path"] and self._service.serves_files:  # a render job: wait for it (the status says when)
                options = {**options, "path": "", "message": WAITING}
                def prepare() -> None:
                    self._service.prepare(self.ticket.view_id, partial(self._on_page, self._show_status))

                if self._doc is not None:
                    pn.state.onload(prepare)  # once a browser shows the page (not for a bare HTTP probe)
                else:
                    prepare()
            self._frame = TrameFrame(label=self.label, height=self.height, sizing_mode="stretch_width", margin=(4, 0),
                                     **options)
            self._screenshot = pn.pane.HTML("", margin=(8, 6))
            if self._frame.path:  # (a render job's pane has no screenshot route: its worker serves no HTTP)
                self._screenshot.object = f'<a href="{self._frame.path}screenshot.png" download>Screenshot</a>'
        controls = pn.FlexBox(*self._presets, self._axis, self._position, self._flip, self._screenshot,
                              align_items="center", sizing_mode="stretch_width")  # wraps on a narrow page
        return pn.Column(controls, self._frame, sizing_mode="stretch_width")
