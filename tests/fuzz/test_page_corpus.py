"""Every malformed input of the corpus through the pages' upload handlers: the message shown, the store unchanged.

The CT page's :class:`~rhinoapp.state.ct_import.CTImportState` and the 4PR page's
:class:`~rhinoapp.state.rhinomanometry.RhinomanometryState` take each case as the browser hands it
over (file names and bytes); a full and a read-only disk are tried too.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.session import SessionState
from rhinoapp.store import ProjectRepository, open_store
from tests.fuzz.conftest import corpus_params, fingerprint, good_ct, matches
from tests.fuzz.corpus import Case, Kind
from tests.fuzz.disks import filled, read_only_in_place, tmpfs


@contextlib.contextmanager
def session_on(data: Path) -> Iterator[SessionState]:
    settings = Settings(data_dir=data)
    store = open_store(settings)
    try:
        repo = ProjectRepository(store, owner="local")
        session = SessionState(repository=repo, settings=settings)
        session.open_project(repo.list_projects()[0].id)
        yield session
    finally:
        store.close()


def upload(kind: Kind, session: SessionState, files: dict[str, bytes]) -> tuple[bool, str, str]:
    """Upload ``files`` as the page does (in a worker thread); returns (stored, message, its kind).

    Where the template project already has a CT (or a measurement), the user confirms the replacement.
    """
    if kind is Kind.CT:
        ct = CTImportState(session=session)
        stored = asyncio.run(ct.upload_async(list(files.values()), filenames=list(files)))
        if ct.replace_question:
            stored = ct.confirm_replace()
        return stored, ct.feedback, ct.feedback_kind
    four_pr = RhinomanometryState(session=session, max_upload_mb=15)
    [(name, content)] = files.items()
    stored = asyncio.run(four_pr.upload_async(name, content))
    if four_pr.replace_question:
        stored = four_pr.confirm_replace()
    return stored, four_pr.feedback, four_pr.feedback_kind


@pytest.mark.parametrize("case", corpus_params())
def test_the_page_shows_why_each_malformed_input_is_refused(case: Case, data_dir: Path) -> None:
    with session_on(data_dir) as session:
        before = fingerprint(data_dir)
        stored, message, kind = upload(case.kind, session, case.files)
    assert (stored, kind) == (False, "error") and message, message
    assert matches(message, case), message
    assert "Traceback" not in message
    assert fingerprint(data_dir) == before


@pytest.mark.parametrize("kind", [Kind.CT, Kind.FOUR_PR])
def test_a_full_disk_is_shown(kind: Kind, template: Path, tmp_path: Path) -> None:
    from rhinoapp.rhinomanometry.io import write_csv
    from rhinoapp.rhinomanometry.synthetic import generate

    files = ({"ct.nii.gz": good_ct((40, 128, 128), noise=True)} if kind is Kind.CT else
             {"case.csv": write_csv(generate(seed=4).measurement).encode()})
    with tmpfs(tmp_path / "disk", size_kb=8192) as disk:
        data = Path(shutil.copytree(template, disk / "data"))
        with session_on(data) as session:
            filled(disk, leave_bytes=20_000 if kind is Kind.FOUR_PR else 200_000)
            before = fingerprint(data)
            stored, message, level = upload(kind, session, files)
        assert (stored, level) == (False, "error"), message
        assert "disk is full" in message or "database could not be written" in message, message
        assert fingerprint(data) == before


@pytest.mark.parametrize("kind", [Kind.CT, Kind.FOUR_PR])
def test_a_read_only_project_folder_is_shown(kind: Kind, data_dir: Path, tmp_path: Path) -> None:
    from rhinoapp.rhinomanometry.io import write_csv
    from rhinoapp.rhinomanometry.synthetic import generate

    files = ({"ct.nii.gz": good_ct()} if kind is Kind.CT else
             {"case.csv": write_csv(generate(seed=4).measurement).encode()})
    data = data_dir
    [project] = (data / "projects").iterdir()
    with read_only_in_place(project, tmp_path):
        with session_on(data) as session:
            before = fingerprint(data)
            stored, message, level = upload(kind, session, files)
        assert (stored, level) == (False, "error"), message
        assert any(word in message for word in ("read-only", "permission", "cannot be written")), message
        assert fingerprint(data) == before
