"""The Users page (admins): the accounts as a table, a form that adds one, and the changes to one."""

from __future__ import annotations

from typing import cast

import pandas as pd
import panel as pn
import param

from rhinoapp.core.passwords import MIN_PASSWORD_LENGTH
from rhinoapp.state.users import UsersState
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.swap import swapping

__all__ = ["UsersPage"]

_COLUMNS = ["Name", "Admin", "Disabled", "Groups", "Created (UTC)", "Last login (UTC)"]
_TIME = "%Y-%m-%d %H:%M"


def _frame(state: UsersState) -> pd.DataFrame:
    return pd.DataFrame([[a.name, "yes" if a.admin else "", "yes" if a.disabled else "", ", ".join(a.groups),
                          a.created.strftime(_TIME), a.last_login.strftime(_TIME) if a.last_login else ""]
                         for a in state.accounts], columns=_COLUMNS)


def _button(label: str, action: object, *, color: str = "primary", css: str = "") -> pn.widgets.Button:
    button = pn.widgets.Button(label=label, color=color, align="end", css_classes=[css] if css else [])
    button.on_click(lambda _e: action())  # type: ignore[operator]
    return button


class UsersPage(pn.viewable.Viewer):
    """Widgets over a :class:`UsersState`; a non-admin sees only a sentence."""

    state = param.ClassSelector(class_=UsersState)

    def _add_form(self) -> pn.viewable.Viewable:
        state = cast(UsersState, self.state)
        hint = f"at least {MIN_PASSWORD_LENGTH} characters"
        return pn.Card(pn.Row(
            pn.widgets.TextInput.from_param(state.param.new_name, label="New user name", description=None,
                                            placeholder="Account name", width=180),
            pn.widgets.PasswordInput.from_param(state.param.new_password, label="Initial password", description=None,
                                                placeholder=hint, width=180),
            pn.widgets.PasswordInput.from_param(state.param.new_password_again, label="Password again",
                                                description=None, placeholder="the same again", width=180),
            pn.widgets.Checkbox.from_param(state.param.new_admin, label="Admin", align="end"),
            _button("Add account", state.add), css_classes=["rh-users-add"]),
            title="Add an account", collapsible=False, sizing_mode="stretch_width")

    def _change_form(self) -> pn.viewable.Viewable:
        state = cast(UsersState, self.state)
        if not state.accounts:
            return pn.Spacer(height=0)
        account = next((a for a in state.accounts if a.name == state.selected), None)
        pick = pn.widgets.Select.from_param(state.param.selected, label="Account", description=None, width=200)
        toggles: list[pn.viewable.Viewable] = [pick]
        if account is not None:
            toggles += [_button("Enable", state.enable) if account.disabled else
                        _button("Disable", state.disable, color="danger"),
                        _button("Remove admin", lambda: state.set_admin(False), color="light") if account.admin else
                        _button("Make admin", lambda: state.set_admin(True), color="light")]
        password = pn.Row(
            pn.widgets.PasswordInput.from_param(state.param.password, label="New password", description=None, width=180),
            pn.widgets.PasswordInput.from_param(state.param.password_again, label="New password again",
                                                description=None, width=180),
            _button("Reset password", state.reset_password, color="light"))
        groups = pn.Row(pn.widgets.TextInput.from_param(state.param.groups, label="Groups (comma-separated)",
                                                        description=None, width=380),
                        _button("Save groups", state.save_groups, color="light"))
        return pn.Card(pn.Row(*toggles), password, groups, title="Change an account", collapsible=False,
                       sizing_mode="stretch_width", css_classes=["rh-users-change"])

    def _feedback(self) -> pn.viewable.Viewable:
        if not self.state.feedback:
            return pn.Spacer(height=0)
        return message_alert(self.state.feedback, self.state.feedback_kind, "rh-users-feedback")

    def __panel__(self) -> pn.viewable.Viewable:
        state = cast(UsersState, self.state)
        if not state.allowed:
            return pn.pane.Markdown("## Users\nOnly administrators manage the accounts.", css_classes=["rh-users-refused"])
        table = pn.widgets.Tabulator(_frame(state), show_index=False, disabled=True, pagination="local", page_size=25,
                                     sizing_mode="stretch_width", css_classes=["rh-users-table"])
        state.param.watch(lambda _e: setattr(table, "value", _frame(state)), "accounts")
        return pn.Column(
            pn.pane.Markdown("## Users\nAccounts that sign in with a password here; accounts of an identity provider "
                             "get their groups from it at each login."),
            swapping(self._feedback, state, "feedback", "feedback_kind", sizing_mode="stretch_width", margin=0),
            table, self._add_form(),
            swapping(self._change_form, state, "accounts", "selected", sizing_mode="stretch_width", margin=0),
            sizing_mode="stretch_width")
