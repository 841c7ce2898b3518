"""The flow sweep: its request, and a sweep through a duct whose resistance law is known.

A straight square duct at low Reynolds number follows the Hagen-Poiseuille law of the square duct,
``dp = mu L Q / (c a^4)`` with ``c = 0.0351443`` (series solution), so ``K1`` is known exactly;
``K2`` comes from the air accelerated from rest at the inlet (ambient pressure): about the dynamic
pressure of the mean flow, ``rho Q^2 / (2 A^2)``, times a kinetic-energy coefficient of order 1-2.
"""

from __future__ import annotations

import pytest

from rhinoapp.analysis.sweep import fit_sweep
from rhinoapp.cfd.config import Direction, PhysicsConfig, RunConfig
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.sweep import run_sweep
from rhinoapp.cfd.sweep_request import SweepPlanItem, SweepRequest
from rhinoapp.core.errors import ValidationError

WIDTH, LENGTH, NU, RHO = 8, 64, 0.004, 1.2  # cells of 1 mm; m2/s (Re 2-13 at 75-400 ml/s); kg/m3
SQUARE_DUCT = 0.0351443  # Q = c a^4 G / mu for a square duct of side a


def test_request_orders_checks_and_round_trips() -> None:
    request = SweepRequest(flows_ml_s=[400, 75, 150, 250], expiration=True, resolution_mm=1.0, max_steps=5000)
    assert request.flows_ml_s == (75.0, 150.0, 250.0, 400.0)
    plan = request.plan()
    assert len(plan) == 8 and plan[0] == SweepPlanItem(75.0, Direction.INSPIRATION)
    assert plan[4] == SweepPlanItem(75.0, Direction.EXPIRATION)
    assert SweepRequest.from_parameters(request.to_parameters()) == request
    assert SweepRequest().flows_ml_s == (75.0, 150.0, 250.0, 400.0) and not SweepRequest().expiration
    # every run of a sweep has a single simulation's flow model: smooth walls unless chosen otherwise
    assert SweepRequest().physics() == SimulationRequest().physics()
    standard = SweepRequest(flow_model="standard")
    assert standard.physics() == SimulationRequest(flow_model="standard").physics() == PhysicsConfig()
    assert SweepRequest.from_parameters(standard.to_parameters()) == standard
    for bad, message in (({"flows_ml_s": (100, 100)}, "at least 2 different"), ({"flows_ml_s": (5, 100)}, "flows_ml_s"),
                         ({"flows_ml_s": ("a", 1)}, "must be numbers"), ({"backend": "fortran"}, "backend"),
                         ({"sweep_id": "../x"}, "sweep_id"), ({"flow_model": "fast"}, "flow_model must be one of")):
        with pytest.raises(ValidationError, match=message):
            SweepRequest(**bad)


def test_sweep_through_a_duct_recovers_the_poiseuille_k1_within_5_percent() -> None:
    """Four flows, each from the previous converged field: K1 of the fit within 5 % of the exact law (measured
    -0.9 %), K2 of the order of the inlet's dynamic pressure (measured 1.5 times it), 13-65 s on 2 shared cores."""
    plan = [SweepPlanItem(q, Direction.INSPIRATION) for q in (75.0, 150.0, 250.0, 400.0)]
    physics = PhysicsConfig(kinematic_viscosity_m2_s=NU, smagorinsky_constant=0.0, sponge_cells=0)
    reports = []
    points = run_sweep(square_duct(WIDTH, LENGTH), plan, RunConfig(backend="numba"), physics=physics,
                       progress=reports.append)
    assert all(p.converged for p in points)
    assert [p.warm_start for p in points] == [False, True, True, True]
    assert max(p.steps for p in points[1:]) < points[0].steps  # a flow-through takes as many steps at any flow
    stages = [r.stage for r in reports]
    assert stages[0] == "flow 1 of 4: 75 ml/s inspiration" and stages[-1] == "flow 4 of 4: 400 ml/s inspiration"
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(0.75 <= r.fraction for r in reports if r.stage.startswith("flow 4"))

    side = 1e-3 * WIDTH
    k1_exact = RHO * NU * LENGTH * 1e-3 / (SQUARE_DUCT * side**4) * 1e-6  # Pa per ml/s
    dynamic = RHO / (2 * side**4) * 1e-12  # Pa per (ml/s)^2
    fit = fit_sweep(points)["total"]
    assert fit.k1 == pytest.approx(k1_exact, rel=0.05), (fit, k1_exact)
    assert 0.5 * dynamic < fit.k2 < 3.0 * dynamic, (fit.k2, dynamic)
    assert fit.r_squared > 0.999
    assert sorted(fit_sweep(points)) == ["left", "total"]  # the duct's only opening counts as the left nostril
