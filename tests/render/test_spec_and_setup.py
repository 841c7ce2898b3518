"""Scene specs, the offscreen check, the file loaders, and what the render package may import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.render import offscreen as offscreen_module
from rhinoapp.render.spec import Axis, CameraPreset, ClipPlane, Colouring, SceneSpec


def test_spec_round_trips_through_json_and_checks_its_inputs(tmp_path) -> None:
    spec = SceneSpec(surface=tmp_path / "airway.vtp", volume=tmp_path / "ct.nii.gz", slices=True,
                     colouring=Colouring.WALL_SHEAR_STRESS, clip=ClipPlane(Axis.Z, 0.3, flip=True),
                     camera=CameraPreset.AXIAL_FROM_BELOW, revision="7")
    assert SceneSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValidationError, match="needs an airway surface"):
        SceneSpec()
    with pytest.raises(ValidationError, match="CT slices need a CT volume"):
        SceneSpec(surface="a.vtp", slices=True)
    with pytest.raises(ValidationError, match="streamlines need a flow field"):
        SceneSpec(surface="a.vtp", streamlines=True)
    with pytest.raises(ValidationError, match="unknown scene options"):
        SceneSpec.from_dict({"surface": "a.vtp", "colour": "red"})


def test_offscreen_check_finds_a_backend(offscreen) -> None:
    assert offscreen.backend in offscreen_module.Backend and offscreen.renderer


def test_offscreen_check_explains_what_to_install(monkeypatch) -> None:
    monkeypatch.setattr(offscreen_module, "_probe", lambda backend, timeout: (None, f"{backend.value}: signal 11"))
    with pytest.raises(offscreen_module.RenderError) as error:
        offscreen_module.check_offscreen()
    assert isinstance(error.value, RhinoappError)
    message = str(error.value)
    assert "libegl1 libegl-mesa0 libgl1-mesa-dri" in message and "libosmesa6" in message and "signal 11" in message


def test_files_are_read_in_lps(offscreen, tmp_path) -> None:
    from vtkmodules.vtkIOXML import vtkXMLImageDataWriter, vtkXMLPolyDataWriter

    from rhinoapp.render import synthetic
    from rhinoapp.render.loaders import load_scene_data, read_volume
    from rhinoapp.volumes import write_volume

    writer = vtkXMLPolyDataWriter()
    writer.SetFileName(str(tmp_path / "airway.vtp"))
    writer.SetInputData(synthetic.airway_surface(3000))
    writer.Write()
    flow_writer = vtkXMLImageDataWriter()
    flow_writer.SetFileName(str(tmp_path / "fields.vti"))
    flow_writer.SetInputData(synthetic.flow_field(spacing_mm=5.0))
    flow_writer.Write()
    ct = synthetic.ct_volume(spacing_mm=5.0)
    write_volume(ct, tmp_path / "ct.nii.gz")
    data = load_scene_data(SceneSpec(surface=tmp_path / "airway.vtp", volume=tmp_path / "ct.nii.gz",
                                     flow=tmp_path / "fields.vti", slices=True, streamlines=True))
    assert data.surface.GetNumberOfCells() > 2500 and data.flow is not None
    assert data.volume is not None and np.array_equal(data.volume.hu, ct.hu)
    assert np.allclose(data.volume.geometry.origin_mm, ct.geometry.origin_mm)
    (tmp_path / "ct.raw").write_bytes(b"")
    with pytest.raises(RhinoappError, match="use .vti, .nii.gz or .nrrd"):
        read_volume(str(tmp_path / "ct.raw"))
    with pytest.raises(RhinoappError, match="does not exist: run the step that makes it"):
        read_volume(str(tmp_path / "missing.nii.gz"))


def test_render_package_does_not_load_panel_or_bokeh() -> None:
    code = ("import sys, rhinoapp.render.trame_service, rhinoapp.render.trame_proxy, rhinoapp.render.trame_app, rhinoapp.render.plugin; "
            "print(sorted(m for m in ('panel', 'bokeh', 'rhinoapp.state', 'rhinoapp.views', 'rhinoapp.jobs') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
