"""Airway surface and cross-sections from a label map.

:func:`build_geometry` turns an :class:`~rhinoapp.segmentation.AirwaySegmentation` into a closed,
face-labelled surface (:mod:`~rhinoapp.geometry.surface`), the area profile, mCSA, volume and wall
area of each side (:mod:`~rhinoapp.geometry.cross_sections`) and the ``geometry.json`` content;
:mod:`~rhinoapp.geometry.writers` writes STL and VTP files.
"""

from rhinoapp.geometry.airway import AirwayGeometry, build_geometry
from rhinoapp.geometry.cross_sections import AreaProfile, SideMetrics, area_profile, side_metrics
from rhinoapp.geometry.measures import label_area_mm2, label_volume_mm3
from rhinoapp.geometry.mesh import MeshCheck, TriangleMesh
from rhinoapp.geometry.report import GeometryReport
from rhinoapp.geometry.surface import AirwaySurface, Face, SurfaceError, SurfaceOptions, extract_surface
from rhinoapp.geometry.writers import stl_bytes, vtp_bytes, write_stl, write_vtp

__all__ = [
    "AirwayGeometry",
    "AirwaySurface",
    "AreaProfile",
    "Face",
    "GeometryReport",
    "MeshCheck",
    "SideMetrics",
    "SurfaceError",
    "SurfaceOptions",
    "TriangleMesh",
    "area_profile",
    "build_geometry",
    "extract_surface",
    "label_area_mm2",
    "label_volume_mm3",
    "side_metrics",
    "stl_bytes",
    "vtp_bytes",
    "write_stl",
    "write_vtp",
]
