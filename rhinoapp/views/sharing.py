"""The sharing card of the Projects page: who else sees the open project (users and groups), share, revoke.

The card is made of parts that are redrawn separately, each only when what it shows changes: the
feedback, the role line, the list of shares and the form. The form (and what is typed into it)
stays while shares are added and revoked; it is rebuilt only when the user's right to share changes.
"""

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

_WITH = {"User": False, "Group": True}  # the form's "Share with" choice: state.group


def _revoke(state: SharingState, user: str, group: bool, _event: object) -> None:
    state.revoke(user, group=group)


def _share(state: SharingState, _event: object) -> None:
    state.share()


class SharingPanel(pn.viewable.Viewer):
    """Widgets over a :class:`SharingState` (nothing but a hint while no project is open)."""

    state = param.ClassSelector(class_=SharingState)

    def _role_line(self) -> pn.viewable.Viewable:
        state = cast(SharingState, self.state)
        if not state.role_here:
            return pn.pane.Markdown("Open a project to see who it is shared with.", css_classes=["rh-share-none"])
        return pn.pane.HTML(f"<p>Your role on <b>{html.escape(state.project_name)}</b>: "
                            f"<span class='rh-share-role'>{html.escape(state.role_here)}</span></p>")

    def _shares(self) -> pn.viewable.Viewable:
        state = cast(SharingState, self.state)
        rows: list[pn.viewable.Viewable] = []
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
        return pn.Column(*rows, margin=0)

    def _form(self) -> pn.viewable.Viewable:
        state = cast(SharingState, self.state)
        if not state.can_share:
            return pn.Spacer(height=0)
        kind = pn.widgets.Select(label="Share with", options=_WITH, value=state.group, width=100,
                                 css_classes=["rh-share-with"])
        kind.param.watch(lambda event: setattr(state, "group", event.new), "value")
        name = pn.widgets.TextInput.from_param(state.param.user, label="Name", description=None,
                                               placeholder="Account or group name", width=220)
        role = pn.widgets.Select.from_param(state.param.role, label="Role", description=None, width=120)
        add = pn.widgets.Button(label="Share", color="primary", align="end")
        add.on_click(functools.partial(_share, state))
        return pn.Row(kind, name, role, add)

    def _feedback(self) -> pn.viewable.Viewable:
        if not self.state.feedback:
            return pn.Spacer(height=0)
        return message_alert(self.state.feedback, self.state.feedback_kind, "rh-share-feedback")

    def __panel__(self) -> pn.viewable.Viewable:
        state = cast(SharingState, self.state)
        layout = {"sizing_mode": "stretch_width", "margin": 0}
        return pn.Card(
            swapping(self._feedback, state, "feedback", "feedback_kind", **layout),
            swapping(self._role_line, state, "role_here", "project_name", **layout),
            swapping(self._shares, state, "shares", "can_share", **layout),
            swapping(self._form, state, "can_share", **layout),
            title="Sharing", collapsible=False, sizing_mode="stretch_width", css_classes=["rh-sharing"])
