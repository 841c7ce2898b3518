"""Imported segmentations become geometry variants the simulation runs on; bad input stores nothing.

The same paths as ``rhinoapp segment --from-labels/--from-surface`` and the Geometry page's import
dialog: a label map with another numbering on another grid (a flipped axis, another spacing and
origin, as NRRD and NIfTI), a label map of the whole airway as one label (a binary mask, with its
sinuses) and an STL surface, each run through a short real simulation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.cfd.domain import LabelOrigin
from rhinoapp.cfd.inputs import read_label_nifti
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.cli import main
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.volume import AirwayLabel, CTVolume, ImageGeometry, LabelMap
from rhinoapp.geometry import SurfaceOptions, extract_surface, stl_bytes
from rhinoapp.segmentation.label_import import LabelMapping, resample_nearest
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.geometry_import import ImportRequest, SourceKind, found_labels, store_import
from rhinoapp.usecases.simulation import load_domain, run_simulation
from rhinoapp.volumes import nifti_bytes, nrrd_bytes
from rhinoapp.volumes.segmentation_nrrd import Segment
from tests.segmentation.test_label_import import MAPPING, RENUMBER, asymmetric_phantom, dice, other_grid
from tests.usecases.conftest import store_ct
from tests.volumes.test_segmentation_nrrd import slicer_segmentation

FAST = 20_000  # surface triangles
#: A binary airway mask's numbering: the cavities and the nasopharynx as one label (7), the sinuses as 9.
WHOLE_AIRWAY_MAPPING = "7:airway,9:sinus"


def label_file(kind: str) -> bytes:
    """The phantom's truth renumbered, on another grid with x flipped, as NIfTI or NRRD bytes."""
    phantom = asymmetric_phantom()
    grid = other_grid(flipped=True)
    values = resample_nearest(RENUMBER[phantom.truth.labels], phantom.truth.geometry, grid)
    volume = CTVolume(values, grid)
    return nifti_bytes(volume) if kind == "nifti" else nrrd_bytes(volume)


def whole_airway_file(*, sinuses: bool = True) -> bytes:
    """The phantom's airway as one label (7; 1 alone) and its sinuses as 9, on another grid with x flipped, as NIfTI.

    Without ``sinuses``: a binary airway mask, label 1 alone.
    """
    phantom = asymmetric_phantom()
    numbering = np.array([0, 7, 7, 7, 9] if sinuses else [0, 1, 1, 1, 0], dtype=np.int16)
    grid = other_grid(flipped=True)
    return nifti_bytes(CTVolume(resample_nearest(numbering[phantom.truth.labels], phantom.truth.geometry, grid), grid))


def cavities_only_file() -> bytes:
    """The phantom's two cavities alone (4 left, 3 right; no nasopharynx), NIfTI: their places say no mapping."""
    phantom = asymmetric_phantom()
    numbering = np.array([0, 4, 3, 0, 0], dtype=np.int16)
    grid = other_grid(flipped=True)
    return nifti_bytes(CTVolume(resample_nearest(numbering[phantom.truth.labels], phantom.truth.geometry, grid), grid))


def slicer_file() -> bytes:
    """The phantom as a 3D Slicer segmentation of two layers, named: the sides, the nasopharynx and the sinuses in
    one, an "Airway" segment over all of them (overlapping) in the other; on the flipped grid, in RAS."""
    phantom = asymmetric_phantom()
    grid = other_grid(flipped=True)
    parts = resample_nearest(np.array([0, 1, 2, 3, 4], dtype=np.uint8)[phantom.truth.labels], phantom.truth.geometry,
                             grid)
    segments = [Segment("Left nasal cavity", 1, 0), Segment("Right nasal cavity", 2, 0), Segment("Nasopharynx", 3, 0),
                Segment("Maxillary sinus", 4, 0), Segment("Airway", 1, 1)]
    airway = np.isin(parts, [1, 2, 3]).astype(np.uint8)
    return slicer_segmentation([parts, airway], grid, segments, space="right-anterior-superior")


