"""Structured progress in job records: the numbers go through SQLite and come back as numbers."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from rhinoapp.config import Settings
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.store import open_store
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.migrations import MIGRATIONS, migrate
from rhinoapp.store.models import utcnow
from rhinoapp.store.repository import ProjectRepository


def test_a_progress_report_round_trips_through_the_store(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    project = ProjectRepository(store, owner="ana").create("Case 1")
    jobs = JobStore(store)
    job = jobs.create(owner="ana", project_id=project.id, kind=JobKind.SIMULATION, profile="local")
    assert jobs.get(job.id).progress_report == ProgressReport(0.0, stage="queued")
    report = ProgressReport(0.2193, step=4730, total=21570, eta_s=143.25, pressure_drop_pa=19.7563,
                            flow_ml_s=-249.812, mlups=4.71)
    jobs.set_state(job.id, JobState.RUNNING)
    jobs.update(job.id, progress_report=report)
    store.close()

    reopened = open_store(Settings(data_dir=tmp_path))  # a fresh connection: nothing cached
    record = JobStore(reopened).get(job.id, owner="ana")
    assert record.progress_report == report
    assert isinstance(record.progress_report.step, int) and isinstance(record.progress_report.flow_ml_s, float)
    assert (record.progress, record.eta_s, record.progress_message) == (0.2193, 143.25, report.message)

    JobStore(reopened).set_state(job.id, JobState.DONE, message="pressure_drop_pa 19.8")
    done = JobStore(reopened).get(job.id)
    assert done.progress_report.fraction == 1.0 and done.progress_report.eta_s is None
    assert done.progress_report.step == 4730 and done.progress_report.pressure_drop_pa == 19.7563
    reopened.close()


def test_records_written_before_structured_progress_stay_readable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{settings.data_dir / 'rhinoapp.sqlite'}")
    assert migrate(engine, migrations=MIGRATIONS[:2]) == 2  # the schema before progress_data
    now = utcnow().replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO projects (id, owner, name, name_key, created_at, updated_at) "
                                   "VALUES ('p1', 'ana', 'Old', 'old', :t, :t)"), {"t": now})
        connection.execute(sa.text(
            "INSERT INTO jobs (id, project_id, step, state, submitted_at, started_at, kind, progress, "
            "progress_message, eta_s) VALUES ('j1', 'p1', 'simulation', 'running', :t, :t, 'simulation', 0.4, "
            "'step 400/1000, ETA 1m00s, 4.0 MLUPS, dp 3.00 Pa, flow 100.0 ml/s', 60.0)"), {"t": now})
    engine.dispose()

    store = open_store(settings)
    assert store.schema_version == MIGRATIONS[-1].version
    record = JobStore(store).get("j1", owner="ana")
    assert record.progress_report.fraction == 0.4 and record.progress_report.eta_s == 60.0
    assert record.progress_report.step is None  # the old words are shown, never parsed
    assert record.progress_report.message == "step 400/1000, ETA 1m00s, 4.0 MLUPS, dp 3.00 Pa, flow 100.0 ml/s"
    store.close()
