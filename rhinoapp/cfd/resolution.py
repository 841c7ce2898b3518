"""The default lattice resolution of an airway: enough cells across its narrowest passage.

Rule (:data:`CELLS_ACROSS`): the lattice spacing is the width of the narrowest passage on the way
from the nostrils to the outlet divided by 6, rounded down to 0.05 mm and kept within 0.25-2 mm.
The width is that of the *bottleneck* of each side: the largest sphere that can travel from the
nostril to the outlet through the air (a distance transform of the airway at its native
resolution, of the air inside the smooth wall that the lattice is made of, so that the specks and
pits of a ragged label map do not narrow it), taken over the narrower side. When the cells this needs exceed the memory or time
budget, the finest spacing within the budget is used and :attr:`ResolutionChoice.rule_met` is False
with a message saying so. A spacing the user gives is measured against the same rule
(:func:`given_resolution`): coarser than the rule's, its ``rule_met`` is False, and the run's plausibility
checks flag the result as a quick look.

Examples
--------
>>> from rhinoapp.cfd.shapes import square_duct
>>> choice = choose_resolution(square_duct(12, 30, spacing_mm=0.5))
>>> choice.width_mm, choice.resolution_mm, choice.rule_met
(5.5, 0.9, True)
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.domain import FlowDomain, Opening, link_structure
from rhinoapp.cfd.walls import WALL_SMOOTHING_VOXELS

__all__ = ["CELLS_ACROSS", "ResolutionChoice", "bottleneck_width_mm", "choose_resolution", "given_resolution"]

_log = logging.getLogger(__name__)

#: Lattice cells across the narrowest passage that the default resolution gives.
CELLS_ACROSS = 6
#: A given spacing meets the rule with at least this share of :data:`CELLS_ACROSS` (the rule's own spacing is
#: rounded to 0.05 mm, so a spacing given by hand near it is not flagged for a hundredth of a millimetre).
_GIVEN_TOLERANCE = 0.95
_FINEST_MM, _COARSEST_MM, _STEP_MM = 0.25, 2.0, 0.05


@dataclass(frozen=True)
class ResolutionChoice:
    """The chosen spacing, the bottleneck it follows from, and whether the rule could be met (for a spacing
    given by hand: whether it meets the rule); ``cells_wanted`` is the rule's cells across the bottleneck."""

    resolution_mm: float
    width_mm: float
    cells_across: float
    rule_met: bool
    rule: str
    message: str = ""
    cells_wanted: int = CELLS_ACROSS

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (``results.json`` ``resolution``)."""
        return asdict(self)


def bottleneck_width_mm(domain: FlowDomain, *, smoothing_voxels: float = WALL_SMOOTHING_VOXELS) -> float:
    """Width of the narrowest passage between the nostrils and the outlet, in millimetres (narrower side).

    The largest radius ``r`` such that the air at least ``r`` from any wall still connects a nostril
    to the outlet, as a diameter less one voxel (the distance runs from voxel centres). The air is
    that inside the smooth wall (the 0.5 level of the air blurred by ``smoothing_voxels``, which the
    smooth-walls lattice is made of), so that single voxels missing from a ragged label map do not
    count as walls; where that air does not connect a nostril to the outlet, the voxels as they are.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> bottleneck_width_mm(square_duct(8, 20, spacing_mm=0.5))
    3.5
    """
    openings = domain.inlet_left | domain.inlet_right | domain.outlet
    if smoothing_voxels > 0:
        smooth = (domain.smooth_air(smoothing_voxels) >= 0.5) & ~openings
        width = _width(dataclasses.replace(domain, fluid=smooth))
        if width is not None:
            return width
    width = _width(domain)
    # no path at all: one voxel (the simulation refuses such an airway with its own message)
    return float(min(domain.geometry.spacing_mm)) if width is None else width


def _width(domain: FlowDomain) -> float | None:
    """:func:`bottleneck_width_mm` of the domain's air as it is; None when a nostril does not reach the outlet."""
    openings = domain.inlet_left | domain.inlet_right | domain.outlet
    open_air = domain.fluid | openings
    # beyond an opening, and off the grid, is air, not wall: the distance measures to walls only
    beyond = ndimage.binary_dilation(openings, link_structure(), iterations=3) & ~domain.fluid
    spacing = tuple(float(s) for s in domain.geometry.spacing_mm[::-1])
    distance = ndimage.distance_transform_edt(np.pad(open_air | beyond, 1, constant_values=True),
                                              sampling=spacing)[1:-1, 1:-1, 1:-1]
    inlets = [domain.opening_mask(o) for o in (Opening.INLET_LEFT, Opening.INLET_RIGHT)
              if domain.opening_mask(o).any()]
    if not inlets or any(domain.periodic):
        return float(2.0 * distance.max() - min(spacing))
    outlet = domain.outlet
    widths = []
    for inlet in inlets:
        # the openings' own voxels lie in the air's outer layer: measure them from the air next to them
        start = ndimage.binary_dilation(inlet, link_structure()) & open_air
        end = ndimage.binary_dilation(outlet, link_structure()) & open_air
        # the way runs through the air: the wall beyond the openings counts as air to the distances, not to the way
        candidates = np.unique(distance[open_air])
        if not _connects((distance >= candidates[0]) & open_air, start, end):
            return None
        low, high = 0, len(candidates) - 1  # candidates[low] always connects (the whole air)
        while low < high:
            middle = (low + high + 1) // 2
            if _connects((distance >= candidates[middle]) & open_air, start, end):
                low = middle
            else:
                high = middle - 1
        widths.append(2.0 * float(candidates[low]) - min(spacing))
    return float(min(widths))


