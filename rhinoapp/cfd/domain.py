"""The flow domain: which voxels hold air, and where air enters and leaves.

A :class:`FlowDomain` is a value: boolean masks on one :class:`~rhinoapp.core.volume.ImageGeometry`
(arrays ``[k, j, i]``, LPS millimetres). ``fluid`` marks the cells the solver updates. The three
*openings* mark voxels **outside** the fluid that act as open boundaries: a lattice link from a
fluid cell into an opening voxel carries the inlet or outlet condition, a link into any other
non-fluid voxel (or off the grid) is a no-slip wall. Nostrils are the inlets (open to ambient
pressure), the nasopharynx is the outlet (prescribed flow or pressure). Axes may instead be
periodic, for verification flows driven by a body force.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.regrid import facing_the_air, flat_axis, sample_linear
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import ImageGeometry

__all__ = ["FlowDomain", "LabelOrigin", "Opening", "link_structure"]

_log = logging.getLogger(__name__)


class Opening(enum.Enum):
    """The open boundaries of the airway, in the order the solver numbers them."""

    INLET_LEFT = "inlet_left"
    INLET_RIGHT = "inlet_right"
    OUTLET = "outlet"

    @property
    def is_inlet(self) -> bool:
        """True for the nostrils."""
        return self is not Opening.OUTLET


def link_structure() -> np.ndarray:
    """The 3x3x3 neighbourhood a D3Q19 lattice links (faces and edges, no corners)."""
    result: np.ndarray = ndimage.generate_binary_structure(3, 2)
    return result


@dataclass(frozen=True)
class LabelOrigin:
    """What an imported airway's label map was like where that bears on the results' accuracy: the voxel sides it was
    drawn on (``drawn_mm``, ``(i, j, k)``; None: the grid's own), and the share of its wall voxels that were pits
    where its walls were ragged and the pits were filled (``ragged_pits_pct``; None: not ragged).

    Examples
    --------
    >>> LabelOrigin(drawn_mm=(0.5, 0.5, 2.0)).ragged_pits_pct is None
    True
    """

    drawn_mm: tuple[float, float, float] | None = None
    ragged_pits_pct: float | None = None


@dataclass(frozen=True, eq=False)
class FlowDomain:
    """Fluid cells, the three openings and the grid they live on.

    Parameters
    ----------
    fluid
        Boolean ``[k, j, i]`` mask of the air the solver simulates.
    inlet_left, inlet_right, outlet
        Boolean masks of non-fluid voxels that are open boundaries. An inlet may be empty (a pipe has
        one); without periodic axes at least one inlet and the outlet must touch the fluid.
    geometry
        The grid of all masks.
    periodic
        Periodic axes in ``(i, j, k)`` order (verification flows only).
    planes
        Named masks of fluid cells where the results measure pressure (the nostrils, the outlet plane,
        the choanae; see :mod:`rhinoapp.cfd.openings`); empty for plain domains.
    placement
        How each opening (by :class:`Opening` value) was placed, in words for the results (a plane that was
        given, the face where the labels end, ...); empty where nobody said.
    short_of_nostril
        For each inlet (by :class:`Opening` value) whose labels were cut before the nostril in a way that leaves
        part of the nose's resistance out (a coronal cut through the vestibule), what is missing; the results
        carry it and their plausibility checks flag it.
    label_origin
        What the label map the airway came from was like (:class:`LabelOrigin`): the voxel sides it was drawn on,
        where they differ from ``geometry``'s (thick slices interpolated by shape onto a finer grid), and how ragged
        its walls were. The results carry it, and their accuracy note says what thick slices and ragged walls do to
        the pressure drop.
    outward_kji
        For each opening (by :class:`Opening` value) whose outward direction is known (an opening plane's normal,
        the grid direction a label's end looks out along), that direction in millimetres along ``k, j, i``: the
        ambient chamber and the outlet's extension follow it (:mod:`rhinoapp.cfd.openings`). Without it the
        direction is taken from the opening's voxels and the air next to them, which an oblique layer with air
        beside it can turn sideways.

    Examples
    --------
    >>> fluid = np.zeros((6, 4, 4), dtype=bool)
    >>> fluid[1:5, 1:3, 1:3] = True
    >>> inlet = np.zeros_like(fluid); inlet[0, 1:3, 1:3] = True
    >>> outlet = np.zeros_like(fluid); outlet[5, 1:3, 1:3] = True
    >>> domain = FlowDomain(fluid, inlet, np.zeros_like(fluid), outlet, ImageGeometry(fluid.shape))
    >>> domain.n_fluid, domain.opening_mask(Opening.OUTLET).sum()
    (16, np.int64(4))
    """

    fluid: np.ndarray
    inlet_left: np.ndarray
    inlet_right: np.ndarray
    outlet: np.ndarray
    geometry: ImageGeometry
    periodic: tuple[bool, bool, bool] = (False, False, False)
    planes: Mapping[str, np.ndarray] = field(default_factory=dict)
    placement: Mapping[str, str] = field(default_factory=dict)
    short_of_nostril: Mapping[str, str] = field(default_factory=dict)
    label_origin: LabelOrigin = LabelOrigin()
    outward_kji: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "placement", {str(k): str(v) for k, v in dict(self.placement).items()})
        outward = {}
        for name, direction in dict(self.outward_kji).items():
            vector = np.asarray(direction, dtype=float)
            if vector.shape != (3,) or not np.linalg.norm(vector) > 0:
                raise ValidationError(f"the {name} opening's outward direction must be three numbers, not all zero; "
                                      f"got {direction}")
            outward[str(name)] = tuple(float(v) for v in vector / np.linalg.norm(vector))
        object.__setattr__(self, "outward_kji", outward)
        object.__setattr__(self, "short_of_nostril", {str(k): str(v) for k, v in dict(self.short_of_nostril).items()})
        shape = self.geometry.shape
        for name in ("fluid", "inlet_left", "inlet_right", "outlet"):
            mask = np.asarray(getattr(self, name))
            if mask.shape != shape:
                raise ValidationError(f"the {name} mask has shape {mask.shape} but the grid is {shape}")
            object.__setattr__(self, name, np.ascontiguousarray(mask, dtype=bool))
        planes = {}
        for name, plane in dict(self.planes).items():
            plane = np.asarray(plane, dtype=bool)
            if plane.shape != shape:
                raise ValidationError(f"the {name} plane has shape {plane.shape} but the grid is {shape}")
            planes[str(name)] = plane & self.fluid
        object.__setattr__(self, "planes", planes)
        object.__setattr__(self, "periodic", tuple(bool(p) for p in self.periodic))
        if not self.fluid.any():
            raise ValidationError("the flow domain holds no fluid voxel: check the airway labels")
        masks = [self.opening_mask(o) for o in Opening]
        for opening, mask in zip(Opening, masks, strict=True):
            if (mask & self.fluid).any():
                raise ValidationError(f"the {opening.value} voxels overlap the fluid; openings lie outside the "
                                      "air (use FlowDomain.carve to cut them out of it)")
        if (masks[0] & masks[1]).any() or ((masks[0] | masks[1]) & masks[2]).any():
            raise ValidationError("inlet and outlet voxels overlap: each voxel can belong to one opening only")
        if not any(self.periodic):
            if not self.touches(Opening.OUTLET):
                raise ValidationError("the outlet does not touch the air: define the outlet at the nasopharynx")
            if not (self.touches(Opening.INLET_LEFT) or self.touches(Opening.INLET_RIGHT)):
                raise ValidationError("no nostril inlet touches the air: define at least one inlet")

    @classmethod
    def carve(cls, fluid: np.ndarray, geometry: ImageGeometry, *, inlet_left: np.ndarray | None = None,
              inlet_right: np.ndarray | None = None, outlet: np.ndarray | None = None) -> FlowDomain:
        """A domain whose openings are cut out of the air: opening voxels stop being fluid.

        Examples
        --------
        >>> fluid = np.ones((5, 3, 3), dtype=bool)
        >>> cap = np.zeros_like(fluid); cap[0] = True
        >>> end = np.zeros_like(fluid); end[-1] = True
        >>> FlowDomain.carve(fluid, ImageGeometry(fluid.shape), inlet_left=cap, outlet=end).n_fluid
        27
        """
        empty = np.zeros(geometry.shape, dtype=bool)
        masks = [np.asarray(m, dtype=bool) if m is not None else empty for m in (inlet_left, inlet_right, outlet)]
        air = np.asarray(fluid, dtype=bool) & ~(masks[0] | masks[1] | masks[2])
        return cls(air, masks[0], masks[1] & ~masks[0], masks[2] & ~(masks[0] | masks[1]), geometry)

    @property
    def n_fluid(self) -> int:
        """Number of fluid cells."""
        return int(np.count_nonzero(self.fluid))

    def opening_mask(self, opening: Opening) -> np.ndarray:
        """The voxel mask of one opening."""
        return {Opening.INLET_LEFT: self.inlet_left, Opening.INLET_RIGHT: self.inlet_right,
                Opening.OUTLET: self.outlet}[opening]

    def touches(self, opening: Opening) -> bool:
        """True if some fluid cell links to a voxel of ``opening``."""
        mask = self.opening_mask(opening)
        return bool(mask.any() and (ndimage.binary_dilation(self.fluid, link_structure()) & mask).any())

    def connected(self) -> FlowDomain:
        """This domain without fluid pockets that no opening reaches; refuses a blocked airway.

        Every inlet that touches the air must connect to the outlet through fluid (lattice links).

        Examples
        --------
        >>> fluid = np.zeros((6, 3, 3), dtype=bool); fluid[1:5, 1, 1] = True
        >>> fluid[3, 1, 1] = False                      # a wall across the duct
        >>> inlet = np.zeros_like(fluid); inlet[0, 1, 1] = True
        >>> outlet = np.zeros_like(fluid); outlet[5, 1, 1] = True
        >>> FlowDomain(fluid, inlet, np.zeros_like(fluid), outlet, ImageGeometry(fluid.shape)).connected()
        Traceback (most recent call last):
        ...
        rhinoapp.core.errors.ValidationError: no path through the air from the left nostril inlet to the outlet...
        """
        if any(self.periodic):
            return self
        openings = self.inlet_left | self.inlet_right | self.outlet
        components, count = ndimage.label(self.fluid | openings, structure=link_structure())
        outlet_ids = set(np.unique(components[self.outlet]).tolist()) - {0}
        for opening, side in ((Opening.INLET_LEFT, "left"), (Opening.INLET_RIGHT, "right")):
            mask = self.opening_mask(opening)
            if mask.any() and not set(np.unique(components[mask]).tolist()) & outlet_ids:
                raise ValidationError(
                    f"no path through the air from the {side} nostril inlet to the outlet: the airway is closed "
                    "between them. Check the segmentation (threshold, the outlet plane) or remove that inlet.")
        keep = np.isin(components, sorted(outlet_ids)) & self.fluid
        dropped = self.n_fluid - int(np.count_nonzero(keep))
        if dropped:
            _log.info("removed %d fluid cells that no opening reaches (%d components)", dropped, count - 1)
        return FlowDomain(keep, self.inlet_left, self.inlet_right, self.outlet, self.geometry, self.periodic,
                          self.planes, self.placement, self.short_of_nostril, self.label_origin, self.outward_kji)

    def nostril_centres(self) -> dict[str, list[float]]:
        """The LPS centre (mm, rounded to 0.1) of each nostril: its measurement plane where the domain has one (the
        opening before the ambient chamber was attached), else its inlet; empty sides left out.

        Examples
        --------
        >>> fluid = np.zeros((6, 4, 4), dtype=bool); fluid[1:5, 1:3, 1:3] = True
        >>> inlet = np.zeros_like(fluid); inlet[0, 1:3, 1:3] = True
        >>> outlet = np.zeros_like(fluid); outlet[5, 1:3, 1:3] = True
        >>> FlowDomain(fluid, inlet, np.zeros_like(fluid), outlet, ImageGeometry(fluid.shape)).nostril_centres()
        {'left': [1.5, 1.5, 0.0]}
        """
        centres = {}
        for side, inlet in (("left", self.inlet_left), ("right", self.inlet_right)):
            mask = self.planes.get(f"nostril_{side}")
            mask = mask if mask is not None and mask.any() else inlet
            if mask.any():
                centre = self.geometry.index_to_physical(np.argwhere(mask).mean(axis=0)[::-1])
                centres[side] = [round(float(v), 1) for v in centre]
        return centres

    def air(self) -> np.ndarray:
        """The air of the domain: its fluid and its openings (an opening is no wall)."""
        air: np.ndarray = self.fluid | self.inlet_left | self.inlet_right | self.outlet
        return air

    def smooth_air(self, smoothing_voxels: float) -> np.ndarray:
        """The air mask (:meth:`air`) blurred by a Gaussian of ``smoothing_voxels``: its 0.5 level is the smooth wall.

        Periodic axes wrap; the others repeat their faces.

        Examples
        --------
        >>> fluid = np.zeros((4, 4, 8), dtype=bool); fluid[:, :, 2:6] = True
        >>> d = FlowDomain(fluid, *(np.zeros_like(fluid),) * 3, ImageGeometry(fluid.shape), (True, True, False))
        >>> [round(float(v), 2) for v in d.smooth_air(0.75)[0, 0]]  # air at i = 2..5: the 0.5 level on its faces
        [0.02, 0.23, 0.77, 0.98, 0.98, 0.77, 0.23, 0.02]
        """
        mode = ["wrap" if p else "nearest" for p in self.periodic[::-1]]
        smooth: np.ndarray = ndimage.gaussian_filter(self.air().astype(np.float32), sigma=smoothing_voxels, mode=mode)
        return smooth

    def resampled(self, resolution_mm: float, *, smooth_wall_voxels: float = 0.0) -> FlowDomain:
        """The domain on an isotropic grid of ``resolution_mm`` covering the same box.

        Fluid is sampled at the nearest voxel, or with ``smooth_wall_voxels`` > 0 it is the air inside the smooth
        wall: the new cells whose centre lies at or above the 0.5 level of the air blurred by that many voxels
        (:meth:`smooth_air`, interpolated trilinearly), less the old openings, so that the lattice's cells and
        the smooth wall that the interpolated wall links put between them agree (``rhinoapp.cfd.walls``); fluid
        pockets that no opening reaches are then dropped. Openings, which are thin layers, are kept as the new
        non-fluid voxels next to the air that lie within one (old or new) voxel of the old opening.

        Examples
        --------
        >>> fluid = np.ones((8, 4, 4), dtype=bool)
        >>> cap = np.zeros_like(fluid); cap[0] = True
        >>> end = np.zeros_like(fluid); end[-1] = True
        >>> d = FlowDomain.carve(fluid, ImageGeometry(fluid.shape), inlet_left=cap, outlet=end)
        >>> fine = d.resampled(0.5)
        >>> fine.geometry.shape, fine.n_fluid, int(fine.outlet.sum())
        ((16, 8, 8), 768, 64)
        """
        resolution_mm = float(resolution_mm)
        if not resolution_mm > 0:
            raise ValidationError(f"the resolution must be positive millimetres, got {resolution_mm}")
        old = self.geometry
        spacing = np.asarray(old.spacing_mm)
        smooth = smooth_wall_voxels > 0
        if np.allclose(spacing, resolution_mm, rtol=1e-6) and not smooth:
            return self
        new_shape_ijk = np.maximum(1, np.round(np.asarray(old.extent_mm) / resolution_mm).astype(int))
        corner = np.asarray(old.index_to_physical(-0.5 * np.ones(3)))  # LPS of the grid's corner
        origin = corner + old.direction_matrix @ np.full(3, 0.5 * resolution_mm)
        ni, nj, nk = (int(n) for n in new_shape_ijk)
        ox, oy, oz = (float(v) for v in origin)
        geometry = ImageGeometry((nk, nj, ni), (resolution_mm,) * 3, (ox, oy, oz), old.direction)
        nearest = [np.minimum(((np.arange(n) + 0.5) * resolution_mm / s).astype(int), m - 1)
                   for n, s, m in zip(new_shape_ijk, spacing, old.shape[::-1], strict=True)]
        index = np.ix_(nearest[2], nearest[1], nearest[0])
        fluid = self.fluid[index]
        if not smooth:
            return self._on_grid(fluid, geometry, index, resolution_mm)
        openings = (self.inlet_left | self.inlet_right | self.outlet)[index]
        inside = (sample_linear(self.smooth_air(smooth_wall_voxels), new_shape_ijk, spacing, resolution_mm,
                                 self.periodic) >= 0.5) & ~openings
        try:
            result = self._on_grid(inside, geometry, index, resolution_mm)
            return result if any(self.periodic) else result.connected()
        except ValidationError:  # a passage about a voxel wide, which the smooth wall closes: keep its voxels' cells
            _log.warning("the smooth wall closes a passage about one voxel wide; its cells are kept where the "
                         "voxels have air (the wall there is put at the cells themselves)")
            return self._on_grid(inside | fluid, geometry, index, resolution_mm)

    def _on_grid(self, fluid: np.ndarray, geometry: ImageGeometry, index: tuple[np.ndarray, ...],
                 resolution_mm: float) -> FlowDomain:
        """The domain with ``fluid`` on the new ``geometry`` (``index``: each new cell's nearest old voxel), the
        openings and the measurement planes carried over (:meth:`resampled`)."""
        spacing = np.asarray(self.geometry.spacing_mm)
        if resolution_mm > float(spacing.max()):  # coarser: a new voxel that holds an old opening is that opening,
            fluid = fluid & ~self._covering(self.inlet_left | self.inlet_right | self.outlet, fluid.shape,
                                            resolution_mm)
        near_air = ndimage.binary_dilation(fluid, link_structure()) & ~fluid
        tolerance = max(float(spacing.max()), resolution_mm)
        best = np.full(fluid.shape, np.inf)
        masks = []
        for opening in Opening:
            mask = self.opening_mask(opening)
            if not mask.any():
                masks.append(np.zeros_like(fluid))
                continue
            distance = ndimage.distance_transform_edt(~mask, sampling=tuple(spacing[::-1]))[index]
            if resolution_mm > float(spacing.max()):  # (not air, or a passage's end on the grid's face has none)
                distance[self._covering(mask, fluid.shape, resolution_mm)] = 0.0
            chosen = near_air & (distance <= tolerance) & (distance < best)
            chosen = facing_the_air(chosen, fluid, flat_axis(mask))
            best = np.where(chosen, distance, best)
            masks.append(chosen)
        # a voxel claimed by a later, nearer opening leaves the earlier one
        for a in range(3):
            for b in range(a + 1, 3):
                masks[a] &= ~masks[b]
        planes = {}  # fluid cells within half a voxel of a plane's cells: a layer at least one new cell thick
        for name, plane in self.planes.items():
            distance = ndimage.distance_transform_edt(~plane, sampling=tuple(spacing[::-1]))[index]
            planes[name] = fluid & (distance <= 0.75 * tolerance)
        return FlowDomain(fluid, masks[0], masks[1], masks[2], geometry, self.periodic, planes, self.placement,
                          self.short_of_nostril, self.label_origin, self.outward_kji)

    def _covering(self, mask: np.ndarray, shape: tuple[int, int, int], resolution_mm: float) -> np.ndarray:
        """The voxels of a coarser grid of ``shape`` (same corner) that hold a voxel of ``mask``."""
        spacing = np.asarray(self.geometry.spacing_mm)[::-1]  # (k, j, i)
        result = np.zeros(shape, dtype=bool)
        kji = np.nonzero(mask)
        coarse = [np.minimum(((np.asarray(axis) + 0.5) * step / resolution_mm).astype(int), n - 1)
                  for axis, step, n in zip(kji, spacing, shape, strict=True)]
        result[tuple(coarse)] = True
        return result
