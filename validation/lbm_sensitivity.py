"""Which part of rhinoapp's lattice model moves the pressure drop: reruns with one physics setting changed.

Runs :func:`rhinoapp.cfd.simulation.simulate` on the geometry folder of ``openfoam_compare.py`` at
one resolution with :class:`~rhinoapp.cfd.config.PhysicsConfig` overrides (``--set NAME=VALUE``,
repeatable; each becomes one run next to the default), and measures every run on the shared planes
(``measure.py``). Used to explain the gap to OpenFOAM (docs/validation.md).

Run::

    PYTHONPATH=. .venv/bin/python validation/lbm_sensitivity.py --work /tmp/foam-validation \\
        --resolution 1.0 --set sponge_cells=0 --set smagorinsky_constant=0 --set bulk_relaxation_time=1
    PYTHONPATH=. .venv/bin/python validation/lbm_sensitivity.py --work /tmp/foam-validation --resolution 1.0 \
        --set regularization=recursive+bulk_relaxation_time=1+subgrid_model=shear_improved
    # one setting only, its estimate first (--no-default skips the default run, --json names the report)
    PYTHONPATH=. .venv/bin/python validation/lbm_sensitivity.py --resolution 0.5 --no-default --dry-run \
        --set bulk_relaxation_time=1+subgrid_model=shear_improved
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import measurement_planes, pressure_drops, read_rhinoapp_fields  # noqa: E402
from openfoam_compare import make_geometry  # noqa: E402

from rhinoapp.core.errors import RhinoappError  # noqa: E402

_log = logging.getLogger("lbm_sensitivity")


def parse_setting(text: str) -> tuple[str, float | str]:
    """``NAME=VALUE`` as a PhysicsConfig field and a number (or a word, for an enum field).

    Examples
    --------
    >>> parse_setting("sponge_cells=0")
    ('sponge_cells', 0)
    >>> parse_setting("smagorinsky_constant=0.1")
    ('smagorinsky_constant', 0.1)
    >>> parse_setting("subgrid_model=shear_improved")
    ('subgrid_model', 'shear_improved')
    """
    name, _, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        return name.strip(), value.strip()
    return name.strip(), int(number) if number.is_integer() and name.strip().endswith("cells") else number


def run_variant(work: Path, geometry: Path, resolution_mm: float, flow_ml_s: float,
                overrides: dict[str, float | str], *, coarse_start: str = "off", openings: str = "chambers") -> Path:
    """A run folder with ``overrides`` applied (reused when its results.json exists); ``coarse_start`` as
    :class:`~rhinoapp.cfd.config.RunConfig` takes it (a coarse start's folder name ends in ``_coarse``).
    ``openings="faces"`` runs without the ambient-air chambers and the outlet extension (folder name ends in
    ``_faces``): the openings are the label map's end faces, where OpenFOAM's airway cases take the air in."""
    from rhinoapp.cfd.config import PhysicsConfig, RunConfig
    from rhinoapp.cfd.inputs import airway_domain, read_geometry_dir
    from rhinoapp.cfd.simulation import simulate

    tag = "_".join(f"{k}-{v:g}" if isinstance(v, float | int) else f"{k}-{v}"
                   for k, v in sorted(overrides.items())) or "default"
    out = work / (f"sensitivity_{resolution_mm:g}mm_{tag}{'' if coarse_start == 'off' else '_coarse'}"
                  f"{'' if openings == 'chambers' else '_faces'}")
    if not (out / "results.json").is_file():
        start = time.monotonic()
        labels, planes = read_geometry_dir(geometry)
        domain = airway_domain(labels, planes=planes, open_surroundings=openings == "chambers")
        simulate(domain, PhysicsConfig(flow_ml_s=flow_ml_s, **overrides),
                 RunConfig(coarse_start=coarse_start), resolution_mm=resolution_mm, out_dir=out)
        (out / "wall_time_s.txt").write_text(f"{time.monotonic() - start:.1f}\n")
    return out


def estimate(geometry: Path, resolution_mm: float, flow_ml_s: float, overrides: dict[str, float | str],
             mlups: float | None) -> dict[str, object]:
    """The pre-run estimate of one run (cells of the airway alone: the openings' air chambers add about 40 %)."""
    from rhinoapp.cfd.config import PhysicsConfig, RunConfig
    from rhinoapp.cfd.estimate import estimate_run
    from rhinoapp.usecases.simulation import load_domain

    guess = estimate_run(load_domain(geometry), PhysicsConfig(flow_ml_s=flow_ml_s, **overrides), RunConfig(),
                         resolution_mm=resolution_mm)
    return {"overrides": overrides, "resolution_mm": resolution_mm,
            "estimate": (guess.at_speed(mlups) if mlups else guess).as_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="one-sided-swelling")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rhinoapp-foam-validation"))
    parser.add_argument("--out", type=Path, default=Path("docs/validation"))
    parser.add_argument("--flow-ml-s", type=float, default=250.0)
    parser.add_argument("--resolution", type=float, default=1.0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a PhysicsConfig override, one run each (e.g. sponge_cells=0); several for one run "
                             "joined by + (e.g. bulk_relaxation_time=1+regularization=recursive)")
    parser.add_argument("--no-default", action="store_true", help="run only the --set variants, not the default")
    parser.add_argument("--dry-run", action="store_true", help="print each run's estimate of cells, steps and time")
    parser.add_argument("--mlups", type=float, help="with --dry-run: this machine's speed (e.g. a recent run's)")
    parser.add_argument("--json", default="lbm_sensitivity.json", help="name of the report in --out")
    parser.add_argument("--coarse-start", choices=["off", "auto", "on"], default="off",
                        help="start each run from its solution at twice the spacing (the app's default is auto)")
    parser.add_argument("--progress", action="store_true", help="log every convergence check of the runs")
    parser.add_argument("--openings", choices=["chambers", "faces"], default="chambers",
                        help="chambers: as the app runs (ambient air in front of the nostrils, outlet extension); "
                             "faces: the openings at the label map's end faces")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.progress:
        logging.getLogger("rhinoapp.cfd.solver").setLevel(logging.DEBUG)
    geometry = make_geometry(args.work, args.variant)
    planes = measurement_planes(geometry / "geometry.json")
    variants = [dict(map(parse_setting, text.split("+"))) for text in args.set]
    variants = variants if args.no_default else [{}, *variants]
    if args.dry_run:
        print(json.dumps([estimate(geometry, args.resolution, args.flow_ml_s, o, args.mlups) for o in variants],
                         indent=1))
        return 0
    rows = []
    for overrides in variants:
        try:
            run = run_variant(args.work, geometry, args.resolution, args.flow_ml_s, overrides,
                              coarse_start=args.coarse_start, openings=args.openings)
        except RhinoappError as error:  # a setting that makes the run diverge is a finding too
            rows.append({"overrides": overrides, "failed": str(error)})
            _log.warning("%s failed: %s", overrides, error)
            continue
        results = json.loads((run / "results.json").read_text())
        cloud = read_rhinoapp_fields(run)
        flows = results["flow_ml_s"]
        rows.append({"overrides": overrides, "reported_pressure_drop_pa": results["pressure_drop_pa"],
                     "pressure_drop_pa": pressure_drops(cloud, planes, max(args.resolution, 1.0)),
                     "partition_left_pct": 100.0 * flows["left"] / flows["total"], "steps": results.get("steps"),
                     "converged": results.get("converged"), "max_velocity_m_s": results.get("max_velocity_m_s"),
                     "coarse_start": results.get("coarse_start"),
                     "tau": results.get("lattice", {}).get("tau"),
                     "fluid_cells": results.get("lattice", {}).get("fluid_cells"), "mlups": results.get("mlups"),
                     "wall_time_s": float((run / "wall_time_s.txt").read_text())
                     if (run / "wall_time_s.txt").is_file() else None})
        _log.info("%s: %s", overrides or "default", rows[-1]["pressure_drop_pa"].get("nostrils_to_outlet"))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"variant": args.variant, "resolution_mm": args.resolution, "flow_ml_s": args.flow_ml_s,
              "openings": args.openings, "runs": rows}
    (args.out / args.json).write_text(json.dumps(report, indent=1))
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
