"""The Simulations page never shows a doubted figure without saying so: flags in the table and the message."""

from __future__ import annotations

import datetime as dt
import pathlib
from types import MappingProxyType

from rhinoapp.analysis.plausibility import check_results, flags_document
from rhinoapp.config import Settings
from rhinoapp.state.session import SessionState
from rhinoapp.state.simulations import SimulationRun, SimulationsState
from rhinoapp.store import ProjectRepository, open_store
from rhinoapp.views.simulations_plots import results_table_html

PINCHED = {"pressure_drop_pa": 749.0, "flow_ml_s": {"total": 300.0, "left": 90.0, "right": 210.0},
           "flow_partition_left_pct": 30.0, "resistance_pa_s_per_ml": {"total": 2.5, "left": 8.32, "right": 3.57},
           "max_velocity_m_s": 38.0, "mass_conservation_error": 0.001, "converged": True}
HEALTHY = {"pressure_drop_pa": 15.0, "flow_ml_s": {"total": 250.0, "left": 125.0, "right": 125.0},
           "flow_partition_left_pct": 50.0, "resistance_pa_s_per_ml": {"total": 0.06, "left": 0.12, "right": 0.12},
           "max_velocity_m_s": 5.0, "mass_conservation_error": 0.001, "converged": True}


def _run(run_id: str, results: dict) -> SimulationRun:
    document = {**results, "plausibility": flags_document(check_results(results))}
    return SimulationRun(run_id, pathlib.Path("/nonexistent") / run_id, dt.datetime.now(dt.timezone.utc), None,
                         MappingProxyType(document), (), {}, run_id)


def test_flags_appear_in_the_table_and_the_message(tmp_path: pathlib.Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    try:
        repo = ProjectRepository(store, owner="local")
        session = SessionState(repository=repo)
        session.open_project(repo.create("Pinched").id)
        state = SimulationsState(session=session)
        pinched, healthy = _run("run-pinched", PINCHED), _run("run-healthy", HEALTHY)
        state.runs = [pinched, healthy]
        state.select("run-pinched")
        assert [flag.kind.value for flag in state.flags][:2] == ["peak_velocity", "pressure_drop"]
        rows = {row.key: row for row in state.rows}
        assert rows["pressure_drop_pa"].flag == "implausible" and rows["max_velocity_m_s"].flag == "implausible"
        assert rows["flow_partition_left_pct"].flag == ""
        assert state.message_kind == "warning" and "are implausible" in state.message
        assert "Peak velocity 38 m/s is far outside (implausible)" in state.message
        table = results_table_html(state.rows)
        assert "<th>Plausibility</th>" in table and "implausible: see the warning above" in table

        state.select("run-healthy")
        assert state.flags == [] and all(row.flag == "" for row in state.rows)
        assert state.message_kind == "success" and "implausible" not in state.message
    finally:
        store.close()
