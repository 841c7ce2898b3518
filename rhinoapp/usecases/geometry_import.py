"""Importing an existing segmentation as a geometry variant, as ``rhinoapp segment --from-labels`` and the page do.

A label map (NIfTI or NRRD, e.g. from 3D Slicer or ITK-SNAP) with a
:class:`~rhinoapp.segmentation.label_import.LabelMapping`, or a closed airway surface (STL or VTP),
becomes an airway on the CT's grid: the labels are resampled (nearest neighbour in LPS), the
surface is filled and split into sides from its nostrils. The nostrils and the outlet are found
as for the automatic segmentation (or the nostrils are picked), and the surface, openings and
metrics are written as for it (:func:`~rhinoapp.usecases.geometry.write_segmentation`), with the
provenance (source kind, its sha256, the mapping) in ``geometry.json``. :func:`store_import`
publishes the files as the project's geometry variant: all of them, or nothing on any error.

A label map can also come without its CT (public data sets often share labels alone): it is then
imported on its own grid, and each opening is where its label ends, as the simulation finds it in a
geometry folder without planes (a nostril cut by a coronal face is written as short of the nostril).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from rhinoapp.core.access import AuditAction
from rhinoapp.store.audit import AuditLog
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.layout import GeometryFolder, ProjectLayout
from rhinoapp.core.limits import DEFAULT_LIMITS, InputLimits
from rhinoapp.core.progress import ProgressCallback
from rhinoapp.core.requests import check_name
from rhinoapp.core.volume import AirwayLabel, CTVolume, ImageGeometry, LabelMap
from rhinoapp.core.workflow import Step
from rhinoapp.geometry.report import GeometryReport
from rhinoapp.geometry.request import GEOMETRY_RANGES
from rhinoapp.geometry.surface import SurfaceOptions
from rhinoapp.segmentation import AirwaySegmentation
from rhinoapp.segmentation.label_import import (WHOLE_AIRWAY, ImportedLabels, LabelImportError, LabelMapping,
                                                imported_labels, label_counts, mapping_from_names)
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.volumes.segmentation_nrrd import LabelVolume
from rhinoapp.usecases.geometry import write_segmentation

__all__ = ["ImportRequest", "LabelSurvey", "MappingSource", "SourceKind", "found_labels", "found_segments",
           "import_into_project", "imported_segmentation", "store_import", "survey_labels", "write_import"]

_log = logging.getLogger(__name__)
Vec3 = tuple[float, float, float]


class SourceKind(enum.Enum):
    """What an imported file is."""

    NIFTI = "nifti"
    NRRD = "nrrd"
    STL = "stl"
    VTP = "vtp"

    @property
    def is_surface(self) -> bool:
        """True for a surface, False for a label map."""
        return self in (SourceKind.STL, SourceKind.VTP)

    @classmethod
    def of(cls, filename: str | Path) -> SourceKind:
        """The kind a file name announces; other names are refused.

        Examples
        --------
        >>> SourceKind.of("seg.nii.gz"), SourceKind.of("Airway.STL").is_surface
        (<SourceKind.NIFTI: 'nifti'>, True)
        """
        name = Path(filename).name.lower()
        for suffixes, kind in (((".nii", ".nii.gz"), cls.NIFTI), ((".nrrd",), cls.NRRD), ((".stl",), cls.STL),
                               ((".vtp",), cls.VTP)):
            if name.endswith(suffixes):
                return kind
        raise ValidationError(f"{Path(filename).name}: import a label map (.nii, .nii.gz, .nrrd) or an airway surface "
                              "(.stl, .vtp)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImportRequest:
    """One import: the file's name (its kind), the label mapping, picked nostrils, the variant and surface size.

    Examples
    --------
    >>> ImportRequest(filename="seg.nrrd").mapping
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: a label map needs a mapping from its labels to left, right, nasopharynx and sinus (e.g. --map 4:left,3:right,5:nasopharynx,1:sinus); give it.
    """

    filename: str
    mapping: LabelMapping | None = None
    nostrils: tuple[Vec3, Vec3] | None = None
    variant: str = "imported"
    target_triangles: int = 100_000

    def __post_init__(self) -> None:
        kind = SourceKind.of(self.filename)
        if not kind.is_surface and self.mapping is None:
            raise ValidationError("a label map needs a mapping from its labels to left, right, nasopharynx and sinus "
                                  "(e.g. --map 4:left,3:right,5:nasopharynx,1:sinus); give it.")
        if kind.is_surface and self.mapping is not None:
            raise ValidationError("a surface has no labels to map; leave the mapping out for STL and VTP files.")
        if self.nostrils is not None:
            points = tuple(tuple(float(v) for v in p) for p in self.nostrils)
            if len(points) != 2 or any(len(p) != 3 for p in points):
                raise ValidationError("the nostril points are two points (left, right) of three numbers (LPS mm)")
            object.__setattr__(self, "nostrils", points)
        object.__setattr__(self, "variant", check_name("variant", self.variant))
        triangles = GEOMETRY_RANGES["target_triangles"].check("target_triangles", self.target_triangles)
        object.__setattr__(self, "target_triangles", int(triangles))

    @property
    def kind(self) -> SourceKind:
        """The kind of the file."""
        return SourceKind.of(self.filename)


def _label_volume(data: bytes, kind: SourceKind, limits: InputLimits) -> LabelVolume:
    """The label map of a NIfTI file, or of an NRRD one (a plain label map or a 3D Slicer segmentation, named)."""
    from rhinoapp.volumes import read_nifti_bytes
    from rhinoapp.volumes.segmentation_nrrd import read_label_nrrd_bytes

    if kind is SourceKind.NIFTI:
        return LabelVolume(read_nifti_bytes(data, limits=limits))
    return read_label_nrrd_bytes(data, limits=limits)


def found_segments(data: bytes, filename: str, *,
                   limits: InputLimits = DEFAULT_LIMITS) -> tuple[dict[int, int], dict[int, str]]:
    """The labels of a label-map file with their voxel counts, and their segment names where the file has them."""
    survey = survey_labels(data, filename, limits=limits, guess=False)
    return dict(survey.counts), dict(survey.names)


class MappingSource(enum.Enum):
    """Where a proposed label mapping comes from."""

    NAMES = "the segment names"  #: a 3D Slicer segmentation's names (:func:`mapping_from_names`)
    ANATOMY = "where the labels lie"  #: the labels' places (:func:`~rhinoapp.segmentation.label_anatomy.mapping_from_anatomy`)


@dataclasses.dataclass(frozen=True)
class LabelSurvey:
    """The labels of a label-map file: voxel counts, segment names (where it has them) and the mapping they propose
    (``None`` where neither the names nor the places say one clearly), with where it comes from."""

    counts: Mapping[int, int]
    names: Mapping[int, str]
    mapping: LabelMapping | None = None
    source: MappingSource | None = None

    def found_text(self) -> str:
        """The labels found, for a message: ``1 ('Left') (12,345 voxels), 2 (9,876 voxels)``."""
        return ", ".join(f"{label}{' ' + repr(self.names[label]) if label in self.names else ''} ({count:,} voxels)"
                         for label, count in sorted(self.counts.items())) or "none"


def survey_labels(data: bytes, filename: str, *, limits: InputLimits = DEFAULT_LIMITS,
                  guess: bool = True) -> LabelSurvey:
    """The labels of a label-map file and, with ``guess``, the mapping their segment names say or, failing that,
    the one their places say (:func:`~rhinoapp.segmentation.label_anatomy.mapping_from_anatomy`)."""
    from rhinoapp.segmentation.label_anatomy import mapping_from_anatomy

    kind = SourceKind.of(filename)
    if kind.is_surface:
        raise ValidationError(f"{filename} is a surface: it has no labels to map")
    labels = _label_volume(data, kind, limits)
    counts = label_counts(labels.volume.hu)
    names = {label: name for label, name in labels.names.items() if label in counts}
    if not guess or not counts:
        return LabelSurvey(counts, names)
    named = mapping_from_names(names)
    if named is not None:
        return LabelSurvey(counts, names, named, MappingSource.NAMES)
    values = np.rint(np.asarray(labels.volume.hu)).astype(np.int32)  # whole numbers: label_counts checked them
    placed = mapping_from_anatomy(values, labels.volume.geometry, counts=counts)
    return LabelSurvey(counts, names, placed, None if placed is None else MappingSource.ANATOMY)


def found_labels(data: bytes, filename: str, *, limits: InputLimits = DEFAULT_LIMITS) -> dict[int, int]:
    """The labels of a label-map file and their voxel counts (for choosing the mapping)."""
    return found_segments(data, filename, limits=limits)[0]


def _surface_mask(data: bytes, request: ImportRequest, ct: CTVolume, limits: InputLimits) -> Any:
    from rhinoapp.geometry.voxelise import SurfaceFormat, closed_surface, read_surface, voxelise

    limits.check_bytes(len(data), "the surface file")
    with tempfile.TemporaryDirectory(prefix="rhinoapp-surface-") as folder:
        path = Path(folder) / f"surface.{request.kind.value}"
        path.write_bytes(data)
        surface = closed_surface(read_surface(str(path), SurfaceFormat(request.kind.value)))
    mask = voxelise(surface, ct.geometry)
    if not mask.any():
        raise LabelImportError("the surface does not overlap the CT: no voxel centre of the CT lies inside it. Import "
                               "the surface made on this patient's CT, in its patient coordinates (LPS or as exported "
                               "by 3D Slicer in LPS)")
    return mask


def _own_grid(read: LabelVolume, request: ImportRequest) -> ImageGeometry:
    """The grid a label map imported without its CT goes onto: its own, or with thick slices cubic voxels of its
    finest side (interpolated by shape). Refuses what needs the CT (a whole-airway label, picked nostrils)."""
    from rhinoapp.segmentation.shape_interpolation import isotropic_grid

    assert request.mapping is not None  # the request checked it
    if request.mapping.whole_airway:
        raise LabelImportError("a label map of the whole airway as one label is split into left and right from its "
                               "nostrils, which are found in the CT's air: give the CT it was made on, or map the "
                               "labels of the left and right cavity and the nasopharynx (--map 4:left,3:right,"
                               "5:nasopharynx)")
    if request.nostrils is not None:
        raise LabelImportError("nostril points are picked on the CT: give the CT with them, or leave them out (without "
                               "the CT the nostrils are where the cavities' labels end)")
    source = read.volume
    return isotropic_grid(source.geometry, source.hu) or source.geometry


def _without_ct(imported: ImportedLabels, notes: tuple[str, ...]) -> AirwaySegmentation:
    """The airway of a label map imported without its CT, on its own grid (:func:`_own_grid`): each opening where
    its label ends (:func:`~rhinoapp.cfd.inputs.label_end_faces`, as the simulation finds them in a geometry folder
    without planes)."""
    return _from_label_ends(imported.labels, (*notes, *imported.notes, "imported without its CT: each opening is "
                                              "where its label ends (the nostrils are the cavities' ends farthest "
                                              "from the nasopharynx); check them in the 3D view"))


def _from_label_ends(labels: LabelMap, notes: tuple[str, ...]) -> AirwaySegmentation:
    """The segmentation of ``labels`` with each opening where its label ends, as the simulation finds them in a
    geometry folder without planes (:func:`~rhinoapp.cfd.inputs.label_end_faces`)."""
    from rhinoapp.cfd.domain import Opening as FlowOpening
    from rhinoapp.cfd.inputs import label_end_faces, nostril_cut_short
    from rhinoapp.segmentation.imported import EndFace, segmentation_from_ends

    ends = label_end_faces(labels)
    missing = [o.value.replace("_", " ") for o in FlowOpening if o not in ends]
    if missing:
        raise LabelImportError(f"no open end found for the {', '.join(missing)}: where a label ends, it must look out "
                               "of the airway (no other label beyond it), as a nostril or the cut nasopharynx does; "
                               "check the mapping")
    faces = [EndFace(ends[o].mask, ends[o].outward_kji,
                     nostril_cut_short(labels.geometry, ends[o]) if o.is_inlet else "") for o in FlowOpening]
    return segmentation_from_ends(labels, (faces[0], faces[1], faces[2]), warnings=notes)


def _on_ct(ct: CTVolume, imported: ImportedLabels, notes: tuple[str, ...], request: ImportRequest) -> AirwaySegmentation:
    """The segmentation of the label map ``imported`` onto ``ct``'s grid: a whole-airway label split into sides from
    its nostrils; else the nostrils where the cavities meet the CT's outside air, or, where a cavity meets it nowhere
    (a nostril cut off by the CT's field of view) and none was picked, where the labels end."""
    from rhinoapp.segmentation.imported import NostrilNotFoundError, segmentation_from_labels, segmentation_from_mask

    assert request.mapping is not None  # the request checked it
    labels, notes = imported.labels, (*notes, *imported.notes)
    if request.mapping.whole_airway:  # one airway label: split into sides from its nostrils, as a surface is
        values = labels.labels
        return segmentation_from_mask(ct, values == WHOLE_AIRWAY, sinus=values == AirwayLabel.SINUS,
                                      nostrils=request.nostrils, warnings=notes)
    try:
        return _outlet_where_it_opens(segmentation_from_labels(ct, labels, nostrils=request.nostrils, warnings=notes))
    except NostrilNotFoundError as error:
        if request.nostrils is not None:
            raise
        try:
            return _from_label_ends(labels, (*notes, f"{error.finding} in the CT's air: each opening is where its "
                                             "label ends instead (as for a label map imported without its CT); check "
                                             "the nostrils in the 3D view"))
        except LabelImportError:  # no end either (a "cavity" closed inside the head): the first reason says more
            raise error from None


#: The nasopharynx's open end replaces its lowest axial layer as the outlet where it is this many times larger.
_OPEN_OUTLET_FACTOR = 1.5


def _outlet_where_it_opens(segmentation: AirwaySegmentation) -> AirwaySegmentation:
    """``segmentation`` with its outlet where the nasopharynx's label ends and opens
    (:func:`~rhinoapp.cfd.label_ends.open_ends`, as without the CT: the cut below it, looking down into the
    oropharynx), instead of its lowest axial layer: with the head tilted in the scanner (15, 10 and 10 degrees about
    x, y and z) that layer was a corner of 8 mm² at the label's oblique lower end, and the whole flow through the
    corner diverged. Where the label has no open end, or the lowest layer is the cut (a straight head's nasopharynx
    cut by the image's lower face), the lowest layer stays."""
    from rhinoapp.cfd.domain import Opening as FlowOpening
    from rhinoapp.cfd.inputs import label_end_faces
    from rhinoapp.segmentation.imported import EndFace

    ends = label_end_faces(segmentation.labels, openings=(FlowOpening.OUTLET,))
    end = ends.get(FlowOpening.OUTLET)
    if end is None:
        return segmentation
    outlet = EndFace(end.mask, end.outward_kji).opening("outlet", segmentation.labels.geometry)
    if outlet.area_mm2 <= _OPEN_OUTLET_FACTOR * segmentation.outlet.area_mm2:  # the lowest layer is the cut: keep it
        return segmentation
    _log.info("outlet where the nasopharynx opens: %.0f mm² instead of its lowest layer's %.0f mm²", outlet.area_mm2,
              segmentation.outlet.area_mm2)
    return dataclasses.replace(segmentation, outlet=outlet,
                               options=dataclasses.replace(segmentation.options, outlet_plane=outlet.plane))


def imported_segmentation(ct: CTVolume | None, data: bytes, request: ImportRequest, *,
                          limits: InputLimits = DEFAULT_LIMITS) -> tuple[AirwaySegmentation, dict[str, Any]]:
    """The airway of an imported file on ``ct``'s grid, and its provenance (kind, sha256, mapping, warnings).

    Without ``ct`` (``None``) a label map is imported on its own grid, its openings where its labels end; a
    surface, a whole-airway label and picked nostrils need the CT.
    """
    from rhinoapp.segmentation.imported import segmentation_from_mask

    kind = request.kind
    names: dict[int, str] = {}
    voxel: tuple[float, ...] | None = None
    ragged: float | None = None
    if kind.is_surface:
        if ct is None:
            raise LabelImportError("a surface is imported onto the CT it was made on (its voxels and the air at the "
                                   "nostrils): give the CT")
        segmentation = segmentation_from_mask(ct, _surface_mask(data, request, ct, limits), nostrils=request.nostrils)
    else:
        read = _label_volume(data, kind, limits)
        names, voxel = dict(read.names), tuple(read.volume.geometry.spacing_mm)
        assert request.mapping is not None  # the request checked it
        grid = _own_grid(read, request) if ct is None else ct.geometry
        imported = imported_labels(read.volume.hu, read.volume.geometry, grid, request.mapping)
        ragged = imported.ragged_pits_pct
        segmentation = (_without_ct(imported, read.notes) if ct is None
                        else _on_ct(ct, imported, read.notes, request))
    provenance = {
        "source": "imported surface" if kind.is_surface else "imported label map",
        "on_ct": ct is not None,  # False: on the label map's own grid, the openings where its labels end
        "kind": kind.value,
        "file_name": Path(request.filename).name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "mapping": request.mapping.as_dict() if request.mapping is not None else None,
        "segment_names": {str(label): name for label, name in sorted(names.items())} or None,
        # the voxels the labels were drawn on (i, j, k sides): thick slices are read by the results' accuracy note
        "label_voxel_mm": None if voxel is None else [round(float(v), 4) for v in voxel],
        # the share of the wall voxels that were pits, where the walls were ragged and the pits filled (else None):
        # read by the results' accuracy note too
        "ragged_pits_pct": ragged,
        "nostrils_picked_lps_mm": [list(p) for p in request.nostrils] if request.nostrils else None,
        "warnings": list(segmentation.warnings),
    }
    return segmentation, provenance


def write_import(ct: CTVolume | None, data: bytes, request: ImportRequest, folder: GeometryFolder, *,
                 limits: InputLimits = DEFAULT_LIMITS, progress: ProgressCallback | None = None) -> GeometryReport:
    """Import the file into the geometry ``folder`` (labels, surface, report with its provenance); without ``ct``
    a label map on its own grid (:func:`imported_segmentation`)."""
    segmentation, provenance = imported_segmentation(ct, data, request, limits=limits)
    return write_segmentation(segmentation, SurfaceOptions(target_triangles=request.target_triangles), folder,
                              provenance=provenance, progress=progress)


def store_import(repo: ProjectRepository, project_id: str, ct: CTVolume | None, data: bytes, request: ImportRequest, *,
                 limits: InputLimits = DEFAULT_LIMITS, progress: ProgressCallback | None = None) -> GeometryReport:
    """Import the file and publish it as the project's geometry variant ``request.variant`` (all files or none)."""
    with tempfile.TemporaryDirectory(prefix="rhinoapp-import-") as staging:
        folder = GeometryFolder(Path(staging))
        report = write_import(ct, data, request, folder, limits=limits, progress=progress)
        names: GeometryFolder[PurePosixPath] = ProjectLayout().geometry(request.variant)
        files = {str(name): path.read_bytes() for name, path in zip(names.files, folder.files)}
    repo.write_artifacts(project_id, Step.GEOMETRY, files)
    AuditLog(repo.store).record(repo.owner, AuditAction.UPLOAD, project_id=project_id, detail=Step.GEOMETRY.value)
    _log.info("project %s: imported %s as geometry variant %s", project_id, request.kind.value, request.variant)
    return report


def import_into_project(repo: ProjectRepository, project_id: str, data: bytes, request: ImportRequest, *,
                        limits: InputLimits = DEFAULT_LIMITS, progress: ProgressCallback | None = None) -> GeometryReport:
    """Import the file onto the project's stored CT as geometry variant ``request.variant`` (all files or none).

    A project without a CT takes a label map alone (on its own grid, the openings where its labels end, as
    :func:`imported_segmentation` without a CT); for a surface it raises
    :class:`~rhinoapp.core.errors.NotFoundError`.
    """
    from rhinoapp.core.errors import NotFoundError
    from rhinoapp.dicom.request import check_ct_volume
    from rhinoapp.volumes import read_volume

    path = repo.layout(project_id).ct_volume
    if not path.exists() and request.kind.is_surface:
        raise NotFoundError("This project has no CT yet: import the CT first, then the surface made on it.")
    ct = check_ct_volume(read_volume(path)) if path.exists() else None
    return store_import(repo, project_id, ct, data, request, limits=limits, progress=progress)
