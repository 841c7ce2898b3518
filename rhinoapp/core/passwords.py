"""Password hashing with scrypt (memory-hard, in the standard library) and constant-time checks.

A hash is stored as ``scrypt$<n>$<r>$<p>$<salt>$<digest>`` (salt and digest base64), so the cost
can be raised later without making old hashes unreadable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from rhinoapp.core.errors import ValidationError

__all__ = ["MIN_PASSWORD_LENGTH", "hash_password", "verify_password"]

#: Shortest password accepted for an account.
MIN_PASSWORD_LENGTH = 10
_N, _R, _P = 2**14, 8, 1  # 16 MiB of memory per hash
_MAX_MEMORY = 64 * 1024 * 1024


def _digest(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=32)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``; too short a password raises :class:`ValidationError`.

    Examples
    --------
    >>> stored = hash_password("correct horse battery")
    >>> stored.startswith("scrypt$16384$8$1$"), verify_password("correct horse battery", stored)
    (True, True)
    >>> hash_password("short")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: The password is shorter than 10 characters: choose a longer one.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"The password is shorter than {MIN_PASSWORD_LENGTH} characters: choose a longer one.")
    salt = secrets.token_bytes(16)
    encoded = [base64.b64encode(part).decode("ascii") for part in (salt, _digest(password, salt, _N, _R, _P))]
    return "$".join(["scrypt", str(_N), str(_R), str(_P), *encoded])


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (False for a malformed or empty hash).

    Examples
    --------
    >>> stored = hash_password("correct horse battery")
    >>> verify_password("wrong horse battery", stored), verify_password("x", "not a hash")
    (False, False)
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _digest(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
