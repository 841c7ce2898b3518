"""One airflow simulation from a flow domain to its outputs, in physical units.

:func:`simulate` estimates memory and refuses what will not fit, resamples, builds the lattice,
chooses lattice units, runs to steady state, post-processes, and (given a folder) writes
``fields.vti``, ``surface.vtp``, ``results.json``, ``convergence.csv`` and ``checkpoints/``.

Boundary conditions: the nostrils are open to ambient pressure (gauge 0, anti-bounce-back). The
outlet prescribes a plug velocity along its normal that carries the requested volume flow (out
for inspiration, in for expiration), or the pressure ``-dp`` (inspiration) / ``+dp`` (expiration).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from rhinoapp.cfd import io
from rhinoapp.cfd.backends import BoundaryKind, BoundaryValues, KernelParameters
from rhinoapp.cfd.config import CoarseStart, Direction, Driving, PhysicsConfig, RunConfig, WallBoundary
from rhinoapp.cfd.diagnostics import run_diagnostics
from rhinoapp.cfd.domain import FlowDomain, Opening
from rhinoapp.cfd.estimate import check_resources, device_memory_bytes, estimate_run
from rhinoapp.cfd.lattice import VELOCITIES, WEIGHTS
from rhinoapp.cfd.live import LiveCheckpoints
from rhinoapp.cfd.openings import PLANE_OUTLET, PLANE_SURROUNDINGS, nostril_tilts_deg
from rhinoapp.cfd.outputs import CONVERGENCE_COLUMNS, write_outputs
from rhinoapp.cfd.postprocess import cell_moments, clinical_results, pressure_profile, wall_shear_stress
from rhinoapp.cfd.setup import SparseLattice, build_lattice, distance_through_air
from rhinoapp.cfd.solver import Progress, RunOutcome, Solver
from rhinoapp.cfd.units import LatticeParameters, choose_lattice_parameters, expected_steps
from rhinoapp.cfd.walls import WALL_SMOOTHING_VOXELS, WallLinks, interpolated_walls
from rhinoapp.cfd.warmstart import InitialField, field_on_lattice, initial_populations
from rhinoapp.core.errors import DivergenceError, SimulationError, ValidationError
from rhinoapp.core.files import atomic_write
from rhinoapp.core.layout import SimulationFolder
from rhinoapp.core.progress import part_of

__all__ = ["CONVERGENCE_COLUMNS", "SimulationResult", "boundary_values", "measurement_planes", "plane_pressures",
           "simulate", "sponge_relaxation_times"]

_log = logging.getLogger(__name__)

#: The file in a run's checkpoint folder that says its run went on with the steadier collision (so a resumed run
#: does too).
_STEADIER_MARKER = "steadier-collision.json"


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Results of :func:`simulate`: the ``results.json`` figures and what they came from."""

    results: dict[str, object]
    outcome: RunOutcome
    lattice: SparseLattice
    units: LatticeParameters
    pressure_pa: np.ndarray
    velocity_m_s: np.ndarray
    direction: Direction = Direction.INSPIRATION


def boundary_values(lattice: SparseLattice, physics: PhysicsConfig, units: LatticeParameters) -> BoundaryValues:
    """Lattice boundary targets of the three openings for ``physics``.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(10, 20))
    >>> physics = PhysicsConfig(flow_ml_s=10.0)
    >>> units = choose_lattice_parameters(lattice.domain, physics)
    >>> bc = boundary_values(lattice, physics, units)
    >>> bc.kinds.tolist(), round(float(bc.values[2, 3] * lattice.opening_area[2] * units.flow_scale_ml_s), 6)
    ([1, 0, 2], 10.0)
    """
    kinds = np.zeros(3, dtype=np.int8)
    values = np.zeros((3, 4))
    for index, opening in enumerate(Opening):
        if lattice.opening_area[index] <= 0:
            continue
        if opening.is_inlet:
            kinds[index] = BoundaryKind.PRESSURE
            continue
        sign = 1.0 if physics.direction is Direction.INSPIRATION else -1.0
        if physics.driving is Driving.CONSTANT_FLOW:
            kinds[index] = BoundaryKind.VELOCITY
            speed = physics.flow_ml_s / units.flow_scale_ml_s / lattice.opening_area[index]
            values[index, 1:] = sign * speed * lattice.opening_normal[index]
        else:
            kinds[index] = BoundaryKind.PRESSURE
            dp = physics.pressure_drop_pa
            assert dp is not None, "PhysicsConfig rejects pressure-drop driving without a pressure drop"
            values[index, 0] = -sign * 3.0 * float(dp) / units.pressure_scale_pa
    return BoundaryValues(kinds, values)


