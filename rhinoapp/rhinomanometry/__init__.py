"""Four-phase rhinomanometry (4PR): the open CSV format, a synthetic generator and the analysis.

Pure domain code: it imports only the standard library, numpy and :mod:`rhinoapp.core`, and
touches the file system only in :mod:`rhinoapp.rhinomanometry.io` when given a path.

Examples
--------
>>> from rhinoapp.rhinomanometry import Side, analyse, generate, read_csv, write_csv
>>> measurement = read_csv(write_csv(generate(seed=3, noise_pa=1.0).measurement))
>>> result = analyse(measurement)
>>> result.side(Side.LEFT).obstruction.label, result.total.r150.value is not None
('slight', True)
"""

from rhinoapp.rhinomanometry.analysis import analyse, analyse_side, loop_area, parallel_resistance
from rhinoapp.rhinomanometry.breaths import BreathSpan, PhaseSpan, detect_breaths
from rhinoapp.rhinomanometry.classification import (
    DEFAULT_OBSTRUCTION_CLASSES,
    ClassParameter,
    ObstructionClass,
    ObstructionClasses,
    classify,
)
from rhinoapp.rhinomanometry.io import read_csv, read_csv_file, read_csv_files, write_csv, write_csv_file
from rhinoapp.rhinomanometry.model import (
    Measurement,
    Metadata,
    Phase,
    Recording,
    Side,
    SignConvention,
    merge_measurements,
)
from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters
from rhinoapp.rhinomanometry.results import (
    AnalysisResult,
    BreathResult,
    PhaseResult,
    SideResult,
    Statistic,
    TotalResult,
    Value,
)
from rhinoapp.rhinomanometry.rohrer import RohrerFit, fit_rohrer, rohrer_flow, rohrer_pressure
from rhinoapp.rhinomanometry.synthetic import SyntheticMeasurement, SyntheticSide, SyntheticTruth, generate

__all__ = [
    "RhinomanometryParameters",
    "DEFAULT_OBSTRUCTION_CLASSES",
    "AnalysisResult",
    "BreathResult",
    "BreathSpan",
    "ClassParameter",
    "Measurement",
    "Metadata",
    "ObstructionClass",
    "ObstructionClasses",
    "Phase",
    "PhaseResult",
    "PhaseSpan",
    "Recording",
    "RohrerFit",
    "Side",
    "SideResult",
    "SignConvention",
    "Statistic",
    "SyntheticMeasurement",
    "SyntheticSide",
    "SyntheticTruth",
    "TotalResult",
    "Value",
    "analyse",
    "analyse_side",
    "classify",
    "detect_breaths",
    "fit_rohrer",
    "generate",
    "loop_area",
    "merge_measurements",
    "parallel_resistance",
    "read_csv",
    "read_csv_file",
    "read_csv_files",
    "rohrer_flow",
    "rohrer_pressure",
    "write_csv",
    "write_csv_file",
]
