"""From uploaded bytes to a de-identified CT volume: the DICOM part of an import, in memory.

Every object is de-identified right after it is parsed, before anything else looks at it, so
series listing, volume assembly and the metadata only ever see de-identified values. Files that
cannot be used are skipped and counted (by position in the upload, never by name).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import DEFAULT_MAX_VOXELS, LimitError
from rhinoapp.core.volume import CT_METADATA_FORMAT, ct_metadata_grid
from rhinoapp.dicom.deidentify import BurnedInAnnotationError, Deidentifier
from rhinoapp.dicom.identity import mapped_uid, patient_key, pseudonym_for
from rhinoapp.dicom.io import NotDicomError, read_dataset
from rhinoapp.dicom.series import Series, SeriesSummary, choose_series, group_series
from rhinoapp.dicom.volume import AssembledVolume

__all__ = ["METADATA_FORMAT", "LoadedUpload", "Skipped", "load_upload", "select_series", "volume_metadata"]

logger = logging.getLogger(__name__)

#: Version of the ``volume/ct.json`` layout.
METADATA_FORMAT = CT_METADATA_FORMAT


@dataclass(frozen=True)
class Skipped:
    """A file left out of the import: its 1-based position in the upload and why."""

    position: int
    reason: str
    kind: str


@dataclass(frozen=True, eq=False)
class LoadedUpload:
    """The de-identified series of an upload and the files that were skipped."""

    series: tuple[Series, ...]
    skipped: tuple[Skipped, ...]
    file_count: int
    patient_count: int = 1

    def summaries(self, *, min_slices: int = 3) -> list[SeriesSummary]:
        """The candidate list (1-based index, description, slices, size, spacing, usable)."""
        return [s.summary(i, min_slices=min_slices) for i, s in enumerate(self.series, start=1)]

    def skipped_text(self) -> str:
        """A one-line account of the skipped files, e.g. ``2 not DICOM, 1 burned-in annotation``."""
        counts = Counter(s.kind for s in self.skipped)
        return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


def load_upload(
    blobs: Iterable[bytes], *, deidentifier: Deidentifier, progress: Callable[[int], None] | None = None,
    max_voxels: int = DEFAULT_MAX_VOXELS,
) -> LoadedUpload:
    """Parse and de-identify every file, then group the images into series.

    ``progress`` is called with the number of files done after each file (for a progress bar).
    An image above ``max_voxels`` (``Settings.max_voxels``) is skipped, its reason naming the limit.

    Examples
    --------
    >>> from rhinoapp.dicom.testing import encode, make_ct_series
    >>> blobs = [encode(ds) for ds in make_ct_series(slices=3, shape=(8, 8))] + [b"not dicom"]
    >>> loaded = load_upload(blobs, deidentifier=Deidentifier(b"k" * 16, pseudonym="RHINO-1"))
    >>> len(loaded.series), loaded.skipped_text()
    (1, '1 not DICOM')
    """
    datasets, skipped, count, patients = [], [], 0, set()
    for position, data in enumerate(blobs, start=1):
        count += 1
        what = f"file {position} of the upload"
        try:
            dataset = read_dataset(data, what=what, max_voxels=max_voxels)
            key = patient_key(str(dataset.get("PatientID", "") or ""), str(dataset.get("PatientName", "") or ""))
            deidentifier.dataset(dataset)
        except NotDicomError as error:
            skipped.append(Skipped(position, str(error), "not DICOM"))
            continue
        except BurnedInAnnotationError as error:
            skipped.append(Skipped(position, str(error), "refused for burned-in annotation"))
            continue
        except LimitError as error:
            skipped.append(Skipped(position, str(error), "above max_voxels"))
            continue
        except ValidationError as error:
            skipped.append(Skipped(position, str(error), "damaged"))
            continue
        except Exception as error:  # a damaged element found during the walk
            skipped.append(Skipped(position, f"{what} is damaged ({type(error).__name__})", "damaged"))
            continue
        datasets.append(dataset)
        patients.add(pseudonym_for(deidentifier.secret, key))  # keyed digests only, never the names
        if progress is not None:
            progress(position)
    if count == 0:
        raise ValidationError("the upload is empty; choose the folder, zip or files of a CT series.")
    loaded = LoadedUpload(group_series(datasets), tuple(skipped), count, len(patients))
    if not datasets:
        raise ValidationError(f"none of the {count} file(s) could be used ({loaded.skipped_text()}): "
                              f"{skipped[0].reason}")
    logger.info("upload: %d file(s), %d series, %d patient(s), skipped: %s", count, len(loaded.series),
                len(patients), loaded.skipped_text() or "none")
    return loaded


def select_series(loaded: LoadedUpload, selector: str | None, *, secret: bytes, min_slices: int = 3) -> Series:
    """The series to import: by list number, de-identified UID or original UID (mapped with ``secret``).

    Examples
    --------
    >>> from rhinoapp.dicom.testing import encode, make_ct_series
    >>> slices = make_ct_series(slices=3, shape=(8, 8))
    >>> loaded = load_upload([encode(ds) for ds in slices], deidentifier=Deidentifier(b"k" * 16))
    >>> chosen = select_series(loaded, str(slices[0].SeriesInstanceUID), secret=b"k" * 16)
    >>> chosen.uid == mapped_uid(b"k" * 16, str(slices[0].SeriesInstanceUID))
    True
    """
    aliases = {}
    if selector and not selector.isdigit():
        aliases[selector] = mapped_uid(secret, selector)
    return choose_series(loaded.series, selector, min_slices=min_slices, uid_aliases=aliases)


def volume_metadata(series: Series, assembled: AssembledVolume, deidentifier: Deidentifier) -> dict[str, Any]:
    """The ``volume/ct.json`` content: what the volume is, how it was made; no PHI, no dates, no UIDs.

    Examples
    --------
    >>> from rhinoapp.dicom.testing import make_ct_series
    >>> from rhinoapp.dicom.volume import assemble_volume
    >>> d = Deidentifier(b"k" * 16)
    >>> [series] = group_series([d.dataset(ds) for ds in make_ct_series(slices=3, shape=(8, 8))])
    >>> meta = volume_metadata(series, assemble_volume(series), d)
    >>> meta["modality"], meta["dimensions_ijk"], meta["deidentification"]["table_edition"]
    ('CT', [8, 8, 3], '2024b')
    """
    geometry = assembled.volume.geometry
    options = deidentifier.options
    return {
        "format": METADATA_FORMAT,
        "source": "dicom",
        "modality": series.modality,
        "series_description": series.description,
        **ct_metadata_grid(geometry),
        "values": "Hounsfield units (RescaleSlope and RescaleIntercept applied per slice)",
        "dtype": str(assembled.volume.hu.dtype),
        "slice_count": assembled.report.slice_count,
        "assembly": {
            "tilt_deg": assembled.report.tilt_deg,
            "resampled_for_tilt": assembled.report.resampled,
            "duplicates_dropped": assembled.report.duplicates_dropped,
            "notes": list(assembled.report.notes),
            "warnings": list(assembled.report.warnings),
        },
        "deidentification": {
            "method": deidentifier.method,
            "profile": "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile, Table E.1-1",
            "table_edition": options.edition,
            "options": [{"code": code, "scheme": "DCM", "meaning": meaning}
                        for code, meaning in options.method_codes()],
            "patient_identity_removed": True,
        },
    }
