"""What a finished run says about its own trustworthiness: the ``diagnostics`` entry of ``results.json``.

The figures the plausibility checks (:mod:`rhinoapp.analysis.plausibility`) judge, in physical units:

* ``peak_velocity``: the largest speed, where it occurs (LPS millimetres), on which side (``left``,
  ``right``, or ``both`` where the two nostrils are about equally far, as in the nasopharynx) and how
  far behind the nearest nostril (distance through the air);
* ``openings``: per opening (``inlet_left``, ``inlet_right``, ``outlet``) its open area and the mean
  velocity through it (its flow over its area);
* ``stability``: the relaxation time ``tau``, the largest lattice velocity (the lattice Mach number
  times ``sqrt(3)``; the design value is ``peak_velocity_lattice``) and the grid Reynolds number
  ``u_max dx / nu`` (physical: it falls only with a finer grid);
* ``steady_state``: the relative change of the pressure drop and of the total flow between the means
  of the last two windows of the convergence history (what the steadiness test compares).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rhinoapp.cfd.domain import Opening
from rhinoapp.cfd.setup import SparseLattice, distance_through_air
from rhinoapp.cfd.solver import ConvergenceSample
from rhinoapp.cfd.units import LatticeParameters

__all__ = ["drift", "peak_place", "run_diagnostics"]

_SIDE_MARGIN = 0.15  # the nearer nostril must be this much nearer (relative) to name a side


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(f"{value:.6g}")


def drift(values: Sequence[float], window: int) -> float | None:
    """Relative change between the mean of the last ``window`` values and the mean of the ``window`` before.

    With fewer than two windows of values the two halves of what there is are compared; None with
    fewer than two values or a zero mean.

    Examples
    --------
    >>> drift([1.0, 1.0, 1.1, 1.1], 2)
    0.0909...
    >>> drift([5.0], 20) is None
    True
    """
    data = np.asarray(values, dtype=np.float64)[-2 * max(window, 1):]
    if data.size < 2:
        return None
    half = data.size // 2
    before, last = float(data[-2 * half:-half].mean()), float(data[-half:].mean())
    if not math.isfinite(last) or abs(last) < 1e-300:
        return None
    return abs(last - before) / abs(last)


def peak_place(lattice: SparseLattice, cell: int) -> dict[str, object]:
    """Where fluid cell ``cell`` lies: LPS millimetres, the side, and the distance behind the nearest nostril.

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(2, 6))
    >>> place = peak_place(lattice, lattice.n_cells - 1)
    >>> place["side"], place["distance_from_nostril_mm"], place["point_lps_mm"]
    ('left', 5.5, [2.0, 2.0, 6.0])
    """
    geometry = lattice.domain.geometry
    ijk = lattice.cell_coordinates()[cell]
    point = [round(float(v), 3) for v in geometry.index_to_physical(ijk)]
    links = lattice.link_cells()
    distances = {}
    for index, name in ((0, "left"), (1, "right")):
        sources = links[lattice.link_opening == index]
        if sources.size:
            distances[name] = float(distance_through_air(lattice, sources)[cell]) + 0.5
    reachable = {name: d for name, d in distances.items() if math.isfinite(d)}
    side, nearest = None, None
    if reachable:
        side = min(reachable, key=reachable.__getitem__)
        nearest = reachable[side]
        other = [d for name, d in reachable.items() if name != side]
        if other and other[0] - nearest < _SIDE_MARGIN * other[0]:
            side = "both"
    dx_mm = float(geometry.spacing_mm[0])
    return {"point_lps_mm": point, "side": side,
            "distance_from_nostril_mm": None if nearest is None else _round(nearest * dx_mm)}


def run_diagnostics(lattice: SparseLattice, velocity: np.ndarray, history: Sequence[ConvergenceSample],
                    units: LatticeParameters, *, window: int, flows: Sequence[float]) -> dict[str, object]:
    """The ``diagnostics`` entry of ``results.json``.

    Parameters
    ----------
    lattice, units
        The run's lattice and lattice units.
    velocity
        ``(3, n_cells)`` velocity of the steady field, lattice units.
    history
        The convergence samples of the run.
    window
        Samples per steadiness window (:attr:`~rhinoapp.cfd.config.RunConfig.window`).
    flows
        Steady lattice flows through ``inlet_left``, ``inlet_right`` and ``outlet`` (any sign).

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(4, 8))
    >>> units = LatticeParameters(dx_m=1e-3, dt_s=2e-5, tau=0.5009, density_kg_m3=1.2)
    >>> u = np.zeros((3, lattice.n_cells)); u[2] = 0.05; u[2, 5] = 0.12
    >>> d = run_diagnostics(lattice, u, [], units, window=20, flows=(0.8, 0.0, 0.8))
    >>> d["peak_velocity"]["m_s"], d["stability"]["max_velocity_lattice"], d["stability"]["grid_reynolds"]
    (6.0, 0.12, 400.0)
    >>> d["openings"]["inlet_left"]["area_mm2"], d["openings"]["inlet_left"]["mean_velocity_m_s"]
    (13.3333, 3.0)
    """
    speed = np.sqrt(np.sum(np.asarray(velocity, dtype=np.float64) ** 2, axis=0))
    finite = np.where(np.isfinite(speed), speed, -1.0)
    cell = int(np.argmax(finite)) if speed.size else None
    peak = float(speed[cell]) if cell is not None else math.nan
    peak_m_s = peak * units.velocity_scale_m_s
    nu_m2_s = units.nu_lattice * units.dx_m**2 / units.dt_s
    place: dict[str, object] = peak_place(lattice, cell) if cell is not None else {}
    openings = {}
    area_mm2 = units.dx_m**2 * 1e6
    for index, opening in enumerate(Opening):
        area = float(lattice.opening_area[index])
        if area <= 0:
            continue
        mean = abs(float(flows[index])) / area * units.velocity_scale_m_s
        openings[opening.value] = {"area_mm2": _round(area * area_mm2), "mean_velocity_m_s": _round(mean)}
    samples = list(history)
    return {
        "peak_velocity": {"m_s": _round(peak_m_s), "lattice": _round(peak), **place},
        "openings": openings,
        "stability": {"tau": _round(units.tau), "max_velocity_lattice": _round(peak),
                      "design_velocity_lattice": _round(units.peak_velocity_lattice),
                      "grid_reynolds": _round(peak_m_s * units.dx_m / nu_m2_s) if nu_m2_s > 0 else None},
        "steady_state": {"pressure_drop_drift": _round(drift([s.pressure_drop for s in samples], window)),
                         "flow_drift": _round(drift([s.flow for s in samples], window)),
                         "window_samples": window},
    }
