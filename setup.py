"""Build hook: the wheel carries the top-level ``assets/`` (the design's source) as ``rhinoapp/_assets``.

The user documentation the app shows (``docs/*.md``, e.g. the 4PR format) goes with it as
``rhinoapp/_assets/docs`` (see :func:`rhinoapp.views.assets.read_doc`).

Everything else about the package is declared in ``pyproject.toml``. An editable install reads
``assets/`` in place (see :func:`rhinoapp.views.assets.assets_dir`), so nothing is copied there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = Path(__file__).resolve().parent / "assets"
DOCS = Path(__file__).resolve().parent / "docs"


class BuildPyWithAssets(build_py):
    """``build_py`` that also copies ``assets/`` into the built package as ``rhinoapp/_assets``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not (ASSETS / "style.css").is_file():
            raise FileNotFoundError(f"{ASSETS} is missing: build from a source checkout or an sdist that has assets/.")
        shutil.copytree(ASSETS, Path(self.build_lib) / "rhinoapp" / "_assets", dirs_exist_ok=True)
        docs = Path(self.build_lib) / "rhinoapp" / "_assets" / "docs"
        docs.mkdir(parents=True, exist_ok=True)
        for page in DOCS.glob("*.md"):
            shutil.copy2(page, docs / page.name)


setup(cmdclass={"build_py": BuildPyWithAssets})
