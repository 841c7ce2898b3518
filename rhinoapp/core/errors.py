"""The project's error hierarchy.

Every error rhinoapp raises on purpose subclasses :class:`RhinoappError` *and* the builtin
exception that fits, so callers can catch either. Messages say what was wrong and what to do.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DivergenceError",
    "NotFoundError",
    "PermissionDeniedError",
    "RhinoappError",
    "SimulationError",
    "StoreError",
    "ValidationError",
]


class RhinoappError(Exception):
    """Base class of all errors raised by rhinoapp.

    Examples
    --------
    >>> try:
    ...     raise ValidationError("name is empty; type a project name")
    ... except RhinoappError as error:
    ...     str(error)
    'name is empty; type a project name'
    """


class ValidationError(RhinoappError, ValueError):
    """A value broke a rule; the message states the rule and how to comply."""


class ConfigurationError(RhinoappError, ValueError):
    """The settings (file, environment or command line) are unusable."""


class StoreError(RhinoappError, OSError):
    """The data directory or the database cannot be used as they are."""


class NotFoundError(RhinoappError, LookupError):
    """A requested record does not exist for the current user."""


class PermissionDeniedError(RhinoappError, PermissionError):
    """The current user may see a record but not do this to it (a viewer editing, a non-admin managing users)."""


class ConflictError(RhinoappError, ValueError):
    """The request clashes with existing data, for example a duplicate project name."""


class SimulationError(RhinoappError, RuntimeError):
    """A flow simulation cannot run or went wrong (diverged, out of memory); the message names the remedy."""


class DivergenceError(SimulationError):
    """A flow simulation became unstable: ``step`` is when, ``place`` the LPS point (mm) of its fastest cell.

    Examples
    --------
    >>> error = DivergenceError("the simulation diverged at step 900: refine the grid", step=900, place=(1.0, 2.0, 3.0))
    >>> isinstance(error, SimulationError), error.step, error.place
    (True, 900, (1.0, 2.0, 3.0))
    """

    def __init__(self, message: str, *, step: int = 0, place: tuple[float, float, float] | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.place = place
