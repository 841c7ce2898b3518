"""The audit page (admins): filters, the events as a table, and a CSV download."""

from __future__ import annotations

from typing import cast

import io

import pandas as pd
import panel as pn
import param

from rhinoapp.state.audit import AuditState

__all__ = ["AuditPage"]

_COLUMNS = ["When (UTC)", "User", "Action", "Outcome", "Project id", "Detail", "Address"]


def _frame(state: AuditState) -> pd.DataFrame:
    return pd.DataFrame([[e.at.strftime("%Y-%m-%d %H:%M:%S"), e.user, e.action.value, e.outcome.value, e.project_id,
                          e.detail, e.remote] for e in state.events], columns=_COLUMNS)


class AuditPage(pn.viewable.Viewer):
    """Widgets over an :class:`AuditState`; a non-admin sees only a sentence."""

    state = param.ClassSelector(class_=AuditState)

    def __panel__(self) -> pn.viewable.Viewable:
        state = cast(AuditState, self.state)
        if not state.allowed:
            return pn.pane.Markdown("## Audit log\nOnly administrators see the audit log.", css_classes=["rh-audit-refused"])
        table = pn.widgets.Tabulator(_frame(state), show_index=False, disabled=True, pagination="local",
                                     page_size=25, sizing_mode="stretch_width", css_classes=["rh-audit-table"])
        self.state.param.watch(lambda _e: setattr(table, "value", _frame(state)), "events")
        filters = pn.Row(
            pn.widgets.TextInput.from_param(self.state.param.user, label="User", description=None, width=180),
            pn.widgets.Select.from_param(self.state.param.action, label="Action", description=None, width=150),
            pn.widgets.TextInput.from_param(self.state.param.project_id, label="Project id", description=None, width=280),
            pn.widgets.IntInput.from_param(self.state.param.days, label="Last days", description=None, width=100),
        )
        download = pn.widgets.FileDownload(callback=lambda: io.StringIO(self.state.csv()), filename="rhinoapp-audit.csv",
                                           label="Download CSV", color="primary", variant="outline",
                                           css_classes=["rh-audit-csv"])
        return pn.Column(pn.pane.Markdown("## Audit log"), filters, download, table, sizing_mode="stretch_width")
