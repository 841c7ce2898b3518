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
  of the last two windows of the convergence history (what the steadiness test compares), and ``wander``:
  how far the flow strayed while it settled (:func:`wander`). Two windows that agree say the flow is
  steady *now*; a flow that swings slowly between two paths of its jets (the clinical phantom tilted
  askew in the scanner does, by 7 % over five flow-through times) also passes that test, where its
  swing turns, and the figure is then one end of the swing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rhinoapp.cfd.domain import Opening
from rhinoapp.cfd.setup import SparseLattice, distance_through_air
from rhinoapp.cfd.solver import ConvergenceSample
from rhinoapp.cfd.units import LatticeParameters

__all__ = ["SETTLING_FLOW_THROUGHS", "drift", "peak_place", "run_diagnostics", "wander"]

_SIDE_MARGIN = 0.15  # the nearer nostril must be this much nearer (relative) to name a side

#: Flow-through times after the start-up ramp before the flow counts as settled (the phantoms' flows reach
#: their steady value within 0.4 of one; their block means after this vary by under 1 %).
SETTLING_FLOW_THROUGHS = 0.5


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


def _swing(blocks: np.ndarray, final: float) -> float:
    """How far ``blocks`` (oldest first) went beyond the span of the first of them, the last and ``final``."""
    ends = (float(blocks[0]), float(blocks[-1]), final)
    low, high = min(ends), max(ends)
    return max(low - float(blocks.min()), float(blocks.max()) - high, 0.0)


def wander(history: Sequence[ConvergenceSample], *, window: int, after_step: float) -> dict[str, object] | None:
    """How far the pressure drop and the left share strayed after ``after_step``: means over blocks of half a
    ``window`` of samples, against the mean of the last ``window`` samples (the reported figure).

    ``pressure_drop_range`` is the lowest and highest block mean over the reported pressure drop;
    ``pressure_drop_swing`` how far the block means went beyond the span of the first of them, the last
    and the reported value, over the reported value (0 for a flow that approaches its value from one side, however
    slowly); ``left_share_range_pct`` and ``left_share_swing_points`` the same for the left nostril's share of
    the flow, in percent and percentage points. None with fewer than two blocks.

    Examples
    --------
    >>> from rhinoapp.cfd.solver import ConvergenceSample
    >>> def run(drops):
    ...     return [ConvergenceSample(i, d, 0.5, 0.5, 1.0, 0.1, 0.0) for i, d in enumerate(drops)]
    >>> approach = 1.0 - 0.1 * np.exp(-np.arange(80) / 20.0)  # slowly, from below
    >>> wander(run(approach), window=20, after_step=0)["pressure_drop_swing"]
    0.0
    >>> swinging = np.r_[np.ones(20), 1.0 - 0.07 * np.sin(np.linspace(0.0, np.pi, 40)), np.ones(20)]  # 7 % down, back
    >>> w = wander(run(swinging), window=20, after_step=0)
    >>> round(w["pressure_drop_swing"], 3), w["pressure_drop_range"], w["left_share_range_pct"]
    (0.063, [0.937312, 1.0], [50.0, 50.0])
    >>> wander(run(swinging), window=20, after_step=70) is None
    True
    """
    samples = [s for s in history if s.step > after_step]
    block = max(1, int(window) // 2)
    count = len(samples) // block
    if count < 2:
        return None
    drop = np.array([s.pressure_drop for s in samples], dtype=np.float64)
    share = np.array([100.0 * s.flow_left / s.flow if s.flow else math.nan for s in samples], dtype=np.float64)
    final_drop, final_share = float(drop[-max(1, window):].mean()), float(share[-max(1, window):].mean())
    if not (math.isfinite(final_drop) and abs(final_drop) > 1e-300):
        return None
    drops = drop[drop.size - count * block:].reshape(count, block).mean(axis=1)
    shares = share[share.size - count * block:].reshape(count, block).mean(axis=1)
    finite_shares = bool(np.all(np.isfinite(shares))) and math.isfinite(final_share)
    return {
        "pressure_drop_range": [_round(float(drops.min()) / final_drop), _round(float(drops.max()) / final_drop)],
        "pressure_drop_swing": _round(_swing(drops, final_drop) / abs(final_drop)),
        "left_share_range_pct": ([_round(float(shares.min())), _round(float(shares.max()))] if finite_shares
                                 else None),
        "left_share_swing_points": _round(_swing(shares, final_share)) if finite_shares else None,
        "blocks": count, "from_step": int(samples[0].step),
    }


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
                         "window_samples": window,
                         "wander": wander(samples, window=window, after_step=units.ramp_steps
                                          + SETTLING_FLOW_THROUGHS * units.flow_through_steps)},
    }
