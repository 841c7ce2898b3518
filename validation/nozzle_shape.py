"""The valve nozzle of ``nozzle_check.py``: its shape, rhinoapp's voxel mask of it and its face-tagged surface.

Examples
--------
>>> nozzle = Nozzle()
>>> [round(float(r), 3) for r in nozzle.radius_mm(np.array([5.0, 19.0, 30.0, 40.0]))]
[5.0, 3.75, 2.5, 5.0]
>>> round(nozzle.flow_ml_s(700, 1.5e-5), 2), nozzle.length_mm
(41.23, 83.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Nozzle:
    """A round pipe with a conical contraction into a throat and a sudden expansion behind it (mm, along z)."""

    inlet_radius_mm: float = 5.0
    inlet_length_mm: float = 15.0
    contraction_length_mm: float = 8.0
    throat_radius_mm: float = 2.5
    throat_length_mm: float = 10.0
    outlet_radius_mm: float = 5.0
    outlet_length_mm: float = 50.0

    @property
    def length_mm(self) -> float:
        """From the inlet face to the outlet face."""
        return self.inlet_length_mm + self.contraction_length_mm + self.throat_length_mm + self.outlet_length_mm

    @property
    def throat_mm(self) -> tuple[float, float]:
        """Where the throat begins and ends."""
        start = self.inlet_length_mm + self.contraction_length_mm
        return start, start + self.throat_length_mm

    def radius_mm(self, z_mm: np.ndarray) -> np.ndarray:
        """The wall's radius at ``z_mm``."""
        z = np.asarray(z_mm, dtype=float)
        start, end = self.throat_mm
        cone = self.inlet_radius_mm + (self.throat_radius_mm - self.inlet_radius_mm) * (
            (z - self.inlet_length_mm) / self.contraction_length_mm)
        return np.select([z < self.inlet_length_mm, z < start, z < end],
                         [self.inlet_radius_mm, cone, self.throat_radius_mm], self.outlet_radius_mm)

    def flow_ml_s(self, reynolds: float, nu_m2_s: float) -> float:
        """The flow that gives the throat the Reynolds number ``reynolds`` (on its diameter and mean speed)."""
        speed = reynolds * nu_m2_s / (2e-3 * self.throat_radius_mm)
        return speed * math.pi * self.throat_radius_mm**2  # m/s times mm^2 is ml/s

    def stations(self) -> dict[str, float]:
        """Measurement stations (mm from the inlet face): name to position."""
        start, end = self.throat_mm
        return {"inlet pipe": self.inlet_length_mm / 2, "before contraction": self.inlet_length_mm - 1.0,
                "throat entry": start + 1.0, "throat middle": (start + end) / 2, "throat end": end - 1.0,
                "expansion +5 mm": end + 5.0, "expansion +10 mm": end + 10.0, "expansion +20 mm": end + 20.0,
                "expansion +30 mm": end + 30.0, "expansion +40 mm": end + 40.0}


def nozzle_domain(nozzle: Nozzle, voxel_mm: float):  # -> rhinoapp.cfd.domain.FlowDomain
    """The nozzle as a voxel mask along ``k``: an inlet layer at ``k = 0`` (its face at z = 0), an outlet layer at
    the far end; voxel ``(k, j, i)`` has its centre at ``z = (k - 1/2) voxel``."""
    from rhinoapp.cfd.domain import FlowDomain
    from rhinoapp.core.volume import ImageGeometry

    half = int(math.ceil(max(nozzle.inlet_radius_mm, nozzle.outlet_radius_mm) / voxel_mm)) + 1
    centres = (np.arange(2 * half) + 0.5 - half) * voxel_mm
    radius = np.hypot(centres[:, None], centres[None, :])
    layers = int(round(nozzle.length_mm / voxel_mm))
    z = (np.arange(layers + 2) - 0.5) * voxel_mm
    inside = radius[None] < nozzle.radius_mm(np.clip(z, 0.0, nozzle.length_mm))[:, None, None]
    fluid = inside.copy()
    fluid[[0, -1]] = False
    inlet = np.zeros_like(fluid)
    inlet[0] = inside[0]
    outlet = np.zeros_like(fluid)
    outlet[-1] = inside[-1]
    geometry = ImageGeometry(fluid.shape, (voxel_mm,) * 3, (float(centres[0]), float(centres[0]), float(z[0])))
    return FlowDomain(fluid, inlet, np.zeros_like(fluid), outlet, geometry)


def nozzle_surface(nozzle: Nozzle, *, segments: int = 96, step_mm: float = 0.25):  # -> pyvista.PolyData
    """The nozzle's closed surface (mm) with ``face`` cell data as ``rhinoapp segment`` writes it: the wall 0, the
    inlet disc split into two halves 1 and 2 (the two ambient openings the phantom's cases have), the outlet 3."""
    import pyvista as pv

    start, end = nozzle.throat_mm
    corners = [(0.0, nozzle.inlet_radius_mm), (nozzle.inlet_length_mm, nozzle.inlet_radius_mm),
               (start, nozzle.throat_radius_mm), (end, nozzle.throat_radius_mm), (end, nozzle.outlet_radius_mm),
               (nozzle.length_mm, nozzle.outlet_radius_mm)]
    profile: list[tuple[float, float]] = [corners[0]]
    for (z0, r0), (z1, r1) in zip(corners, corners[1:]):
        n = max(1, int(math.ceil(math.hypot(z1 - z0, r1 - r0) / step_mm)))
        profile += [(z0 + (z1 - z0) * t / n, r0 + (r1 - r0) * t / n) for t in range(1, n + 1)]
    angles = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points = [np.column_stack([r * ring, np.full(segments, z)]) for z, r in profile]
    points += [np.array([[0.0, 0.0, 0.0]]), np.array([[0.0, 0.0, nozzle.length_mm]])]
    xyz = np.concatenate(points)
    centre_in, centre_out = len(profile) * segments, len(profile) * segments + 1
    triangles, faces = [], []
    for row in range(len(profile) - 1):
        for s in range(segments):
            a, b = row * segments + s, row * segments + (s + 1) % segments
            triangles += [(a, b, b + segments), (a, b + segments, a + segments)]
            faces += [0, 0]
    last = (len(profile) - 1) * segments
    for s in range(segments):
        a, b = s, (s + 1) % segments
        triangles.append((centre_in, b, a))
        faces.append(1 if np.cos(angles[s] + math.pi / segments) < 0 else 2)
        triangles.append((centre_out, last + a, last + b))
        faces.append(3)
    cells = np.column_stack([np.full(len(triangles), 3), np.asarray(triangles)]).ravel()
    surface = pv.PolyData(xyz, cells)
    surface.cell_data["face"] = np.asarray(faces, dtype=np.int32)
    return surface
