"""Colour ranges and maps of the 3D views: a few extreme cells must not turn the airway one colour."""

from __future__ import annotations

import numpy as np
import pytest
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy

from rhinoapp.core.errors import RhinoappError
from rhinoapp.render import scenes, synthetic
from rhinoapp.render.colours import ColourMap, ColourRange, colour_table, robust_range
from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic


def _with_outliers(values: np.ndarray, fraction: float = 0.001, size: float = 1e4) -> np.ndarray:
    """``values`` with ``fraction`` of them (at least one) replaced by huge spikes, half up and half down."""
    spiked = values.astype(float).copy()
    count = max(2, int(round(fraction * values.size)))
    where = np.random.default_rng(7).choice(values.size, count, replace=False)
    spiked[where[: count // 2]] = values.max() + size * np.ptp(values)
    spiked[where[count // 2:]] = values.min() - size * np.ptp(values)
    return spiked


def _bins(values: np.ndarray, colour_range: tuple[float, float], bins: int = 256) -> np.ndarray:
    """How many values fall into each colour of a 256-colour table over ``colour_range`` (clipped at its ends)."""
    low, high = colour_range
    index = np.clip(((values - low) / (high - low) * bins).astype(int), 0, bins - 1)
    return np.bincount(index, minlength=bins)


def test_a_field_with_extreme_cells_still_spreads_the_colours() -> None:
    field = np.random.default_rng(1).normal(0.0, 1.0, 20_000)
    spiked = _with_outliers(field)
    naive = (float(spiked.min()), float(spiked.max()))
    robust = robust_range(spiked)
    # with the full range, nearly every cell gets the same colour; with the robust one they spread
    assert np.sort(_bins(spiked, naive))[-2:].sum() > 0.95 * spiked.size  # two colours for the whole airway
    used = _bins(spiked, (robust.low, robust.high))
    assert np.count_nonzero(used) > 200 and used.max() < 0.05 * spiked.size
    assert robust.low == pytest.approx(np.percentile(field, 2), abs=0.05)
    assert robust.high == pytest.approx(np.percentile(field, 98), abs=0.05)
    assert robust.clipped_below and robust.clipped_above and robust.note.startswith("clipped at ")


def test_a_user_range_is_kept_and_a_reversed_one_refused() -> None:
    values = np.linspace(-10.0, 50.0, 1000)
    assert (robust_range(values, fixed=(0.0, 20.0)).low, robust_range(values, fixed=(0.0, 20.0)).high) == (0.0, 20.0)
    assert robust_range(values, fixed=(-100.0, 100.0)).note == ""
    with pytest.raises(RhinoappError, match="enter the range again"):
        ColourRange(5.0, 1.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="lower value below the upper one"):
        SceneSpec(synthetic=Synthetic(1000), colour_range=(3.0, 3.0))


@pytest.mark.parametrize("colour_map", list(ColourMap))
def test_maps_are_the_colour_library_tables(colour_map: ColourMap) -> None:
    from matplotlib import colormaps

    reference = np.asarray(colormaps[colour_map.value].colors)[:, :3]
    assert np.allclose(colour_table(colour_map), reference)
    table = scenes.lookup_table(colour_map, ColourRange(0.0, 1.0, 0.0, 1.0))
    assert table.GetNumberOfTableValues() == 256
    stored = [table.GetTableValue(i)[:3] for i in (0, 77, 255)]  # VTK keeps 8 bits a channel
    assert np.allclose(stored, reference[[0, 77, 255]], atol=1 / 255)


def test_lightness_rises_monotonically_in_the_sequential_maps() -> None:
    """Perceptually uniform sequential maps: the lightness (here the luma) only grows along the table."""
    for colour_map in ColourMap:
        rgb = colour_table(colour_map)
        luma = rgb @ np.array([0.2126, 0.7152, 0.0722])
        assert np.all(np.diff(luma) > -1e-3), colour_map


def _spiked_surface(name: str = "pressure"):
    surface = synthetic.airway_surface(5_000)
    array = surface.GetPointData().GetArray(name)
    values = vtk_to_numpy(array).astype(float)
    spiked = numpy_to_vtk(_with_outliers(values), deep=True)
    spiked.SetName(name)
    surface.GetPointData().RemoveArray(name)
    surface.GetPointData().AddArray(spiked)
    return surface, values


@pytest.mark.parametrize(("colouring", "name"), [(Colouring.PRESSURE, "pressure"),
                                                  (Colouring.WALL_SHEAR_STRESS, "wss")])
def test_the_scene_lookup_table_spans_the_airway_not_the_outliers(colouring: Colouring, name: str) -> None:
    surface, clean = _spiked_surface(name)
    actor, bar = scenes.surface_actor(surface, colouring)
    table = actor.GetMapper().GetLookupTable()
    low, high = table.GetRange()
    spiked = vtk_to_numpy(surface.GetPointData().GetArray(name)).astype(float)
    assert low >= clean.min() - 1e-9 and high <= clean.max() + 1e-9  # inside the airway's own values
    assert _bins(spiked, (low, high)).max() < 0.2 * spiked.size
    assert table.GetUseAboveRangeColor() and table.GetUseBelowRangeColor()
    assert bar is not None and bar.GetDrawAboveRangeSwatch() and bar.GetDrawBelowRangeSwatch()
