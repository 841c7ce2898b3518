"""The sharing card of the Projects page: who else sees the open project (users and groups), add a user, revoke."""

from __future__ import annotations

from typing import cast

import functools
import html

import panel as pn
import param

from rhinoapp.state.sharing import SharingState
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.swap import swapping

__all__ = ["SharingPanel"]


def _revoke(state: SharingState, user: str, group: bool, _event: object) -> None:
    state.revoke(user, group=group)


class SharingPanel(pn.viewable.Viewer):
    """Widgets over a :class:`SharingState` (nothing shown while no project is open)."""

    state = param.ClassSelector(class_=SharingState)

    def _body(self) -> pn.viewable.Viewable:
        state = cast(SharingState, self.state)
        if not state.session.current_project_id:
            return pn.pane.Markdown("Open a project to see who it is shared with.", css_classes=["rh-share-none"])
        name = html.escape(state.session.current_project_name)
        rows: list[pn.viewable.Viewable] = [pn.pane.HTML(
            f"<p>Your role on <b>{name}</b>: <span class='rh-share-role'>{html.escape(state.role_here)}</span></p>")]
        for share in state.shares:
            whom = f"group {share.user}" if share.group else share.user
            label = pn.pane.HTML(f"<span class='rh-share'>{html.escape(whom)}: {share.role.value}</span>",
                                 width=260)
            if state.can_share:
                button = pn.widgets.Button(label=f"Revoke {whom}", color="light", css_classes=["rh-revoke"])
                button.on_click(functools.partial(_revoke, state, share.user, share.group))
                rows.append(pn.Row(label, button))
            else:
                rows.append(label)
        if state.can_share:
            user = pn.widgets.TextInput.from_param(state.param.user, label="Share with user", description=None,
                                                   placeholder="Account name", width=220)
            role = pn.widgets.Select.from_param(state.param.role, label="Role", description=None, width=120)
            add = pn.widgets.Button(label="Share", color="primary", align="end")
            add.on_click(lambda _e: state.share())
            rows.append(pn.Row(user, role, add))
        return pn.Column(*rows, margin=0)

    def _feedback(self) -> pn.viewable.Viewable:
        if not self.state.feedback:
            return pn.Spacer(height=0)
        return message_alert(self.state.feedback, self.state.feedback_kind, "rh-share-feedback")

    def __panel__(self) -> pn.viewable.Viewable:
        state = cast(SharingState, self.state)
        return pn.Card(
            swapping(self._feedback, state, "feedback", "feedback_kind", sizing_mode="stretch_width", margin=0),
            swapping(self._body, state, "shares", "can_share", "role_here", sizing_mode="stretch_width", margin=0),
            title="Sharing", collapsible=False, sizing_mode="stretch_width", css_classes=["rh-sharing"])