def surface_file() -> bytes:
    """A closed STL surface of the phantom's true airway (cavities and nasopharynx)."""
    truth = asymmetric_phantom().truth
    airway = ((truth.labels > 0) & (truth.labels < AirwayLabel.SINUS)).astype(np.uint8)
    return stl_bytes(extract_surface(LabelMap(airway, truth.geometry), [], SurfaceOptions(target_triangles=FAST)))


def open_stl(data: bytes, drop: int = 20) -> bytes:
    """A binary STL without its first ``drop`` triangles (a hole), its count kept consistent."""
    count = int.from_bytes(data[80:84], "little") - drop
    return data[:80] + count.to_bytes(4, "little") + data[84 + 50 * drop:]


def _snapshot(repo: ProjectRepository, project_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    files = sorted(str(p.relative_to(repo.project_dir(project_id))) for p in repo.project_dir(project_id).rglob("*"))
    return [(a.name, a.sha256) for a in repo.artifacts(project_id)], files


def _simulates(folder: Path) -> None:
    result = run_simulation(load_domain(folder), SimulationRequest(max_steps=200, backend="numba", resolution_mm=2.0),
                            folder.parent / f"run-{folder.name}")
    flows = result.results["flow_ml_s"]
    assert flows["left"] > 0 and flows["right"] > 0 and np.isfinite(result.results["pressure_drop_pa"])


@pytest.mark.parametrize(("kind", "filename"), [("nrrd", "seg.nrrd"), ("nifti", "seg.nii.gz"), ("stl", "airway.stl"),
                                              ("whole", "airway.nii.gz")])
def test_an_import_becomes_a_geometry_that_simulates(repo: ProjectRepository, project_id: str, kind: str,
                                                     filename: str) -> None:
    phantom = asymmetric_phantom()
    store_ct(repo, project_id, phantom.ct)
    data = {"stl": surface_file, "whole": whole_airway_file}.get(kind, lambda: label_file(kind))()
    mapping = {"stl": None, "whole": LabelMapping.parse(WHOLE_AIRWAY_MAPPING)}.get(kind, LabelMapping.parse(MAPPING))
    if kind == "whole":
        assert sorted(found_labels(data, filename)) == [7, 9]
    elif mapping is not None:
        counts = found_labels(data, filename)
        assert sorted(counts) == [1, 3, 4, 5] and counts[5] > counts[4] > 1000  # the dialog's table
    request = ImportRequest(filename=filename, mapping=mapping, variant=f"imported-{kind}", target_triangles=FAST)
    report = store_import(repo, project_id, phantom.ct, data, request)
    folder = repo.layout(project_id).geometry(request.variant)
    assert all(path.is_file() for path in folder.files)
    provenance = json.loads(folder.report.read_bytes())["provenance"]
    assert provenance["kind"] == SourceKind.of(filename).value and len(provenance["sha256"]) == 64
    assert provenance["mapping"] == (None if mapping is None else mapping.as_dict())
    labels = read_label_nifti(folder.labels).labels
    truth = phantom.truth.labels
    for label in (AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY):  # left stays left
        assert dice(labels == label, truth == label) > 0.9, label
    if kind == "whole":  # the one airway label split into the sides and the nasopharynx; its sinuses kept
        assert dice(labels == AirwayLabel.NASOPHARYNX, truth == AirwayLabel.NASOPHARYNX) > 0.8
        assert dice(labels == AirwayLabel.SINUS, truth == AirwayLabel.SINUS) > 0.9
    assert report.volume_ml("left") < report.volume_ml("right")  # the swollen left side
    _simulates(folder.path)


def test_bad_input_is_refused_and_nothing_is_stored(repo: ProjectRepository, project_id: str, tmp_path: Path) -> None:
    phantom = asymmetric_phantom()
    store_ct(repo, project_id, phantom.ct)
    before = _snapshot(repo, project_id)
    moved = CTVolume(RENUMBER[phantom.truth.labels], ImageGeometry(phantom.ct.geometry.shape, (1.0, 1.0, 1.0),
                                                                  (500.0, 0.0, 0.0)))
    surface = surface_file()
    cases = [
        (nifti_bytes(moved), "far.nii.gz", MAPPING, "does not overlap the CT"),
        (label_file("nrrd"), "seg.nrrd", "4:left,3:right,9:nasopharynx", "names label 9, which the label map does not"),
        (open_stl(surface), "open.stl", None, "the surface is not closed"),
    ]
    for data, name, mapping, words in cases:
        request = ImportRequest(filename=name, mapping=None if mapping is None else LabelMapping.parse(mapping),
                                target_triangles=FAST)
        with pytest.raises(RhinoappError, match=words) as caught:
            store_import(repo, project_id, phantom.ct, data, request)
        assert isinstance(caught.value, ValueError)
        assert _snapshot(repo, project_id) == before, name


def test_the_cli_imports_and_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    phantom = asymmetric_phantom()
    ct = tmp_path / "ct.nii.gz"
    ct.write_bytes(nifti_bytes(phantom.ct))
    labels = tmp_path / "seg.nrrd"
    labels.write_bytes(label_file("nrrd"))
    out = tmp_path / "out"
    assert main(["segment", str(ct), "--out", str(out), "--from-labels", str(labels), "--map", MAPPING,
                 "--target-triangles", str(FAST)]) == 0
    assert "left " in capsys.readouterr().out and (out / "geometry.json").is_file()
    assert json.loads((out / "geometry.json").read_bytes())["provenance"]["source"] == "imported label map"
    refused = tmp_path / "refused"
    for extra, words in ((["--map", "4:left,3:right,5:nasopharynx,5:sinus"], "label 5 is mapped twice"),
                         (["--map", "4:left,3:right,5:pharynx"], "unknown target 'pharynx'"),
                         (["--map", "5:airway,4:left"], "names both the whole airway and its parts (left)")):
        assert main(["segment", str(ct), "--out", str(refused), "--from-labels", str(labels), *extra]) == 2
        assert words in capsys.readouterr().err and not refused.exists()
    surface = tmp_path / "airway.stl"
    surface.write_bytes(surface_file())
    nostrils = [str(v) for point in phantom.landmarks.nostrils_lps_mm for v in point]
    picked = tmp_path / "picked"
    assert main(["segment", str(ct), "--out", str(picked), "--from-surface", str(surface), "--target-triangles",
                 str(FAST), "--nostril-left", *nostrils[:3], "--nostril-right", *nostrils[3:]]) == 0
    assert json.loads((picked / "geometry.json").read_bytes())["provenance"]["nostrils_picked_lps_mm"] == [
        list(p) for p in phantom.landmarks.nostrils_lps_mm]


def test_a_slicer_segmentation_maps_itself_from_its_segment_names(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A two-layer 3D Slicer segmentation without --map: its names say left, right, nasopharynx and sinus (the
    overlapping "Airway" segment is left out); without names, where the labels lie says it; where neither says it,
    the error lists the labels found."""
    phantom = asymmetric_phantom()
    ct = tmp_path / "ct.nii.gz"
    ct.write_bytes(nifti_bytes(phantom.ct))
    segmentation = tmp_path / "Segmentation.seg.nrrd"
    segmentation.write_bytes(slicer_file())
    out = tmp_path / "out"
    assert main(["segment", str(ct), "--out", str(out), "--from-labels", str(segmentation),
                 "--target-triangles", str(FAST)]) == 0
    assert "--map 1:left,2:right,3:nasopharynx,4:sinus" in capsys.readouterr().err
    provenance = json.loads((out / "geometry.json").read_bytes())["provenance"]
    assert provenance["mapping"] == {"1": "left", "2": "right", "3": "nasopharynx", "4": "sinus"}
    assert provenance["segment_names"]["5"] == "Airway"
    assert any("lie in 2 layers" in w for w in provenance["warnings"])
    labels, truth = read_label_nifti(out / "labels.nii.gz").labels, phantom.truth.labels
    for label in AirwayLabel:
        if label:
            assert dice(labels == label, truth == label) > 0.9, label
    # numbers without names (4 left, 3 right, 5 nasopharynx, 1 sinus, on a flipped grid): where they lie says it
    unnamed = tmp_path / "unnamed.nrrd"
    unnamed.write_bytes(label_file("nrrd"))
    assert main(["segment", str(ct), "--out", str(tmp_path / "placed"), "--from-labels", str(unnamed),
                 "--target-triangles", str(FAST)]) == 0
    assert ("the labels mapped from where the labels lie: --map 1:sinus,3:right,4:left,5:nasopharynx (check it"
            in capsys.readouterr().err)
    placed = json.loads((tmp_path / "placed" / "geometry.json").read_bytes())["provenance"]
    assert placed["mapping"] == LabelMapping.parse(MAPPING).as_dict()
    # the two cavities alone: no nasopharynx behind them, so no guess, and the labels found are listed
    cavities = tmp_path / "cavities.nii.gz"
    cavities.write_bytes(cavities_only_file())
    assert main(["segment", str(ct), "--out", str(tmp_path / "refused"), "--from-labels", str(cavities)]) == 2
    err = capsys.readouterr().err
    assert "needs --map to say what its labels are (labels found: 3 (" in err and "places say it clearly" in err
    assert not (tmp_path / "refused").exists()


def test_specks_a_threshold_left_inside_the_airway_are_filled_before_the_resolution_is_chosen(tmp_path: Path) -> None:
    """5 % of the airway's inner voxels unlabelled (a threshold on a noisy CT does this): before, they stayed walls,
    which took the clinical phantom's bottleneck from 4.9 to 1.7 mm and its default spacing from 0.8 to 0.3 mm."""
    from scipy import ndimage

    from rhinoapp.cfd.resolution import bottleneck_width_mm
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.usecases.geometry_import import write_import

    phantom = asymmetric_phantom()
    values = RENUMBER[phantom.truth.labels]
    inner = ndimage.binary_erosion(np.isin(values, [3, 4, 5]), iterations=2)
    specked = values.copy()
    specked[inner & (np.random.default_rng(7).random(values.shape) < 0.05)] = 0
    widths, labels, warnings = [], [], []
    for name, array in (("plain", values), ("specked", specked)):
        folder = GeometryFolder(tmp_path / name)
        report = write_import(phantom.ct, nifti_bytes(CTVolume(array, phantom.truth.geometry)),
                              ImportRequest(filename=f"{name}.nii.gz", mapping=LabelMapping.parse(MAPPING),
                                            target_triangles=FAST), folder)
        labels.append(read_label_nifti(folder.labels).labels)
        warnings.append(" ".join(report.document["provenance"].get("warnings") or []))
        widths.append(bottleneck_width_mm(load_domain(folder.path)))
    assert widths[0] == widths[1], widths
    # every speck is air again; one between two labels may take the other one (the nearest labelled voxel decides)
    assert np.array_equal(labels[0] > 0, labels[1] > 0) and np.count_nonzero(labels[0] != labels[1]) <= 5
    assert "filled" not in warnings[0]
    assert f"filled {int(np.count_nonzero(specked != values))} unlabelled voxels" in warnings[1], warnings[1]


def test_labels_cut_through_the_vestibules_by_the_front_face_flag_the_simulation(tmp_path: Path) -> None:
    """A label map whose field of view ends 3 mm behind the nostrils: the import opens each cavity at the cut and
    says in ``geometry.json`` what that leaves out; the run's results carry it, and the plausibility checks warn
    that the pressure drop is a lower bound. The same labels uncut raise no such flag."""
    from rhinoapp.analysis.plausibility import FlagKind, plausibility_flags
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.usecases.geometry_import import write_import

    phantom = asymmetric_phantom()
    geometry = phantom.truth.geometry
    y = geometry.origin_mm[1] + np.arange(geometry.shape[1]) * geometry.spacing_mm[1]
    values = RENUMBER[phantom.truth.labels]
    cut = values.copy()
    cut[:, y < phantom.landmarks.nostrils_lps_mm[0][1] + 3.0] = 0
    flags = {}
    for name, array in (("whole", values), ("cut", cut)):
        folder = GeometryFolder(tmp_path / name)
        write_import(phantom.ct, nifti_bytes(CTVolume(array, geometry)),
                     ImportRequest(filename=f"{name}.nii.gz", mapping=LabelMapping.parse(MAPPING),
                                   target_triangles=FAST), folder)
        inlets = json.loads(folder.report.read_text())["inlets"]
        short = {side: inlets[side].get("short_of_nostril", "") for side in ("left", "right")}
        assert all(short.values()) if name == "cut" else not any(short.values()), short
        result = run_simulation(load_domain(folder.path),
                                SimulationRequest(max_steps=200, backend="numba", resolution_mm=2.0),
                                tmp_path / f"run-{name}")
        assert set(result.results.get("openings_short_of_nostril", {})) == (
            {"inlet_left", "inlet_right"} if name == "cut" else set())
        flags[name] = [flag for flag in plausibility_flags(result.results) if flag.kind is FlagKind.OPENINGS]
    assert not flags["whole"]
    assert len(flags["cut"]) == 1 and flags["cut"][0].severity.value == "warning"
    assert "both nostrils" in flags["cut"][0].message and "lower bounds" in flags["cut"][0].message


def test_a_label_map_alone_imports_on_its_own_grid_with_the_openings_where_its_labels_end(tmp_path: Path) -> None:
    """Labels shared without their CT (as public data sets share them): imported on the label map's own grid, each
    opening where its label ends; the openings lie where the import with the CT puts them, a front cut is written
    as short of the nostril, and the geometry simulates."""
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.usecases.geometry_import import write_import

    phantom = asymmetric_phantom()
    data = label_file("nifti")
    request = ImportRequest(filename="seg.nii.gz", mapping=LabelMapping.parse(MAPPING), target_triangles=FAST)
    documents = {}
    for name, ct in (("with", phantom.ct), ("alone", None)):
        folder = GeometryFolder(tmp_path / name)
        write_import(ct, data, request, folder)
        documents[name] = json.loads(folder.report.read_text())
    alone = documents["alone"]
    assert alone["provenance"]["on_ct"] is False and documents["with"]["provenance"]["on_ct"] is True
    assert any("imported without its CT" in w for w in alone["provenance"]["warnings"])
    assert read_label_nifti(tmp_path / "alone" / "labels.nii.gz").geometry.shape == other_grid(flipped=True).shape
    for side in ("left", "right"):
        for key in ("inlets", ):
            here, there = alone[key][side], documents["with"][key][side]
            assert np.linalg.norm(np.subtract(here["point_lps_mm"], there["point_lps_mm"])) < 2.0, side
            assert np.dot(here["normal_lps"], there["normal_lps"]) > 0.9 and not here.get("short_of_nostril")
    assert np.linalg.norm(np.subtract(alone["outlet"]["point_lps_mm"], documents["with"]["outlet"]["point_lps_mm"])) < 2
    _simulates(tmp_path / "alone")

    geometry = phantom.truth.geometry
    y = geometry.origin_mm[1] + np.arange(geometry.shape[1]) * geometry.spacing_mm[1]
    behind = int(np.searchsorted(y, phantom.landmarks.nostrils_lps_mm[0][1] + 3.0))
    cut = RENUMBER[phantom.truth.labels][:, behind:]
    cut_grid = ImageGeometry(cut.shape, geometry.spacing_mm, (geometry.origin_mm[0], float(y[behind]),
                                                              geometry.origin_mm[2]), geometry.direction)
    folder = GeometryFolder(tmp_path / "cut")
    write_import(None, nifti_bytes(CTVolume(cut, cut_grid)), request, folder)
    inlets = json.loads(folder.report.read_text())["inlets"]
    assert all(inlets[side]["short_of_nostril"] for side in ("left", "right")), inlets
    assert all(inlets[side]["normal_lps"] == pytest.approx([0.0, -1.0, 0.0]) for side in ("left", "right"))


def test_the_cli_imports_a_label_map_alone_and_says_what_needs_the_ct(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "seg.nii.gz"
    labels.write_bytes(label_file("nifti"))
    out = tmp_path / "out"
    assert main(["segment", "--out", str(out), "--from-labels", str(labels), "--map", MAPPING,
                 "--target-triangles", str(FAST)]) == 0
    captured = capsys.readouterr()
    assert "left " in captured.out and captured.err.count("imported without its CT") == 1  # each warning once
    assert json.loads((out / "geometry.json").read_bytes())["provenance"]["on_ct"] is False
    mask = tmp_path / "mask.nii.gz"
    mask.write_bytes(whole_airway_file(sinuses=False))
    surface = tmp_path / "airway.stl"
    surface.write_bytes(surface_file())
    refused = tmp_path / "refused"
    for argv, words in ((["--from-labels", str(mask), "--map", "1:airway"], "give the CT it was made on"),
                        (["--from-surface", str(surface)], "a surface is imported onto the CT"),
                        (["--from-labels", str(labels), "--map", MAPPING, "--nostril-left", "1", "2", "3",
                          "--nostril-right", "4", "5", "6"], "nostril points are picked on the CT"),
                        ([], "give the CT to segment")):
        assert main(["segment", "--out", str(refused), *argv]) == 2, argv
        assert words in capsys.readouterr().err and not refused.exists()


def test_a_thick_slice_label_map_alone_is_imported_on_cubic_voxels_interpolated_by_shape(tmp_path: Path) -> None:
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.usecases.geometry_import import write_import

    phantom = asymmetric_phantom()
    truth, geometry = phantom.truth, phantom.truth.geometry
    thick = RENUMBER[truth.labels][::3]  # 3 mm axial slices
    thick_grid = ImageGeometry(thick.shape, (geometry.spacing_mm[0], geometry.spacing_mm[1], 3 * geometry.spacing_mm[2]),
                               geometry.origin_mm, geometry.direction)
    folder = GeometryFolder(tmp_path / "thick")
    write_import(None, nifti_bytes(CTVolume(thick, thick_grid)),
                 ImportRequest(filename="thick.nii.gz", mapping=LabelMapping.parse(MAPPING), target_triangles=FAST),
                 folder)
    imported = read_label_nifti(folder.labels)
    assert imported.geometry.spacing_mm == pytest.approx(geometry.spacing_mm)
    warnings = json.loads(folder.report.read_text())["provenance"]["warnings"]
    assert any("interpolated by shape" in w for w in warnings), warnings
    back = resample_nearest(imported.labels, imported.geometry, geometry)
    for label in (AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY, AirwayLabel.NASOPHARYNX):
        assert dice(back == label, truth.labels == label) > 0.85, label
    # the slices' thickness travels with the geometry into the results, whose accuracy note says what it does
    assert json.loads(folder.report.read_text())["provenance"]["label_voxel_mm"] == [1.0, 1.0, 3.0]
    domain = load_domain(folder.path)
    assert domain.label_origin == LabelOrigin(drawn_mm=(1.0, 1.0, 3.0))
    result = run_simulation(domain, SimulationRequest(max_steps=100, backend="numba", resolution_mm=2.0),
                            tmp_path / "run")
    assert result.results["label_voxels"] == {"grid_mm": [1.0, 1.0, 1.0], "drawn_mm": [1.0, 1.0, 3.0]}
    accuracy = result.results["accuracy"]
    assert "drawn on voxels of 1 x 1 x 3 mm" in accuracy["text"] and "Thick slices" in accuracy["summary"]


def test_ragged_walls_travel_from_the_import_into_the_results_accuracy_note(tmp_path: Path) -> None:
    """A label map with a fifth of its outer layer unlabelled: the import fills the pits and records how ragged the
    walls were; the run's results carry it, and their accuracy note says what the fill leaves (9-10 % on the
    phantom). The same labels with smooth walls record nothing and their note says nothing of it."""
    from scipy import ndimage

    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.usecases.geometry_import import write_import

    phantom = asymmetric_phantom()
    values = RENUMBER[phantom.truth.labels]
    airway = values > 0
    rim = airway & ~ndimage.binary_erosion(airway)
    ragged = values.copy()
    ragged[rim & (np.random.default_rng(1).random(values.shape) < 0.2)] = 0
    notes = {}
    for name, array in (("smooth", values), ("ragged", ragged)):
        folder = GeometryFolder(tmp_path / name)
        report = write_import(None, nifti_bytes(CTVolume(array, phantom.truth.geometry)),
                              ImportRequest(filename=f"{name}.nii.gz", mapping=LabelMapping.parse(MAPPING),
                                            target_triangles=FAST), folder)
        pits = report.document["provenance"]["ragged_pits_pct"]
        domain = load_domain(folder.path)
        assert domain.label_origin.ragged_pits_pct == pits
        result = run_simulation(domain, SimulationRequest(max_steps=30, backend="numba", resolution_mm=1.0),
                                tmp_path / f"run-{name}")
        notes[name] = (pits, result.results.get("ragged_label_walls"), result.results["accuracy"])
    assert notes["smooth"][0] is None and notes["smooth"][1] is None
    assert "ragged" not in notes["smooth"][2]["text"] and "Ragged" not in notes["smooth"][2]["summary"]
    pits, carried, accuracy = notes["ragged"]
    assert pits is not None and 3.0 < pits < 10.0 and carried == {"pits_pct": pits}
    assert f"ragged walls ({pits:g} % of its wall voxels pits)" in accuracy["text"], accuracy["text"]
    assert "Ragged label walls: 9-10 % more" in accuracy["summary"]

def test_labels_whose_nostrils_the_cts_field_of_view_cuts_off_open_where_they_end(tmp_path: Path) -> None:
    """The phantom whose CT ends inside the vestibules (``nostrils-cropped``): its cavities meet the CT's outside air
    nowhere, so the import refused the expert labels ("include the vestibule down to the nostril"). It now opens them
    where the labels end, at the image's front face, as short of the nostril, and says so."""
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.phantom import generate_phantom, variant_params
    from rhinoapp.usecases.geometry_import import write_import

    phantom = generate_phantom(variant_params("nostrils-cropped", spacing_mm=1.0, noise_hu=0))
    data = nifti_bytes(CTVolume(RENUMBER[phantom.truth.labels], phantom.truth.geometry))
    request = ImportRequest(filename="seg.nii.gz", mapping=LabelMapping.parse(MAPPING), target_triangles=FAST)
    folder = GeometryFolder(tmp_path / "cropped")
    write_import(phantom.ct, data, request, folder)
    document = json.loads(folder.report.read_text())
    for side in ("left", "right"):
        inlet = document["inlets"][side]
        assert inlet["normal_lps"] == pytest.approx([0.0, -1.0, 0.0]) and inlet["short_of_nostril"], inlet
    assert any("meets the air outside the nose nowhere, so its nostril cannot be found in the CT's air: each opening "
               "is where its label ends instead" in w for w in document["provenance"]["warnings"])
    _simulates(folder.path)
    closed = RENUMBER[phantom.truth.labels]
    closed[closed == 4] = 0
    closed[closed == 1] = 4  # a "left cavity" closed inside the head (a sinus mislabelled): no end opens either
    with pytest.raises(RhinoappError, match="cavity .* nostril cannot be found: include the .* vestibule down to"):
        write_import(phantom.ct, nifti_bytes(CTVolume(closed, phantom.truth.geometry)),
                     ImportRequest(filename="seg.nii.gz", mapping=LabelMapping.parse("4:left,3:right,5:nasopharynx"),
                                   target_triangles=FAST), GeometryFolder(tmp_path / "closed"))


def test_a_head_tilted_in_the_scanner_gets_its_outlet_where_the_nasopharynx_opens(tmp_path: Path) -> None:
    """Tilted 15, 10 and 10 degrees about x, y and z, the clinical phantom's nasopharynx label ends inside the image
    in an oblique cut, and the image's lower face does not reach it. The outlet was first its lowest axial layer (a
    corner: 8 mm² at 0.5 mm, 3 mm² at 1 mm), then its back wall (800 mm² seen from behind: the far end of a label as
    long as it is wide is a corner, and the back wall outscored the cut), with the outlet's extension turned sideways
    (its direction taken from the oblique layer and the air beside it). Both diverged. The outlet is now the cut,
    looking down into the oropharynx, and its extension goes on down."""
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.phantom import generate_phantom, variant_params
    from rhinoapp.usecases.geometry_import import write_import
    from rhinoapp.analysis.accuracy import OBLIQUE_NOSTRIL_DEG
    from rhinoapp.cfd.openings import nostril_tilts_deg
    from rhinoapp.cfd.units import narrowest_section_mm2
    from rhinoapp.usecases.simulation import load_domain

    tilted = generate_phantom(variant_params("clinical", spacing_mm=1.0, noise_hu=0, rotation_deg=(15.0, 10.0, 10.0)))
    report = write_import(tilted.ct, nifti_bytes(CTVolume(RENUMBER[tilted.truth.labels], tilted.truth.geometry)),
                          ImportRequest(filename="tilted.nii.gz", mapping=LabelMapping.parse(MAPPING),
                                        target_triangles=FAST), GeometryFolder(tmp_path / "tilted"))
    outlet = report.document["outlet"]
    assert outlet["normal_lps"][2] < -0.8 and outlet["area_mm2"] > 100.0, outlet  # the cut, looking down
    domain = load_domain(GeometryFolder(tmp_path / "tilted"))
    end = domain.geometry.index_to_physical(np.argwhere(domain.outlet).mean(axis=0)[::-1])
    assert end[2] < outlet["point_lps_mm"][2] - 5.0, (end, outlet)  # the extension goes on down, not sideways
    straight = generate_phantom(variant_params("clinical", spacing_mm=1.0, noise_hu=0))
    report = write_import(straight.ct, nifti_bytes(CTVolume(RENUMBER[straight.truth.labels], straight.truth.geometry)),
                          ImportRequest(filename="straight.nii.gz", mapping=LabelMapping.parse(MAPPING),
                                        target_triangles=FAST), GeometryFolder(tmp_path / "straight"))
    assert report.document["outlet"]["normal_lps"] == [0.0, 0.0, -1.0]  # cut by the lower face: the lowest layer
    # the section the time step is chosen for, cut across the nose's own axis: about the same however the head lies
    # (at 0.5 mm 105.75 against 106.5 mm²; at this test's 1 mm, a valve 2-3 voxels wide, 99 against 84). Cut across
    # the grid's axis, with the chambers under the tilted nostrils counted, it was 319 against 114 mm² at 0.5 mm.
    sections = [narrowest_section_mm2(domain), narrowest_section_mm2(load_domain(GeometryFolder(tmp_path / "straight")))]
    assert sections[0] == pytest.approx(sections[1], rel=0.25), sections
    # its nostrils lie oblique to the grid, the straight head's level: a run of it says what that did on the phantom
    assert max(nostril_tilts_deg(domain).values()) >= OBLIQUE_NOSTRIL_DEG  # 5.6 and 18.4 degrees at 1 mm
    assert max(nostril_tilts_deg(load_domain(GeometryFolder(tmp_path / "straight"))).values()) < OBLIQUE_NOSTRIL_DEG