def sponge_relaxation_times(lattice: SparseLattice, tau: float, cells: int, factor: float) -> np.ndarray | None:
    """Base relaxation time per cell: viscosity up to ``factor`` times higher at the openings, easing off over
    ``cells``; the sponge never raises ``tau`` above 1 (where there is nothing left to absorb).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(1, 8))
    >>> (sponge_relaxation_times(lattice, 0.51, 3, 10.0) - 0.5).round(4).tolist()
    [0.1, 0.05, 0.02, 0.01, 0.01, 0.02, 0.05, 0.1]
    """
    if cells <= 0 or factor <= 1.0 or lattice.n_links == 0:
        return None
    nu = tau - 0.5
    peak = min(factor * nu, max(nu, 0.5))  # as (tau - 1/2)
    if peak <= nu:
        return None
    distance = distance_through_air(lattice, lattice.boundary_cells)
    weight = np.clip(1.0 - distance / cells, 0.0, 1.0) ** 2
    return 0.5 + nu + (peak - nu) * weight


def plane_pressures(lattice: SparseLattice, pressure: np.ndarray) -> dict[str, float]:
    """Mean lattice pressure over each measurement plane of the lattice's domain, and over the open boundaries.

    ``inlet_boundary`` and ``outlet_boundary`` average the cells next to the open boundaries, weighted as the solver
    weighs them (its pressure drop is theirs).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(2, 4))
    >>> plane_pressures(lattice, lattice.cell_coordinates()[:, 2].astype(float))
    {'inlet_boundary': 1.0, 'outlet_boundary': 4.0}
    """
    pressure = np.asarray(pressure, dtype=np.float64)
    result: dict[str, float] = {}
    if lattice.n_links:
        cells = lattice.link_cells()
        c = VELOCITIES[lattice.link_q].astype(np.float64)
        weight = 6.0 * WEIGHTS[lattice.link_q] * np.abs(np.einsum("ij,ij->i", c, lattice.opening_normal[lattice.link_opening]))
        for name, chosen in (("inlet_boundary", lattice.link_opening < 2), ("outlet_boundary", lattice.link_opening == 2)):
            if weight[chosen].sum() > 0:
                result[name] = float(np.average(pressure[cells[chosen]], weights=weight[chosen]))
    for name, mask in lattice.domain.planes.items():
        if name == PLANE_SURROUNDINGS:
            continue
        chosen = mask.ravel()[lattice.voxels]
        if chosen.any():
            result[name] = float(pressure[chosen].mean())
    return result


def measurement_planes(planes: dict[str, float], units: LatticeParameters, *,
                       boundary_pressure_drop: float) -> dict[str, object]:
    """The ``results.json`` entries that say where the pressure drop is measured, and the pressures there."""
    scale = units.pressure_scale_pa
    if PLANE_OUTLET not in planes:
        return {"pressure_drop_between": "the open boundaries of the domain: the nostril inlets and the outlet"}
    static = {name: round(value * scale, 4) for name, value in planes.items() if not name.endswith("_boundary")}
    ambient = planes.get("inlet_boundary", 0.0)
    entry: dict[str, object] = {
        "pressure_drop_between": "the ambient air in front of the nostril openings (the far faces of the air "
                                 "chambers attached to them; openings_placed says where each opening lies: at a "
                                 "given plane or where the labels end) and the outlet plane (where the segmented nasopharynx ends and "
                                 "the flow extension begins)",
        "plane_pressure_pa": static,
        "pressure_drop_boundaries_pa": round(boundary_pressure_drop * scale, 4)}
    sides = {side: round((ambient - planes[f"choana_{side}"]) * scale, 4) for side in ("left", "right")
             if f"choana_{side}" in planes}
    if sides:
        entry["pressure_drop_to_choana_pa"] = sides
    return entry


