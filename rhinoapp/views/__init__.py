"""Panel views: thin compositions of widgets over the state models."""

from rhinoapp.views.shell import AppShell

__all__ = ["AppShell"]
