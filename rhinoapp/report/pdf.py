"""The clinician's report of a project as a PDF: pictures first, numbers beside their healthy ranges.

Pages (A4): 1. the case, its CT slices with the segmentation, the 3D airway and the area profile with
each side's mCSA; 2. (with a simulation) pressure and wall shear stress pictures and the results
table beside the healthy ranges with a plain-language reading; 3. (with a 4PR measurement) the 4PR
loops, their parameters and the simulation against them; 4. methods (software version, options,
resolution) and what the project still lacks. Built with matplotlib's PDF backend; the 3D pictures
come from :func:`~rhinoapp.render.pictures.render_pictures`.
"""

from __future__ import annotations

import io
import logging
import textwrap
from collections.abc import Sequence

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.image import imread

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.layout import SimulationFolder
from rhinoapp.render.pictures import Picture, render_pictures
from rhinoapp.render.spec import CameraPreset, Colouring
from rhinoapp.report.content import ReportContent
from rhinoapp.report.figures import area_profile_figure, ct_slices_figure, loops_figure, png_bytes
from rhinoapp.report.reading import geometry_reading, result_reading, row_reading

__all__ = ["report_pdf"]

_log = logging.getLogger(__name__)
_A4 = (8.27, 11.69)
_MARGIN = 0.06


class _Page:
    """One A4 page filled from the top: headings, paragraphs, pictures and tables."""

    def __init__(self, title: str, content: ReportContent, number: int) -> None:
        self.figure = Figure(figsize=_A4)
        self.y = 1 - _MARGIN
        self.figure.text(_MARGIN, 0.025, f"rhinoapp {content.version} · {content.pseudonym} · page {number}",
                         fontsize=7, color="0.4")
        self.heading(title, size=15)

    def heading(self, text: str, *, size: float = 12) -> None:
        self.y -= size / 72 / _A4[1] * 1.6
        self.figure.text(_MARGIN, self.y, text, fontsize=size, weight="bold")
        self.y -= 0.008

    def paragraph(self, text: str, *, size: float = 9, width: int = 105) -> None:
        for line in textwrap.wrap(text, width) or [""]:
            self.y -= size / 72 / _A4[1] * 1.45
            self.figure.text(_MARGIN, self.y, line, fontsize=size)
        self.y -= 0.004

    def image(self, png: bytes, *, height: float, left: float = _MARGIN, width: float = 1 - 2 * _MARGIN,
              advance: bool = True) -> None:
        pixels = imread(io.BytesIO(png), format="png")
        axis = self.figure.add_axes((left, self.y - height, width, height))
        axis.imshow(pixels)
        axis.set_axis_off()
        if advance:
            self.y -= height + 0.01

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], *, widths: Sequence[float],
              size: float = 7.5) -> None:
        height = 0.015 * (len(rows) + 1)
        axis = self.figure.add_axes((_MARGIN, self.y - height, 1 - 2 * _MARGIN, height))
        axis.set_axis_off()
        table = axis.table(cellText=[list(r) for r in rows], colLabels=list(header), colWidths=list(widths),
                           loc="upper left", cellLoc="left")
        table.auto_set_font_size(False)
        table.set_fontsize(size)
        for (row, _), cell in table.get_celld().items():
            cell.set_height(1.0 / (len(rows) + 1))  # the rows fill the space kept for them, no gap below
            cell.set_linewidth(0.3)
            if row == 0:
                cell.set_facecolor("#eeeeee")
        self.y -= height + 0.015


def _pictures(content: ReportContent) -> dict[str, bytes]:
    """The 3D pictures of the case (empty where none can be rendered; the reason is logged)."""
    wanted: dict[str, Picture] = {}
    if content.geometry is not None:
        wanted["airway"] = Picture(str(content.geometry.files.vtp), Colouring.FACES, CameraPreset.LEFT_LATERAL,
                                   900, 560)
    if content.run is not None:
        surface = str(SimulationFolder(content.run.folder).surface)
        wanted["pressure"] = Picture(surface, Colouring.PRESSURE, CameraPreset.LEFT_LATERAL, 900, 560)
        wanted["wss"] = Picture(surface, Colouring.WALL_SHEAR_STRESS, CameraPreset.LEFT_LATERAL, 900, 560)
    try:
        return dict(zip(wanted, render_pictures(list(wanted.values()))))
    except (RhinoappError, OSError) as error:
        _log.warning("the report's 3D pictures could not be rendered: %s", error)
        return {}


