"""The clusters the app starts are closed: only a holder of the data directory's credentials runs code.

An outside process (a fresh Python, tests/jobs/outsider.py) tries to submit work through the
scheduler and to call a worker directly: over plain TCP, with a certificate of its own, with its own
certificate while trusting the app's authority, and without any certificate. Each attempt would
write a marker file; none may appear. The same process with the app's files succeeds (the control).
The Slurm variant is in test_runner_slurm.py.
"""

from __future__ import annotations

import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rhinoapp.config.jobs import LocalProfile
from rhinoapp.core.errors import ConfigurationError
from rhinoapp.jobs.clusters import adapter_for
from rhinoapp.jobs.credentials import SchedulerCredentials, ensure_credentials
from tests.jobs.conftest import LoopThread
from tests.jobs.outsider import run_outsider


def assert_closed(outcomes: dict[str, str], markers: Path) -> None:
    """Every outsider attempt refused, every control run, and only the controls' markers written."""
    controls = {name for name in outcomes if "the app's credentials" in name}
    assert len(outcomes) - len(controls) == 6, outcomes
    for name, outcome in outcomes.items():
        assert outcome == "ran" if name in controls else outcome.startswith("refused"), (name, outcome)
    assert sorted(p.name for p in markers.iterdir()) == sorted({"app", "w-app"} if controls else set())


def test_an_outside_process_cannot_run_code_on_the_local_cluster(loop: LoopThread, tmp_path: Path) -> None:
    adapter = adapter_for(LocalProfile(n_workers=1), data_dir=tmp_path / "data")
    client = loop.run(adapter.start())
    try:
        info = loop.run(_scheduler_info(client))
        scheduler, worker = client.scheduler.address, next(iter(info["workers"]))
        assert scheduler.startswith("tls://127.0.0.1:") and worker.startswith("tls://127.0.0.1:")
        credentials = SchedulerCredentials.of(tmp_path / "data")
        outcomes = run_outsider(scheduler=scheduler, worker=worker, markers=tmp_path / "markers",
                                app_ca=credentials.ca_file, app_credentials=credentials.files)
        assert_closed(outcomes, tmp_path / "markers")
        http = info["services"]["dashboard"]  # the scheduler's HTTP server: /health only, on the loopback address
        assert _status(f"http://127.0.0.1:{http}/health") == 200
        for page in ("/status", "/info/main/workers.html", "/json/index.html", "/api/v1/get_workers", "/metrics"):
            assert _status(f"http://127.0.0.1:{http}{page}") == 404, page
    finally:
        loop.run(adapter.close())


async def _scheduler_info(client) -> dict:
    return await client.scheduler.identity()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_credentials_are_made_once_and_private(tmp_path: Path) -> None:
    credentials = ensure_credentials(tmp_path)
    contents = [path.read_bytes() for path in credentials.files]
    assert ensure_credentials(tmp_path) == credentials
    assert [path.read_bytes() for path in credentials.files] == contents
    assert stat.S_IMODE(credentials.key_file.parent.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in credentials.files} == {0o600}
    assert [p.name for p in tmp_path.iterdir()] == ["scheduler-tls"]  # no staging folder left behind


def test_loose_or_incomplete_credentials_are_refused_with_the_fix(tmp_path: Path) -> None:
    credentials = ensure_credentials(tmp_path)
    credentials.key_file.chmod(0o644)
    with pytest.raises(ConfigurationError, match="can be read by other users.*chmod"):
        ensure_credentials(tmp_path)
    credentials.key_file.unlink()
    with pytest.raises(ConfigurationError, match=r"incomplete \(missing key.pem\).*delete that folder"):
        ensure_credentials(tmp_path)
