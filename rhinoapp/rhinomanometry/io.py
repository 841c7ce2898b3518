"""The open rhinoapp 4PR CSV format: a writer, and a tolerant reader for common variants.

Format (version 1)
------------------
UTF-8 text. Metadata lines come first, each ``# key: value``; then one header line and one
row per sample::

    # format: rhinoapp-4pr 1
    # device: Rhinomanometer XY (firmware 2.1)
    # date: 2026-01-31
    # decongested: no
    # sample_rate_hz: 100.0
    # inspiration_sign: positive
    # time_unit: s
    # pressure_unit: Pa
    # flow_unit: ml/s
    t_s,side,dp_pa,flow_ml_s
    0.0,L,0.0,0.0
    0.01,L,0.51,3.9

* ``format``: ``rhinoapp-4pr`` and the version; files of a newer version are refused.
* ``device``: free text. ``date``: ``YYYY-MM-DD`` (empty when unknown).
* ``decongested``: ``yes``, ``no`` or ``unknown``.
* ``sample_rate_hz``: samples per second (empty when unknown); must match the time steps.
* ``inspiration_sign``: ``positive`` when pressure and flow are positive during inspiration,
  ``negative`` otherwise. Values are stored as recorded; the analysis normalises them.
* ``time_unit``, ``pressure_unit``, ``flow_unit``: units of the columns (s, Pa, ml/s).
* Other keys are kept as extra metadata.
* Columns: time [s], side (``L`` or ``R``), pressure difference [Pa], flow [ml/s]. Each side's
  rows have strictly increasing times; both sides may share the file. Numbers use ``.``;
  an empty cell or ``nan`` marks a dropout (not allowed in ``t_s``).

Tolerated on reading
--------------------
* Separators ``,``, ``;``, tab or ``|``, found from the header; quotes around cells.
* Decimal commas (``12,5``) where the separator is not a comma (or the cell is quoted). A
  number holding both ``.`` and ``,`` is refused: thousands separators are not supported.
* Column names in English or German with units in the header: ``Zeit [ms]``, ``dP [Pa]``,
  ``Flow [cm3/s]``, ``V (l/s)``, ``flow_l_min`` (see :mod:`~rhinoapp.rhinomanometry.columns`);
  values are converted to s, Pa and ml/s (:mod:`~rhinoapp.rhinomanometry.units`).
* Side written ``L``, ``R``, ``left``, ``right``, ``links``, ``rechts``, ``li``, ``re``.
* One file per side: no side column, the side from ``# side: right`` or ``side=``;
  :func:`read_csv_files` joins the files of both sides.
* Metadata keys ``datum``, ``sample_rate``, ``fs``, ``sign`` and similar; ``ja``/``nein``; dates
  as ``DD.MM.YYYY``.

Anything ambiguous is an error that names the line: a unit that is unknown or contradicts
another statement, a pressure or flow column without unit, a missing column, a line whose
fields do not match the header (mixed separators, decimal commas in a comma-separated file),
a cell that is not a number, a side that is not stated.

XLSX workbooks are read too (:func:`read_xlsx`; :func:`read_bytes` and :func:`read_csv_file`
tell them from text by their content): each sheet is laid out like the CSV file, and
:mod:`~rhinoapp.rhinomanometry.xlsx` says how the sheet is chosen.

Examples
--------
>>> from rhinoapp.rhinomanometry.model import Measurement, Metadata, Recording, Side
>>> rec = Recording(Side.LEFT, [0.0, 0.01], [0.0, 1.5], [0.0, 4.0])
>>> text = write_csv(Measurement(Metadata(device="demo"), (rec,)))
>>> print(text.splitlines()[-1])
0.01,L,1.5,4.0
>>> read_csv(text).recordings[0] == rec
True
>>> m = read_csv("Zeit [ms];dP [Pa];Flow [cm3/s]\\n0;0;0\\n10;1,5;4\\n", side="links")
>>> m.recordings[0].t_s.tolist(), m.sides[0].value
([0.0, 0.01], 'left')
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import LimitError
from rhinoapp.core.files import atomic_write
from rhinoapp.rhinomanometry.columns import Column, parse_date, parse_number, recognise, split_line
from rhinoapp.rhinomanometry.model import (
    Measurement,
    Metadata,
    Recording,
    Side,
    SignConvention,
    merge_measurements,
)
from rhinoapp.rhinomanometry.units import conversion_factor
from rhinoapp.rhinomanometry.xlsx import DEFAULT_MAX_UNPACKED_BYTES, HEADER_SEARCH_ROWS, MAX_ROWS, is_workbook, sheet_texts

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "read_bytes", "read_csv", "read_csv_file", "read_csv_files",
           "read_xlsx", "write_csv", "write_csv_file"]

log = logging.getLogger(__name__)

FORMAT_NAME = "rhinoapp-4pr"
FORMAT_VERSION = 1
_SEPARATORS = (",", ";", "\t", "|")
_FIELDS = frozenset({"format", "device", "date", "decongested", "sample_rate_hz", "inspiration_sign", "side",
                     "time_unit", "pressure_unit", "flow_unit"})
_ALIASES = {
    **dict.fromkeys(("format_version", "version"), "format"),
    **dict.fromkeys(("geraet", "gerat", "instrument"), "device"),
    **dict.fromkeys(("datum", "measurement_date"), "date"),
    **dict.fromkeys(("abgeschwollen", "decongestion"), "decongested"),
    **dict.fromkeys(("sample_rate", "sampling_rate", "sampling_rate_hz", "samplerate", "fs", "abtastrate"),
                    "sample_rate_hz"),
    **dict.fromkeys(("sign", "sign_convention", "inspiration", "vorzeichen"), "inspiration_sign"),
    "seite": "side",
}
_YES = {"yes": True, "y": True, "ja": True, "j": True, "true": True, "1": True,
        "no": False, "n": False, "nein": False, "false": False, "0": False, "unknown": None, "": None}


def _number_text(x: float) -> str:
    return repr(float(x))  # shortest text that reads back to the same float; 'nan' for dropouts


def write_csv(measurement: Measurement) -> str:
    """Write ``measurement`` in the rhinoapp 4PR CSV format (text, ``\\n`` line ends)."""
    meta = measurement.metadata
    decongested = {True: "yes", False: "no", None: "unknown"}[meta.decongested]
    lines = [
        f"# format: {FORMAT_NAME} {FORMAT_VERSION}",
        f"# device: {meta.device}",
        f"# date: {meta.date.isoformat() if meta.date else ''}",
        f"# decongested: {decongested}",
        f"# sample_rate_hz: {_number_text(meta.sample_rate_hz) if meta.sample_rate_hz else ''}",
        f"# inspiration_sign: {meta.inspiration_sign.value}",
        f"# time_unit: {Metadata.TIME_UNIT}",
        f"# pressure_unit: {Metadata.PRESSURE_UNIT}",
        f"# flow_unit: {Metadata.FLOW_UNIT}",
        *(f"# {key}: {value}" for key, value in meta.extra),
        "t_s,side,dp_pa,flow_ml_s",
    ]
    for rec in measurement.recordings:
        letter = rec.side.letter
        lines.extend(f"{_number_text(t)},{letter},{_number_text(p)},{_number_text(v)}"
                     for t, p, v in zip(rec.t_s, rec.dp_pa, rec.flow_ml_s, strict=True))
    return "\n".join(lines) + "\n"


def write_csv_file(measurement: Measurement, path: str | PathLike[str]) -> None:
    """Write :func:`write_csv` text to ``path`` as UTF-8, atomically."""
    atomic_write(Path(path), write_csv(measurement).encode("utf-8"))


def _metadata_value(key: str, value: str, where: str) -> Any:
    if key == "format":
        version = re.search(r"(?:^|\s)v?(\d+)\s*$", value)
        if version and int(version.group(1)) > FORMAT_VERSION:
            raise ValidationError(f"{where}: the file has format version {version.group(1)}; this rhinoapp reads"
                                  f" version {FORMAT_VERSION}: update rhinoapp.")
        return value
    if key == "date":
        return parse_date(value, where)
    if key == "decongested":
        if value.lower() not in _YES:
            raise ValidationError(f"{where}: decongested is {value!r}; write yes, no or unknown.")
        return _YES[value.lower()]
    if key == "sample_rate_hz":
        if not value:
            return None
        rate = parse_number(re.sub(r"\s*hz$", "", value, flags=re.IGNORECASE), where, "the sample rate")
        return None if math.isnan(rate) else rate
    try:
        if key == "inspiration_sign":
            return SignConvention.parse(value)
        if key == "side":
            return Side.parse(value) if value else None
        if key.endswith("_unit"):
            return conversion_factor(key.removesuffix("_unit"), value) if value else None  # type: ignore[arg-type]
    except ValidationError as error:
        raise ValidationError(f"{where}: {error}") from None
    return value


def _read_metadata(lines: list[str], source: str) -> tuple[dict[str, Any], tuple[tuple[str, str], ...], int]:
    """Parse the leading ``# key: value`` lines; return them, the extras and the header's index."""
    values: dict[str, Any] = {}
    seen: dict[str, str] = {}
    extra: dict[str, str] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            return values, tuple(extra.items()), index
        match = re.match(r"^([^:=]+?)\s*[:=]\s*(.*)$", stripped.lstrip("#").strip())
        if not match:
            continue  # a plain comment
        folded = unicodedata.normalize("NFKD", match.group(1).lower()).encode("ascii", "ignore").decode()
        key = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
        key = _ALIASES.get(key, key) if key[:1].isalpha() else f"x_{key}"
        value = match.group(2).strip().rstrip(";,\t|").strip()
        where = f"{source}, line {index + 1}"
        if key in seen and seen[key] != value:
            raise ValidationError(f"{where}: {key} is stated twice ({seen[key]!r} and {value!r}); keep one line.")
        seen[key] = value
        if key in _FIELDS:
            values[key] = _metadata_value(key, value, where)
        else:
            extra[key] = value
    raise ValidationError(f"{source} has no header line; after the '# key: value' lines write the column names,"
                          " for example t_s,side,dp_pa,flow_ml_s.")


