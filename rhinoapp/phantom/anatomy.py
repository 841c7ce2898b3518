"""The anatomy of the phantom: air spaces and tissue layers as signed distance functions.

Anatomical frame (millimetres): x = 0 on the midline and +x towards the patient's left, y = 0 at
the face (upper lip) and +y posterior, z = 0 on the nasal floor and +z superior. Per side, the air
path is nostril (opening on the underside of the nose at z = -4) -> vestibule -> internal nasal
valve (an elliptical tube, y = 1..9) -> main cavity (y = 7..63, a slit between the septum and the
lateral wall, with inferior and middle turbinates) -> choana (the septum ends at y = 62) ->
nasopharynx and oropharynx (y = 62..80). The maxillary sinuses lie lateral to the cavities and
open into the middle meatus through an ostium canal of radius 1.4 mm.

Ground-truth labels follow :class:`~rhinoapp.core.volume.AirwayLabel`: the nostril, vestibule,
valve and cavity of a side up to the choanal plane are that side's cavity; the pharynx behind
the choanae down to the outlet plane is the nasopharynx; sinus and ostium are sinus; air outside
the body, oral air and the pharynx below the outlet are background.

Examples
--------
>>> parts = air_parts(0.0, 0.0, (2.9, 6.0), mouth_open=False)
>>> sorted({p.label for p in parts})
[1, 2, 3, 4]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from dataclasses import dataclass

import numpy as np

from rhinoapp.core.volume import AirwayLabel
from rhinoapp.phantom.shapes import box, ellipsoid, elliptic_cylinder, gaussian_bump, slanted_limit

__all__ = [
    "AIR_HU",
    "CHOANA_Y_MM",
    "NOSE_BOTTOM_Z_MM",
    "NOSTRIL_CENTRE_MM",
    "SOFT_TISSUE_HU",
    "VALVE_PURE_Y_MM",
    "AirPart",
    "TissuePart",
    "air_parts",
    "body_sdf",
    "septum_offset",
    "side_value",
    "tissue_parts",
]

Sdf = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
Bounds = tuple[tuple[float, float], tuple[float, float], tuple[float, float]]

AIR_HU = -1000.0
SOFT_TISSUE_HU = 45.0
SKIN_HU = 55.0
FAT_HU = -90.0
CARTILAGE_HU = 150.0
SEPTAL_BONE_HU = 700.0
TURBINATE_BONE_HU = 600.0
WALL_BONE_HU = 950.0
PALATE_HU = 1000.0
SINUS_WALL_HU = 900.0

NOSE_BOTTOM_Z_MM = -4.0
NOSTRIL_CENTRE_MM = (6.5, -8.5)  # (lateral distance from the midline, y) of each naris
CHOANA_Y_MM = 62.0
#: Coronal planes between these y values cut only the valve tube: its area is analytic there.
VALVE_PURE_Y_MM = (5.2, 6.8)

_SEPTUM_HALF = 1.2
_CAVITY_Y = (7.0, 63.0)
_ROOF = ((7.0, 20.0, 48.0, 63.0), (22.0, 40.0, 40.0, 27.0))  # (y knots, roof z)
_LATERAL = ((-10.0, 14.0, 45.0), (10.0, 10.0, 10.0 - 31.0 * 7.0 / 26.0))  # (z knots, lateral wall |x|)
_DEVIATION = ((24.0, 14.0), (8.0, 6.0), 2.8)  # centre (y, z), sigma (y, z), amplitude at deviation 1
_INFERIOR_TURBINATE = ((10.5, 38.0, 9.0), (5.5, 8.0, 6.5), 12.0)  # centre (|x|, y, z), radii, flat half-length
_MIDDLE_TURBINATE = ((8.0, 44.0, 24.0), (3.2, 8.0, 5.0), 10.0)
_SPUR = ((36.0, 9.0), (5.0, 2.5), 3.8)  # a septal spur touching the left inferior turbinate
_SWELLING_GAIN = 0.45
_VESTIBULE = ((6.5, -4.0, 4.5), (4.2, 9.0, 6.5))
_VALVE_CENTRE = (5.5, 8.0)  # (|x|, z)
_VALVE_Y = (1.0, 9.0)
_SINUS = ((21.0, 33.0, 15.0), (8.0, 12.0, 11.0))
_OSTIUM = ((30.0, 17.0), 1.4, (8.5, 15.0))  # centre (y, z), radius, |x| range
_SIDES = ((1.0, AirwayLabel.LEFT_CAVITY), (-1.0, AirwayLabel.RIGHT_CAVITY))


@dataclass(frozen=True)
class AirPart:
    """One air space: its signed distance, anatomical bounds and ground-truth label."""

    name: str
    label: int
    bounds: Bounds
    sdf: Sdf


@dataclass(frozen=True)
class TissuePart:
    """Tissue of ``hu`` Hounsfield units where ``low <= sdf < high``."""

    name: str
    hu: float
    bounds: Bounds
    sdf: Sdf
    low: float = -np.inf
    high: float = 0.0


def septum_offset(y: np.ndarray, z: np.ndarray, deviation: float, *, contact: bool = False) -> np.ndarray:
    """Shift of the septal midplane towards the patient's left (+x), mm.

    With ``contact`` a spur of the septum reaches the left inferior turbinate (a septum touching
    the lateral wall of the cavity).

    Examples
    --------
    >>> round(float(septum_offset(np.array(24.0), np.array(14.0), 1.0)), 3)
    2.8
    >>> float(septum_offset(np.array(36.0), np.array(9.0), 0.0, contact=True)) > 3.5
    True
    """
    centre, sigma, amplitude = _DEVIATION
    offset: np.ndarray = np.asarray(np.float32(amplitude * deviation) * gaussian_bump(y, z, centre, sigma),
                                    dtype=np.float32)
    if contact:
        spur_centre, spur_sigma, spur_amplitude = _SPUR
        offset = offset + np.float32(spur_amplitude) * gaussian_bump(y, z, spur_centre, spur_sigma)
    return np.asarray(offset, dtype=np.float32)


def side_value(value: float | tuple[float, float], sign: float) -> float:
    """The value of one side (``sign`` +1 left, -1 right) of a per-side pair, or a shared number.

    Examples
    --------
    >>> side_value((0.9, 0.1), -1.0), side_value(0.5, 1.0)
    (0.1, 0.5)
    """
    if isinstance(value, tuple):
        return float(value[0] if sign > 0 else value[1])
    return float(value)


def body_sdf(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Head and external nose: negative inside the skin.

    Examples
    --------
    >>> float(body_sdf(np.array(0.0), np.array(-30.0), np.array(0.0))) > 0  # in front of the nose
    True
    """
    head = (np.float32(0.012) * x * x - y) / np.sqrt(1 + (np.float32(0.024) * x) ** 2)
    nose = np.maximum(np.float32(NOSE_BOTTOM_Z_MM) - z, slanted_limit(np.abs(x), z, (-10, 8, 44), (13.5, 13.5, 6.0)))
    nose = np.maximum(nose, slanted_limit(-y, z, (-10.0, 2.0, 46.0), (20.0, 20.0, 0.0)))
    result: np.ndarray = np.minimum(head, nose).astype(np.float32, copy=False)
    return result