def simulate(domain: FlowDomain, physics: PhysicsConfig, run: RunConfig | None = None, *,
             resolution_mm: float | None = None, out_dir: Path | None = None,
             progress: Progress | None = None, initial: InitialField | None = None,
             notes: dict[str, object] | None = None, live_dir: Path | None = None) -> SimulationResult:
    """Simulate steady airflow through ``domain``; write the outputs into ``out_dir`` if given.

    ``initial`` starts from another run's converged field on the same lattice, scaled to this run's flow,
    at full boundary strength (no start-up ramp; see :mod:`rhinoapp.cfd.warmstart`). ``notes`` are added
    to ``results.json`` as they are (for example how the resolution was chosen). With ``live_dir`` and
    ``run.live_interval_s``, live checkpoints of the running flow go into ``live_dir``
    (:class:`~rhinoapp.cfd.live.LiveCheckpoints`).

    With ``run.coarse_start`` (:class:`~rhinoapp.cfd.config.CoarseStart`; not with ``initial``), the same domain is
    first simulated at twice the spacing (an eighth of the cells and half the steps per flow-through time), its
    converged pressure and velocity are carried over to this lattice (:func:`~rhinoapp.cfd.warmstart.field_on_lattice`)
    and the run continues from them without the ramp, to the same steady-state test; ``results["coarse_start"]``
    says what the coarse run did. A coarse run that fails (diverges on its coarser lattice) is reported and the run
    starts from rest.

    A run that diverges is run once more with the recursive collision (:meth:`PhysicsConfig.steadier`), which stays
    stable in passages only a few cells wide; ``results["steadier_collision"]`` then says where and when the first
    run diverged, and the run's plausibility checks flag the result (:mod:`rhinoapp.analysis.plausibility`).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> result = simulate(square_duct(6, 12), PhysicsConfig(flow_ml_s=1.0, kinematic_viscosity_m2_s=1e-4),
    ...                   RunConfig(backend="numpy", max_steps=400))
    >>> result.results["flow_ml_s"]["total"] > 0.9, result.results["backend"]
    (True, 'numpy')
    """
    run = run or RunConfig()
    estimate = estimate_run(domain, physics, run, resolution_mm=resolution_mm)
    check_resources(estimate, memory_limit_bytes=run.memory_limit_bytes,
                    device_memory_bytes=device_memory_bytes() if estimate.device_memory_bytes else None)
    airway = domain  # the interpolated walls find the smooth wall on the grid the airway was given on
    coarse: SimulationResult | None = None
    coarse_note: dict[str, object] = {}
    if initial is None and run.starts_coarse(estimate.fluid_cells):
        # one progress bar over both runs, each its share of the estimated cell updates
        fine_updates = estimate.fluid_cells * estimate.steps
        share = estimate.coarse_cell_updates / max(estimate.coarse_cell_updates + fine_updates, 1)
        coarse_mm = 2.0 * (float(resolution_mm) if resolution_mm else float(np.mean(domain.geometry.spacing_mm)))
        coarse, coarse_note = _coarse_run(domain, physics, run, coarse_mm,
                                          part_of(progress, 0.0, share, stage=f"coarse start at {coarse_mm:.3g} mm",
                                                  last=False))
        progress = part_of(progress, share, 1.0 - share)
    smooth_walls = physics.wall_boundary.interpolated
    spacing = np.asarray(domain.geometry.spacing_mm)
    # the smooth wall's cells are the air inside it (FlowDomain.resampled), also on the airway's own cubic grid; a
    # grid of other voxels without a resolution is left to choose_lattice_parameters, which refuses it
    if resolution_mm or (smooth_walls and np.allclose(spacing, spacing[0], rtol=1e-6)):
        domain = domain.resampled(float(resolution_mm or spacing[0]),
                                  smooth_wall_voxels=WALL_SMOOTHING_VOXELS if smooth_walls else 0.0)
    lattice = build_lattice(domain)
    if coarse is not None:
        initial = field_on_lattice(InitialField(coarse.pressure_pa, coarse.velocity_m_s, physics.flow_ml_s),
                                   coarse.lattice, lattice)
        coarse = None  # its lattice and fields are no longer needed
    solved, steadier_note = _solve_steadily(lattice, airway, physics, run, initial=initial, out_dir=out_dir,
                                            live_dir=live_dir, progress=progress)
    outcome, units, params, live = solved.outcome, solved.units, solved.params, solved.live
    walls = params.walls
    window, solver_check_every = solved.window, solved.check_every
    sign = 1.0 if physics.direction is Direction.INSPIRATION else -1.0
    steady = outcome.window_mean(window)
    drho, u = cell_moments(lattice, outcome.field_state)  # the time mean of a converged run
    # the last step's velocity, whose peak is the instantaneous one (the same fields where there is no mean)
    u_last = u if outcome.mean_state is None else cell_moments(lattice, outcome.state)[1]
    wall = wall_shear_stress(lattice, outcome.field_state, params)
    planes = plane_pressures(lattice, drho / 3.0)
    measured = steady.pressure_drop
    if PLANE_OUTLET in planes:  # from the ambient air to the outlet plane, not to the end of the extension
        measured -= sign * (planes[PLANE_OUTLET] - planes["outlet_boundary"])
    results = clinical_results(pressure_drop=measured, flow_left=sign * steady.flow_left,
                               flow_right=sign * steady.flow_right, flow_outlet=sign * steady.flow_outlet,
                               max_speed=float(np.sqrt(np.max(np.sum(u_last * u_last, axis=0)))), wall=wall,
                               units=units)
    results["diagnostics"] = run_diagnostics(lattice, u_last, outcome.history, units, window=window,
                                             flows=(steady.flow_left, steady.flow_right, steady.flow_outlet))
    pressure = drho / 3.0 * units.pressure_scale_pa
    distance, profile = pressure_profile(lattice, pressure)
    results.update(measurement_planes(planes, units, boundary_pressure_drop=steady.pressure_drop))
    if domain.placement:  # where the nostril and outlet planes are: at given planes or where the labels end
        results["openings_placed"] = dict(domain.placement)
    if domain.short_of_nostril:  # inlets cut before the nostril: the plausibility checks flag the result
        results["openings_short_of_nostril"] = dict(domain.short_of_nostril)
    # the voxels the labels were drawn on: the airway's grid, or the file it was resampled from (thick slices)
    origin = airway.label_origin
    results["label_voxels"] = {"grid_mm": [round(float(v), 4) for v in airway.geometry.spacing_mm],
                               "drawn_mm": None if origin.drawn_mm is None else list(origin.drawn_mm)}
    if origin.ragged_pits_pct is not None:  # ragged walls, their pits filled: the accuracy note says what is left
        results["ragged_label_walls"] = {"pits_pct": origin.ragged_pits_pct}
    tilts = nostril_tilts_deg(airway)
    if tilts:  # nostrils oblique to the grid: the accuracy note says what that did on the phantom
        results["nostril_tilt_deg"] = tilts
    nostrils = airway.nostril_centres()
    if nostrils:  # where each side's air enters: the checks flag a left nostril to the right of the right one
        results["nostrils_lps_mm"] = nostrils
    results.update(
        steps=outcome.steps, converged=outcome.converged,
        lattice={**units.as_dict(), "fluid_cells": lattice.n_cells, "check_every": solver_check_every,
                 "convergence_window": window,
                 # the fields are the time mean over this many steps (0: the last step's, for a run not steady)
                 "fields_mean_steps": outcome.averaged_checks * solver_check_every,
                 "wall_boundary": physics.wall_boundary.value,
                 # how the lattice's cells were taken from the airway's voxels (FlowDomain.resampled)
                 "fluid_cells_from": "inside the smooth wall" if smooth_walls else "the nearest voxel",
                 **({} if walls is None else {"interpolated_wall_links": walls.size,
                                              "halfway_wall_links": walls.halfway,
                                              "wall_smoothing_voxels": WALL_SMOOTHING_VOXELS})},
        backend=outcome.backend, mlups=round(outcome.mlups, 2),
        pressure_profile={"distance_mm": np.round(distance * units.dx_m * 1e3, 4).tolist(),
                          "pressure_pa": np.round(profile, 6).tolist()})
    if live is not None:  # what the live view cost this run
        results["live_view"] = {"interval_s": run.live_interval_s, "checkpoints": live.count,
                                "seconds": round(live.seconds_spent, 3)}
    if coarse_note:
        results["coarse_start"] = coarse_note
    if steadier_note:
        results["steadier_collision"] = steadier_note
    results.update(notes or {})
    velocity = u * units.velocity_scale_m_s
    result = SimulationResult(results, outcome, lattice, units, pressure, velocity, physics.direction)
    if out_dir is not None:
        write_outputs(result, Path(out_dir), wall_cells=wall.cells,
                      wall_values={"pressure_pa": pressure[wall.cells],
                                   "wss_pa": wall.stress * units.pressure_scale_pa})
    return result


