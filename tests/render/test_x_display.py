"""The ParaView processes' one X display: panes and a download started at once all draw on one shared
Xvfb, which starts again after it died and stops with the service; a display the deployment gives is used."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import signal
import zipfile
from pathlib import Path

import pytest

from rhinoapp.config import RenderBackend
from rhinoapp.render.paraview_export import STATE_NAME, paraview_state_zip
from rhinoapp.render.paraview_launch import pvpython_path
from rhinoapp.render.spec import SceneSpec, Synthetic
from rhinoapp.render.trame_service import TrameService
from rhinoapp.render.x_display import DisplayError, SharedDisplay
from tests.render.conftest import png_pixels
from tests.render.test_trame_service import _get
from tests.waiting import HANG_S, wait_until


def test_a_display_the_deployment_gives_is_used_and_no_xvfb_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RHINOAPP_PARAVIEW_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":42")
    shared = SharedDisplay()
    assert (shared.display(), shared.pid) == (":42", None)
    monkeypatch.setenv("RHINOAPP_PARAVIEW_DISPLAY", ":5")  # one named for ParaView comes first
    assert (shared.display(), shared.pid) == (":5", None)


def test_without_xvfb_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DISPLAY", "RHINOAPP_PARAVIEW_DISPLAY", "RHINOAPP_PVPYTHON"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither pvpython nor Xvfb on it
    with pytest.raises(DisplayError, match="install Debian's xvfb"):
        SharedDisplay().display()


def _xvfbs_below(ancestor: int) -> list[int]:
    """Process ids of the running Xvfb processes descending from ``ancestor``."""
    parents, names = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue  # not a process, or it just ended
        name, _, rest = stat[stat.index("(") + 1:].rpartition(")")
        state, parent = rest.split()[:2]
        if state != "Z":
            parents[int(entry.name)], names[int(entry.name)] = int(parent), name

    def below(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == ancestor:
                return True
        return False

    return sorted(pid for pid, name in names.items() if name == "Xvfb" and below(pid))


def _display_of(pid: int) -> str:
    """The ``DISPLAY`` a process started with."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return next((e.split(b"=", 1)[1].decode() for e in entries if e.startswith(b"DISPLAY=")), "")


@pytest.mark.slow
@pytest.mark.skipif(pvpython_path() is None or shutil.which("Xvfb") is None,
                    reason="ParaView's pvpython or Xvfb is not installed (Debian's paraview, python3-paraview and "
                           "xvfb: scripts/install-system-deps.sh)")
def test_paraview_processes_started_at_once_draw_on_one_xvfb_that_stops_with_the_service(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)  # no X server given: the service starts its Xvfb
    monkeypatch.delenv("RHINOAPP_PARAVIEW_DISPLAY", raising=False)

    async def scenario() -> None:
        before = set(_xvfbs_below(os.getpid()))  # of other tests, if any

        def ours() -> list[int]:
            return sorted(set(_xvfbs_below(os.getpid())) - before)

        service = TrameService(backend=RenderBackend.PARAVIEW)
        spec = SceneSpec(synthetic=Synthetic(2000))
        tickets = [service.open_view(f"s{i}", spec) for i in range(2)]
        loop = asyncio.get_running_loop()

        def download() -> bytes:
            return paraview_state_zip(spec, display=service.x_display.display())

        # two panes' processes and a download's pvpython, all started at the same moment (with an Xvfb each,
        # three or four at once failed at random with "bad X server connection")
        *ports, data = await asyncio.gather(*(service.upstream_port(t.view_id) for t in tickets),
                                            loop.run_in_executor(None, download))
        try:
            first = service.x_display.pid
            assert first is not None and ours() == [first], "not one shared Xvfb"
            name = await loop.run_in_executor(None, service.x_display.display)
            assert sorted(_display_of(pid) for pid in service.process_ids) == [name] * 2
            for ticket, port in zip(tickets, ports, strict=True):
                status, png = await loop.run_in_executor(None, _get, f"http://127.0.0.1:{port}/screenshot.png",
                                                         service.process_key(ticket.view_id))
                assert status == 200 and png_pixels(png).std() > 20, "a ParaView pane is blank"
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                assert any(n.endswith(STATE_NAME) for n in archive.namelist())

            os.kill(first, signal.SIGKILL)  # the Xvfb dies: the next process that needs it gets a new one
            await loop.run_in_executor(None, lambda: wait_until(lambda: service.x_display.pid is None,
                                                                what="the killed Xvfb to be gone"))
            await loop.run_in_executor(None, service.x_display.display)
            second = service.x_display.pid
            assert second is not None and second != first and ours() == [second]
        finally:
            await service.close()
        assert ours() == [] and service.process_ids == []

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))
