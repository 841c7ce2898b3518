"""Reading the cells of a 4PR table: column names in several languages, units, numbers, dates.

A header cell is a name and an optional unit, written ``dP [Pa]``, ``Flow (cm3/s)`` or as a
suffix after the first underscore, ``flow_ml_s`` or ``time_ms``. Names are matched without
case, spaces, ``_ - . '``, accents or combining dots (``V̇`` is ``v``, ``ΔP`` is ``dp``):

============  ===============================================================================
role          accepted names
============  ===============================================================================
time          t, time, zeit
side          side, seite, nostril, nasenseite
pressure      dp, p, deltap, pressure, druck, differenzdruck, druckdifferenz, ...
flow          flow, v, q, flowrate, volumeflow, fluss, volumenstrom, ...
============  ===============================================================================

Cells with other names are ignored; a role found twice is an error.

Examples
--------
>>> [(c.role, c.unit) for c in recognise(["t_s", "side", "dP [Pa]", "Flow (cm³/s)"])]
[('time', 's'), ('side', None), ('pressure', 'Pa'), ('flow', 'ml/s')]
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Sequence

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.units import canonical_unit

__all__ = ["Column", "parse_date", "parse_number", "recognise", "split_line"]

_MISSING = {"", "nan", "na", "n/a", "null", "none"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

_NAMES: dict[str, str] = {
    **dict.fromkeys(("t", "time", "zeit", "times"), "time"),
    **dict.fromkeys(("side", "seite", "nostril", "nasenseite"), "side"),
    **dict.fromkeys(("dp", "p", "deltap", "pressure", "druck", "differenzdruck", "druckdifferenz",
                     "pressuredifference", "differentialpressure", "transnasalpressure"), "pressure"),
    **dict.fromkeys(("flow", "v", "q", "flowrate", "volumeflow", "fluss", "volumenstrom", "durchfluss",
                     "airflow"), "flow"),
}
_UNIT_QUANTITY = {"time": "time", "pressure": "pressure", "flow": "flow"}
_CELL = re.compile(r"^(?P<name>.*?)\s*(?:[\[(]\s*(?P<unit>[^\])]*?)\s*[\])])?\s*$")


@dataclasses.dataclass(frozen=True)
class Column:
    """A recognised column: its position, role, unit (None when the header names none)."""

    index: int
    role: str
    header: str
    unit: str | None


def _key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.replace("Δ", "d").replace("δ", "d"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[\s_\-.'’`]", "", text)


def _unit(role: str, unit: str, header: str) -> str:
    try:
        return canonical_unit(_UNIT_QUANTITY[role], unit)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ValidationError(f"Column {header!r}: {error}") from None


def _parse_cell(index: int, cell: str) -> Column | None:
    header = cell.strip().strip('"').strip()
    match = _CELL.match(header)
    name, unit = (match.group("name"), match.group("unit")) if match else (header, None)
    role = _NAMES.get(_key(name))
    if role is None and "_" in name:  # suffix form: flow_ml_s, dp_pa, t_s, time_ms
        prefix, suffix = name.split("_", 1)
        role = _NAMES.get(_key(prefix))
        if role is None or role == "side" or unit is not None:
            return None
        try:
            canonical_unit(_UNIT_QUANTITY[role], suffix.replace("_", "/"))  # type: ignore[arg-type]
        except ValidationError:
            return None  # 'time_stamp' is not a time in 'stamp'; leave unknown columns alone
        unit = suffix.replace("_", "/")
    if role is None:
        return None
    if role == "side":
        return Column(index, role, header, None)
    return Column(index, role, header, _unit(role, unit, header) if unit else None)


def recognise(cells: Sequence[str], *, require_side: bool = False) -> list[Column]:
    """Recognise the header cells; raise :class:`ValidationError` when a column is missing or doubled.

    Examples
    --------
    >>> recognise(["time", "pressure"])
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: The header has no flow column (found: 'time', 'pressure'); name it flow_ml_s or, for example, 'Flow [ml/s]'.
    """
    found: dict[str, Column] = {}
    for index, cell in enumerate(cells):
        column = _parse_cell(index, cell)
        if column is None:
            continue
        if column.role in found:
            raise ValidationError(
                f"Columns {found[column.role].header!r} and {column.header!r} both look like {column.role};"
                " keep one or rename the other."
            )
        found[column.role] = column
    hints = {"time": "t_s or, for example, 'Time [s]'", "pressure": "dp_pa or, for example, 'dP [Pa]'",
             "flow": "flow_ml_s or, for example, 'Flow [ml/s]'", "side": "side (values L or R)"}
    for role in ("time", "pressure", "flow", *(("side",) if require_side else ())):
        if role not in found:
            shown = ", ".join(repr(c.strip()) for c in cells)
            raise ValidationError(f"The header has no {role} column (found: {shown}); name it {hints[role]}.")
    return sorted(found.values(), key=lambda c: c.index)


def split_line(line: str, sep: str) -> list[str]:
    """Split one line at ``sep``; quoted cells may contain the separator.

    Examples
    --------
    >>> split_line('0,"1,5",L', ",")
    ['0', '1,5', 'L']
    """
    if '"' not in line:
        return [cell.strip() for cell in line.split(sep)]
    return [cell.strip() for cell in next(csv.reader([line], delimiter=sep))]


def parse_number(text: str, where: str, what: str) -> float:
    """Read a number with ``.`` or ``,`` as decimal mark; empty or ``nan`` cells are NaN.

    ``where`` and ``what`` name the cell in error messages.

    Examples
    --------
    >>> parse_number("-1,5", "line 3", "flow"), parse_number("", "line 3", "flow")
    (-1.5, nan)
    >>> parse_number("1.234,5", "line 3", "flow")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: line 3: flow '1.234,5' mixes '.' and ',' (or repeats ','); write the number without thousands separators, with one decimal mark.
    """
    cell = text.strip().strip('"').strip().replace("\u2212", "-")
    if cell.lower() in _MISSING:
        return math.nan
    if "," in cell:
        if "." in cell or cell.count(",") > 1:
            raise ValidationError(f"{where}: {what} {text!r} mixes '.' and ',' (or repeats ','); write the"
                                  " number without thousands separators, with one decimal mark.")
        cell = cell.replace(",", ".")
    if not _NUMBER.match(cell):
        raise ValidationError(f"{where}: {what} {text!r} is not a number; write digits with '.' or ',' as"
                              " decimal mark, or leave the cell empty for a dropout.")
    return float(cell)


def parse_date(value: str, where: str) -> dt.date | None:
    """Read ``YYYY-MM-DD`` (a time after it is ignored) or ``DD.MM.YYYY``; empty is None.

    Examples
    --------
    >>> parse_date("31.01.2026", "line 2")
    datetime.date(2026, 1, 31)
    """
    if not value:
        return None
    for pattern, order in ((r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$", (0, 1, 2)), (r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", (2, 1, 0))):
        match = re.match(pattern, value)
        if match:
            parts = [int(match.group(i + 1)) for i in range(3)]
            try:
                return dt.date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError:
                break
    raise ValidationError(f"{where}: the date {value!r} is invalid or ambiguous; write it as YYYY-MM-DD.")
