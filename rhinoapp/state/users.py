"""The Users page's state: the local accounts, and an admin's changes to them; admins only.

Every change goes through :class:`~rhinoapp.store.accounts.AccountStore` (the methods ``rhinoapp
users`` uses), each in its own transaction, and is audited (action ``account``, detail
``<change>:<account>``; never a password). The page keeps at least one enabled admin and never
disables the admin using it. Anyone else is refused here, not only by hidden buttons: a refused
change is audited as denied and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import param

from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.core.errors import ConflictError, PermissionDeniedError, RhinoappError, ValidationError
from rhinoapp.state.session import SessionState
from rhinoapp.store.accounts import Account, AccountStore, validate_user_name
from rhinoapp.store.audit import AuditLog

__all__ = ["UsersState"]

_KINDS: tuple[str, ...] = ("info", "success", "error")
_REFUSED = "Only administrators manage accounts: ask one to grant you the role."


def _safe(name: str) -> str:
    """``name`` when it is a valid user name (fit for the audit log), else ``?``."""
    try:
        return validate_user_name(name)
    except ValidationError:
        return "?"


class UsersState(param.Parameterized):
    """The accounts, the form that adds one, and the changes to the ``selected`` one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import ProjectRepository, open_store
    >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> _ = AccountStore(store).add("root", "a long password", admin=True)
    >>> users = UsersState(session=SessionState(repository=ProjectRepository(store, owner="root")))
    >>> _ = users.param.update(new_name="bob", new_password="bob's password", new_password_again="bob's password")
    >>> users.add(); users.feedback
    'Added bob.'
    >>> [(a.name, a.admin) for a in users.accounts]
    [('bob', False), ('root', True)]
    """

    session = param.ClassSelector(class_=SessionState, constant=True)
    accounts = param.List(default=[], item_type=Account, doc="Every account, by name (none for a non-admin).")
    new_name = param.String(default="", doc="Name of the account to add.")
    new_password = param.String(default="", doc="Its initial password.")
    new_password_again = param.String(default="", doc="The same password again.")
    new_admin = param.Boolean(default=False, doc="Whether the new account is an admin.")
    selected: param.Selector[str | None] = param.Selector(objects=[], default=None, allow_None=True,
                                                          doc="The account the changes below apply to.")
    password = param.String(default="", doc="A new password for the selected account.")
    password_again = param.String(default="", doc="The same password again.")
    groups = param.String(default="", doc="The selected account's groups, separated by commas.")
    feedback = param.String(default="")
    feedback_kind: param.Selector[str] = param.Selector(objects=list(_KINDS), default="info")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.refresh()

    @property
    def _accounts(self) -> AccountStore:
        return AccountStore(self.session.repository.store)

    @property
    def allowed(self) -> bool:
        """Whether the session's user is an enabled admin (asked again before every change)."""
        account = self._accounts.get(self.session.user)
        return account is not None and account.admin and not account.disabled

    def refresh(self) -> None:
        """Read the accounts again (none for a non-admin); keep the selection when it still exists."""
        accounts = self._accounts.list() if self.allowed else []
        names = [a.name for a in accounts]
        self.param.selected.objects = names
        selected = self.selected if self.selected in names else (names[0] if names else None)
        self.param.update(accounts=accounts, selected=selected)
        self.groups = self._groups_text(selected)

    def _groups_text(self, name: str | None) -> str:
        account = next((a for a in self.accounts if a.name == name), None) if name else None
        return ", ".join(account.groups) if account else ""

    @param.depends("selected", watch=True)
    def _on_selected(self) -> None:
        self.groups = self._groups_text(self.selected)

    def _act(self, change: str, target: str, action: Callable[[], object], done: str) -> bool:
        """Run ``action`` for an admin, audit it, say how it went; False when refused or failed."""
        audit = AuditLog(self.session.repository.store)
        detail = f"{change}:{_safe(target)}"
        outcome = AuditOutcome.SUCCESS
        try:
            if not self.allowed:
                outcome = AuditOutcome.DENIED
                raise PermissionDeniedError(_REFUSED)
            action()
        except (RhinoappError, PermissionError, ValueError) as error:
            outcome = AuditOutcome.DENIED if outcome is AuditOutcome.DENIED else AuditOutcome.FAILURE
            audit.record(self.session.user, AuditAction.ACCOUNT, outcome, detail=detail)
            self.param.update(feedback=str(error), feedback_kind="error")
            return False
        finally:
            self.param.update(new_password="", new_password_again="", password="", password_again="")
        audit.record(self.session.user, AuditAction.ACCOUNT, outcome, detail=detail)
        self.param.update(feedback=done, feedback_kind="success")
        self.refresh()
        return True

    @staticmethod
    def _same(first: str, second: str) -> str:
        if first != second:
            raise ValidationError("The two passwords differ: type them again.")
        return first

    def add(self) -> None:
        """Add the account of the form (name, password twice, admin flag)."""
        name, admin = self.new_name.strip(), self.new_admin
        password = (self.new_password, self.new_password_again)
        if self._act("add", name, lambda: self._accounts.add(name, self._same(*password), admin=admin),
                     f"Added {name}{' (admin)' if admin else ''}."):
            self.param.update(new_name="", new_admin=False, selected=name)

    def _target(self) -> str:
        if not self.selected:
            raise ValidationError("Choose an account first.")
        return str(self.selected)

    def reset_password(self) -> None:
        """Give the selected account the new password (typed twice); this enables it too."""
        name, password = str(self.selected or ""), (self.password, self.password_again)
        self._act("passwd", name, lambda: self._accounts.set_password(self._target(), self._same(*password)),
                  f"New password set for {name}.")

    def _disable(self, name: str) -> None:
        if name == self.session.user:
            raise ConflictError("You cannot disable your own account: ask another admin to.")
        self._accounts.disable(name, keep_an_admin=True)

    def disable(self) -> None:
        """Disable the selected account (not one's own, not the last enabled admin)."""
        name = str(self.selected or "")
        self._act("disable", name, lambda: self._disable(self._target()), f"Disabled {name}: it cannot sign in.")

    def enable(self) -> None:
        """Enable the selected account again."""
        name = str(self.selected or "")
        self._act("enable", name, lambda: self._accounts.enable(self._target()), f"Enabled {name}.")

    def set_admin(self, admin: bool) -> None:
        """Make the selected account an admin, or withdraw the role (never from the last enabled admin)."""
        name = str(self.selected or "")
        self._act("admin" if admin else "unadmin", name,
                  lambda: self._accounts.set_admin(self._target(), admin, keep_an_admin=True),
                  f"{name} is {'now' if admin else 'no longer'} an admin.")

    def save_groups(self) -> None:
        """Replace the selected account's groups with those typed (comma-separated)."""
        name, groups = str(self.selected or ""), [g for g in self.groups.split(",") if g.strip()]
        self._act("groups", name, lambda: self._accounts.set_groups(self._target(), groups),
                  f"Groups of {name} saved.")
