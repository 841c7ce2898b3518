"""Results to take away: the files of a simulation run and of a 4PR measurement, built for download.

Every function reads through a :class:`~rhinoapp.store.repository.ProjectRepository`, which is bound
to the signed-in user: a project, run or measurement of another user is a NotFoundError, as on
every page. Nothing is written: the files are built in memory and handed to the page.

A run gives (:func:`run_export`, :class:`RunFile`): its ``results.json``; CSV tables of the results
(each beside its healthy range at the run's flow), of the per-side figures, of the cross-sections
of the geometry it ran on and of the pressure profile along the airway; its fields for ParaView
(VTK image data ``.vti``) and its pressure and speed as NIfTI images (with their RAS affine, like the
CT); its wall surface (``.vtp``); its convergence history; and a zip of all.
A measurement gives (:func:`measurement_export`, :class:`MeasurementFile`) its 4PR parameters (CSV,
JSON) and its pressure-flow loops (CSV). File names say project, run (or measurement) and date
(:func:`file_stem`); project names are labels the user typed, so they are reduced to safe characters.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import gzip
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from rhinoapp.analysis.ranges import ranges_at_flow
from rhinoapp.core.documents import document_bytes
from rhinoapp.core.errors import NotFoundError, RhinoappError
from rhinoapp.core.layout import ProjectLayout, SimulationFolder
from rhinoapp.core.volume import ImageGeometry
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry import analyse
from rhinoapp.rhinomanometry.io import read_csv
from rhinoapp.rhinomanometry.model import Measurement
from rhinoapp.rhinomanometry.results import AnalysisResult
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.store.simulation_runs import SimulationRun, read_runs

__all__ = ["ExportFile", "MeasurementFile", "RunFile", "file_stem", "loops_csv", "measurement_export",
           "parameters_csv", "run_export", "safe_label"]


@dataclasses.dataclass(frozen=True)
class ExportFile:
    """A file to download: its name, content and media type."""

    name: str
    content: bytes
    media_type: str


_RUN_FOLDER = SimulationFolder(PurePosixPath("run"))  # the stored files' names, from the layout


class RunFile(enum.Enum):
    """The files of a simulation run to take away: (name suffix, media type, label)."""

    RESULTS_JSON = (_RUN_FOLDER.results.name, "application/json", "Results (JSON)")
    RESULTS_CSV = ("results.csv", "text/csv", "Results table (CSV)")
    PER_SIDE_CSV = ("per_side.csv", "text/csv", "Per side (CSV)")
    CROSS_SECTIONS_CSV = ("cross_sections.csv", "text/csv", "Cross-sections (CSV)")
    PRESSURE_PROFILE_CSV = ("pressure_profile.csv", "text/csv", "Pressure profile (CSV)")
    FIELDS = (_RUN_FOLDER.fields.name, "application/octet-stream", "Flow fields for ParaView (.vti)")
    PRESSURE_NIFTI = ("pressure.nii.gz", "application/gzip", "Pressure field (NIfTI)")
    SPEED_NIFTI = ("speed.nii.gz", "application/gzip", "Speed field (NIfTI)")
    WALL = ("wall.vtp", "application/octet-stream", "Wall surface (.vtp)")
    CONVERGENCE_CSV = (_RUN_FOLDER.convergence.name, "text/csv", "Convergence history (CSV)")
    ZIP = ("all.zip", "application/zip", "All files (zip)")

    @property
    def suffix(self) -> str:
        """The end of the file name."""
        return self.value[0]

    @property
    def label(self) -> str:
        """The download button's text."""
        return self.value[2]


class MeasurementFile(enum.Enum):
    """The files of a 4PR measurement to take away: (name suffix, media type, label)."""

    PARAMETERS_CSV = ("4pr_parameters.csv", "text/csv", "4PR parameters (CSV)")
    PARAMETERS_JSON = ("4pr_parameters.json", "application/json", "4PR parameters (JSON)")
    LOOPS_CSV = ("4pr_loops.csv", "text/csv", "Pressure-flow loops (CSV)")

    @property
    def label(self) -> str:
        """The download button's text."""
        return self.value[2]


