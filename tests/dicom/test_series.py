"""Series grouping and volume assembly, on pydicom's test files and synthetic series."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from rhinoapp.dicom.io import read_dataset
from rhinoapp.dicom.series import SeriesError, SeriesKind, choose_series, group_series
from rhinoapp.dicom.testing import encode, make_ct_series, phantom_slice
from rhinoapp.dicom.volume import TiltPolicy, assemble_volume
from tests.dicom.helpers import pydicom_file, series_folder


def _datasets(blobs: list[bytes]) -> list[Dataset]:
    return [read_dataset(b) for b in blobs]


def test_ct5n_is_ordered_by_position_not_instance_number() -> None:
    datasets = _datasets(series_folder("98892001", "CT5N"))
    assert [int(d.InstanceNumber) for d in datasets] == [6, 7, 8, 9, 10]  # z falls as numbers rise
    [series] = group_series(datasets)
    result = assemble_volume(series)
    g = result.volume.geometry
    assert g.shape == (5, 16, 16) and g.spacing_mm[2] == pytest.approx(2.5)
    assert g.origin_mm[2] == pytest.approx(-1.2375)  # the lowest slice first: k runs inferior to superior
    by_z = sorted(datasets, key=lambda d: float(d.ImagePositionPatient[2]))
    expected = np.stack([d.pixel_array.astype(np.int32) * int(d.RescaleSlope) + int(d.RescaleIntercept) for d in by_z])
    assert np.array_equal(result.volume.hu, expected)


def test_ct2_with_a_202_mm_gap_is_refused_naming_the_gap() -> None:
    [series] = group_series(_datasets(series_folder("77654033", "CT2")))
    with pytest.raises(SeriesError, match=r"missing slices: a gap of 202\.5 mm .*-99\.48 mm and 103\.02 mm"):
        assemble_volume(series)


def test_ct2n_localizers_are_dropped() -> None:
    [series] = group_series(_datasets(series_folder("98892001", "CT2N")))
    assert series.slices == () and "2 localizer(s) dropped" in series.notes
    with pytest.raises(SeriesError, match="localizer"):
        choose_series((series,))


def _tilted_j2k(count: int = 4, step_mm: float = 2.0) -> list[Dataset]:
    original = read_dataset(pydicom_file("J2K_pixelrep_mismatch.dcm"))
    out = []
    for k in range(count):  # the table moves along z while the slice plane is tilted
        ds = copy.deepcopy(original)
        position = [float(v) for v in original.ImagePositionPatient]
        ds.ImagePositionPatient = [position[0], position[1], position[2] + k * step_mm]
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.1042.7.{k}"
        out.append(ds)
    return out


def test_a_tilted_series_is_detected_and_refused_or_resampled() -> None:
    [series] = group_series(_tilted_j2k())
    with pytest.raises(SeriesError, match=r"gantry tilt of 22\.0 degrees.*--tilt resample"):
        assemble_volume(series)
    result = assemble_volume(series, tilt=TiltPolicy.RESAMPLE)
    assert result.report.resampled and result.report.tilt_deg == pytest.approx(22.0, abs=0.1)
    g = result.volume.geometry
    assert g.spacing_mm[2] == pytest.approx(2.0 * np.cos(np.radians(22.0)), rel=1e-3)
    assert g.shape[0] == 4 and g.shape[1] > 512  # grown to hold the shifted slices


def test_resampling_a_synthetic_tilt_puts_voxels_where_they_were() -> None:
    slices = make_ct_series(slices=6, shape=(32, 32), tilt_deg=15.0, phi=False, slice_spacing=2.0)
    [series] = group_series(slices)
    result = assemble_volume(series, tilt=TiltPolicy.RESAMPLE)
    g, hu = result.volume.geometry, result.volume.hu
    k = 5  # the last slice moved furthest; its voxel (i, j) must keep its physical position
    physical = np.asarray(slices[k].ImagePositionPatient, dtype=float) + 10 * 0.5 * np.asarray(
        slices[k].ImageOrientationPatient[3:], dtype=float) + 7 * 0.5 * np.array([1.0, 0, 0])
    i, j, kk = np.rint(g.physical_to_index(physical)).astype(int)
    assert kk == k and hu[kk, j, i] == phantom_slice((32, 32), (0.5, 0.5), 0.0)[10, 7]


# As the GE scan of the workplace: 4 mm steps, a short step, then 7 mm steps, on a tilted gantry.
_UNEVEN_Z = (0.0, 4.2, 8.4, 12.6, 13.8, 21.2, 28.6, 36.0)


def _linear_field(slices: list[Dataset]) -> list[Dataset]:
    """Each pixel's HU becomes 3 y + 5 z of its patient position: linear interpolation keeps it exact."""
    for ds in slices:
        row, col = np.asarray(ds.ImageOrientationPatient[:3], float), np.asarray(ds.ImageOrientationPatient[3:], float)
        jj, ii = np.mgrid[0:ds.Rows, 0:ds.Columns] * np.asarray(ds.PixelSpacing, float)[:, None, None]
        points = np.asarray(ds.ImagePositionPatient, float) + ii[..., None] * row + jj[..., None] * col
        hu = np.rint(3 * points[..., 1] + 5 * points[..., 2]).astype(np.int32)
        ds.PixelData = (hu + 1024).astype(np.uint16).tobytes()
    return slices


