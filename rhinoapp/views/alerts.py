"""A state's message shown as an alert, the same way on every page."""

from __future__ import annotations

import html
from collections.abc import Mapping
from types import MappingProxyType

import panel as pn

from rhinoapp.state.job_page import MessageKind

__all__ = ["ALERT_TYPES", "message_alert"]

#: Message kind of the states (``message_kind`` / ``feedback_kind``) -> Panel alert type.
ALERT_TYPES: Mapping[MessageKind, str] = MappingProxyType({
    MessageKind.INFO: "info", MessageKind.SUCCESS: "success", MessageKind.WARNING: "warning",
    MessageKind.ERROR: "danger"})


def message_alert(text: str, kind: MessageKind | str, *css_classes: str) -> pn.pane.Alert:
    """``text`` as an alert of ``kind``; escaped (messages quote file and project names), line breaks kept.

    Examples
    --------
    >>> alert = message_alert('Project "<b>" created.', "success", "rh-feedback")
    >>> alert.alert_type, alert.object
    ('success', 'Project &quot;&lt;b&gt;&quot; created.')
    """
    return pn.pane.Alert(html.escape(text).replace("\n", "<br>"), alert_type=ALERT_TYPES[MessageKind(kind)],
                         sizing_mode="stretch_width", css_classes=list(css_classes))