def _coarse_run(domain: FlowDomain, physics: PhysicsConfig, run: RunConfig, coarse_mm: float,
                progress: Progress | None) -> tuple[SimulationResult | None, dict[str, object]]:
    """The run at ``coarse_mm`` (twice the spacing) that a coarse start begins with, and what to say about it in
    the results."""
    # its field only seeds the fine run, whose own steady-state test decides: the shorter windows of a warm start
    settings = replace(run, coarse_start=CoarseStart.OFF, max_steps=None, check_every=None, checkpoint_every=0,
                       resume=False, live_interval_s=0.0, window=run.window_for(warm=True))
    started = time.perf_counter()
    try:
        result = simulate(domain, physics, settings, resolution_mm=coarse_mm, progress=progress)
    except (SimulationError, ValidationError) as error:
        _log.warning("the coarse start at %.3g mm failed (%s): starting from rest", coarse_mm, error)
        return None, {"resolution_mm": coarse_mm, "used": False, "why_not": str(error),
                      "seconds": round(time.perf_counter() - started, 2)}
    outcome = result.outcome
    note: dict[str, object] = {
        "resolution_mm": coarse_mm, "used": True, "fluid_cells": result.lattice.n_cells, "steps": outcome.steps,
        "converged": outcome.converged, "convergence_window": settings.window, "seconds": round(time.perf_counter() - started, 2),
        "solver_seconds": round(outcome.elapsed_s, 2), "mlups": round(outcome.mlups, 2),
        "pressure_drop_pa": result.results["pressure_drop_pa"]}
    if "steadier_collision" in result.results:  # its field came from the second try
        note["steadier_collision"] = result.results["steadier_collision"]
    _log.info("coarse start: %s", note)
    return result, note


