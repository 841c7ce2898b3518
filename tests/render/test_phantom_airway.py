"""The real pipeline's files render right: phantom CT -> segmentation -> airway.vtp, in LPS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rhinoapp.render.spec import CameraPreset, Colouring, SceneSpec
from tests.render.test_scenes import render


@pytest.fixture(scope="module")
def airway_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from rhinoapp.geometry import SurfaceOptions, build_geometry, write_vtp
    from rhinoapp.phantom import PhantomParams, generate_phantom
    from rhinoapp.segmentation import SegmentationOptions, segment_airway
    from rhinoapp.volumes import write_volume

    folder = tmp_path_factory.mktemp("phantom")
    phantom = generate_phantom(PhantomParams(spacing_mm=1.0))
    geometry = build_geometry(segment_airway(phantom.ct, SegmentationOptions()), SurfaceOptions(target_triangles=30_000))
    write_vtp(geometry.surface, folder / "airway.vtp")
    write_volume(phantom.ct, folder / "ct.nii.gz")
    return folder / "airway.vtp", folder / "ct.nii.gz"


def test_nostrils_seen_from_below_follow_the_radiological_convention(offscreen, airway_files) -> None:
    """From below, anterior up: the patient's left nostril (face 1, blue) is on the picture's right."""
    surface, _ct = airway_files
    pixels = render(SceneSpec(surface=surface, colouring=Colouring.FACES, camera=CameraPreset.AXIAL_FROM_BELOW,
                              markers=False)).astype(int)
    assert pixels.std() > 20
    blue = (pixels[..., 2] > 180) & (pixels[..., 0] < 120)
    green = (pixels[..., 1] > 150) & (pixels[..., 0] < 120) & (pixels[..., 2] < 150)
    assert blue.sum() > 30 and green.sum() > 30, "nostrils not drawn in their face colours"
    assert np.nonzero(blue)[1].mean() > pixels.shape[1] / 2 > np.nonzero(green)[1].mean()
    assert np.nonzero(blue)[0].mean() < pixels.shape[0] / 2  # anterior (the nostrils) at the top


def test_ct_slices_sit_on_the_airway(offscreen, airway_files) -> None:
    surface, ct = airway_files
    with_slices = render(SceneSpec(surface=surface, volume=ct, slices=True, camera=CameraPreset.LEFT_LATERAL))
    without = render(SceneSpec(surface=surface, camera=CameraPreset.LEFT_LATERAL))
    grey = (np.abs(with_slices[..., 0].astype(int) - with_slices[..., 2]) < 8) & (with_slices[..., 0] > 60)
    assert grey.mean() > 0.2, "no CT slice behind the airway"
    assert np.abs(with_slices.astype(int) - without).mean() > 10
