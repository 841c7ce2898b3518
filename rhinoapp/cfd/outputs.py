"""The files of a finished run's folder (:class:`~rhinoapp.core.layout.SimulationFolder`): ``fields.vti``,
``surface.vtp``, ``convergence.csv`` and ``results.json``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rhinoapp.cfd import io
from rhinoapp.cfd.config import Direction
from rhinoapp.core.layout import SimulationFolder

if TYPE_CHECKING:
    from rhinoapp.cfd.simulation import SimulationResult

__all__ = ["CONVERGENCE_COLUMNS", "write_outputs"]

_log = logging.getLogger(__name__)

#: Columns of ``convergence.csv``.
CONVERGENCE_COLUMNS = ("step", "time_s", "pressure_drop_pa", "flow_ml_s", "flow_left_ml_s", "flow_right_ml_s",
                       "outlet_flow_ml_s", "max_velocity_m_s", "mass_conservation_error")


def write_outputs(result: SimulationResult, out_dir: Path, *, wall_cells: np.ndarray,
                  wall_values: dict[str, np.ndarray]) -> None:
    """Write the files of a run folder (:class:`~rhinoapp.core.layout.SimulationFolder`) into ``out_dir``."""
    from rhinoapp.cfd.surface import FACE_LABELS, airway_surface

    lattice, units = result.lattice, result.units
    files = SimulationFolder(Path(out_dir))
    geometry = lattice.domain.geometry
    velocity_lps = geometry.direction_matrix @ result.velocity_m_s  # grid axes -> LPS components
    fields: dict[str, np.ndarray] = {"pressure_pa": lattice.to_grid(result.pressure_pa).astype(np.float32),
              "velocity_m_s": np.moveaxis(lattice.to_grid(velocity_lps), 0, -1).astype(np.float32),
              "fluid": lattice.domain.fluid.astype(np.uint8)}
    units_note = {"pressure_pa": "gauge pressure relative to ambient at the nostrils, Pa",
                  "velocity_m_s": "velocity in LPS components, m/s"}
    io.write_image(files.fields, geometry, fields, units_note)
    surface = airway_surface(lattice, wall_cells, wall_values)
    io.write_polydata(files.surface, surface,
                      {"face_labels": ", ".join(f"{k}={v}" for k, v in FACE_LABELS.items())})
    scale_p = units.pressure_scale_pa
    scale_q = units.flow_scale_ml_s * (1.0 if result.direction is Direction.INSPIRATION else -1.0)
    rows = [(s.step, s.step * units.dt_s, s.pressure_drop * scale_p, s.flow * scale_q, s.flow_left * scale_q,
             s.flow_right * scale_q, s.flow_outlet * scale_q, s.max_speed * units.velocity_scale_m_s, s.mass_error)
            for s in result.outcome.history]
    io.write_csv(files.convergence, CONVERGENCE_COLUMNS,
                 [[f"{v:.6g}" if isinstance(v, float) else v for v in row] for row in rows])
    io.write_json(files.results, result.results)
    _log.info("outputs written to %s", out_dir)