@dataclass(frozen=True, eq=False)
class _Solved:
    """One solve on a lattice: its outcome and the settings it ran with."""

    outcome: RunOutcome
    units: LatticeParameters
    params: KernelParameters  # its ``walls`` are the interpolated wall links (None: half-way walls)
    live: LiveCheckpoints | None
    window: int
    check_every: int


def _solve_on(lattice: SparseLattice, walls: WallLinks | None, physics: PhysicsConfig, run: RunConfig, *,
              initial: InitialField | None, out_dir: Path | None, live_dir: Path | None,
              progress: Progress | None) -> _Solved:
    """Choose the lattice units of ``physics`` and run the solver on ``lattice`` to steady state."""
    units = choose_lattice_parameters(lattice.domain, physics)
    _log.info("lattice units: %s", units.as_dict())
    params = KernelParameters(tau=units.tau, magic=units.trt_magic, smagorinsky=units.smagorinsky_constant,
                              strain_average=units.strain_average, bulk_omega=units.bulk_omega,
                              recursive=units.recursive, walls=walls,
                              tau_cells=sponge_relaxation_times(lattice, units.tau, physics.sponge_cells,
                                                                physics.sponge_viscosity_factor))
    live = None
    if live_dir is not None and run.live_interval_s > 0:
        live = LiveCheckpoints(Path(live_dir), lattice, units, interval_s=run.live_interval_s)
    start = None if initial is None else initial_populations(lattice, initial.scaled(physics.flow_ml_s), units)
    window = run.window_for(warm=start is not None)
    solver = Solver(lattice, params, boundary_values(lattice, physics, units), replace(run, window=window),
                    steps_estimate=expected_steps(units, warm=start is not None, window=window),
                    ramp_steps=units.ramp_steps if start is None else 0,
                    check_every=units.check_steps or None, units=units,
                    checkpoint_dir=None if out_dir is None else SimulationFolder(Path(out_dir)).checkpoints,
                    progress=progress, initial_state=start, live=live)
    return _Solved(solver.execute(), units, params, live, window, solver.check_every)


