"""Types, errors and rules shared by every layer; imports nothing heavier than the stdlib."""

from rhinoapp.core.errors import (
    ConfigurationError,
    ConflictError,
    NotFoundError,
    RhinoappError,
    StoreError,
    ValidationError,
)
from rhinoapp.core.project import Project, validate_description, validate_name
from rhinoapp.core.workflow import (
    JobState,
    Step,
    StepJob,
    StepOutput,
    StepState,
    StepStatus,
    derive_statuses,
)

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "JobState",
    "NotFoundError",
    "Project",
    "RhinoappError",
    "Step",
    "StepJob",
    "StepOutput",
    "StepState",
    "StepStatus",
    "StoreError",
    "ValidationError",
    "derive_statuses",
    "validate_description",
    "validate_name",
]
