"""Openings that hold for any airway: ambient-air chambers, the outlet extension and the measurement planes."""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from rhinoapp.analysis.plausibility import check_results
from rhinoapp.cfd.config import PhysicsConfig, RunConfig
from rhinoapp.cfd.domain import FlowDomain, Opening, link_structure
from rhinoapp.cfd.inputs import OpeningPlane, airway_domain, domain_from_labels, read_label_nifti, write_label_nifti
from rhinoapp.cfd.openings import PLANE_OUTLET, PLANE_SURROUNDINGS, SurroundingsConfig, with_open_surroundings
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.cfd.resolution import choose_resolution
from rhinoapp.cfd.shapes import square_duct, two_channel_labels
from rhinoapp.cfd.simulation import simulate
from rhinoapp.core.volume import AirwayLabel, ImageGeometry, LabelMap
from rhinoapp.phantom import HARD_VARIANTS


def test_the_chambers_of_the_two_nostrils_meet_only_through_the_airway() -> None:
    plain = domain_from_labels(two_channel_labels(2.0))
    domain = with_open_surroundings(plain)
    assert domain.touches(Opening.INLET_LEFT) and domain.touches(Opening.INLET_RIGHT) and domain.touches(Opening.OUTLET)
    # without the former nostril layers, the two chambers are apart
    cut = domain.fluid & ~domain.planes["nostril_left"] & ~domain.planes["nostril_right"]
    components, _ = ndimage.label(cut, structure=link_structure())
    near = [ndimage.binary_dilation(domain.opening_mask(o), link_structure()) & cut
            for o in (Opening.INLET_LEFT, Opening.INLET_RIGHT)]
    left, right = (set(np.unique(components[m]).tolist()) - {0} for m in near)
    assert left and right and not left & right
    # the openings never touch the airway itself, only the chambers
    airway = np.pad(plain.fluid, [(a, b) for a, b in _padding(plain, domain)])
    for opening in Opening:
        assert not (ndimage.binary_dilation(domain.opening_mask(opening), link_structure()) & airway).any()
    assert domain.connected().n_fluid == domain.n_fluid


def _padding(plain: FlowDomain, grown: FlowDomain) -> list[tuple[int, int]]:
    """Voxels added before and after each axis: from the origins (identity direction, same spacing)."""
    before = np.round((np.asarray(plain.geometry.origin_mm) - grown.geometry.origin_mm)
                      / np.asarray(plain.geometry.spacing_mm)).astype(int)[::-1]
    after = np.asarray(grown.geometry.shape) - np.asarray(plain.geometry.shape) - before
    return [(int(a), int(b)) for a, b in zip(before, after)]


def test_the_outlet_extension_is_a_prism_several_diameters_long() -> None:
    duct = square_duct(6, 10)
    domain = with_open_surroundings(duct, SurroundingsConfig(extension_diameters=3.0, chamber_depth_mm=4.0))
    diameter = 2.0 * np.sqrt(36.0 / np.pi)
    added_below = domain.geometry.shape[0] - duct.geometry.shape[0]
    assert added_below >= 3.0 * diameter + 4.0
    assert int(domain.outlet.sum()) == 36
    assert int(domain.planes[PLANE_OUTLET].sum()) == 36  # the former outlet layer, now fluid


def test_an_airway_cut_at_the_image_face_grows_the_grid() -> None:
    labels = two_channel_labels(2.0)
    # the nasopharynx now ends at the lower image face: two slices fewer
    cropped = LabelMap(labels.labels[2:], ImageGeometry(labels.labels[2:].shape, labels.geometry.spacing_mm,
                                                        (labels.geometry.origin_mm[0], labels.geometry.origin_mm[1],
                                                         labels.geometry.origin_mm[2] + 4.0)))
    domain = airway_domain(cropped)
    assert domain.geometry.origin_mm[2] < cropped.geometry.origin_mm[2] - 8.0
    assert domain.touches(Opening.OUTLET)
    assert {"choana_left", "choana_right", "outlet"} <= set(domain.planes)


