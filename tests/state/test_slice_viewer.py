"""The slice-viewer model: LPS millimetres on any grid, linked crosshairs, window, clicks (no display)."""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.state.slice_viewer import PLANES, WINDOWS, DisplayGrid, SliceViewerState, dragged_window


def _volume(geometry: ImageGeometry) -> CTVolume:
    """Every voxel's HU encodes its index: ``i + 100 j + 10000 k``."""
    k, j, i = np.indices(geometry.shape)
    return CTVolume((i + 100 * j + 10000 * k).astype(np.int32), geometry)


def _rotation(degrees: float) -> tuple[float, ...]:
    """Voxel axes turned about the patient's z axis (an oblique, non axis-aligned volume)."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return (c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)


ANISOTROPIC = ImageGeometry((20, 30, 40), (0.59, 0.59, 1.5), (-11.8, 40.2, -63.0),
                            (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0))  # x and z flipped
OBLIQUE = ImageGeometry((12, 25, 30), (0.5, 0.8, 2.0), (5.0, -3.0, 12.0), _rotation(30.0))


@pytest.mark.parametrize("geometry", [ANISOTROPIC, OBLIQUE], ids=["anisotropic-flipped", "oblique"])
def test_voxel_and_lps_round_trip_and_the_readout_names_the_voxel(geometry: ImageGeometry) -> None:
    viewer = SliceViewerState(volume=_volume(geometry))
    rng = np.random.default_rng(3)
    for ijk in zip(*(rng.integers(0, n, 20) for n in geometry.shape[::-1])):
        ijk = tuple(int(v) for v in ijk)
        lps = viewer.centre_of(ijk)
        assert np.allclose(lps, geometry.index_to_physical(ijk), atol=1e-3)
        assert viewer.voxel_at(lps) == ijk
        # a point inside the voxel, a third of a voxel off its centre along each axis
        inside = geometry.index_to_physical(np.asarray(ijk) + np.array([0.3, -0.3, 0.3]))
        assert viewer.voxel_at(inside) == ijk
    assert viewer.voxel_at(geometry.index_to_physical((-1, 0, 0))) is None
    ijk = (3, 7, 5)
    x, y, z = viewer.centre_of(ijk)
    viewer.cursor = (x, y, z)
    text = viewer.hover("coronal", x, z)
    assert viewer.readout == text
    shown = viewer.voxel_at((x, viewer.position("coronal"), z))
    assert text.endswith(f"HU {shown[0] + 100 * shown[1] + 10000 * shown[2]} · voxel {shown[0]}, {shown[1]}, {shown[2]}")
    assert text.startswith("L ") and " P " in text and " S " in text and " mm · HU " in text


def test_an_axis_aligned_view_shows_every_voxel_once_at_its_lps_position() -> None:
    viewer = SliceViewerState(volume=_volume(ANISOTROPIC))
    grid = viewer.grid
    assert grid.step == (0.59, 0.59, 1.5) and grid.count == (40, 30, 20)
    assert grid.lower == pytest.approx((-11.8 - 39 * 0.59, 40.2, -63.0 - 19 * 1.5))
    sagittal = viewer.image("sagittal")  # horizontal y (anterior left), vertical z (superior at top)
    assert sagittal.values.shape == (20, 30) and not np.isnan(sagittal.values).any()
    top_left = sagittal.values[0, 0]
    i, j, k = int(top_left) % 100, int(top_left) // 100 % 100, int(top_left) // 10000
    assert (j, k) == (0, 0)  # most anterior row j = 0; the z axis is flipped: k = 0 is the most superior slice
    assert np.allclose(viewer.centre_of((i, j, k))[0], viewer.position("sagittal"))
    left, bottom, right, top = sagittal.bounds
    assert (right - left, top - bottom) == pytest.approx((30 * 0.59, 20 * 1.5))
    assert left == pytest.approx(40.2 - 0.59 / 2) and top == pytest.approx(-63.0 + 1.5 / 2)


def test_an_oblique_volume_is_sampled_at_the_voxel_under_each_pixel() -> None:
    viewer = SliceViewerState(volume=_volume(OBLIQUE))
    axial = viewer.image("axial")
    grid = viewer.grid
    xs, ys = grid.coordinates(0), grid.coordinates(1)[::-1]
    checked = 0
    for row in range(0, len(ys), 3):
        for col in range(0, len(xs), 3):
            ijk = viewer.voxel_at((xs[col], ys[row], viewer.position("axial")))
            value = axial.values[row, col]
            if ijk is None:
                assert np.isnan(value)
            else:
                assert value == ijk[0] + 100 * ijk[1] + 10000 * ijk[2]
                checked += 1
    assert checked > 50 and np.isnan(axial.values).any()  # the rotated box leaves corners empty


def test_crosshairs_are_linked_across_the_three_views() -> None:
    viewer = SliceViewerState(volume=_volume(ANISOTROPIC))
    ijk = (10, 20, 4)
    viewer.axial = viewer.grid.index(2, viewer.centre_of(ijk)[2])  # scroll to the voxel's slice, then click it
    lps, clicked = viewer.click("axial", *_in_plane(viewer, "axial", ijk))
    assert clicked == ijk and viewer.cursor == lps
    for name, (_, _, normal) in PLANES.items():
        assert viewer.position(name) == pytest.approx(lps[normal])  # every view passes through the point
    viewer.sagittal = viewer.sagittal + 2  # moving a slider moves the crosshair in the other views
    assert viewer.cursor[0] == pytest.approx(lps[0] + 2 * 0.59) and viewer.cursor[1:] == lps[1:]
    viewer.tool = "brush"
    seen = []
    viewer.on_click(lambda plane, point, index: seen.append((plane, point, index)))
    before = viewer.cursor
    result = viewer.click("coronal", *_in_plane(viewer, "coronal", (3, viewer.grid.index(1, before[1]), 7)))
    assert viewer.cursor == before and seen == [("coronal", *result)]  # a tool keeps the crosshair where it is
    assert viewer.click("coronal", 1e4, 1e4) is None and len(seen) == 1


def _in_plane(viewer: SliceViewerState, name: str, ijk: tuple[int, int, int]) -> tuple[float, float]:
    """Where the centre of voxel ``ijk`` shows on view ``name`` (off by a quarter voxel, as a hand clicks)."""
    h, v, _ = PLANES[name]
    point = viewer.volume.geometry.index_to_physical(np.asarray(ijk) + 0.25)
    return float(point[h]), float(point[v])


def test_window_presets_and_dragging() -> None:
    viewer = SliceViewerState(volume=_volume(ANISOTROPIC))
    assert viewer.window_range == (-1000.0, 0.0)
    viewer.preset = "soft tissue"
    assert (viewer.level, viewer.width) == WINDOWS["soft tissue"]
    width_mm = viewer.grid.step[0] * viewer.grid.count[0]
    viewer.drag("coronal", 0, 0.0, 0.0)  # the start of a drag
    viewer.drag("coronal", 0, width_mm / 4, 0.0)
    assert (viewer.preset, viewer.level, viewer.width) == ("custom", 40.0, 900.0)
    viewer.drag("coronal", 0, width_mm / 4, 3.0)  # up by 3 mm of a 30 mm view: +100 HU
    assert viewer.level == pytest.approx(140.0) and viewer.width == 900.0
    viewer.drag("axial", 1, 0.0, 0.0)  # a new drag on the axial view, whose y axis grows downwards
    viewer.drag("axial", 1, 0.0, viewer.grid.step[1] * viewer.grid.count[1] / 10)
    assert viewer.level == pytest.approx(40.0)
    assert dragged_window(0.0, 10.0, -5.0, 10.0) == (3000.0, 1.0)  # clipped to sensible windows
    viewer.preset = "air"
    assert viewer.window_range == (-1000.0, 0.0)


def test_labels_on_another_grid_are_not_drawn_and_no_volume_clears_the_views() -> None:
    viewer = SliceViewerState(volume=_volume(ANISOTROPIC))
    viewer.labels = np.ones((2, 2, 2), np.uint8)
    assert viewer.labels_image("axial") is None
    viewer.labels = np.zeros(ANISOTROPIC.shape, np.uint8)
    viewer.labels[4, 20, 10] = 3
    viewer.cursor = viewer.centre_of((10, 20, 4))
    assert (viewer.labels_image("axial").values == 3).sum() == 1
    viewer.volume = None
    assert viewer.image("axial") is None and viewer.grid is None and viewer.axial == 0
    assert DisplayGrid.of(OBLIQUE).step == (0.5, 0.8, 2.0)