def _choose_separator(header: str, source: str) -> tuple[str, list[Column], int]:
    """The separator at which the header splits into recognisable columns (rows must follow it)."""
    options, failures = [], []
    for sep in _SEPARATORS:
        cells = split_line(header, sep)
        if len(cells) < 3:
            continue
        try:
            options.append((sep, recognise(cells), len(cells)))
        except ValidationError as error:
            failures.append((len(cells), str(error)))
    if not options:
        detail = max(failures)[1] if failures else (
            f"the header {header.strip()!r} has fewer than three columns for every separator , ; tab |")
        raise ValidationError(f"{source}, header: {detail}")
    if len(options) > 1:
        raise ValidationError(f"{source}: the separator is ambiguous (the header splits into columns at more"
                              " than one of , ; tab |); use one separator throughout.")
    return options[0]


def _field_count_error(where: str, count: int, expected: int, sep: str, line: str) -> ValidationError:
    shown = "tab" if sep == "\t" else repr(sep)
    hint = ""
    if sep == "," and count > expected:
        hint = " Decimal commas cannot be told from separators in a comma-separated file: export with ';' as" \
               " separator or '.' as decimal mark."
    elif any(other in line for other in _SEPARATORS if other != sep):
        hint = " The line mixes separators; use one separator throughout."
    return ValidationError(f"{where}: {count} fields where the header has {expected} (separator {shown}).{hint}")


