"""The results of a scripted case as typed, frozen values, each with a table, figures and ``show()``.

``table()`` gives a pandas DataFrame, ``figure()`` a matplotlib figure (the report's plots,
:mod:`rhinoapp.report.figures`), ``show()`` a Panel layout for a notebook (the 3D pane of the pages, a trame application served by
the kernel, :class:`~rhinoapp.api.pane.Pane3D`, with the plots), ``pane()`` that 3D pane alone
(:class:`~rhinoapp.render.trame_notebook.NotebookPane`, displayed without Panel), and
``mesh()``/``fields()`` PyVista datasets for post-processing (PyVista is optional: ``pip install
rhinoapp[notebook]``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from rhinoapp.analysis import Comparison
from rhinoapp.analysis.ranges import result_rows
from rhinoapp.analysis.sweep import SweepResults, sweep_doubts
from rhinoapp.cfd.results import SimulationResults
from rhinoapp.core.errors import ConfigurationError
from rhinoapp.core.layout import GeometryFolder, SimulationFolder
from rhinoapp.core.volume import CTMetadata, CTVolume, LabelMap
from rhinoapp.geometry.report import GeometryReport
from rhinoapp.render.spec import Colouring, SceneSpec
from rhinoapp.report.figures import area_profile_figure, convergence_figure, ct_slices_figure, loops_figure, sweep_figure
from rhinoapp.report.reading import row_reading
from rhinoapp.rhinomanometry.model import Measurement
from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters
from rhinoapp.store.simulation_runs import read_convergence

__all__ = ["Analysis", "CTImage", "Geometry", "Rhinomanometry", "Simulation", "Sweep"]


def _pyvista() -> Any:
    try:
        import pyvista
    except ImportError:
        raise ConfigurationError("PyVista is not installed: `pip install rhinoapp[notebook]` (or pyvista) to get "
                                 "meshes and fields as PyVista datasets.") from None
    return pyvista


def _matplotlib_pane(figure: Figure) -> Any:
    import panel as pn

    return pn.pane.Matplotlib(figure, tight=True, format="png", sizing_mode="stretch_width")


def _view(scene: SceneSpec, height: int) -> Any:
    from rhinoapp.api.pane import Pane3D

    return Pane3D(scene, height=height)


def _pane(scene: SceneSpec, height: int) -> Any:
    from rhinoapp.render.trame_notebook import default_notebook_panes

    return default_notebook_panes().open(scene, height=height)


@dataclasses.dataclass(frozen=True)
class CTImage:
    """The project's stored CT: its file and metadata."""

    path: Path
    metadata: CTMetadata

    def volume(self) -> CTVolume:
        """The CT volume (HU)."""
        from rhinoapp.volumes import read_volume

        return read_volume(self.path)

    def figure(self, labels: LabelMap | None = None) -> Figure:
        """Axial, coronal and sagittal slices, with ``labels`` drawn over them when given."""
        return ct_slices_figure(self.volume(), labels)

    def show(self) -> Any:
        """The slices, for a notebook."""
        return _matplotlib_pane(self.figure())


@dataclasses.dataclass(frozen=True)
class Geometry:
    """One segmented airway (a geometry variant): its report (metrics, options, openings) and files."""

    variant: str
    folder: Path
    report: GeometryReport

    @property
    def files(self) -> GeometryFolder[Path]:
        """The labels, STL, VTP and report files."""
        return GeometryFolder(self.folder)

    def labels(self) -> LabelMap:
        """The airway labels (1 left, 2 right, 3 nasopharynx, 4 sinus)."""
        from rhinoapp.store.geometry_results import read_result

        return read_result(self.folder, self.variant).labels

    def table(self) -> pd.DataFrame:
        """Volume, wall surface and mCSA (with its distance from the nostril) per side."""
        keys = ("volume_ml", "surface_cm2", "mcsa_cm2", "mcsa_distance_mm")
        return pd.DataFrame({side: [float(self.report.side(side)[k]) for k in keys] for side in ("left", "right")},
                            index=list(keys))

    def figure(self) -> Figure:
        """The cross-sectional area profile of both sides with their mCSA."""
        sides = ("left", "right")
        profile = {s: (self.report.side(s)["profile"]["distance_mm"], self.report.side(s)["profile"]["area_cm2"])
                   for s in sides}
        mcsa = {s: (float(self.report.side(s)["mcsa_cm2"]), float(self.report.side(s)["mcsa_distance_mm"]))
                for s in sides}
        return area_profile_figure(profile, mcsa)

    def mesh(self) -> Any:
        """The airway surface as a PyVista PolyData (cell array ``face``: 0 wall, 1/2 nostrils, 3 outlet)."""
        return _pyvista().read(str(self.files.vtp))

    def scene(self) -> SceneSpec:
        """The 3D scene of the airway: its faces coloured (wall, nostrils, outlet)."""
        return SceneSpec(surface=str(self.files.vtp), colouring=Colouring.FACES, title=f"Airway {self.variant}")

    def pane(self, *, height: int = 420) -> Any:
        """The airway in 3D alone: the pages' trame pane in the cell (no Panel needed)."""
        return _pane(self.scene(), height)

    def show(self, *, height: int = 420) -> Any:
        """The airway in 3D (faces coloured) above its area profile, for a notebook."""
        import panel as pn

        return pn.Column(_view(self.scene(), height), _matplotlib_pane(self.figure()), sizing_mode="stretch_width")


