"""The measured solver speed kept in the data directory: reused while fresh, measured again when stale."""

from __future__ import annotations

import json
from pathlib import Path

from rhinoapp.cfd.config import FlowModel
from rhinoapp.cfd.throughput import measure_throughput
from rhinoapp.store.throughput import THROUGHPUT_FILE, machine_key, measured_mlups


class Counter:
    """The real measurement (few steps, to keep the tests short), counting its calls and keeping its results."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None, int] | tuple[str, int | None, int, str]] = []
        self.results: list[float] = []

    def __call__(self, backend: str, *, threads: int | None, cells: int, flow_model: FlowModel) -> float:
        self.calls.append((backend, threads, cells) if flow_model is FlowModel.STANDARD
                          else (backend, threads, cells, flow_model.value))
        self.results.append(measure_throughput(backend, threads=threads, cells=cells, steps=4, flow_model=flow_model))
        return self.results[-1]


def test_a_fresh_measurement_is_reused_per_size_and_threads(tmp_path: Path) -> None:
    measure = Counter()
    first = measured_mlups(tmp_path, "numba", fluid_cells=300_000, measure=measure)
    assert first == measure.results[0] > 0
    assert measured_mlups(tmp_path, "numba", fluid_cells=280_000, measure=measure) == first  # same grid size
    assert measure.calls == [("numba", None, 262_144)]
    measured_mlups(tmp_path, "numba", fluid_cells=20_000, measure=measure)  # another size
    measured_mlups(tmp_path, "numba", fluid_cells=20_000, threads=1, measure=measure)  # other threads
    assert [call[1:] for call in measure.calls[1:]] == [(None, 16_384), (1, 16_384)]
    kept = json.loads((tmp_path / THROUGHPUT_FILE).read_text())
    assert machine_key("numba", 1, 16_384) in kept and len(kept) == 3


def test_a_stale_or_unreadable_measurement_is_taken_again(tmp_path: Path) -> None:
    measured_mlups(tmp_path, "numpy", fluid_cells=5_000, measure=Counter())
    later = Counter()
    again = measured_mlups(tmp_path, "numpy", fluid_cells=5_000, max_age_s=0.0, measure=later)
    assert len(later.calls) == 1 and again == later.results[0]
    assert measured_mlups(tmp_path, "numpy", fluid_cells=5_000, measure=later) == again and len(later.calls) == 1
    (tmp_path / THROUGHPUT_FILE).write_text("{not json")
    fresh = Counter()
    assert measured_mlups(tmp_path, "numpy", fluid_cells=5_000, measure=fresh) == fresh.results[0]
    kept = json.loads((tmp_path / THROUGHPUT_FILE).read_text())[machine_key("numpy", None, 16_384)]["mlups"]
    assert kept == fresh.results[0]


def test_a_data_directory_that_cannot_be_written_costs_only_a_measurement(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the data directory should be
    measure = Counter()
    assert measured_mlups(blocked, "numpy", fluid_cells=5_000, measure=measure) == measure.results[0]
    assert measured_mlups(blocked, "numpy", fluid_cells=5_000, measure=measure) == measure.results[1]
    assert len(measure.calls) == 2


def test_each_flow_model_has_its_own_measurement_of_its_own_kernel(tmp_path: Path) -> None:
    """The smooth-walls model's kernel (strain average, bulk rate, interpolated walls) is measured on its own and
    kept under its own key; its extra work per cell shows as fewer updates per second than the standard kernel's."""
    measure = Counter()
    standard = measured_mlups(tmp_path, "numba", fluid_cells=20_000, threads=1, measure=measure)
    smooth = measured_mlups(tmp_path, "numba", fluid_cells=20_000, threads=1, flow_model="smooth_walls",
                            measure=measure)
    assert measure.calls == [("numba", 1, 16_384), ("numba", 1, 16_384, "smooth_walls")]
    kept = json.loads((tmp_path / THROUGHPUT_FILE).read_text())
    assert {machine_key("numba", 1, 16_384), machine_key("numba", 1, 16_384, "smooth_walls")} == set(kept)
    assert 0 < smooth and 0 < standard  # no ratio is asserted: it depends on the load of the moment
    assert measured_mlups(tmp_path, "numba", fluid_cells=20_000, threads=1, flow_model="smooth_walls",
                          measure=measure) == smooth and len(measure.calls) == 2