def _resolve_unit(role: str, column: Column, stated: float | None, given: str | None, source: str) -> float:
    factors = {}
    if column.unit is not None:
        factors[f"the header {column.header!r}"] = conversion_factor(role, column.unit)  # type: ignore[arg-type]
    if stated is not None:
        factors[f"the '# {role}_unit' line"] = stated
    if given is not None:
        factors[f"{role}_unit={given!r}"] = conversion_factor(role, given)  # type: ignore[arg-type]
    if len(set(factors.values())) > 1:
        raise ValidationError(f"{source}: the {role} unit is ambiguous: {' and '.join(factors)} disagree; state"
                              " one unit.")
    if factors:
        return next(iter(factors.values()))
    if role == "time":
        log.info("%s: time column %r has no unit; assuming seconds", source, column.header)
        return 1.0
    example = "dP [Pa]" if role == "pressure" else "Flow [ml/s]"
    raise ValidationError(f"{source}: the {role} column {column.header!r} states no unit; write it in the header"
                          f" ({example!r}), add a '# {role}_unit: ...' line or pass {role}_unit=.")


def read_csv(
    text: str,
    *,
    side: Side | str | None = None,
    time_unit: str | None = None,
    pressure_unit: str | None = None,
    flow_unit: str | None = None,
    source: str = "the CSV text",
) -> Measurement:
    """Parse 4PR CSV text (the format and the tolerated variants are in the module docstring).

    Parameters
    ----------
    text
        The file's content.
    side
        The side of a one-side file without a side column; must agree with the file otherwise.
    time_unit, pressure_unit, flow_unit
        Units of columns whose header states none; must agree with the file otherwise.
    source
        Name used in error messages, for example the file name.

    Raises
    ------
    ValidationError
        For anything missing or ambiguous; the message names the line and what to change.
    """
    lines = text.lstrip("\ufeff").splitlines()
    if len(lines) > MAX_ROWS + HEADER_SEARCH_ROWS:
        raise LimitError(f"{source} has {len(lines):,} lines, more than the {MAX_ROWS:,} samples a 4PR recording can "
                         "have (a fixed limit: 1000 Hz for over 8 minutes per side); keep only the recording's samples.")
    meta, extra, header_index = _read_metadata(lines, source)
    rows = [(n, line) for n, line in enumerate(lines[header_index + 1:], header_index + 2)
            if line.strip() and not line.lstrip().startswith("#")]
    sep, columns, width = _choose_separator(lines[header_index], source)
    by_role = {c.role: c for c in columns}
    declared = Side.parse(side) if side is not None else None
    if declared and meta.get("side") and meta["side"] is not declared:
        raise ValidationError(f"{source}: the file says side {meta['side'].value} but side={declared.value} was"
                              " given; pass the side the file holds.")
    declared = declared or meta.get("side")
    if "side" not in by_role and declared is None:
        raise ValidationError(f"{source}: no side column and no side stated; add a side column (L/R), a"
                              " '# side: left' line, or pass side= for a one-side file.")
    samples: dict[Side, list[tuple[int, float, float, float]]] = {}
    for n, line in rows:
        where = f"{source}, line {n}"
        cells = split_line(line, sep)
        if len(cells) != width:
            raise _field_count_error(where, len(cells), width, sep, line)
        t = parse_number(cells[by_role["time"].index], where, "time")
        if not math.isfinite(t):
            raise ValidationError(f"{where}: the time is empty; every row needs a time.")
        row_side = declared
        if "side" in by_role and cells[by_role["side"].index].strip('" '):
            try:
                row_side = Side.parse(cells[by_role["side"].index].strip('" '))
            except ValidationError as error:
                raise ValidationError(f"{where}: {error}") from None
            if declared is not None and row_side is not declared:
                raise ValidationError(f"{where}: side {row_side.value} in a file declared as {declared.value};"
                                      " give one file per side or drop the side= argument.")
        if row_side is None:
            raise ValidationError(f"{where}: the side is empty; write L or R.")
        pressure = parse_number(cells[by_role["pressure"].index], where, "pressure")
        samples.setdefault(row_side, []).append((n, t, pressure,
                                                 parse_number(cells[by_role["flow"].index], where, "flow")))
    if not samples:
        raise ValidationError(f"{source} has a header but no data rows; export the samples too.")
    given = {"time": time_unit, "pressure": pressure_unit, "flow": flow_unit}
    factors = {role: _resolve_unit(role, by_role[role], meta.get(f"{role}_unit"), given[role], source)
               for role in ("time", "pressure", "flow")}
    recordings = []
    for row_side, values in samples.items():
        array = np.array([v[1:] for v in values], dtype=float) * [factors["time"], factors["pressure"], factors["flow"]]
        back = np.flatnonzero(np.diff(array[:, 0]) <= 0)
        if len(back):
            n_line, t_prev = values[back[0] + 1][0], values[back[0]][1]
            raise ValidationError(f"{source}, line {n_line}: time {values[back[0] + 1][1]:g} does not come after the"
                                  f" previous {row_side.value}-side time {t_prev:g}; sort the rows by time.")
        recordings.append((row_side, array))
    try:
        metadata = Metadata(device=meta.get("device", ""), date=meta.get("date"), decongested=meta.get("decongested"),
                            sample_rate_hz=meta.get("sample_rate_hz"),
                            inspiration_sign=meta.get("inspiration_sign", SignConvention.INSPIRATION_POSITIVE),
                            extra=extra)
        return Measurement(metadata, tuple(Recording(s, a[:, 0], a[:, 1], a[:, 2]) for s, a in recordings))
    except ValidationError as error:
        raise ValidationError(f"{source}: {error}") from None


