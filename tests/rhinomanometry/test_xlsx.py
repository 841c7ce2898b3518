"""4PR recordings in XLSX workbooks: the CSV format's variants on a sheet, and every refusal."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.io import read_bytes, read_csv_file, read_xlsx
from rhinoapp.rhinomanometry.model import Measurement, Side, SignConvention
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.rhinomanometry.xlsx import sheet_texts

Rows = Iterable[Sequence[object]]


def workbook(*sheets: tuple[str, Rows], hidden: Sequence[str] = ()) -> bytes:
    """Bytes of an XLSX file with the given sheets (name, rows)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
        if name in hidden:
            sheet.sheet_state = "hidden"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def samples(measurement: Measurement, *, side_column: bool = True, time_factor: float = 1.0) -> list[list[object]]:
    return [[float(t) * time_factor, *([r.side.letter] if side_column else []), float(p), float(v)]
            for r in measurement.recordings for t, p, v in zip(r.t_s, r.dp_pa, r.flow_ml_s, strict=True)]


def assert_same_signals(got: Measurement, expected: Measurement) -> None:
    assert got.sides == expected.sides
    for a, b in zip(got.recordings, expected.recordings, strict=True):
        for name in ("t_s", "dp_pa", "flow_ml_s"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def synthetic() -> Measurement:
    return generate(duration_s=5.0, seed=5, dropouts=1).measurement


def test_numeric_cells_with_metadata_block_and_units(synthetic: Measurement) -> None:
    rows = [
        ["Rhinomanometry export"],
        ["Gerät:", "Rhino 9000"],
        ["Datum", dt.datetime(2026, 3, 4)],
        ["abgeschwollen", True],
        ["# sample_rate_hz: 100"],
        ["#", "operator", "Dr. X"],
        [],
        ["Zeit [ms]", "Seite", "dP [Pa]", "Flow [cm3/s]", None, "Bemerkung"],
        *samples(synthetic, time_factor=1000.0),
    ]
    got = read_bytes(workbook(("Messung", rows)), filename="export.xlsx")
    assert_same_signals(got, synthetic)
    meta = got.metadata
    assert (meta.device, meta.date, meta.decongested, meta.sample_rate_hz) == ("Rhino 9000", dt.date(2026, 3, 4), True,
                                                                               100.0)
    assert meta.extra == (("operator", "Dr. X"),)


def test_text_cells_with_decimal_commas_and_empty_dropouts() -> None:
    rows = [["t_s", "side", "dp_pa", "flow_ml_s"], ["0", "links", "0,5", "1,25"], ["0,01", "links", None, "2"],
            [0.02, "li", 3, 4]]
    r = read_xlsx(workbook(("Sheet1", rows)))
    rec = r.recording(Side.LEFT)
    assert rec.t_s.tolist() == [0.0, 0.01, 0.02] and rec.flow_ml_s.tolist() == [1.25, 2.0, 4.0]
    assert rec.dp_pa[0] == 0.5 and np.isnan(rec.dp_pa[1])


def test_one_side_sheet_with_side_from_metadata_argument_or_file_name(synthetic: Measurement) -> None:
    right = Measurement(synthetic.metadata, (synthetic.recording(Side.RIGHT),))
    body = [["t [s]", "ΔP [hPa]", "V' (l/s)"],
            *([t, p / 100, v / 1000] for t, _, p, v in samples(right))]
    assert_same_signals(read_bytes(workbook(("Data", [["side", "rechts"], *body])), filename="r.xlsx"), right)
    assert_same_signals(read_bytes(workbook(("Data", body)), filename="r.xlsx", side="R"), right)


def test_inverted_sign_convention_is_kept_as_metadata(synthetic: Measurement) -> None:
    rows = [["inspiration sign", "negative"], ["t_s", "side", "dp_pa", "flow_ml_s"],
            *([t, s, -p, -v] for t, s, p, v in samples(synthetic))]
    got = read_xlsx(workbook(("Sheet1", rows)))
    assert got.metadata.inspiration_sign is SignConvention.INSPIRATION_NEGATIVE
    assert_same_signals(got.normalised(), synthetic)


def test_one_sheet_per_side_named_after_the_side(synthetic: Measurement) -> None:
    sheets = [(name, [["device", "D"], ["t_s", "dp_pa", "flow_ml_s"],
                      *samples(Measurement(synthetic.metadata, (synthetic.recording(side),)), side_column=False)])
              for name, side in (("Links", Side.LEFT), ("Right", Side.RIGHT))]
    got = read_bytes(workbook(*sheets, ("Notes", [["free text"]])), filename="both.xlsx")
    assert_same_signals(got, synthetic)
    assert got.metadata.device == "D"


def test_hidden_sheets_are_ignored_unless_named(synthetic: Measurement) -> None:
    table = [["t_s", "side", "dp_pa", "flow_ml_s"], *samples(synthetic)]
    other = [["t_s", "side", "dp_pa", "flow_ml_s"], [0, "L", 1, 1], [1, "L", 2, 2]]
    content = workbook(("Recording", table), ("Old", other), hidden=["Old"])
    assert_same_signals(read_xlsx(content), synthetic)
    assert read_xlsx(content, sheet="Old").recording(Side.LEFT).dp_pa.tolist() == [1.0, 2.0]


def test_sheet_argument_chooses_among_several_tables(synthetic: Measurement) -> None:
    table = [["t_s", "side", "dp_pa", "flow_ml_s"], *samples(synthetic)]
    content = workbook(("Pre", table), ("Post", table[:3]))
    assert_same_signals(read_xlsx(content, sheet="Pre"), synthetic)


def test_files_on_disk_are_told_apart_by_content(tmp_path: Path, synthetic: Measurement) -> None:
    path = tmp_path / "export.dat"  # no telling extension: the zip signature decides
    path.write_bytes(workbook(("Sheet1", [["t_s", "side", "dp_pa", "flow_ml_s"], *samples(synthetic)])))
    assert_same_signals(read_csv_file(path), synthetic)


def test_sheet_text_layout() -> None:
    content = workbook(("S", [["# device: X"], ["key only"], ["t_s", "side", "dp_pa", "flow_ml_s"],
                              [0, "L", 'say "1"', 2], [], [1, "L", 1.5]]))
    [found] = sheet_texts(content)
    assert found.text.splitlines() == ["# device: X", "# key only", "t_s\tside\tdp_pa\tflow_ml_s",
                                       '0\tL\t"say ""1"""\t2', "", "1\tL\t1.5\t"]
    assert found.side is None


HEADER = ["t_s", "side", "dp_pa", "flow_ml_s"]


@pytest.mark.parametrize(("sheets", "kwargs", "message"), [
    ([("Sheet1", [["t_s", "side", "flow_ml_s"], [0, "L", 0]])], {},
     r"^x\.xlsx, sheet 'Sheet1', row 1: The header has no pressure column \(found: 't_s', 'side', 'flow_ml_s'\);"
     r" name it dp_pa"),
    ([("Sheet1", [["a", "b"], [1, 2]])], {}, r"sheet 'Sheet1', no header row naming the time, pressure and flow"),
    ([("A", [["x"]]), ("B", [["t", "dp", "v"], [0, 0, 0]])], {},
     r"^x\.xlsx, sheet 'B': no side column and no side stated"),
    ([("A", [["x"]]), ("B", [["time", "side", "pressure"]])], {},
     r"no sheet holds a 4PR table with time, pressure and flow columns \(sheet 'A', no header row .*; sheet 'B',"
     r" row 1: The header has no flow column"),
    ([("Pre", [HEADER, [0, "L", 0, 0]]), ("Post", [HEADER, [0, "L", 0, 0]])], {},
     r"several sheets hold 4PR tables \('Pre', 'Post'\), so it is not clear which one to read; keep only"),
    ([("Left", [HEADER, [0, "L", 0, 0]]), ("L", [HEADER, [0, "L", 0, 0]])], {}, "several sheets hold 4PR tables"),
    ([("Sheet1", [HEADER, [0, "L", 0, 0]])], {"sheet": "Data"}, r"has no sheet 'Data' \(sheets: 'Sheet1'\)"),
    ([("Sheet1", [HEADER, [0, "L", 0, 0], [0.01, "L", "abc", 1]])], {},
     r"^x\.xlsx, sheet 'Sheet1', row 3: pressure 'abc' is not a number"),
    ([("Sheet1", [HEADER, [0, "L", 0, 0], [dt.time(0, 0, 1), "L", 1, 1]])], {},
     r"row 3: time '00:00:01' is not a number"),
    ([("Sheet1", [HEADER, [0, "L", 0, 0], [1, "R", 0, 0]])], {"side": "L"}, "row 3: side right in a file declared"),
    ([("Left", [["t_s", "dp_pa", "flow_ml_s"], [0, 0, 0], [1, 0, 0]]),
      ("Right", [HEADER, [0, "L", 0, 0], [1, "L", 0, 0]])], {},
     r"sheet 'Right', row 2: side left in a file declared as right"),
    ([("Left", [HEADER, [0, "L", 0, 0]]), ("Right", [HEADER, [0, "R", 0, 0]])], {"side": "L"},
     "holds one sheet per side, named after the side; leave out side="),
    ([("Sheet1", [HEADER])], {}, "has a header but no data rows"),
    ([("Sheet1", [HEADER, ["t_s", "side", "dP [Pa]", "flow"]])], {}, "the flow column 'flow_ml_s'|fields|not a number"),
])
def test_refusals_name_the_sheet_and_row(sheets: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        read_bytes(workbook(*sheets), filename="x.xlsx", **kwargs)


def test_header_with_a_doubled_column_is_reported() -> None:
    rows = [["t_s", "side", "dp_pa", "P [Pa]", "flow_ml_s"], [0, "L", 0, 0, 0]]
    with pytest.raises(ValidationError, match=r"sheet 'Sheet1', row 1: Columns 'dp_pa' and 'P \[Pa\]' both look like"):
        read_xlsx(workbook(("Sheet1", rows)), source="x.xlsx")


def test_text_files_refuse_a_sheet_argument() -> None:
    with pytest.raises(ValidationError, match="a.csv is a text file, not a workbook; leave out sheet="):
        read_bytes(b"t_s,side,dp_pa,flow_ml_s\n", filename="a.csv", sheet="S")


# -- limits: a workbook is a zip archive, and its sheets claim sizes -------------------------------

def repack(content: bytes, *, extra: dict[str, bytes] | None = None, replace: tuple[bytes, bytes] | None = None) -> bytes:
    """The workbook's archive again, with ``extra`` members and ``replace`` applied to the first sheet's XML."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if replace and info.filename == "xl/worksheets/sheet1.xml":
                assert replace[0] in data
                data = data.replace(*replace)
            target.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return buffer.getvalue()


def test_a_workbook_of_too_many_parts_or_unpacking_too_far_is_refused_before_opening(synthetic: Measurement) -> None:
    from rhinoapp.core.limits import LimitError
    from rhinoapp.rhinomanometry.request import FourPRImportRequest, prepare_import
    from rhinoapp.rhinomanometry.xlsx import MAX_MEMBERS

    book = workbook(("Data", [["t_s", "side", "dp_pa", "flow_ml_s"], *samples(synthetic)]))
    parts = repack(book, extra={f"customXml/item{n}.xml": b"<a/>" for n in range(MAX_MEMBERS)})
    with pytest.raises(LimitError, match=r"parts, more than the 1,000"):
        read_bytes(parts, filename="a.xlsx")
    padded = repack(book, extra={"xl/media/padding.bin": bytes(30_000_000)})  # 30 MB in about 30 KB
    with pytest.raises(LimitError, match=r"unpacks to 30.* more than the limit of 20.0 MB .*RHINOAPP_MAX_UPLOAD_MB"):
        prepare_import(FourPRImportRequest(filename="a.xlsx", content=padded, max_upload_mb=1.0))
    assert read_bytes(padded, filename="a.xlsx").sides == synthetic.sides  # within the default limit


def test_the_sheet_size_claim_is_ignored_and_cells_far_right_are_not_read(synthetic: Measurement) -> None:
    rows = [["t_s", "side", "dp_pa", "flow_ml_s"], *samples(synthetic)]
    claims = repack(workbook(("Data", rows)), replace=(b'<dimension ref="A1:D', b'<dimension ref="A1:XFD1048576"/><x a="'))
    assert_same_signals(read_bytes(claims, filename="a.xlsx"), synthetic)  # not 1M rows of 16,384 cells
    wide = workbook(("Data", [rows[0], *([*row, *[None] * 70, 1] for row in rows[1:])]))  # a stray column 75
    assert_same_signals(read_bytes(wide, filename="a.xlsx"), synthetic)
