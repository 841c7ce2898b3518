"""A synthetic nasal CT phantom with ground-truth airway labels, for the demo project and the tests.

Examples
--------
>>> from rhinoapp.core.volume import AirwayLabel
>>> phantom = generate_phantom(variant_params("straight", spacing_mm=2.0))
>>> int(phantom.truth.labels.max()) == AirwayLabel.SINUS
True
"""

from rhinoapp.phantom.generate import AirRegion, Phantom, PhantomLandmarks, generate_phantom
from rhinoapp.phantom.params import DEFAULT_FIELD_OF_VIEW_MM, HARD_VARIANTS, PhantomParams, PhantomVariant, variant_params

__all__ = [
    "DEFAULT_FIELD_OF_VIEW_MM",
    "HARD_VARIANTS",
    "AirRegion",
    "Phantom",
    "PhantomLandmarks",
    "PhantomParams",
    "PhantomVariant",
    "generate_phantom",
    "variant_params",
]
