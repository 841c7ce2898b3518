"""The one JSON sanitiser: results of any layer to strict JSON, NaN and infinities as ``null``.

Strict JSON has no NaN: a missing number is written as ``null`` and read back as ``None``.
Numpy values are converted through their ``tolist`` method, so this module needs only the stdlib.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["finite_or_none", "json_bytes", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses and mappings as dicts (text keys), enums as their
    values, tuples and arrays as lists, numpy numbers as Python numbers, non-finite floats as
    ``None``, dates as ISO text.

    Examples
    --------
    >>> class Side(enum.Enum):
    ...     LEFT = "left"
    >>> to_jsonable({Side.LEFT: (1, float("nan"), float("inf")), 2: dt.date(2026, 1, 31)})
    {'left': [1, None, None], '2': '2026-01-31'}
    >>> import numpy as np
    >>> to_jsonable({"a": np.float32(1.5), "b": np.arange(2), "c": np.bool_(True), "d": np.array([np.nan])})
    {'a': 1.5, 'b': [0, 1], 'c': True, 'd': [None]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if callable(getattr(value, "tolist", None)):  # numpy arrays and scalars
        return to_jsonable(value.tolist())
    return value


def json_bytes(value: Any, *, indent: int | None = 2) -> bytes:
    """Strict JSON (UTF-8, ending in a newline) of :func:`to_jsonable` ``(value)``, for files.

    Raises :class:`TypeError` for values JSON cannot hold (say, an arbitrary object).

    Examples
    --------
    >>> json_bytes({"dp_pa": float("nan"), "flow": 250}, indent=None)
    b'{"dp_pa": null, "flow": 250}\\n'
    """
    return (json.dumps(to_jsonable(value), indent=indent, allow_nan=False) + "\n").encode()


def finite_or_none(value: Any) -> float | None:
    """A number read from a JSON document as a finite float, or ``None`` when it is missing,
    not a number, NaN or infinite.

    Examples
    --------
    >>> finite_or_none("2.5"), finite_or_none(None), finite_or_none("n/a"), finite_or_none(float("nan"))
    (2.5, None, None, None)
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
