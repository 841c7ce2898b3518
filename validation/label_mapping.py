"""Label maps without names, mapped from where their labels lie: right, partly right, no guess, or wrong?

Every phantom variant's ground truth (the CT's 0.5 mm grid), and the clinical phantom's with the head tilted in the
scanner (:data:`TILTED`), is exported as each label map of
``benchmarks/label_map_variety.py`` (renumbered 4 left, 3 right, 5 nasopharynx, 1 sinus; RAS; 2 mm axial and
1.5 mm sagittal slices; float labels; a binary mask; a 3D Slicer segmentation; labels cut in the vestibules; a
front crop; specks; a ragged rim; an inlet box over the nostrils), read as the import reads it, and the mapping its labels' places propose
(:func:`rhinoapp.usecases.geometry_import.survey_labels` without the names) is compared with the truth's:

- ``same``: the truth's mapping;
- ``sinus left out``: the airway's parts right, a sinus label left out (it no longer touches a cavity);
- ``no guess``: the places did not say it clearly (the user gives ``--map``);
- ``WRONG``: any other mapping (a part taken for another): the one outcome that must never happen.

Run: ``PYTHONPATH=. .venv/bin/python validation/label_mapping.py [--variant NAME ... [--tilted]] [--json PATH]``; prints the
table and the counts, and writes the rows as JSON (default ``docs/validation/label_mapping.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from label_map_variety import label_maps  # noqa: E402

from rhinoapp.core.limits import DEFAULT_LIMITS  # noqa: E402
from rhinoapp.phantom import generate_phantom, variant_params  # noqa: E402
from rhinoapp.phantom.params import PhantomVariant  # noqa: E402
from rhinoapp.segmentation.label_anatomy import mapping_from_anatomy  # noqa: E402
from rhinoapp.segmentation.label_import import LabelMapping, Target, label_counts  # noqa: E402
from rhinoapp.usecases.geometry_import import SourceKind, _label_volume  # noqa: E402

TRUTH = "4:left,3:right,5:nasopharynx,1:sinus"
#: The clinical phantom with the head tilted in the scanner (degrees about LPS x, y and z), as real CTs often are:
#: after the phantom variants when none is named (``--variant``), or named with ``--tilted``.
TILTED = {"clinical, tilted forward": (20.0, 0.0, 0.0), "clinical, tilted back": (-20.0, 0.0, 0.0),
          "clinical, tilted askew": (15.0, 10.0, 10.0)}
SLICER = "1:left,2:right,3:nasopharynx,4:sinus"  # the Slicer export's first layer


def verdict(proposed: LabelMapping | None, truth: LabelMapping) -> str:
    """How the proposal compares with the truth's mapping."""
    if proposed is None:
        return "no guess"
    if proposed.as_dict() == truth.as_dict():
        return "same"
    wanted = {label: target for label, target in truth.as_dict().items() if target != Target.SINUS.value}
    got = {label: target for label, target in proposed.as_dict().items() if target != Target.SINUS.value}
    sinuses = {label for label, target in proposed.as_dict().items() if target == Target.SINUS.value}
    kept = {label for label, target in truth.as_dict().items() if target == Target.SINUS.value}
    return "sinus left out" if got == wanted and sinuses < kept else "WRONG"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", default=None,
                        help="phantom variant (default: all, and the tilted heads)")
    parser.add_argument("--tilted", action="store_true", help="the tilted heads too, where variants are named")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "validation" / "label_mapping.json")
    args = parser.parse_args(argv)
    rows = []
    heads = [(variant, variant_params(variant, spacing_mm=0.5, noise_hu=0))
             for variant in args.variant or [v.value for v in PhantomVariant]]
    if args.tilted or not args.variant:
        heads += [(name, variant_params("clinical", spacing_mm=0.5, noise_hu=0, rotation_deg=rotation))
                  for name, rotation in TILTED.items()]
    for variant, params in heads:
        phantom = generate_phantom(params)
        for case, (filename, data, mapping_text) in label_maps(phantom).items():
            read = _label_volume(data, SourceKind.of(filename), DEFAULT_LIMITS)
            counts = label_counts(read.volume.hu)
            values = np.rint(np.asarray(read.volume.hu)).astype(np.int32)
            proposed = mapping_from_anatomy(values, read.volume.geometry, counts=counts)
            truth = LabelMapping.parse(mapping_text or SLICER)
            rows.append({"variant": variant, "case": case, "truth": truth.text(),
                         "proposed": None if proposed is None else proposed.text(),
                         "verdict": verdict(proposed, truth)})
            print(f"{variant:26s} {case:24s} {rows[-1]['verdict']:15s} {rows[-1]['proposed']}", flush=True)
    counts_by = {v: sum(r["verdict"] == v for r in rows) for v in ("same", "sinus left out", "no guess", "WRONG")}
    print(f"{len(rows)} label maps: " + ", ".join(f"{n} {v}" for v, n in counts_by.items()))
    args.json.write_text(json.dumps({"rows": rows, "counts": counts_by}, indent=1) + "\n")
    return 1 if counts_by["WRONG"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
