"""NIfTI-1 (.nii, .nii.gz) volumes <-> :class:`~rhinoapp.core.volume.CTVolume`.

NIfTI stores voxels as ``[i, j, k]`` with an affine to RAS millimetres (+x towards the patient's
right, +y anterior). rhinoapp keeps LPS and ``[k, j, i]`` inside, so reading negates the first two
rows of the affine and transposes the array; writing does the reverse and records the affine as
both sform and qform (code 1, scanner), so other tools show left and right correctly.

Uploaded and imported files are read within :class:`~rhinoapp.core.limits.InputLimits`: the
header is read first (from the first bytes of the gzip stream), its dimensions and the bytes
they need are checked, and only then are exactly those bytes decompressed, so a small
``.nii.gz`` declaring or holding gigabytes is refused at once.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import nibabel as nib
import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import DEFAULT_LIMITS, InputLimits, bounded_decompress, check_voxels
from rhinoapp.core.volume import CTVolume, ImageGeometry, lps_ras_affine

__all__ = ["declared_nifti_bytes", "from_nifti_image", "nifti_bytes", "read_nifti", "read_nifti_bytes",
           "to_nifti_image"]

_HEADER_BYTES = 540  # a NIfTI-2 header; NIfTI-1 needs the first 348
_GZIP_MAGIC = b"\x1f\x8b"


def _header_class(head: bytes) -> type[nib.Nifti1Header]:
    sizes = {int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big")}
    return nib.Nifti2Header if nib.Nifti2Header.sizeof_hdr in sizes else nib.Nifti1Header


def declared_nifti_bytes(head: bytes, limits: InputLimits) -> int:
    """The bytes a NIfTI file needs up to its last voxel, from its first bytes; refused above ``limits``.

    ``head`` is the start of the (uncompressed) file, at least its header. The voxel count is
    checked against ``limits.max_voxels`` and the size against ``limits.max_bytes`` before any
    voxel is read.

    Examples
    --------
    >>> header = nib.Nifti1Header()
    >>> header.set_data_shape((2048, 512, 512)); header.set_data_dtype(np.int16)
    >>> declared_nifti_bytes(header.binaryblock, InputLimits())
    Traceback (most recent call last):
    ...
    rhinoapp.core.limits.LimitError: the NIfTI header declares 536,870,912 voxels (2048 x 512 x 512), more than the limit of 268,435,456; raise max_voxels in the settings (RHINOAPP_MAX_VOXELS) if the file is genuine.
    >>> header.set_data_shape((4, 3, 2)); header.set_data_offset(352)
    >>> declared_nifti_bytes(header.binaryblock, InputLimits())
    400
    """
    klass = _header_class(head)
    if len(head) < klass.sizeof_hdr:
        raise ValidationError("the file is too short for a NIfTI header (it is truncated or not NIfTI); export it "
                              "again.")
    try:
        header = klass.from_fileobj(io.BytesIO(head[:klass.sizeof_hdr]), check=False)
        shape = header.get_data_shape()
        itemsize = header.get_data_dtype().itemsize
        offset = int(header.get_data_offset())
    except Exception as error:  # nibabel raises several types for a damaged header
        raise ValidationError(f"the NIfTI header is damaged ({type(error).__name__}); export the file again.") from None
    count = check_voxels(shape, limits.max_voxels, "the NIfTI header")
    needed = max(offset, int(klass.sizeof_hdr)) + count * int(itemsize)
    limits.check_bytes(needed, "the NIfTI volume")
    return needed

def to_nifti_image(volume: CTVolume) -> nib.Nifti1Image:
    """A NIfTI-1 image of ``volume`` with its RAS affine (sform and qform, code 1).

    Examples
    --------
    >>> hu = np.zeros((2, 3, 4), dtype=np.int16)
    >>> image = to_nifti_image(CTVolume(hu, ImageGeometry(hu.shape, spacing_mm=(0.5, 0.6, 2.0))))
    >>> image.shape, nib.aff2axcodes(image.affine)
    ((4, 3, 2), ('L', 'P', 'S'))
    """
    affine = volume.geometry.affine_ras
    image = nib.Nifti1Image(np.asarray(volume.hu).transpose(2, 1, 0), affine)
    image.header.set_data_dtype(volume.hu.dtype)
    image.set_sform(affine, code=1)
    image.set_qform(affine, code=1)
    image.header.set_xyzt_units(xyz="mm")
    image.header["descrip"] = b"rhinoapp CT volume (HU)"
    return image


def nifti_bytes(volume: CTVolume, *, compress: bool = True, compresslevel: int = 4) -> bytes:
    """The ``.nii.gz`` (or ``.nii`` with ``compress=False``) bytes of ``volume``; deterministic.

    Examples
    --------
    >>> hu = np.zeros((2, 3, 4), dtype=np.int16)
    >>> nifti_bytes(CTVolume(hu, ImageGeometry(hu.shape)))[:2]
    b'\\x1f\\x8b'
    """
    raw = to_nifti_image(volume).to_bytes()
    return gzip.compress(raw, compresslevel=compresslevel, mtime=0) if compress else raw


def from_nifti_image(image: nib.Nifti1Image | nib.Nifti2Image) -> CTVolume:
    """The CT volume of a NIfTI image, in LPS and ``[k, j, i]`` order.

    The sform is used when its code is set, else the qform; an image with neither has no
    known orientation and is refused (left and right could be swapped).

    Examples
    --------
    >>> image = nib.Nifti1Image(np.zeros((4, 3, 2), np.int16), np.diag([-0.5, -0.5, 2.0, 1.0]))
    >>> image.set_sform(image.affine, code=1)
    >>> from_nifti_image(image).geometry.spacing_mm  # RAS (-0.5, -0.5) is LPS (+0.5, +0.5)
    (0.5, 0.5, 2.0)
    """
    header = image.header
    sform, sform_code = image.get_sform(coded=True)
    qform, qform_code = image.get_qform(coded=True)
    affine = sform if sform is not None and sform_code else qform if qform is not None and qform_code else None
    if affine is None:
        raise ValidationError("the NIfTI file sets neither sform nor qform, so its orientation is unknown (left and "
                              "right could be swapped). Save it with a scanner or aligned affine and import it again.")
    data = np.asanyarray(image.dataobj)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValidationError(f"the NIfTI image has {data.ndim} dimensions {data.shape}; a CT volume has 3.")
    if np.issubdtype(data.dtype, np.floating) and not np.issubdtype(header.get_data_dtype(), np.floating):
        data = data.astype(np.float32)  # scaled integers (scl_slope / scl_inter)
    geometry = ImageGeometry.from_affine_lps(lps_ras_affine(affine), data.shape[::-1])
    return CTVolume(np.ascontiguousarray(data.transpose(2, 1, 0)), geometry)


def read_nifti(path: Path, *, limits: InputLimits | None = None) -> CTVolume:
    """Read a ``.nii`` or ``.nii.gz`` file.

    With ``limits`` (files to import) the header is checked before any voxel is read; without
    (files rhinoapp wrote itself) it is read as it is.

    Examples
    --------
    >>> import tempfile
    >>> hu = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    >>> path = Path(tempfile.mkdtemp()) / "ct.nii.gz"
    >>> _ = path.write_bytes(nifti_bytes(CTVolume(hu, ImageGeometry(hu.shape, origin_mm=(1, 2, 3)))))
    >>> volume = read_nifti(path)
    >>> bool((volume.hu == hu).all()), volume.geometry.origin_mm
    (True, (1.0, 2.0, 3.0))
    """
    if limits is not None:
        try:
            with path.open("rb") as handle:
                gzipped = handle.read(2) == _GZIP_MAGIC
                handle.seek(0)
                with (gzip.GzipFile(fileobj=handle) if gzipped else handle) as source:
                    head = source.read(_HEADER_BYTES)  # a bounded read, whatever the stream holds
        except (OSError, EOFError) as error:
            raise ValidationError(f"{path.name} cannot be read as NIfTI ({type(error).__name__}); check the file.") \
                from None
        declared_nifti_bytes(head, limits)
    try:
        image = nib.load(str(path))
    except Exception as error:
        raise ValidationError(f"{path.name} cannot be read as NIfTI ({type(error).__name__}); check the file.") from None
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise ValidationError(f"{path.name} is not a NIfTI image.")
    return from_nifti_image(image)


def read_nifti_bytes(data: bytes, *, limits: InputLimits = DEFAULT_LIMITS) -> CTVolume:
    """Read NIfTI bytes (gzip-compressed or not), e.g. a browser upload, within ``limits``.

    The header's dimensions are checked first; then only the bytes they need are decompressed
    (anything after them is ignored), so no stream expands beyond what the limits allow.

    Examples
    --------
    >>> hu = np.zeros((2, 3, 4), dtype=np.int16)
    >>> read_nifti_bytes(nifti_bytes(CTVolume(hu, ImageGeometry(hu.shape)))).hu.shape
    (2, 3, 4)
    """
    gzipped = data[:2] == _GZIP_MAGIC
    what = "the compressed NIfTI volume"
    head = bounded_decompress(data, max_bytes=_HEADER_BYTES, what=what, stop_at_limit=True) if gzipped else data
    needed = declared_nifti_bytes(head[:_HEADER_BYTES], limits)
    raw = bounded_decompress(data, max_bytes=needed, what=what, stop_at_limit=True) if gzipped else data
    if len(raw) < needed:
        raise ValidationError(f"the NIfTI volume is truncated: it holds {len(raw):,} of the {needed:,} bytes its header "
                              "declares; export it again.")
    image_class = nib.Nifti2Image if _header_class(head) is nib.Nifti2Header else nib.Nifti1Image
    try:
        image = image_class.from_bytes(raw)
    except Exception as error:
        raise ValidationError(f"the upload cannot be read as NIfTI ({type(error).__name__}).") from None
    return from_nifti_image(image)
