"""De-identification throughput against dicognito, and volume assembly time, for a 300-slice CT.

Generates a synthetic CT series (default 300 slices of 512x512, 16-bit) in memory and times, on
the same encoded files in the same run, interleaved round by round (median of ``--repeats``):

* rhinoapp: ``Deidentifier.bytes`` (parse, PS3.15 Table E.1-1 walk, encode) per file;
* dicognito (the ``bench`` extra): ``dcmread`` + ``Anonymizer.anonymize`` + ``save_as`` per file,
  one Anonymizer for the series (so its UID mapping is consistent, like rhinoapp's).

Two header sets: ``realistic`` (a scanner-like CT header: about 130 elements with a vendor private
block and a few sequences) and ``phi`` (every attribute of Table E.1-1 filled with fake PHI, nested
sequences and private elements: about 650 elements, the worst case). Then it times assembling the
de-identified series into the HU volume (parse, group, sort, HU), goal under 5 s.

Usage::

    .venv/bin/python benchmarks/bench_deidentify.py [--slices 300] [--size 512] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import time
import warnings
from collections.abc import Callable, Sequence

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from rhinoapp.dicom import Deidentifier, assemble_volume, group_series, read_dataset
from rhinoapp.dicom.testing import encode, make_ct_series
from rhinoapp.volumes import nifti_bytes

SECRET = b"benchmark-secret-not-for-real-use"


def realistic(ds: Dataset, k: int) -> Dataset:
    """Add what a scanner adds: acquisition parameters, a vendor private block, sequences, PHI."""
    ds.PatientBirthDate, ds.ReferringPhysicianName, ds.InstitutionName = "19610412", "QUIMBLEDORF^Ansgar", "Klinikum"
    ds.InstitutionAddress, ds.StationName, ds.OperatorsName = "Hauptstr. 1, Vexmoor", "CTAWP7781", "TECH^One"
    ds.PerformingPhysicianName, ds.DeviceSerialNumber, ds.ProtocolName = "DOC^Two", "77810", "Sinus 0.75"
    ds.InstanceCreationDate, ds.InstanceCreationTime = ds.ContentDate, ds.ContentTime
    ds.StudyDescription, ds.BodyPartExamined, ds.PatientPosition = "CT NNH", "HEAD", "HFS"
    ds.ManufacturerModelName, ds.SoftwareVersions = "Synthetic Force", "VB20"
    ds.DataCollectionDiameter, ds.ReconstructionDiameter, ds.DistanceSourceToDetector = 500, 240, 1085.6
    ds.DistanceSourceToPatient, ds.GantryDetectorTilt, ds.TableHeight = 595, 0, 150
    ds.RotationDirection, ds.ExposureTime, ds.XRayTubeCurrent, ds.Exposure = "CW", 1000, 120, 60
    ds.FilterType, ds.GeneratorPower, ds.FocalSpots, ds.ConvolutionKernel = "FLAT", 30, 0.7, "Hr40f"
    ds.AcquisitionNumber, ds.FrameOfReferenceUID = 2, ds.FrameOfReferenceUID
    ds.PositionReferenceIndicator, ds.WindowCenter, ds.WindowWidth = "", [40, 400], [400, 2000]
    ds.LossyImageCompression, ds.CTDIvol, ds.SpiralPitchFactor = "00", 12.3, 0.8
    ds.TableSpeed, ds.TableFeedPerRotation, ds.SingleCollimationWidth = 46, 23, 0.6
    ds.TotalCollimationWidth, ds.DataCollectionCenterPatient = 38.4, [0.0, -150.0, 100.0 + k]
    ds.ReconstructionTargetCenterPatient = [0.0, -150.0, 100.0 + k]
    ds.IrradiationEventUID = f"1.2.826.0.1.3680043.10.1042.5.{k}"
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "T-D1100", "SRT", "Head"
    ds.AnatomicRegionSequence = DicomSequence([item])
    request = Dataset()
    request.RequestedProcedureID, request.ScheduledProcedureStepID = "RP7781", "SPS7781"
    request.RequestedProcedureDescription = "CT NNH nativ"
    ds.RequestAttributesSequence = DicomSequence([request])
    ds.add_new(0x00190010, "LO", "SIEMENS CT VA1 DUMMY")
    for e in range(0x10, 0x38):
        ds.add_new(0x00191000 | e, "LO" if e % 3 else "DS", f"value {e}" if e % 3 else str(e / 7)[:14])
    ds.add_new(0x00290010, "LO", "SIEMENS CSA HEADER")
    ds.add_new(0x00291010, "OB", bytes(4096))
    return ds


def series_files(slices: int, size: int, headers: str) -> list[bytes]:
    series = make_ct_series(slices=slices, shape=(size, size), phi=headers == "phi", slice_spacing=0.75)
    if headers == "realistic":
        series = [realistic(ds, k) for k, ds in enumerate(series)]
    return [encode(ds) for ds in series]


def ours(files: Sequence[bytes]) -> list[bytes]:
    deidentifier = Deidentifier(SECRET)
    return [deidentifier.bytes(data) for data in files]


def dicognito(files: Sequence[bytes]) -> list[bytes]:
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer()
    out = []
    for data in files:
        ds = pydicom.dcmread(io.BytesIO(data))
        anonymizer.anonymize(ds)
        buffer = io.BytesIO()
        ds.save_as(buffer)
        out.append(buffer.getvalue())
    return out


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def compare(files: list[bytes], repeats: int, label: str) -> None:
    ours(files[:2]), dicognito(files[:2])  # warm-up: imports, table parsing, caches
    times: dict[str, list[float]] = {"rhinoapp": [], "dicognito": []}
    for _ in range(repeats):
        times["rhinoapp"].append(timed(lambda: ours(files)))
        times["dicognito"].append(timed(lambda: dicognito(files)))
    fps = {name: len(files) / statistics.median(values) for name, values in times.items()}
    elements = len(pydicom.dcmread(io.BytesIO(files[0])))
    print(f"\n[{label} headers: {elements} top-level elements per file, {len(files[0]) / 1024:.0f} KiB per file]")
    for name, rate in fps.items():
        print(f"  {name:<10} {rate:8.1f} files/s   (median of {repeats}: {statistics.median(times[name]):.2f} s for "
              f"{len(files)} files)")
    print(f"  ratio rhinoapp / dicognito: {fps['rhinoapp'] / fps['dicognito']:.2f}x "
          f"({'faster' if fps['rhinoapp'] > fps['dicognito'] else 'slower'})")


def assembly(files: list[bytes], repeats: int) -> None:
    clean = ours(files)
    parse_and_group, assemble = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        series = group_series([read_dataset(data) for data in clean])
        middle = time.perf_counter()
        result = assemble_volume(series[0])
        parse_and_group.append(middle - start)
        assemble.append(time.perf_counter() - middle)
    total = statistics.median(a + b for a, b in zip(parse_and_group, assemble, strict=True))
    encode_s = timed(lambda: nifti_bytes(result.volume))
    shape = "x".join(map(str, result.volume.hu.shape[::-1]))
    print(f"\n[volume assembly: {shape} voxels, {result.volume.hu.dtype}]")
    print(f"  parse + group {statistics.median(parse_and_group):.2f} s, sort + check + HU "
          f"{statistics.median(assemble):.2f} s, total {total:.2f} s (median of {repeats})")
    print(f"  assembling {len(files)} slices into the volume takes {total:.2f} s (goal: < 5 s)")
    print(f"  (writing ct.nii.gz: {encode_s:.2f} s)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--headers", choices=["realistic", "phi", "both"], default="both")
    args = parser.parse_args(argv)
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    print(f"de-identification of {args.slices} slices of {args.size}x{args.size} (16-bit), in memory")
    for headers in (["realistic", "phi"] if args.headers == "both" else [args.headers]):
        files = series_files(args.slices, args.size, headers)
        compare(files, args.repeats, headers)
        if headers == "realistic":
            assembly(files, args.repeats)


if __name__ == "__main__":
    main()