def test_planes_survive_resampling() -> None:
    domain = airway_domain(two_channel_labels(2.0))
    fine = domain.resampled(1.0)
    for name in domain.planes:
        assert fine.planes[name].any(), name
        assert not (fine.planes[name] & ~fine.fluid).any()
    assert fine.touches(Opening.INLET_LEFT) and fine.touches(Opening.OUTLET)


def test_the_step_estimate_leaves_the_chambers_and_the_extension_out() -> None:
    from rhinoapp.cfd.units import airway_volume_mm3

    plain = domain_from_labels(two_channel_labels(2.0))
    domain = with_open_surroundings(plain)
    assert domain.n_fluid > 1.5 * plain.n_fluid
    # the airway: the plain fluid and the former opening layers
    layers = sum(int(plain.opening_mask(o).sum()) for o in Opening)
    assert airway_volume_mm3(domain) == (plain.n_fluid + layers) * 8.0


def test_periodic_domains_are_left_alone() -> None:
    periodic = square_duct(4, 4, periodic=True)
    assert with_open_surroundings(periodic) is periodic


@pytest.mark.parametrize("bad", [{"chamber_depth_mm": -1.0}, {"extension_diameters": float("nan")}])
def test_sizes_must_be_non_negative(bad: dict[str, float]) -> None:
    from rhinoapp.core.errors import ValidationError

    with pytest.raises(ValidationError, match="non-negative"):
        SurroundingsConfig(**bad)


# --- on the phantom: openings that hold, and defaults that do not diverge --------------------------------------


def _phantom(variant: str = "straight", spacing_mm: float = 1.0, rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)):
    from rhinoapp.phantom import generate_phantom, variant_params

    return generate_phantom(variant_params(variant, spacing_mm=spacing_mm, noise_hu=0, rotation_deg=rotation_deg))


def _landmark_planes(phantom) -> dict[Opening, OpeningPlane]:
    marks = phantom.landmarks
    return {Opening.INLET_LEFT: OpeningPlane(marks.nostrils_lps_mm[0], marks.nostril_normal_lps),
            Opening.INLET_RIGHT: OpeningPlane(marks.nostrils_lps_mm[1], marks.nostril_normal_lps),
            Opening.OUTLET: OpeningPlane(marks.outlet_point_lps_mm, marks.outlet_normal_lps)}


def _cut_in_vestibule_and_at_image_face(phantom, cut_mm: float) -> tuple[LabelMap, dict[Opening, OpeningPlane]]:
    """The phantom's labels stopping ``cut_mm`` inside the vestibules, cropped at the outlet plane.

    The nostril planes lie on the cut (where an import finds the cavity meeting outside air); the outlet
    has no plane: the nasopharynx simply ends at the image's lower face.
    """
    truth, marks = phantom.truth, phantom.landmarks
    geometry = truth.geometry
    z = geometry.origin_mm[2] + np.arange(geometry.shape[0]) * geometry.spacing_mm[2]
    labels = truth.labels.copy()
    cavity = np.isin(labels, [int(AirwayLabel.LEFT_CAVITY), int(AirwayLabel.RIGHT_CAVITY)])
    labels[cavity & (z[:, None, None] < marks.nostrils_lps_mm[0][2] + cut_mm)] = 0
    lowest = float(z[np.isin(labels, [1, 2]).any(axis=(1, 2))].min())
    first = int(np.searchsorted(z, marks.outlet_z_mm + 0.25 * geometry.spacing_mm[2]))
    cropped = LabelMap(labels[first:], ImageGeometry(labels[first:].shape, geometry.spacing_mm,
                                                     (geometry.origin_mm[0], geometry.origin_mm[1], float(z[first])),
                                                     geometry.direction))
    planes = {opening: OpeningPlane((point[0], point[1], lowest), (0.0, 0.0, -1.0))
              for opening, point in zip((Opening.INLET_LEFT, Opening.INLET_RIGHT), marks.nostrils_lps_mm)}
    return cropped, planes


