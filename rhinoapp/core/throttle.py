"""Login rate limiting: after a few failures a name or address waits before it may try again."""

from __future__ import annotations

import collections
import dataclasses

__all__ = ["LoginThrottle"]


@dataclasses.dataclass
class LoginThrottle:
    """Counts failed logins per key (a user name, a client address) in a sliding window.

    Times are passed in (seconds on a monotonic clock), so the rule is a pure function of the calls.

    Examples
    --------
    >>> throttle = LoginThrottle(max_failures=2, window_s=60.0)
    >>> throttle.fail(("ana", "10.0.0.1"), now=0.0); throttle.fail(("ana", "10.0.0.1"), now=1.0)
    >>> throttle.blocked(("ana", "10.0.0.9"), now=2.0), throttle.blocked(("bob", "10.0.0.9"), now=2.0)
    (True, False)
    >>> throttle.blocked(("ana",), now=62.0)
    False
    """

    max_failures: int = 5
    window_s: float = 300.0
    _failures: dict[str, collections.deque[float]] = dataclasses.field(default_factory=dict)

    def _recent(self, key: str, now: float) -> collections.deque[float]:
        times = self._failures.setdefault(key, collections.deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, keys: tuple[str, ...], *, now: float) -> bool:
        """Whether any of ``keys`` had ``max_failures`` failures within the window."""
        return any(len(self._recent(key, now)) >= self.max_failures for key in keys)

    def fail(self, keys: tuple[str, ...], *, now: float) -> None:
        """Count one failed attempt against each key."""
        for key in keys:
            self._recent(key, now)
            self._failures.setdefault(key, collections.deque()).append(now)

    def succeed(self, keys: tuple[str, ...]) -> None:
        """Forget the failures of ``keys`` after a successful login."""
        for key in keys:
            self._failures.pop(key, None)
