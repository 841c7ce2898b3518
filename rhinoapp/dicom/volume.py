"""Assembling one series into a :class:`~rhinoapp.core.volume.CTVolume` in Hounsfield units.

Slices are sorted by their position along the slice normal (never by InstanceNumber or file
name); the slice spacing comes from the positions, not SliceThickness. Missing slices (gaps),
duplicates, mixed orientations or sizes are refused with a message; uneven slice spacing and
gantry tilt (positions not along the normal) are refused or, when asked, resampled onto a
regular orthogonal grid in patient space (:mod:`rhinoapp.dicom.spacing`), with a warning in the
report. HU = stored value x RescaleSlope + RescaleIntercept, per slice.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder

from rhinoapp.core.limits import DEFAULT_MAX_VOXELS, check_voxels
from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.dicom.io import quiet
from rhinoapp.dicom.series import Series, SeriesError, SliceRef
from rhinoapp.dicom.spacing import check_spacing, resample_stack

__all__ = ["AssembledVolume", "AssemblyReport", "TiltPolicy", "assemble_volume"]

logger = logging.getLogger(__name__)

_AIR_HU = -1024
_SAME_POSITION_MM = 1e-3
_ORIENTATION_TOLERANCE = 1e-3
_TILT_MIN_DEG = 0.05
# Transfer syntax (prefix) -> decoder plugins with permissive licences, in order of preference.
_PERMISSIVE_DECODERS = (
    ("1.2.840.10008.1.2.4.5", ("gdcm", "pillow")),  # JPEG baseline, extended, lossless (.50-.57)
    ("1.2.840.10008.1.2.4.70", ("gdcm",)),  # JPEG lossless SV1
    ("1.2.840.10008.1.2.4.8", ("pyjpegls", "gdcm")),  # JPEG-LS
    ("1.2.840.10008.1.2.4.9", ("pylibjpeg", "gdcm", "pillow")),  # JPEG 2000 (pylibjpeg-openjpeg)
    ("1.2.840.10008.1.2.4.20", ("pylibjpeg",)),  # HTJ2K (pylibjpeg-openjpeg)
    ("1.2.840.10008.1.2.5", ("pydicom", "gdcm")),  # RLE
)


class TiltPolicy(enum.Enum):
    """What to do with a gantry-tilted series."""

    REFUSE = "refuse"
    RESAMPLE = "resample"


@dataclass(frozen=True)
class AssemblyReport:
    """How a volume was assembled; no identifying values."""

    slice_count: int
    spacing_mm: tuple[float, float, float]
    tilt_deg: float
    resampled: bool
    duplicates_dropped: int
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = ()  #: what the user must know about the values (e.g. interpolated slices)


@dataclass(frozen=True, eq=False)
class AssembledVolume:
    """The volume and its assembly report."""

    volume: CTVolume
    report: AssemblyReport


def _unit(vector: np.ndarray) -> np.ndarray:
    result: np.ndarray = vector / np.linalg.norm(vector)
    return result


def _check_consistent(slices: tuple[SliceRef, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    first = slices[0]
    if any((s.rows, s.columns) != (first.rows, first.columns) for s in slices):
        sizes = sorted({f"{s.columns}x{s.rows}" for s in slices})
        raise SeriesError(f"the slices have different sizes ({', '.join(sizes)}); the series mixes images. "
                          "Choose or export a single reconstruction.")
    if any(not np.allclose(s.pixel_spacing, first.pixel_spacing, atol=1e-4) for s in slices):
        raise SeriesError("the slices have different pixel spacings; the series mixes reconstructions. "
                          "Choose or export a single reconstruction.")
    orientation = np.asarray(first.orientation)
    if any(np.max(np.abs(np.asarray(s.orientation) - orientation)) > _ORIENTATION_TOLERANCE for s in slices):
        raise SeriesError("the slices have inconsistent orientations (ImageOrientationPatient differs); the series "
                          "mixes planes. Choose or export a series with one orientation.")
    row, col = _unit(orientation[:3]), _unit(orientation[3:])
    if abs(float(np.dot(row, col))) > _ORIENTATION_TOLERANCE:
        raise SeriesError("ImageOrientationPatient is not orthogonal; the file is damaged. Export the series again.")
    return row, col, _unit(np.cross(row, col))


def _permissive_plugin(dataset: Dataset) -> str:
    """The first installed decoder under a permissive licence for the dataset's transfer syntax.

    Naming the plugin keeps GPL decoders (e.g. pylibjpeg-libjpeg) out even when installed.
    """
    syntax = str(getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", "") or "")
    preferred = next((plugins for prefix, plugins in _PERMISSIVE_DECODERS if syntax.startswith(prefix)), None)
    if preferred is None:
        return ""
    try:
        available = set(get_decoder(syntax).available_plugins)
    except (NotImplementedError, ValueError):
        available = set()
    chosen = next((p for p in preferred if p in available), None)
    if chosen is None:
        raise SeriesError(f"no permissively licensed decoder is installed for the transfer syntax {syntax}; install "
                          "pylibjpeg-openjpeg, pyjpegls or python-gdcm (GPL decoders are not used).")
    return chosen


def _decode(ref: SliceRef, cache: dict[int, np.ndarray]) -> np.ndarray:
    key = id(ref.dataset)
    if key not in cache:
        with quiet():
            try:
                ref.dataset.pixel_array_options(decoding_plugin=_permissive_plugin(ref.dataset))
                cache[key] = ref.dataset.pixel_array
            except SeriesError:
                raise
            except Exception as error:
                raise SeriesError(
                    f"the pixel data of an image cannot be decoded ({type(error).__name__}: the transfer syntax "
                    f"{getattr(ref.dataset.get('file_meta', None), 'TransferSyntaxUID', 'unknown')} may need a "
                    "decoder that is not installed, or the file is damaged)."
                ) from None
    pixels = cache[key]
    if ref.frame is not None and pixels.ndim == 3:
        pixels = pixels[ref.frame]
    if pixels.ndim != 2:
        raise SeriesError("an image is not single-channel greyscale; CT slices must be MONOCHROME.")
    return pixels


def _padding_mask(ref: SliceRef, raw: np.ndarray) -> np.ndarray | None:
    pad = ref.dataset.get("PixelPaddingValue")
    if pad is None or isinstance(pad, bytes):
        return None
    limit = ref.dataset.get("PixelPaddingRangeLimit")
    if limit is None or isinstance(limit, bytes):
        result: np.ndarray = raw == pad
        return result
    low, high = sorted((int(pad), int(limit)))
    return (raw >= low) & (raw <= high)


def _hounsfield(ordered: list[SliceRef]) -> np.ndarray:
    cache: dict[int, np.ndarray] = {}
    raws = [_decode(ref, cache) for ref in ordered]
    integral = all(float(r.slope).is_integer() and float(r.intercept).is_integer() for r in ordered)
    low = min(float(raw.min()) * r.slope + r.intercept for raw, r in zip(raws, ordered, strict=True) if r.slope >= 0) \
        if all(r.slope >= 0 for r in ordered) else -np.inf
    high = max(float(raw.max()) * r.slope + r.intercept for raw, r in zip(raws, ordered, strict=True)) \
        if all(r.slope >= 0 for r in ordered) else np.inf
    dtype = np.int16 if integral and -32768 <= low and high <= 32767 else np.float32
    hu = np.empty((len(ordered), *raws[0].shape), dtype=dtype)
    for k, (raw, ref) in enumerate(zip(raws, ordered, strict=True)):
        values: np.ndarray
        if ref.slope == 1 and dtype == np.int16:
            values = raw.astype(np.int32) + int(ref.intercept)
        elif dtype == np.float32:
            values = raw.astype(np.float64) * ref.slope + ref.intercept
        else:
            values = raw.astype(np.int32) * int(ref.slope) + ref.intercept
        mask = _padding_mask(ref, raw)
        if mask is not None:
            values = np.where(mask, _AIR_HU, values)
        hu[k] = values
    return hu


def _drop_duplicates(ordered: list[SliceRef], along: np.ndarray) -> tuple[list[SliceRef], np.ndarray, int]:
    kept, positions, dropped = [ordered[0]], [along[0]], 0
    cache: dict[int, np.ndarray] = {}
    for ref, position in zip(ordered[1:], along[1:], strict=True):
        if position - positions[-1] > _SAME_POSITION_MM:
            kept.append(ref)
            positions.append(position)
            continue
        previous = kept[-1]
        if not (np.array_equal(_decode(ref, cache), _decode(previous, cache))
                and (ref.slope, ref.intercept) == (previous.slope, previous.intercept)):
            raise SeriesError(
                f"two different slices lie at the same position ({position:.2f} mm along the slice normal); the "
                "series mixes acquisitions or reconstructions. Choose or export a single one.")
        dropped += 1
    return kept, np.asarray(positions), dropped


def _tilt(ordered: list[SliceRef], normal: np.ndarray, along: np.ndarray, pixel_mm: float) -> np.ndarray:
    """In-plane drift (LPS mm) per mm along the normal; zero for an untilted series."""
    offsets = np.asarray([ref.position for ref in ordered]) - np.asarray(ordered[0].position)
    lateral = offsets - np.outer(offsets @ normal, normal)
    distance = along - along[0]
    drift = (lateral.T @ distance) / float(distance @ distance)
    residual = lateral - np.outer(distance, drift)
    if np.max(np.linalg.norm(residual, axis=1)) > 0.5 * pixel_mm:
        raise SeriesError("the slice positions do not lie on one line; the series mixes acquisitions or "
                          "was moved between slices. Choose or export a single acquisition.")
    result: np.ndarray = drift
    return result


def assemble_volume(
    series: Series,
    *,
    tilt: TiltPolicy = TiltPolicy.REFUSE,
    min_slices: int = 3,
    gap_factor: float = 1.5,
    spacing_tolerance: float = 0.1,
    max_voxels: int = DEFAULT_MAX_VOXELS,
) -> AssembledVolume:
    """Build the HU volume of ``series`` on its LPS grid (see :mod:`rhinoapp.core.volume`).

    Parameters
    ----------
    series
        From :func:`~rhinoapp.dicom.series.group_series`.
    tilt
        :class:`TiltPolicy` for a gantry-tilted series.
    min_slices
        Fewer slices are refused.
    gap_factor
        A step larger than this times the typical spacing is a gap (missing slices).
    spacing_tolerance
        Steps may differ from the typical spacing by this fraction.
    max_voxels
        Most voxels of the volume (``Settings.max_voxels``), checked before any pixel is decoded.

    Examples
    --------
    >>> from rhinoapp.dicom.series import group_series
    >>> from rhinoapp.dicom.testing import make_ct_series
    >>> slices = make_ct_series(slices=4, shape=(8, 8), slice_spacing=1.25, phi=False)
    >>> result = assemble_volume(group_series(reversed(slices))[0])
    >>> result.volume.hu.shape, result.volume.geometry.spacing_mm, result.volume.hu.dtype.name
    ((4, 8, 8), (0.5, 0.5, 1.25), 'int16')
    """
    slices = series.slices
    if len(slices) < min_slices:
        raise SeriesError(f"the series has {len(slices)} image(s) after dropping localizers and non-images; at least "
                          f"{min_slices} slices are needed for a volume. Choose or export a complete CT series.")
    row, col, normal = _check_consistent(slices)
    along_all = np.asarray([float(np.dot(s.position, normal)) for s in slices])
    order = np.argsort(along_all, kind="stable")
    ordered, along, duplicates = _drop_duplicates([slices[i] for i in order], along_all[order])
    if len(ordered) < min_slices:
        raise SeriesError(f"only {len(ordered)} distinct slice position(s); at least {min_slices} are needed.")
    spacing = check_spacing(along, gap_factor=gap_factor, tolerance=spacing_tolerance)
    row_mm, col_mm = ordered[0].pixel_spacing
    drift = _tilt(ordered, normal, along, min(row_mm, col_mm))
    tilt_deg = float(np.degrees(np.arctan(np.linalg.norm(drift))))
    tilted = tilt_deg > _TILT_MIN_DEG
    problems = [f"uneven slice spacing: {spacing.description} along the slice normal"] if spacing.uneven else []
    problems += [f"gantry tilt of {tilt_deg:.1f} degrees (the slices are not stacked along their normal)"] * tilted
    if problems and tilt is TiltPolicy.REFUSE:
        raise SeriesError(
            f"{'; '.join(problems)}. rhinoapp needs an evenly spaced, orthogonal stack: import it with resampling "
            "onto a regular grid (--tilt resample on the command line, 'resample' under Gantry tilt on the CT page), "
            "or export a non-tilted, evenly reconstructed series.")
    check_voxels((len(ordered), ordered[0].rows, ordered[0].columns), max_voxels, "the series (slices x rows x columns)")
    hu = _hounsfield(ordered)
    origin = np.asarray(ordered[0].position, dtype=float)
    notes = list(series.notes)
    warnings: list[str] = []
    step = spacing.step_mm
    if problems:
        offsets = np.asarray([ref.position for ref in ordered]) - origin
        shifts = np.column_stack([offsets @ row / col_mm, offsets @ col / row_mm])
        count = int(np.floor((along[-1] - along[0]) / step + 1e-6)) + 1
        check_voxels((count, ordered[0].rows, ordered[0].columns), max_voxels, "the resampled volume")
        hu, (a, b) = resample_stack(hu, along, shifts, step, fill=float(min(_AIR_HU, hu.min())))
        origin = origin + a * col_mm * row + b * row_mm * col
        coarsest = float(np.max(np.diff(along)))
        warnings.append(
            f"resampled onto a regular orthogonal grid of {step:.2f} mm slices because of {' and '.join(problems)}; "
            + (f"where the slices were up to {coarsest:.2f} mm apart, the values between them are interpolated, "
               "not measured" if coarsest > 1.05 * step else "values are interpolated within each slice"))
        notes.append(f"gantry tilt of {tilt_deg:.1f} degrees resampled onto an orthogonal grid" if tilted
                     else "uneven slice spacing resampled onto a regular grid")
    if duplicates:
        notes.append(f"{duplicates} duplicate slice(s) dropped")
    direction = np.column_stack([row, col, normal])
    geometry = ImageGeometry(hu.shape, (col_mm, row_mm, step), tuple(origin), tuple(direction.ravel()))
    report = AssemblyReport(len(ordered), geometry.spacing_mm, round(tilt_deg, 2), bool(problems), duplicates,
                            tuple(notes), tuple(warnings))
    logger.info("assembled a volume of %s voxels, spacing %s mm", "x".join(map(str, hu.shape[::-1])),
                "x".join(f"{s:.3g}" for s in geometry.spacing_mm))
    return AssembledVolume(CTVolume(hu, geometry), report)