@dataclasses.dataclass(frozen=True)
class Simulation:
    """One simulation run: its results document and its files (fields, wall surface, convergence)."""

    run_id: str
    folder: Path
    results: SimulationResults

    @property
    def files(self) -> SimulationFolder[Path]:
        """The fields (VTI), wall surface (VTP), results (JSON) and convergence (CSV) files."""
        return SimulationFolder(self.folder)

    def table(self) -> pd.DataFrame:
        """The results beside their healthy ranges, with a plain-language reading."""
        rows = result_rows(self.results.document)
        return pd.DataFrame([{"result": r.label, "value": r.text, "unit": r.unit,
                              "healthy range": r.reference.text if r.reference else "", "reading": row_reading(r)}
                             for r in rows]).set_index("result")

    def figure(self) -> Figure:
        """The pressure drop against the time step (convergence)."""
        points = read_convergence(self.files.convergence)
        return convergence_figure([p.step for p in points], [p.pressure_drop_pa for p in points])

    def wall(self) -> Any:
        """The wall surface with pressure and wall shear stress, as a PyVista PolyData."""
        return _pyvista().read(str(self.files.surface))

    def fields(self) -> Any:
        """Velocity and pressure on the lattice, as a PyVista ImageData."""
        return _pyvista().read(str(self.files.fields))

    def scene(self, colouring: str = "pressure") -> SceneSpec:
        """The 3D scene of the run: the wall coloured by ``pressure`` or ``wss``."""
        return SceneSpec(surface=str(self.files.surface), flow=str(self.files.fields), colouring=Colouring(colouring),
                         title=f"Run {self.run_id}")

    def pane(self, colouring: str = "pressure", *, height: int = 420) -> Any:
        """The wall in 3D alone: the pages' trame pane in the cell (no Panel needed)."""
        return _pane(self.scene(colouring), height)

    def show(self, colouring: str = "pressure", *, height: int = 420) -> Any:
        """The wall coloured by ``pressure`` or ``wss`` in 3D, beside the convergence plot, for a notebook."""
        import panel as pn

        return pn.Column(_view(self.scene(colouring), height), _matplotlib_pane(self.figure()),
                         sizing_mode="stretch_width")


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A flow sweep: its runs and the Rohrer law fitted per side."""

    sweep_id: str
    results: SweepResults

    def table(self) -> pd.DataFrame:
        """One row per run: flow, direction, pressure drop, side flows, steady or not, and the kinds of the run's
        plausibility flags (empty where none; :meth:`doubts` says what they mean)."""
        return pd.DataFrame([{"flow ml/s": abs(p.flow_ml_s), "direction": p.direction.value,
                              "pressure drop Pa": abs(p.pressure_drop_pa), "left ml/s": abs(p.flow_left_ml_s),
                              "right ml/s": abs(p.flow_right_ml_s), "steady": p.converged,
                              "flags": ", ".join(p.flag_kinds)}
                             for p in self.results.points])

    def doubts(self) -> list[str]:
        """What the checks doubt about the runs, one line per kind with the runs it concerns (empty: nothing)."""
        return [doubt.text for doubt in sweep_doubts(self.results)]

    def fits(self) -> pd.DataFrame:
        """Rohrer's law per side: K1, K2, R75, R150 and the fit's r²."""
        return pd.DataFrame({side: {"k1": f.k1, "k2": f.k2, "r75": f.r75, "r150": f.r150, "r_squared": f.r_squared}
                             for side, f in self.results.fits.items()}).T

    def figure(self, measured: Rhinomanometry | None = None) -> Figure:
        """Pressure drop against side flow with the fitted laws, and the measured 4PR laws when given."""
        points = [(abs(p.pressure_drop_pa), abs(p.flow_ml_s), abs(p.flow_left_ml_s), abs(p.flow_right_ml_s))
                  for p in self.results.points]
        fits = {side: (f.k1, f.k2) for side, f in self.results.fits.items() if side in ("left", "right")}
        return sweep_figure(points, fits, dict(measured.parameters.rohrer_k) if measured is not None else None)

    def show(self, measured: Rhinomanometry | None = None) -> Any:
        """The sweep's plot (against 4PR when given), for a notebook."""
        return _matplotlib_pane(self.figure(measured))


@dataclasses.dataclass(frozen=True, eq=False)
class Rhinomanometry:
    """One stored 4PR measurement: its recording and parameters."""

    measurement_id: str
    measurement: Measurement
    parameters: RhinomanometryParameters

    def table(self) -> pd.DataFrame:
        """Rohrer K1, K2 and R150 per side."""
        rows = {}
        for side in ("left", "right"):
            k = self.parameters.rohrer(side)
            rows[side] = {"k1": None if k is None else k[0], "k2": None if k is None else k[1],
                          "r150": self.parameters.r150(side)}
        return pd.DataFrame(rows).T

    def figure(self) -> Figure:
        """The loops (flow against pressure) per side with the fitted Rohrer laws."""
        recordings = [(r.side.value, r.dp_pa, r.flow_ml_s) for r in self.measurement.recordings]
        return loops_figure(recordings, dict(self.parameters.rohrer_k))

    def show(self) -> Any:
        """The loops, for a notebook."""
        return _matplotlib_pane(self.figure())


@dataclasses.dataclass(frozen=True)
class Analysis:
    """A simulation run beside the project's latest 4PR measurement (the Analysis step's output)."""

    comparison: Comparison

    def table(self) -> pd.DataFrame:
        """Simulated, measured, their ratio and a note per quantity."""
        return pd.DataFrame([{"quantity": r.quantity, "unit": r.unit, "simulation": r.simulated, "4PR": r.measured,
                              "simulation / 4PR": r.ratio, "note": r.note} for r in self.comparison.rows]
                            ).set_index("quantity")

    def show(self) -> Any:
        """The comparison table, for a notebook."""
        import panel as pn

        return pn.pane.DataFrame(self.table(), sizing_mode="stretch_width")
