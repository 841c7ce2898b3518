"""Parameters of the synthetic nasal CT phantom and its named variants.

Left and right are the patient's; +x (LPS) is the patient's left. Distances are millimetres in the
anatomical frame of the head: x = 0 on the midline, y = 0 at the face (upper lip), z = 0 on the
nasal floor.

Examples
--------
>>> variant_params(PhantomVariant.DEVIATED).septal_deviation
1.0
>>> PhantomParams(spacing_mm=0.7).spacing_mm
(0.7, 0.7, 0.7)
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

from rhinoapp.core.errors import ValidationError

__all__ = ["DEFAULT_FIELD_OF_VIEW_MM", "HARD_VARIANTS", "PhantomParams", "PhantomVariant", "variant_params"]

#: Field of view ((x0, x1), (y0, y1), (z0, z1)) in anatomical millimetres: both maxillary sinuses,
#: 10 mm of air in front of the nose tip, the nasopharynx and the upper oropharynx.
DEFAULT_FIELD_OF_VIEW_MM: tuple[tuple[float, float], ...] = ((-34.0, 34.0), (-28.0, 86.0), (-28.0, 50.0))

#: Semi-axes (lateral, vertical) of the internal nasal valve of a healthy phantom, mm.
HEALTHY_VALVE_RADII_MM = (2.9, 6.0)


@dataclasses.dataclass(frozen=True)
class PhantomParams:
    """Everything that defines one phantom; the same parameters always give the same volume.

    Parameters
    ----------
    spacing_mm
        Voxel size along x, y, z (i, j, k); one number means isotropic voxels.
    septal_deviation
        0 (straight) to 1 (a 2.8 mm C-shaped bulge of the septum into the left cavity).
    turbinate_swelling
        0 (decongested) to 1: the inferior and middle turbinates grow medially by up to 45 %.
    valve_radii_mm
        Semi-axes (lateral, vertical) of the elliptical internal nasal valve; its coronal area
        ``pi * a * b`` is the analytic minimal cross-section of the narrowing variant.
    mouth_open
        Oral air between the lips and the oropharynx, joined to the pharynx below the soft palate.
    rotation_deg
        Rotation of the head about the LPS x, y and z axes (applied in that order) around a
        pivot in the middle of the nasal cavity.
    field_of_view_mm
        Box of the volume in anatomical millimetres (not rotated with the head).
    noise_hu, blur_mm
        Standard deviation of the Gaussian noise and of the Gaussian point-spread function.
    outlet_depth_mm
        The ground-truth outlet plane lies this far below the nasal floor (z = 0).
    seed
        Seed of the noise; ``None`` draws fresh noise.
    left_swelling
        Turbinate swelling of the left side only (the nasal cycle); ``None``: ``turbinate_swelling``.
    septum_contact
        A septal spur that touches the left inferior and middle turbinates (with ``septal_deviation``).
    ethmoid_cells, frontal_sphenoid
        Ethmoid air cells, and frontal and sphenoid sinuses, each joined to the cavity by a narrow
        ostium (ground truth: sinus); see :mod:`rhinoapp.phantom.hard`.
    anonymisation_masks
        -1024 HU blocks over the orbits, as de-identification tools draw them, touching the image edges
        (ground truth: background).
    opacified_sinus
        ``"left"`` or ``"right"``: that maxillary sinus and its ostium are filled with fluid.
    """

    spacing_mm: tuple[float, float, float] = (0.5, 0.5, 0.5)
    septal_deviation: float = 0.0
    turbinate_swelling: float = 0.2
    valve_radii_mm: tuple[float, float] = HEALTHY_VALVE_RADII_MM
    mouth_open: bool = False
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    field_of_view_mm: tuple[tuple[float, float], ...] = DEFAULT_FIELD_OF_VIEW_MM
    noise_hu: float = 12.0
    blur_mm: float = 0.35
    outlet_depth_mm: float = 10.0
    seed: int | None = 0
    left_swelling: float | None = None
    septum_contact: bool = False
    ethmoid_cells: bool = False
    frontal_sphenoid: bool = False
    anonymisation_masks: bool = False
    opacified_sinus: str | None = None

    def __post_init__(self) -> None:
        spacing: float | tuple[float, ...] = self.spacing_mm
        if isinstance(spacing, (int, float)):
            spacing = (float(spacing),) * 3
        spacing = tuple(float(s) for s in spacing)
        if len(spacing) != 3 or not all(0.1 <= s <= 3.0 for s in spacing):
            raise ValidationError(
                f"spacing_mm must be 1 or 3 voxel sizes between 0.1 and 3 mm, got {self.spacing_mm!r}")
        object.__setattr__(self, "spacing_mm", spacing)
        for name in ("septal_deviation", "turbinate_swelling"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValidationError(f"{name} must lie between 0 and 1, got {value!r}")
            object.__setattr__(self, name, value)
        radii = tuple(float(r) for r in self.valve_radii_mm)
        if len(radii) != 2 or not (1.0 <= radii[0] <= 3.5 and 2.0 <= radii[1] <= 6.5):
            raise ValidationError(
                f"valve_radii_mm must be (lateral 1-3.5 mm, vertical 2-6.5 mm), got {self.valve_radii_mm!r}")
        object.__setattr__(self, "valve_radii_mm", radii)
        rotation = tuple(float(a) for a in self.rotation_deg)
        if len(rotation) != 3 or max(abs(a) for a in rotation) > 20:
            raise ValidationError(f"rotation_deg must be three angles of at most 20 degrees, got {self.rotation_deg!r}")
        object.__setattr__(self, "rotation_deg", rotation)
        fov = tuple((float(lo), float(hi)) for lo, hi in self.field_of_view_mm)
        if len(fov) != 3 or any(hi - lo < 10 for lo, hi in fov):
            raise ValidationError(f"field_of_view_mm needs three (low, high) ranges of at least 10 mm, got {fov!r}")
        object.__setattr__(self, "field_of_view_mm", fov)
        if not (0 <= self.noise_hu <= 200 and 0 <= self.blur_mm <= 3):
            raise ValidationError("noise_hu must lie in 0..200 HU and blur_mm in 0..3 mm")
        if self.left_swelling is not None and not 0.0 <= float(self.left_swelling) <= 1.0:
            raise ValidationError(f"left_swelling must lie between 0 and 1, got {self.left_swelling!r}")
        if self.opacified_sinus not in (None, "left", "right"):
            raise ValidationError(f"opacified_sinus must be 'left', 'right' or None, got {self.opacified_sinus!r}")
        if not 3 <= self.outlet_depth_mm <= 20:
            raise ValidationError(f"outlet_depth_mm must lie in 3..20 mm, got {self.outlet_depth_mm!r}")

    @property
    def valve_area_mm2(self) -> float:
        """Analytic coronal area of one internal nasal valve (``pi * a * b``)."""
        return math.pi * self.valve_radii_mm[0] * self.valve_radii_mm[1]

    @property
    def voxel_count(self) -> int:
        """Number of voxels of the generated volume."""
        count = 1
        for (lo, hi), s in zip(self.field_of_view_mm, self.spacing_mm):
            count *= max(1, round((hi - lo) / s))
        return count

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return dataclasses.asdict(self)


class PhantomVariant(enum.Enum):
    """Named phantoms used by the tests, the demo and the CLI."""

    STRAIGHT = "straight"
    DEVIATED = "deviated"
    SWOLLEN = "swollen"
    NARROWING = "narrowing"
    NOSTRILS_CROPPED = "nostrils-cropped"
    MOUTH_OPEN = "mouth-open"
    ROTATED = "rotated"
    THICK_SLICES = "thick-slices"
    ANISOTROPIC = "anisotropic"
    ETHMOID_CUT = "ethmoid-cut"
    MASKED_ORBITS = "masked-orbits"
    SINUS_OSTIA = "sinus-ostia"
    NARROW_MEATUS = "narrow-meatus"
    THICK_NOISY = "thick-noisy"
    ONE_SIDED_SWELLING = "one-sided-swelling"
    OPACIFIED_SINUS = "opacified-sinus"
    NOSTRILS_AT_EDGE = "nostrils-at-edge"
    SEPTUM_CONTACT = "septum-contact"
    CLINICAL = "clinical"


#: The hard variants: each reproduces a feature of clinical scans the plain phantom lacks
#: (``clinical`` combines them at 0.5 x 0.5 x 1.5 mm with noise).
HARD_VARIANTS: tuple[PhantomVariant, ...] = (
    PhantomVariant.ETHMOID_CUT, PhantomVariant.MASKED_ORBITS, PhantomVariant.SINUS_OSTIA,
    PhantomVariant.NARROW_MEATUS, PhantomVariant.THICK_NOISY, PhantomVariant.ONE_SIDED_SWELLING,
    PhantomVariant.OPACIFIED_SINUS, PhantomVariant.NOSTRILS_AT_EDGE, PhantomVariant.SEPTUM_CONTACT,
    PhantomVariant.CLINICAL)


def variant_params(variant: PhantomVariant | str, **overrides: Any) -> PhantomParams:
    """Parameters of a named variant; keyword arguments override single fields.

    Examples
    --------
    >>> variant_params("narrowing").valve_area_mm2 > 25
    True
    >>> variant_params("thick-slices").spacing_mm
    (0.5, 0.5, 1.5)
    """
    variant = PhantomVariant(variant)
    fov = DEFAULT_FIELD_OF_VIEW_MM
    variants: dict[PhantomVariant, dict[str, Any]] = {
        PhantomVariant.STRAIGHT: {},
        PhantomVariant.DEVIATED: {"septal_deviation": 1.0},
        PhantomVariant.SWOLLEN: {"turbinate_swelling": 1.0},
        PhantomVariant.NARROWING: {"valve_radii_mm": (2.0, 4.0), "turbinate_swelling": 0.0},
        PhantomVariant.NOSTRILS_CROPPED: {"field_of_view_mm": (fov[0], (4.0, fov[1][1]), fov[2])},
        PhantomVariant.MOUTH_OPEN: {"mouth_open": True},
        PhantomVariant.ROTATED: {"rotation_deg": (0.0, 0.0, 10.0)},
        PhantomVariant.THICK_SLICES: {"spacing_mm": (0.5, 0.5, 1.5)},
        PhantomVariant.ANISOTROPIC: {"spacing_mm": (0.45, 0.6, 0.8)},
        PhantomVariant.ETHMOID_CUT: {"ethmoid_cells": True, "field_of_view_mm": (fov[0], fov[1], (fov[2][0], 46.0))},
        PhantomVariant.MASKED_ORBITS: {"ethmoid_cells": True, "anonymisation_masks": True,
                                       "field_of_view_mm": (fov[0], fov[1], (fov[2][0], 56.0))},
        PhantomVariant.SINUS_OSTIA: {"ethmoid_cells": True, "frontal_sphenoid": True,
                                     "field_of_view_mm": (fov[0], fov[1], (fov[2][0], 66.0))},
        PhantomVariant.NARROW_MEATUS: {"turbinate_swelling": 0.95},
        PhantomVariant.THICK_NOISY: {"spacing_mm": (0.5, 0.5, 1.5), "noise_hu": 30.0},
        PhantomVariant.ONE_SIDED_SWELLING: {"turbinate_swelling": 0.0, "left_swelling": 1.0},
        PhantomVariant.OPACIFIED_SINUS: {"opacified_sinus": "right"},
        PhantomVariant.NOSTRILS_AT_EDGE: {"field_of_view_mm": (fov[0], (-15.0, fov[1][1]), (-14.0, fov[2][1]))},
        PhantomVariant.SEPTUM_CONTACT: {"septal_deviation": 1.0, "septum_contact": True},
        PhantomVariant.CLINICAL: {
            "spacing_mm": (0.5, 0.5, 1.5), "noise_hu": 25.0, "ethmoid_cells": True, "frontal_sphenoid": True,
            "anonymisation_masks": True, "turbinate_swelling": 0.3, "left_swelling": 0.9, "opacified_sinus": "left",
            "septal_deviation": 1.0, "septum_contact": True,
            "field_of_view_mm": (fov[0], (-15.0, fov[1][1]), (-14.0, 46.0))},
    }
    fields = variants[variant]
    fields.update(overrides)
    return PhantomParams(**fields)
