"""GeometryEditorState: correcting a wrong automatic airway, undo and redo, saving it as a variant a simulation can use."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.core.errors import ConflictError, ValidationError
from rhinoapp.core.volume import CTVolume, ImageGeometry, LabelMap
from rhinoapp.core.workflow import JobKind, Step
from rhinoapp.jobs.geometry_task import airway_segmentation
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.segmentation.editing import CutSuperior, Erase, Paint, RemoveRegion, edit_from_dict
from rhinoapp.state.geometry import GeometryState, Placement
from rhinoapp.state.geometry_editor import OFF, GeometryEditorState
from rhinoapp.state.session import SessionState
from rhinoapp.state.simulations import SimulationsState
from rhinoapp.store.geometry_results import read_result
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.simulation import load_domain
from tests.jobs.conftest import open_test_store
from tests.state.test_geometry import FAST, ct_project

#: The ethmoid cell the bridge opens (LPS mm, the patient's left), where the bridge leaves the cavity, its radius.
CELL_MM, CAVITY_MM, BRIDGE_MM = (8.5, 27.0, 40.0), (3.0, 27.0, 35.0), 2.0
#: Where the user erases the bridge: a third of the way from the cell's wall to the cavity.
ERASE_MM, ERASE_RADIUS_MM = (6.0, 27.0, 37.7), 2.5


@functools.cache
def bridged_ethmoid(spacing_mm: float = 1.0) -> tuple[CTVolume, LabelMap]:
    """The ethmoid-cut hard phantom with a wide air bridge into one ethmoid cell: the automatic airway takes the cell in.

    The ground truth is the phantom's (the cell is sinus, the bridge tissue), so correcting the
    automatic airway by hand raises its Dice.
    """
    from rhinoapp.phantom import generate_phantom, variant_params
    from rhinoapp.phantom.hard import capsule

    phantom = generate_phantom(variant_params("ethmoid-cut", spacing_mm=spacing_mm, noise_hu=5.0))
    geometry = phantom.ct.geometry
    k, j, i = np.indices(geometry.shape)
    x, y, z = np.moveaxis(geometry.index_to_physical(np.stack([i, j, k], axis=-1)).astype(np.float32), -1, 0)
    hu = phantom.ct.hu.copy()
    hu[capsule(x, y, z, CELL_MM, CAVITY_MM, BRIDGE_MM) < 0] = -1000
    return CTVolume(hu, geometry), phantom.truth


def dice(labels: np.ndarray, truth: np.ndarray) -> float:
    """Dice of the nasal airway (labels 1-3) against the ground truth."""
    a, b = (labels > 0) & (labels < 4), (truth > 0) & (truth < 4)
    return 2 * int((a & b).sum()) / int(a.sum() + b.sum())


def segmented_project(tmp_path: Path, ct: CTVolume) -> tuple[ProjectRepository, str, object]:
    """A project with ``ct`` and its automatic airway published as the default variant (no runner)."""
    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    project_id = ct_project(store, "Bridged ethmoid", ct)
    out = tmp_path / "staged"
    request = JobRequest.create(job_id="direct", owner="local", project_id=project_id,
                                project_dir=str(repo.project_dir(project_id)), kind=JobKind.SEGMENTATION,
                                parameters={"target_triangles": FAST})
    airway_segmentation(request, out, TaskContext("direct", publish=lambda _m: None, is_cancelled=lambda: False))
    repo.write_artifacts(project_id, Step.GEOMETRY,
                         {p.relative_to(out).as_posix(): p.read_bytes() for p in (out / "geometry/default").iterdir()})
    return repo, project_id, settings


@pytest.mark.slow
def test_the_user_removes_a_wrong_ethmoid_cell_undoes_redoes_and_saves_a_variant_the_simulation_can_use(
        tmp_path: Path) -> None:
    ct, truth = bridged_ethmoid()
    repo, project_id, settings = segmented_project(tmp_path, ct)
    geometry = GeometryState(session=SessionState(repository=repo, settings=settings))
    geometry.session.open_project(project_id)
    geometry.ct.reload()
    geometry.reload()
    editor = GeometryEditorState(geometry=geometry)
    assert editor.active and not editor.can_undo
    automatic = editor.labels.labels.copy()
    cell = tuple(ct.geometry.physical_to_index(CELL_MM).round().astype(int)[::-1])
    assert 0 < automatic[cell] < 4, "the automatic airway should take the bridged cell in"
    before = dice(automatic, truth.labels)

    revisions = editor.revision
    editor.apply(Erase(ERASE_MM, ERASE_RADIUS_MM))
    erased = editor.labels.labels.copy()
    editor.apply(RemoveRegion(CELL_MM))
    corrected = editor.labels.labels.copy()
    assert corrected[cell] == 0 and editor.can_undo and editor.revision == revisions + 2
    assert dice(corrected, truth.labels) > before
    assert int(((corrected > 0) & (truth.labels == 4)).sum()) < int(((automatic > 0) & (truth.labels == 4)).sum())

    editor.undo()
    assert np.array_equal(editor.labels.labels, erased) and editor.can_redo
    editor.undo()
    assert np.array_equal(editor.labels.labels, automatic) and not editor.can_undo
    editor.redo()
    editor.redo()
    assert np.array_equal(editor.labels.labels, corrected) and not editor.can_redo
    assert [type(e) for e in editor.edits] == [Erase, RemoveRegion]

    editor.variant_name = "no-ethmoid-bridge"
    asyncio.run(editor.save_async())
    assert editor.message_kind == "success" and editor.saved_variant == "no-ethmoid-bridge", editor.message
    assert editor.variants() == ["default", "no-ethmoid-bridge"]
    saved = read_result(repo.layout(project_id).geometry("no-ethmoid-bridge").path, "no-ethmoid-bridge")
    assert np.array_equal(saved.labels.labels, corrected)
    assert dice(saved.labels.labels, truth.labels) > before
    provenance = saved.report.document["provenance"]
    assert provenance["edited_from"] == "default" and provenance["automatic_options"]["threshold_hu"] == -550.0
    assert [edit_from_dict(e) for e in provenance["edits"]] == list(editor.edits)
    base = geometry.result.report
    assert saved.report.volume_ml("left") < base.volume_ml("left")  # the cell was on the left
    assert abs(saved.report.volume_ml("right") - base.volume_ml("right")) < 0.05 * base.volume_ml("right")
    assert saved.report.document["surface"]["watertight"]
    for name in ("left", "right"):  # the openings measured again on the edited labels
        assert saved.report.document["inlets"][name]["area_mm2"] > 10

    with pytest.raises(ConflictError, match="choose another name"):
        editor.save()  # never overwrites

    simulations = SimulationsState(session=geometry.session, variant="no-ethmoid-bridge")
    assert simulations.request().variant == "no-ethmoid-bridge"
    domain = load_domain(repo.layout(project_id).geometry("no-ethmoid-bridge"))
    assert domain is not None


@pytest.mark.slow
def test_edits_that_remove_a_nostril_are_refused_at_save_with_a_fix(tmp_path: Path) -> None:
    ct, _ = bridged_ethmoid()
    repo, project_id, settings = segmented_project(tmp_path, ct)
    geometry = GeometryState(session=SessionState(repository=repo, settings=settings))
    geometry.session.open_project(project_id)
    geometry.reload()
    editor = GeometryEditorState(geometry=geometry)
    inlet = geometry.result.report.document["inlets"]["right"]
    editor.apply(Erase(tuple(inlet["point_lps_mm"]), inlet["radius_mm"] + 3.0))
    with pytest.raises(ValidationError, match="right nostril.*undo"):
        editor.save()
    asyncio.run(editor.save_async())
    assert editor.message_kind == "error" and editor.variants() == ["default"]
    editor.apply(CutSuperior(-100.0))  # everything
    with pytest.raises(ValidationError, match="no left nasal cavity"):
        editor.save()


def test_edits_change_the_viewer_overlay_in_place_and_a_tool_stops_the_crosshair(tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    geometry = GeometryState(session=SessionState(repository=repo, settings=settings))
    editor = GeometryEditorState(geometry=geometry)
    assert not editor.active and editor.labels is None and editor.tool == OFF
    grid = ImageGeometry((30, 40, 50), (0.5, 0.5, 1.0))
    labels = np.zeros(grid.shape, np.uint8)
    labels[5:25, 10:30, 10:40] = 1
    viewer = geometry.viewer
    viewer.volume = CTVolume(np.full(grid.shape, -1000, np.int16), grid)
    editor._labels, editor._grid = labels, grid  # as reset() does from a result
    clicks: list[tuple[float, ...]] = []
    viewer.on_click(lambda _plane, lps, _ijk: clicks.append(lps))

    point = tuple(float(v) for v in grid.index_to_physical((25, 20, 15)))
    editor.apply(Paint(point, 1.5, 2))
    assert viewer.labels is labels and labels[15, 20, 25] == 2  # the overlay is the edited array
    revision = viewer.labels_revision
    editor.apply(Erase(point, 1.5))
    assert viewer.labels_revision == revision + 1 and labels[15, 20, 25] == 0
    assert viewer.labels_image("axial").values.max() == 1  # what the view draws follows the edit
    editor.undo()
    assert viewer.labels_revision == revision + 2 and 2 in viewer.labels_image("axial").values
    assert editor.apply(Erase((900.0, 0.0, 0.0), 1.0)) is None and "changed nothing" in editor.message

    cursor = viewer.cursor
    editor.tool = "erase"
    assert viewer.tool
    viewer.click("axial", 2.0, 3.0)
    assert viewer.cursor == cursor and len(clicks) == 1  # the click went to the tool, the crosshair stayed
    geometry.placing = Placement.LEFT_SEED.value  # placing a seed turns the tool off
    assert editor.tool == OFF and viewer.tool == Placement.LEFT_SEED.value
    editor.tool = "remove-region"
    assert geometry.placing == Placement.CROSSHAIR.value and viewer.tool
    editor.tool = OFF
    assert not viewer.tool
    viewer.click("axial", 2.0, 3.0)
    assert viewer.cursor != cursor
    asyncio.run(editor.click(point))  # the tool off: no edit
    assert editor.revision == 4

    editor.reset()  # the page's result (none here) again
    assert not editor.active and not editor.can_undo and editor.edits == []
    store.close()
