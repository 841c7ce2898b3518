"""Full and read-only file systems for the fuzz tests: real ones where this process may mount them.

As root (CI runs as root on Debian), permission bits do not stop writes, so a read-only or a
full disk needs a real file system: a small tmpfs, remounted read-only for the second. Where
mounting is not allowed, a non-root user gets read-only folders from permission bits, and the
full-disk cases are skipped with the reason (the CLI's full-disk case also runs under a file
size limit, which needs no privilege).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["filled", "read_only", "read_only_in_place", "tmpfs"]


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def tmpfs(where: Path, *, size_kb: int) -> Iterator[Path]:
    """A tmpfs of ``size_kb`` mounted at ``where`` (skips the test where mounting is not allowed)."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command: a real full or read-only file system cannot be made here")
    done = _mount("-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where))
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not allowed here ({done.stderr.strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)


def filled(folder: Path, *, leave_bytes: int) -> None:
    """Fill the file system of ``folder`` until about ``leave_bytes`` are free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(folder / ".filler", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave_bytes))


@contextlib.contextmanager
def read_only(folder: Path, mount_point: Path) -> Iterator[Path]:
    """``folder`` copied to a file system that refuses writes; yields the copy's path.

    Root: a tmpfs remounted read-only. Others: the copy with its write permissions removed.
    """
    if os.geteuid() != 0:
        copy = mount_point / folder.name
        shutil.copytree(folder, copy)
        for path in [copy, *copy.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            yield copy
        finally:
            for path in [copy, *copy.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
        return
    with tmpfs(mount_point, size_kb=65536) as where:
        copy = where / folder.name
        shutil.copytree(folder, copy)
        done = _mount("-o", "remount,ro", str(where))
        if done.returncode != 0:
            pytest.skip(f"remounting read-only is not allowed here ({done.stderr.strip()})")
        yield copy


@contextlib.contextmanager
def read_only_in_place(folder: Path, scratch: Path) -> Iterator[None]:
    """Make ``folder`` refuse writes where it is (root: a read-only tmpfs over it holding its files)."""
    if os.geteuid() != 0:
        paths = [folder, *folder.rglob("*")]
        for path in paths:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            yield
        finally:
            for path in paths:
                path.chmod(path.stat().st_mode | 0o200)
        return
    saved = Path(shutil.copytree(folder, scratch / "saved"))
    with tmpfs(folder, size_kb=65536):
        shutil.copytree(saved, folder, dirs_exist_ok=True)
        done = _mount("-o", "remount,ro", str(folder))
        if done.returncode != 0:
            pytest.skip(f"remounting read-only is not allowed here ({done.stderr.strip()})")
        yield