def test_a_vestibule_cut_and_an_outlet_at_the_image_face_change_the_pressure_drop_little(
        pool: ProcessPoolExecutor) -> None:
    """The phantom on a 1.5 mm grid: well-formed nostrils and outlet plane, against labels that stop a grid layer
    inside the vestibules and a nasopharynx cut by the image's lower face, given without any plane (as an expert
    label map comes): the openings are found where the labels end."""
    phantom = _phantom(spacing_mm=1.5)
    physics = SimulationRequest(flow_ml_s=150.0).physics()  # the app's default flow model
    well_formed_run = pool.submit(_simulated, airway_domain(phantom.truth, planes=_landmark_planes(phantom)), physics)
    labels, planes = _cut_in_vestibule_and_at_image_face(phantom, cut_mm=1.6)
    bare = airway_domain(labels)
    # the openings found hold those that planes on the cut give (and a few voxels of the vestibule's ragged rim)
    on_the_cut = domain_from_labels(labels, planes=planes)
    pads = _padding(on_the_cut, bare)
    for opening in Opening:
        found, given = bare.planes[_PLANE_OF[opening]], np.pad(on_the_cut.opening_mask(opening), pads)
        assert (found & given).sum() >= 0.95 * given.sum() and found.sum() <= 1.25 * given.sum(), opening
    assert bare.placement == {o.value: "where its label ends (no plane given)" for o in Opening}
    cut, well_formed = pool.submit(_simulated, bare, physics).result(), well_formed_run.result()
    assert well_formed["converged"] and cut["converged"]
    assert "ambient air" in cut["pressure_drop_between"] and "outlet plane" in cut["pressure_drop_between"]
    assert cut["openings_placed"]["inlet_left"] == "where its label ends (no plane given)"
    assert 5.0 < well_formed["pressure_drop_pa"] < 40.0
    assert abs(cut["pressure_drop_pa"] / well_formed["pressure_drop_pa"] - 1.0) < 0.15
    assert abs(cut["flow_partition_left_pct"] - well_formed["flow_partition_left_pct"]) < 3.0
    assert cut["max_velocity_m_s"] < 1.5 * well_formed["max_velocity_m_s"]  # no jets at the cut


_PLANE_OF = {Opening.INLET_LEFT: "nostril_left", Opening.INLET_RIGHT: "nostril_right", Opening.OUTLET: PLANE_OUTLET}


def _domain_digest(domain: FlowDomain) -> str:
    """Every field of ``domain``, which a simulation of it depends on: grid, fluid, openings, planes, placement."""
    digest = hashlib.sha256(repr((domain.geometry, domain.periodic, sorted(domain.planes),
                                  sorted(domain.placement.items()), sorted(domain.short_of_nostril.items()))).encode())
    for mask in (domain.fluid, *(domain.opening_mask(o) for o in Opening), *(domain.planes[k] for k in sorted(domain.planes))):
        digest.update(np.packbits(mask).tobytes())
    return digest.hexdigest()


_VARIANTS = [v.value for v in HARD_VARIANTS] + ["imported", "rolled"]
_ROLL_DEG = (0.0, 10.0, 0.0)  # the head rolled 10 degrees in the scanner: its outlet plane off the grid


def _drawn_to_the_outlet_plane(phantom) -> LabelMap:
    """The phantom's labels cleared beyond its outlet plane, as a label map drawn up to that plane comes: tilted to
    the grid, the nasopharynx then ends in a staircase."""
    geometry, marks = phantom.truth.geometry, phantom.landmarks
    kji = np.argwhere(np.ones(geometry.shape, dtype=bool))
    along = (geometry.index_to_physical(kji[:, ::-1]) - np.asarray(marks.outlet_point_lps_mm)) @ np.asarray(
        marks.outlet_normal_lps)
    labels = phantom.truth.labels.copy()
    labels[along.reshape(geometry.shape) > 0.0] = 0
    return LabelMap(labels, geometry)


