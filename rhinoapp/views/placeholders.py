"""Pages whose features arrive with later work: they say what they will hold."""

from __future__ import annotations

import html

import panel as pn
import param

from rhinoapp.state.session import Page, SessionState
from rhinoapp.views.assets import read_asset

__all__ = ["UpcomingPage"]

_PLANS = {
    Page.GEOMETRY: "The segmented nasal airway in 3D: left and right cavities, the nostril inlets and the"
    " nasopharynx outlet, with the cross-sectional area along each side and its narrowest point.",
    Page.SIMULATIONS: "Airflow simulations of the airway: start a run at a chosen flow rate, follow its"
    " progress, and see the flow develop.",
    Page.ANALYSIS: "Resistance per side, flow split, pressure along the airway and wall shear stress, beside"
    " the rhinomanometry (4PR) measurement.",
}


class UpcomingPage(pn.viewable.Viewer):
    """A page that explains what it will show for the current project."""

    session = param.ClassSelector(class_=SessionState)
    page = param.Selector(objects=list(_PLANS))

    @param.depends("session.current_project_name")
    def __panel__(self) -> pn.viewable.Viewable:
        project = self.session.current_project_name
        which = (f"Current project: <b>{html.escape(project)}</b>." if project
                 else "No project is open: open one on the Projects page.")
        body = (f'<div class="rh-placeholder"><h2>{self.page.value}</h2><p>{which}</p>'
                f"<p>This page will show: {_PLANS[self.page]}</p>"
                '<p class="rh-note">This part of rhinoapp is being built.</p></div>')
        return pn.pane.HTML(body, stylesheets=[read_asset("style.css")], sizing_mode="stretch_width")
