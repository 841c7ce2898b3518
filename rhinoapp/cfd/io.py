"""The solver's files, each written to a temporary file in the target folder and renamed into place.

Every function takes explicit paths; nothing here decides where a project keeps its files.
VTK outputs are in LPS millimetres and say so in their field data (``coordinate_system``).
"""

from __future__ import annotations

import csv
import io as _io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rhinoapp.core.files import atomic_path, atomic_write
from rhinoapp.core.jsonable import json_bytes
from rhinoapp.core.volume import ImageGeometry

__all__ = [
    "Checkpoint",
    "load_latest_checkpoint",
    "save_checkpoint",
    "write_csv",
    "write_image",
    "write_json",
    "write_polydata",
]

_CHECKPOINT_PREFIX = "checkpoint-"
_CHECKPOINTS_KEPT = 2


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` as indented JSON (NaN becomes null)."""
    return atomic_write(path, json_bytes(data)).path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV file with a header row."""
    buffer = _io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return atomic_write(path, buffer.getvalue().encode()).path


def write_image(path: Path, geometry: ImageGeometry, arrays: Mapping[str, np.ndarray],
                field_data: Mapping[str, str] | None = None) -> Path:
    """Write ``[k, j, i]`` (scalar) or ``[k, j, i, 3]`` (vector) arrays as VTK XML image data (``.vti``).

    Points are voxel centres; origin, spacing and direction give LPS millimetres, as in the CT.
    """
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkIOXML import vtkXMLImageDataWriter

    image = vtkImageData()
    image.SetDimensions(*geometry.shape[::-1])
    image.SetSpacing(*geometry.spacing_mm)
    image.SetOrigin(*geometry.origin_mm)
    image.SetDirectionMatrix(list(geometry.direction))
    n_points = int(np.prod(geometry.shape))
    for name, values in arrays.items():
        values = np.ascontiguousarray(values)
        flat = values.reshape(n_points, -1) if values.ndim == 4 else values.reshape(n_points)
        vtk_array = numpy_to_vtk(flat, deep=True)
        vtk_array.SetName(name)
        image.GetPointData().AddArray(vtk_array)
    _add_field_data(image, {"coordinate_system": "LPS", "length_unit": "mm", **(field_data or {})})
    writer = vtkXMLImageDataWriter()
    writer.SetInputData(image)
    return _write_vtk(writer, path)


def write_polydata(path: Path, polydata: Any, field_data: Mapping[str, str] | None = None) -> Path:
    """Write a ``vtkPolyData`` (LPS millimetres) as VTK XML poly data (``.vtp``)."""
    from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

    _add_field_data(polydata, {"coordinate_system": "LPS", "length_unit": "mm", **(field_data or {})})
    writer = vtkXMLPolyDataWriter()
    writer.SetInputData(polydata)
    return _write_vtk(writer, path)


def _write_vtk(writer: Any, path: Path) -> Path:
    writer.SetDataModeToAppended()
    writer.SetCompressorTypeToZLib()
    writer.SetCompressionLevel(1)
    with atomic_path(path) as temporary:
        writer.SetFileName(str(temporary))
        if writer.Write() != 1:
            raise OSError(f"VTK could not write {path}")
    return Path(path)


def _add_field_data(data: Any, values: Mapping[str, str]) -> None:
    from vtkmodules.vtkCommonCore import vtkStringArray

    for name, value in values.items():
        array = vtkStringArray()
        array.SetName(name)
        array.InsertNextValue(str(value))
        data.GetFieldData().AddArray(array)


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A saved run state: step, populations, convergence history and the run's fingerprint."""

    step: int
    state: np.ndarray
    history: list[dict[str, Any]]
    fingerprint: str


def save_checkpoint(folder: Path, *, step: int, state: np.ndarray, history: list[dict[str, Any]],
                    fingerprint: str) -> Path:
    """Write ``checkpoint-<step>.npz`` into ``folder`` and keep only the newest two.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = save_checkpoint(folder, step=10, state=np.zeros(4, np.float32), history=[], fingerprint="x")
    >>> load_latest_checkpoint(folder).step
    10
    """
    folder = Path(folder)
    buffer = _io.BytesIO()
    np.savez(buffer, step=np.int64(step), state=np.asarray(state, dtype=np.float32),
             history=np.frombuffer(json.dumps(history).encode(), dtype=np.uint8),
             fingerprint=np.frombuffer(fingerprint.encode(), dtype=np.uint8))
    path = atomic_write(folder / f"{_CHECKPOINT_PREFIX}{step:010d}.npz", buffer.getvalue()).path
    for old in sorted(folder.glob(f"{_CHECKPOINT_PREFIX}*.npz"))[:-_CHECKPOINTS_KEPT]:
        old.unlink(missing_ok=True)
    return path


def remove_checkpoints(folder: Path) -> int:
    """Remove the checkpoints in ``folder`` (those of a run that is not to be resumed); how many there were.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = save_checkpoint(folder, step=10, state=np.zeros(4, np.float32), history=[], fingerprint="x")
    >>> remove_checkpoints(folder), load_latest_checkpoint(folder)
    (1, None)
    """
    found = sorted(Path(folder).glob(f"{_CHECKPOINT_PREFIX}*.npz"))
    for path in found:
        path.unlink(missing_ok=True)
    return len(found)


def load_latest_checkpoint(folder: Path | None) -> Checkpoint | None:
    """The newest readable checkpoint in ``folder``, or None."""
    if folder is None or not Path(folder).is_dir():
        return None
    for path in sorted(Path(folder).glob(f"{_CHECKPOINT_PREFIX}*.npz"), reverse=True):
        try:
            with np.load(path) as data:
                return Checkpoint(step=int(data["step"]), state=data["state"].copy(),
                                  history=json.loads(data["history"].tobytes().decode()),
                                  fingerprint=data["fingerprint"].tobytes().decode())
        except (OSError, ValueError, KeyError):
            continue  # a damaged file: try the one before
    return None
