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
from rhinoapp.geometry.report import GeometryReport
from rhinoapp.jobs.geometry_task import airway_segmentation
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.segmentation.editing import CutSuperior, Erase, Paint, RemoveRegion, edit_from_dict
from rhinoapp.state.geometry import GeometryState
from rhinoapp.state.geometry_editor import GeometryEditorState, plane_axis, plot_to_lps
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


def test_a_new_result_resets_the_editor_and_edits_only_redraw_the_planes_they_cross(tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    geometry = GeometryState(session=SessionState(repository=repo, settings=settings))
    editor = GeometryEditorState(geometry=geometry)
    assert not editor.active and editor.labels is None
    grid = ImageGeometry((30, 40, 50), (0.5, 0.5, 1.0))
    labels = np.zeros(grid.shape, np.uint8)
    labels[5:25, 10:30, 10:40] = 1
    editor._labels, editor._grid = labels, grid  # as reset() does from a result
    geometry.param.axial.bounds = geometry.param.coronal.bounds = geometry.param.sagittal.bounds = (0, 60)
    geometry.param.update(axial=15, coronal=20, sagittal=2)
    counts = (editor.axial_revision, editor.coronal_revision, editor.sagittal_revision)
    point = tuple(grid.index_to_physical((25, 20, 15)))  # crosses the axial (k 15) and coronal (j 20) slices only
    editor.apply(Paint(point, 1.5, 2))
    assert (editor.axial_revision, editor.coronal_revision, editor.sagittal_revision) == (
        counts[0] + 1, counts[1] + 1, counts[2])
    assert [plane_axis(grid, n) for n in ("axial", "coronal", "sagittal")] == [0, 1, 2]
    assert editor.apply(Erase((900.0, 0.0, 0.0), 1.0)) is None and "changed nothing" in editor.message
    editor.reset()  # the page's result (none here) again
    assert not editor.active and not editor.can_undo and editor.edits == []
    store.close()


def test_plot_positions_map_back_to_the_voxels_the_slices_show() -> None:
    from rhinoapp.state.ct_import import orthogonal_plane

    grid = ImageGeometry((12, 14, 16), (0.5, 0.7, 1.5), (3.0, -4.0, 10.0), (-1, 0, 0, 0, 1, 0, 0, 0, -1))
    values = np.arange(np.prod(grid.shape), dtype=np.int32).reshape(grid.shape)
    volume = CTVolume(values, grid)
    for name, index in (("axial", 5), ("coronal", 9), ("sagittal", 3)):
        plane = orthogonal_plane(volume, name, index)
        rows, cols = plane.hu.shape
        for row, col in ((0, 0), (rows - 1, cols - 1), (rows // 3, cols // 2)):
            x = -plane.width_mm / 2 + (col + 0.5) * plane.width_mm / cols
            y = plane.height_mm / 2 - (row + 0.5) * plane.height_mm / rows
            lps = plot_to_lps(grid, name, index, x, y)
            k, j, i = grid.physical_to_index(lps).round().astype(int)[::-1]
            assert values[k, j, i] == plane.hu[row, col], (name, row, col)
