"""Artifact files published with their database records, all or nothing.

The bytes of every file are written by :func:`rhinoapp.core.files.stage` (temporary file beside
the target, on disk); this module renames a set of them into place together with the records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.files import Content, WrittenFile, stage

__all__ = ["atomic_publish", "atomic_publish_many", "check_artifact_name"]


def check_artifact_name(name: str) -> PurePosixPath:
    """Validate a project-relative artifact name such as ``volume/ct.nii.gz``.

    Examples
    --------
    >>> str(check_artifact_name("geometry/default/airway.stl"))
    'geometry/default/airway.stl'
    >>> check_artifact_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: Artifact name '../etc/passwd' must be a relative path inside the project folder, without '..' or a leading '/'.
    """
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or name.startswith("."):
        raise ValidationError(
            f"Artifact name {name!r} must be a relative path inside the project folder,"
            " without '..' or a leading '/'."
        )
    return path


def atomic_publish(
    target: Path,
    content: Content,
    *,
    record: Callable[[WrittenFile], None],
    confirm: Callable[[], None],
) -> WrittenFile:
    """Publish a file together with its database record, all or nothing.

    The sequence is: write a temporary file; ``record(info)`` (e.g. add and flush the database
    row); rename into place; ``confirm()`` (e.g. commit). A failure before the rename removes the
    temporary file; a failure of ``confirm`` puts the previous file back (or removes the new one).
    """
    return atomic_publish_many([(target, content)], record=lambda written: record(written[0]), confirm=confirm)[0]


def atomic_publish_many(
    files: Sequence[tuple[Path, Content]],
    *,
    record: Callable[[list[WrittenFile]], None],
    confirm: Callable[[], None],
) -> list[WrittenFile]:
    """Publish several files and their records together: all of them or none.

    Every file is first written to a temporary path; then ``record(infos)`` runs; then all are
    renamed into place (previous versions kept as hard-link backups); then ``confirm()``. A failure
    at any point removes the temporary files and puts every previous file back.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> def fail():
    ...     raise RuntimeError("commit failed")
    >>> try:
    ...     atomic_publish_many([(folder / "a", b"1"), (folder / "b", b"2")], record=lambda w: None, confirm=fail)
    ... except RuntimeError:
    ...     sorted(p.name for p in folder.iterdir())
    []
    """
    staged: list[tuple[Path, Path, WrittenFile]] = []
    try:
        for target, content in files:
            tmp, written = stage(target, content)
            staged.append((target, tmp, written))
        record([written for _, _, written in staged])
    except BaseException:
        for _, tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    replaced: list[tuple[Path, Path | None]] = []  # (target, backup or None when it was new)
    try:
        for target, tmp, _ in staged:
            backup = None
            if target.exists():
                backup = tmp.with_name(tmp.name + ".previous")
                os.link(target, backup)
            os.replace(tmp, target)
            replaced.append((target, backup))
        confirm()
    except BaseException:
        for _, tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for target, backup in reversed(replaced):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink(missing_ok=True)
        raise
    finally:
        for _, backup in replaced:
            if backup is not None:
                backup.unlink(missing_ok=True)
    return [written for _, _, written in staged]
