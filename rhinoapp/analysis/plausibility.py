"""Plausibility checks on every simulation result: which figures the software itself doubts, and what to do.

Values in, values out: :func:`check_results` reads a run's ``results.json`` content (with the
``diagnostics`` entry of :mod:`rhinoapp.cfd.diagnostics`) and returns :class:`PlausibilityFlag`s;
the run's ``plausibility`` list is their documents (:func:`flags_document`), and
:func:`plausibility_flags` reads them back (or checks an older document that has none).

The checks and their limits (:class:`PlausibilityLimits`, all configurable):

* **peak velocity**: at most ``peak_velocity_per_flow`` m/s per ml/s of total flow (10 m/s at
  250 ml/s: half the flow through the smallest healthy section, 0.24 cm2, with a parabolic peak of
  twice the mean); a warning above, implausible above ``implausible_factor`` times that.
* **velocity at the openings**: the mean velocity through each opening at most its flow over
  ``min_opening_area_mm2`` (24 mm2, the smallest healthy section): faster means the opening is
  smaller than any healthy passage (labels that stop inside the vestibule, an outlet cut in a narrow place).
* **pressure drop, resistance per side and in total**: against the healthy ranges of
  :data:`~rhinoapp.analysis.ranges.HEALTHY_RANGES` at the run's own flow
  (:func:`~rhinoapp.analysis.ranges.ranges_at_flow`: the pressure drop's range scaled, the resistances
  derived from it, so the results table and the flags use the same ranges); a warning beyond
  ``range_factor`` times the range (a real obstruction can do that: check it), implausible beyond
  ``implausible_range_factor``.
* **stability**: the largest lattice velocity (design 0.1, divergence near 0.3) and the grid
  Reynolds number ``u_max dx / nu``, with the relaxation time ``tau`` quoted; and a result that comes
  from the second run with the recursive collision after the default one diverged
  (``results["steadier_collision"]``, :func:`rhinoapp.cfd.simulation.simulate`).
* **mass conservation**: inflow against outflow.
* **steady state**: the run stopped at the step limit, or the pressure drop still drifts; or the flow
  wandered while it settled (``diagnostics["steady_state"]["wander"]``, :func:`rhinoapp.cfd.diagnostics.wander`):
  the pressure drop's block means swung by more than ``wander_warning`` (relative) or the left share by more
  than ``share_wander_points`` beyond the span from where they settled to where the run stopped. Two windows
  that agree then say only that the swing turned there; the warning gives the range the figures wandered in.
* **resolution**: fewer lattice cells across the narrowest passage than the default rule's
  (``results["resolution"]``, :mod:`rhinoapp.cfd.resolution`): a spacing given by hand coarser than the rule's,
  or the rule's cut by the memory budget. A coarser lattice can settle in another flow (the clinical phantom's
  labels cut at the front: 60.4 % left at 1.0 mm, 48.9 % at the rule's 0.8 mm): a warning on the partition.
* **sides**: the left nostril lies to the patient's right of the right one (``results["nostrils_lps_mm"]``, LPS x
  smaller by more than ``sides_tolerance_mm``): the labels' left and right, or the image's orientation, are
  probably swapped, and every figure per side with them.
* **openings short of the nostrils**: a nostril whose labels were cut by a coronal plane inside the vestibule
  (``results["openings_short_of_nostril"]``: a label map's front face, or labelling that stopped there) leaves
  the nostril and the front of the vestibule out, and their share of the resistance with them (a cut 4 mm
  behind the nostrils of the clinical phantom lowers the pressure drop by a fifth): a warning on the pressure
  drop, to be read as a lower bound.

Examples
--------
>>> results = {"pressure_drop_pa": 749.0, "flow_ml_s": {"total": 300.0, "left": 90.0, "right": 210.0},
...            "resistance_pa_s_per_ml": {"total": 2.5, "left": 8.3, "right": 3.6}, "converged": True,
...            "max_velocity_m_s": 38.0, "mass_conservation_error": 0.001}
>>> [(flag.kind.value, flag.severity.value) for flag in check_results(results)][:2]
[('peak_velocity', 'implausible'), ('pressure_drop', 'implausible')]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from rhinoapp.analysis.flag_types import FlagKind, PlausibilityFlag, PlausibilityLimits, Severity
from rhinoapp.analysis.ranges import HEALTHY_RANGES, HealthyRange, ResultRow, ranges_at_flow
from rhinoapp.analysis.setup_checks import opening_flags, resolution_flags, side_flags
from rhinoapp.core.jsonable import finite_or_none as _number

__all__ = ["FlagKind", "PlausibilityFlag", "PlausibilityLimits", "Severity", "annotate_rows", "check_results",
           "flags_document", "plausibility_flags"]

_REFINE = "refine the resolution (a smaller --resolution-mm)"


def _where(peak: Mapping[str, Any]) -> str:
    point = peak.get("point_lps_mm")
    if not point:
        return "where the velocity peaks"
    side = str(peak.get("side"))
    region = {"left": "on the left side", "right": "on the right side", "both": "where both sides have joined"}.get(
        side, "")
    behind = _number(peak.get("distance_from_nostril_mm"))
    return (f"at ({', '.join(f'{v:.1f}' for v in point)}) mm LPS{' ' + region if region else ''}"
            + (f", {behind:.0f} mm behind the nostril" if behind is not None else ""))


def _severity(ratio: float, implausible: float) -> Severity | None:
    return None if ratio <= 1.0 else Severity.IMPLAUSIBLE if ratio > implausible else Severity.WARNING


def _range_flag(kind: FlagKind, quantity: str, value: float | None, unit: str, bounds: tuple[float, float],
                flow: float, limits: PlausibilityLimits, advice_high: str, advice_low: str,
                side: str | None = None, place: tuple[float, float, float] | None = None) -> PlausibilityFlag | None:
    if value is None:
        return None
    low, high = bounds
    factor = limits.range_factor
    expected = f"{low / factor:.3g}-{high * factor:.3g} {unit} at {flow:.0f} ml/s (healthy {low:.3g}-{high:.3g})"
    if value > high * factor:
        severity = _severity(value / (high * factor), limits.implausible_range_factor / factor)
        return PlausibilityFlag(kind, severity or Severity.WARNING, quantity, value, unit, expected, advice_high,
                                side, place)
    if value < low / factor:
        return PlausibilityFlag(kind, Severity.WARNING, quantity, value, unit, expected, advice_low, side)
    return None


def _velocity_flags(results: Mapping[str, Any], diagnostics: Mapping[str, Any], flow: float,
                    limits: PlausibilityLimits) -> list[PlausibilityFlag]:
    flags = []
    peak = diagnostics.get("peak_velocity") or {}
    speed = _number(peak.get("m_s"))
    speed = speed if speed is not None else _number(results.get("max_velocity_m_s"))
    place = peak.get("point_lps_mm")
    place_tuple = None if not place else (float(place[0]), float(place[1]), float(place[2]))
    limit = limits.peak_velocity_per_flow * flow
    if speed is not None and limit > 0:
        severity = _severity(speed / limit, limits.implausible_factor)
        if severity is not None:
            side = peak.get("side") if peak.get("side") in ("left", "right") else None
            flags.append(PlausibilityFlag(
                FlagKind.PEAK_VELOCITY, severity, "peak velocity", speed, "m/s", f"at most {limit:.3g} m/s at "
                f"{flow:.0f} ml/s", f"check the geometry {_where(peak)}: a passage one or two voxels wide, or labels "
                f"that stop inside the vestibule, force the air through too small a section; if the passage is "
                f"real, {_REFINE}.", side, place_tuple))
    names = {"inlet_left": ("left nostril", "left"), "inlet_right": ("right nostril", "right"),
             "outlet": ("outlet", None)}
    flows = results.get("flow_ml_s") or {}
    for key, opening in (diagnostics.get("openings") or {}).items():
        mean, area = _number(opening.get("mean_velocity_m_s")), _number(opening.get("area_mm2"))
        name, side = names.get(key, (key, None))
        through = _number(flows.get(side)) if side else flow
        if mean is None or through is None or area is None:
            continue
        limit = abs(through) / limits.min_opening_area_mm2  # (ml/s) / mm2 = m/s
        severity = _severity(mean / limit, limits.implausible_factor) if limit > 0 else None
        if severity is not None:
            where = ("extend the segmentation to the nostrils (labels that stop inside the vestibule squeeze the "
                     "inflow)" if side else "move the outlet plane to a wider place of the nasopharynx or extend it "
                     "along the pharynx")
            flags.append(PlausibilityFlag(
                FlagKind.OPENING_VELOCITY, severity, f"mean velocity through the {name}", mean, "m/s",
                f"at most {limit:.3g} m/s (an opening of at least {limits.min_opening_area_mm2:g} mm²; it has "
                f"{area:.3g} mm²)", f"{where}.", side))
    return flags


def _clinical_flags(results: Mapping[str, Any], flow: float, peak: Mapping[str, Any],
                    limits: PlausibilityLimits, references: Mapping[str, HealthyRange]) -> list[PlausibilityFlag]:
    flags: list[PlausibilityFlag | None] = []
    place = peak.get("point_lps_mm")
    place_tuple = None if not place else (float(place[0]), float(place[1]), float(place[2]))
    high_advice = (f"check the geometry {_where(peak)} for a pinched passage or openings that stop too early, "
                   f"and {_REFINE}; a real obstruction can also do this.")
    low_advice = "check that the airway holds no extra air (sinuses, air outside the nose) and the outlet plane."
    dp = _number(results.get("pressure_drop_pa"))
    at_flow = ranges_at_flow(flow, references)
    reference = at_flow.get("pressure_drop_pa")
    if reference is not None:
        flags.append(_range_flag(FlagKind.PRESSURE_DROP, "pressure drop", dp, "Pa", (reference.low, reference.high),
                                 flow, limits, high_advice, low_advice, None, place_tuple))
    resistance = results.get("resistance_pa_s_per_ml") or {}
    for side in ("total", "left", "right"):
        reference = at_flow.get(f"resistance_{side}")
        if reference is None or (side == "total" and flags and flags[-1] is not None):
            continue  # the total resistance is the pressure drop over the flow: flagged once
        on_side = peak.get("side") == side
        advice = (f"check the {side} side{' ' + _where(peak) if on_side else ''} for a pinched passage or a nostril "
                  f"that stops inside the vestibule, and {_REFINE}; a real obstruction can also do this."
                  if side != "total" else high_advice)
        what = "resistance, both sides" if side == "total" else f"resistance of the {side} side"
        flags.append(_range_flag(FlagKind.RESISTANCE, what, _number(resistance.get(side)), "Pa·s/ml",
                                 (reference.low, reference.high), flow, limits, advice, low_advice,
                                 None if side == "total" else side, place_tuple if on_side else None))
    return [flag for flag in flags if flag is not None]


def _numerics_flags(results: Mapping[str, Any], diagnostics: Mapping[str, Any],
                    limits: PlausibilityLimits) -> list[PlausibilityFlag]:
    flags = []
    stability = diagnostics.get("stability") or {}
    lattice = results.get("lattice") or {}
    tau = _number(stability.get("tau")) or _number(lattice.get("tau"))
    velocity, grid_re = _number(stability.get("max_velocity_lattice")), _number(stability.get("grid_reynolds"))
    quoted = f"relaxation time {tau:.5g}, " if tau is not None else ""
    if velocity is not None and velocity > limits.lattice_velocity_warning:
        severity = Severity.IMPLAUSIBLE if velocity > limits.lattice_velocity_implausible else Severity.WARNING
        flags.append(PlausibilityFlag(
            FlagKind.STABILITY, severity, "largest lattice velocity", velocity, "",
            f"at most {limits.lattice_velocity_warning:g} (design 0.1; divergence near 0.3; {quoted}grid Reynolds "
            f"number {grid_re if grid_re is None else f'{grid_re:.0f}'})",
            f"the flow is faster than the time step was chosen for: {_REFINE} or check the geometry where the "
            "velocity peaks."))
    elif grid_re is not None and grid_re > limits.grid_reynolds_warning:
        flags.append(PlausibilityFlag(
            FlagKind.STABILITY, Severity.WARNING, "grid Reynolds number", grid_re, "",
            f"at most {limits.grid_reynolds_warning:g} ({quoted}close to the stability limit 0.5)",
            f"the cells are too coarse for this velocity, which makes the solution unreliable: {_REFINE}."))
    steadier = results.get("steadier_collision")
    if isinstance(steadier, Mapping):
        place = steadier.get("diverged_at_lps_mm")
        where = f" near ({', '.join(f'{float(v):.1f}' for v in place)}) mm LPS" if place else ""
        flags.append(PlausibilityFlag(
            FlagKind.STABILITY, Severity.WARNING, "steps until the default collision diverged",
            _number(steadier.get("diverged_at_step")), "", "none (a run that converges with it)",
            f"the run diverged{where}, where a passage is only a few cells wide at this spacing, and this result "
            f"comes from a second run with the recursive collision, which is stable there but not validated like "
            f"the default: {_REFINE} to confirm it, and check the geometry there.",
            None, None if not place else (float(place[0]), float(place[1]), float(place[2]))))
    mass = _number(results.get("mass_conservation_error"))
    if mass is not None and mass > limits.mass_error_warning:
        severity = Severity.IMPLAUSIBLE if mass > limits.mass_error_implausible else Severity.WARNING
        flags.append(PlausibilityFlag(
            FlagKind.MASS_CONSERVATION, severity, "mass conservation error", 100.0 * mass, "%",
            f"at most {100 * limits.mass_error_warning:g} %", "the flow in is not the flow out: run until steady "
            f"(no step limit) and {_REFINE}."))
    drift = _number((diagnostics.get("steady_state") or {}).get("pressure_drop_drift"))
    if results.get("converged") is False or (drift is not None and drift > limits.drift_warning):
        severity = Severity.IMPLAUSIBLE if drift is not None and drift > limits.drift_implausible else Severity.WARNING
        flags.append(PlausibilityFlag(
            FlagKind.STEADY_STATE, severity, "change of the pressure drop over the last window",
            None if drift is None else 100.0 * drift, "%", f"steady state (at most {100 * limits.drift_warning:g} %)",
            "the run stopped before the flow was steady: run again without a step limit (or a higher one)."))
    wandered = _wander_flag(results, diagnostics, limits)
    return flags + ([wandered] if wandered else [])


def _wander_flag(results: Mapping[str, Any], diagnostics: Mapping[str, Any],
                 limits: PlausibilityLimits) -> PlausibilityFlag | None:
    """A warning when the flow swung while it settled (the block means of :func:`~rhinoapp.cfd.diagnostics.wander`)."""
    wandered = (diagnostics.get("steady_state") or {}).get("wander")
    if not isinstance(wandered, Mapping):
        return None
    swing, points = _number(wandered.get("pressure_drop_swing")), _number(wandered.get("left_share_swing_points"))
    if not ((swing is not None and swing > limits.wander_warning)
            or (points is not None and points > limits.share_wander_points)):
        return None
    drop = _number(results.get("pressure_drop_pa"))
    span: Sequence[Any] = wandered.get("pressure_drop_range") or ()
    shares: Sequence[Any] = wandered.get("left_share_range_pct") or ()
    ranges = []
    if drop is not None and len(span) == 2:
        ranges.append(f"the pressure drop between {drop * float(span[0]):.3g} and {drop * float(span[1]):.3g} Pa")
    if len(shares) == 2:
        ranges.append(f"the left side's share of the flow between {float(shares[0]):.1f} and {float(shares[1]):.1f} %")
    return PlausibilityFlag(
        FlagKind.STEADY_STATE, Severity.WARNING, "swing of the pressure drop while the flow settled",
        None if swing is None else round(100.0 * swing, 2), "%",
        f"at most {100 * limits.wander_warning:g} % (and {limits.share_wander_points:g} points of the left share)",
        f"the flow did not settle on one state but swung slowly ({' and '.join(ranges) or 'see the convergence'}), "
        "and the run stopped where the swing turned: read the figures as that range. A run at a finer resolution "
        "(a smaller --resolution-mm) tells whether the swing is the flow's or the lattice's.")


def check_results(results: Mapping[str, Any], *, limits: PlausibilityLimits | None = None,
                  references: Mapping[str, HealthyRange] = HEALTHY_RANGES) -> list[PlausibilityFlag]:
    """The plausibility flags of a run's ``results.json`` content (empty when nothing is doubted).

    Examples
    --------
    >>> healthy = {"pressure_drop_pa": 15.0, "flow_ml_s": {"total": 250.0, "left": 125.0, "right": 125.0},
    ...            "resistance_pa_s_per_ml": {"total": 0.06, "left": 0.12, "right": 0.12}, "converged": True,
    ...            "max_velocity_m_s": 5.0, "mass_conservation_error": 0.002}
    >>> check_results(healthy)
    []
    >>> [flag.kind.value for flag in check_results({**healthy, "converged": False})]
    ['steady_state']
    """
    limits = limits or PlausibilityLimits()
    flow = _number((results.get("flow_ml_s") or {}).get("total"))
    diagnostics = results.get("diagnostics") or {}
    flags = []
    if flow is not None and flow > 0:
        flags += _velocity_flags(results, diagnostics, flow, limits)
        flags += _clinical_flags(results, flow, diagnostics.get("peak_velocity") or {}, limits, references)
    return (flags + _numerics_flags(results, diagnostics, limits) + opening_flags(results)
            + resolution_flags(results) + side_flags(results, limits))


def flags_document(flags: Sequence[PlausibilityFlag]) -> list[dict[str, Any]]:
    """The ``plausibility`` list of ``results.json``."""
    return [flag.to_document() for flag in flags]


def plausibility_flags(results: Mapping[str, Any]) -> list[PlausibilityFlag]:
    """The flags stored in ``results`` (its ``plausibility`` list), else those :func:`check_results` finds.

    Examples
    --------
    >>> plausibility_flags({"pressure_drop_pa": 15.0, "flow_ml_s": {"total": 250.0}, "plausibility": []})
    []
    """
    stored = results.get("plausibility")
    if isinstance(stored, list):
        return [PlausibilityFlag.from_document(entry) for entry in stored]
    return check_results(results)


_ROW_OF = {FlagKind.PEAK_VELOCITY: "max_velocity_m_s", FlagKind.PRESSURE_DROP: "pressure_drop_pa",
           FlagKind.OPENINGS: "pressure_drop_pa", FlagKind.RESOLUTION: "flow_partition_left_pct",
           FlagKind.SIDES: "flow_partition_left_pct",
           FlagKind.MASS_CONSERVATION: "mass_conservation_error_pct", FlagKind.STEADY_STATE: "converged"}


def annotate_rows(rows: Sequence[ResultRow], flags: Sequence[PlausibilityFlag]) -> list[ResultRow]:
    """The results table with each row's flag (``warning`` / ``implausible``) in its ``flag`` column.

    Examples
    --------
    >>> from rhinoapp.analysis.ranges import result_rows
    >>> results = {"pressure_drop_pa": 749.0, "flow_ml_s": {"total": 300.0}}
    >>> [(row.key, row.flag) for row in annotate_rows(result_rows(results), check_results(results))][:1]
    [('pressure_drop_pa', 'implausible')]
    """
    worst: dict[str, Severity] = {}
    for flag in flags:
        key = _ROW_OF.get(flag.kind)
        if flag.kind is FlagKind.RESISTANCE:
            key = f"resistance_{flag.side or 'total'}"
        if key is not None and worst.get(key) is not Severity.IMPLAUSIBLE:
            worst[key] = flag.severity
    return [dataclasses.replace(row, flag=worst[row.key].value) if row.key in worst else row for row in rows]
