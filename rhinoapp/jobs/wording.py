"""Jobs in plain language: what a finished task found, and the options a job ran with.

A task returns its summary as named figures (``pressure_drop_pa``, ``converged``, ...) and a job
keeps its options as named parameters (``flow_ml_s``, ``resolution_mm``, ``backend``, ...).
:func:`describe_summary` and :func:`describe_options` turn them into the words the Jobs and the
Simulations pages show; a name without a phrase here is shown with spaces for underscores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["describe_options", "describe_summary"]


def _number(value: Any, spec: str = ".3g") -> str:
    return format(value, spec) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _checks(value: Any) -> str:
    items = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)] if value else []
    return "to check: " + "; ".join(items) if items else ""


_RESULTS: Mapping[str, Callable[[Any], str]] = {
    "pressure_drop_pa": lambda v: f"pressure drop {_number(v)} Pa",
    "flow_partition_left_pct": lambda v: f"{_number(v, '.0f')} % of the flow through the left side",
    "converged": lambda v: "the flow became steady" if v else "the flow did not become steady in the steps allowed",
    "mlups": lambda v: f"{_number(v)} MLUPS",
    "plausibility": _checks,
    "left_volume_ml": lambda v: f"left cavity {_number(v)} ml",
    "right_volume_ml": lambda v: f"right cavity {_number(v)} ml",
    "left_mcsa_cm2": lambda v: f"left narrowest section {_number(v)} cm²",
    "right_mcsa_cm2": lambda v: f"right narrowest section {_number(v)} cm²",
    "voxels": lambda v: f"{v:,} voxels" if isinstance(v, int) else f"{v} voxels",
    "air_fraction": lambda v: f"{_number(100 * v, '.0f')} % air" if isinstance(v, (int, float)) else f"air {v}",
    "bone_fraction": lambda v: f"{_number(100 * v, '.0f')} % bone" if isinstance(v, (int, float)) else f"bone {v}",
    "mean_hu": lambda v: f"mean {_number(v, '.0f')} HU",
    "runs": lambda v: f"{v} runs",
    "k1": lambda v: f"Rohrer K1 {_number(v)} Pa·s/ml",
    "k2": lambda v: f"K2 {_number(v)} Pa·s²/ml²",
}
_NAMES = ("run_id", "sweep_id")  # said at the end, in brackets

_OPTIONS: Mapping[str, Callable[[Any], str]] = {
    "flow_ml_s": lambda v: f"flow {_number(v, 'g')} ml/s",
    "flows_ml_s": lambda v: "flows " + ", ".join(_number(f, "g") for f in v) + " ml/s" if isinstance(v, list)
    else f"flows {v} ml/s",
    "direction": lambda v: str(v),
    "expiration": lambda v: "with expiration" if v else "",
    "resolution_mm": lambda v: f"resolution {_number(v, 'g')} mm",
    "backend": lambda v: f"backend {v}",
    "variant": lambda v: f"geometry {v}" if v != "default" else "",
    "max_steps": lambda v: f"at most {_number(v, ',')} steps",
    "threads": lambda v: f"{v} threads",
    "threshold_hu": lambda v: f"threshold {_number(v, 'g')} HU",
    "sinuses": lambda v: f"sinuses {v}",
    "partial_volume": lambda v: "partial-volume correction" if v else "",
    "pressure_drop_pa": lambda v: f"pressure drop {_number(v, 'g')} Pa",
    "resume": lambda v: "resumed" if v else "",
}
_QUIET = {"run_id", "sweep_id", "checkpoint_every", "seed_left", "seed_right", "outlet_z_mm", "outlet_depth_mm",
          "target_triangles", "slabs", "pace_s"}


def _plain(name: str, value: Any) -> str:
    return f"{name.replace('_', ' ')} {_number(value)}"


def describe_summary(summary: Iterable[tuple[str, Any]]) -> str:
    """A finished task's summary as one sentence (empty for an empty summary).

    Examples
    --------
    >>> describe_summary([("converged", True), ("flow_partition_left_pct", 51.24), ("mlups", 41.0),
    ...                   ("plausibility", []), ("pressure_drop_pa", 19.756), ("run_id", "run-1a2b")])
    'Pressure drop 19.8 Pa, 51 % of the flow through the left side, the flow became steady, 41 MLUPS (run run-1a2b).'
    >>> describe_summary([("bins", 64), ("mean", 1 / 3)])
    'Bins 64, mean 0.333.'
    """
    figures = dict(summary)
    order = [*(k for k in _RESULTS if k in figures), *(k for k in figures if k not in _RESULTS and k not in _NAMES)]
    parts = [_RESULTS[k](figures[k]) if k in _RESULTS else _plain(k, figures[k]) for k in order]
    parts = [p for p in parts if p]
    names = [f"{k.split('_')[0]} {figures[k]}" for k in _NAMES if figures.get(k)]
    if not parts and not names:
        return ""
    text = (", ".join(parts) + (f" ({', '.join(names)})" if names else "")).strip()
    return text[:1].upper() + text[1:] + "."


def describe_options(parameters: Mapping[str, Any]) -> str:
    """The options a job ran with, as a short list (empty when it had none worth saying).

    Examples
    --------
    >>> describe_options({"variant": "default", "flow_ml_s": 250.0, "direction": "inspiration",
    ...                   "resolution_mm": 0.5, "backend": "numba", "run_id": "run-1"})
    'flow 250 ml/s, inspiration, resolution 0.5 mm, backend numba'
    >>> describe_options({"flow_ml_s": 250.0, "direction": "inspiration"})
    'flow 250 ml/s, inspiration, resolution chosen from the airway, backend chosen where it runs'
    """
    order = list(_OPTIONS)  # the stored parameters come sorted by name: say them in a reading order
    ranked = sorted(parameters.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    parts = [(_OPTIONS[k](v) if k in _OPTIONS else _plain(k, v)) for k, v in ranked
             if k not in _QUIET and v is not None]
    if "flow_ml_s" in parameters or "flows_ml_s" in parameters:  # a simulation or a sweep: say what was automatic
        if "resolution_mm" not in parameters:
            parts.append("resolution chosen from the airway")
        if "backend" not in parameters:
            parts.append("backend chosen where it runs")
    return ", ".join(p for p in parts if p)
