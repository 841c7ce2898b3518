"""What a 3D view shows: frozen, JSON-ready scene descriptions (no VTK here).

A :class:`SceneSpec` names the artifact files a render worker reads (surface, CT volume, flow
field) and the options of the scene. It travels to the worker process as JSON, so a worker never
needs another session's memory: it reads the same files the store published.

Coordinates are patient LPS millimetres: +x towards the patient's left, +y posterior, +z superior.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from pathlib import Path
from typing import Any

from rhinoapp.core.errors import ValidationError

__all__ = ["Axis", "CameraPreset", "ClipPlane", "Colouring", "SceneSpec", "Synthetic"]


class CameraPreset(enum.Enum):
    """Standard views of the head; left and right are the patient's."""

    ANTERIOR = "anterior"
    LEFT_LATERAL = "left"
    RIGHT_LATERAL = "right"
    AXIAL_FROM_BELOW = "below"

    @property
    def label(self) -> str:
        """Short button text."""
        return {"anterior": "Front", "left": "Left", "right": "Right", "below": "Below"}[self.value]


class Colouring(enum.Enum):
    """How the airway surface is coloured."""

    SOLID = "solid"
    FACES = "faces"  # wall, left and right nostril, outlet
    PRESSURE = "pressure"  # Pa
    WALL_SHEAR_STRESS = "wss"  # Pa


class Axis(enum.Enum):
    """A patient axis (LPS): x left, y posterior, z superior."""

    X = "x"
    Y = "y"
    Z = "z"

    @property
    def index(self) -> int:
        """0, 1 or 2."""
        return "xyz".index(self.value)


@dataclasses.dataclass(frozen=True)
class ClipPlane:
    """A plane normal to ``axis`` at ``position`` (0 to 1 across the scene's bounds).

    The part on the lower side (smaller coordinate) is kept; ``flip`` keeps the other side.

    Examples
    --------
    >>> ClipPlane(Axis.X, 0.4).position
    0.4
    >>> ClipPlane(Axis.Z, 1.5)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: a clip position runs from 0 to 1 across the scene, got 1.5
    """

    axis: Axis = Axis.X
    position: float = 0.5
    flip: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "axis", Axis(self.axis))
        if not 0.0 <= float(self.position) <= 1.0:
            raise ValidationError(f"a clip position runs from 0 to 1 across the scene, got {self.position}")
        object.__setattr__(self, "position", float(self.position))


@dataclasses.dataclass(frozen=True)
class Synthetic:
    """A synthetic airway (two nasal tubes merging into the nasopharynx) instead of files.

    For demonstrations, tests and benchmarks; ``triangles`` is the approximate surface size.
    """

    triangles: int = 20_000
    with_ct: bool = False
    with_flow: bool = False

    def __post_init__(self) -> None:
        if not 200 <= int(self.triangles) <= 20_000_000:
            raise ValidationError(f"a synthetic airway has 200 to 20 million triangles, got {self.triangles}")
        object.__setattr__(self, "triangles", int(self.triangles))


def _path(value: str | Path | None) -> str | None:
    return None if value in (None, "") else str(Path(value))


def _value_range(name: str, value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    low, high = (float(v) for v in value)
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        raise ValidationError(f"{name} needs a lower value below the upper one, got {low:g} to {high:g}: "
                              "enter the range again (or leave it empty for the automatic range)")
    return low, high


@dataclasses.dataclass(frozen=True)
class SceneSpec:
    """The content of one 3D view.

    Parameters
    ----------
    surface
        Airway surface file (``.vtp``, ``.vtk``, ``.stl``, ``.ply``) in LPS millimetres; optional
        cell or point data ``face`` (0 wall, 1 left nostril, 2 right nostril, 3 outlet) and point
        or cell arrays ``pressure_pa`` and ``wss_pa`` (Pa; also ``pressure``, ``wss``).
    volume
        CT volume (``.vti`` in LPS, or ``.nii``/``.nii.gz`` with its RAS affine) for the slices.
    flow
        Velocity field (``.vti`` with a 3-component point array ``velocity_m_s`` or ``velocity``).
    synthetic
        Build a synthetic airway (and CT, flow) in the worker instead of reading files.
    colouring, slices, streamlines, clip, markers
        Scene options; ``slices`` and ``streamlines`` need ``volume`` and ``flow``.
    colour_range, velocity_range
        The values the colours of the wall quantity (pressure, wall shear stress) and of the streamlines'
        speed span, ``(low, high)``; ``None`` (default): the field's 2nd to 98th percentile. Values
        outside are drawn in the colours of the bar's below/above swatches.
    lod_triangles
        Size of the decimated mesh shown while the user interacts.
    revision
        Any text that changes when the files change (e.g. a checkpoint number), so the worker reloads.

    Examples
    --------
    >>> spec = SceneSpec(surface="/data/p1/geometry/default/airway.vtp", colouring=Colouring.FACES)
    >>> SceneSpec.from_json(spec.to_json()) == spec
    True
    >>> SceneSpec(synthetic=Synthetic(5000), clip=ClipPlane(Axis.X, 0.5)).to_dict()["clip"]
    {'axis': 'x', 'position': 0.5, 'flip': False}
    >>> SceneSpec.from_json(SceneSpec(synthetic=Synthetic(5000), colour_range=(-5, 20)).to_json()).colour_range
    (-5.0, 20.0)
    """

    surface: str | None = None
    volume: str | None = None
    flow: str | None = None
    synthetic: Synthetic | None = None
    colouring: Colouring = Colouring.FACES
    slices: bool = False
    streamlines: bool = False
    clip: ClipPlane | None = None
    markers: bool = True
    lod_triangles: int = 40_000
    camera: CameraPreset = CameraPreset.ANTERIOR
    title: str = ""
    revision: str = ""
    colour_range: tuple[float, float] | None = None
    velocity_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("surface", "volume", "flow"):
            object.__setattr__(self, name, _path(getattr(self, name)))
        for name in ("colour_range", "velocity_range"):
            object.__setattr__(self, name, _value_range(name, getattr(self, name)))
        object.__setattr__(self, "colouring", Colouring(self.colouring))
        object.__setattr__(self, "camera", CameraPreset(self.camera))
        if isinstance(self.synthetic, dict):
            object.__setattr__(self, "synthetic", Synthetic(**self.synthetic))
        if isinstance(self.clip, dict):
            object.__setattr__(self, "clip", ClipPlane(**self.clip))
        if self.surface is None and self.synthetic is None:
            raise ValidationError("a 3D scene needs an airway surface file or synthetic=Synthetic(...)")
        if self.slices and self.volume is None and not (self.synthetic and self.synthetic.with_ct):
            raise ValidationError("CT slices need a CT volume: pass volume= (the project's volume/ct.nii.gz)")
        if self.streamlines and self.flow is None and not (self.synthetic and self.synthetic.with_flow):
            raise ValidationError("streamlines need a flow field: pass flow= (a simulation's fields.vti)")
        if not 500 <= int(self.lod_triangles) <= 5_000_000:
            raise ValidationError(f"lod_triangles must lie between 500 and 5 million, got {self.lod_triangles}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (enums by value)."""
        def plain(value: Any) -> Any:
            if isinstance(value, enum.Enum):
                return value.value
            if dataclasses.is_dataclass(value):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return list(value) if isinstance(value, tuple) else value

        return plain(self)

    def to_json(self) -> str:
        """The spec as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSpec:
        """The inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(f"unknown scene options {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> SceneSpec:
        """The inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
