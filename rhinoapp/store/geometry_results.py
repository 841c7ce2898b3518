"""Reading a published segmentation: the files of ``ProjectLayout.geometry(variant)`` (labels, surface, report)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rhinoapp.analysis.ranges import REFERENCE_RANGES, MetricRow
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.layout import GeometryFolder
from rhinoapp.core.volume import LabelMap
from rhinoapp.geometry.report import GeometryReport
from rhinoapp.volumes import read_nifti

__all__ = ["GeometryFiles", "GeometryResult", "read_result"]


@dataclasses.dataclass(frozen=True)
class GeometryFiles:
    """The published files people can download (paths in the project folder)."""

    stl: Path
    vtp: Path
    labels: Path


@dataclasses.dataclass(frozen=True, eq=False)
class GeometryResult:
    """One published segmentation: label map, geometry report and files.

    ``revision`` changes whenever the files change (it names the surface's content).
    """

    variant: str
    labels: LabelMap
    report: GeometryReport
    files: GeometryFiles
    revision: str

    def side(self, side: str) -> Mapping[str, Any]:
        """The metrics of ``"left"`` or ``"right"`` (the patient's)."""
        return self.report.side(side)

    def profile(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """Distance from the nostril (mm) and cross-sectional area (cm2) of one side."""
        profile = self.report.side(side).get("profile", {})
        return (np.asarray(profile.get("distance_mm", []), dtype=float),
                np.asarray(profile.get("area_cm2", []), dtype=float))

    def rows(self) -> list[MetricRow]:
        """The metrics table: volume, wall surface, mCSA and its distance, per side."""
        left, right = self.report.left, self.report.right
        specs = (("volume_ml", "Volume", "ml"), ("surface_cm2", "Wall surface", "cm²"),
                 ("mcsa_cm2", "Minimal cross-sectional area (mCSA)", "cm²"),
                 ("mcsa_distance_mm", "mCSA distance from the nostril", "mm"))
        return [MetricRow(key, label, unit, float(left[key]), float(right[key]), REFERENCE_RANGES.get(key))
                for key, label, unit in specs]


def read_result(folder: Path, variant: str = "default", revision: str = "") -> GeometryResult:
    """Read the segmentation published in ``folder`` (``ProjectLayout.geometry(variant)`` of a project).

    Raises
    ------
    ValidationError
        When a file is missing or unreadable; the message says to run the segmentation again.

    Examples
    --------
    >>> import tempfile
    >>> read_result(Path(tempfile.mkdtemp()))
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: The stored airway is incomplete (labels.nii.gz missing): run the segmentation again.
    """
    paths = GeometryFolder(Path(folder))
    for path in paths.files:
        if not path.is_file():
            raise ValidationError(f"The stored airway is incomplete ({path.name} missing): run the segmentation again.")
    try:
        volume = read_nifti(paths.labels)
        report = GeometryReport.from_json(paths.report.read_bytes())
        labels = LabelMap(np.asarray(volume.hu, dtype=np.uint8), volume.geometry)
    except (OSError, ValueError, KeyError, TypeError) as error:  # ValidationError is a ValueError
        raise ValidationError(f"The stored airway could not be read ({type(error).__name__}): "
                              "run the segmentation again.") from error
    files = GeometryFiles(paths.stl, paths.vtp, paths.labels)
    return GeometryResult(variant, labels, report, files, revision)
