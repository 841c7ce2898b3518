"""State messages as alerts: one kind mapping, text escaped, line breaks kept."""

from __future__ import annotations

import pytest

from rhinoapp.views.alerts import ALERT_TYPES, message_alert


@pytest.mark.parametrize(("kind", "alert_type"), [("info", "info"), ("success", "success"),
                                                  ("warning", "warning"), ("error", "danger")])
def test_every_message_kind_of_the_states_has_an_alert_type(kind: str, alert_type: str) -> None:
    assert message_alert("text", kind).alert_type == alert_type
    assert set(ALERT_TYPES) == {"info", "success", "warning", "error"}


def test_a_user_supplied_name_is_shown_as_text_not_markup() -> None:
    alert = message_alert('Uploaded "<img src=x onerror=alert(1)>.csv":\nno pressure column', "error",
                          "rh-feedback", "rh-4pr-feedback")
    assert "<img" not in alert.object and "&lt;img src=x onerror=alert(1)&gt;" in alert.object
    assert alert.object.endswith("<br>no pressure column")
    assert alert.css_classes == ["rh-feedback", "rh-4pr-feedback"]
