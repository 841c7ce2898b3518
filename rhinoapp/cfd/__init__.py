"""Sparse D3Q19 lattice-Boltzmann airflow solver (NumPy reference, Numba CPU, CuPy GPU backends).

Examples
--------
>>> from rhinoapp.cfd import PhysicsConfig, RunConfig, domain_from_labels, estimate_run
>>> from rhinoapp.cfd.shapes import two_channel_labels
>>> domain = domain_from_labels(two_channel_labels(2.0))
>>> estimate_run(domain, PhysicsConfig(flow_ml_s=250.0), RunConfig(backend="numba")).fluid_cells
2728

Numba compiles its kernels on first use (cached on disk afterwards); importing this package
compiles nothing.
"""

from rhinoapp.cfd.config import BackendName, Direction, Driving, PhysicsConfig, RunConfig, SubgridModel
from rhinoapp.cfd.domain import FlowDomain, Opening
from rhinoapp.cfd.estimate import ResourceEstimate, check_resources, estimate_run
from rhinoapp.cfd.inputs import OpeningPlane, domain_from_labels, read_geometry_dir
from rhinoapp.cfd.results import SimulationResults
from rhinoapp.cfd.simulation import SimulationResult, simulate
from rhinoapp.cfd.units import LatticeParameters, choose_lattice_parameters

__all__ = [
    "SimulationResults",
    "BackendName",
    "Direction",
    "Driving",
    "FlowDomain",
    "LatticeParameters",
    "Opening",
    "OpeningPlane",
    "PhysicsConfig",
    "ResourceEstimate",
    "RunConfig",
    "SimulationResult",
    "SubgridModel",
    "check_resources",
    "choose_lattice_parameters",
    "domain_from_labels",
    "estimate_run",
    "read_geometry_dir",
    "simulate",
]
