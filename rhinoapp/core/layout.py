"""Where each artifact of a project lives: the one place that names the files of a project folder.

A project folder holds the outputs of the workflow steps and a few auxiliary files::

    volume/ct.nii.gz, volume/ct.json                  DICOM step: the CT volume and its metadata
    geometry/<variant>/labels.nii.gz, airway.stl,     Geometry step: labels, surface, report
        airway.vtp, geometry.json
    simulations/<run>/fields.vti, surface.vtp,        Simulation step: flow fields, wall values,
        results.json, convergence.csv                     clinical figures, history
    rhinomanometry/<measurement>/recording.csv,       4PR step: the recording and its parameters
        parameters.json
    analysis/comparison.json                          Analysis step: simulation beside 4PR
    auxiliary/volume-histogram.json, thumbnails/,     diagnostics: never part of a step's output
        logs/

Paths are built on a root: a real folder (:class:`pathlib.Path`, e.g. a project's folder or a job's
staging folder) gives real paths; the default root gives the project-relative names the store
records (``str(ProjectLayout().ct_volume) == "volume/ct.nii.gz"``).

Examples
--------
>>> from pathlib import Path
>>> layout = ProjectLayout()
>>> str(layout.ct_volume), str(layout.geometry("default").report)
('volume/ct.nii.gz', 'geometry/default/geometry.json')
>>> ProjectLayout(Path("/data/p1")).simulation("run-1").results.as_posix()
'/data/p1/simulations/run-1/results.json'
>>> ProjectLayout.is_auxiliary(str(layout.volume_histogram)), ProjectLayout.is_auxiliary("volume/ct.json")
(True, False)
>>> ProjectLayout.simulation_run_of("simulations/run-1/results.json")
'run-1'
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePath, PurePosixPath
from typing import Generic, TypeVar

__all__ = ["GeometryFolder", "MeasurementFolder", "ProjectLayout", "SimulationFolder"]

P = TypeVar("P", bound=PurePath)

_VOLUME, _GEOMETRY, _SIMULATIONS, _RHINOMANOMETRY = "volume", "geometry", "simulations", "rhinomanometry"
_ANALYSIS, _AUXILIARY, _STAGING = "analysis", "auxiliary", ".staging"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")


def _checked(what: str, name: str) -> str:
    if not _NAME.match(name):
        from rhinoapp.core.errors import ValidationError

        raise ValidationError(f"{what} {name!r}: use letters, digits, '-' or '_' (starting with a letter or digit).")
    return name


@dataclasses.dataclass(frozen=True)
class GeometryFolder(Generic[P]):
    """The files of one airway geometry folder (what the segmentation writes; the simulation reads).

    Examples
    --------
    >>> folder = GeometryFolder(PurePosixPath("geometry/default"))
    >>> [str(p) for p in folder.files]
    ['geometry/default/labels.nii.gz', 'geometry/default/airway.stl', 'geometry/default/airway.vtp', 'geometry/default/geometry.json']
    """

    path: P

    @property
    def labels(self) -> P:
        """The label map (NIfTI, values of :class:`~rhinoapp.core.volume.AirwayLabel`)."""
        return self.path / "labels.nii.gz"

    @property
    def stl(self) -> P:
        """The airway surface as binary STL."""
        return self.path / "airway.stl"

    @property
    def vtp(self) -> P:
        """The airway surface with its face labels (VTK XML poly data)."""
        return self.path / "airway.vtp"

    @property
    def report(self) -> P:
        """The geometry report (metrics, options, openings; see ``rhinoapp.geometry.GeometryReport``)."""
        return self.path / "geometry.json"

    @property
    def files(self) -> tuple[P, P, P, P]:
        """Every file of a complete folder."""
        return self.labels, self.stl, self.vtp, self.report


@dataclasses.dataclass(frozen=True)
class SimulationFolder(Generic[P]):
    """The files of one simulation run's folder.

    Examples
    --------
    >>> SimulationFolder(PurePosixPath("out")).checkpoints.as_posix()
    'out/checkpoints'
    """

    path: P

    @property
    def fields(self) -> P:
        """Flow fields on the lattice (VTK XML image data)."""
        return self.path / "fields.vti"

    @property
    def surface(self) -> P:
        """Wall surface with pressure and wall shear stress (VTK XML poly data)."""
        return self.path / "surface.vtp"

    @property
    def results(self) -> P:
        """The clinical figures (see ``rhinoapp.cfd.SimulationResults``)."""
        return self.path / "results.json"

    @property
    def convergence(self) -> P:
        """The convergence history (CSV)."""
        return self.path / "convergence.csv"

    @property
    def sweep(self) -> P:
        """A flow sweep's runs and Rohrer fits (see ``rhinoapp.analysis.sweep``), in a sweep's folder."""
        return self.path / "sweep.json"

    @property
    def checkpoints(self) -> P:
        """Working checkpoints of a run in progress (never published)."""
        return self.path / "checkpoints"

    @property
    def files(self) -> tuple[P, P, P, P]:
        """Every published file of a complete run."""
        return self.fields, self.surface, self.results, self.convergence


@dataclasses.dataclass(frozen=True)
class MeasurementFolder(Generic[P]):
    """The files of one stored 4PR measurement."""

    path: P

    @property
    def recording(self) -> P:
        """The recording in rhinoapp's open CSV format."""
        return self.path / "recording.csv"

    @property
    def parameters(self) -> P:
        """The 4PR parameters (see ``rhinoapp.rhinomanometry.RhinomanometryParameters``)."""
        return self.path / "parameters.json"

    @property
    def files(self) -> tuple[P, P]:
        """Every file of a stored measurement."""
        return self.recording, self.parameters