def read_xlsx(content: bytes, *, sheet: str | None = None, source: str = "the workbook",
              max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES, **options: Any) -> Measurement:
    """Read a 4PR recording from XLSX bytes; ``options`` as :func:`read_csv`.

    ``sheet`` names the sheet to read; by default the one sheet with a header, or one sheet per
    side named after the side (see :mod:`~rhinoapp.rhinomanometry.xlsx`). Messages name the
    sheet and the row. The workbook may unpack to at most ``max_unpacked_bytes``.

    Examples
    --------
    >>> import io, openpyxl
    >>> book = openpyxl.Workbook()
    >>> for row in (["t [ms]", "dP [Pa]", "Flow [ml/s]"], [0, 0, 0], [10, "1,5", 4]):
    ...     book.active.append(row)
    >>> buffer = io.BytesIO(); book.save(buffer)
    >>> read_xlsx(buffer.getvalue(), side="L").recordings[0].dp_pa.tolist()
    [0.0, 1.5]
    """
    side = options.pop("side", None)
    sheets = sheet_texts(content, sheet=sheet, source=source, max_unpacked_bytes=max_unpacked_bytes)
    if len(sheets) > 1 and side is not None:
        raise ValidationError(f"{source} holds one sheet per side, named after the side; leave out side=.")
    parts = []
    for found in sheets:
        where = f"{source}, sheet {found.name!r}"
        try:
            parts.append(read_csv(found.text, source=where, side=found.side if len(sheets) > 1 else side, **options))
        except ValidationError as error:
            raise ValidationError(str(error).replace(f"{where}, line ", f"{where}, row ")) from None
    return merge_measurements(parts)


