"""Nasal airway segmentation: pure functions from a HU volume to an airway label map.

:func:`segment_airway` takes a :class:`~rhinoapp.core.volume.CTVolume` and returns an
:class:`AirwaySegmentation`: labels 0 background, 1 left cavity, 2 right cavity, 3 nasopharynx and
outlet region, 4 sinuses (when kept), plus the inlet plane of each nostril and the outlet plane.
"""

from rhinoapp.segmentation.airway import AirwaySegmentation, segment_airway
from rhinoapp.segmentation.errors import SegmentationError
from rhinoapp.segmentation.options import Opening, Plane, SegmentationOptions, SinusMode

__all__ = ["AirwaySegmentation", "Opening", "Plane", "SegmentationError", "SegmentationOptions", "SinusMode",
           "segment_airway"]
