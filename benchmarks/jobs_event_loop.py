"""How late the app's event loop runs its timers while a job streams progress to three open pages.

The served app runs the job runner, the progress events of running jobs and the refreshes of the
pages on one asyncio loop. This script starts a real :class:`~rhinoapp.jobs.runner.JobRunner`
(``local`` profile, real worker processes) on a temporary store and measures, on that loop, how
late a 10 ms timer fires (its *lateness*, the time the loop was busy with something else):

* ``job streaming``: while a CT volume check reports progress 50 times a second (``--slabs``
  slabs, 20 ms apart) and three Jobs pages refresh twice a second, as three browser sessions do;
* ``idle loop``: reference, same run, same loop and runner, same number of samples, no job.

Each line gives p50, p95 and max lateness in milliseconds; the last line gives the p95 against the
idle loop's. The goal is a p95 under 50 ms while a job streams, whatever the machine: a ratio near
1 means the progress path costs the loop nothing noticeable.

Usage::

    .venv/bin/python benchmarks/jobs_event_loop.py [--slabs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import nibabel
import numpy as np

from rhinoapp.config import JobsSettings, Settings
from rhinoapp.config.jobs import LocalProfile
from rhinoapp.core.workflow import JobKind, JobState, Step
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.state.jobs import JobsState
from rhinoapp.state.session import SessionState
from rhinoapp.store import ProjectRepository, open_store

TICK_S = 0.01


def ct_bytes(shape: tuple[int, int, int] = (48, 40, 64)) -> bytes:
    """A small gzip NIfTI CT of air, soft tissue and bone."""
    hu = np.full(shape, 40, dtype=np.int16)
    hu[:, :, : shape[2] // 4] = -1000
    hu[:4] = 700
    return gzip.compress(nibabel.Nifti1Image(hu, np.diag([-0.5, -0.5, 0.5, 1.0])).to_bytes())


async def lateness_while(busy: asyncio.Future[object] | None, samples: int | None = None) -> list[float]:
    """Milliseconds by which a 10 ms timer fired late, until ``busy`` is done (or ``samples`` taken)."""
    late: list[float] = []
    while (busy is not None and not busy.done()) or (samples is not None and len(late) < samples):
        started = time.perf_counter()
        await asyncio.sleep(TICK_S)
        late.append(max(0.0, time.perf_counter() - started - TICK_S) * 1e3)
    return late


async def measure(data_dir: Path, slabs: int) -> tuple[list[float], list[float]]:
    settings = Settings(data_dir=data_dir, jobs=JobsSettings(profiles=(LocalProfile(n_workers=2),)))
    store = open_store(settings)
    runner = JobRunner(settings, store, monitor_interval_s=0.5, persist_interval_s=0.2)
    try:
        await runner.start()
        repo = ProjectRepository(store, owner="local")
        project_id = repo.create("Latency").id
        repo.write_artifact(project_id, Step.DICOM, "volume/ct.nii.gz", ct_bytes())
        warm = await runner.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM)
        await runner.wait(warm.id)  # the cluster is up and the workers have imported the task
        pages = [JobsState(session=SessionState(repository=repo, runner=runner)) for _ in range(3)]

        async def refresh_pages() -> None:
            while True:
                for page in pages:
                    page.refresh()
                await asyncio.sleep(0.5)

        refresher = asyncio.create_task(refresh_pages())
        record = await runner.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                     parameters={"pace_s": 0.02, "slabs": slabs})
        streaming = await lateness_while(asyncio.ensure_future(runner.wait(record.id)))
        refresher.cancel()
        final = await runner.wait(record.id)
        if final.state is not JobState.DONE:
            raise RuntimeError(f"the job ended {final.state.value}: {final.message}")
        idle = await lateness_while(None, samples=len(streaming))
        return streaming, idle
    finally:
        await runner.close()
        store.close()


def summary(values: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) of ``values``."""
    return statistics.median(values), statistics.quantiles(values, n=20)[-1], max(values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slabs", type=int, default=200, help="progress messages of the job, 20 ms apart")
    args = parser.parse_args(argv)
    if args.slabs < 20:
        parser.error("--slabs must be at least 20")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("distributed").setLevel(logging.WARNING)  # it configures its own INFO handler
    with tempfile.TemporaryDirectory(prefix="rhinoapp-bench-") as tmp:
        streaming, idle = asyncio.run(measure(Path(tmp) / "data", args.slabs))
    print(f"event-loop lateness of a {TICK_S * 1e3:.0f} ms timer, {len(streaming)} samples each "
          f"(python {sys.version.split()[0]})")
    print(f"{'loop':<16} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, values in (("job streaming", streaming), ("idle loop", idle)):
        p50, p95, worst = summary(values)
        print(f"{label:<16} {p50:>8.2f} {p95:>8.2f} {worst:>8.2f}")
    p95_job, p95_idle = summary(streaming)[1], summary(idle)[1]
    print(f"p95 lateness while a job streams progress: {p95_job:.1f} ms (goal < 50 ms), "
          f"{p95_job / max(p95_idle, 1e-3):.1f}x the idle loop's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
