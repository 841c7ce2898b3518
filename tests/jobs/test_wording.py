"""Job messages in plain language, with the options the job ran with (the Jobs and Simulations pages)."""

from __future__ import annotations

from rhinoapp.core.workflow import JobKind
from rhinoapp.jobs.wording import describe_options, describe_summary
from rhinoapp.state.job_summary import summarise
from rhinoapp.store.jobs import JobStore


def test_no_key_value_text_reaches_the_user() -> None:
    sentence = describe_summary([("converged", False), ("plausibility", ["the peak velocity is high"]),
                                 ("pressure_drop_pa", 31.0), ("run_id", "run-9")])
    assert sentence == ("Pressure drop 31 Pa, the flow did not become steady in the steps allowed, "
                        "to check: the peak velocity is high (run run-9).")
    assert "_" not in describe_summary([("left_volume_ml", 9.81), ("right_mcsa_cm2", 0.52), ("new_figure", 2)])
    assert describe_options({"variant": "default", "flows_ml_s": [75, 150], "expiration": True,
                             "resolution_mm": 1.0, "sweep_id": "s1"}) == (
        "flows 75, 150 ml/s, with expiration, resolution 1 mm, backend chosen where it runs")


def test_a_job_row_shows_the_options_used(repo, store) -> None:
    project = repo.create("Case 1")
    record = JobStore(store).create(owner=repo.owner, project_id=project.id, kind=JobKind.SIMULATION,
                                    profile="local", parameters={"flow_ml_s": 250.0, "direction": "expiration",
                                                                 "resolution_mm": 0.75, "backend": "numba"})
    assert summarise(record).options == "flow 250 ml/s, expiration, resolution 0.75 mm, backend numba"
