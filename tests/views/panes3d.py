"""The pages' 3D panes in a browser: trame applications in an iframe (``.rh-trame``)."""

from __future__ import annotations

from typing import Any

from tests.waiting import HANG_S


def wait_for_pane(page: Any, scope: str, *, timeout_s: float = HANG_S) -> Any:
    """The 3D pane inside ``scope`` (a CSS selector), once it has loaded its trame application."""
    page.locator(f'{scope} .rh-trame[data-state="loaded"]').wait_for(timeout=1000 * timeout_s)
    return page.locator(f"{scope} .rh-trame")


def scene_token(page: Any, scope: str) -> str | None:
    """Changes when the pane inside ``scope`` is given a new scene (its process draws it into the open page)."""
    return page.locator(f"{scope} .rh-trame").get_attribute("data-scene")
