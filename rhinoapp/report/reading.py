"""Plain-language reading of a case's numbers, for the clinician's report.

Each sentence puts one value beside its healthy range in words a patient could follow; a value
the plausibility checks doubt is said to be doubtful rather than read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rhinoapp.analysis.ranges import REFERENCE_RANGES, ResultRow

__all__ = ["geometry_reading", "result_reading", "row_reading"]

_MEANING = {
    "pressure_drop_pa": ("more effort to breathe through the nose than in healthy noses",
                         "less effort to breathe than in typical healthy noses"),
    "resistance_total": ("the nose resists airflow more than healthy noses do", "the nose resists airflow little"),
    "resistance_left": ("the left side resists airflow more than a healthy side", "the left side is wide open"),
    "resistance_right": ("the right side resists airflow more than a healthy side", "the right side is wide open"),
    "flow_partition_left_pct": ("most air goes through the left side", "most air goes through the right side"),
    "mass_conservation_error_pct": ("the simulation lost air: its numbers are less reliable", ""),
}


def row_reading(row: ResultRow) -> str:
    """What one result row means, in words.

    Examples
    --------
    >>> from rhinoapp.analysis.ranges import HEALTHY_RANGES
    >>> row_reading(ResultRow("pressure_drop_pa", "Pressure drop", "Pa", 31.0, "31", HEALTHY_RANGES["pressure_drop_pa"],
    ...                       "above"))
    'above the healthy range (10-20 Pa): more effort to breathe through the nose than in healthy noses'
    >>> row_reading(ResultRow("flow_total", "Flow", "ml/s", 250.0, "250"))
    ''
    """
    if row.flag:
        return "doubtful: see the warnings of the run before reading this value"
    if row.reference is None or row.verdict in ("", "unknown"):
        return ""
    if row.verdict == "other flow":
        return f"the healthy range ({row.reference.text} {row.unit}) applies at {row.reference.at_flow_ml_s:g} ml/s only"
    if row.verdict == "within":
        return f"within the healthy range ({row.reference.text} {row.unit})"
    high, low = _MEANING.get(row.key, ("", ""))
    meaning = high if row.verdict == "above" else low
    return f"{row.verdict} the healthy range ({row.reference.text} {row.unit})" + (f": {meaning}" if meaning else "")


def geometry_reading(sides: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Sentences on the narrowest cross-section (mCSA) of each side against its healthy range.

    Examples
    --------
    >>> geometry_reading({"left": {"mcsa_cm2": 0.15, "mcsa_distance_mm": 22.0}})[0]
    'Left side: the narrowest cross-section (mCSA) is 0.15 cm² at 22 mm from the nostril, below the healthy range (0.24-1.21 cm²): a narrow passage.'
    """
    reference = REFERENCE_RANGES["mcsa_cm2"]
    sentences = []
    for side, metrics in sides.items():
        value = float(metrics["mcsa_cm2"])
        verdict = reference.verdict(value)
        what = {"below": ": a narrow passage", "above": ": a wide passage", "within": ""}.get(verdict, "")
        sentences.append(f"{side.capitalize()} side: the narrowest cross-section (mCSA) is {value:.2f} cm² at "
                         f"{float(metrics.get('mcsa_distance_mm', float('nan'))):.0f} mm from the nostril, "
                         f"{verdict} the healthy range ({reference.text} cm²){what}.")
    return sentences


def result_reading(rows: list[ResultRow]) -> list[str]:
    """Sentences for the rows of a run that have a healthy range (see :func:`row_reading`).

    Examples
    --------
    >>> from rhinoapp.analysis.ranges import result_rows
    >>> result_reading(result_rows({"pressure_drop_pa": 14.2, "flow_ml_s": {"total": 250.0}}))[0]
    'Pressure drop, nostrils to nasopharynx: 14.2 Pa, within the healthy range (10-20 Pa).'
    """
    sentences = []
    for row in rows:
        reading = row_reading(row)
        if reading and row.value is not None:
            sentences.append(f"{row.label}: {row.text} {row.unit}, {reading}.")
    return sentences