def _connects(mask: np.ndarray, start: np.ndarray, end: np.ndarray) -> bool:
    components, _ = ndimage.label(mask, structure=link_structure())
    a = set(np.unique(components[start & mask]).tolist()) - {0}
    return bool(a & set(np.unique(components[end & mask]).tolist()))


def choose_resolution(domain: FlowDomain, *, max_cells: int | None = None) -> ResolutionChoice:
    """The default spacing for ``domain`` (see the module's rule), within ``max_cells`` fluid cells if given.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> choice = choose_resolution(square_duct(12, 30, spacing_mm=0.5), max_cells=300)
    >>> choice.resolution_mm, choice.rule_met
    (1.25, False)
    """
    width = bottleneck_width_mm(domain)
    wanted = width / CELLS_ACROSS
    rule = (f"{CELLS_ACROSS} lattice cells across the narrowest passage from the nostrils to the outlet (bottleneck "
            f"width from a distance transform of the airway), spacing rounded down to {_STEP_MM} mm within "
            f"{_FINEST_MM}-{_COARSEST_MM} mm")
    spacing = _rounded(wanted)
    volume = domain.n_fluid * domain.geometry.voxel_volume_mm3
    message = ""
    rule_met = wanted >= _FINEST_MM - 1e-9
    if not rule_met:
        message = (f"the narrowest passage is {width:.2f} mm wide: {CELLS_ACROSS} cells across it would need a "
                   f"spacing of {wanted:.3f} mm, finer than the finest default ({_FINEST_MM} mm)")
    if max_cells is not None and volume / spacing**3 > max_cells:
        finest = _rounded((volume / max_cells) ** (1.0 / 3.0), up=True)
        message = (f"{CELLS_ACROSS} cells across the narrowest passage ({width:.2f} mm wide) need a spacing of "
                   f"{max(wanted, _FINEST_MM):.2f} mm and about {volume / spacing**3:,.0f} cells, more than the "
                   f"{max_cells:,} the memory and time budget allows: running at {finest:.2f} mm "
                   f"({width / finest:.1f} cells across). Check the narrowest passage in the geometry or give a "
                   "resolution by hand on a larger machine")
        spacing, rule_met = finest, False
    if message:
        _log.warning("%s", message)
    return ResolutionChoice(spacing, round(width, 4), round(width / spacing, 2), rule_met, rule, message)


def given_resolution(domain: FlowDomain, resolution_mm: float) -> ResolutionChoice:
    """A spacing given by hand, measured against the rule: the cells it puts across ``domain``'s bottleneck.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> duct = square_duct(12, 30, spacing_mm=0.5)
    >>> given_resolution(duct, 0.9).rule_met
    True
    >>> coarse = given_resolution(duct, 1.5)
    >>> coarse.cells_across, coarse.rule_met
    (3.67, False)
    """
    width = bottleneck_width_mm(domain)
    cells = width / resolution_mm
    rule_met = cells >= _GIVEN_TOLERANCE * CELLS_ACROSS
    message = "" if rule_met else (
        f"at the {resolution_mm:g} mm given, the narrowest passage from the nostrils to the outlet ({width:.2f} mm "
        f"wide) gets {cells:.1f} lattice cells across, fewer than the {CELLS_ACROSS} of the default rule "
        f"({_rounded(width / CELLS_ACROSS):g} mm here): read the figures as a quick look, and leave the resolution "
        "to the rule to rely on them")
    return ResolutionChoice(float(resolution_mm), round(width, 4), round(cells, 2), rule_met, "given by the user",
                            message)


def _rounded(spacing_mm: float, *, up: bool = False) -> float:
    steps = spacing_mm / _STEP_MM
    value = (math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)) * _STEP_MM
    return round(min(max(value, _FINEST_MM), _COARSEST_MM), 4)