def _variant_domain(variant: str, folder: Path) -> FlowDomain:
    """The variant's airway on a 1.5 mm grid; ``imported``: the phantom's labels read back without any plane;
    ``rolled``: the clinical phantom rolled 10 degrees, drawn up to its outlet plane."""
    if variant == "imported":  # a label map read back without opening planes: openings from the labels alone
        return airway_domain(read_label_nifti(write_label_nifti(folder / "labels.nii.gz", _phantom(spacing_mm=1.5).truth)))
    if variant == "rolled":
        phantom = _phantom("clinical", spacing_mm=1.5, rotation_deg=_ROLL_DEG)
        return airway_domain(_drawn_to_the_outlet_plane(phantom), planes=_landmark_planes(phantom))
    phantom = _phantom(variant, spacing_mm=1.5)
    return airway_domain(phantom.truth, planes=_landmark_planes(phantom))


def _simulated(domain: FlowDomain, physics: PhysicsConfig) -> dict:
    """The results of ``physics`` on ``domain`` on one Numba thread (run in a worker process)."""
    return simulate(domain, physics, RunConfig(backend="numba", threads=1)).results


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    """Two worker processes for this module's simulations, each on one core.

    Two single-thread runs get more through two cores than one run whose two threads meet every step on a
    small grid (and far more when other work holds a core: each step then waits for a time slice).
    """
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as workers:
        yield workers


@pytest.fixture(scope="module")
def default_physics_results(pool: ProcessPoolExecutor,
                            tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future]:
    """Results of default physics per variant, simulated once per distinct domain, two at a time.

    Variants that change only the CT image, not the airway labels (``thick-noisy``, ``opacified-sinus``), give the
    same domain: the same simulation holds for both.
    """
    folder = tmp_path_factory.mktemp("imported")
    runs: dict[str, Future] = {}
    by_variant = {}
    for variant in _VARIANTS:
        domain = _variant_domain(variant, folder)
        key = _domain_digest(domain)
        if key not in runs:
            runs[key] = pool.submit(_simulated, domain, SimulationRequest().physics())  # the app's defaults
        by_variant[variant] = runs[key]
    return by_variant


@pytest.mark.slow
@pytest.mark.parametrize("variant", _VARIANTS)
def test_default_physics_does_not_diverge_on_hard_variants_and_imported_maps(
        variant: str, default_physics_results: dict[str, Future]) -> None:
    """The app's default physics (250 ml/s, the smooth-walls flow model) on a 1.5 mm grid, coarser (so nearer the
    stability limit) than the default rule
    gives (0.8 mm on the phantom). Labels that end before the landmark planes (``clinical``, ``nostrils-at-edge``)
    and a bare label map (``imported``) are opened where their labels end and held to the same checks."""
    result = default_physics_results[variant].result()
    assert result["converged"], result["steps"]
    assert 0.0 < result["pressure_drop_pa"] < 100.0
    assert 24.0 < result["flow_partition_left_pct"] < 76.0 or variant in ("one-sided-swelling", "septum-contact")
    # their nostrils open downward, on the correct sides: no nostril cut short, no sides swapped
    assert not result.get("openings_short_of_nostril")
    assert not {flag.kind.value for flag in check_results(result)} & {"openings", "sides"}


