"""Saving a hand-edited label map as a new geometry variant of a project.

The edited labels become ``geometry/<variant>/`` like a segmentation's output: labels, surface
(STL, VTP) and ``geometry.json``, recomputed from the labels with the openings of the variant the
edits started from (see :mod:`rhinoapp.geometry.edited`). ``geometry.json`` gains a
``provenance`` entry: the variant edited, its automatic segmentation options and the list of
edits (:func:`rhinoapp.segmentation.editing.edit_to_dict`), so the result can be traced and
repeated. The files are published together as the project's Geometry step; the simulation can
then name the variant.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from rhinoapp.core.errors import ConflictError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.volume import CTVolume, LabelMap
from rhinoapp.core.workflow import Step
from rhinoapp.geometry import GeometryReport, SurfaceOptions, build_geometry, stl_bytes, vtp_bytes
from rhinoapp.geometry.edited import edited_segmentation
from rhinoapp.segmentation.editing import Edit, edit_to_dict
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.volumes.nifti import to_nifti_image

__all__ = ["edited_geometry_files", "geometry_variants", "save_edited_geometry"]

_log = logging.getLogger(__name__)


def edited_geometry_files(labels: LabelMap, base: Mapping[str, Any], edits: Sequence[Edit], *, base_variant: str,
                          variant: str) -> tuple[GeometryReport, dict[str, bytes]]:
    """The report and the files (project-relative name to bytes) of the edited ``labels``.

    ``base`` is the ``geometry.json`` content of ``base_variant``, whose openings and options are
    kept; the surface options are those of the base too.
    """
    segmentation = edited_segmentation(labels, base, warnings=tuple(base.get("warnings", ()) or ()))
    surface = dict((base.get("options") or {}).get("surface") or {})
    options = SurfaceOptions(**surface) if surface else None
    geometry = build_geometry(segmentation, options)
    document = geometry.as_dict()
    document["provenance"] = {
        "edited_from": base_variant,
        "automatic_options": (base.get("options") or {}).get("segmentation"),
        "edits": [edit_to_dict(edit) for edit in edits],
    }
    report = GeometryReport.from_document(document)
    image = to_nifti_image(CTVolume(labels.labels, labels.geometry))
    image.header["descrip"] = b"rhinoapp airway labels (edited): 1 L, 2 R, 3 nasopharynx, 4 sinus"
    folder = ProjectLayout[PurePosixPath]().geometry(variant)
    files = {str(folder.labels): gzip.compress(image.to_bytes(), compresslevel=4, mtime=0),
             str(folder.stl): stl_bytes(geometry.surface), str(folder.vtp): vtp_bytes(geometry.surface),
             str(folder.report): report.to_json()}
    return report, files


def geometry_variants(repository: ProjectRepository, project_id: str) -> list[str]:
    """The complete geometry variants of a project (every file present), ``default`` first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> geometry_variants(repo, repo.create("Case 1").id)
    []
    """
    names = {a.name for a in repository.artifacts(project_id, Step.GEOMETRY)}
    found = {name.split("/")[1] for name in names if name.count("/") == 2}
    complete = [v for v in found if all(str(p) in names for p in ProjectLayout[PurePosixPath]().geometry(v).files)]
    return sorted(complete, key=lambda v: (v != "default", v))


def save_edited_geometry(repository: ProjectRepository, project_id: str, labels: LabelMap, edits: Sequence[Edit], *,
                         base_variant: str, variant: str) -> GeometryReport:
    """Publish the edited ``labels`` as the new geometry ``variant`` of the project; returns its report.

    Raises
    ------
    ConflictError
        When ``variant`` exists already (an edit never overwrites a geometry): choose another name.
    ValidationError
        A bad variant name, a base without its report, or edits that removed a side or an opening.
    """
    layout = ProjectLayout[PurePosixPath]()
    folder = layout.geometry(variant)  # checks the name
    if variant in geometry_variants(repository, project_id):
        raise ConflictError(f"the geometry variant {variant!r} exists already: choose another name for the edited "
                            "airway")
    base = GeometryReport.from_json(repository.layout(project_id).geometry(base_variant).report.read_bytes())
    report, files = edited_geometry_files(labels, base.to_document(), edits, base_variant=base_variant,
                                          variant=variant)
    repository.write_artifacts(project_id, Step.GEOMETRY, files)
    _log.info("edited geometry %s of project %s saved (%d edits, from %s)", folder.path, project_id, len(edits),
              base_variant)
    return report