def safe_label(text: str, *, limit: int = 40) -> str:
    """``text`` reduced to letters, digits and single hyphens, at most ``limit`` characters (``project`` if empty).

    Examples
    --------
    >>> safe_label("Case 12 / Müller, J.")
    'Case-12-M-ller-J'
    >>> safe_label("../../etc"), safe_label("   ")
    ('etc', 'project')
    """
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:limit].strip("-")
    return cleaned or "project"


def file_stem(project_name: str, item: str, when: dt.datetime | dt.date) -> str:
    """The start of every file name of a download: project, run (or measurement) and date.

    Examples
    --------
    >>> file_stem("Demo - synthetic nose", "run-3f2a", dt.date(2026, 3, 1))
    'Demo-synthetic-nose_run-3f2a_2026-03-01'
    """
    day = when.date() if isinstance(when, dt.datetime) else when
    return f"{safe_label(project_name)}_{safe_label(item, limit=64)}_{day.isoformat()}"


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return stream.getvalue().encode("utf-8")


# -- a simulation run -----------------------------------------------------------------------------
def _run(repository: ProjectRepository, jobs: JobStore | None, project_id: str, run_id: str) -> SimulationRun:
    run = next((r for r in read_runs(repository, jobs, project_id) if r.run_id == run_id), None)
    if run is None:
        raise NotFoundError(f"No finished run {run_id!r} in this project: pick one from the list of finished runs.")
    return run


def _results_csv(run: SimulationRun) -> bytes:
    rows = [(row.key, row.label, "" if row.value is None else row.value, row.text, row.unit,
             row.reference.low if row.reference else None, row.reference.high if row.reference else None,
             row.reference.at_flow_ml_s if row.reference else None, row.verdict, row.flag,
             row.reference.source if row.reference else row.note) for row in run.rows()]
    return _csv(("key", "result", "value", "as_shown", "unit", "healthy_low", "healthy_high", "healthy_at_flow_ml_s",
                 "compared", "plausibility", "range_source"), rows)


def _geometry_report(repository: ProjectRepository, project_id: str, run: SimulationRun) -> Mapping[str, Any]:
    name = str(ProjectLayout().geometry(str(run.parameters.get("variant") or "default")).report)
    info = next((a for a in repository.artifacts(project_id, Step.GEOMETRY) if a.name == name), None)
    if info is None:
        return {}
    try:
        document = json.loads(info.path.read_bytes())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, Mapping) else {}


def _per_side_csv(run: SimulationRun, geometry: Mapping[str, Any]) -> bytes:
    results = run.results
    flows, resistance = results.get("flow_ml_s") or {}, results.get("resistance_pa_s_per_ml") or {}
    ranges = ranges_at_flow(flows.get("total"))
    rows = []
    for side in ("left", "right", "total"):
        healthy = ranges.get(f"resistance_{side}")
        metrics = geometry.get(side) if side != "total" else None
        metrics = metrics if isinstance(metrics, Mapping) else {}
        rows.append((side, flows.get(side), resistance.get(side), healthy.low if healthy else None,
                     healthy.high if healthy else None, *(metrics.get(key) for key in
                                                          ("volume_ml", "surface_cm2", "mcsa_cm2", "mcsa_distance_mm"))))
    return _csv(("side", "flow_ml_s", "resistance_pa_s_per_ml", "healthy_resistance_low", "healthy_resistance_high",
                 "volume_ml", "surface_cm2", "mcsa_cm2", "mcsa_distance_mm"), rows)


def _cross_sections_csv(geometry: Mapping[str, Any]) -> bytes:
    rows = []
    for side in ("left", "right"):
        profile = (geometry.get(side) or {}).get("profile") or {}
        rows += [(side, d, a) for d, a in zip(profile.get("distance_mm") or [], profile.get("area_cm2") or [],
                                               strict=False)]
    return _csv(("side", "distance_from_nostril_mm", "area_cm2"), rows)


def _pressure_profile_csv(results: Mapping[str, Any]) -> bytes:
    profile = results.get("pressure_profile") or {}
    return _csv(("distance_from_nostril_mm", "mean_pressure_pa"),
                zip(profile.get("distance_mm") or [], profile.get("pressure_pa") or [], strict=False))