@dataclasses.dataclass(frozen=True)
class ProjectLayout(Generic[P]):
    """The path of every artifact of a project folder, under ``root``.

    ``root`` defaults to the empty relative path, which gives the names the store records.
    """

    root: P = PurePosixPath()  # type: ignore[assignment]

    # -- DICOM step ----------------------------------------------------------------------------
    @property
    def volume_dir(self) -> P:
        """The folder of the CT volume."""
        return self.root / _VOLUME

    @property
    def ct_volume(self) -> P:
        """The CT volume in HU (NIfTI)."""
        return self.volume_dir / "ct.nii.gz"

    @property
    def ct_metadata(self) -> P:
        """What the CT volume is and how it was made (see ``rhinoapp.core.volume.CTMetadata``)."""
        return self.volume_dir / "ct.json"

    # -- Geometry step -------------------------------------------------------------------------
    def geometry(self, variant: str = "default") -> GeometryFolder[P]:
        """The folder of one geometry variant."""
        return GeometryFolder(self.root / _GEOMETRY / _checked("variant", variant))

    # -- Simulation step -----------------------------------------------------------------------
    @property
    def simulations_dir(self) -> P:
        """The folder holding one folder per simulation run."""
        return self.root / _SIMULATIONS

    def simulation(self, run_id: str) -> SimulationFolder[P]:
        """The folder of one simulation run."""
        return SimulationFolder(self.simulations_dir / _checked("run id", run_id))

    # -- 4PR step ------------------------------------------------------------------------------
    def measurement(self, measurement_id: str) -> MeasurementFolder[P]:
        """The folder of one stored 4PR measurement."""
        return MeasurementFolder(self.root / _RHINOMANOMETRY / _checked("measurement id", measurement_id))

    # -- Analysis step -------------------------------------------------------------------------
    @property
    def comparison(self) -> P:
        """The comparison of a simulation with the 4PR measurement (see ``rhinoapp.analysis``)."""
        return self.root / _ANALYSIS / "comparison.json"

    # -- auxiliary outputs: never part of a step's output ---------------------------------------
    @property
    def auxiliary_dir(self) -> P:
        """The folder of diagnostics outputs (histograms, thumbnails, logs)."""
        return self.root / _AUXILIARY

    @property
    def volume_histogram(self) -> P:
        """The HU histogram of the CT volume (the "check the CT volume" job)."""
        return self.auxiliary_dir / "volume-histogram.json"

    @property
    def thumbnails_dir(self) -> P:
        """Preview images."""
        return self.auxiliary_dir / "thumbnails"

    @property
    def logs_dir(self) -> P:
        """Log files of jobs."""
        return self.auxiliary_dir / "logs"

    @property
    def staging_root(self) -> P:
        """The folder holding one staging folder per job that runs (or ran and left it)."""
        return self.root / _STAGING

    def staging(self, job_id: str) -> P:
        """The folder under which the attempts of a job stage their outputs."""
        return self.staging_root / job_id

    def live(self, job_id: str) -> P:
        """The live checkpoints of a running simulation job (removed with its staging folder).

        Examples
        --------
        >>> ProjectLayout(PurePosixPath("p")).live("j1").as_posix()
        'p/.staging/j1/live'
        """
        return self.staging(job_id) / "live"

    # -- reading names back ----------------------------------------------------------------------
    @staticmethod
    def is_auxiliary(name: str) -> bool:
        """True for a project-relative name of an auxiliary output (never in a step's digest)."""
        return PurePosixPath(name).parts[:1] == (_AUXILIARY,)

    @staticmethod
    def simulation_run_of(name: str) -> str | None:
        """The run id of a project-relative name ``simulations/<run>/<file>``, else None."""
        parts = PurePosixPath(name).parts
        return parts[1] if len(parts) == 3 and parts[0] == _SIMULATIONS else None

    @staticmethod
    def measurement_of(name: str) -> str | None:
        """The measurement id of a project-relative name ``rhinomanometry/<id>/<file>``, else None.

        Examples
        --------
        >>> ProjectLayout.measurement_of("rhinomanometry/m1/parameters.json"), ProjectLayout.measurement_of("x")
        ('m1', None)
        """
        parts = PurePosixPath(name).parts
        return parts[1] if len(parts) == 3 and parts[0] == _RHINOMANOMETRY else None

    @classmethod
    def results_run_of(cls, name: str) -> str | None:
        """The run id when ``name`` is a run's results document, else None.

        Examples
        --------
        >>> ProjectLayout.results_run_of("simulations/r1/results.json"), ProjectLayout.results_run_of("simulations/r1/fields.vti")
        ('r1', None)
        """
        run = cls.simulation_run_of(name)
        return run if run is not None and name == str(cls().simulation(run).results) else None

    @classmethod
    def sweep_of(cls, name: str) -> str | None:
        """The sweep id when ``name`` is a flow sweep's document, else None.

        Examples
        --------
        >>> ProjectLayout.sweep_of("simulations/sweep-1/sweep.json"), ProjectLayout.sweep_of("simulations/r1/results.json")
        ('sweep-1', None)
        """
        run = cls.simulation_run_of(name)
        return run if run is not None and name == str(cls().simulation(run).sweep) else None

    @classmethod
    def parameters_measurement_of(cls, name: str) -> str | None:
        """The measurement id when ``name`` is a measurement's 4PR parameters document, else None."""
        found = cls.measurement_of(name)
        return found if found is not None and name == str(cls().measurement(found).parameters) else None

    @staticmethod
    def file_name(name: str) -> str:
        """The last part of a project-relative name (``results.json`` of ``simulations/r/results.json``)."""
        return PurePosixPath(name).name
