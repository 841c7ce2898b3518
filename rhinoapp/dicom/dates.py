"""Shifting DICOM dates (DA), times (TM) and date-times (DT) by one offset, keeping intervals.

A date and its time (``StudyDate`` with ``StudyTime``) move together as one instant, so a shift
across midnight changes the date too. A date alone moves by a whole number of days (the shift
applied at noon) and a time alone moves by the shift's time of day; both are the same for every
value of one patient, so intervals stay exact. Values are returned at their original precision.
Unreadable values give ``None``: the caller removes them.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["shift_date", "shift_date_time", "shift_datetime", "shift_time"]

_NOON = dt.timedelta(hours=12)
_DT_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")
_TM_RE = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?$")


def _parse_date(text: str) -> dt.date | None:
    digits = text.strip().replace(".", "") if len(text.strip()) == 10 else text.strip()
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _parse_time(text: str) -> tuple[dt.timedelta, int, int] | None:
    """Offset from midnight, number of HH/MM/SS fields (1-3) and fraction digits (0-6)."""
    match = _TM_RE.match(text.strip().replace(":", ""))
    if not match:
        return None
    hours, minutes, seconds, fraction = match.groups()
    fields = 1 + (minutes is not None) + (seconds is not None)
    h, m, s = int(hours), int(minutes or 0), int(seconds or 0)
    if h > 23 or m > 59 or s > 60:
        return None
    micro = int((fraction or ".0")[1:].ljust(6, "0"))
    return dt.timedelta(hours=h, minutes=m, seconds=min(s, 59), microseconds=micro), fields, len(fraction or ".") - 1


def _format_time(moment: dt.datetime, fields: int, fraction_digits: int) -> str:
    text = moment.strftime("%H%M%S")[: 2 * fields]
    if fields == 3 and fraction_digits:
        text += "." + f"{moment.microsecond:06d}"[:fraction_digits]
    return text


def shift_date(value: str, shift: dt.timedelta) -> str | None:
    """Shift a lone date by the whole days the shift makes at noon.

    Examples
    --------
    >>> shift_date("20240131", dt.timedelta(days=-400, hours=13))
    '20221228'
    """
    date = _parse_date(value)
    if date is None:
        return None
    try:
        return (dt.datetime.combine(date, dt.time()) + _NOON + shift).strftime("%Y%m%d")
    except OverflowError:
        return None


def shift_time(value: str, shift: dt.timedelta) -> str | None:
    """Shift a lone time by the shift's time of day, wrapping at midnight.

    Examples
    --------
    >>> shift_time("2330", dt.timedelta(days=-3, hours=1)), shift_time("235959.25", dt.timedelta(seconds=2))
    ('0030', '000001.25')
    """
    parsed = _parse_time(value)
    if parsed is None:
        return None
    offset, fields, fraction_digits = parsed
    moment = dt.datetime(2000, 1, 1) + offset + dt.timedelta(seconds=shift.seconds, microseconds=shift.microseconds)
    return _format_time(moment, fields, fraction_digits)


def shift_date_time(date: str, time: str, shift: dt.timedelta) -> tuple[str | None, str | None]:
    """Shift a date and its time as one instant (a shift across midnight moves the date).

    Examples
    --------
    >>> shift_date_time("20240131", "235000", dt.timedelta(minutes=20))
    ('20240201', '001000')
    """
    day, parsed = _parse_date(date), _parse_time(time)
    if day is None or parsed is None:
        return shift_date(date, shift), shift_time(time, shift)
    offset, fields, fraction_digits = parsed
    try:
        moment = dt.datetime.combine(day, dt.time()) + offset + shift
    except OverflowError:
        return None, None
    return moment.strftime("%Y%m%d"), _format_time(moment, fields, fraction_digits)


def shift_datetime(value: str, shift: dt.timedelta) -> str | None:
    """Shift a DT value; its UTC offset suffix is kept, its precision too.

    Examples
    --------
    >>> shift_datetime("20240131235500.5+0100", dt.timedelta(minutes=10))
    '20240201000500.5+0100'
    >>> shift_datetime("202403", dt.timedelta(days=-40))
    '202401'
    """
    match = _DT_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if hour is None:
        try:
            base = dt.datetime(int(year), int(month or 1), int(day or 1)) + _NOON + shift
        except (ValueError, OverflowError):
            return None
        digits = 4 + 2 * (month is not None) + 2 * (day is not None)
        return base.strftime("%Y%m%d")[:digits] + (zone or "")
    time = hour + (minute or "") + (second or "") + (fraction or "")
    parsed = _parse_time(time)
    try:
        if parsed is None:
            return None
        moment = dt.datetime(int(year), int(month), int(day)) + parsed[0] + shift
    except (ValueError, OverflowError):
        return None
    return moment.strftime("%Y%m%d") + _format_time(moment, parsed[1], parsed[2]) + (zone or "")
