"""The project's static assets (logo, stylesheet, status icons) and HTML built from them."""

from __future__ import annotations

import functools
import html
from importlib import resources
from pathlib import Path

from rhinoapp.core.errors import ConfigurationError, ValidationError
from rhinoapp.core.workflow import StepState, StepStatus

__all__ = ["assets_dir", "legend_html", "read_asset", "read_doc", "status_html"]


def assets_dir() -> Path:
    """The folder of the static assets, installed or in a source checkout.

    A wheel carries them as package data (``rhinoapp/_assets``, copied from the top-level
    ``assets/`` by the build, see ``setup.py``); a source checkout or an editable install uses the
    top-level ``assets/`` beside the package.

    Examples
    --------
    >>> (assets_dir() / "style.css").is_file()
    True
    """
    installed = Path(str(resources.files("rhinoapp").joinpath("_assets")))
    checkout = Path(__file__).resolve().parents[2] / "assets"
    for folder in (installed, checkout):
        if (folder / "style.css").is_file():
            return folder
    raise ConfigurationError(
        f"rhinoapp's assets were found neither in the package ({installed}) nor beside it ({checkout}):"
        " reinstall rhinoapp from a wheel or from its source checkout (pip install -e .)."
    )


@functools.cache
def read_asset(relative: str) -> str:
    """The text of an asset file, e.g. ``"icons/done.svg"`` (cached: assets are immutable)."""
    return (assets_dir() / relative).read_text(encoding="utf-8")


@functools.cache
def read_doc(name: str) -> str:
    """The text of a user document, e.g. ``"rhinomanometry-format.md"``, to show in the app.

    A wheel carries ``docs/*.md`` under its assets (``docs/``, see ``setup.py``); a source checkout
    reads the top-level ``docs/``.

    Examples
    --------
    >>> read_doc("rhinomanometry-format.md").startswith("#")
    True
    """
    if "/" in name or "\\" in name or not name.endswith(".md"):
        raise ValidationError(f"{name!r} is no document name; give a file name of docs/, such as 'rhinomanometry-format.md'.")
    for path in (assets_dir() / "docs" / name, Path(__file__).resolve().parents[2] / "docs" / name):
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise ConfigurationError(f"The document {name} was found neither in rhinoapp's assets nor in docs/ beside the "
                             "package: reinstall rhinoapp from a wheel or from its source checkout.")


def _icon(status: StepStatus) -> str:
    return read_asset(f"icons/{status.value}.svg").strip()


def status_html(state: StepState) -> str:
    """A status cell: the coloured icon with the status and message as tooltip.

    Examples
    --------
    >>> from rhinoapp.core.workflow import Step
    >>> cell = status_html(StepState(Step.DICOM, StepStatus.DONE))
    >>> 'data-status="done"' in cell and "<svg" in cell
    True
    """
    tip = state.status.label + (f": {state.message}" if state.message else "")
    return (
        f'<span class="rh-status" data-step="{state.step.value}" data-status="{state.status.value}"'
        f' title="{html.escape(tip, quote=True)}">{_icon(state.status)}</span>'
    )


def legend_html() -> str:
    """The legend of the five statuses."""
    items = "".join(
        f'<span class="rh-status" data-legend="{s.value}">{_icon(s)}{html.escape(s.label)}</span>'
        for s in StepStatus
    )
    return f'<div class="rh-legend" aria-label="Status legend">{items}</div>'
