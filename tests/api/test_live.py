"""A simulation started from the API runs on a thread; its live 3D pane follows its live checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.api import Case, JobFailed
from rhinoapp.config import Settings
from rhinoapp.phantom import generate_phantom
from rhinoapp.volumes import nifti_bytes
from tests.waiting import HANG_S, wait_until

pytestmark = pytest.mark.timeout(3 * HANG_S)


def test_a_started_simulation_shows_its_checkpoints_live_and_can_be_cancelled(tmp_path: Path) -> None:
    ct = tmp_path / "phantom.nii.gz"
    ct.write_bytes(nifti_bytes(generate_phantom(spacing_mm=1.0).ct))
    settings = Settings(data_dir=tmp_path / "data", live_view_interval_s=0.2, demo=False)
    with Case.open("Phantom", settings=settings) as case:
        case.import_ct(ct, progress=False)
        case.segment(target_triangles=20_000, progress=False)
        run = case.start_simulation(flow_ml_s=150, resolution_mm=2.0, max_steps=5_000_000)  # until cancelled
        view = run.show(height=300)
        first = wait_until(lambda: run.refresh() and run.scene(), what="the first live checkpoint")
        assert first.title.startswith("running: step") and Path(first.surface).parent.name == "live"
        assert view.scene == first
        second = wait_until(lambda: run.refresh() and run.scene() != first and run.scene(),
                            what="a later live checkpoint")
        assert second.revision != first.revision and view.scene == second
        assert not run.done
        run.cancel()
        with pytest.raises(JobFailed, match="cancelled"):
            run.result(timeout_s=HANG_S)
        assert run.job_id is not None and not (case.repository.project_dir(case.id) / ".staging" / run.job_id).exists()