def test_uneven_spacing_is_not_called_missing_slices_and_names_the_option() -> None:
    slices = make_ct_series(positions_mm=_UNEVEN_Z, shape=(16, 16), tilt_deg=18.5, phi=False)
    [series] = group_series(slices)
    with pytest.raises(SeriesError) as raised:
        assemble_volume(series)
    message = str(raised.value)
    assert "missing slices" not in message
    assert "uneven slice spacing: 3.98 mm (3 steps), then 1.14 mm, then 7.02 mm (3 steps)" in message
    assert "gantry tilt of 18.5 degrees" in message and "--tilt resample" in message
    [even] = group_series(make_ct_series(positions_mm=(0.0, 4.0, 8.0, 12.0, 13.0, 20.0, 27.0), shape=(8, 8),
                                         phi=False))
    with pytest.raises(SeriesError, match=r"uneven slice spacing: 4\.00 mm \(3 steps\), then 1\.00 mm, then 7\.00"):
        assemble_volume(even)  # no tilt: the spacing alone


def test_a_whole_multiple_of_the_spacing_is_missing_slices_even_when_resampling() -> None:
    [series] = group_series(make_ct_series(positions_mm=(0.0, 2.0, 4.0, 10.0, 12.0, 14.0), shape=(8, 8), phi=False))
    for policy in TiltPolicy:
        with pytest.raises(SeriesError, match=r"missing slices: a gap of 6\.0 mm \(2 slice\(s\) missing\)"):
            assemble_volume(series, tilt=policy)


def test_a_tilted_unevenly_spaced_stack_is_resampled_in_patient_space_with_a_warning() -> None:
    slices = _linear_field(make_ct_series(positions_mm=_UNEVEN_Z, shape=(24, 24), tilt_deg=18.5, phi=False))
    [series] = group_series(slices)
    result = assemble_volume(series, tilt=TiltPolicy.RESAMPLE)
    g, hu = result.volume.geometry, result.volume.hu
    assert result.report.resampled and result.report.tilt_deg == pytest.approx(18.5, abs=0.05)
    assert g.spacing_mm[2] == pytest.approx(4.2 * np.cos(np.radians(18.5)), rel=1e-3)  # the finest run
    assert g.shape[0] == 1 + int(36.0 * np.cos(np.radians(18.5)) / g.spacing_mm[2])
    [warning] = result.report.warnings
    assert "interpolated, not measured" in warning and "uneven slice spacing" in warning and "18.5" in warning
    # Every voxel covered by the stack holds the field at its own patient position, also those between
    # actual slices 7 mm apart: the slices were placed by their own positions and interpolated along the normal.
    k, j, i = np.indices(hu.shape).reshape(3, -1)
    points = g.index_to_physical(np.column_stack([i, j, k]).astype(float))
    row, col = (np.asarray(slices[0].ImageOrientationPatient[a:a + 3], float) for a in (0, 3))
    corners = np.asarray([ds.ImagePositionPatient for ds in slices], float)
    along = corners @ np.cross(row, col)
    below = np.clip(np.searchsorted(along, points @ np.cross(row, col), side="right") - 1, 0, len(slices) - 2)
    inside = np.ones(len(points), dtype=bool)
    for neighbour in (below, below + 1):  # the point's projection lies inside both slices either side of it
        local = (points - corners[neighbour]) / 0.5
        inside &= np.all((np.column_stack([local @ row, local @ col]) >= 0) & (np.column_stack(
            [local @ row, local @ col]) <= 23), axis=1)
    assert inside.sum() > 0.25 * hu.size
    expected = 3 * points[inside, 1] + 5 * points[inside, 2]
    assert np.max(np.abs(hu.ravel()[inside] - expected)) <= 1.5


def test_enhanced_ct_multiframe_is_read() -> None:
    [series] = group_series([read_dataset(pydicom_file("eCT_Supplemental.dcm"))])
    assert series.kind is SeriesKind.MULTIFRAME and len(series.slices) == 2
    result = assemble_volume(series, min_slices=2)
    g = result.volume.geometry
    assert g.shape == (2, 512, 512) and g.spacing_mm == pytest.approx((0.388672, 0.388672, 10.0))
    assert result.volume.hu.min() == -1024  # RescaleIntercept from the functional groups
    with pytest.raises(SeriesError, match="at least 3 slices"):
        assemble_volume(series)


