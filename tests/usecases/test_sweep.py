"""The flow sweep as ``rhinoapp sweep`` and the sweep job run it: its spacing, as a single simulation's."""

from __future__ import annotations

from pathlib import Path

from rhinoapp.analysis.sweep import SweepResults, sweep_doubts
from rhinoapp.cfd.resolution import choose_resolution
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.sweep_request import SweepRequest
from rhinoapp.core.layout import SimulationFolder
from rhinoapp.usecases.sweep import run_flow_sweep


def test_a_sweep_without_a_spacing_runs_at_the_resolution_rules_as_a_single_run_would(tmp_path: Path) -> None:
    """Before, a sweep without a spacing ran at the label map's voxel size (0.5 mm here, five times the cells of the
    rule's 0.9 mm; a label map of non-cubic voxels was refused)."""
    duct = square_duct(12, 30, spacing_mm=0.5)
    rule = choose_resolution(duct).resolution_mm
    assert rule == 0.9
    for given, expected in ((None, rule), (1.5, 1.5)):
        request = SweepRequest(flows_ml_s=(20.0, 40.0), expiration=True, resolution_mm=given, max_steps=150,
                               backend="numba")
        out = tmp_path / f"sweep-{given}"
        results = run_flow_sweep(duct, request, out, sweep_id=out.name)
        assert results.resolution_mm == expected and len(results.points) == 4
        assert SweepResults.from_json(SimulationFolder(out).sweep.read_bytes()) == results  # the flags as well
        assert results.accuracy.startswith("Checked against an independent solver")  # the default flow model's
        kinds = [{flag["kind"] for flag in point.flags} for point in results.points]
        # 150 steps: no run is steady; a spacing coarser than the rule's is flagged on every run, the rule's on none
        assert all("steady_state" in run for run in kinds), kinds
        assert [("resolution" in run) for run in kinds] == [given is not None] * 4, kinds
        doubts = {doubt.flag.kind.value: doubt.runs for doubt in sweep_doubts(results)}
        assert doubts["steady_state"] == ("20 ml/s inspiration", "40 ml/s inspiration", "20 ml/s expiration",
                                          "40 ml/s expiration")
