"""How fast decompression bombs are refused: a 1 MB ``.nii.gz`` holding 1 GiB, a 1.2 MB zip of 1,100 members.

Builds the two bombs of the security probe, then times each refusal through every path that
reads them (the reader functions, a file on disk as the CLI reads it, and the CT page's upload
handler :meth:`rhinoapp.state.ct_import.CTImportState.upload` with a real store), and as a
reference the time to inflate the same bytes without limits (what the server used to do).

Usage::

    .venv/bin/python benchmarks/input_bombs.py           # the full-size bombs (about 10 s to build)
    .venv/bin/python benchmarks/input_bombs.py --quick   # smaller bombs, same refusals (the test runs this)

Each line gives the seconds a refusal took and the start of its message. The script exits 1
when a bomb is *not* refused (a correctness failure); the times are for people to read, the
goal being under a second each.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np

from rhinoapp.config import Settings
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.limits import LimitError
from rhinoapp.dicom.upload import UploadLimits, read_upload, read_uploaded
from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.session import SessionState
from rhinoapp.store import ProjectRepository, open_store
from rhinoapp.usecases.ct_import import research_volume
from rhinoapp.volumes import read_volume

_MIB = 1 << 20


def nifti_bomb(inner_bytes: int, shape: tuple[int, int, int] = (512, 512, 2048)) -> bytes:
    """A gzip-compressed NIfTI-1 whose header declares ``shape`` (int16) and whose stream inflates to ``inner_bytes``."""
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.int16)
    header.set_data_offset(352)
    header.set_sform(np.eye(4), code=1)
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [compressor.compress(header.binaryblock + bytes(4))]
    zeros = bytes(_MIB)
    left = inner_bytes - 352
    while left > 0:
        parts.append(compressor.compress(zeros[:min(left, _MIB)]))
        left -= _MIB
    parts.append(compressor.flush())
    return b"".join(parts)


def zip_bomb(members: int, member_bytes: int) -> bytes:
    """A zip of ``members`` files of ``member_bytes`` zeros each (deflated: about 1 KB per MiB)."""
    buffer = io.BytesIO()
    content = bytes(member_bytes)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for number in range(members):
            archive.writestr(f"series/IM{number:05d}.dcm", content)
    return buffer.getvalue()


def _timed(action: Callable[[], object]) -> tuple[float, str, bool]:
    """Seconds, message, and whether ``action`` was refused with a limit error."""
    started = time.perf_counter()
    try:
        action()
    except LimitError as error:
        return time.perf_counter() - started, str(error), True
    except RhinoappError as error:
        return time.perf_counter() - started, f"(not a limit) {error}", False
    return time.perf_counter() - started, "(accepted)", False


def _page_upload(settings: Settings, contents: bytes, filename: str) -> None:
    """The CT page's upload handler on a real store: refused means a limit message in ``feedback``."""
    store = open_store(settings)
    try:
        repo = ProjectRepository(store, owner="local")
        session = SessionState(repository=repo, settings=settings)
        session.open_project(repo.create(f"Bomb {len(repo.list_projects()) + 1}").id)
        state = CTImportState(session=session)
        if state.upload([contents], filenames=[filename]):
            raise SystemExit("the page's upload handler stored a bomb")
        if "limit" not in state.feedback:
            raise RhinoappError(state.feedback)
        raise LimitError(state.feedback)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller bombs (64 MiB, 1,100 x 96 KiB), same refusals")
    args = parser.parse_args(argv)
    inner, member = (64 * _MIB, 96 * 1024) if args.quick else (1024 * _MIB, _MIB)
    started = time.perf_counter()
    nii, archive, small = nifti_bomb(inner), zip_bomb(1_100, member), zip_bomb(1_100, 63 * 1024)
    print(f"built in {time.perf_counter() - started:.1f} s: .nii.gz of {len(nii) / 1e6:.2f} MB holding "
          f"{inner / _MIB:.0f} MiB; zip of {len(archive) / 1e6:.2f} MB holding 1,100 x {member // 1024} KiB; zip of "
          f"{len(small) / 1e6:.2f} MB holding 1,100 x 63 KiB (each below the per-member ratio check)")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="rhinoapp-bombs-") as folder:
        settings = Settings(data_dir=Path(folder) / "data", demo=False)
        limits = settings.input_limits
        nii_path, zip_path = Path(folder, "ct.nii.gz"), Path(folder, "series.zip")
        nii_path.write_bytes(nii)
        zip_path.write_bytes(archive)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("nii.gz bytes (upload reader)", lambda: research_volume(nii, filename="ct.nii.gz", limits=limits)),
            ("nii.gz file (CLI import)", lambda: read_volume(nii_path, limits=limits)),
            ("nii.gz through the CT page's upload handler", lambda: _page_upload(settings, nii, "ct.nii.gz")),
            ("zip bytes (upload reader)", lambda: read_uploaded([archive], UploadLimits.of(limits))),
            ("zip file (CLI import)", lambda: read_upload([zip_path], UploadLimits.of(limits))),
            ("zip through the CT page's upload handler", lambda: _page_upload(settings, archive, "series.zip")),
            ("zip of small members (upload reader)", lambda: read_uploaded([small], UploadLimits.of(limits))),
        ]
        for name, action in cases:
            seconds, message, refused = _timed(action)
            failures += not refused
            print(f"{'refused' if refused else 'NOT REFUSED'} in {seconds:6.3f} s  {name}: {message[:110]}")
    started = time.perf_counter()
    inflated = len(gzip.decompress(nii))
    print(f"reference: inflating the .nii.gz without limits takes {time.perf_counter() - started:.2f} s "
          f"({inflated / _MIB:.0f} MiB)")
    print("all bombs refused" if not failures else f"{failures} bomb(s) NOT refused")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
