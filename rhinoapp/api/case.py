"""A project scripted from Python: :class:`Case` opens or creates it and runs each step.

Every step goes through the code the CLI and the pages use: the CT import through
:mod:`rhinoapp.usecases.ct_import`, the 4PR import through :mod:`rhinoapp.usecases.rhinomanometry`,
the comparison through :mod:`rhinoapp.usecases.analysis`; segmentation, simulation and sweep run as
jobs (:mod:`rhinoapp.api.jobs`: in this process, or on a job profile such as Slurm), whose tasks
call :mod:`rhinoapp.usecases.geometry`, :mod:`~rhinoapp.usecases.simulation` and
:mod:`~rhinoapp.usecases.sweep`. Each step's options and checks are those of its request type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from rhinoapp.api.jobs import JobRunners
from rhinoapp.api.live import LiveRun
from rhinoapp.api.progress import ProgressBar
from rhinoapp.api.results import Analysis, CTImage, Geometry, Rhinomanometry, Simulation, Sweep
from rhinoapp.analysis.sweep import SweepResults
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.cfd.results import SimulationResults
from rhinoapp.cfd.sweep_request import SweepRequest
from rhinoapp.config import Settings, load_settings
from rhinoapp.core.errors import NotFoundError
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.volume import CTMetadata
from rhinoapp.core.workflow import JobKind
from rhinoapp.dicom.identity import project_pseudonym
from rhinoapp.dicom.request import CTImportRequest
from rhinoapp.geometry.report import GeometryReport
from rhinoapp.geometry.request import GeometryRequest
from rhinoapp.segmentation.request import SegmentationRequest
from rhinoapp.store.database import open_store
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository

__all__ = ["Case"]

_log = logging.getLogger(__name__)

_SEGMENTATION_OPTIONS = ("threshold_hu", "partial_volume", "sinuses", "seed_left", "seed_right", "outlet_z_mm",
                         "outlet_depth_mm")


class Case:
    """One project (a patient case) of a data directory, with a method per workflow step.

    Open it with :meth:`open` (created when missing) and close it (or use ``with``). Steps run in
    this process unless ``profile`` names a job profile of the settings (``local``, a Slurm one).
    Long steps show a progress bar (tqdm's, in a notebook or a terminal; ``progress=False`` hides it).

    Examples
    --------
    A whole case on the synthetic phantom, coarse enough to run in seconds:

    >>> import tempfile, pathlib
    >>> from rhinoapp.phantom import generate_phantom
    >>> from rhinoapp.volumes import nifti_bytes
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "phantom.nii.gz").write_bytes(nifti_bytes(generate_phantom(spacing_mm=1.0).ct))
    >>> case = Case.open("Phantom", data_dir=folder / "data")
    >>> case.import_ct(folder / "phantom.nii.gz", progress=False).metadata.dimensions_ijk
    (68, 114, 78)
    >>> geometry = case.segment(target_triangles=20_000, progress=False)
    >>> 0.24 < geometry.report.mcsa_cm2("left") < 1.21
    True
    >>> run = case.simulate(flow_ml_s=150, resolution_mm=2.0, max_steps=300, progress=False)
    >>> run.table().loc["Flow, total", "unit"]
    'ml/s'
    >>> case.compare().table().index[0]
    'Resistance left'
    >>> case.report(pictures=False)[:5]
    b'%PDF-'
    >>> case.close()
    """

    def __init__(self, settings: Settings, project_id: str) -> None:
        self.settings = settings
        self._store = open_store(settings)
        self.repository = ProjectRepository(self._store, owner=settings.user)
        self.project = self.repository.get(project_id)
        self._runners = JobRunners(settings, self._store, owner=settings.user)

    # -- opening and closing -----------------------------------------------------------------
    @classmethod
    def open(cls, name: str, *, data_dir: Path | str | None = None, settings: Settings | None = None,
             create: bool = True, description: str = "") -> Case:
        """The project named ``name`` (or with that id), created when missing unless ``create=False``.

        ``settings`` default to those of the environment (``RHINOAPP_*``, like the CLI); ``data_dir``
        overrides their data directory.
        """
        base = settings or load_settings(overrides={"data_dir": data_dir})
        if data_dir is not None and settings is not None:
            import dataclasses

            base = dataclasses.replace(settings, data_dir=Path(data_dir))
        store = open_store(base)
        try:
            repo = ProjectRepository(store, owner=base.user)
            found = next((p for p in repo.list_projects()
                          if name in (p.id, p.name) or p.name.casefold() == name.casefold()), None)
            if found is None:
                if not create:
                    raise NotFoundError(f'No project named or with id "{name}": open it with create=True to make it.')
                found = repo.create(name, description)
            project_id = found.id
        finally:
            store.close()
        return cls(base, project_id)

    def close(self) -> None:
        """Stop the job runners this case started and close the store."""
        self._runners.close()
        self._store.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Case({self.project.name!r}, id={self.project.id!r}, data_dir={str(self.settings.data_dir)!r})"

    @property
    def id(self) -> str:
        """The project's id."""
        return self.project.id

    @property
    def pseudonym(self) -> str:
        """The case's pseudonym (PatientName and PatientID of its de-identified CT)."""
        return project_pseudonym(self.project.id)

    # -- CT ------------------------------------------------------------------------------------
    def import_ct(self, *paths: Path | str, series: str | None = None, tilt: str = "refuse",
                  progress: bool = True, replace: bool = False) -> CTImage:
        """Import a CT as ``rhinoapp import`` does: a DICOM folder, zip or files (de-identified in memory),
        or one NIfTI or NRRD file; ``series`` picks a DICOM series (its number or UID). A case that
        has a CT keeps it unless ``replace`` is True (its segmentation and runs become outdated)."""
        from rhinoapp.usecases.ct_import import PendingUpload, assemble_series, open_ct_files, store_ct

        request = CTImportRequest(series=series, tilt=tilt)  # type: ignore[arg-type]
        bar = ProgressBar("importing the CT", enabled=progress)
        try:
            found = open_ct_files([Path(p) for p in paths], settings=self.settings, project_id=self.id,
                                  progress=lambda n: bar(ProgressReport(0.0, stage=f"{n} file(s) read")))
            if isinstance(found, PendingUpload):
                bar(ProgressReport(0.6, stage="assembling the series"))
                found = assemble_series(found, request)
            store_ct(self.repository, self.id, *found, request, replace=replace)
        finally:
            bar.close()
        ct = self.ct()
        assert ct is not None
        return ct

    def ct(self) -> CTImage | None:
        """The stored CT, or None before an import."""
        layout = self.repository.layout(self.id)
        if not layout.ct_volume.exists() or not layout.ct_metadata.exists():
            return None
        return CTImage(layout.ct_volume, CTMetadata.from_json(layout.ct_metadata.read_bytes()))

    # -- geometry ------------------------------------------------------------------------------
    def segment(self, *, target_triangles: int = 100_000, variant: str = "default", profile: str | None = None,
                progress: bool = True, **options: Any) -> Geometry:
        """Segment the airway and build its surface, with the Geometry page's options
        (:class:`~rhinoapp.segmentation.request.SegmentationRequest`: ``threshold_hu``, ``partial_volume``,
        ``sinuses``, ``seed_left``/``seed_right``, ``outlet_z_mm``, ``outlet_depth_mm``)."""
        unknown = sorted(set(options) - set(_SEGMENTATION_OPTIONS))
        if unknown:
            raise TypeError(f"segment() got unknown options {unknown}; known: {', '.join(_SEGMENTATION_OPTIONS)}")
        request = GeometryRequest(segmentation=SegmentationRequest(**options), target_triangles=target_triangles,
                                  variant=variant)
        self._runners.run(self.id, JobKind.SEGMENTATION, request.to_parameters(), profile=profile, progress=progress,
                          description="segmenting the airway")
        return self.geometry(variant)

    def import_segmentation(self, path: Path | str, *, mapping: str | dict[Any, str] | None = None,
                            variant: str = "imported", nostrils: tuple[Sequence[float], Sequence[float]] | None = None,
                            target_triangles: int = 100_000) -> Geometry:
        """Import a segmentation made elsewhere as geometry ``variant``, as ``rhinoapp segment --from-labels`` does.

        ``path`` is a label map (NIfTI, NRRD, a 3D Slicer ``.seg.nrrd``) or a closed surface (STL, VTP) made
        on this case's CT; a case without a CT takes a label map alone (on its own grid, each opening where
        its label ends). ``mapping`` says what a label map's labels are (``"4:left,3:right,5:nasopharynx"``,
        ``{1: "airway"}`` for a binary mask); without it the segment names of a Slicer segmentation say it or,
        failing them, where the labels lie (:func:`~rhinoapp.segmentation.label_anatomy.mapping_from_anatomy`;
        the mapping used is in the geometry's provenance).
        ``nostrils`` are points (left, right) at the nostril openings, LPS mm, where they are not found.
        """
        from rhinoapp.core.errors import ValidationError
        from rhinoapp.segmentation.label_import import LabelMapping
        from rhinoapp.usecases.geometry_import import ImportRequest, SourceKind, import_into_project, survey_labels

        source = Path(path)
        limits = self.settings.input_limits
        limits.check_bytes(source.stat().st_size, "the imported file")
        data = source.read_bytes()
        chosen = (LabelMapping.parse(mapping) if isinstance(mapping, str)
                  else LabelMapping.of(mapping) if mapping is not None else None)
        if chosen is None and not SourceKind.of(source.name).is_surface:
            survey = survey_labels(data, source.name, limits=limits)
            chosen = survey.mapping
            if chosen is None or survey.source is None:
                raise ValidationError(f"{source.name}: say what its labels are with mapping= (labels found: "
                                      f"{survey.found_text()}; neither names nor places say it clearly), e.g. "
                                      "mapping='4:left,3:right,5:nasopharynx' or mapping='1:airway' for a whole-airway "
                                      "label")
            _log.info("%s: the labels mapped from %s: %s", source.name, survey.source.value, chosen.text())
        request = ImportRequest(filename=source.name, mapping=chosen, variant=variant, target_triangles=target_triangles,
                                nostrils=nostrils)  # type: ignore[arg-type]  # the request checks and converts them
        import_into_project(self.repository, self.id, data, request, limits=limits)
        return self.geometry(variant)

    def geometry(self, variant: str = "default") -> Geometry:
        """A stored geometry variant (NotFoundError before the segmentation)."""
        folder = self.repository.layout(self.id).geometry(variant)
        if not folder.report.exists():
            raise NotFoundError(f"No airway geometry {variant!r} yet: run case.segment() first.")
        return Geometry(variant, folder.path, GeometryReport.from_json(folder.report.read_bytes()))

    # -- simulation ----------------------------------------------------------------------------
    def simulate(self, *, profile: str | None = None, progress: bool = True, **options: Any) -> Simulation:
        """Simulate the airflow with the Simulations page's options
        (:class:`~rhinoapp.cfd.request.SimulationRequest`: ``flow_ml_s``, ``direction``, ``pressure_drop_pa``,
        ``resolution_mm``, ``backend``, ``max_steps``, ``threads``, ``flow_model``, ``variant``, ``run_id``)."""
        request = SimulationRequest(**options)
        record = self._runners.run(self.id, JobKind.SIMULATION, request.to_parameters(), profile=profile,
                                   progress=progress, description="simulating the airflow")
        return self.simulation(request.run_id or f"run-{record.id[:8]}")

    def start_simulation(self, *, profile: str | None = None, **options: Any) -> LiveRun:
        """Start :meth:`simulate` on a thread and return at once; ``show()`` on the returned
        :class:`~rhinoapp.api.live.LiveRun` is the live 3D view of the running flow (refreshed every
        ``live_view_interval_s`` of the settings), ``result()`` waits for the :class:`Simulation`."""
        import dataclasses
        import threading

        interval = self.settings.live_view_interval_s or 5.0
        request = dataclasses.replace(SimulationRequest(**options), live_interval_s=interval)
        description = "simulating the airflow"

        def start(created: Callable[[str], None], cancelled: threading.Event) -> Simulation:
            record = self._runners.run(self.id, JobKind.SIMULATION, request.to_parameters(), profile=profile,
                                       progress=False, description=description, created=created, cancelled=cancelled)
            return self.simulation(request.run_id or f"run-{record.id[:8]}")

        return LiveRun(start, self.repository.project_dir(self.id), interval_s=interval)

    def simulation(self, run_id: str | None = None) -> Simulation:
        """A stored run (the newest when ``run_id`` is None); NotFoundError without one."""
        from rhinoapp.usecases.analysis import simulation_run_ids

        runs = simulation_run_ids(self.repository, self.id)
        chosen = run_id if run_id is not None else (runs[0] if runs else None)
        if chosen is None or chosen not in runs:
            raise NotFoundError(f"No simulation run {chosen or ''} yet: run case.simulate() first.".replace("  ", " "))
        folder = self.repository.layout(self.id).simulation(chosen)
        return Simulation(chosen, folder.path, SimulationResults.from_json(folder.results.read_bytes()))

    def sweep(self, flows_ml_s: Sequence[float] = (75.0, 150.0, 250.0, 400.0), *, profile: str | None = None,
              progress: bool = True, **options: Any) -> Sweep:
        """Simulate several flows, each warm-started from the previous one, and fit Rohrer's law per side
        (:class:`~rhinoapp.cfd.sweep_request.SweepRequest`: ``expiration``, ``resolution_mm``, ``max_steps``, ...)."""
        request = SweepRequest(flows_ml_s=tuple(flows_ml_s), **options)
        record = self._runners.run(self.id, JobKind.SWEEP, request.to_parameters(), profile=profile,
                                   progress=progress, description="sweeping the flows")
        sweep_id = request.sweep_id or f"sweep-{record.id[:8]}"
        folder = self.repository.layout(self.id).simulation(sweep_id)
        return Sweep(sweep_id, SweepResults.from_json(folder.sweep.read_bytes()))

    # -- 4PR and analysis ----------------------------------------------------------------------
    def import_4pr(self, path: Path | str, *, replace: bool = False) -> Rhinomanometry:
        """Import a 4PR recording (rhinoapp's CSV, a tolerated variant or an Excel export), as the 4PR page does;
        a case with a measurement needs ``replace=True`` to store a newer one (earlier ones are kept)."""
        from rhinoapp.rhinomanometry.request import FourPRImportRequest
        from rhinoapp.usecases.rhinomanometry import import_4pr

        source = Path(path)
        request = FourPRImportRequest(filename=source.name, content=source.read_bytes())
        measurement_id, prepared = import_4pr(self.repository, self.id, request, replace=replace)
        return Rhinomanometry(measurement_id, prepared.measurement,
                              self._parameters_of(measurement_id))

    def _parameters_of(self, measurement_id: str) -> Any:
        from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters

        path = self.repository.layout(self.id).measurement(measurement_id).parameters
        return RhinomanometryParameters.from_json(path.read_bytes())

    def rhinomanometry(self) -> Rhinomanometry | None:
        """The newest 4PR measurement, or None."""
        from rhinoapp.rhinomanometry.io import read_csv
        from rhinoapp.usecases.analysis import latest_rhinomanometry

        measurement_id, parameters = latest_rhinomanometry(self.repository, self.id)
        if measurement_id is None or parameters is None:
            return None
        recording = self.repository.layout(self.id).measurement(measurement_id).recording
        return Rhinomanometry(measurement_id, read_csv(recording.read_text(), source=recording.name), parameters)

    def compare(self, run_id: str | None = None) -> Analysis:
        """A run (the newest by default) beside the newest 4PR measurement; stored as the Analysis step's
        output, as the Analysis page does."""
        from rhinoapp.usecases.analysis import compare_run, publish_comparison

        run = self.simulation(run_id)
        comparison = compare_run(self.repository, self.id, run.run_id)[1]
        publish_comparison(self.repository, self.id, comparison)
        return Analysis(comparison)

    def report(self, out: Path | str | None = None, *, run_id: str | None = None, pictures: bool = True) -> bytes:
        """The clinician's PDF report (as ``rhinoapp report``), written to ``out`` when given; returns its bytes."""
        from rhinoapp.core.files import atomic_write
        from rhinoapp.report import project_report

        pdf = project_report(self.repository, self.id, jobs=JobStore(self._store), run_id=run_id, pictures=pictures)
        if out is not None:
            atomic_write(Path(out), pdf)
        return pdf