@pytest.mark.parametrize("spacing_mm", [1.0, 1.5])
def test_a_label_ending_at_a_tilted_outlet_plane_opens_in_every_column(spacing_mm: float) -> None:
    """A head rolled 10 degrees: the nasopharynx ends in a staircase at its outlet plane. Every column of it that
    ends in the plane's layer ends in the outlet, and the outlet's extension is one passage. Regression: the layer
    held the label's last voxel in only some columns (36 of 168 on the 1 mm grid); the others ended in wall, and
    on an imported label map's 0.5 mm grid the outlet was a comb of slits 1.5 mm wide, which set the rule's
    spacing to 0.4 mm and let the flow diverge in them."""
    phantom = _phantom("clinical", spacing_mm=spacing_mm, rotation_deg=_ROLL_DEG)
    domain = airway_domain(_drawn_to_the_outlet_plane(phantom), planes=_landmark_planes(phantom),
                           open_surroundings=False)
    assert domain.placement["outlet"] == "at the plane given for it"
    geometry, marks = domain.geometry, phantom.landmarks
    kji = np.argwhere(np.ones(geometry.shape, dtype=bool))
    along = ((geometry.index_to_physical(kji[:, ::-1]) - np.asarray(marks.outlet_point_lps_mm))
             @ np.asarray(marks.outlet_normal_lps)).reshape(geometry.shape)
    under_the_air = np.zeros_like(domain.fluid)
    under_the_air[:-1] = domain.fluid[1:]  # the outlet faces down (-k)
    ends = under_the_air & ~domain.fluid & (np.abs(along) <= 0.5 * spacing_mm)  # in the plane's layer
    assert ends.sum() > 50 and np.array_equal(ends & domain.outlet, ends), (int(ends.sum()), int((ends & domain.outlet).sum()))
    extended = with_open_surroundings(domain)
    first = int(np.argwhere(extended.outlet)[:, 0].min())
    assert ndimage.label(extended.fluid[first + 1])[1] == 1  # the extension's section: one passage


def test_a_bare_label_map_opens_at_the_nostrils_as_the_landmark_planes_do() -> None:
    """Without planes, the openings lie where the labels end: the nostrils on the underside of the nose (not the
    front of the nose tip) and the lower end of the nasopharynx, as large as the landmark planes make them."""
    phantom = _phantom(spacing_mm=1.5)
    with_planes = domain_from_labels(phantom.truth, planes=_landmark_planes(phantom))
    bare = domain_from_labels(phantom.truth)
    for opening in Opening:
        planned, found = with_planes.opening_mask(opening), bare.opening_mask(opening)
        assert abs(int(found.sum()) - int(planned.sum())) <= 0.25 * int(planned.sum()), opening
        assert (found & planned).sum() >= 0.75 * planned.sum(), opening


def test_labels_ending_before_their_planes_open_where_they_end() -> None:
    """``nostrils-at-edge``: the labels start half a voxel above the nostril planes and the nose tip is cut by the
    image's anterior face; the nostrils open downward over the whole underside, not through the cut."""
    phantom = _phantom("nostrils-at-edge", spacing_mm=1.5)
    domain = domain_from_labels(phantom.truth, planes=_landmark_planes(phantom))
    for opening in (Opening.INLET_LEFT, Opening.INLET_RIGHT):
        voxels = np.argwhere(domain.opening_mask(opening))
        assert len(voxels) >= 20, len(voxels)  # the nostril: about 28 voxels of 1.5 mm
        assert np.median(voxels[:, 0]) == voxels[:, 0].min()  # mostly one layer: the lowest of the label


def test_the_default_resolution_follows_the_narrowest_passage() -> None:
    phantom = _phantom()
    choice = choose_resolution(airway_domain(phantom.truth, planes=_landmark_planes(phantom)))
    assert 4.0 < choice.width_mm < 6.5  # the valve: 5.8 mm across, measured on a 1 mm grid
    assert choice.rule_met and choice.resolution_mm == pytest.approx(choice.width_mm / 6, abs=0.05)


