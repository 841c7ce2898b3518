"""Phantoms and segmentations shared by the phantom, segmentation and geometry tests.

Each is generated once per test session (a few seconds each at 0.5 mm), so the tests of several
modules can look at the same case without paying for it again.
"""

from __future__ import annotations

import functools

import numpy as np

from rhinoapp.phantom import Phantom, generate_phantom, variant_params
from rhinoapp.segmentation import AirwaySegmentation, SegmentationOptions, segment_airway

#: The three variants of the acceptance criteria (0.5 mm voxels).
MAIN_VARIANTS = ("straight", "deviated", "swollen")


@functools.cache
def phantom(variant: str) -> Phantom:
    """The phantom of a named variant (default parameters otherwise)."""
    return generate_phantom(variant_params(variant))


@functools.cache
def segmentation(variant: str, sinus_mode: str = "exclude") -> AirwaySegmentation:
    """The default segmentation of a variant's phantom."""
    return segment_airway(phantom(variant).ct, SegmentationOptions(sinus_mode=sinus_mode))


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks."""
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0
