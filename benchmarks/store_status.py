"""How long the store takes to answer one refresh of the Projects page, for many projects.

Builds a temporary store with N projects (default 500). Every project has DICOM artifacts and a
finished DICOM job; Geometry artifacts and a Geometry job whose state varies (done, error,
running), so the status derivation sees all its cases. Then it times, median of 5 after one
untimed warm-up, interleaved round by round, on the same open store (as the server shares one
per process):

* ``repo.list_projects()`` + ``repo.statuses(ids)``: the status table of the Projects page;
* the same + ``repo.last_activity(ids)``: everything ``ProjectsState.refresh`` asks the store;
* as the floor of reading that data, raw ``sqlite3`` ``SELECT * FROM artifacts`` and
  ``SELECT * FROM jobs`` (fetched in full) on the same database file.

Usage::

    .venv/bin/python benchmarks/store_status.py [--projects 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rhinoapp.config import Settings
from rhinoapp.core.workflow import JobState, Step
from rhinoapp.store import ProjectRepository, open_store

DICOM_FILES = ("dicom/series.json", "volume/ct.npy")
GEOMETRY_FILES = ("geometry/default/airway.stl", "geometry/default/params.json")


def populate(repo: ProjectRepository, count: int) -> list[str]:
    """Create ``count`` projects with artifacts and job records; return their ids."""
    ids = []
    for i in range(count):
        project = repo.create(f"Case {i:05d}", f"benchmark project {i}")
        dicom_job = repo.add_job(project.id, Step.DICOM)
        for name in DICOM_FILES:
            repo.write_artifact(project.id, Step.DICOM, name, f"{name} of case {i}".encode(), job_id=dicom_job)
        repo.set_job_state(dicom_job, JobState.DONE)
        geometry_job = repo.add_job(project.id, Step.GEOMETRY)
        if i % 7 == 3:  # still running: in progress
            repo.set_job_state(geometry_job, JobState.RUNNING)
            ids.append(project.id)
            continue
        for name in GEOMETRY_FILES:
            repo.write_artifact(project.id, Step.GEOMETRY, name, f"{name} of case {i}".encode(), job_id=geometry_job)
        if i % 10 == 5:  # a later re-run failed: error
            repo.set_job_state(repo.add_job(project.id, Step.GEOMETRY), JobState.ERROR, message="mesh not watertight")
        repo.set_job_state(geometry_job, JobState.DONE)
        ids.append(project.id)
    return ids


def median_seconds(works: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall-clock seconds of each of ``works`` over ``repeats`` rounds.

    Each work runs once untimed to warm up; then every round runs each work once, so drifting
    machine load affects all of them alike.
    """
    for work in works:
        work()
    times: list[list[float]] = [[] for _ in works]
    for _ in range(repeats):
        for work, samples in zip(works, times):
            start = time.perf_counter()
            work()
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500, help="number of projects (default 500)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each measurement (default 5)")
    args = parser.parse_args(argv)
    if args.projects < 1 or args.repeats < 1:
        parser.error("--projects and --repeats must be at least 1")
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="rhinoapp-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        store = open_store(settings)
        try:
            repo = ProjectRepository(store, owner="local")
            start = time.perf_counter()
            ids = populate(repo, args.projects)
            build_s = time.perf_counter() - start

            def status_table() -> object:
                projects = repo.list_projects()
                return repo.statuses([p.id for p in projects])

            def full_refresh() -> object:
                projects = repo.list_projects()
                project_ids = [p.id for p in projects]
                return repo.statuses(project_ids), repo.last_activity(project_ids)

            statuses = status_table()
            if not isinstance(statuses, dict) or len(statuses) != len(ids):
                raise RuntimeError(f"statuses covered {len(statuses)} projects, expected {len(ids)}")
            db_path = settings.data_dir / "rhinoapp.sqlite"
            connection = sqlite3.connect(db_path)
            try:
                with connection:
                    counts = [connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("artifacts", "jobs")]

                def raw_read() -> object:
                    return (connection.execute("SELECT * FROM artifacts").fetchall(),
                            connection.execute("SELECT * FROM jobs").fetchall())

                table_s, refresh_s, raw_s = median_seconds([status_table, full_refresh, raw_read], args.repeats)
            finally:
                connection.close()
        finally:
            store.close()

    n = args.projects
    print(f"store status: {n} projects, {counts[0]} artifacts, {counts[1]} jobs "
          f"(built in {build_s:.1f} s), median of {args.repeats} (python {sys.version.split()[0]})")
    print(f"{'measurement':<46} {'ms/refresh':>10} {'ms/project':>10} {'x raw':>7}")
    for label, seconds in (
        ("list_projects + statuses", table_s),
        ("list_projects + statuses + last_activity", refresh_s),
        ("raw sqlite3 SELECT * artifacts + jobs", raw_s),
    ):
        print(f"{label:<46} {seconds * 1e3:>10.1f} {seconds * 1e3 / n:>10.3f} {seconds / raw_s:>7.1f}")
    print(f"one Projects-page refresh of {n} projects takes {refresh_s * 1e3:.0f} ms "
          f"({refresh_s / raw_s:.1f}x the raw read of artifacts and jobs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
