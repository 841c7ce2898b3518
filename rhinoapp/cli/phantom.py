"""``rhinoapp phantom --out DIR``: a synthetic nasal CT and its ground-truth airway labels.

Writes ``ct.nii.gz`` (HU, int16), ``labels.nii.gz`` (ground truth: 1 left cavity, 2 right cavity,
3 nasopharynx, 4 sinuses) and ``phantom.json`` (parameters and landmarks, LPS millimetres).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

from rhinoapp.cli._common import out
from rhinoapp.core.layout import GeometryFolder, ProjectLayout

__all__ = ["VARIANTS", "register"]

#: Names of :class:`rhinoapp.phantom.PhantomVariant` (listed here so that building the parser
#: does not import NumPy and SciPy).
VARIANTS = ("straight", "deviated", "swollen", "narrowing", "nostrils-cropped", "mouth-open", "rotated",
            "thick-slices", "anisotropic", "ethmoid-cut", "masked-orbits", "sinus-ostia", "narrow-meatus",
            "thick-noisy", "one-sided-swelling", "opacified-sinus", "nostrils-at-edge", "septum-contact", "clinical")


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``phantom`` command."""
    parser = commands.add_parser("phantom", parents=[shared], help="write a synthetic nasal CT with its ground truth",
                                 description=" ".join(__doc__.splitlines()[2:4]))
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--format", choices=("nifti", "dicom"), default="nifti", help="file format of the CT")
    parser.add_argument("--variant", choices=VARIANTS, default="straight",
                        help="named variant (the options below override its fields)")
    parser.add_argument("--spacing-mm", type=float, help="isotropic voxel size (default 0.5)")
    parser.add_argument("--septal-deviation", type=float, help="0 (straight) to 1 (bulging into the left cavity)")
    parser.add_argument("--turbinate-swelling", type=float, help="0 (decongested) to 1 (swollen)")
    parser.add_argument("--seed", type=int, help="seed of the noise (default 0)")
    parser.add_argument("--fake-phi", action="store_true",
                        help="with --format dicom: fill every PS3.15 identifying attribute with fake PHI (for tests)")
    parser.set_defaults(handler=_phantom)


def _phantom(args: argparse.Namespace) -> int:
    from rhinoapp.core.files import atomic_write
    from rhinoapp.core.volume import AirwayLabel, CTVolume
    from rhinoapp.phantom import generate_phantom, variant_params
    from rhinoapp.volumes import nifti_bytes
    from rhinoapp.volumes.nifti import to_nifti_image

    fields = {"spacing_mm": args.spacing_mm, "septal_deviation": args.septal_deviation,
              "turbinate_swelling": args.turbinate_swelling, "seed": args.seed}
    params = variant_params(args.variant, **{k: v for k, v in fields.items() if v is not None})
    phantom = generate_phantom(params)
    folder = Path(args.out)
    if args.format == "dicom":
        written = _write_dicom(phantom.ct, folder / "ct", fake_phi=args.fake_phi)
    else:
        written = ProjectLayout().ct_volume.name  # the folder holds a CT as a project does
        atomic_write(folder / written, nifti_bytes(phantom.ct))
    image = to_nifti_image(CTVolume(phantom.truth.labels, phantom.truth.geometry))
    image.header["descrip"] = b"rhinoapp phantom ground-truth airway labels"
    labels = GeometryFolder(folder).labels  # the truth labels make the folder a geometry folder for `simulate`
    atomic_write(labels, gzip.compress(image.to_bytes(), compresslevel=4, mtime=0))
    description = {"format": "rhinoapp-phantom/1", "coordinate_system": "LPS, millimetres",
                   "params": params.as_dict(), "landmarks": phantom.landmarks.as_dict(),
                   "volume": phantom.ct.geometry.as_dict(),
                   "truth_volume_ml": {label.name.lower(): round(phantom.truth.volume_ml(label), 4)
                                       for label in AirwayLabel if label}}
    atomic_write(folder / "phantom.json", (json.dumps(description, indent=2) + "\n").encode())
    size = "x".join(str(n) for n in phantom.ct.geometry.shape[::-1])
    out(f"phantom {args.variant}: {size} voxels of {params.spacing_mm[0]:g} mm written to {folder} "
        f"({written}, {labels.name}, phantom.json)")
    return 0


def _write_dicom(volume: object, folder: Path, *, fake_phi: bool) -> str:
    """The CT as one DICOM file per slice in ``folder``, written into a temporary folder then renamed."""
    import shutil
    import tempfile

    from rhinoapp.dicom.testing import encode
    from rhinoapp.dicom.writer import series_from_volume

    description = "Nasal phantom (fake PHI)" if fake_phi else "Nasal phantom"
    series = series_from_volume(volume, description=description, fake_phi=fake_phi)  # type: ignore[arg-type]
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ct-", dir=folder.parent))
    try:
        for index, dataset in enumerate(series, start=1):
            (staging / f"slice-{index:04d}.dcm").write_bytes(encode(dataset))
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return f"ct/ ({len(series)} DICOM files)"

