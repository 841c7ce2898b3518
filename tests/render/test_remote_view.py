"""RemoteView outside a served page (as in a notebook): routing, an empty scene, updates, closing."""

from __future__ import annotations

from rhinoapp.render.bridge import RenderService
from rhinoapp.render.spec import SceneSpec, Synthetic
from rhinoapp.views.remote_view import NO_SCENE, RemoteView


def test_an_empty_view_waits_for_its_scene_then_connects() -> None:
    service = RenderService()
    view = RemoteView(None, service=service, jupyter_proxy=True)
    stream = view.__panel__()
    assert (stream.path, stream.message) == ("", NO_SCENE)
    assert stream.port == service.notebook_port() > 0 and stream.proxy is True
    view.scene = SceneSpec(synthetic=Synthetic(1000))
    assert stream.path == view.ticket.path() and stream.message == ""
    view.scene = None
    assert stream.path == "" and stream.message == NO_SCENE
    view.close()
    assert not service.authorised(view.ticket.view_id, view.ticket.key)
