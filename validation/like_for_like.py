"""rhinoapp runs against OpenFOAM cases of the same domain: the record behind ``rhinoapp.analysis.accuracy``.

Measures every rhinoapp run folder given and each OpenFOAM case (``--openfoam``, one per mesh and scheme) on
the same planes (``measure.py``) and writes, per run, its settings (as
:func:`rhinoapp.analysis.accuracy.accuracy_note` classifies them), its lattice spacing, the pressure drop from the
nostrils to the outlet plane and the flow partition, and how far both are from each OpenFOAM solution's (the
reference's own dependence on its mesh and its convection scheme is part of the answer).
``tests/analysis/test_accuracy.py`` checks that the figures the app quotes (``VALIDATION_POINTS``) are the ones in
this record.

Run::

    PYTHONPATH=. .venv/bin/python validation/like_for_like.py \\
        --openfoam /tmp/fv/openfoam_domain/h0p9mm_L0 --openfoam /tmp/fv/openfoam_domain/h0p6mm_L0 \\
        --openfoam /tmp/fv/openfoam_domain/h0p45mm_L0 \\
        --openfoam /tmp/fv/openfoam_domain_unlimited/h0p9mm_L0 --openfoam /tmp/fv/openfoam_domain_unlimited/h0p6mm_L0 \\
        --openfoam /tmp/fv/openfoam_domain/h0p9mm_L0_B3 --openfoam /tmp/fv/openfoam_domain/h0p6mm_L0_B3 \\
        --openfoam /tmp/fv/openfoam_domain_unlimited/h0p9mm_L0_B3 \\
        --openfoam /tmp/fv/openfoam_domain_unlimited/h0p6mm_L0_B3 \\
        /tmp/fv/rhinoapp_1mm /tmp/fv/sensitivity_* \\
        --json docs/validation/like_for_like.json

Without the OpenFOAM cases, ``--references`` takes the references measured before (an earlier record, or an
``openfoam_compare.py`` report) and ``--keep`` keeps an earlier record's runs of one flow model::

    PYTHONPATH=. .venv/bin/python validation/like_for_like.py --references docs/validation/like_for_like.json \\
        --references docs/validation/openfoam_layers_0.6mm_F180.json \\
        --references docs/validation/openfoam_layers_0.45mm.json \\
        --keep docs/validation/like_for_like.json --geometry $W/geometry_one-sided-swelling $W/rhinoapp_* \\
        --json docs/validation/like_for_like.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import measurement_planes, pressure_drops, read_rhinoapp_fields  # noqa: E402
from openfoam_compare import openfoam_cloud, openfoam_flows  # noqa: E402


def stored_references(path: Path) -> list[dict]:
    """The references of an earlier record (``references``) or of an ``openfoam_compare.py`` report (its
    ``openfoam`` solutions, named by the report and the mesh), as :func:`main` records them."""
    report = json.loads(Path(path).read_text())
    if "references" in report:
        return list(report["references"])
    return [{"case": f"{Path(path).stem}/h{entry['cell_mm']:g}mm", "cells": entry["cells"],
             "nostrils_to_outlet_pa": entry["pressure_drop_pa"]["nostrils_to_outlet"],
             "partition_left_pct": round(entry["partition_left_pct"], 2)} for entry in report["openfoam"]]


def against(run: dict, references: list[dict]) -> dict:
    """``run`` (its drop and partition) with its differences from every reference."""
    drop, partition = run["nostrils_to_outlet_pa"], run["partition_left_pct"]
    return {**run, "pressure_drop_bias_pct": [round(100.0 * (drop / ref["nostrils_to_outlet_pa"] - 1.0), 1)
                                              for ref in references],
            "partition_points": [round(partition - ref["partition_left_pct"], 1) for ref in references]}


def main(argv: list[str] | None = None) -> int:
    from rhinoapp.analysis.accuracy import accuracy_note

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="*", help="rhinoapp run folders (results.json, fields.vti)")
    parser.add_argument("--openfoam", type=Path, action="append", default=[],
                        help="a solved OpenFOAM case of the same domain (one per mesh; repeat)")
    parser.add_argument("--references", type=Path, action="append", default=[],
                        help="references measured before: an earlier record or an openfoam_compare.py report (repeat)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="an earlier record whose runs of --keep-model are kept (their drop and partition, "
                             "compared again with the references)")
    parser.add_argument("--keep-model", default="standard", help="the flow model of the runs --keep keeps")
    parser.add_argument("--geometry", type=Path, default=Path("/tmp/fv/geometry_one-sided-swelling"),
                        help="the geometry folder whose geometry.json holds the planes")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    if not (args.openfoam or args.references):
        parser.error("give the references: --openfoam CASE or --references REPORT")
    # the planes measure the OpenFOAM cases and the runs; references measured before need none
    planes = measurement_planes(args.geometry / "geometry.json") if args.openfoam or args.runs else None
    references = [ref for path in args.references for ref in stored_references(path)]
    for case in args.openfoam:
        cloud = openfoam_cloud(case)
        flows = openfoam_flows(case)
        references.append({"case": f"{case.parent.name}/{case.name}", "cells": int(cloud.pressure_pa.size),
                           "nostrils_to_outlet_pa": pressure_drops(cloud, planes, 1.0)["nostrils_to_outlet"],
                           "partition_left_pct": round(100.0 * flows["inlet_left"]
                                                       / (flows["inlet_left"] + flows["inlet_right"]), 2)})
    kept = [] if args.keep is None else [
        {key: value for key, value in run.items() if key not in ("pressure_drop_bias_pct", "partition_points")}
        for run in json.loads(args.keep.read_text())["runs"] if run["model"] == args.keep_model]
    runs = [against(run, references) for run in kept]
    for run in args.runs:
        results = json.loads((run / "results.json").read_text())
        lattice = results.get("lattice") or {}
        spacing = float(lattice.get("dx_mm") or 1.0)
        drop = pressure_drops(read_rhinoapp_fields(run), planes, max(spacing, 1.0))["nostrils_to_outlet"]
        partition = 100.0 * results["flow_ml_s"]["left"] / results["flow_ml_s"]["total"]
        runs.append(against({"run": run.name, "model": accuracy_note(results).model, "resolution_mm": round(spacing, 6),
                             "fluid_cells": lattice.get("fluid_cells"), "nostrils_to_outlet_pa": drop,
                             "partition_left_pct": round(partition, 2)}, references))
    args.json.write_text(json.dumps({"references": references, "runs": runs}, indent=1))
    sys.stdout.write(json.dumps(runs, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