def _turbinate(spec: tuple[Any, ...], swelling: float, scale: float = 1.0) -> Callable[..., np.ndarray]:
    centre, radii, flat = spec
    radii = (radii[0] * (1 + _SWELLING_GAIN * swelling) * scale, radii[1] * scale, radii[2] * scale)

    def sdf(lateral: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return ellipsoid(lateral, y, z, centre, radii, flat=(0.0, flat, 0.0))
    return sdf


def _cavity(sign: float, deviation: float, swelling: float, contact: bool) -> Sdf:
    inferior, middle = _turbinate(_INFERIOR_TURBINATE, swelling), _turbinate(_MIDDLE_TURBINATE, swelling)

    def sdf(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        lateral = np.float32(sign) * x
        medial = np.float32(sign) * (septum_offset(y, z, deviation, contact=contact) - x) + np.float32(_SEPTUM_HALF)
        d = np.maximum(medial, slanted_limit(lateral, z, *_LATERAL))
        d = np.maximum(d, np.maximum(-z, slanted_limit(z, y, *_ROOF)))
        d = np.maximum(d, np.maximum(np.float32(_CAVITY_Y[0]) - y, y - np.float32(_CAVITY_Y[1])))
        d = np.maximum(d, -inferior(lateral, y, z))
        result: np.ndarray = np.maximum(d, -middle(lateral, y, z))
        return result
    return sdf


def _side_bounds(sign: float, lateral: tuple[float, float], y: tuple[float, float], z: tuple[float, float]) -> Bounds:
    xs = sorted((sign * lateral[0], sign * lateral[1]))
    return (xs[0], xs[1]), y, z


def air_parts(deviation: float, swelling: float | tuple[float, float], valve_radii: tuple[float, float], *,
              mouth_open: bool, contact: bool = False, opacified: str | None = None) -> list[AirPart]:
    """The air spaces, lowest ground-truth priority first (later parts win where they overlap).

    ``swelling`` is one number or a (left, right) pair; ``opacified`` ("left" or "right") leaves
    that maxillary sinus out (filled with fluid).
    """
    parts: list[AirPart] = []
    if mouth_open:
        def oral(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
            cavity = box(x, y, z, (-17.0, 3.0, -26.0), (17.0, 73.0, -15.0), rounding=3.0)
            mouth = box(x, y, z, (-13.0, -12.0, -22.0), (13.0, 8.0, -18.0), rounding=1.0)
            result: np.ndarray = np.minimum(cavity, mouth)
            return result
        parts.append(AirPart("oral cavity", int(AirwayLabel.BACKGROUND), ((-19, 19), (-13, 75), (-28, -13)), oral))

    def pharynx(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        naso = box(x, y, z, (-13.0, CHOANA_Y_MM, -2.0), (13.0, 80.0, 27.0), rounding=5.0)
        result: np.ndarray = np.minimum(naso, box(x, y, z, (-11.0, 68.0, -60.0), (11.0, 80.0, 0.0), rounding=4.0))
        return result
    parts.append(AirPart("pharynx", int(AirwayLabel.NASOPHARYNX), ((-15, 15), (60, 82), (-62, 29)), pharynx))

    for sign, _ in _SIDES:
        if opacified == ("left" if sign > 0 else "right"):
            continue

        def sinus(x: np.ndarray, y: np.ndarray, z: np.ndarray, sign: float = sign) -> np.ndarray:
            centre, radii = _SINUS
            body = ellipsoid(np.float32(sign) * x, y, z, centre, radii)
            (oy, oz), radius, lat = _OSTIUM
            canal = elliptic_cylinder(y, z, np.float32(sign) * x, (oy, oz), (radius, radius), lat)
            result: np.ndarray = np.minimum(body, canal)
            return result
        bounds = _side_bounds(sign, (7.5, 31.0), (19, 47), (2, 28))
        parts.append(AirPart("sinus", int(AirwayLabel.SINUS), bounds, sinus))

    for sign, label in _SIDES:
        def nostril(x: np.ndarray, y: np.ndarray, z: np.ndarray, sign: float = sign) -> np.ndarray:
            lateral, ny = NOSTRIL_CENTRE_MM
            tube = elliptic_cylinder(x, y, z, (sign * lateral, ny), (3.3, 6.0), (-7.0, 3.0))
            centre, radii = _VESTIBULE
            vestibule = ellipsoid(x, y, z, (sign * centre[0], centre[1], centre[2]), radii)
            valve = elliptic_cylinder(x, z, y, (sign * _VALVE_CENTRE[0], _VALVE_CENTRE[1]), valve_radii, _VALVE_Y)
            result: np.ndarray = np.minimum(np.minimum(tube, vestibule), valve)
            return result
        bounds = _side_bounds(sign, (1.0, 12.0), (-16, 10), (-8, 16))
        parts.append(AirPart("nostril, vestibule and valve", int(label), bounds, nostril))
        cavity_bounds = _side_bounds(sign, (-5.0, 12.0), (5, 65), (-2, 42))
        parts.append(AirPart("nasal cavity", int(label), cavity_bounds, _cavity(sign, deviation, side_value(swelling, sign),
                                                                              contact)))
    return parts


def tissue_parts(deviation: float, swelling: float | tuple[float, float], *, contact: bool = False
                 ) -> list[TissuePart]:
    """Bone and cartilage inside the soft tissue, later parts drawn over earlier ones.

    Examples
    --------
    >>> [p.name for p in tissue_parts(0.0, 0.0)][:2]
    ['nasal wall bone', 'hard palate']
    """
    def envelope(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        d = np.maximum(slanted_limit(np.abs(x), z, *_LATERAL), np.maximum(-z, slanted_limit(z, y, *_ROOF)))
        return np.where((y >= 12) & (y <= 60), d, np.float32(np.inf))

    def palate(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return box(x, y, z, (-17.0, 8.0, -5.5), (17.0, 62.0, -0.8))

    def septum(y_range: tuple[float, float]) -> Sdf:
        def sdf(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
            core = np.abs(x - septum_offset(y, z, deviation, contact=contact)) - np.float32(0.5)
            inside = (y >= y_range[0]) & (y < y_range[1]) & (z >= NOSE_BOTTOM_Z_MM + 0.5) & (z <= 41)
            return np.where(inside, core, np.float32(np.inf))
        return sdf

    parts = [
        TissuePart("nasal wall bone", WALL_BONE_HU, ((-14, 14), (10, 62), (-3, 44)), envelope, 0.8, 2.3),
        TissuePart("hard palate", PALATE_HU, ((-18, 18), (7, 63), (-7, 0)), palate),
        TissuePart("septal cartilage", CARTILAGE_HU, ((-5, 5), (-18, 10), (-4, 42)), septum((-17.0, 10.0))),
        TissuePart("septal bone", SEPTAL_BONE_HU, ((-5, 5), (10, 62), (-4, 42)), septum((10.0, 62.0))),
    ]
    for sign in (1.0, -1.0):
        for spec in (_INFERIOR_TURBINATE, _MIDDLE_TURBINATE):
            core = _turbinate(spec, side_value(swelling, sign), scale=0.4)

            def turbinate_bone(x: np.ndarray, y: np.ndarray, z: np.ndarray, core: Callable[..., np.ndarray] = core,
                               sign: float = sign) -> np.ndarray:
                return core(np.float32(sign) * x, y, z)
            parts.append(TissuePart("turbinate bone", TURBINATE_BONE_HU, _side_bounds(sign, (1, 19), (16, 64), (1, 33)),
                                    turbinate_bone))

        def sinus_wall(x: np.ndarray, y: np.ndarray, z: np.ndarray, sign: float = sign) -> np.ndarray:
            return ellipsoid(np.float32(sign) * x, y, z, *_SINUS)
        parts.append(TissuePart("sinus wall", SINUS_WALL_HU, _side_bounds(sign, (11, 32), (19, 47), (2, 28)),
                                sinus_wall, 0.6, 1.8))
    return parts
