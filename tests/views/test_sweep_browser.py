"""The Analysis page in Chromium after a flow sweep: the CFD pressure-flow curve drawn over the 4PR loops.

The project (phantom CT, 1 mm) gets its airway from the segmentation task function and a small, fast
sweep from the sweep task function (two flows and expiration at 2 mm with a step limit: a few seconds),
both published into the server's data directory as the job runner does; the 4PR recording is uploaded
through the page.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.workflow import JobKind, Step
from rhinoapp.jobs.geometry_task import airway_segmentation
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.jobs.sweep_task import flow_sweep
from rhinoapp.rhinomanometry.io import write_csv_file
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from tests.jobs.conftest import project_with_phantom
from tests.views.navigation import click_until, go_to
from tests.waiting import HANG_S

pytestmark = [pytest.mark.browser, pytest.mark.timeout(3 * HANG_S)]  # segmentation, sweep, page
NAME = "Sweep demo"

#: Statements collecting the legend labels of the page's Bokeh documents into ``labels`` (the plots draw on
#: canvases; their models are in the page).
_COLLECT = """
  const labels = [];
  for (const doc of (window.Bokeh ? window.Bokeh.documents : [])) {
    for (let model of (doc.all_models ?? (doc._all_models ? doc._all_models.values() : []))) {
      if (Array.isArray(model)) model = model[1];
      const kind = model.type || model.constructor.__qualified__ || model.constructor.name;
      if (kind !== "LegendItem" || model.label == null) continue;
      const label = model.label;
      labels.push(typeof label === "string" ? label : (label.value ?? label.field ?? ""));
    }
  }
"""
LEGEND_LABELS = "() => {" + _COLLECT + "return labels; }"
CFD_OVER_LOOPS = ("() => {" + _COLLECT + "return labels.filter(l => l === 'CFD (Rohrer fit)').length >= 2"
                  " && labels.includes('CFD runs') && labels.includes('Accelerating inspiration'); }")


def _run(task, repo: ProjectRepository, project_id: str, job_id: str, kind: JobKind, parameters: dict) -> None:
    """Run a job's task function into a staging folder and publish its files, as the runner does."""
    request = JobRequest.create(job_id=job_id, owner="local", project_id=project_id,
                                project_dir=str(repo.project_dir(project_id)), kind=kind, parameters=parameters)
    with tempfile.TemporaryDirectory() as staging:
        task(request, Path(staging), TaskContext(job_id, publish=lambda _message: None, is_cancelled=lambda: False))
        files = {path.relative_to(staging).as_posix(): path.read_bytes()
                 for path in Path(staging).rglob("*") if path.is_file()}
        repo.write_artifacts(project_id, kind.step, files)


def swept_project(data: Path) -> str:
    """A phantom project with its airway and one published flow sweep."""
    store = open_store(Settings(data_dir=data))
    try:
        project_id = project_with_phantom(store, name=NAME)
        repo = ProjectRepository(store, owner="local")
        _run(airway_segmentation, repo, project_id, "browser-geometry", JobKind.SEGMENTATION, {"target_triangles": 20000})
        _run(flow_sweep, repo, project_id, "browser-sweep", JobKind.SWEEP,
             {"flows_ml_s": [150, 300], "expiration": True, "resolution_mm": 2.0, "max_steps": 400,
              "backend": "numba", "sweep_id": "sweep-demo"})
        assert any(a.name == "simulations/sweep-demo/sweep.json" for a in repo.artifacts(project_id, Step.SIMULATION))
    finally:
        store.close()
    return project_id


def test_after_a_sweep_the_analysis_page_draws_the_cfd_curve_over_the_4pr_loops(page, server, tmp_path: Path,
                                                                                 output_dir: Path) -> None:
    url, data = server
    swept_project(data)
    page.goto(url)
    click_until(page.locator(".tabulator-row", has_text=NAME).get_by_text("Open"),
                page.locator(".rh-project", has_text=f"Project: {NAME}"), what=f"project {NAME} to open")
    go_to(page, "Analysis", page.get_by_role("heading", name="Rhinomanometry (4PR)"))
    sweep = page.locator(".rh-sweep")
    sweep.get_by_text("No 4PR measurement in this project").wait_for()
    sweep.locator(".rh-sweep-runs td", has_text="expiration").first.wait_for()
    assert sweep.locator(".rh-sweep-runs tbody tr").count() == 4
    assert "smooth-walls flow model" in sweep.locator(".rh-sweep-model").inner_text()  # the job's default model
    # 2 mm (coarser than the rule's spacing) and 400 steps: every run is doubted, and the page says so and why
    doubts = sweep.locator(".rh-sweep-doubts")
    doubts.get_by_text("The checks doubt figures of these runs").wait_for()
    doubts.get_by_text("150 ml/s inspiration, 300 ml/s inspiration, 150 ml/s expiration, 300 ml/s expiration: "
                       "lattice cells across the narrowest passage").wait_for()
    assert "resolution (warning)" in sweep.locator(".rh-sweep-runs tbody tr").first.inner_text()
    assert "How far to trust the CFD figures" in sweep.locator(".rh-sweep-accuracy").inner_text()

    recording = tmp_path / "case-4pr.csv"
    write_csv_file(generate(duration_s=12.0, seed=4).measurement, recording)
    page.locator(".rh-4pr-upload input[type=file]").set_input_files(str(recording))
    page.get_by_text("case-4pr.csv stored: left (").wait_for()

    matched = sweep.locator(".rh-sweep-matched")
    matched.wait_for()
    assert matched.locator("tbody tr").count() == 4  # R75 and R150, left and right
    assert matched.locator("tbody tr", has_text="R150").first.locator("td").nth(3).text_content() != "–"
    plot = sweep.locator(".rh-sweep-plot canvas").first
    plot.wait_for()
    plot.scroll_into_view_if_needed()
    page.wait_for_function(CFD_OVER_LOOPS)
    labels = page.evaluate(LEGEND_LABELS)
    assert labels.count("CFD (Rohrer fit)") >= 2 and "Decelerating expiration" in labels, labels
    page.screenshot(path=str(output_dir / "analysis-sweep.png"), full_page=True)