def read_bytes(content: bytes, *, filename: str = "the file", sheet: str | None = None,
               max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES, **options: Any) -> Measurement:
    """Read an uploaded 4PR file: an XLSX workbook or CSV text (UTF-8, else Windows-1252).

    ``filename`` names the file in messages; ``sheet``, ``max_unpacked_bytes`` and ``options``
    as :func:`read_xlsx`.

    Examples
    --------
    >>> read_bytes(b"t_s;dP [Pa];Flow [ml/s]\\n0;0;0\\n0,01;1;2\\n", filename="a.csv", side="R").sides
    (<Side.RIGHT: 'right'>,)
    """
    if is_workbook(content, filename):
        return read_xlsx(content, sheet=sheet, source=filename, max_unpacked_bytes=max_unpacked_bytes, **options)
    if sheet is not None:
        raise ValidationError(f"{filename} is a text file, not a workbook; leave out sheet=.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.info("%s is not UTF-8; reading it as Windows-1252", filename)
        text = content.decode("cp1252", errors="replace")
    return read_csv(text, source=filename, **options)


def read_csv_file(path: str | PathLike[str], **options: Any) -> Measurement:
    """Read a 4PR CSV file (UTF-8, or Windows-1252 as a fallback) or XLSX workbook; see :func:`read_bytes`.

    Raises :class:`OSError` when the file cannot be read.
    """
    file = Path(path)
    return read_bytes(file.read_bytes(), filename=file.name, **options)


def read_csv_files(paths: Sequence[str | PathLike[str]], *, sides: Sequence[Side | str | None] | None = None,
                   **options: Any) -> Measurement:
    """Read one file per side and join them (see :func:`~rhinoapp.rhinomanometry.model.merge_measurements`).

    ``sides`` gives the side of each file that does not state it; None entries leave it to the file.
    """
    chosen = list(sides) if sides is not None else [None] * len(paths)
    if len(chosen) != len(paths):
        raise ValidationError(f"Give one side per file: {len(paths)} files but {len(chosen)} sides.")
    parts = [read_csv_file(p, side=s, **options) for p, s in zip(paths, chosen, strict=True)]
    seen = [side for part in parts for side in part.sides]
    if len(set(seen)) != len(seen):
        raise ValidationError("Two files hold the same side; give one file per side (left and right).")
    return merge_measurements(parts)
