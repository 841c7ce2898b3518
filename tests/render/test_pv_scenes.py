"""The trame panes' PyVista scenes use the colour library's maps and the robust colour ranges of :mod:`rhinoapp.render.colours`."""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.render import scenes
from rhinoapp.render.colours import ABOVE_COLOUR, BELOW_COLOUR, ColourMap, colour_table, robust_range
from rhinoapp.render.loaders import load_scene_data
from rhinoapp.render.pv_scenes import build_scene
from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic


@pytest.fixture
def built(offscreen):
    """Build a scene and close its plotter afterwards."""
    made = []

    def build(spec: SceneSpec):
        scene = build_scene(spec, load_scene_data(spec), width=160, height=120)
        made.append(scene)
        return scene

    yield build
    for scene in made:
        scene.plotter.close()


def _table(actor) -> np.ndarray:
    lookup = actor.GetMapper().GetLookupTable()
    return np.array([lookup.GetTableValue(i)[:3] for i in range(lookup.GetNumberOfTableValues())])


def test_pressure_spans_the_robust_range_in_the_exact_map(built) -> None:
    spec = SceneSpec(synthetic=Synthetic(4000), colouring=Colouring.PRESSURE, lod_triangles=1500)
    scene = built(spec)
    surface = load_scene_data(spec).surface
    expected = robust_range(scenes.array_values(surface, scenes.find_array(surface, ("pressure",))))
    assert len(scene.ranges) == 1
    assert scene.ranges[0].low == pytest.approx(expected.low) and scene.ranges[0].high == pytest.approx(expected.high)
    for actor in (scene.full, scene.lod):  # the decimated mesh keeps the full mesh's range
        assert actor.GetMapper().GetScalarRange() == pytest.approx((expected.low, expected.high))
        np.testing.assert_allclose(_table(actor), colour_table(ColourMap.CIVIDIS), atol=1 / 255)


def test_a_set_range_clips_below_and_above_in_their_own_colours(built) -> None:
    spec = SceneSpec(synthetic=Synthetic(3000), colouring=Colouring.WALL_SHEAR_STRESS, colour_range=(0.2, 0.3))
    scene = built(spec)
    (span,) = scene.ranges
    assert (span.low, span.high) == (0.2, 0.3)
    lookup = scene.full.GetMapper().GetLookupTable()
    np.testing.assert_allclose(_table(scene.full), colour_table(ColourMap.VIRIDIS), atol=1 / 255)
    if span.clipped_below:
        assert lookup.GetUseBelowRangeColor() and lookup.GetBelowRangeColor()[:3] == pytest.approx(BELOW_COLOUR, abs=1 / 255)
    assert span.clipped_above and lookup.GetUseAboveRangeColor()
    assert lookup.GetAboveRangeColor()[:3] == pytest.approx(ABOVE_COLOUR, abs=1 / 255)
    bar = next(iter(scene.plotter.scalar_bars.values()))
    assert bar.GetDrawAboveRangeSwatch()


def test_streamlines_show_both_bars_with_their_ranges(built) -> None:
    spec = SceneSpec(synthetic=Synthetic(6000, with_flow=True), colouring=Colouring.PRESSURE, streamlines=True,
                     velocity_range=(0.0, 0.5))
    scene = built(spec)
    assert len(scene.ranges) == 2
    assert (scene.ranges[1].low, scene.ranges[1].high) == (0.0, 0.5)
    titles = sorted(scene.plotter.scalar_bars.keys())
    assert titles == ["Pressure (Pa)", "Velocity (m/s)"]
    lines = scene.clipped[-1]
    np.testing.assert_allclose(_table(lines), colour_table(ColourMap.MAGMA), atol=1 / 255)
    positions = {bar.GetPosition()[0] for bar in scene.plotter.scalar_bars.values()}
    assert len(positions) == 2  # side by side, not on top of each other
    picture = scene.screenshot()
    assert picture.std() > 5.0


def test_a_scene_built_into_another_draws_as_if_new_in_the_same_window(built) -> None:
    """A new scene for an open pane goes into its window (the page keeps following that window)."""
    from rhinoapp.render.spec import CameraPreset

    pressure = SceneSpec(synthetic=Synthetic(4000), colouring=Colouring.PRESSURE, lod_triangles=1500)
    wss = SceneSpec(synthetic=Synthetic(3000), colouring=Colouring.WALL_SHEAR_STRESS, lod_triangles=1500,
                    camera=CameraPreset.LEFT_LATERAL)
    first = built(pressure)
    window = first.plotter.render_window
    before = first.screenshot().astype(int)
    again = build_scene(wss, load_scene_data(wss), into=first)
    assert again.plotter.render_window is window and len(again.plotter.scalar_bars) == 1
    fresh = built(wss)
    shown, expected = again.screenshot().astype(int), fresh.screenshot().astype(int)
    assert np.abs(shown - expected).mean() < 0.5  # the same picture as a new window's: nothing of the old scene left
    assert np.abs(before - expected).mean() > 5 * max(np.abs(shown - expected).mean(), 0.1)