def _case_page(content: ReportContent, pictures: dict[str, bytes]) -> Figure:
    page = _Page("Nasal airway report", content, 1)
    made = content.made.astimezone().strftime("%Y-%m-%d %H:%M")
    imported = content.ct_imported.astimezone().strftime("%Y-%m-%d") if content.ct_imported else "no CT yet"
    page.paragraph(f"Case {content.pseudonym} ({content.project.name}) · CT imported {imported} · report made {made}",
                   size=10)
    if content.geometry is not None:
        page.paragraph(" ".join(geometry_reading({s: content.geometry.side(s) for s in ("left", "right")})))
    if content.ct is not None:
        page.heading("CT with the segmented airway (left red, right blue)")
        labels = content.geometry.labels if content.geometry is not None else None
        page.image(png_bytes(ct_slices_figure(content.ct, labels)), height=0.22)
    if content.geometry is not None:
        page.heading("The airway in 3D (seen from the patient's left) and its cross-sectional areas")
        if "airway" in pictures:
            page.image(pictures["airway"], height=0.25)
        geometry = content.geometry
        profiles = {side: geometry.profile(side) for side in ("left", "right")}
        mcsa = {side: (float(geometry.side(side)["mcsa_cm2"]), float(geometry.side(side)["mcsa_distance_mm"]))
                for side in ("left", "right")}
        page.image(png_bytes(area_profile_figure(profiles, mcsa)), height=0.22)
    else:
        page.paragraph("No airway segmentation yet: the 3D airway and the area profile are missing.")
    return page.figure


def _airflow_page(content: ReportContent, pictures: dict[str, bytes]) -> Figure:
    assert content.run is not None
    page = _Page("Airflow at rest", content, 2)
    run = content.run
    page.paragraph(f"Simulated breathing {run.direction} at {run.flow_ml_s or 0:g} ml/s (run {run.run_id}).")
    width = (1 - 2 * _MARGIN) / 2
    page.heading("Wall pressure (left) and wall shear stress (right)")
    if "pressure" in pictures:
        page.image(pictures["pressure"], height=0.18, width=width, advance="wss" not in pictures)
    if "wss" in pictures:
        page.image(pictures["wss"], height=0.18, left=_MARGIN + width, width=width)
    if not pictures:
        page.paragraph("The 3D pictures could not be rendered on this machine (no offscreen OpenGL).")
    rows = run.rows()
    page.heading("Results beside the healthy ranges")
    page.table(["Result", "Value", "Healthy range", "Reading"],
               [(r.label, f"{r.text} {r.unit}".strip(), r.reference.text if r.reference else "",
                 textwrap.shorten(row_reading(r), 70)) for r in rows],
               widths=(0.3, 0.2, 0.12, 0.38))
    page.heading("In plain words")
    for sentence in result_reading(rows) or ["No result of this run has a healthy range to compare with."]:
        page.paragraph("• " + sentence)
    page.paragraph(f"How far to trust the pressure drop and the resistance: {run.accuracy.summary}", size=8,
                   width=118)
    if run.flags:
        shown = " ".join(textwrap.shorten(flag.message, 160) for flag in run.flags[:3])
        more = f" (and {len(run.flags) - 3} more)" if len(run.flags) > 3 else ""
        page.paragraph(f"Warnings of this run ({len(run.flags)}): {shown}{more}", size=8, width=118)
    return page.figure


def _rhinomanometry_page(content: ReportContent, number: int) -> Figure:
    page = _Page("Rhinomanometry (4PR)", content, number)
    parameters = content.parameters
    assert parameters is not None
    if content.measurement is not None:
        recordings = [(r.side.value, r.dp_pa, r.flow_ml_s) for r in content.measurement.recordings]
        page.heading("Measured loops and fitted Rohrer laws")
        page.image(png_bytes(loops_figure(recordings, dict(parameters.rohrer_k))), height=0.26)
    page.heading("Parameters")
    rows = []
    for side in ("left", "right"):
        k = parameters.rohrer(side)
        r150 = parameters.r150(side)
        rows.append((f"{side} side", "—" if k is None else f"{k[0]:.4g}", "—" if k is None else f"{k[1]:.4g}",
                     "—" if r150 is None else f"{r150:.3f}"))
    page.table(["Side", "Rohrer K1 (Pa·s/ml)", "Rohrer K2 (Pa·s²/ml²)", "R150 (Pa·s/ml)"], rows,
               widths=(0.25, 0.25, 0.25, 0.25))
    if content.comparison is not None:
        page.heading("Simulation against 4PR")
        page.table(["Quantity", "Simulation", "4PR", "Simulation / 4PR", "Note"],
                   [(r.quantity, _number(r.simulated, r.unit), _number(r.measured, r.unit),
                     "" if r.ratio is None else f"{r.ratio:.2f}", textwrap.shorten(r.note, 40))
                    for r in content.comparison.rows], widths=(0.28, 0.16, 0.16, 0.14, 0.26))
        page.paragraph("A ratio near 1 means the simulated airway resists the airflow as the measured nose does; the "
                       "simulation has rigid walls and no mucosa, so ratios of 0.5 to 2 are common.")
    else:
        page.paragraph("No simulation to compare with the measurement yet.")
    return page.figure


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} {unit}" if unit == "%" else f"{value:.3f} {unit}"


