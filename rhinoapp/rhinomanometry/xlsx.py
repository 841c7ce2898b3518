"""4PR recordings in XLSX workbooks (Excel): the sheets turned into text in the CSV layout.

A sheet is read like a CSV file (:mod:`rhinoapp.rhinomanometry.io`): metadata rows above
the header, a header row naming the columns and their units, one row per sample below.
:func:`sheet_texts` turns each row into one tab-separated line, so the CSV reader's rules
and messages apply unchanged and its line numbers are the sheet's row numbers.

Layout of a sheet
-----------------
* **Header**: the first row (of the first :data:`HEADER_SEARCH_ROWS`) with at least three
  cells that name a time, a pressure and a flow column (and optionally a side column).
* **Metadata** rows above it: ``# key: value`` in one cell, or the key in one cell and the
  value in the next (``device`` | ``Rhinomanometer XY``, ``sample rate:`` | ``100``). Date
  cells, numbers and TRUE/FALSE are accepted as values. A row of one cell without ``:`` is a
  comment.
* **Samples**: numbers, or text as in a CSV file (``1,5``); empty cells are dropouts. Formula
  cells count with the value Excel last saved in the file.

Choosing the sheet
------------------
Hidden sheets are ignored. The sheet read is the one with a header. Headers on several sheets
are ambiguous and refused, unless every such sheet is named after a side (``Left``/``Right``,
``L``/``R``, ``links``/``rechts``): one sheet per side, like one CSV file per side.
``sheet=`` names the sheet to read instead.

Limits
------
A workbook is a zip archive: its directory is checked before openpyxl opens it (at most
:data:`MAX_MEMBERS` members, unpacking to at most ``max_unpacked_bytes``, by default
:data:`UNPACK_FACTOR` times the 4PR upload limit). The sheet's own size claims are ignored;
rows are read up to :data:`MAX_ROWS`, and cells up to column :data:`MAX_COLUMNS` (cells right of
it are not read: a 4PR table's few columns are at the left).

Examples
--------
>>> import io, openpyxl
>>> book = openpyxl.Workbook()
>>> for row in (["device", "Rhino 9000"], ["Zeit [ms]", "Seite", "dP [Pa]", "Flow [ml/s]"], [0, "L", 0, 0]):
...     book.active.append(row)
>>> buffer = io.BytesIO(); book.save(buffer)
>>> [found] = sheet_texts(buffer.getvalue())
>>> found.text.splitlines()
['# device: Rhino 9000', 'Zeit [ms]\\tSeite\\tdP [Pa]\\tFlow [ml/s]', '0\\tL\\t0\\t0']
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import LimitError, setting_hint
from rhinoapp.rhinomanometry.columns import recognise
from rhinoapp.rhinomanometry.model import Side

__all__ = ["DEFAULT_MAX_UNPACKED_BYTES", "HEADER_SEARCH_ROWS", "MAX_COLUMNS", "MAX_MEMBERS", "MAX_ROWS", "UNPACK_FACTOR",
           "SheetText", "is_workbook", "sheet_texts"]

log = logging.getLogger(__name__)

#: How many rows from the top of a sheet are searched for the header.
HEADER_SEARCH_ROWS = 100
#: More rows than this in one sheet is not a 4PR recording (1000 Hz for over 8 minutes per side).
MAX_ROWS = 1_000_000
#: Cells right of this column are not read (a recording has a handful of columns).
MAX_COLUMNS = 64
#: Most members of the workbook's zip archive (an Excel workbook has a few dozen).
MAX_MEMBERS = 1_000
#: A workbook may unpack to this many times the upload size limit (XML compresses well).
UNPACK_FACTOR = 20
#: The unpacked size limit at the default 4PR upload limit of 10 MB.
DEFAULT_MAX_UNPACKED_BYTES = UNPACK_FACTOR * 10_000_000
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls


@dataclasses.dataclass(frozen=True)
class SheetText:
    """One sheet as CSV text; ``side`` is the side its name states (None if it names none)."""

    name: str
    text: str
    side: Side | None


def is_workbook(content: bytes, filename: str = "") -> bool:
    """True when ``content`` (or the file name's extension) looks like an Excel workbook.

    Examples
    --------
    >>> is_workbook(b"t_s,side,dp_pa,flow_ml_s"), is_workbook(b"PK\\x03\\x04..."), is_workbook(b"", "a.XLSX")
    (False, True, True)
    """
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    return content.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or suffix in ("xlsx", "xlsm", "xls")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return " ".join(str(value).split())  # one line: line breaks and tabs inside a cell become spaces


def _trimmed(row: Iterable[Any]) -> list[str]:
    cells = [_cell_text(v) for v in row]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _metadata_line(cells: list[str]) -> str:
    """A row above the header as a ``# key: value`` line (or a ``#`` comment)."""
    filled = [c for c in cells if c]
    if filled and filled[0].lstrip("#").strip() == "":
        filled = filled[1:]  # '#' alone in the first cell
    if not filled:
        return ""
    first = filled[0].lstrip("#").strip()
    rest = " ".join(filled[1:])
    if not rest or ":" in first or "=" in first:
        return f"# {first} {rest}".rstrip()
    return f"# {first.rstrip(':=').strip()}: {rest}"


def _looks_like_header(cells: Sequence[str]) -> bool:
    filled = [c for c in cells if c]
    return len(filled) >= 3 and not filled[0].startswith("#")


def _header_problem(rows: Sequence[list[str]]) -> str:
    """Why no row is a header: the CSV reader's message for the first row of column names."""
    for number, cells in enumerate(rows, 1):
        texts = [c for c in cells if c]
        if _looks_like_header(cells) and sum(not c[0].isdigit() and c[0] not in "+-." for c in texts) >= 2:
            try:
                recognise(cells)
            except ValidationError as error:
                return f"row {number}: {error}"
    return ("no header row naming the time, pressure and flow columns (for example t_s, side, dp_pa,"
            " flow_ml_s) in its first rows")


def _sheet_text(rows: Iterable[tuple[Any, ...]], name: str, source: str) -> tuple[str | None, str]:
    """The sheet as CSV text, or None and the reason it holds no 4PR table."""
    rows = iter(rows)
    head: list[list[str]] = []
    header_at = None
    for row in rows:
        cells = _trimmed(row)
        head.append(cells)
        if _looks_like_header(cells):
            try:
                recognise(cells)
            except ValidationError:
                pass
            else:
                header_at = len(head) - 1
                break
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    if header_at is None:
        return None, _header_problem(head)
    data = []
    for count, row in enumerate(rows, header_at + 2):
        if count > MAX_ROWS:
            raise LimitError(f"{source}, sheet {name!r} has more than {MAX_ROWS:,} rows, far more than a 4PR"
                             " recording (a fixed limit); keep only the recording's samples on the sheet.")
        data.append(_trimmed(row))
    width = max(len(c) for c in (head[header_at], *data))
    lines = [_metadata_line(cells) for cells in head[:header_at]]
    for cells in (head[header_at], *data):
        padded = cells + [""] * (width - len(cells))
        lines.append("\t".join(f'"{c.replace(chr(34), chr(34) * 2)}"' if '"' in c else c for c in padded)
                     if cells else "")
    return "\n".join(lines) + "\n", ""


def _check_package(content: bytes, max_unpacked_bytes: int) -> None:
    """Refuse a workbook whose zip directory holds too many members or unpacks too far (before opening it)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # openpyxl says the file is damaged
    if len(members) > MAX_MEMBERS:
        raise LimitError(f"the workbook's archive holds {len(members):,} parts, more than the {MAX_MEMBERS:,} an Excel "
                         "workbook has (a fixed limit); save the recording again as an Excel Workbook (.xlsx) or "
                         "export it as CSV.")
    unpacked = sum(m.file_size for m in members)  # zipfile never inflates a member beyond its declared size
    if unpacked > max_unpacked_bytes:
        raise LimitError(f"the workbook unpacks to {unpacked / 1e6:,.1f} MB, more than the limit of "
                         f"{max_unpacked_bytes / 1e6:,.1f} MB ({UNPACK_FACTOR} times the upload limit); "
                         f"{setting_hint('max_upload_mb')}, or export the recording as CSV.")


def _open(content: bytes, source: str, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> Any:
    import openpyxl  # imported here: only workbooks need it, and it takes a while to import
    from openpyxl.utils.exceptions import InvalidFileException

    if content.startswith(_OLE_MAGIC):
        raise ValidationError(f"{source} is in the old Excel 97-2003 format (.xls); save it as an Excel"
                              " Workbook (.xlsx) or export it as CSV.")
    _check_package(content, max_unpacked_bytes)
    try:
        return openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        log.info("%s is not a readable workbook: %s", source, error)
        raise ValidationError(f"{source} is not a readable XLSX workbook (the file is damaged or in another"
                              " format); save it again as an Excel Workbook (.xlsx) or export it as CSV.") from None


def _side_of(name: str) -> Side | None:
    try:
        return Side.parse(name)
    except ValidationError:
        return None


def sheet_texts(content: bytes, *, sheet: str | None = None, source: str = "the workbook",
                max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> tuple[SheetText, ...]:
    """The sheet (or one sheet per side) holding the recording, as CSV text.

    Parameters
    ----------
    content
        The bytes of an ``.xlsx`` (or ``.xlsm``) file.
    sheet
        Name of the sheet to read; by default the one sheet with a header (see the module).
    source
        Name used in error messages, for example the file name.
    max_unpacked_bytes
        Most bytes the workbook's archive may unpack to (see the module's Limits).

    Raises
    ------
    ValidationError
        When the file is no workbook, no sheet or more than one holds a 4PR table, or the
        named sheet does not exist; the message says what to change. A
        :class:`~rhinoapp.core.limits.LimitError` when it is above a limit.
    """
    book = _open(content, source, max_unpacked_bytes)
    try:
        sheets = [ws for ws in book.worksheets if ws.sheet_state == "visible" or ws.title == sheet]
        if sheet is not None:
            chosen = [ws for ws in sheets if ws.title == sheet]
            if not chosen:
                names = ", ".join(repr(ws.title) for ws in book.worksheets)
                raise ValidationError(f"{source} has no sheet {sheet!r} (sheets: {names}); give one of these names.")
            sheets = chosen
        found, problems = [], []
        for ws in sheets:
            ws.reset_dimensions()  # the sheet's claimed size is not trusted: rows end with their last cell
            text, problem = _sheet_text(ws.iter_rows(values_only=True, max_col=MAX_COLUMNS), ws.title, source)
            if text is None:
                problems.append(f"sheet {ws.title!r}, {problem}")
            else:
                found.append(SheetText(ws.title, text, _side_of(ws.title)))
    finally:
        book.close()
    if not found:
        if len(problems) == 1:
            raise ValidationError(f"{source}, {problems[0]}")
        raise ValidationError(f"{source}: no sheet holds a 4PR table with time, pressure and flow columns ("
                              + "; ".join(problems) + "). Put the recording on one sheet with a header row.")
    sides = [f.side for f in found]
    if len(found) > 1 and (None in sides or len(set(sides)) != len(sides)):
        names = ", ".join(repr(f.name) for f in found)
        raise ValidationError(f"{source}: several sheets hold 4PR tables ({names}), so it is not clear which one"
                              " to read; keep only the recording's sheet, or name the sheets Left and Right when"
                              " each holds one side.")
    return tuple(found)
