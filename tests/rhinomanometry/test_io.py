"""The rhinoapp 4PR CSV format: exact round trips, every tolerated variant, every refusal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.io import read_csv, read_csv_file, read_csv_files, write_csv, write_csv_file
from rhinoapp.rhinomanometry.model import Measurement, Metadata, Recording, Side, SignConvention
from rhinoapp.rhinomanometry.synthetic import generate

TWO_ROWS = "0;0;0\n10;1,5;4\n"


def sample() -> Measurement:
    synth = generate(duration_s=6.0, noise_pa=1.5, noise_ml_s=2.0, seed=11, dropouts=2,
                     inspiration_sign=SignConvention.INSPIRATION_NEGATIVE, date=dt.date(2026, 3, 4), decongested=True)
    m = synth.measurement
    meta = Metadata(device=m.metadata.device, date=m.metadata.date, decongested=True, sample_rate_hz=100.0,
                    inspiration_sign="negative", extra=(("operator", "A. N. Other"), ("room", "3")))
    return Measurement(meta, m.recordings)


def test_round_trip_is_exact_including_nan_and_metadata() -> None:
    original = sample()
    assert any(np.isnan(r.dp_pa).any() for r in original.recordings)
    assert read_csv(write_csv(original)) == original


def test_round_trip_of_unknown_fields() -> None:
    original = Measurement(Metadata(), (Recording(Side.RIGHT, [0.0, 0.5], [1e-7, -3.25], [0.1, 1234.5]),))
    text = write_csv(original)
    assert "# date: \n" in text and "# decongested: unknown\n" in text and "# sample_rate_hz: \n" in text
    assert read_csv(text) == original


def test_file_round_trip(tmp_path: Path) -> None:
    original = sample()
    path = tmp_path / "case.csv"
    write_csv_file(original, path)
    assert read_csv_file(path) == original


def test_written_layout() -> None:
    lines = write_csv(sample()).splitlines()
    assert lines[:9] == [
        "# format: rhinoapp-4pr 1", "# device: rhinoapp synthetic generator", "# date: 2026-03-04",
        "# decongested: yes", "# sample_rate_hz: 100.0", "# inspiration_sign: negative", "# time_unit: s",
        "# pressure_unit: Pa", "# flow_unit: ml/s",
    ]
    assert lines[9:12] == ["# operator: A. N. Other", "# room: 3", "t_s,side,dp_pa,flow_ml_s"]
    assert lines[12].startswith("0.0,L,") and lines[-1].split(",")[1] == "R"


def test_semicolons_and_decimal_commas() -> None:
    m = read_csv("t_s;side;dp_pa;flow_ml_s\n0;L;0;0\n0,01;L;1,5;-4,25\n")
    r = m.recording(Side.LEFT)
    assert r.t_s.tolist() == [0.0, 0.01] and r.dp_pa.tolist() == [0.0, 1.5] and r.flow_ml_s.tolist() == [0.0, -4.25]


def test_tabs_quotes_and_quoted_decimal_commas() -> None:
    assert read_csv('t_s\tside\tdp_pa\tflow_ml_s\n0\tR\t1\t2\n0.5\tR\t3\t4\n').sides == (Side.RIGHT,)
    assert read_csv('t_s|side|dp_pa|flow_ml_s\n0|R|1|2\n0.5|R|3|4\n').recordings[0].flow_ml_s.tolist() == [2.0, 4.0]
    m = read_csv('"t_s","side","dp_pa","flow_ml_s"\n"0","L","0,5","1"\n"1","L","2","3"\n')
    assert m.recordings[0].dp_pa.tolist() == [0.5, 2.0]


@pytest.mark.parametrize(("header", "t", "dp", "flow"), [
    ("Zeit [ms];dP [Pa];Flow [cm3/s]", [0.0, 0.01], [0.0, 1.5], [0.0, 4.0]),
    ("t (s);ΔP (hPa);V' (l/s)", [0.0, 10.0], [0.0, 150.0], [0.0, 4000.0]),
    ("time [s];Druck [mbar];Volumenstrom [ml/min]", [0.0, 10.0], [0.0, 150.0], [0.0, 4.0 / 60.0]),
    ("t_ms;dp_pa;flow_l_min", [0.0, 0.01], [0.0, 1.5], [0.0, 4000.0 / 60.0]),
    ("Time [s];Pressure [cmH2O];Flow [cm³/s]", [0.0, 10.0], [0.0, 1.5 * 98.0665], [0.0, 4.0]),
])
def test_units_in_headers_are_converted(header: str, t: list, dp: list, flow: list) -> None:
    r = read_csv(f"{header}\n{TWO_ROWS}", side="L").recordings[0]
    np.testing.assert_allclose(r.t_s, t, rtol=1e-12)
    np.testing.assert_allclose(r.dp_pa, dp, rtol=1e-12)
    np.testing.assert_allclose(r.flow_ml_s, flow, rtol=1e-12)


def test_units_from_metadata_lines_and_arguments() -> None:
    text = "# time_unit: ms\n# pressure_unit: hPa\n# flow_unit: l/s\nt;dp;flow\n0;0;0\n10;0,5;0,25\n"
    r = read_csv(text, side="R").recordings[0]
    assert r.t_s.tolist() == [0.0, 0.01] and r.dp_pa.tolist() == [0.0, 50.0] and r.flow_ml_s.tolist() == [0.0, 250.0]
    r = read_csv("t,dp,flow\n0,0,0\n1,2,3\n", side="R", pressure_unit="kPa", flow_unit="ml/s").recordings[0]
    assert r.dp_pa.tolist() == [0.0, 2000.0]


def test_time_without_unit_is_seconds() -> None:
    assert read_csv("t,dp [Pa],flow [ml/s]\n0,0,0\n2,1,1\n", side="L").recordings[0].t_s.tolist() == [0.0, 2.0]


@pytest.mark.parametrize(("word", "side"), [
    ("L", Side.LEFT), ("left", Side.LEFT), ("links", Side.LEFT), ("Li", Side.LEFT),
    ("R", Side.RIGHT), ("right", Side.RIGHT), ("rechts", Side.RIGHT), ("RE", Side.RIGHT),
])
def test_side_words_in_the_side_column(word: str, side: Side) -> None:
    text = f"t_s;Seite;dP [Pa];Flow [ml/s]\n0;{word};0;0\n0,01;{word};1;2\n"
    assert read_csv(text).sides == (side,)


def test_both_sides_in_one_file_interleaved() -> None:
    text = "t_s,side,dp_pa,flow_ml_s\n0,L,1,2\n0,R,3,4\n1,L,5,6\n1,R,7,8\n"
    m = read_csv(text)
    assert m.recording(Side.LEFT).dp_pa.tolist() == [1.0, 5.0]
    assert m.recording(Side.RIGHT).flow_ml_s.tolist() == [4.0, 8.0]


def test_one_file_per_side_from_metadata_argument_and_files(tmp_path: Path) -> None:
    body = "t_s,dp_pa,flow_ml_s\n0,0,0\n0.01,1,2\n"
    assert read_csv(f"# side: rechts\n{body}").sides == (Side.RIGHT,)
    assert read_csv(body, side=Side.LEFT).sides == (Side.LEFT,)
    assert read_csv(f"# side: right\n{body}", side="R").sides == (Side.RIGHT,)
    (tmp_path / "l.csv").write_text(f"# device: D\n{body}", encoding="utf-8")
    (tmp_path / "r.csv").write_text(f"# side: right\n# date: 2026-01-05\n{body}", encoding="utf-8")
    both = read_csv_files([tmp_path / "l.csv", tmp_path / "r.csv"], sides=["left", None])
    assert both.sides == (Side.LEFT, Side.RIGHT)
    assert (both.metadata.device, both.metadata.date) == ("D", dt.date(2026, 1, 5))


def test_german_metadata_and_tolerant_keys() -> None:
    text = ("# Gerät: Rhino 9000\n# Datum: 04.03.2026\n# abgeschwollen: ja\n# Abtastrate: 100 Hz\n"
            "# Vorzeichen: neg\n# Untersucher: Dr. X\n# a plain comment\n"
            "t_s;side;dp_pa;flow_ml_s\n0;L;0;0\n0,01;L;1;2\n0,02;L;2;3\n")
    meta = read_csv(text).metadata
    assert (meta.device, meta.date, meta.decongested, meta.sample_rate_hz) == ("Rhino 9000", dt.date(2026, 3, 4), True, 100.0)
    assert meta.inspiration_sign is SignConvention.INSPIRATION_NEGATIVE
    assert meta.extra == (("untersucher", "Dr. X"),)


def test_byte_order_mark_and_windows_1252(tmp_path: Path) -> None:
    assert read_csv("\ufefft_s,side,dp_pa,flow_ml_s\n0,L,0,0\n1,L,1,1\n").sides == (Side.LEFT,)
    path = tmp_path / "export.csv"
    path.write_bytes("Zeit [s];Fluss [cm³/s];Druck [Pa]\n0;0;0\n0,5;4;1\n".encode("cp1252"))
    r = read_csv_file(path, side="L").recordings[0]
    assert r.flow_ml_s.tolist() == [0.0, 4.0] and r.dp_pa.tolist() == [0.0, 1.0]


def test_empty_cells_and_nan_are_dropouts() -> None:
    r = read_csv("t_s,side,dp_pa,flow_ml_s\n0,L,,1\n1,L,nan,NaN\n2,L,3,4\n").recordings[0]
    assert np.isnan(r.dp_pa[:2]).all() and np.isnan(r.flow_ml_s[1]) and r.flow_ml_s[2] == 4.0


def test_unknown_columns_and_trailing_separators_are_ignored() -> None:
    text = "t_s;side;marker;dp_pa;flow_ml_s;\n0;L;x;0;0;\n1;L;;2;3;\n"
    assert read_csv(text).recordings[0].flow_ml_s.tolist() == [0.0, 3.0]


HEADER = "t_s,side,dp_pa,flow_ml_s\n"


@pytest.mark.parametrize(("text", "kwargs", "message"), [
    ("t_s;side;dP [psi];flow_ml_s\n0;L;0;0\n", {}, r"Column 'dP \[psi\]': Unknown pressure unit 'psi'; use one of Pa"),
    ("t_s,side,flow_ml_s\n0,L,0\n", {}, r"header: The header has no pressure column \(found: 't_s', 'side', 'flow_ml_s'\); name it dp_pa"),
    ("# device: x\n", {}, "has no header line"),
    (HEADER, {}, "has a header but no data rows"),
    ("t_s;side;dp_pa;flow_ml_s\n0;L;0;0\n1,L,2,3\n", {}, r"line 3: 1 fields where the header has 4 \(separator ';'\). The line mixes separators"),
    (HEADER + "0,L,0,0\n0,01,L,1,5,4\n", {}, r"line 3: 6 fields where the header has 4 \(separator ','\). Decimal commas cannot be told"),
    (HEADER + "0,L,0,0\n1,L,abc,4\n", {}, r"line 3: pressure 'abc' is not a number"),
    ("t_s;side;dp_pa;flow_ml_s\n0;L;1.234,5;0\n", {}, r"line 2: pressure '1.234,5' mixes '.' and ','"),
    (HEADER + "0,L,0,0\n,L,1,1\n", {}, "line 3: the time is empty"),
    (HEADER + "0,L,0,0\n1,X,1,1\n", {}, "line 3: Unknown side 'X'"),
    (HEADER + "0,L,0,0\n1,,1,1\n", {}, "line 3: the side is empty; write L or R"),
    ("t_s,dp_pa,flow_ml_s\n0,0,0\n", {}, "no side column and no side stated"),
    (HEADER + "0,L,0,0\n1,R,1,1\n", {"side": "L"}, "line 3: side right in a file declared as left"),
    ("# side: left\nt_s,dp_pa,flow_ml_s\n0,0,0\n", {"side": "R"}, "the file says side left but side=right was given"),
    ("# flow_unit: l/s\nt_s,side,dp_pa,Flow [ml/s]\n0,L,0,0\n1,L,1,1\n", {}, r"the flow unit is ambiguous: the header 'Flow \[ml/s\]' and the '# flow_unit' line disagree"),
    ("t_s,side,dp_pa,flow\n0,L,0,0\n1,L,1,1\n", {}, r"the flow column 'flow' states no unit; write it in the header \('Flow \[ml/s\]'\)"),
    ("t,side,dp,flow_ml_s\n0,L,0,0\n1,L,1,1\n", {}, "the pressure column 'dp' states no unit"),
    (HEADER + "0,L,0,0\n1,L,1,1\n0.5,L,2,2\n", {}, "line 4: time 0.5 does not come after the previous left-side time 1; sort the rows"),
    ("# date: 2026-01-01\n# date: 2026-01-02\n" + HEADER, {}, r"line 2: date is stated twice"),
    ("# format: rhinoapp-4pr 2\n" + HEADER, {}, "format version 2; this rhinoapp reads version 1: update rhinoapp"),
    ("# date: 03/04/2026\n" + HEADER, {}, r"line 1: the date '03/04/2026' is invalid or ambiguous; write it as YYYY-MM-DD"),
    ("# date: 2026-02-30\n" + HEADER, {}, "invalid or ambiguous"),
    ("# decongested: maybe\n" + HEADER, {}, "decongested is 'maybe'; write yes, no or unknown"),
    ("# sample_rate_hz: fast\n" + HEADER, {}, "the sample rate 'fast' is not a number"),
    ("# inspiration_sign: up\n" + HEADER, {}, "line 1: Unknown inspiration sign"),
    ("# pressure_unit: bar\n" + HEADER, {}, "line 1: Unknown pressure unit 'bar'"),
    ("t_s,side,dp_pa,P [Pa],flow_ml_s\n", {}, "Columns 'dp_pa' and 'P \\[Pa\\]' both look like pressure"),
    ("a;b\n1;2\n", {}, "fewer than three columns for every separator"),
    ("# sample_rate_hz: 50\n" + HEADER + "0,L,0,0\n0.01,L,1,1\n0.02,L,1,1\n", {}, r"the CSV text: left side: the metadata state 50 Hz"),
    (HEADER + "0,L,0,0\n1,L,1e9,1\n", {}, "dp_pa reaches 1e\\+09 Pa, beyond the plausible"),
])
def test_refusals_say_where_and_what_to_do(text: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        read_csv(text, **kwargs)


def test_unit_argument_contradicting_the_header() -> None:
    with pytest.raises(ValidationError, match=r"the header 'dP \[Pa\]' and pressure_unit='kPa' disagree"):
        read_csv("t_s;side;dP [Pa];flow_ml_s\n0;L;0;0\n", pressure_unit="kPa")


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "left.csv"
    path.write_text(HEADER + "0,L,0,0\n1,L,x,1\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"^left\.csv, line 3: pressure 'x' is not a number"):
        read_csv_file(path)


def test_damaged_workbooks_are_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValidationError, match="export.xlsx is not a readable XLSX workbook .*; save it again as an"
                                              " Excel Workbook"):
        read_csv_file(path)
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest")
    with pytest.raises(ValidationError, match=r"old Excel 97-2003 format \(.xls\); save it as an Excel Workbook"):
        read_csv_file(path)


def test_undecodable_bytes_give_a_validation_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ValidationError):
        read_csv_file(path)


def test_one_file_per_side_refusals(tmp_path: Path) -> None:
    body = "t_s,dp_pa,flow_ml_s\n0,0,0\n1,1,1\n"
    (tmp_path / "a.csv").write_text(body, encoding="utf-8")
    with pytest.raises(ValidationError, match="Two files hold the same side"):
        read_csv_files([tmp_path / "a.csv", tmp_path / "a.csv"], sides=["L", "L"])
    with pytest.raises(ValidationError, match="Give one side per file: 2 files but 1 sides"):
        read_csv_files([tmp_path / "a.csv", tmp_path / "a.csv"], sides=["L"])


def test_text_of_more_lines_than_a_recording_can_have_is_refused_before_parsing() -> None:
    from rhinoapp.core.limits import LimitError
    from rhinoapp.rhinomanometry.xlsx import HEADER_SEARCH_ROWS, MAX_ROWS

    text = "t_s,side,dp_pa,flow_ml_s\n" + "0,L,0,0\n" * (MAX_ROWS + HEADER_SEARCH_ROWS)
    with pytest.raises(LimitError, match=r"1,000,101 lines, more than the 1,000,000 samples"):
        read_csv(text)
