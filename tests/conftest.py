"""Shared fixtures: a real SQLite store in a temporary data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.store import ProjectRepository, Store, open_store

OUTPUT_DIR = Path(__file__).resolve().parents[1] / "test-output"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives Chromium is a ``browser`` test, whether or not its module says so."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def repo(store: Store) -> ProjectRepository:
    return ProjectRepository(store, owner="local")


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave files for people to look at (screenshots)."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
