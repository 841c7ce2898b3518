"""Who may do what to a project, and the closed vocabulary of the audit log.

The store enforces the roles (:mod:`rhinoapp.store.access`); these values name them.
"""

from __future__ import annotations

import enum

__all__ = ["AuditAction", "AuditOutcome", "Role"]


class Role(enum.Enum):
    """A user's role on a project: a viewer reads, an editor also changes and runs, the owner also shares and deletes.

    Examples
    --------
    >>> Role("viewer").can_edit, Role.EDITOR.can_edit, Role.OWNER.can_share
    (False, True, True)
    """

    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def can_edit(self) -> bool:
        """Whether this role may change the project (uploads, edits, jobs)."""
        return self is not Role.VIEWER

    @property
    def can_share(self) -> bool:
        """Whether this role may share, unshare or delete the project."""
        return self is Role.OWNER


class AuditAction(enum.Enum):
    """What an audit event records (a closed set: free text could carry PHI)."""

    LOGIN = "login"
    LOGOUT = "logout"
    UPLOAD = "upload"
    OPEN = "open"
    DOWNLOAD = "download"
    CREATE = "create"
    DELETE = "delete"
    SHARE = "share"
    UNSHARE = "unshare"
    JOB_RUN = "job-run"
    JOB_CANCEL = "job-cancel"
    ACCOUNT = "account"


class AuditOutcome(enum.Enum):
    """Whether the audited action was done or refused."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"