def test_hu_uses_each_slices_rescale() -> None:
    slices = make_ct_series(slices=3, shape=(8, 8), phi=False)
    raw = np.frombuffer(slices[1].PixelData, dtype=np.uint16).reshape(8, 8)
    slices[1].RescaleSlope, slices[1].RescaleIntercept = 2, -2048
    slices[1].PixelData = ((raw.astype(np.int32)) // 2 + 0).astype(np.uint16).tobytes()
    hu = assemble_volume(group_series(slices)[0]).volume.hu
    assert hu.dtype == np.int16
    assert np.array_equal(hu[1], (raw.astype(np.int32) // 2) * 2 - 2048)
    slices[2].RescaleSlope = 0.5
    assert assemble_volume(group_series(slices)[0]).volume.hu.dtype == np.float32


def test_duplicates_inconsistent_orientation_and_irregular_spacing() -> None:
    slices = make_ct_series(slices=4, shape=(8, 8), phi=False)
    twin = copy.deepcopy(slices[2])
    twin.SOPInstanceUID = "1.2.826.0.1.3680043.10.1042.9"
    result = assemble_volume(group_series(slices + [twin])[0])
    assert result.report.duplicates_dropped == 1 and result.volume.hu.shape[0] == 4
    twin.PixelData = bytes(len(twin.PixelData))
    with pytest.raises(SeriesError, match="two different slices lie at the same position"):
        assemble_volume(group_series(slices + [twin])[0])
    turned = copy.deepcopy(slices)
    turned[3].ImageOrientationPatient = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
    with pytest.raises(SeriesError, match="inconsistent orientations"):
        assemble_volume(group_series(turned)[0])
    uneven = copy.deepcopy(slices)
    uneven[3].ImagePositionPatient = [*list(uneven[3].ImagePositionPatient)[:2], 3.3]
    with pytest.raises(SeriesError, match=r"uneven slice spacing: 1\.00 mm \(2 steps\), then 1\.30 mm"):
        assemble_volume(group_series(uneven)[0])


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless])
def test_compressed_transfer_syntaxes(syntax: str) -> None:
    slices = make_ct_series(slices=3, shape=(64, 64), phi=False)  # J2K needs 64 px for its resolutions
    expected = assemble_volume(group_series(slices)[0]).volume.hu
    for ds in slices:
        ds.compress(syntax)
    decoded = assemble_volume(group_series([read_dataset(encode(ds)) for ds in slices])[0]).volume.hu
    assert np.array_equal(decoded, expected)


def test_decoders_are_chosen_among_permissive_plugins() -> None:
    from rhinoapp.dicom.volume import _permissive_plugin

    ds = read_dataset(pydicom_file("JPEG-LL.dcm"))  # JPEG lossless: gdcm (BSD), never pylibjpeg-libjpeg (GPL)
    assert _permissive_plugin(ds) == "gdcm"
    ds.pixel_array_options(decoding_plugin="gdcm")
    assert ds.pixel_array.shape == (int(ds.Rows), int(ds.Columns))
    assert _permissive_plugin(read_dataset(pydicom_file("J2K_pixelrep_mismatch.dcm"))) == "pylibjpeg"


def test_series_listing_and_choice() -> None:
    a = make_ct_series(slices=3, shape=(8, 8), series=2, phi=False)
    b = make_ct_series(slices=4, shape=(8, 8), series=5, phi=False, description="Bone")
    mr = make_ct_series(slices=3, shape=(8, 8), series=7, phi=False)
    for ds in mr:
        ds.Modality, ds.SeriesInstanceUID = "MR", "1.2.826.0.1.3680043.10.1042.77"
    series = group_series(a + b + mr)
    summaries = [s.summary(i) for i, s in enumerate(series, start=1)]
    assert [(s.number, s.slice_count, s.usable) for s in summaries] == [(2, 3, True), (5, 4, True), (7, 3, False)]
    assert summaries[1].spacing_mm == (0.5, 0.5, 1.0) and "not CT" in summaries[2].reason
    with pytest.raises(SeriesError, match="holds 2 CT series; choose one with --series N"):
        choose_series(series)
    assert choose_series(series, "2") is series[1]
    assert choose_series(series, str(a[0].SeriesInstanceUID)) is series[0]
    with pytest.raises(SeriesError, match="cannot be imported: modality MR"):
        choose_series(series, "3")
    with pytest.raises(SeriesError, match="no series '9'"):
        choose_series(series, "9")
