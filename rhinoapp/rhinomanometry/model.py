"""Values of a four-phase rhinomanometry (4PR) measurement: sides, phases, metadata, recordings.

A :class:`Measurement` is the metadata plus one :class:`Recording` per measured nasal side.
Arrays are always in canonical units (time in s, pressure difference in Pa, flow in ml/s) and
kept *as recorded*: the sign convention of inspiration is stored in :class:`Metadata` and
:meth:`Measurement.normalised` flips both signals when inspiration was recorded negative.
Constructors validate; every :class:`~rhinoapp.core.errors.ValidationError` states the rule.

Examples
--------
>>> import numpy as np
>>> rec = Recording(Side.LEFT, t_s=[0.0, 0.01, 0.02], dp_pa=[0, 5, 9], flow_ml_s=[0, 20, 35])
>>> m = Measurement(Metadata(device="demo", sample_rate_hz=100), (rec,))
>>> [s.value for s in m.sides]
['left']
>>> float(m.recording(Side.LEFT).dp_pa[2])
9.0
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from rhinoapp.core.errors import ValidationError

__all__ = [
    "MAX_PLAUSIBLE_DP_PA",
    "MAX_PLAUSIBLE_DURATION_S",
    "MAX_PLAUSIBLE_FLOW_ML_S",
    "RESERVED_KEYS",
    "Measurement",
    "Metadata",
    "Phase",
    "Recording",
    "Side",
    "SignConvention",
    "merge_measurements",
]

#: Beyond these magnitudes the numbers are almost surely in another unit.
MAX_PLAUSIBLE_DP_PA = 5000.0
MAX_PLAUSIBLE_FLOW_ML_S = 5000.0
MAX_PLAUSIBLE_DURATION_S = 3600.0


class Side(enum.Enum):
    """The measured nasal side."""

    LEFT = "left"
    RIGHT = "right"

    @property
    def letter(self) -> str:
        """``'L'`` or ``'R'``, as written in the CSV ``side`` column.

        Examples
        --------
        >>> Side.RIGHT.letter
        'R'
        """
        return "L" if self is Side.LEFT else "R"

    @classmethod
    def parse(cls, text: str | Side) -> Side:
        """Read ``L``, ``R``, ``left``, ``right``, ``links``, ``rechts``, ``li``, ``re`` (any case).

        Examples
        --------
        >>> Side.parse("Rechts")
        <Side.RIGHT: 'right'>
        """
        if isinstance(text, Side):
            return text
        key = str(text).strip().strip(".").lower()
        if key in _SIDE_WORDS:
            return _SIDE_WORDS[key]
        raise ValidationError(
            f"Unknown side {text!r}; write L or R (left/right, links/rechts are accepted too)."
        )


_SIDE_WORDS = {
    **dict.fromkeys(("l", "left", "links", "li", "lt", "sin", "sinister"), Side.LEFT),
    **dict.fromkeys(("r", "right", "rechts", "re", "rt", "dex", "dexter"), Side.RIGHT),
}


class Phase(enum.Enum):
    """The four phases of a breath, in breathing order (inspiration first)."""

    ACCELERATING_INSPIRATION = "accelerating inspiration"
    DECELERATING_INSPIRATION = "decelerating inspiration"
    ACCELERATING_EXPIRATION = "accelerating expiration"
    DECELERATING_EXPIRATION = "decelerating expiration"

    @property
    def is_inspiration(self) -> bool:
        """True for the two inspiratory phases.

        Examples
        --------
        >>> Phase.DECELERATING_INSPIRATION.is_inspiration
        True
        """
        return self in (Phase.ACCELERATING_INSPIRATION, Phase.DECELERATING_INSPIRATION)

    @property
    def is_accelerating(self) -> bool:
        """True while the magnitude of the flow grows (from zero flow to the flow peak)."""
        return self in (Phase.ACCELERATING_INSPIRATION, Phase.ACCELERATING_EXPIRATION)


class SignConvention(enum.Enum):
    """Sign of pressure and flow during inspiration, as the device recorded them."""

    INSPIRATION_POSITIVE = "positive"
    INSPIRATION_NEGATIVE = "negative"

    @classmethod
    def parse(cls, text: str | SignConvention) -> SignConvention:
        """Read ``positive``/``negative`` (also ``+``, ``-``, ``pos``, ``neg``).

        Examples
        --------
        >>> SignConvention.parse("neg")
        <SignConvention.INSPIRATION_NEGATIVE: 'negative'>
        """
        if isinstance(text, SignConvention):
            return text
        key = str(text).strip().lower()
        if key in ("positive", "pos", "+", "inspiration positive"):
            return cls.INSPIRATION_POSITIVE
        if key in ("negative", "neg", "-", "inspiration negative"):
            return cls.INSPIRATION_NEGATIVE
        raise ValidationError(
            f"Unknown inspiration sign {text!r}; write 'positive' when inspiration has positive"
            " pressure and flow, 'negative' otherwise."
        )


_EXTRA_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
#: Keys that the CSV header uses for fields; ``Metadata.extra`` may not repeat them.
RESERVED_KEYS = frozenset({"format", "device", "date", "decongested", "sample_rate_hz", "inspiration_sign",
                           "side", "time_unit", "pressure_unit", "flow_unit"})


@dataclasses.dataclass(frozen=True)
class Metadata:
    """What is known about a measurement besides the signals.

    ``decongested`` is None when unknown, ``sample_rate_hz`` None when not stated. ``extra``
    keeps further ``key: value`` pairs of an imported file in order. The units of the arrays
    are fixed (:attr:`TIME_UNIT`, :attr:`PRESSURE_UNIT`, :attr:`FLOW_UNIT`); importers convert.

    Examples
    --------
    >>> Metadata(sample_rate_hz=-5)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: sample_rate_hz must be a positive number of samples per second, not -5; leave it empty when unknown.
    """

    TIME_UNIT: ClassVar[str] = "s"
    PRESSURE_UNIT: ClassVar[str] = "Pa"
    FLOW_UNIT: ClassVar[str] = "ml/s"

    device: str = ""
    date: dt.date | None = None
    decongested: bool | None = None
    sample_rate_hz: float | None = None
    inspiration_sign: SignConvention = SignConvention.INSPIRATION_POSITIVE
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.device, str) or any(c in self.device for c in "\r\n"):
            raise ValidationError("device must be one line of text (no line breaks).")
        object.__setattr__(self, "device", self.device.strip())
        if isinstance(self.date, dt.datetime):
            object.__setattr__(self, "date", self.date.date())
        elif self.date is not None and not isinstance(self.date, dt.date):
            raise ValidationError(f"date must be a datetime.date or None, not {type(self.date).__name__}.")
        if self.decongested is not None and not isinstance(self.decongested, bool):
            raise ValidationError("decongested must be True, False or None (unknown).")
        rate = self.sample_rate_hz
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
                raise ValidationError(
                    f"sample_rate_hz must be a positive number of samples per second, not {rate!r};"
                    " leave it empty when unknown."
                )
            object.__setattr__(self, "sample_rate_hz", float(rate))
        object.__setattr__(self, "inspiration_sign", SignConvention.parse(self.inspiration_sign))
        pairs = tuple((str(k), str(v)) for k, v in self.extra)
        for key, value in pairs:
            if not _EXTRA_KEY.match(key) or key in RESERVED_KEYS or any(c in value for c in "\r\n"):
                raise ValidationError(
                    f"Extra metadata {key!r}: keys are lower-case letters, digits and '_' starting"
                    " with a letter and no field name, values are one line of text."
                )
        object.__setattr__(self, "extra", pairs)


def _as_array(name: str, values: Any) -> np.ndarray:
    try:
        array = np.array(values, dtype=float)  # a copy, so the caller cannot change it later
    except (TypeError, ValueError) as error:
        raise ValidationError(f"{name} must be numbers: {error}.") from None
    if array.ndim != 1:
        raise ValidationError(f"{name} must be one-dimensional, not of shape {array.shape}.")
    array.setflags(write=False)
    return array


@dataclasses.dataclass(frozen=True, eq=False)
class Recording:
    """The signals of one side: time [s], pressure difference [Pa], volume flow [ml/s].

    Rules: the three arrays are one-dimensional with equal lengths of at least two samples;
    time is finite and strictly increasing; pressure and flow may hold NaN (dropouts) but no
    infinities; magnitudes stay within plausible limits (5000 Pa, 5000 ml/s, one hour), which
    catches values in another unit. The arrays are read-only copies.

    Examples
    --------
    >>> Recording(Side.LEFT, t_s=[0, 1, 1], dp_pa=[0, 1, 2], flow_ml_s=[0, 1, 2])
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: left side: time must increase strictly, but sample 2 (1 s) does not come after sample 1 (1 s); sort the samples by time and remove duplicates.
    """

    side: Side
    t_s: np.ndarray
    dp_pa: np.ndarray
    flow_ml_s: np.ndarray

    def __post_init__(self) -> None:
        side = Side.parse(self.side)
        object.__setattr__(self, "side", side)
        label = f"{side.value} side"
        for name in ("t_s", "dp_pa", "flow_ml_s"):
            object.__setattr__(self, name, _as_array(f"{label}: {name}", getattr(self, name)))
        t, dp, flow = self.t_s, self.dp_pa, self.flow_ml_s
        if not len(t) == len(dp) == len(flow):
            raise ValidationError(
                f"{label}: t_s, dp_pa and flow_ml_s must have equal lengths, not {len(t)}, {len(dp)}"
                f" and {len(flow)}; give one pressure and one flow value per time."
            )
        if len(t) < 2:
            raise ValidationError(f"{label}: a recording needs at least two samples, not {len(t)}.")
        if not np.all(np.isfinite(t)):
            index = int(np.flatnonzero(~np.isfinite(t))[0])
            raise ValidationError(f"{label}: time of sample {index} is {t[index]}; every sample needs a finite time.")
        steps = np.diff(t)
        if np.any(steps <= 0):
            i = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise ValidationError(
                f"{label}: time must increase strictly, but sample {i} ({t[i]:g} s) does not come after"
                f" sample {i - 1} ({t[i - 1]:g} s); sort the samples by time and remove duplicates."
            )
        if t[-1] - t[0] > MAX_PLAUSIBLE_DURATION_S:
            raise ValidationError(
                f"{label}: the recording spans {t[-1] - t[0]:g} s, more than an hour; is the time in"
                " ms? Convert it to seconds or state the unit (for example 't [ms]')."
            )
        for name, values, limit, unit in (("dp_pa", dp, MAX_PLAUSIBLE_DP_PA, "Pa"),
                                          ("flow_ml_s", flow, MAX_PLAUSIBLE_FLOW_ML_S, "ml/s")):
            if np.any(np.isinf(values)):
                raise ValidationError(f"{label}: {name} holds infinite values; use NaN for dropouts.")
            peak = float(np.nanmax(np.abs(values))) if np.any(np.isfinite(values)) else 0.0
            if peak > limit:
                raise ValidationError(
                    f"{label}: {name} reaches {peak:g} {unit}, beyond the plausible {limit:g} {unit} of"
                    f" nasal breathing; check the unit of the source data and convert it to {unit}."
                )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Recording):
            return NotImplemented
        return self.side is other.side and all(
            np.array_equal(getattr(self, n), getattr(other, n), equal_nan=True)
            for n in ("t_s", "dp_pa", "flow_ml_s")
        )

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.t_s)

    def inverted(self) -> Recording:
        """The same recording with pressure and flow multiplied by -1.

        Examples
        --------
        >>> float(Recording(Side.LEFT, [0, 1], [2, 3], [4, 5]).inverted().flow_ml_s[1])
        -5.0
        """
        return Recording(self.side, self.t_s, -self.dp_pa, -self.flow_ml_s)


@dataclasses.dataclass(frozen=True)
class Measurement:
    """Metadata plus the recordings of one or both sides (each side at most once).

    Recordings are kept in the order left, right. When the metadata state a sample rate, the
    median time step of every recording must match it within 2 %.

    Examples
    --------
    >>> r = Recording(Side.RIGHT, [0, 0.02, 0.04], [0, 1, 2], [0, 3, 6])
    >>> Measurement(Metadata(sample_rate_hz=100), (r,))
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: right side: the metadata state 100 Hz but the median time step is 0.02 s (50 Hz); correct sample_rate_hz or the time column.
    """

    metadata: Metadata
    recordings: tuple[Recording, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.metadata, Metadata):
            raise ValidationError("metadata must be a Metadata value.")
        recordings = tuple(self.recordings)
        if not recordings or not all(isinstance(r, Recording) for r in recordings):
            raise ValidationError("A measurement needs one or two Recording values (left and/or right side).")
        sides = [r.side for r in recordings]
        if len(set(sides)) != len(sides):
            raise ValidationError(
                "Each side may be recorded once per measurement; keep one recording per side"
                " (make a second measurement for repeated recordings)."
            )
        recordings = tuple(sorted(recordings, key=lambda r: list(Side).index(r.side)))
        rate = self.metadata.sample_rate_hz
        if rate is not None:
            for r in recordings:
                step = float(np.median(np.diff(r.t_s)))
                if abs(step * rate - 1.0) > 0.02:
                    raise ValidationError(
                        f"{r.side.value} side: the metadata state {rate:g} Hz but the median time step"
                        f" is {step:g} s ({1 / step:g} Hz); correct sample_rate_hz or the time column."
                    )
        object.__setattr__(self, "recordings", recordings)

    @property
    def sides(self) -> tuple[Side, ...]:
        """The measured sides, left first."""
        return tuple(r.side for r in self.recordings)

    def recording(self, side: Side) -> Recording | None:
        """The recording of ``side``, or None when that side was not measured."""
        return next((r for r in self.recordings if r.side is side), None)

    def normalised(self) -> Measurement:
        """This measurement with inspiration positive (both signals flipped when needed).

        Examples
        --------
        >>> r = Recording(Side.LEFT, [0, 1], [-3, -4], [-10, -12])
        >>> m = Measurement(Metadata(inspiration_sign="negative"), (r,)).normalised()
        >>> m.metadata.inspiration_sign.value, float(m.recordings[0].dp_pa[0])
        ('positive', 3.0)
        """
        if self.metadata.inspiration_sign is SignConvention.INSPIRATION_POSITIVE:
            return self
        metadata = dataclasses.replace(self.metadata, inspiration_sign=SignConvention.INSPIRATION_POSITIVE)
        return Measurement(metadata, tuple(r.inverted() for r in self.recordings))


def merge_measurements(measurements: Sequence[Measurement]) -> Measurement:
    """Join measurements of different sides (one file per side) into one.

    The metadata must agree, except that an empty field (no device, no date, unknown
    decongestion or sample rate) is filled from the other file. Extra keys are joined. When
    the files state different sign conventions, every side is normalised to inspiration
    positive first.

    Examples
    --------
    >>> left = Measurement(Metadata(device="X"), (Recording(Side.LEFT, [0, 1], [0, 1], [0, 2]),))
    >>> right = Measurement(Metadata(), (Recording(Side.RIGHT, [0, 1], [0, 2], [0, 2]),))
    >>> both = merge_measurements([left, right])
    >>> both.metadata.device, [s.letter for s in both.sides]
    ('X', ['L', 'R'])
    """
    if not measurements:
        raise ValidationError("Nothing to merge: give at least one measurement.")
    if len({m.metadata.inspiration_sign for m in measurements}) > 1:
        measurements = [m.normalised() for m in measurements]
    merged = measurements[0].metadata
    for other in measurements[1:]:
        values: dict[str, Any] = {}
        for field in ("device", "date", "decongested", "sample_rate_hz"):
            mine, theirs = getattr(merged, field), getattr(other.metadata, field)
            if mine in (None, ""):
                values[field] = theirs
            elif theirs not in (None, "") and theirs != mine:
                raise ValidationError(
                    f"The files disagree on {field} ({mine} and {theirs}); correct the metadata so"
                    " that both sides come from the same measurement."
                )
        extra = dict(merged.extra)
        for key, value in other.metadata.extra:
            extra.setdefault(key, value)
        merged = dataclasses.replace(merged, **values, extra=tuple(extra.items()))
    recordings = tuple(r for m in measurements for r in m.recordings)
    return Measurement(merged, recordings)
