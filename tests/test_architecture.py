"""Layer contracts (import-linter), import weight, and the licences of what we depend on."""

from __future__ import annotations

import re
import subprocess
import tomllib
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken" in result.stdout


def test_import_linter_catches_a_violation(tmp_path: Path) -> None:
    """The contract machinery really fails on a lower layer importing a higher one."""
    package = tmp_path / "rhinoapp"
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    named = {module.split(".")[1] for contract in contracts for module in contract.get("source_modules", [])}
    for sub in sorted(named | {"core", "config", "store", "state", "views", "app", "cli"}):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "core" / "bad.py").write_text("import rhinoapp.views\n")
    config = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(config)
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 1 and "rhinoapp.core.bad -> rhinoapp.views" in result.stdout


@pytest.mark.parametrize(("module", "forbidden"), [
    ("rhinoapp", ("panel", "bokeh", "vtkmodules", "pyvista", "sqlalchemy", "distributed")),
    ("rhinoapp.core", ("panel", "bokeh", "vtkmodules", "pyvista", "sqlalchemy", "numpy")),
    ("rhinoapp.store", ("panel", "bokeh", "vtkmodules", "pyvista")),
    ("rhinoapp.state", ("panel", "bokeh", "vtkmodules", "pyvista")),
])
def test_lower_layers_stay_light(module: str, forbidden: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert not loaded & set(forbidden)


_COPYLEFT = re.compile(r"\b(A?GPL|GNU (Affero )?General Public License)", re.IGNORECASE)


def _requirements(dist: str, seen: set[str]) -> None:
    key = dist.lower().replace("_", "-")
    if key in seen:
        return
    seen.add(key)
    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return
    for requirement in requires:
        if "extra ==" in requirement and "extra == \"dev\"" not in requirement:
            continue
        name = re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0]
        _requirements(name, seen)


def test_no_gpl_dependencies() -> None:
    seen: set[str] = set()
    _requirements("rhinoapp", seen)
    offenders = []
    for name in sorted(seen - {"rhinoapp"}):
        try:
            meta = metadata.metadata(name)
        except metadata.PackageNotFoundError:
            continue
        text = " ".join([meta.get("License-Expression") or "", (meta.get("License") or "")[:200],
                         *meta.get_all("Classifier", [])] )
        licence = " ".join(part for part in text.split() if part)
        if _COPYLEFT.search(licence) and not re.search(r"\bLGPL|Lesser|Library", licence):
            offenders.append(f"{name}: {licence[:120]}")
    assert len(seen) > 50
    assert offenders == []