def _methods_page(content: ReportContent, number: int) -> Figure:
    page = _Page("Methods and what is missing", content, number)
    page.heading("Software")
    page.paragraph(f"rhinoapp {content.version}: CT import with de-identification, threshold segmentation of the "
                   "nasal airway, lattice-Boltzmann airflow simulation, 4PR analysis (Rohrer's law).")
    if content.ct_metadata is not None:
        meta = content.ct_metadata
        page.heading("CT")
        page.paragraph(f"Source {meta.source or 'unknown'}; {' x '.join(map(str, meta.dimensions_ijk))} voxels of "
                       f"{' x '.join(f'{v:.3g}' for v in meta.spacing_mm)} mm.")
    if content.geometry is not None:
        options = content.geometry.report.document.get("options") or {}
        segmentation = options.get("segmentation") or {}
        surface = options.get("surface") or {}
        page.heading("Segmentation")
        page.paragraph(f"Air threshold {segmentation.get('threshold_hu', '—')} HU; partial volume "
                       f"{segmentation.get('partial_volume', '—')}; sinuses {segmentation.get('sinus_mode', '—')}; "
                       f"outlet {segmentation.get('outlet_depth_mm', '—')} mm below the nasal floor at the choanae; "
                       f"surface of about {surface.get('target_triangles', '—')} triangles.")
    if content.run is not None:
        results = content.run.results
        resolution = results.get("resolution") or {}
        page.heading("Simulation")
        page.paragraph(f"Flow {content.run.flow_ml_s or 0:g} ml/s, {content.run.direction}; lattice spacing "
                       f"{content.run.resolution_mm or 0:g} mm ({resolution.get('rule', 'rule not recorded')}); "
                       f"{results.get('steps', '—')} time steps on {results.get('backend', '—')}, steady state "
                       f"{'reached' if results.get('converged') else 'NOT reached'}; pressure drop measured between "
                       f"{results.get('pressure_drop_between', 'the nostrils and the outlet')}.")
        if content.run.parameters:
            page.paragraph("Job options: " + ", ".join(f"{k} {v}" for k, v in sorted(content.run.parameters.items())))
    if content.measurement_id is not None:
        page.heading("Rhinomanometry")
        page.paragraph(f"Measurement {content.measurement_id}: four-phase rhinomanometry, Rohrer's law fitted per side.")
    page.heading("Missing" if content.missing else "Complete")
    for line in content.missing or ("Every step of the case is done.",):
        page.paragraph("• " + line)
    return page.figure


def report_pdf(content: ReportContent, *, pictures: bool = True) -> bytes:
    """The report's PDF bytes: 2 pages for a case without simulation or 4PR, up to 4 with everything.

    ``pictures=False`` leaves out the 3D pictures (no offscreen rendering needed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> from rhinoapp.report.content import gather_report
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> pdf = report_pdf(gather_report(repo, repo.create("Case 1").id))
    >>> pdf[:5], pdf.count(b"/Type /Page\\n") + pdf.count(b"/Type /Page ")
    (b'%PDF-', 2)
    """
    shown = _pictures(content) if pictures else {}
    figures = [_case_page(content, shown)]
    if content.run is not None:
        figures.append(_airflow_page(content, shown))
    if content.parameters is not None:
        figures.append(_rhinomanometry_page(content, len(figures) + 1))
    figures.append(_methods_page(content, len(figures) + 1))
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": f"rhinoapp report {content.pseudonym}", "Creator": "rhinoapp"}) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    return buffer.getvalue()

