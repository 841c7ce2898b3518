"""PS3.15 Basic Application Level Confidentiality Profile, driven by Table E.1-1 as data.

One walk over the object (and every item of every sequence, at any depth) applies the action
the table gives each element under the chosen options; private elements are removed (or, with
Retain Safe Private, kept only where Table E.3.10-1 lists them with their creator). UIDs become
``2.25.`` UIDs from an HMAC of the original under the installation's secret, so references
between objects stay consistent. Pixel data are never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from rhinoapp.core.version import __version__
from rhinoapp.core.errors import ValidationError
from rhinoapp.dicom.identity import check_secret, mapped_uid, patient_key, pseudonym_for
from rhinoapp.dicom.io import UnreadableDicomError, quiet, read_dataset, write_dataset
from rhinoapp.dicom.options import BurnedInPolicy, DateHandling, DeidentOptions
from rhinoapp.dicom.profile import (
    Action,
    ConfidentialityProfile,
    SafePrivateTable,
    TagPattern,
    load_profile,
    load_safe_private,
)
from rhinoapp.dicom.walk import Walk

__all__ = ["BurnedInAnnotationError", "Deidentifier", "deidentify_bytes", "deidentify_dataset"]

logger = logging.getLogger(__name__)

_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
# Image types that often carry burned-in text (screenshots, dose sheets, ultrasound).
_BURNED_IN_PRONE_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.7.1": "Multi-frame Single Bit Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.7.2": "Multi-frame Grayscale Byte Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.7.3": "Multi-frame Grayscale Word Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.6.1": "Ultrasound",
    "1.2.840.10008.5.1.4.1.1.3.1": "Ultrasound Multi-frame",
    "1.2.840.10008.5.1.4.1.1.6": "Ultrasound (retired)",
    "1.2.840.10008.5.1.4.1.1.3": "Ultrasound Multi-frame (retired)",
}
_META_IDENTIFYING = (0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102)
_TEMPORAL_FLAG = {DateHandling.MODIFIED: "MODIFIED", DateHandling.FULL: "UNMODIFIED", DateHandling.REMOVE: "REMOVED"}


class BurnedInAnnotationError(ValidationError):
    """An image may show identifying text in its pixels; it is refused."""


@dataclass(frozen=True, eq=False)
class Deidentifier:
    """De-identifies DICOM objects with one secret, one set of options and (optionally) one pseudonym.

    Build one per batch and call it per object: the table is parsed once.

    Parameters
    ----------
    secret
        The installation's secret (bytes, at least 16); the same secret gives the same UIDs,
        pseudonyms and date shifts.
    options
        :class:`~rhinoapp.dicom.options.DeidentOptions`.
    pseudonym
        PatientName and PatientID of every output; ``None`` derives ``ANON-…`` per patient.

    Examples
    --------
    >>> from rhinoapp.dicom.testing import make_ct_series
    >>> [ds] = make_ct_series(slices=1, shape=(4, 4))
    >>> sop_class, sop_instance = ds.SOPClassUID, ds.SOPInstanceUID
    >>> clean = Deidentifier(b"k" * 32, pseudonym="RHINO-0001").dataset(ds)
    >>> str(clean.PatientName), clean.PatientIdentityRemoved, clean.SOPClassUID == sop_class
    ('RHINO-0001', 'YES', True)
    >>> clean.SOPInstanceUID == sop_instance, clean.SOPInstanceUID.startswith("2.25.")
    (False, True)
    """

    secret: bytes
    options: DeidentOptions = field(default_factory=DeidentOptions)
    pseudonym: str | None = None
    # derived from the options in __post_init__ (the table is parsed once per Deidentifier)
    _profile: ConfidentialityProfile = field(init=False, repr=False, compare=False)
    _actions: dict[int, Action] = field(init=False, repr=False, compare=False)
    _patterns: tuple[tuple[TagPattern, Action], ...] = field(init=False, repr=False, compare=False)
    _safe: SafePrivateTable | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "secret", check_secret(self.secret))
        if self.pseudonym is not None and not (0 < len(self.pseudonym) <= 64):
            raise ValidationError("the pseudonym must be 1 to 64 characters (it becomes PatientID)")
        profile = load_profile(self.options.edition)
        columns = self.options.columns
        object.__setattr__(self, "_profile", profile)
        object.__setattr__(self, "_actions", profile.actions(columns))
        object.__setattr__(self, "_patterns", profile.pattern_actions(columns))
        safe = load_safe_private() if self.options.retain_safe_private else None
        object.__setattr__(self, "_safe", safe)

    @property
    def method(self) -> list[str]:
        """The DeidentificationMethod values written into each object."""
        return [f"rhinoapp {__version__}", self._profile.title]

    def dataset(self, dataset: Dataset) -> Dataset:
        """De-identify ``dataset`` in place and return it.

        Raises
        ------
        BurnedInAnnotationError
            When the policy is REFUSE and the image may carry burned-in text.
        """
        self._check_burned_in(dataset)
        original_id = str(dataset.get("PatientID", "") or "")
        original_name = str(dataset.get("PatientName", "") or "")
        key = patient_key(original_id, original_name)
        with quiet():
            walk = Walk(self.secret, self.options, self._actions, self._patterns, self._safe, key)
            walk.dataset(dataset)
            self._mark(dataset, self.pseudonym or pseudonym_for(self.secret, key))
            self._file_meta(dataset)
        return dataset

    def bytes(self, data: bytes, *, what: str = "the file") -> bytes:
        """De-identify one encoded DICOM object; the result is encoded in the same transfer syntax."""
        dataset = read_dataset(data, what=what)
        try:
            self.dataset(dataset)
        except ValidationError:
            raise
        except Exception as error:
            raise UnreadableDicomError(
                f"{what} could not be de-identified: an element is damaged ({type(error).__name__}); export it again."
            ) from None
        return write_dataset(dataset)

    def _check_burned_in(self, dataset: Dataset) -> None:
        if self.options.burned_in is BurnedInPolicy.ALLOW or not any(t in dataset for t in _PIXEL_TAGS):
            return
        flag = str(dataset.get("BurnedInAnnotation", "") or "").strip().upper()
        features = str(dataset.get("RecognizableVisualFeatures", "") or "").strip().upper()
        if flag == "YES":
            raise BurnedInAnnotationError(
                "an image says BurnedInAnnotation YES: its pixels may show names or dates, which header "
                "de-identification cannot remove. Leave it out (export the series without annotations or screenshots)."
            )
        if features == "YES":
            raise BurnedInAnnotationError(
                "an image says RecognizableVisualFeatures YES (a photograph of the face?); leave it out of the upload."
            )
        kind = _BURNED_IN_PRONE_CLASSES.get(str(dataset.get("SOPClassUID", "")))
        if kind and flag != "NO":
            raise BurnedInAnnotationError(
                f"a {kind} image does not say whether text is burned into its pixels (BurnedInAnnotation is "
                "missing); such images are often screenshots with names. Leave it out of the upload."
            )

    def _mark(self, dataset: Dataset, pseudonym: str) -> None:
        dataset.PatientName = pseudonym
        dataset.PatientID = pseudonym
        dataset.PatientIdentityRemoved = "YES"
        dataset.DeidentificationMethod = self.method
        items = []
        for code, meaning in self.options.method_codes():
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code, "DCM", meaning
            items.append(item)
        dataset.DeidentificationMethodCodeSequence = Sequence(items)
        dataset.LongitudinalTemporalInformationModified = _TEMPORAL_FLAG[self.options.dates]

    def _file_meta(self, dataset: Dataset) -> None:
        meta = getattr(dataset, "file_meta", None)
        if meta is None:
            return
        for tag in _META_IDENTIFYING:
            if tag in meta:
                del meta[tag]
        if "SOPInstanceUID" in dataset:
            meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        elif "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = mapped_uid(self.secret, str(meta.MediaStorageSOPInstanceUID))
        if "SOPClassUID" in dataset:
            meta.MediaStorageSOPClassUID = dataset.SOPClassUID


def deidentify_dataset(
    dataset: Dataset, *, secret: bytes, pseudonym: str | None = None, options: DeidentOptions | None = None
) -> Dataset:
    """De-identify one dataset in place (see :class:`Deidentifier`); returns it.

    Examples
    --------
    >>> from rhinoapp.dicom.testing import make_ct_series
    >>> ds = deidentify_dataset(make_ct_series(slices=1, shape=(4, 4))[0], secret=b"k" * 16)
    >>> str(ds.PatientID).startswith("ANON-")
    True
    """
    return Deidentifier(secret, options or DeidentOptions(), pseudonym).dataset(dataset)


def deidentify_bytes(
    data: bytes, *, secret: bytes, pseudonym: str | None = None, options: DeidentOptions | None = None
) -> bytes:
    """De-identify one encoded DICOM object in memory: bytes in, bytes out.

    Examples
    --------
    >>> from rhinoapp.dicom.testing import make_ct_series, encode
    >>> out = deidentify_bytes(encode(make_ct_series(slices=1, shape=(4, 4))[0]), secret=b"k" * 16)
    >>> out[128:132]
    b'DICM'
    """
    return Deidentifier(secret, options or DeidentOptions(), pseudonym).bytes(data)
