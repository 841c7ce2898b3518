"""Matplotlib figures of a case, for the report's pages and the Python API's ``show()``.

Each function takes values (a CT, a label map, a geometry report, a 4PR recording, a sweep) and
returns a :class:`matplotlib.figure.Figure` made without pyplot, so that it is safe in a server
thread and displays in a notebook (``%matplotlib inline``). Left is the patient's left, drawn red;
right blue, as on the pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from rhinoapp.core.volume import CTVolume, LabelMap

__all__ = ["SIDE_COLOURS", "area_profile_figure", "convergence_figure", "ct_slices_figure", "loops_figure",
           "png_bytes", "sweep_figure"]

#: Colours of the patient's sides (and the other airway labels) in every figure.
SIDE_COLOURS: Mapping[str, str] = {"left": "#d62728", "right": "#1f77b4", "nasopharynx": "#2ca02c", "sinus": "#9467bd"}
_LABEL_COLOURS = ListedColormap(["#00000000", SIDE_COLOURS["left"], SIDE_COLOURS["right"], SIDE_COLOURS["nasopharynx"],
                                 SIDE_COLOURS["sinus"]])


def png_bytes(figure: Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes.

    Examples
    --------
    >>> png_bytes(Figure(figsize=(1, 1)))[:4]
    b'\\x89PNG'
    """
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _centre(ct: CTVolume, labels: LabelMap | None) -> tuple[int, int, int]:
    if labels is not None and labels.labels.shape == ct.hu.shape and np.any(labels.labels):
        k, j, i = (int(round(float(np.mean(v)))) for v in np.nonzero(labels.labels))
        return k, j, i
    return tuple(n // 2 for n in ct.hu.shape)


def ct_slices_figure(ct: CTVolume, labels: LabelMap | None = None, *, width_in: float = 7.5) -> Figure:
    """Axial, coronal and sagittal CT slices through the airway, the segmentation drawn over them.

    The label map is drawn when it lies on the CT's grid (left red, right blue, nasopharynx green).

    Examples
    --------
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> hu = np.full((8, 10, 12), -1000, dtype=np.int16)
    >>> figure = ct_slices_figure(CTVolume(hu, ImageGeometry(hu.shape)))
    >>> [axis.get_title() for axis in figure.axes]
    ['Axial', 'Coronal', 'Sagittal']
    """
    k, j, i = _centre(ct, labels)
    sk, sj, si = ct.geometry.spacing_mm
    overlay = labels.labels if labels is not None and labels.labels.shape == ct.hu.shape else None
    views = [("Axial", ct.hu[k], None if overlay is None else overlay[k], sj / si),
             ("Coronal", ct.hu[:, j, :][::-1], None if overlay is None else overlay[:, j, :][::-1], sk / si),
             ("Sagittal", ct.hu[:, :, i][::-1], None if overlay is None else overlay[:, :, i][::-1], sk / sj)]
    figure = Figure(figsize=(width_in, width_in / 3 + 0.4), layout="constrained")
    for axis, (title, image, mask, aspect) in zip(figure.subplots(1, 3), views):
        axis.imshow(image, cmap="gray", vmin=-1000, vmax=1000, aspect=aspect, interpolation="nearest")
        if mask is not None:
            axis.imshow(np.clip(mask, 0, 4), cmap=_LABEL_COLOURS, vmin=0, vmax=4, alpha=0.45, aspect=aspect,
                        interpolation="nearest")
        axis.set_title(title)
        axis.set_axis_off()
    return figure


def area_profile_figure(profiles: Mapping[str, tuple[ArrayLike, ArrayLike]],
                        mcsa: Mapping[str, tuple[float, float]], *, width_in: float = 7.5) -> Figure:
    """Cross-sectional area against the distance from the nostril, per side, with each side's mCSA marked.

    ``profiles`` maps ``left``/``right`` to (distance mm, area cm2); ``mcsa`` to (area cm2, distance mm).

    Examples
    --------
    >>> figure = area_profile_figure({"left": ([0, 10, 20], [1.0, 0.5, 0.8])}, {"left": (0.5, 10.0)})
    >>> figure.axes[0].get_ylabel()
    'Cross-sectional area (cm²)'
    """
    figure = Figure(figsize=(width_in, 2.8), layout="constrained")
    axis = figure.subplots()
    for side, (distance, area) in profiles.items():
        colour = SIDE_COLOURS.get(side, "black")
        axis.plot(distance, area, color=colour, label=f"{side} side")
        if side in mcsa:
            value, where = mcsa[side]
            axis.plot([where], [value], "o", color=colour)
            axis.annotate(f"mCSA {value:.2f} cm²", (where, value), textcoords="offset points", xytext=(5, -12),
                          color=colour, fontsize=8)
    axis.axhspan(0.24, 1.21, color="0.9", zorder=0, label="healthy mCSA range")
    axis.set_xlabel("Distance from the nostril (mm)")
    axis.set_ylabel("Cross-sectional area (cm²)")
    axis.legend(fontsize=8, loc="upper right")
    return figure


def loops_figure(recordings: Sequence[tuple[str, ArrayLike, ArrayLike]],
                 rohrer: Mapping[str, tuple[float, float]], *, width_in: float = 7.5) -> Figure:
    """The 4PR loops (flow against pressure) per side with each side's fitted Rohrer law.

    ``recordings`` holds (side, pressure Pa, flow ml/s); ``rohrer`` maps a side to ``(k1, k2)``.

    Examples
    --------
    >>> figure = loops_figure([("left", [-100, 0, 100], [-300, 0, 300])], {"left": (0.1, 0.0004)})
    >>> figure.axes[0].get_xlabel()
    'Pressure difference (Pa)'
    """
    figure = Figure(figsize=(width_in, 3.0), layout="constrained")
    axis = figure.subplots()
    reach = 150.0
    for side, dp, flow in recordings:
        dp_values = np.asarray(dp, dtype=float)
        axis.plot(dp_values, np.asarray(flow, dtype=float), color=SIDE_COLOURS.get(side, "black"), linewidth=0.7,
                  alpha=0.8, label=f"{side} side, measured")
        if np.isfinite(dp_values).any():
            reach = max(reach, float(np.nanmax(np.abs(dp_values))))
    for side, (k1, k2) in rohrer.items():
        q = np.linspace(0, 2000, 400)
        dp_fit = k1 * q + k2 * q * q
        keep = dp_fit <= reach
        axis.plot(np.concatenate([-dp_fit[keep][::-1], dp_fit[keep]]), np.concatenate([-q[keep][::-1], q[keep]]),
                  "--", color=SIDE_COLOURS.get(side, "black"), label=f"{side} side, Rohrer fit")
    axis.axvline(150, color="0.6", linewidth=0.6)
    axis.axvline(-150, color="0.6", linewidth=0.6)
    axis.set_xlabel("Pressure difference (Pa)")
    axis.set_ylabel("Flow (ml/s)")
    axis.legend(fontsize=7, loc="upper left")
    return figure


def sweep_figure(points: Sequence[tuple[float, float, float, float]], fits: Mapping[str, tuple[float, float]],
                 measured: Mapping[str, tuple[float, float]] | None = None, *, width_in: float = 7.5) -> Figure:
    """Simulated pressure drop against side flow (a sweep), its Rohrer fits and the measured 4PR laws.

    ``points`` holds (pressure drop Pa, total, left, right flow ml/s); ``fits`` and ``measured`` map a
    side to ``(k1, k2)``.

    Examples
    --------
    >>> figure = sweep_figure([(10.0, 150.0, 75.0, 75.0), (30.0, 300.0, 150.0, 150.0)], {"left": (0.1, 0.0005)})
    >>> figure.axes[0].get_ylabel()
    'Pressure drop (Pa)'
    """
    figure = Figure(figsize=(width_in, 3.0), layout="constrained")
    axis = figure.subplots()
    data = np.asarray(points, dtype=float).reshape(-1, 4)
    top = float(np.nanmax(np.abs(data[:, 2:]))) * 1.2 if len(data) else 300.0
    q = np.linspace(0, top, 100)
    for index, side in ((2, "left"), (3, "right")):
        colour = SIDE_COLOURS[side]
        axis.plot(np.abs(data[:, index]), np.abs(data[:, 0]), "o", color=colour, label=f"{side}, simulated")
        if side in fits:
            k1, k2 = fits[side]
            axis.plot(q, k1 * q + k2 * q * q, "-", color=colour, label=f"{side}, Rohrer fit")
        if measured and side in measured:
            k1, k2 = measured[side]
            axis.plot(q, k1 * q + k2 * q * q, ":", color=colour, label=f"{side}, 4PR")
    axis.set_xlabel("Flow through the side (ml/s)")
    axis.set_ylabel("Pressure drop (Pa)")
    axis.legend(fontsize=7)
    return figure


def convergence_figure(steps: Sequence[float], values: Sequence[float], *, label: str = "Pressure drop (Pa)",
                       width_in: float = 6.0) -> Figure:
    """A run's monitored value against the time step.

    Examples
    --------
    >>> convergence_figure([0, 100, 200], [0.0, 10.0, 12.0]).axes[0].get_xlabel()
    'Time step'
    """
    figure = Figure(figsize=(width_in, 2.5), layout="constrained")
    axis = figure.subplots()
    axis.plot(steps, values, color="black")
    axis.set_xlabel("Time step")
    axis.set_ylabel(label)
    return figure
