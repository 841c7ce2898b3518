"""A canonical check with a known answer: how viscous is rhinoapp's lattice model in laminar duct flow?

A square duct of ``W`` cells, periodic along its axis and driven by a body force ``F``, is started
from its exact fully developed laminar profile (series solution) with a peak lattice speed of 0.1,
at the relaxation time, TRT magic parameter and Smagorinsky constant of a production run (defaults:
tau 0.501224, magic 6.12e-4, as ``rhinoapp simulate`` chooses at 0.8 mm on the hard phantom). A
model that holds the exact profile keeps the mean speed constant; one with an effective viscosity
of ``(1 + r)`` times the molecular one decelerates at first by ``du/dt = -r F``. The script reports
``r`` for each Smagorinsky constant: the subgrid model's added viscosity in a laminar, resolved
shear flow, where it should add none.

``--developing`` runs the second check, through ``rhinoapp.cfd.simulation.simulate`` as a run of
the app would (open ends, sponge, start-up ramp): a 6 mm square duct of ``W`` cells, 2.2 m/s mean
(the nasal valve's mean speed at 250 ml/s), air or ``--nu``. Laminar flow there has no transverse
velocity (but for the displacement of the growing boundary layers, about 1 % of the mean there), a peak at
most 2.10 times the mean, and, once developed, the pressure gradient ``4 (14.227 / Re) / D * rho U^2 / 2``
(Shah and London); the script reports the three. At Re 880 the entrance length (about ``0.05 Re D``,
260 mm) exceeds the duct: between 45 and 80 % of its length the laminar flow is still developing, and
its gradient there is ``developing_ratio`` times the developed one (1.66; Shah's apparent-friction
correlation, :func:`developing_gradient_ratio`), which is the laminar target of the measured
``gradient_ratio``. The fields are one snapshot: ``outlet_pressure_swing`` (the range of the
check-interval means of the pressure drop over the last 20 checks, relative to their mean) says how
much a standing acoustic wave moves them.

Run::

    PYTHONPATH=. .venv/bin/python validation/lbm_duct_check.py --width 8 --smagorinsky 0,0.05,0.1,0.15
    PYTHONPATH=. .venv/bin/python validation/lbm_duct_check.py --developing --width 8 --smagorinsky 0.15,0
    PYTHONPATH=. .venv/bin/python validation/lbm_duct_check.py --developing --width 8 --smagorinsky 0.15 --bulk 1
    PYTHONPATH=. .venv/bin/python validation/lbm_duct_check.py --developing --width 8 --smagorinsky 0.15 \
        --subgrid shear_improved --average 0.25
    PYTHONPATH=. .venv/bin/python validation/lbm_duct_check.py --developing --width 8 --smagorinsky 0 --bulk 1 \
        --set regularization=recursive --set max_lattice_velocity=0.05

Examples
--------
>>> round(float(duct_profile(np.array([0.0]), np.array([0.0]), 1.0, 1.0, 1.0)[0]), 4)   # centre, unit half-width
0.2947
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np

_log = logging.getLogger("lbm_duct_check")


def duct_profile(x: np.ndarray, y: np.ndarray, half: float, force: float, nu: float) -> np.ndarray:
    """Fully developed laminar speed in a square duct ``|x|, |y| < half`` driven by ``force`` (series)."""
    u = np.zeros_like(np.asarray(x, dtype=np.float64))
    for n in range(1, 200, 2):
        k = n * math.pi / (2 * half)
        u += (-1) ** ((n - 1) // 2) / n**3 * (1 - np.cosh(k * y) / np.cosh(k * half)) * np.cos(k * x)
    return 16 * force * half**2 / (nu * math.pi**3) * u


def developing_gradient_ratio(x1_mm: float, x2_mm: float, diameter_mm: float, reynolds: float) -> float:
    """Mean laminar pressure gradient between ``x1`` and ``x2`` from a uniform entry of a square duct, over the
    developed one (Shah's apparent-friction correlation: ``K(inf) = 1.43``, ``C = 0.00029``, ``f Re = 14.227``).

    Examples
    --------
    >>> round(developing_gradient_ratio(34.0, 60.0, 6.0, 880.0), 2)
    1.66
    >>> round(developing_gradient_ratio(3000.0, 4000.0, 6.0, 10.0), 3)   # far downstream: developed
    1.0
    """
    def apparent(x: float) -> float:  # f_app Re x+, x+ = x / (D Re)
        root = math.sqrt(x)
        return (3.44 / root + (14.227 + 1.43 / (4 * x) - 3.44 / root) / (1 + 0.00029 / x**2)) * x

    a, b = x1_mm / (diameter_mm * reynolds), x2_mm / (diameter_mm * reynolds)
    return (apparent(b) - apparent(a)) / (b - a) / 14.227


def added_viscosity(width: int, *, tau: float, magic: float, smagorinsky: float, peak: float = 0.1,
                    steps: int = 1200, backend: str = "numba") -> dict[str, float]:
    """Relative added viscosity ``r`` of the lattice model in laminar duct flow (see the module docstring).

    Examples
    --------
    >>> abs(added_viscosity(4, tau=0.8, magic=3 / 16, smagorinsky=0.0, steps=60, backend="numpy")["r"]) < 0.01
    True
    """
    from rhinoapp.cfd.backends import BoundaryValues, KernelParameters, create_backend
    from rhinoapp.cfd.lattice import BLOCK, Q, equilibrium_deviation
    from rhinoapp.cfd.postprocess import cell_moments
    from rhinoapp.cfd.setup import build_lattice
    from rhinoapp.cfd.shapes import square_duct

    nu = (tau - 0.5) / 3.0
    lattice = build_lattice(square_duct(width, 2, periodic=True))
    coords = lattice.cell_coordinates()
    x = coords[:, 0] - 1 + 0.5 - width / 2  # cell centres; half-way walls at +-width/2
    y = coords[:, 1] - 1 + 0.5 - width / 2
    unit = duct_profile(x, y, width / 2, 1.0, nu)
    force = peak / float(unit.max())
    u = np.zeros((3, lattice.n_cells))
    u[2] = unit * force
    blocks = np.zeros((Q, lattice.n_blocks * BLOCK), dtype=np.float32)
    blocks[:, :lattice.n_cells] = equilibrium_deviation(np.zeros(lattice.n_cells), u)
    state = np.zeros(lattice.population_size, dtype=np.float32)
    state[:lattice.ghost_start] = blocks.reshape(Q, lattice.n_blocks, BLOCK).transpose(1, 0, 2).ravel()
    solver = create_backend(backend, lattice, KernelParameters(tau=tau, magic=magic, smagorinsky=smagorinsky,
                                                               force=(0.0, 0.0, force)),
                            BoundaryValues.closed(), threads=1)
    solver.set_state(state)
    chunk = max(1, steps // 6)
    means = []
    for _ in range(6):  # the first chunk lets the non-equilibrium part form; the rate from the other five
        solver.advance(np.ones(chunk))
        means.append(float(cell_moments(lattice, solver.get_state(), (0.0, 0.0, force))[1][2].mean()))
    rate = (means[-1] - means[0]) / (5 * chunk)
    return {"width": width, "smagorinsky": smagorinsky, "tau": tau, "magic": magic, "r": round(-rate / force, 4),
            "mean_exact": round(float(u[2].mean()), 6), "mean_end": round(means[-1], 6)}


def developing_duct(width: int, *, smagorinsky: float, nu_m2_s: float = 1.5e-5, length_mm: float = 75.0,
                    speed_m_s: float = 2.2, side_mm: float = 6.0, subgrid: str = "smagorinsky",
                    average: float = 0.25, backend: str = "numba", bulk: float | None = None,
                    overrides: dict[str, object] | None = None) -> dict[str, object]:
    """Open square duct through :func:`rhinoapp.cfd.simulation.simulate`: transverse speed, peak over mean and
    the pressure gradient downstream against the laminar developed one (see the module docstring)."""
    import tempfile

    import pyvista as pv

    from rhinoapp.cfd.config import PhysicsConfig, RunConfig
    from rhinoapp.cfd.shapes import square_duct
    from rhinoapp.core.errors import RhinoappError

    h = side_mm / width
    physics = PhysicsConfig(flow_ml_s=speed_m_s * side_mm**2, smagorinsky_constant=smagorinsky,
                            kinematic_viscosity_m2_s=nu_m2_s, subgrid_model=subgrid,
                            strain_average_flow_throughs=average, bulk_relaxation_time=bulk,
                            **(overrides or {}))  # type: ignore[arg-type]
    row: dict[str, object] = {"width": width, "smagorinsky": smagorinsky, "subgrid": subgrid, "average": average, "bulk_tau": bulk, "nu_m2_s": nu_m2_s,
                              "reynolds": round(speed_m_s * side_mm * 1e-3 / nu_m2_s, 1), **(overrides or {})}
    from rhinoapp.cfd.simulation import simulate

    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = simulate(square_duct(width, int(round(length_mm / h)), spacing_mm=h), physics,
                              RunConfig(backend=backend, threads=1), out_dir=Path(tmp))
        except RhinoappError as error:
            row["diverged"] = str(error).split(".")[0]
            return row
        mesh = pv.read(Path(tmp) / "fields.vti")
        history = np.genfromtxt(Path(tmp) / "convergence.csv", delimiter=",", names=True)["pressure_drop_pa"][-20:]
        nx, ny, nz = mesh.dimensions
        fluid = np.asarray(mesh.point_data["fluid"]).reshape(nz, ny, nx) > 0
        p = np.asarray(mesh.point_data["pressure_pa"]).reshape(nz, ny, nx)
        u = np.asarray(mesh.point_data["velocity_m_s"]).reshape(nz, ny, nx, 3)
    first, last = int(nz * 0.45), int(nz * 0.8)  # past the sponge and the entrance, before the outlet's sponge
    layers = [p[k][fluid[k]].mean() for k in (first, last)]
    cross = np.concatenate([u[k][fluid[k]] for k in range(first, last + 1)])
    gradient = (layers[0] - layers[1]) / ((last - first) * h)
    reynolds = float(row["reynolds"])  # type: ignore[arg-type]
    laminar = 4 * 14.227 / reynolds / side_mm * 0.5 * 1.2 * speed_m_s**2
    row.update(tau=result.results["lattice"]["tau"], steps=result.results["steps"],
               transverse_rms_over_mean=round(float(np.sqrt(np.mean(np.sum(cross[:, :2] ** 2, axis=1)))) / speed_m_s, 4),
               peak_over_mean=round(float(max(u[k][fluid[k]][:, 2].max() for k in (first, last))) / speed_m_s, 3),
               gradient_pa_mm=round(float(gradient), 4), laminar_gradient_pa_mm=round(laminar, 4),
               gradient_ratio=round(float(gradient / laminar), 3),
               developing_ratio=round(developing_gradient_ratio(first * h, last * h, side_mm, reynolds), 3),
               outlet_pressure_swing=round(float(np.ptp(history) / abs(np.mean(history))), 3))
    return row


def _setting(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` with the value as a number where it reads as one.

    >>> _setting("max_lattice_velocity=0.05"), _setting("collision=recursive")
    (('max_lattice_velocity', 0.05), ('collision', 'recursive'))
    """
    name, _, value = text.partition("=")
    try:
        return name, (int(value) if value.lstrip("-").isdigit() else float(value))
    except ValueError:
        return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=8, help="duct width in cells")
    parser.add_argument("--tau", type=float, default=0.501224)
    parser.add_argument("--magic", type=float, default=6.12e-4)
    parser.add_argument("--smagorinsky", default="0,0.05,0.1,0.15", help="constants, comma-separated")
    parser.add_argument("--developing", action="store_true", help="the open, developing duct instead")
    parser.add_argument("--nu", type=float, default=1.5e-5, help="kinematic viscosity (m^2/s), --developing")
    parser.add_argument("--subgrid", default="smagorinsky", help="smagorinsky or shear_improved, --developing")
    parser.add_argument("--average", type=float, default=0.25, help="strain average (flow-throughs), --developing")
    parser.add_argument("--bulk", type=float, default=None, help="bulk relaxation time, --developing")
    parser.add_argument("--backend", default="numba", help="numba or numpy, --developing")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="another PhysicsConfig setting, --developing (repeatable; numbers are parsed)")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.developing:
        rows = [developing_duct(args.width, smagorinsky=float(c), nu_m2_s=args.nu, subgrid=args.subgrid,
                                average=args.average, backend=args.backend, bulk=args.bulk,
                                overrides=dict(_setting(text) for text in args.set))
                for c in args.smagorinsky.split(",")]
        for row in rows:
            _log.info("%s", row)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    rows = [added_viscosity(args.width, tau=args.tau, magic=args.magic, smagorinsky=float(c))
            for c in args.smagorinsky.split(",")]
    for row in rows:
        _log.info("W=%d tau=%.6f magic=%.3g Smagorinsky %.3f: effective viscosity %.2f x molecular",
                  row["width"], row["tau"], row["magic"], row["smagorinsky"], 1.0 + row["r"])
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
