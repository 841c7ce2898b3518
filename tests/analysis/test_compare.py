"""Simulation vs 4PR: resistances at equal side flow from the Rohrer fit, partition, missing data."""

from __future__ import annotations

import json

import pytest

from rhinoapp.analysis import Comparison, compare_with_rhinomanometry
from rhinoapp.cfd import SimulationResults
from rhinoapp.rhinomanometry import RhinomanometryParameters, analyse
from rhinoapp.rhinomanometry.synthetic import generate


def test_resistances_compare_at_the_simulated_side_flow() -> None:
    synthetic = generate(duration_s=12.0, seed=3)
    parameters = json.loads(json.dumps(analyse(synthetic.measurement).as_dict()))
    results = SimulationResults.from_document({"pressure_drop_pa": 30.0, "flow_partition_left_pct": 60.0,
                                               "flow_ml_s": {"total": 250.0, "left": 150.0, "right": 100.0}})
    typed = RhinomanometryParameters.from_json(RhinomanometryParameters.from_analysis(analyse(synthetic.measurement)).to_json())
    rows = {row.quantity: row for row in compare_with_rhinomanometry(results, typed)}
    left = rows["Resistance left"]
    assert left.simulated == pytest.approx(30.0 / 150.0)
    k1, k2 = (parameters["sides"][0]["rohrer"][k] for k in ("k1", "k2"))
    assert left.measured == pytest.approx(k1 + k2 * 150.0)
    assert left.ratio == pytest.approx(left.simulated / left.measured)
    assert rows["R150 left (4PR)"].measured == pytest.approx(parameters["sides"][0]["summary"]["r150"]["mean"])
    partition = rows["Flow through the left side"]
    assert partition.simulated == 60.0 and 0 < partition.measured < 100


def test_missing_measurement_parts_are_explained() -> None:
    results = SimulationResults.from_document({"pressure_drop_pa": 10.0, "flow_ml_s": {"left": 0.0, "right": 100.0}})
    rows = compare_with_rhinomanometry(results, None)
    left, right = rows[0], rows[1]
    assert left.simulated is None and left.ratio is None
    assert right.measured is None and "no Rohrer fit" in right.note
    assert Comparison.from_json(Comparison("run-1", None, tuple(rows)).to_json()).rows == tuple(rows)


def test_results_without_a_pressure_drop_are_refused() -> None:
    from rhinoapp.core.errors import ValidationError

    with pytest.raises(ValidationError, match="results.json lacks pressure_drop_pa"):
        SimulationResults.from_json(b'{"flow_ml_s": {}}')