@pytest.mark.parametrize("upward", [False, True], ids=["nostrils open down", "nostrils open up"])
def test_a_tilted_nostril_layer_that_misses_columns_gets_stems_across_its_whole_footprint(upward: bool) -> None:
    """A nostril's plane tilted off the grid misses some columns (it passes between two voxel centres, or the label
    ends short of it there). Their stems were missing: walls a column wide between the stems, a comb in front of the
    nostril (on the clinical phantom tilted back 20 degrees it took 12 of 19 Pa). Every column of the footprint, gaps
    included, is now one run of air from the chamber up into the airway. Opening towards the grid's last layers the
    gaps' stems once started at -2**63 (an integer sentinel wrapped round in a float filter) and the domain never
    came back: the clinical phantom tilted forward 20 degrees, imported with its CT, hung there."""
    shape = (30, 12, 8)
    fluid = np.zeros(shape, dtype=bool)
    inlet = np.zeros(shape, dtype=bool)
    outlet = np.zeros(shape, dtype=bool)
    columns = [(j, i) for j in range(2, 10) for i in range(2, 6)]
    for j, i in columns:
        base = 3 + j // 3  # the staircase of a tilted nostril
        fluid[base + 1:26, j, i] = True
        outlet[26, j, i] = True
        if j not in (5, 8):  # two columns the layer misses
            inlet[base, j, i] = True
    if upward:  # the same airway upside down: its chamber above it
        fluid, inlet, outlet = fluid[::-1], inlet[::-1], outlet[::-1]
    domain = with_open_surroundings(FlowDomain(fluid, inlet, np.zeros(shape, dtype=bool), outlet, ImageGeometry(shape)))
    flip = slice(None, None, -1 if upward else 1)  # seen the right way up again
    air, opening, plane = domain.fluid[flip], domain.outlet[flip], domain.planes[PLANE_OUTLET][flip]
    top = int(np.argwhere(opening)[:, 0].min())
    pads = np.argwhere(plane)[0] - np.array([25, 2, 2])  # where the old grid's corner moved
    for j, i in columns:
        column = air[:top, j + pads[1], i + pads[2]]
        runs = np.count_nonzero(np.diff(column.astype(np.int8)) == 1) + int(column[0])
        assert runs == 1, (j, i, column.astype(int).tolist())


def test_an_oblique_nostrils_chamber_reaches_in_beside_its_stems() -> None:
    """A nostril 18 degrees off the grid (a staircase from level 3 to 6) is joined to its chamber by stems of air, from
    each column's nostril voxel down to the lowest one. The chamber began below the lowest: the air came up through
    a well as deep as the staircase, walled in on every side, and the clinical phantom tilted back 20 degrees read
    16.3 Pa where the straight head reads 13.1 (at 0.75 mm). The chamber now reaches in to the deepest nostril voxel,
    open beside the stems as the room is beside a nose, and still a wall's cell away from the airway itself."""
    shape = (30, 12, 8)
    fluid, inlet, outlet = (np.zeros(shape, dtype=bool) for _ in range(3))
    for j in range(2, 10):
        base = 3 + j // 3  # the staircase of a tilted nostril
        fluid[base + 1:26, j, 2:6] = True
        inlet[base, j, 2:6] = True
        outlet[26, j, 2:6] = True
    domain = with_open_surroundings(FlowDomain(fluid, inlet, np.zeros(shape, dtype=bool), outlet, ImageGeometry(shape)))
    k0, j0, i0 = np.argwhere(domain.planes[PLANE_OUTLET])[0] - np.array([26, 2, 2])  # where the old grid's corner moved
    room = domain.fluid & domain.planes[PLANE_SURROUNDINGS]
    for level in (3, 4, 5):  # beside the deepest stems (columns j = 9, nostril voxel at level 6), in from both sides
        assert room[k0 + level, j0 + 9, i0] and room[k0 + level, j0 + 9, i0 + 7], level
    airway = np.zeros(domain.fluid.shape, dtype=bool)
    airway[k0:k0 + shape[0], j0:j0 + shape[1], i0:i0 + shape[2]] = fluid
    columns = np.zeros(domain.fluid.shape, dtype=bool)
    columns[:, j0 + 2:j0 + 10, i0 + 2:i0 + 6] = True  # the nostril's footprint: its stems
    assert not (ndimage.binary_dilation(airway, link_structure()) & room & ~columns).any()