def _field_nifti(path: Path, name: str) -> bytes:
    """One field of a run's ``fields.vti`` as a gzipped NIfTI-1 image with its RAS affine (a vector field:
    its magnitude); cells outside the airway are 0."""
    import nibabel as nib
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOXML import vtkXMLImageDataReader

    reader = vtkXMLImageDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    image = reader.GetOutput()
    array = image.GetPointData().GetArray(name)
    if array is None:
        raise NotFoundError(f"The run's fields have no {name!r}: run the simulation again.")
    dims = image.GetDimensions()
    matrix = image.GetDirectionMatrix()
    geometry = ImageGeometry((dims[2], dims[1], dims[0]), tuple(image.GetSpacing()), tuple(image.GetOrigin()),
                             tuple(float(matrix.GetElement(r, c)) for r in range(3) for c in range(3)))
    values = vtk_to_numpy(array).astype(np.float32)
    values = np.linalg.norm(values, axis=1) if values.ndim == 2 else values
    nifti = nib.Nifti1Image(np.asarray(values, np.float32).reshape(geometry.shape).transpose(2, 1, 0),
                            geometry.affine_ras)
    nifti.set_sform(geometry.affine_ras, code=1)
    nifti.set_qform(geometry.affine_ras, code=1)
    nifti.header.set_xyzt_units(xyz="mm")
    nifti.header["descrip"] = {"pressure_pa": b"rhinoapp gauge pressure (Pa)",
                               "velocity_m_s": b"rhinoapp speed (m/s)"}.get(name, name.encode()[:79])
    return gzip.compress(nifti.to_bytes(), compresslevel=4, mtime=0)


def _run_file(repository: ProjectRepository, project_id: str, run: SimulationRun, kind: RunFile) -> bytes:
    folder = repository.layout(project_id).simulation(run.run_id)
    match kind:
        case RunFile.RESULTS_JSON:
            return folder.results.read_bytes()
        case RunFile.RESULTS_CSV:
            return _results_csv(run)
        case RunFile.PER_SIDE_CSV:
            return _per_side_csv(run, _geometry_report(repository, project_id, run))
        case RunFile.CROSS_SECTIONS_CSV:
            return _cross_sections_csv(_geometry_report(repository, project_id, run))
        case RunFile.PRESSURE_PROFILE_CSV:
            return _pressure_profile_csv(run.results)
        case RunFile.FIELDS:
            return folder.fields.read_bytes()
        case RunFile.WALL:
            return folder.surface.read_bytes()
        case RunFile.PRESSURE_NIFTI:
            return _field_nifti(folder.fields, "pressure_pa")
        case RunFile.SPEED_NIFTI:
            return _field_nifti(folder.fields, "velocity_m_s")
        case RunFile.CONVERGENCE_CSV:
            return folder.convergence.read_bytes()
    raise NotFoundError(f"no file {kind!r} of a run: choose one of {[k.name for k in RunFile]}")


def run_export(repository: ProjectRepository, project_id: str, run_id: str, kind: RunFile, *,
               jobs: JobStore | None = None) -> ExportFile:
    """One file of a finished run of the user's project (``RunFile.ZIP``: all of them in one zip).

    ``jobs`` (the job store) gives the run's parameters, for the geometry variant it ran on.
    NotFoundError for a project, or a run, the user does not have.
    """
    project = repository.get(project_id)  # the signed-in user's project, or NotFoundError
    run = _run(repository, jobs, project_id, run_id)
    stem = file_stem(project.name, run_id, run.created)
    try:
        if kind is not RunFile.ZIP:
            return ExportFile(f"{stem}_{kind.suffix}", _run_file(repository, project_id, run, kind), kind.value[1])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part in RunFile:
                if part is not RunFile.ZIP:
                    archive.writestr(f"{stem}/{stem}_{part.suffix}", _run_file(repository, project_id, run, part))
        return ExportFile(f"{stem}_{kind.suffix}", buffer.getvalue(), kind.value[1])
    except OSError as error:
        raise NotFoundError(f"The files of run {run_id} could not be read ({type(error).__name__}): run the "
                            "simulation again.") from error


# -- a 4PR measurement ----------------------------------------------------------------------------
_UNITS = {"r75": "Pa·s/ml", "r150": "Pa·s/ml", "vr": "Pa·s/ml", "reff": "Pa·s/ml", "lvr": "log10 Pa·s/ml",
          "lreff": "log10 Pa·s/ml", "hysteresis": "Pa·ml/s", "flow_at_150": "ml/s"}


