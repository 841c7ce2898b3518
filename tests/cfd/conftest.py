"""Shared shapes and runs for the solver tests (kept small: the whole folder runs in minutes on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.cfd.config import PhysicsConfig, RunConfig
from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.inputs import domain_from_labels
from rhinoapp.cfd.shapes import two_channel_labels
from rhinoapp.cfd.simulation import SimulationResult, simulate


@pytest.fixture(scope="session")
def phantom_2mm() -> FlowDomain:
    """The symmetric two-passage phantom on a 2 mm grid (about 2,700 cells): fast, coarse."""
    return domain_from_labels(two_channel_labels(2.0))


@pytest.fixture(scope="session")
def phantom_1mm() -> FlowDomain:
    """The symmetric two-passage phantom on a 1 mm grid (about 24,000 cells): the demo resolution."""
    return domain_from_labels(two_channel_labels(1.0))


@pytest.fixture(scope="session")
def physiological_run(phantom_1mm: FlowDomain, tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """250 ml/s inspiration through the 1 mm phantom, with all outputs written."""
    out: Path = tmp_path_factory.mktemp("phantom-250")
    return simulate(phantom_1mm, PhysicsConfig(flow_ml_s=250.0), RunConfig(backend="numba"), out_dir=out)