def _solve_steadily(lattice: SparseLattice, airway: FlowDomain, physics: PhysicsConfig, run: RunConfig, *,
                    initial: InitialField | None, out_dir: Path | None, live_dir: Path | None,
                    progress: Progress | None) -> tuple[_Solved, dict[str, object]]:
    """:func:`_solve_on` with ``physics``; if that diverges, once more with :meth:`PhysicsConfig.steadier`, and
    what to say about it in the results (empty when the first run held).

    A passage only two or three cells wide at this spacing can leave the projected collision without the eddy
    viscosity that keeps it stable (the shear-improved model gives a steady slit none); the recursive collision
    stays stable there. The rerun starts afresh (from rest, or from the same coarse solution); its checkpoints
    replace the diverged run's, and a resumed run goes on with it. A run that does not resume clears the folder's
    earlier checkpoints, which belong to another run.
    """
    walls = (interpolated_walls(lattice, airway,
                                conserve_mass=physics.wall_boundary is WallBoundary.INTERPOLATED_CONSERVING)
             if physics.wall_boundary.interpolated else None)
    steadier = physics.steadier()
    checkpoints = None if out_dir is None else SimulationFolder(Path(out_dir)).checkpoints
    marker = None if checkpoints is None else checkpoints / _STEADIER_MARKER
    solve = partial(_solve_on, lattice, walls, run=run, initial=initial, out_dir=out_dir, live_dir=live_dir)
    if steadier is not None and run.resume and marker is not None and marker.is_file():
        return solve(steadier, progress=progress), json.loads(marker.read_text())
    if checkpoints is not None and marker is not None and not run.resume and checkpoints.is_dir():
        # a fresh run in this folder: an earlier run's checkpoints (and its collision) are not to be resumed
        io.remove_checkpoints(checkpoints)
        marker.unlink(missing_ok=True)
    try:
        return solve(physics, progress=progress), {}
    except DivergenceError as error:
        if steadier is None:
            raise
        _log.warning("the run diverged at step %d; running again with the recursive collision", error.step)
        note: dict[str, object] = {
            "regularization": steadier.regularization.value, "diverged_at_step": error.step,
            "diverged_at_lps_mm": None if error.place is None else list(error.place), "why": str(error)}
    if marker is not None and checkpoints is not None and (run.checkpoint_every or run.resume):
        # the diverged run's checkpoints cannot be resumed; the marker makes a resumed run go on with this one
        io.remove_checkpoints(checkpoints)
        checkpoints.mkdir(parents=True, exist_ok=True)
        atomic_write(marker, json.dumps(note).encode())
    try:
        stage = "diverged: running again with the recursive collision"
        return solve(steadier, progress=part_of(progress, 0.0, 1.0, stage=stage)), note
    except DivergenceError as again:
        raise DivergenceError(f"{again} (This was the second try, with the recursive collision; the first, with the "
                              f"default collision, diverged at step {note['diverged_at_step']}.)", step=again.step,
                              place=again.place) from again