def parameters_csv(result: AnalysisResult) -> bytes:
    """The 4PR parameters of each side (mean, SD, breaths), the Rohrer fit and the totals, one per line.

    Examples
    --------
    >>> from rhinoapp.rhinomanometry import generate
    >>> text = parameters_csv(analyse(generate(duration_s=10, seed=1).measurement)).decode()
    >>> text.splitlines()[0], "left,r150," in text, "both,r150," in text
    ('side,parameter,mean,sd,breaths,unit,note', True, True)
    """
    rows: list[tuple[Any, ...]] = []
    for side in result.sides:
        name = side.side.value
        for key, stat in side.summary.items():
            rows.append((name, key, stat.mean, stat.std, stat.n, _UNITS.get(key, ""), stat.reason))
        if side.rohrer is not None:
            rows += [(name, "rohrer_k1", side.rohrer.k1, None, len(side.breaths), "Pa·s/ml", ""),
                     (name, "rohrer_k2", side.rohrer.k2, None, len(side.breaths), "Pa·s²/ml²", "")]
        rows.append((name, "obstruction_class", side.obstruction.label if side.obstruction else None, None,
                     len(side.breaths), "", side.obstruction_reason))
    total = result.total
    for key in ("r75", "r150", "vr", "reff"):
        value = getattr(total, key, None)
        if value is not None:
            rows.append(("both", key, value.value, None, None, _UNITS[key], value.reason))
    partition = total.flow_partition_left_150
    rows.append(("both", "flow_partition_left_150", partition.value, None, None, "fraction", partition.reason))
    return _csv(("side", "parameter", "mean", "sd", "breaths", "unit", "note"), rows)


def loops_csv(measurement: Measurement, result: AnalysisResult) -> bytes:
    """The pressure-flow loops: each sample of each analysed breath, with its side, breath and phase.

    Examples
    --------
    >>> from rhinoapp.rhinomanometry import generate
    >>> m = generate(duration_s=10, seed=1, right=None).measurement
    >>> lines = loops_csv(m, analyse(m)).decode().splitlines()
    >>> lines[0], len(lines) > 100
    ('side,breath,phase,time_s,pressure_difference_pa,flow_ml_s', True)
    """
    rows = []
    for side in result.sides:
        recording = measurement.recording(side.side)
        if recording is None:
            continue
        count = len(recording)
        for breath in side.breaths:
            for phase in breath.phases:
                for i in range(phase.start, min(phase.stop + 1, count)):
                    rows.append((side.side.value, breath.index, phase.phase.value, float(recording.t_s[i]),
                                 float(recording.dp_pa[i]), float(recording.flow_ml_s[i])))
    return _csv(("side", "breath", "phase", "time_s", "pressure_difference_pa", "flow_ml_s"), rows)


def measurement_export(repository: ProjectRepository, project_id: str, measurement_id: str,
                       kind: MeasurementFile, **analysis: Any) -> ExportFile:
    """One file of a stored 4PR measurement of the user's project (``analysis``: options of ``analyse``).

    NotFoundError for a project, or a measurement, the user does not have.
    """
    project = repository.get(project_id)  # the signed-in user's project, or NotFoundError
    name = str(ProjectLayout().measurement(measurement_id).recording)
    info = next((a for a in repository.artifacts(project_id, Step.RHINOMANOMETRY) if a.name == name), None)
    if info is None:
        raise NotFoundError(f"No 4PR measurement {measurement_id!r} in this project: pick one from the list.")
    try:
        measurement = read_csv(info.path.read_text(encoding="utf-8"), source=name)
    except (OSError, RhinoappError) as error:
        raise NotFoundError(f"The stored recording {measurement_id} could not be read ({type(error).__name__}): "
                            "upload it again.") from error
    result = analyse(measurement, **analysis)
    stem = file_stem(project.name, measurement_id, info.created)
    content = {MeasurementFile.PARAMETERS_CSV: lambda: parameters_csv(result),
               MeasurementFile.PARAMETERS_JSON: lambda: document_bytes(result.as_dict()),
               MeasurementFile.LOOPS_CSV: lambda: loops_csv(measurement, result)}[kind]()
    return ExportFile(f"{stem}_{kind.value[0]}", content, kind.value[1])
