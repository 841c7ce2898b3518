"""The wheel: built from the source, installed into a fresh venv, it serves the app with its assets.

The fresh venv gets its dependencies from the test's own environment through a ``.pth`` line (no
download); the test's editable install of rhinoapp stays inactive there (a plain path line does not
run the ``.pth`` files of that environment), so what is served is the wheel's copy.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import os
import pkgutil
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
#: What the build reads: the project's metadata, the package and the top-level assets.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "rhinoapp", "assets")
HANG = 180.0  # seconds: only catches a server that never answers

pytestmark = pytest.mark.slow


def _run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=cwd, env=env,
                            timeout=HANG)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _clean_env() -> dict[str, str]:
    """The environment without this checkout on the path and without the caller's rhinoapp settings."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("RHINOAPP_", "PIP_"))}
    return {**env, "RHINOAPP_DEMO": "false"}  # no demo project: its jobs are not what this test is about


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout (the build leaves its folders there, not here)."""
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--isolated", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", work / "dist", source, env=_clean_env())
    [built] = (work / "dist").glob("rhinoapp-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with the wheel installed; its dependencies come from this environment."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    env = _clean_env()
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--isolated", "--python", python, "install", "--no-deps", "--no-index",
         wheel, env=env)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", env=env).strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "test-dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    return venv


def test_the_wheel_carries_the_assets_and_the_typing_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {f"rhinoapp/_assets/{p.relative_to(ASSETS).as_posix()}" for p in ASSETS.rglob("*") if p.is_file()}
    assert {"rhinoapp/_assets/style.css", "rhinoapp/_assets/logo.svg", "rhinoapp/_assets/icons/done.svg"} <= sources
    assert sources <= names
    assert "rhinoapp/py.typed" in names
    assert any(name.startswith("rhinoapp/dicom/data/") and name.endswith(".csv") for name in names)


def test_the_installed_package_uses_its_own_copy_and_assets(fresh: Path) -> None:
    code = ("import rhinoapp; from rhinoapp.views.assets import assets_dir;"
            " print(rhinoapp.__file__); print(assets_dir())")
    module, assets = _run(fresh / "bin" / "python", "-c", code, cwd=fresh, env=_clean_env()).split()
    site = fresh / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert Path(module) == site / "rhinoapp" / "__init__.py"  # not the editable checkout
    assert Path(assets) == site / "rhinoapp" / "_assets"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def _wait_for_page(url: str, process: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    """The page once the server answers; fails at once if the server exits, or after HANG seconds."""
    deadline = time.monotonic() + HANG
    while True:
        assert process.poll() is None, f"the server exited with {process.returncode}"
        try:
            return _get(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # polling the condition (the port answers), not waiting for a duration


@pytest.fixture
def served(fresh: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(fresh / "bin" / "python"), "-m", "rhinoapp", "serve", "--port", str(port), "--data-dir",
         str(tmp_path / "data")],
        cwd=tmp_path, env=_clean_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}/", process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


def _register_panel_models() -> None:
    """Import Panel's Bokeh models (Panel loads them lazily) so that a page's document can be read."""
    import panel.models

    for module in pkgutil.iter_modules(panel.models.__path__):
        with contextlib.suppress(ImportError):  # models of optional packages
            importlib.import_module(f"panel.models.{module.name}")


def test_the_installed_wheel_serves_the_page_with_its_assets(served: tuple[str, subprocess.Popen[bytes]]) -> None:
    from tests.page_session import pull_page_session

    _register_panel_models()

    url, process = served
    status, page = _wait_for_page(url, process)
    assert status == 200 and b"<html" in page.lower()
    # The page's document (sent over its websocket) embeds the logo and the stylesheet.
    with pull_page_session(url) as session:  # sessions are signed: connect as a browser does
        models = list(session.document.models)
        header = [m for m in models if "rh-header" in str(getattr(m, "object", "") or getattr(m, "text", ""))]
        assert header, "the page has no header"
        logo = base64.b64encode((ASSETS / "logo.svg").read_bytes()).decode()
        assert any(logo in str(getattr(m, "text", "")) for m in header)
        style = (ASSETS / "style.css").read_text(encoding="utf-8")
        sheets = [str(getattr(s, "css", s)) for m in models for s in (getattr(m, "stylesheets", None) or [])]
        assert any(style.strip() in sheet for sheet in sheets)
    # The static route serves the installed copies.
    for name in ("style.css", "logo.svg", "icons/done.svg", "trame_pane.js"):
        status, body = _get(f"{url}assets/{name}")
        assert status == 200 and body and body == (ASSETS / name).read_bytes(), name
    process.send_signal(signal.SIGINT)  # stops like Ctrl+C: closes the runner and the store
    assert process.wait(timeout=HANG) == 0
