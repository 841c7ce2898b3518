"""Image regression of the panes' scenes (:mod:`rhinoapp.render.pv_scenes`): offscreen renders (320x240) against stored references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rhinoapp.render.spec import Axis, CameraPreset, ClipPlane, Colouring, SceneSpec, Synthetic
from tests.render.conftest import assert_matches_reference

SIZE = (320, 240)
SURFACE = Synthetic(30_000)

SCENES = {
    # name: (spec, lod: the decimated mesh shown while the user drags)
    "faces-anterior": (SceneSpec(synthetic=SURFACE, colouring=Colouring.FACES), False),
    "pressure-left": (SceneSpec(synthetic=SURFACE, colouring=Colouring.PRESSURE, camera=CameraPreset.LEFT_LATERAL), False),
    "wss-below": (SceneSpec(synthetic=SURFACE, colouring=Colouring.WALL_SHEAR_STRESS,
                            camera=CameraPreset.AXIAL_FROM_BELOW), False),
    "ct-slices-right": (SceneSpec(synthetic=Synthetic(30_000, with_ct=True), slices=True,
                                  camera=CameraPreset.RIGHT_LATERAL), False),
    "streamlines-left": (SceneSpec(synthetic=Synthetic(30_000, with_flow=True), streamlines=True,
                                   colouring=Colouring.SOLID, camera=CameraPreset.LEFT_LATERAL), False),
    "clip-sagittal-left": (SceneSpec(synthetic=SURFACE, clip=ClipPlane(Axis.X, 0.5), camera=CameraPreset.LEFT_LATERAL), False),
    "lod-anterior": (SceneSpec(synthetic=SURFACE, lod_triangles=3_000), True),
}


def render(spec: SceneSpec, *, lod: bool = False) -> np.ndarray:
    """The pane's picture of ``spec`` (``lod``: the decimated mesh, as while the user drags)."""
    from rhinoapp.render.loaders import load_scene_data
    from rhinoapp.render.pv_scenes import build_scene

    scene = build_scene(spec, load_scene_data(spec), width=SIZE[0], height=SIZE[1])
    try:
        if not lod:
            return scene.screenshot().copy()
        scene.set_lod(True)
        scene.plotter.render_window.Render()
        return np.asarray(scene.plotter.screenshot(return_img=True))[..., :3].copy()
    finally:
        scene.plotter.close()


@pytest.mark.parametrize("name", list(SCENES))
def test_scene_matches_reference(name: str, offscreen, output_dir: Path) -> None:
    spec, lod = SCENES[name]
    pixels = render(spec, lod=lod)
    assert pixels.shape == (SIZE[1], SIZE[0], 3)
    assert pixels.std() > 10, "the render is blank"
    assert_matches_reference(pixels, name, output_dir)


def test_presets_give_different_pictures(offscreen) -> None:
    images = [render(SceneSpec(synthetic=Synthetic(5_000), camera=p)) for p in CameraPreset]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert np.abs(images[i].astype(int) - images[j]).mean() > 3, (list(CameraPreset)[i], list(CameraPreset)[j])


def test_lod_differs_little_from_the_full_mesh(offscreen) -> None:
    spec = SceneSpec(synthetic=Synthetic(60_000), lod_triangles=8_000)
    full = render(spec)
    lod = render(spec, lod=True)
    difference = np.abs(full.astype(int) - lod).mean()
    assert 0 < difference < 6, difference  # a coarser mesh, the same picture


def test_left_is_on_the_right_of_the_anterior_view(offscreen) -> None:
    """LPS: in the anterior view the patient's left nostril (blue, face 1) is on the picture's right."""
    pixels = render(SceneSpec(synthetic=Synthetic(20_000), colouring=Colouring.FACES, markers=False)).astype(int)
    blue = (pixels[..., 2] > 180) & (pixels[..., 0] < 120)
    green = (pixels[..., 1] > 150) & (pixels[..., 0] < 120) & (pixels[..., 2] < 150)
    assert blue.sum() > 50 and green.sum() > 50
    assert np.nonzero(blue)[1].mean() > SIZE[0] / 2 > np.nonzero(green)[1].mean()


def test_simulation_outputs_with_point_faces_and_unit_names(offscreen) -> None:
    """The simulation writes ``face`` as point data and ``pressure_pa``/``wss_pa``/``velocity_m_s``."""
    from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy

    from rhinoapp.render import scenes, synthetic

    surface = synthetic.airway_surface(5_000)
    cell_face = vtk_to_numpy(surface.GetCellData().GetArray("face"))
    point_face = np.zeros(surface.GetNumberOfPoints(), dtype=np.int32)
    triangles = vtk_to_numpy(surface.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    for code in (1, 2, 3):
        point_face[triangles[cell_face == code].ravel()] = code  # every point of an opening
    surface.GetCellData().RemoveArray("face")
    array = numpy_to_vtk(point_face, deep=True)
    array.SetName("face")
    surface.GetPointData().AddArray(array)
    for old, new in (("pressure", "pressure_pa"), ("wss", "wss_pa")):
        surface.GetPointData().GetArray(old).SetName(new)
    flow = synthetic.flow_field(spacing_mm=4.0)
    flow.GetPointData().GetArray("velocity").SetName("velocity_m_s")
    actor, bar = scenes.surface_actor(surface, Colouring.WALL_SHEAR_STRESS)
    assert bar is not None and actor.GetMapper().GetArrayName() == "wss_pa"
    faces, _ = scenes.surface_actor(surface, Colouring.FACES)
    assert faces.GetMapper().GetArrayName() == "face" and faces.GetMapper().GetScalarVisibility()
    lines, _ = scenes.streamline_actor(flow, surface, per_nostril=10)
    assert lines.GetMapper().GetInput().GetNumberOfLines() >= 10
