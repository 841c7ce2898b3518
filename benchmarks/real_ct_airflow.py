"""The real head CTs of the workplace, from scan to airflow at the default physics, or to an honest refusal.

For each scan in ``../shared/data/ct`` (or ``$RHINOAPP_REAL_CT_DIR``; read its NOTICE.md) the airway is
segmented at the default options; where that succeeds the flow domain is built as the simulations build it
(the planes the segmentation found, openings where the labels end otherwise, ambient chambers, outlet
extension) and simulated at the default physics (250 ml/s inspiration) on a coarse grid (``--resolution-mm``,
default 1.5 mm, to fit this 2-core machine; the default rule's resolution is reported beside it), with the
plausibility flags. Where the segmentation refuses the scan, its message is the result.

Run: ``python benchmarks/real_ct_airflow.py [--resolution-mm 1.5]``; writes
``benchmarks/results/real_ct_airflow.json`` and ``.txt``. The scans are not part of the repository.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from rhinoapp.analysis.plausibility import check_results, flags_document
from rhinoapp.cfd.config import DEFAULT_FLOW_MODEL, RunConfig
from rhinoapp.cfd.domain import Opening
from rhinoapp.cfd.inputs import OpeningPlane, airway_domain
from rhinoapp.cfd.resolution import choose_resolution
from rhinoapp.cfd.simulation import simulate
from rhinoapp.core.errors import RhinoappError
from rhinoapp.segmentation import segment_airway

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CT_DIR = Path(os.environ.get("RHINOAPP_REAL_CT_DIR", ROOT.parent / "shared" / "data" / "ct"))


def _volumes(ct_dir: Path) -> list[tuple[str, Any]]:
    """(name, volume) per scan: the NRRD crops as they are, DICOM stacks resampled where tilted."""
    from rhinoapp.dicom import Deidentifier, TiltPolicy, assemble_volume, load_upload
    from rhinoapp.volumes.io import read_volume

    found: list[tuple[str, Any]] = []
    for path in sorted(ct_dir.glob("*/nasal_crop_ct.nrrd")):
        found.append((f"{path.parent.name}/{path.name}", lambda p=path: read_volume(p)))
    for folder in sorted(p for p in ct_dir.iterdir() if p.is_dir() and any(p.glob("*.dcm"))):
        def load(folder: Path = folder) -> Any:
            loaded = load_upload([p.read_bytes() for p in sorted(folder.glob("*.dcm"))],
                                 deidentifier=Deidentifier(b"k" * 16))
            return assemble_volume(loaded.series[0], tilt=TiltPolicy.RESAMPLE).volume
        found.append((folder.name, load))
    return found


def run_case(name: str, load: Any, resolution_mm: float) -> dict[str, Any]:
    started = time.perf_counter()
    row: dict[str, Any] = {"scan": name}
    try:
        segmentation = segment_airway(load())
    except RhinoappError as error:
        row.update(outcome="refused by the segmentation", message=" ".join(str(error).split()),
                   seconds=round(time.perf_counter() - started, 1))
        return row
    planes = {opening: OpeningPlane(found.plane.point_mm, found.plane.normal) for opening, found in
              ((Opening.INLET_LEFT, segmentation.inlet_left), (Opening.INLET_RIGHT, segmentation.inlet_right),
               (Opening.OUTLET, segmentation.outlet))}
    domain = airway_domain(segmentation.labels, planes=planes)
    rule = choose_resolution(domain)
    result = simulate(domain, DEFAULT_FLOW_MODEL.physics(), RunConfig(backend="numba"), resolution_mm=resolution_mm).results
    flags = flags_document(check_results(result))
    row.update(outcome="simulated", resolution_mm=resolution_mm, rule_resolution_mm=rule.resolution_mm,
               converged=result["converged"], steps=result["steps"], pressure_drop_pa=result["pressure_drop_pa"],
               flow_partition_left_pct=result["flow_partition_left_pct"], max_velocity_m_s=result["max_velocity_m_s"],
               openings_placed=result.get("openings_placed"), flags=[f["message"] for f in flags],
               seconds=round(time.perf_counter() - started, 1))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution-mm", type=float, default=1.5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not (CT_DIR / "NOTICE.md").is_file():
        raise SystemExit(f"{CT_DIR} is absent: the real CTs are in the rhinoapp workplace only (see its NOTICE.md)")
    rows = [run_case(name, load, args.resolution_mm) for name, load in _volumes(CT_DIR)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "real_ct_airflow.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [f"real CTs in {CT_DIR.name}: segmentation, then airflow at the default physics"]
    for row in rows:
        if row["outcome"] == "simulated":
            lines.append(f"{row['scan']}: dp {row['pressure_drop_pa']} Pa, left {row['flow_partition_left_pct']} %, "
                         f"converged {row['converged']} ({row['steps']} steps, {row['seconds']} s); "
                         f"flags: {'; '.join(row['flags']) or 'none'}")
        else:
            lines.append(f"{row['scan']}: {row['outcome']} ({row['seconds']} s): {row['message']}")
    (RESULTS / "real_ct_airflow.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))  # noqa: T201 - a script's report


if __name__ == "__main__":
    main()
